// Generation from prompts, as `dalle generate` and the server run it: captions encoded (truncation reported),
// images sampled in batches with the seeded sampler, decoded by the dVAE, and written as PNGs with a grid and
// a JSON record of every setting, so that a run can be repeated exactly.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { writeGrid } from '../io/grid.ts';
import { type RgbImage, batchImage, decodeImage, fromNchwFloat, resizeImage, toNchwFloat, ImageDecodeError, writePng } from '../io/images.ts';
import * as T from '../tensor/index.ts';
import { UserError } from '../errors.ts';
import type { DalleModel, SamplingDefaults } from './load.ts';
import { DalleSampler, keepTopRows } from './sample.ts';
import { encodeCaption } from './text.ts';
import { clipScorer } from '../clip/load.ts';

export interface GenerateSettings {
  /** Images per prompt. */
  n: number;
  /** Candidates drawn per image kept: n × rerank are sampled and the best n by the reranker's score are
   *  kept, as the paper keeps the best of many samples by CLIP's (1 or absent: no reranking). */
  rerank?: number;
  seed: number;
  temperature: number;
  topK?: number;
  topP?: number;
  guidance: number;
  /** Images sampled together (a batch of candidates). */
  batchSize: number;
  /** Complete an image: keep its top `keepRows` rows of codes, or the cells a mask image leaves black. */
  imagePrompt?: { path: string; keepRows?: number; mask?: string };
}

/** Generation settings from resolved sampling settings (top-k 0 and top-p 1 filter nothing, so are left out). */
export function generateSettings(sampling: SamplingDefaults, run: Pick<GenerateSettings, 'n' | 'seed' | 'batchSize' | 'imagePrompt'>): GenerateSettings {
  return {
    ...run, temperature: sampling.temperature, guidance: sampling.guidance,
    ...(sampling.topK > 0 && { topK: sampling.topK }), ...(sampling.topP < 1 && { topP: sampling.topP }),
    ...(sampling.rerank > 1 && { rerank: sampling.rerank }),
  };
}

export interface GeneratedImage {
  prompt: string;
  /** Position among the prompt's candidates as drawn (kept after reranking). */
  index: number;
  seed: number;
  image: RgbImage;
  /** The reranker's score, when one chose the images. */
  score?: number;
}

/** Scores a prompt's candidates for reranking (higher is better): the model's contrastive reranker
 *  (src/clip/) by default, or any other scorer. */
export interface ImageScorer {
  score(prompt: string, images: readonly RgbImage[]): Promise<number[]>;
}

export interface GenerateEvents {
  /** A prompt longer than the caption context was cut. */
  onTruncated?: (prompt: string, tokens: number, kept: number) => void;
  /** Cells sampled so far across the whole request. */
  onProgress?: (cellsDone: number, cellsTotal: number) => void;
  /** Score candidates with this instead of the model's reranker (with settings.rerank > 1). */
  scorer?: ImageScorer;
}

async function readSquareImage(path: string, what: string, size: number): Promise<RgbImage> {
  let img: RgbImage;
  try {
    img = await decodeImage(path);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new UserError(err.message);
    throw err;
  }
  const [h, w] = img.shape;
  if (h !== w) throw new UserError(`${path}: ${w}×${h} is not square; the ${what} must be square like the model's ${size}×${size} images (crop it first)`);
  return resizeImage(img, size, size, 'fill');
}

/**
 * Which code cells a completion keeps: the top rows, or the cells whose patch of the mask image is mostly
 * dark (white marks what to redraw, as inpainting tools do; the mask is scaled to the image first).
 */
