// Image codes for stage 2: every image of the cache encoded once by the dVAE (argmax codes, no noise) and
// stored beside the run as one Int16/Int32 file plus a small JSON that names the dVAE and cache it came from,
// so later runs and --resume reuse it and a different dVAE or cache is noticed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageCache } from '../data/cache.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { toNchwFloat } from '../io/images.ts';
import * as T from '../tensor/index.ts';
import { gridSize } from '../dvae/config.ts';
import type { Dvae } from '../dvae/load.ts';
import { Progress } from '../util/progress.ts';

export interface CodeTable {
  /** Codes of image i at [i·cells, (i+1)·cells). */
  codes: Int32Array;
  cells: number;
}

export async function encodeCache(dvae: Dvae, cache: ImageCache, dir: string, fingerprint: string, options: { batchSize?: number; silent?: boolean } = {}): Promise<CodeTable> {
  const g = gridSize(dvae.config);
  const cells = g * g;
  const binPath = join(dir, `codes-${g}x${g}.i32`);
  const metaPath = binPath + '.json';
  const meta = { fingerprint, images: cache.count, cells };
  if (existsSync(binPath) && existsSync(metaPath) && readFileSync(metaPath, 'utf8') === JSON.stringify(meta)) {
    const buf = readFileSync(binPath);
    return { codes: new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), cells };
  }
  const codes = new Int32Array(cache.count * cells);
  const batchSize = options.batchSize ?? 64;
  const progress = new Progress('encode images', cache.count, { unit: 'images', silent: options.silent });
  for (let start = 0; start < cache.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, cache.count - start) }, (_, i) => start + i);
    const nchw = toNchwFloat(cache.batch(indices));
    const out = await dvae.encode(new T.NDArray(nchw.data, nchw.shape));
    const data = out.data as BigInt64Array;
    for (let i = 0; i < data.length; i++) codes[start * cells + i] = Number(data[i]!);
    progress.tick(indices.length);
  }
  progress.done();
  await writeFileAtomic(binPath, new Uint8Array(codes.buffer));
  await writeFileAtomic(metaPath, JSON.stringify(meta));
  return { codes, cells };
}
