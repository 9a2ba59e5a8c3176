// Global-norm gradient clipping as traced ops (torch.nn.utils.clip_grad_norm_: scale every gradient by
// min(1, max_norm / (‖g‖ + 1e-6)), the norm taken over all gradients together).
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';

export function globalNorm(grads: unknown): Tensor {
  const leaves = T.flattenTree(grads, T.isTensor).leaves;
  return T.sqrt(leaves.map((g) => T.sum(T.mul(g, g))).reduce((a, b) => T.add(a, b)));
}

export function clipByGlobalNorm<G>(grads: G, maxNorm: number): { grads: G; norm: Tensor } {
  const norm = globalNorm(grads);
  const scale = T.minimum(T.div(maxNorm, T.add(norm, 1e-6)), 1);
  return { grads: T.mapTree(grads, T.isTensor, (g) => T.mul(g, scale)) as G, norm };
}