async function keptCells(model: DalleModel, prompt: NonNullable<GenerateSettings['imagePrompt']>): Promise<boolean[]> {
  const { grid } = model.config;
  if ((prompt.keepRows === undefined) === (prompt.mask === undefined)) throw new UserError('an image prompt needs either --keep-rows R or --mask PNG (one of them)');
  if (prompt.keepRows !== undefined) {
    const rows = prompt.keepRows;
    if (!Number.isInteger(rows) || rows < 1 || rows >= grid) throw new UserError(`--keep-rows must be from 1 to ${grid - 1} (the grid has ${grid} rows), got ${rows}`);
    return keepTopRows(rows, grid);
  }
  const size = model.dvae.config.imageSize;
  const mask = await readSquareImage(prompt.mask!, 'mask', size);
  const patch = size / grid;
  const keep = Array.from({ length: grid * grid }, (_, cell) => {
    const [row, col] = [Math.floor(cell / grid), cell % grid];
    let sum = 0;
    for (let y = row * patch; y < (row + 1) * patch; y++) {
      for (let x = col * patch; x < (col + 1) * patch; x++) for (let ch = 0; ch < 3; ch++) sum += mask.data[(y * size + x) * 3 + ch]!;
    }
    return sum / (patch * patch * 3 * 255) < 0.5;
  });
  if (keep.every(Boolean)) throw new UserError(`${prompt.mask}: the mask is dark everywhere, so nothing would be redrawn (white marks the region to generate)`);
  return keep;
}

/** The image prompt encoded by the dVAE: its full code grid and the cells to keep. */
async function imagePromptCodes(model: DalleModel, prompt: NonNullable<GenerateSettings['imagePrompt']>): Promise<{ codes: number[]; keep: boolean[] }> {
  const keep = await keptCells(model, prompt);
  const size = model.dvae.config.imageSize;
  const img = await readSquareImage(prompt.path, 'image prompt', size);
  const nchw = toNchwFloat({ data: img.data, shape: [1, size, size, 3] });
  const codes = await model.dvae.encode(new T.NDArray(nchw.data, nchw.shape));
  return { codes: codes.toNumbers(), keep };
}

// One sampler per loaded model: its compiled sessions (weights packed once) serve every later request, which
// is what keeps a server's second request fast.
const samplers = new WeakMap<DalleModel, DalleSampler>();
function samplerOf(model: DalleModel): DalleSampler {
  let sampler = samplers.get(model);
  if (!sampler) samplers.set(model, (sampler = new DalleSampler(model.config, model.params, { ...(model.decodeWeights && { weights: model.decodeWeights }) })));
  return sampler;
}

export async function generate(model: DalleModel, prompts: readonly string[], s: GenerateSettings, events: GenerateEvents = {}): Promise<GeneratedImage[]> {
  const c = model.config;
  if (prompts.length === 0) throw new UserError('no prompt given');
  const captions = prompts.map((prompt) => {
    if (prompt.trim() === '') throw new UserError('an empty prompt: say what the image should show');
    const enc = encodeCaption(model.tokenizer, prompt, c);
    if (enc.tokens > c.textLength) events.onTruncated?.(prompt, enc.tokens, c.textLength);
    return enc.ids;
  });
  const rerank = s.rerank ?? 1;
  if (!Number.isInteger(rerank) || rerank < 1) throw new UserError(`rerank must be a whole number of candidates per image, at least 1, got ${rerank}`);
  const scorer = rerank > 1 ? events.scorer ?? (model.reranker && clipScorer(model.reranker)) : null;
  if (rerank > 1 && !scorer) throw new UserError(`reranking (rerank ${rerank}) needs a contrastive model, and ${model.dir} has none (no clip/ folder): train one with \`dalle train-clip\` and pass it with --reranker`);
  const known = s.imagePrompt ? await imagePromptCodes(model, s.imagePrompt) : null;
  const sampler = samplerOf(model);
  const jobs = prompts.flatMap((prompt, p) => Array.from({ length: s.n * rerank }, (_, i) => ({ prompt, caption: captions[p]!, index: i })));
  const cellsPerImage = known ? known.keep.filter((k) => !k).length : c.grid * c.grid;
  const out: GeneratedImage[] = [];
  for (let start = 0; start < jobs.length; start += s.batchSize) {
    const batch = jobs.slice(start, start + s.batchSize);
    // Each batch has its own seed derived from the run's: a seed and batch size reproduce every image.
    const seed = s.seed + start;
    const codes = await sampler.sample({
      captions: batch.map((j) => j.caption), seed, temperature: s.temperature, topK: s.topK, topP: s.topP, guidance: s.guidance,
      ...(known && { prompt: { codes: batch.map(() => known.codes), keep: known.keep } }),
      onStep: (done) => events.onProgress?.(start * cellsPerImage + done * batch.length, jobs.length * cellsPerImage),
    });
    const decoded = await model.dvae.decode(T.NDArray.int64(codes.flat(), [codes.length, c.grid, c.grid]));
    const rgb = fromNchwFloat({ data: decoded.data as Float32Array, shape: decoded.shape as [number, 3, number, number] });
    batch.forEach((j, k) => out.push({ prompt: j.prompt, index: j.index, seed, image: batchImage(rgb, k) }));
  }
  return scorer ? keepBest(out, prompts, scorer, s.n) : out;
}

