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
import type { DalleModel } from './load.ts';
import { DalleSampler } from './sample.ts';
import { encodeCaption } from './text.ts';

export interface GenerateSettings {
  n: number;
  seed: number;
  temperature: number;
  topK?: number;
  topP?: number;
  guidance: number;
  /** Images sampled together (a batch of candidates). */
  batchSize: number;
  imagePrompt?: { path: string; keepRows: number };
}

export interface GeneratedImage {
  prompt: string;
  index: number;
  seed: number;
  image: RgbImage;
}

export interface GenerateEvents {
  /** A prompt longer than the caption context was cut. */
  onTruncated?: (prompt: string, tokens: number, kept: number) => void;
  /** Cells sampled so far across the whole request. */
  onProgress?: (cellsDone: number, cellsTotal: number) => void;
}

/** Image-prompt codes: the image encoded by the dVAE, its first `keepRows` rows of codes kept. */
async function imagePromptCodes(model: DalleModel, path: string, keepRows: number): Promise<number[]> {
  const c = model.config;
  if (!Number.isInteger(keepRows) || keepRows < 1 || keepRows >= c.grid) throw new UserError(`--keep-rows must be from 1 to ${c.grid - 1} (the grid has ${c.grid} rows), got ${keepRows}`);
  let img: RgbImage;
  try {
    img = await decodeImage(path);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new UserError(err.message);
    throw err;
  }
  const size = model.dvae.config.imageSize;
  const [h, w] = img.shape;
  if (h !== w) throw new UserError(`${path}: ${w}×${h} is not square; the model completes ${size}×${size} images (crop it first)`);
  const nchw = toNchwFloat({ data: (await resizeImage(img, size, size, 'fill')).data, shape: [1, size, size, 3] });
  const codes = await model.dvae.encode(new T.NDArray(nchw.data, nchw.shape));
  return codes.toNumbers().slice(0, keepRows * c.grid);
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
  const promptCodes = s.imagePrompt ? await imagePromptCodes(model, s.imagePrompt.path, s.imagePrompt.keepRows) : null;
  const sampler = new DalleSampler(c, model.params);
  const jobs = prompts.flatMap((prompt, p) => Array.from({ length: s.n }, (_, i) => ({ prompt, caption: captions[p]!, index: i })));
  const cellsPerImage = c.grid * c.grid - (s.imagePrompt ? s.imagePrompt.keepRows * c.grid : 0);
  const out: GeneratedImage[] = [];
  for (let start = 0; start < jobs.length; start += s.batchSize) {
    const batch = jobs.slice(start, start + s.batchSize);
    // Each batch has its own seed derived from the run's: a seed and batch size reproduce every image.
    const seed = s.seed + start;
    const codes = await sampler.sample({
      captions: batch.map((j) => j.caption), seed, temperature: s.temperature, topK: s.topK, topP: s.topP, guidance: s.guidance,
      ...(promptCodes && { prompt: { codes: batch.map(() => promptCodes), rows: s.imagePrompt!.keepRows } }),
      onStep: (done) => events.onProgress?.(start * cellsPerImage + done * batch.length, jobs.length * cellsPerImage),
    });
    const decoded = await model.dvae.decode(T.NDArray.int64(codes.flat(), [codes.length, c.grid, c.grid]));
    const rgb = fromNchwFloat({ data: decoded.data as Float32Array, shape: decoded.shape as [number, 3, number, number] });
    batch.forEach((j, k) => out.push({ prompt: j.prompt, index: j.index, seed, image: batchImage(rgb, k) }));
  }
  return out;
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
  await writeGrid(grid, images.map((i) => i.image), { columns: Math.min(s.n, 8), captions: images.map((i) => (i.index === 0 ? i.prompt : '')), scale: Math.max(1, Math.floor(128 / size)) });
  const record = {
    model: model.dir,
    settings: s,
    images: images.map((img, i) => ({ file: files[i], prompt: img.prompt, index: img.index, batchSeed: img.seed })),
  };
  await writeFileAtomic(join(outDir, 'generation.json'), JSON.stringify(record, null, 2) + '\n');
  return { grid, files };
}
