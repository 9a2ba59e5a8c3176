// Image codes for stage 2: every image of the cache encoded once by the dVAE (argmax codes, no noise) and
// stored beside the run as one Int32 file plus a small JSON that names the dVAE and cache it came from,
// so later runs and --resume reuse it and a different dVAE or cache is noticed. With augmentation, each
// image is also encoded as `variants − 1` augmented copies (shifted, mirrored), fixed per image so that the
// table is built once: the transformer reads codes, so an augmented image must be encoded before training.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AugmentOptions, augmentBatchImage, augments } from '../data/augment.ts';
import type { ImageCache } from '../data/cache.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { toNchwFloat } from '../io/images.ts';
import * as T from '../tensor/index.ts';
import { gridSize } from '../dvae/config.ts';
import type { Dvae } from '../dvae/load.ts';
import { Progress } from '../util/progress.ts';

export interface CodeTable {
  /** Codes of image i at [i·cells, (i+1)·cells); its augmented copy v (1 ≤ v < variants) at
   *  [(v·images + i)·cells, …), so the first block is the plain table. */
  codes: Int32Array;
  cells: number;
  /** 1, or the number of versions of each image (the plain one first). */
  variants?: number;
}

/** Augmented copies per image in a code table. */
export interface CodeAugment extends AugmentOptions {
  variants: number;
}

export async function encodeCache(dvae: Dvae, cache: ImageCache, dir: string, fingerprint: string, options: { batchSize?: number; silent?: boolean; augment?: CodeAugment } = {}): Promise<CodeTable> {
  const g = gridSize(dvae.config);
  const cells = g * g;
  const augment = options.augment && augments(options.augment) && options.augment.variants > 1 ? options.augment : null;
  const variants = augment?.variants ?? 1;
  const binPath = join(dir, variants > 1 ? `codes-${g}x${g}-x${variants}.i32` : `codes-${g}x${g}.i32`);
  const metaPath = binPath + '.json';
  const meta = { fingerprint, images: cache.count, cells, ...(augment && { augment }) };
  if (existsSync(binPath) && existsSync(metaPath) && readFileSync(metaPath, 'utf8') === JSON.stringify(meta)) {
    const buf = readFileSync(binPath);
    return { codes: new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), cells, variants };
  }
  const codes = new Int32Array(variants * cache.count * cells);
  const batchSize = options.batchSize ?? 64;
  const progress = new Progress('encode images', variants * cache.count, { unit: 'images', silent: options.silent });
  for (let v = 0; v < variants; v++) {
    for (let start = 0; start < cache.count; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, cache.count - start) }, (_, i) => start + i);
      const batch = cache.batch(indices);
      // Copy v of an image is drawn by a stream keyed by (v, image) alone, so the table does not depend on
      // the batch size or the training seed.
      if (v > 0) indices.forEach((index, k) => augmentBatchImage(batch, k, cache.items[index]!.captions, augment!, T.Rng.stream(0, 8, v, index)));
      const nchw = toNchwFloat(batch);
      const out = await dvae.encode(new T.NDArray(nchw.data, nchw.shape));
      const data = out.data as BigInt64Array;
      codes.set(Array.from(data, Number), (v * cache.count + start) * cells);
      progress.tick(indices.length);
    }
  }
  progress.done();
  await writeFileAtomic(binPath, new Uint8Array(codes.buffer));
  await writeFileAtomic(metaPath, JSON.stringify(meta));
  return { codes, cells, variants };
}
