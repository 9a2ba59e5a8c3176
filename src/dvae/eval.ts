// dVAE evaluation on a split of a prepared cache: PSNR of hard (argmax-code) and soft (Gumbel-softmax at the
// final temperature) reconstructions, averaged per image, and the codebook's use over all codes of the
// split: perplexity exp(H(code histogram)) and the share of the K codes that occur.
import type { ImageCache } from '../data/cache.ts';
import { iterateBatches } from '../data/batches.ts';
import { toNchwFloat } from '../io/images.ts';
import * as T from '../tensor/index.ts';
import { UserError } from '../errors.ts';
import { gridSize } from './config.ts';
import type { Dvae } from './load.ts';
import { makeReconstructor } from './train.ts';

export interface DvaeEvaluation {
  split: string;
  images: number;
  psnrHard: number;
  psnrSoft: number;
  perplexity: number;
  codesUsed: number;
  codesUsedShare: number;
  vocab: number;
}

/** Mean over images of 10·log10(1 / MSE), pixels in [0, 1]. */
export function meanPsnr(a: Float32Array, b: Float32Array, perImage: number): number {
  let total = 0;
  const n = a.length / perImage;
  for (let i = 0; i < n; i++) {
    let se = 0;
    for (let j = i * perImage; j < (i + 1) * perImage; j++) se += (a[j]! - b[j]!) ** 2;
    total += 10 * Math.log10(1 / Math.max(se / perImage, 1e-10));
  }
  return total / n;
}

export async function evaluateDvae(dvae: Dvae, cache: ImageCache, options: { split?: 'train' | 'val'; batchSize?: number; tau?: number; seed?: number } = {}): Promise<DvaeEvaluation> {
  const c = dvae.config;
  if (cache.width !== c.imageSize) throw new UserError(`${cache.dir}: ${cache.width} px images, the dVAE takes ${c.imageSize} px`);
  const split = options.split ?? (cache.indicesOf('val').length > 0 ? 'val' : 'train');
  const rng = new T.Rng(options.seed ?? 0);
  const reconstructor = makeReconstructor(c);
  const g = gridSize(c);
  const counts = new Float64Array(c.vocab);
  let psnrHard = 0;
  let psnrSoft = 0;
  let images = 0;
  for (const batch of iterateBatches(cache, { batchSize: options.batchSize ?? 32, seed: 0, split, shuffle: false })) {
    const nchw = toNchwFloat(batch.images);
    const x = new T.NDArray(nchw.data, nchw.shape);
    const n = nchw.shape[0];
    const r = await reconstructor(dvae.params, x, rng.gumbel([n, c.vocab, g, g]), T.NDArray.scalar(options.tau ?? 1 / 16));
    const perImage = nchw.data.length / n;
    psnrHard += meanPsnr(r.hard.data as Float32Array, nchw.data, perImage) * n;
    psnrSoft += meanPsnr(r.soft.data as Float32Array, nchw.data, perImage) * n;
    for (const code of (await dvae.encode(x)).data as BigInt64Array) counts[Number(code)]!++;
    images += n;
  }
  if (images === 0) throw new UserError(`${cache.dir}: the ${split} split is empty`);
  const total = counts.reduce((a, b) => a + b, 0);
  let entropy = 0;
  let used = 0;
  for (const k of counts) {
    if (k === 0) continue;
    used++;
    entropy -= (k / total) * Math.log(k / total);
  }
  return { split, images, psnrHard: psnrHard / images, psnrSoft: psnrSoft / images, perplexity: Math.exp(entropy), codesUsed: used, codesUsedShare: used / c.vocab, vocab: c.vocab };
}