/** Each prompt's `keep` best candidates by the scorer, best first (ties: in drawing order). */
async function keepBest(images: GeneratedImage[], prompts: readonly string[], r: ImageScorer, keep: number): Promise<GeneratedImage[]> {
  const kept: GeneratedImage[] = [];
  for (const prompt of new Set(prompts)) {
    const candidates = images.filter((img) => img.prompt === prompt);
    const scores = await r.score(prompt, candidates.map((c) => c.image));
    if (scores.length !== candidates.length || scores.some((x) => !Number.isFinite(x))) {
      throw new Error(`reranker: ${scores.length} scores for ${candidates.length} images of "${prompt}", or a score that is not a finite number`);
    }
    const order = candidates.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    kept.push(...order.slice(0, keep).map((i) => ({ ...candidates[i]!, score: scores[i]! })));
  }
  return kept;
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48) || 'prompt';

/** PNG per image, a grid per run (one row per prompt), and generation.json with every setting. */
export async function writeGeneration(outDir: string, model: DalleModel, images: GeneratedImage[], s: GenerateSettings): Promise<{ grid: string; files: string[] }> {
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  for (const img of images) {
    const file = join(outDir, `${slug(img.prompt)}-${String(img.index).padStart(3, '0')}.png`);
    await writePng(file, img.image);
    files.push(file);
  }
  const grid = join(outDir, 'grid.png');
  const size = model.dvae.config.imageSize;
  // One row per prompt (its candidates, or the ones a reranker kept, best first), captioned on its first image.
  const perPrompt = images.filter((img) => img.prompt === images[0]?.prompt).length;
  const firstOfPrompt = (i: number) => i === 0 || images[i - 1]!.prompt !== images[i]!.prompt;
  await writeGrid(grid, images.map((i) => i.image), { columns: Math.min(Math.max(perPrompt, 1), 8), captions: images.map((img, i) => (firstOfPrompt(i) ? img.prompt : '')), scale: Math.max(1, Math.floor(128 / size)) });
  const record = {
    model: model.dir,
    // The reranker generate uses unless it is handed another scorer.
    ...((s.rerank ?? 1) > 1 && model.reranker && { reranker: model.reranker.dir }),
    // int8 decode weights draw other images from the same seed, so the record says which were used.
    ...(model.decodeWeights === 'int8' && { decodeWeights: 'int8' }),
    settings: s,
    images: images.map((img, i) => ({ file: files[i], prompt: img.prompt, index: img.index, batchSeed: img.seed, ...(img.score !== undefined && { score: img.score }) })),
  };
  await writeFileAtomic(join(outDir, 'generation.json'), JSON.stringify(record, null, 2) + '\n');
  return { grid, files };
}
