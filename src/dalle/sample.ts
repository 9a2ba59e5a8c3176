// Sampling image codes from the transformer: a compiled prefill over the caption (and the kept rows of an
// image prompt) and a compiled one-token decode step against a key-value cache whose rows follow each
// layer's mask exactly. Classifier-free guidance runs the conditional and unconditional (all-padding
// caption) halves in one batch. Every draw comes from a seeded PRNG: a seed reproduces an image exactly.
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { KVCache } from '../nn/kvcache.ts';
import type { LayerKV } from '../nn/transformer.ts';
import { type DalleConfig, type MaskKind, imageTokens, layerMasks, sequenceLength } from './config.ts';
import { maskRow } from './masks.ts';
import { type DalleParams, dalleDecodeStep, dallePrefill } from './model.ts';
import { emptyCaption } from './text.ts';
import { type SamplingFilter, guide, sampleLogits } from './filter.ts';

export interface SampleRequest extends SamplingFilter {
  /** Caption ids per image, already padded (text.ts), one row per image to draw. */
  captions: number[][];
  seed: number;
  /** Classifier-free guidance scale; 1 (or absent) means no guidance. */
  guidance?: number;
  /**
   * Completion of known codes: `codes` holds a full grid per image and `keep` (one flag per cell, raster
   * order, shared by all images) says which cells are given. Given cells before the first one to draw go
   * through the prefill; later given cells are fed in place of a draw. The top rows of an image (the paper's
   * completion) are `keep` true for the first rows × grid cells. A cell is drawn knowing only the cells
   * before it in raster order, as the model was trained: given cells below it cannot steer it.
   */
  prompt?: { codes: number[][]; keep: readonly boolean[] };
  /** Called after each drawn cell with (cells drawn, cells to draw). */
  onStep?: (done: number, total: number) => void;
  /** Called with the (unguided) logits [batch, imageVocab] from which each cell is drawn, for checks. */
  onLogits?: (cell: number, logits: T.NDArray) => void;
}

export class DalleSampler {
  private readonly prefill;
  private readonly decode;
  private readonly maskKinds: MaskKind[];

  /** `weights: 'int8'` runs the decode step's products with int8 weights (T.CompileOptions). */
  constructor(readonly config: DalleConfig, readonly params: DalleParams, options: Pick<T.CompileOptions, 'weights'> = {}) {
    const c = config;
    this.prefill = T.compile((p: DalleParams<Tensor>, text: Tensor, prompt: Tensor | null) => dallePrefill(p, text, prompt, c), { name: 'dalle_prefill' });
    // The decode step, run once per cell, has the weights baked in so that ONNX Runtime packs them once
    // rather than on every step; the prefill runs once per sample and takes them as inputs (baking them
    // there too would hold another packed copy, ~3× the weights, for no gain).
    const p = T.constants<DalleParams<Tensor>>(params);
    // One key-mask row per distinct mask kind rather than per layer: layers of a kind share the input and
    // the kernel that turns it into a bias (the paper's schedule has three kinds in six layers).
    const kinds = layerMasks(c);
    const distinct = (this.maskKinds = [...new Set(kinds)]);
    this.decode = T.compile((token: Tensor, cell: Tensor, caches: LayerKV[], kindMasks: Tensor[]) =>
      dalleDecodeStep(p, token, cell, caches, kinds.map((kind) => kindMasks[distinct.indexOf(kind)]!), c), { name: 'dalle_decode', ...(options.weights && { weights: options.weights }) });
  }

  /** Codes [images][grid²] for the requested captions. */
  async sample(req: SampleRequest): Promise<number[][]> {
    const c = this.config;
    const n = req.captions.length;
    const guided = req.guidance !== undefined && req.guidance !== 1;
    const batch = guided ? 2 * n : n;
    const rows = guided ? [...req.captions, ...req.captions.map(() => emptyCaption(c))] : req.captions;
    const rng = new T.Rng(req.seed);
    const cells = imageTokens(c);
    const known = req.prompt;
    if (known) checkPrompt(known, n, cells);
    // Cells given before the first to draw go into the prefill; after the last to draw, nothing is decoded.
    const lead = known ? known.keep.indexOf(false) : 0;
    const last = known ? known.keep.lastIndexOf(false) : cells - 1;
    const toDraw = known ? known.keep.filter((k) => !k).length : cells;

    const codes: number[][] = Array.from({ length: n }, (_, i) => (known ? known.codes[i]!.slice(0, lead) : []));
    const text = T.NDArray.int64(rows.flat(), [batch, c.textLength]);
    const promptCodes = lead > 0 ? T.NDArray.int64((guided ? [...codes, ...codes] : codes).flat(), [batch, lead]) : null;
    const first = await this.prefill(this.params, text, promptCodes as never);

    const length = sequenceLength(c);
    const headDim = c.dim / c.heads;
    const cache = new KVCache(c.layers, batch, c.heads, length, headDim);
    cache.write(0, first.kv);
    let logits = first.logits;
    let drawnCells = 0;
    for (let cell = lead; cell <= last; cell++) {
      let next: number[];
      if (known?.keep[cell]) {
        next = known.codes.map((grid) => grid[cell]!);
      } else {
        req.onLogits?.(cell, logits);
        next = this.draw(logits, n, guided ? req.guidance! : null, req, rng);
        req.onStep?.(++drawnCells, toDraw);
      }
      next.forEach((code, i) => codes[i]!.push(code));
      if (cell === last) break;
      // The code of `cell` enters at position T + cell + 1 and predicts cell + 1.
      const position = c.textLength + cell + 1;
      const keyMasks = this.maskKinds.map((kind) => new T.NDArray(maskRow(kind, position, length, c), [1, 1, 1, length], 'bool'));
      const token = T.NDArray.int64(guided ? [...next, ...next] : next, [batch, 1]);
      const out = await this.decode(token, T.NDArray.int64([cell + 1], []), cache.layers, keyMasks);
      cache.write(position, out.kv);
      logits = out.logits;
    }
    if (known) codes.forEach((grid, i) => grid.push(...known.codes[i]!.slice(last + 1)));
    return codes;
  }

  private draw(logits: T.NDArray, n: number, scale: number | null, f: SamplingFilter, rng: Rng): number[] {
    const k = this.config.imageVocab;
    const data = logits.data as Float32Array;
    return Array.from({ length: n }, (_, i) => {
      const row = data.slice(i * k, (i + 1) * k);
      if (scale !== null) guide(row, data.subarray((n + i) * k, (n + i + 1) * k), scale);
      return sampleLogits(row, f, rng);
    });
  }
}

type Rng = T.Rng;

function checkPrompt(known: { codes: number[][]; keep: readonly boolean[] }, n: number, cells: number): void {
  if (known.codes.length !== n) throw new RangeError(`image prompt: ${known.codes.length} code grids for ${n} images`);
  if (known.keep.length !== cells) throw new RangeError(`image prompt: a keep mask of ${known.keep.length} cells for a grid of ${cells}`);
  if (!known.keep.includes(false)) throw new RangeError('image prompt: every cell is kept, so there is nothing to draw');
  known.codes.forEach((grid, i) => {
    if (grid.length !== cells) throw new RangeError(`image prompt: grid ${i} has ${grid.length} codes, not ${cells}`);
  });
}

/** The paper's completion: the top `rows` rows of the grid given, the rest drawn. */
export const keepTopRows = (rows: number, grid: number): boolean[] => Array.from({ length: grid * grid }, (_, cell) => cell < rows * grid);
