// Exponential moving average of weights, kept on the host: ema ← d·ema + (1 − d)·params after each update,
// with d = min(decay, (1 + t)/(10 + t)) at update t, so that early on the average follows the weights instead
// of remembering their random initialisation (a plain 0.999 would still hold 22% of it after 1,500 steps).
// Cheap next to a training step (one pass over the parameters) and never part of the gradient graph.
import { NDArray, flattenTree, isNDArray, mapTree } from '../tensor/index.ts';

export function initEma(params: unknown): unknown {
  return mapTree(params, isNDArray, (a) => new NDArray((a.data as Float32Array).slice(), a.shape));
}

/** The decay used at update `step` (0-based). */
export const emaDecayAt = (decay: number, step: number): number => Math.min(decay, (1 + step) / (10 + step));

export function updateEma(ema: unknown, params: unknown, decay: number): void {
  const e = flattenTree(ema, isNDArray).leaves;
  const p = flattenTree(params, isNDArray).leaves;
  if (e.length !== p.length) throw new RangeError(`updateEma: ${e.length} averaged tensors for ${p.length} parameters`);
  const keep = decay;
  const take = 1 - decay;
  e.forEach((a, i) => {
    const ad = a.data as Float32Array;
    const pd = p[i]!.data as Float32Array;
    for (let j = 0; j < ad.length; j++) ad[j] = keep * ad[j]! + take * pd[j]!;
  });
}
