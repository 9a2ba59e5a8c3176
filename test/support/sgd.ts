// Plain SGD for the engine's training tests: the update as traced ops, and the loop that runs a compiled
// step (params, x, y, lr) → { loss, params } for a number of steps, keeping the losses.
import * as T from '../../src/tensor/index.ts';
import type { Tensor } from '../../src/tensor/index.ts';

/** p − lr·g on every leaf of a parameter tree. */
export function sgd<P>(params: P, grads: P, lr: Tensor): P {
  const p = T.flattenTree(params, T.isTensor);
  const g = T.flattenTree(grads, T.isTensor);
  return T.unflattenTree(p.def, p.leaves.map((w, i) => T.sub(w, T.mul(g.leaves[i]!, lr)))) as P;
}

export async function runSteps<P>(
  step: (params: P, x: T.NDArray, y: T.NDArray, lr: T.NDArray) => Promise<{ loss: T.NDArray; params: P }>,
  params: P, x: T.NDArray, y: T.NDArray, lr: number, steps: number,
): Promise<{ params: P; losses: number[] }> {
  const rate = T.NDArray.scalar(lr);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const out = await step(params, x, y, rate);
    losses.push(out.loss.item());
    params = out.params;
  }
  return { params, losses };
}
