// Multi-head self-attention with an arbitrary boolean mask (true = may attend) and a key-value cache.
// Training and prefill run `selfAttention` over the whole sequence; sampling runs `attendCached` one token
// at a time against a fixed-length cache, so that a single compiled decode step serves every position.
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { type LinearParams, initLinear } from './init.ts';
import { linear } from './layers.ts';
import type { Rng } from '../tensor/index.ts';

export interface AttentionParams<W = T.NDArray> {
  qkv: LinearParams<W>; // [3·dim, dim]: queries, keys, values stacked
  proj: LinearParams<W>; // [dim, dim]
}

export function initAttention(rng: Rng, dim: number): AttentionParams {
  return { qkv: initLinear(rng, dim, 3 * dim), proj: initLinear(rng, dim, dim) };
}

/** A large negative score for masked positions: finite, so a fully masked row gives no NaN. */
export const MASKED = -1e9;

/** The mask as an additive bias (0 or MASKED). Adding it costs one broadcast Add, and its gradient is the
 *  identity, where a Where over the [B, heads, T, T] scores needed a broadcast select forward and another
 *  backward (14% of a DALL·E training step); a constant mask's bias is folded once at session creation. */
const maskBias = (mask: Tensor): Tensor => T.where(mask, 0, MASKED);

/** [B, T, dim] → [B, heads, T, dim/heads] for each of q, k, v. */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, t, d] = x.shape as [number, number, number];
  return T.transpose(T.reshape(x, [b, t, heads, d / heads]), [0, 2, 1, 3]);
}

function mergeHeads(x: Tensor): Tensor {
  const [b, h, t, dh] = x.shape as [number, number, number, number];
  return T.reshape(T.transpose(x, [0, 2, 1, 3]), [b, t, h * dh]);
}

function projectQkv(p: AttentionParams<Tensor>, x: Tensor, heads: number): [Tensor, Tensor, Tensor] {
  const d = x.shape[2]!;
  if (d % heads) throw new RangeError(`attention: width ${d} does not divide into ${heads} heads`);
  // Three products with row blocks of the stacked weight rather than one product split three ways: slicing
  // the [3·dim, dim] weight is cheap, where slicing the [B, T, 3·dim] activation copied it forward and padded
  // each part back to full size in the gradient (5% of a DALL·E training step).
  const part = (i: number) => linear({ weight: T.sliceAxis(p.qkv.weight, 0, i * d, (i + 1) * d), ...(p.qkv.bias && { bias: T.sliceAxis(p.qkv.bias, 0, i * d, (i + 1) * d) }) }, x);
  return [splitHeads(part(0), heads), splitHeads(part(1), heads), splitHeads(part(2), heads)];
}

/** An attention computed another way than over the whole [T, T] score matrix (a sparse layout that only
 *  scores the keys its mask can let through): q (already scaled by 1/√d), k, v [B, heads, T, d] → the
 *  attended values [B, heads, T, d]. */
export type AttendFn = (q: Tensor, k: Tensor, v: Tensor) => Tensor;

/** softmax(q kᵀ/√d, masked) v. `mask` broadcasts to [B, heads, Tq, Tk], or is an AttendFn. */
function attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | AttendFn | undefined): Tensor {
  const qs = T.mul(q, 1 / Math.sqrt(q.shape[3]!));
  if (typeof mask === 'function') return mask(qs, k, v);
  let scores = T.matmul(qs, T.mT(k));
  if (mask) scores = T.add(scores, maskBias(mask));
  return T.matmul(T.softmax(scores, -1), v);
}

export interface AttentionOutput {
  y: Tensor; // [B, T, dim]
  k: Tensor; // [B, heads, T, dim/heads], for a cache
  v: Tensor;
}

/** Full-sequence attention. `mask` (bool, true = may attend) broadcasts to [B, heads, T, T]; a causal mask
 *  is `causalMask(T)`. An AttendFn in its place computes the masked attention its own way. */
