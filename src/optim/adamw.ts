// AdamW (Loshchilov & Hutter) as traced ops, so the update runs inside the compiled training step with
// the forward and backward passes. The arithmetic follows torch.optim.AdamW: decoupled decay p ← p(1 − lr·λ),
// then p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
import * as T from '../tensor/index.ts';
import type { NDArray, Tensor } from '../tensor/index.ts';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Which parameters decay, by dotted name; default: every tensor of rank ≥ 2 except embeddings (biases,
   *  norm gains and embedding tables are excluded, as in GPT-2/minGPT practice). */
  decays?: (path: string, shape: readonly number[]) => boolean;
}

export const defaultDecays = (path: string, shape: readonly number[]): boolean =>
  shape.length >= 2 && !/(^|[._])(embed|emb|embedding|wte|wpe)[^.]*\./i.test(path);

export interface AdamWState<W = NDArray> {
  m: unknown; // tree like the parameters
  v: unknown;
}

export function initAdamW(params: unknown): AdamWState {
  const zeros = (t: unknown) => T.mapTree(t, T.isNDArray, (a) => T.NDArray.zeros(a.shape));
  return { m: zeros(params), v: zeros(params) };
}

/** One AdamW update. `lr` and `step` (1 for the first update) are float32 scalar tensors, fed per call so
 *  that schedules do not retrace. */
export function adamwUpdate<P>(
  params: P, grads: P, state: AdamWState<Tensor>, lr: Tensor, step: Tensor, cfg: AdamWConfig,
): { params: P; state: AdamWState<Tensor> } {
  const p = T.flattenTree(params, T.isTensor);
  const g = T.flattenTree(grads, T.isTensor).leaves;
  const m = T.flattenTree(state.m, T.isTensor).leaves;
  const v = T.flattenTree(state.v, T.isTensor).leaves;
  const decays = cfg.decays ?? defaultDecays;
  const bc1 = T.sub(1, T.pow(T.constant(cfg.beta1), step));
  const bc2 = T.sub(1, T.pow(T.constant(cfg.beta2), step));
  const stepSize = T.div(lr, bc1);
  const sqrtBc2 = T.sqrt(bc2);
  const out = p.leaves.map((w, i) => {
    const gi = g[i]!;
    const mi = T.add(T.mul(m[i]!, cfg.beta1), T.mul(gi, 1 - cfg.beta1));
    const vi = T.add(T.mul(v[i]!, cfg.beta2), T.mul(T.mul(gi, gi), 1 - cfg.beta2));
    const decayed = cfg.weightDecay && decays(p.paths[i]!, w.shape) ? T.mul(w, T.sub(1, T.mul(lr, cfg.weightDecay))) : w;
    const denom = T.add(T.div(T.sqrt(vi), sqrtBc2), cfg.eps);
    return { w: T.sub(decayed, T.mul(stepSize, T.div(mi, denom))), m: mi, v: vi };
  });
  return {
    params: T.unflattenTree(p.def, out.map((o) => o.w)) as P,
    state: { m: T.unflattenTree(p.def, out.map((o) => o.m)), v: T.unflattenTree(p.def, out.map((o) => o.v)) },
  };
}
