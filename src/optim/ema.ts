// Exponential moving average of weights, kept on the host: ema ← decay·ema + (1 − decay)·params after each
// update. Cheap next to a training step (one pass over the parameters) and never part of the gradient graph.
import { NDArray, flattenTree, isNDArray, mapTree } from '../tensor/index.ts';

export function initEma(params: unknown): unknown {
  return mapTree(params, isNDArray, (a) => new NDArray((a.data as Float32Array).slice(), a.shape));
}

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
