// A stack of pre-norm transformer blocks (GPT-2 layout: x + attn(ln1 x), then x + mlp(ln2 x)), shared by the
// DALL·E transformer and the contrastive text encoder, with the full-sequence pass used in training and
// prefill and the one-token pass used with a key-value cache in sampling.
import * as T from '../tensor/index.ts';
import type { NDArray, Rng, Tensor } from '../tensor/index.ts';
import { type AttendFn, type AttentionParams, attendCached, selfAttention } from './attention.ts';
import { type LayerNormParams, type LinearParams, initLayerNorm } from './init.ts';
import { type MlpParams, dropout, layerNorm, mlp } from './layers.ts';

export interface BlockParams<W = NDArray> {
  ln1: LayerNormParams<W>;
  attn: AttentionParams<W>;
  ln2: LayerNormParams<W>;
  mlp: MlpParams<W>;
}

/** GPT-2's initialisation: N(0, 0.02) weights, zero biases, and the residual projections scaled by
 *  1/√(2·layers) so that the residual stream's variance does not grow with depth. */
export function initBlocks(rng: Rng, layers: number, dim: number, mlpRatio = 4): BlockParams[] {
  const lin = (inF: number, outF: number, std = 0.02): LinearParams => ({ weight: rng.randn([outF, inF], std), bias: T.NDArray.zeros([outF]) });
  const residualStd = 0.02 / Math.sqrt(2 * layers);
  return Array.from({ length: layers }, () => ({
    ln1: initLayerNorm(dim),
    attn: { qkv: lin(dim, 3 * dim), proj: lin(dim, dim, residualStd) },
    ln2: initLayerNorm(dim),
    mlp: { fc: lin(dim, mlpRatio * dim), proj: lin(mlpRatio * dim, dim, residualStd) },
  }));
}

export interface LayerKV {
  k: Tensor;
  v: Tensor;
}

/** Dropout keep-masks for one block's two residual branches (training only). */
export interface BlockDropout {
  attn: Tensor;
  mlp: Tensor;
  p: number;
}

/** The whole stack over [B, T, dim]. `masks[i]` (bool, true = may attend) is layer i's attention mask, or
 *  an AttendFn that computes its masked attention another way. */
export function blocks(
  ps: readonly BlockParams<Tensor>[], x: Tensor, heads: number, masks: readonly (Tensor | AttendFn | undefined)[], drop?: readonly BlockDropout[],
): { x: Tensor; kv: LayerKV[] } {
  const kv: LayerKV[] = [];
  ps.forEach((p, i) => {
    const a = selfAttention(p.attn, layerNorm(p.ln1, x), heads, masks[i]);
    x = T.add(x, dropout(a.y, drop?.[i]?.attn, drop?.[i]?.p ?? 0));
    x = T.add(x, dropout(mlp(p.mlp, layerNorm(p.ln2, x)), drop?.[i]?.mlp, drop?.[i]?.p ?? 0));
    kv.push({ k: a.k, v: a.v });
  });
  return { x, kv };
}

/** The stack for one new token per sequence, x: [B, dim], against per-layer caches of L positions.
 *  `keyMasks[i]` (bool [B or 1, 1, 1, L]) says which cached positions layer i's token may attend to. */
export function blocksCached(
  ps: readonly BlockParams<Tensor>[], x: Tensor, heads: number, caches: readonly LayerKV[], keyMasks: readonly Tensor[],
): { x: Tensor; kv: LayerKV[] } {
  const kv: LayerKV[] = [];
  ps.forEach((p, i) => {
    const a = attendCached(p.attn, layerNorm(p.ln1, x), heads, caches[i]!, keyMasks[i]!);
    x = T.add(x, a.y);
    x = T.add(x, mlp(p.mlp, layerNorm(p.ln2, x)));
    kv.push({ k: a.k, v: a.v });
  });
  return { x, kv };
}
