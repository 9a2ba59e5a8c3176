// The prepared cache: every image decoded and resized once to the training size and stored as one binary
// file, so that epochs read memory instead of thousands of image files.
//   CACHE/pixels.u8   uint8 RGB pixels, N×H×W×3 (NHWC), items back to back in index order
//   CACHE/index.json  { format, version, width, height, count, valShare, items: [{ id, captions, split,
//                       group, source }] }
// Both files are written to temporary names and renamed into place at the end, so a cache folder never
// holds a half-written cache. Reading loads pixels.u8 into memory once (one allocation, read in chunks,
// so files over 2 GiB work); images are then views into that memory.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { type Fit, type Rgb, type RgbBatch, type RgbImage, ImageDecodeError, WHITE, decodeImage } from '../io/images.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { Progress } from '../util/progress.ts';
import type { DatasetItem } from './dataset.ts';
import type { ProblemLog } from './problems.ts';
import { DEFAULT_VAL_SHARE, type Split, splitOf } from './split.ts';

export const CACHE_FORMAT = 'dalle-ts-image-cache';
export const CACHE_VERSION = 1;
export const CACHE_PIXELS = 'pixels.u8';
export const CACHE_INDEX = 'index.json';

export interface CacheItem {
  id: string;
  captions: string[];
  split: Split;
  group: string;
  /** The image file it was decoded from. */
  source: string;
}

export interface CacheIndex {
  format: typeof CACHE_FORMAT;
  version: number;
  width: number;
  height: number;
  count: number;
  valShare: number;
  items: CacheItem[];
}

export interface PrepareOptions {
  size: number;
  valShare?: number;
  fit?: Fit;
  background?: Rgb;
  /** Images decoded at once. */
  concurrency?: number;
  problems: ProblemLog;
  progress?: Progress;
}

/** Decode, resize and store `items` as a cache in `outDir`; unreadable images are reported and skipped. */
export async function prepareCache(items: readonly DatasetItem[], outDir: string, options: PrepareOptions): Promise<CacheIndex> {
  const { size, problems, progress } = options;
  const valShare = options.valShare ?? DEFAULT_VAL_SHARE;
  const concurrency = options.concurrency ?? 16;
  await mkdir(outDir, { recursive: true });
  const pixelsPath = join(outDir, CACHE_PIXELS);
  const tmpPixels = `${pixelsPath}.${process.pid}.tmp`;
  const handle = await open(tmpPixels, 'w');
  const kept: CacheItem[] = [];
  try {
    for (let start = 0; start < items.length; start += concurrency) {
      const chunk = items.slice(start, start + concurrency);
      const decoded = await Promise.all(
        chunk.map((item) =>
          decodeImage(item.image, { size, fit: options.fit ?? 'cover', background: options.background ?? WHITE }).catch((err: unknown) => {
            if (err instanceof ImageDecodeError) return err;
            throw err;
          }),
        ),
      );
      for (let k = 0; k < chunk.length; k++) {
        const item = chunk[k]!;
        const result = decoded[k]!;
        if (result instanceof ImageDecodeError) {
          problems.report('unreadable-image', item.image, result.message.slice(item.image.length + 2));
        } else {
          await handle.write(result.data);
          kept.push({ id: item.id, captions: item.captions, split: splitOf(item.group, valShare), group: item.group, source: item.image });
        }
        progress?.tick();
      }
    }
  } finally {
    await handle.close();
  }
  const index: CacheIndex = { format: CACHE_FORMAT, version: CACHE_VERSION, width: size, height: size, count: kept.length, valShare, items: kept };
  await rename(tmpPixels, pixelsPath);
  await writeFileAtomic(join(outDir, CACHE_INDEX), JSON.stringify(index));
  return index;
}

/** A prepared cache held in memory. */
export class ImageCache {
  constructor(
    readonly dir: string,
    readonly index: CacheIndex,
    readonly pixels: Uint8Array,
  ) {}

  get count(): number {
    return this.index.count;
  }
  get width(): number {
    return this.index.width;
  }
  get height(): number {
    return this.index.height;
  }
  get items(): readonly CacheItem[] {
    return this.index.items;
  }

  /** Positions of the items on one side of the split (or all). */
  indicesOf(split: Split | 'all'): number[] {
    const out: number[] = [];
    this.index.items.forEach((item, i) => {
      if (split === 'all' || item.split === split) out.push(i);
    });
    return out;
  }

  /** Image `i` as a view into the cache memory. */
  image(i: number): RgbImage {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`cache item ${i} out of range 0..${this.count - 1}`);
    const n = this.width * this.height * 3;
    return { data: this.pixels.subarray(i * n, (i + 1) * n), shape: [this.height, this.width, 3] };
  }

  /** The images at `indices` copied into one NHWC batch. */
  batch(indices: readonly number[]): RgbBatch {
    const n = this.width * this.height * 3;
    const out = new Uint8Array(indices.length * n);
    indices.forEach((i, k) => out.set(this.image(i).data, k * n));
    return { data: out, shape: [indices.length, this.height, this.width, 3] };
  }
}

function readWhole(path: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const fd = openSync(path, 'r');
  try {
    let offset = 0;
    while (offset < bytes) {
      const n = readSync(fd, out, offset, Math.min(1 << 30, bytes - offset), offset);
      if (n === 0) break;
      offset += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Open a prepared cache, checking that index and pixel file agree. */
export function openCache(dir: string): ImageCache {
  const indexPath = join(dir, CACHE_INDEX);
  const pixelsPath = join(dir, CACHE_PIXELS);
  let index: CacheIndex;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8')) as CacheIndex;
  } catch (err) {
    throw new UserError(`${indexPath}: not a readable cache index (${(err as Error).message})`);
  }
  if (index.format !== CACHE_FORMAT || index.version !== CACHE_VERSION) {
    throw new UserError(`${indexPath}: not a ${CACHE_FORMAT} version ${CACHE_VERSION} index`);
  }
  if (!Array.isArray(index.items) || index.items.length !== index.count) {
    throw new UserError(`${indexPath}: lists ${index.items?.length} items but says count ${index.count}`);
  }
  const expected = index.count * index.width * index.height * 3;
  let actual: number;
  try {
    actual = statSync(pixelsPath).size;
  } catch {
    throw new UserError(`${pixelsPath}: missing`);
  }
  if (actual !== expected) throw new UserError(`${pixelsPath}: ${actual} bytes, expected ${expected} for ${index.count} images of ${index.width}x${index.height}`);
  return new ImageCache(dir, index, readWhole(pixelsPath, expected));
}
