// The contrastive model at inference: compiled text and image encoders over a parameter tree (the trainer's
// validation and a loaded model share them), loading a model folder (config.json, model.safetensors,
// tokenizer.json, like the transformer's), export, and the reranker `generate` takes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, type WeightsDtype } from '../io/checkpoint.ts';
import { type RgbBatch, type RgbImage, resizeImage, stackImages, toNchwFloat } from '../io/images.ts';
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { type BpeTokenizer, loadTokenizer } from '../tokenizer/index.ts';
import { UserError } from '../errors.ts';
import { paramsFromNamed, resolveModelDir, shapesOf, templateRng, weightsOf } from '../train/checkpoint.ts';
import { encodeCaption } from '../dalle/text.ts';
import type { ImageScorer } from '../dalle/generate.ts';
import { type ClipConfig, ClipConfigSchema } from './config.ts';
import { type ClipParams, encodeImage, encodeText, initClip } from './model.ts';

/** Rows of unit-length embeddings, [count, embedDim] row-major. */
export interface Embeddings {
  data: Float32Array;
  count: number;
  dim: number;
}

/** Images per encoder call: bounds the memory of one call, whatever the number of candidates. */
const CHUNK = 128;

export class ClipEncoders {
  private readonly images = T.compile((p: ClipParams<Tensor>['image'], x: Tensor) => encodeImage(p, x), { name: 'clip_images' });
  private readonly texts;

  constructor(readonly config: ClipConfig, readonly tokenizer: BpeTokenizer) {
    this.texts = T.compile((p: ClipParams<Tensor>['text'], ids: Tensor) => encodeText(p, ids, config), { name: 'clip_texts' });
  }

  /** Embeddings of NHWC uint8 images at the model's size. */
  async embedImages(params: ClipParams, batch: RgbBatch): Promise<Embeddings> {
    const [n, h, w] = batch.shape;
    const s = this.config.imageSize;
    if (h !== s || w !== s) throw new RangeError(`embedImages: ${w}×${h} images, the model reads ${s}×${s}`);
    const per = h * w * 3;
    const parts: T.NDArray[] = [];
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      const nchw = toNchwFloat({ data: batch.data.subarray(start * per, (start + count) * per), shape: [count, h, w, 3] });
      parts.push(await this.images(params.image as never, new T.NDArray(nchw.data, nchw.shape)));
    }
    return joined(parts, n, this.config.embedDim);
  }

  async embedTexts(params: ClipParams, captions: readonly string[]): Promise<Embeddings> {
    const parts: T.NDArray[] = [];
    for (let start = 0; start < captions.length; start += CHUNK) {
      const ids = captions.slice(start, start + CHUNK).flatMap((c) => encodeCaption(this.tokenizer, c, this.config).ids);
      parts.push(await this.texts(params.text as never, T.NDArray.int64(ids, [ids.length / this.config.textLength, this.config.textLength])));
    }
    return joined(parts, captions.length, this.config.embedDim);
  }
}

function joined(parts: readonly T.NDArray[], count: number, dim: number): Embeddings {
  const data = new Float32Array(count * dim);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array, offset);
    offset += p.size;
  }
  return { data, count, dim };
}

/** Cosine similarity of row i of `a` and row j of `b` (both unit length). */
export function similarity(a: Embeddings, i: number, b: Embeddings, j: number): number {
  let s = 0;
  for (let k = 0; k < a.dim; k++) s += a.data[i * a.dim + k]! * b.data[j * b.dim + k]!;
  return s;
}

export interface ClipModel {
  dir: string;
  config: ClipConfig;
  params: ClipParams;
  tokenizer: BpeTokenizer;
  encoders: ClipEncoders;
}

export async function loadClip(path: string): Promise<ClipModel> {
  if (!existsSync(path)) throw new UserError(`${path}: no such model folder`);
  const dir = resolveModelDir(path);
  const ckpt = await loadCheckpoint<ClipConfig, unknown>(dir, {
    configSchema: ClipConfigSchema as never,
    kind: { name: 'clip', what: 'a contrastive reranker (`dalle train-clip` makes one)' },
    expectedShapes: (c) => shapesOf(initClip(templateRng(), c)),
    loadOptimizer: false,
  });
  const config = ckpt.config;
  const params = paramsFromNamed(initClip(templateRng(), config), ckpt.weights, join(dir, 'model.safetensors'));
  if (!ckpt.tokenizerPath) throw new UserError(`${dir}: no tokenizer.json`);
  const tokenizer = loadTokenizer(ckpt.tokenizerPath);
  if (tokenizer.parts.vocab.length !== config.textVocab) {
    throw new UserError(`${ckpt.tokenizerPath}: ${tokenizer.parts.vocab.length} tokens, the model was built for ${config.textVocab}`);
  }
  return { dir, config, params, tokenizer, encoders: new ClipEncoders(config, tokenizer) };
}

/** A generation-only copy: config, weights in `dtype`, tokenizer (written to a staging folder, then renamed). */
export async function exportClip(model: ClipModel, out: string, dtype: WeightsDtype): Promise<void> {
  await saveCheckpoint(out, { config: model.config, weights: weightsOf(model.params), weightsDtype: dtype, tokenizerFile: join(model.dir, 'tokenizer.json') });
}

/** Scores a prompt's candidates by the cosine similarity of their embeddings to the prompt's. */
export function clipScorer(model: ClipModel): ImageScorer {
  return {
    async score(prompt: string, images: readonly RgbImage[]): Promise<number[]> {
      const s = model.config.imageSize;
      const sized = await Promise.all(images.map((img) => (img.shape[0] === s && img.shape[1] === s ? img : resizeImage(img, s, s, 'fill'))));
      const imageEmb = await model.encoders.embedImages(model.params, stackImages(sized));
      const textEmb = await model.encoders.embedTexts(model.params, [prompt]);
      return sized.map((_, i) => similarity(imageEmb, i, textEmb, 0));
    },
  };
}