export function selfAttention(p: AttentionParams<Tensor>, x: Tensor, heads: number, mask?: Tensor | AttendFn): AttentionOutput {
  const [q, k, v] = projectQkv(p, x, heads);
  return { y: linear(p.proj, mergeHeads(attend(q, k, v, mask))), k, v };
}

/** One new token per sequence against a fixed-length cache of `L` earlier positions.
 *  x: [B, dim]; cache k, v: [B, heads, L, dim/heads] (host-owned, fed without copying); keyMask: bool
 *  broadcasting to [B, 1, 1, L], which cached positions this token may attend to (positions not yet written
 *  must be false). The token always attends to itself. Returns the output [B, dim] and this token's own key
 *  and value ([B, heads, 1, dim/heads]), which the caller writes into its cache: only one position crosses
 *  back to the host per step, and one compiled step serves every position.
 *  A decode step is a few rows, so its cost is the number of kernels, not their arithmetic: the token stays
 *  two-dimensional (no reshapes around each product), q, k and v come out of one product and one reshape,
 *  and with baked weights the 1/√d scale is folded into the query rows once at session creation. */
export function attendCached(
  p: AttentionParams<Tensor>, x: Tensor, heads: number, cache: { k: Tensor; v: Tensor }, keyMask: Tensor,
): AttentionOutput {
  const [b, d] = x.shape as [number, number];
  const [, , length, headDim] = cache.k.shape as [number, number, number, number];
  if (x.rank !== 2 || d !== heads * headDim) throw new RangeError(`attendCached: x ${x} should be [B, ${heads * headDim}]`);
  if (keyMask.rank !== 4 || keyMask.shape[3] !== length) {
    throw new RangeError(`attendCached: keyMask ${keyMask} should be bool [B or 1, 1, 1, ${length}]`);
  }
  const scale = 1 / Math.sqrt(headDim);
  const folded = p.qkv.weight.op === 'const';
  const qkv = folded ? linear(scaleQueryRows(p.qkv, d, scale), x) : linear(p.qkv, x);
  const [q, k1, v1] = T.split(T.reshape(qkv, [b, 3 * heads, 1, headDim]), [heads, heads, heads], 1) as [Tensor, Tensor, Tensor];
  const qs = folded ? q : T.mul(q, scale);
  // The cache is never concatenated with the new key/value (that would copy all of it every step): the
  // scores against the cache and against the token itself share one softmax, then split again.
  const cachedScores = T.add(T.matmul(qs, T.mT(cache.k)), maskBias(keyMask)); // [B, heads, 1, L]
  const selfScore = T.sum(T.mul(qs, k1), -1, true); // [B, heads, 1, 1]
  const [toCache, toSelf] = T.split(T.softmax(T.concat([cachedScores, selfScore], 3), -1), [length, 1], 3) as [Tensor, Tensor];
  const y = T.add(T.matmul(toCache, cache.v), T.mul(toSelf, v1));
  return { y: linear(p.proj, T.reshape(y, [b, d])), k: k1, v: v1 };
}

/** The stacked q/k/v projection with its query rows (and bias) multiplied by `scale`: on baked weights
 *  ONNX Runtime folds this into the initializer, so the scores need no multiply per step. */
function scaleQueryRows(p: LinearParams<Tensor>, d: number, scale: number): LinearParams<Tensor> {
  const rows = (w: Tensor) => T.concat([T.mul(T.sliceAxis(w, 0, 0, d), scale), T.sliceAxis(w, 0, d, 3 * d)], 0);
  return { weight: rows(p.weight), ...(p.bias && { bias: rows(p.bias) }) };
}

/** Lower-triangular [T, T] mask: position i may attend to j ≤ i. */
export function causalMask(t: number): Tensor {
  const allowed = new Uint8Array(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j <= i; j++) allowed[i * t + j] = 1;
  return T.constant(new T.NDArray(allowed, [t, t], 'bool'));
}
