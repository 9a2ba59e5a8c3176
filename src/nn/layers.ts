// Layers as functions over parameter trees: `linear(p, x)` where p = { weight, bias } are traced Tensors.
// Parameters keep PyTorch's layouts and names, so checkpoints map one-to-one onto PyTorch state dicts.
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import type { Conv2dParams, EmbeddingParams, LayerNormParams, LinearParams } from './init.ts';

/** y = x Wᵀ + b over the last axis (ONNX Runtime fuses the transpose into the MatMul). */
export function linear(p: LinearParams<Tensor>, x: Tensor): Tensor {
  const y = T.matmul(x, T.transpose(p.weight));
  return p.bias ? T.add(y, p.bias) : y;
}

export function conv2d(p: Conv2dParams<Tensor>, x: Tensor, opts: T.Conv2dOptions = {}): Tensor {
  return T.conv2d(x, p.weight, p.bias, opts);
}

/** Rows of the table for int64 ids of any shape: [...ids.shape, dim]. */
export function embedding(p: EmbeddingParams<Tensor>, ids: Tensor): Tensor {
  return T.gather(p.weight, ids, 0);
}

export function layerNorm(p: LayerNormParams<Tensor>, x: Tensor, eps = 1e-5): Tensor {
  return T.layerNorm(x, p.weight, p.bias, { axis: -1, eps });
}

export interface MlpParams<W = T.NDArray> {
  fc: LinearParams<W>;
  proj: LinearParams<W>;
}

/** The transformer MLP: linear → GELU → linear. */
export function mlp(p: MlpParams<Tensor>, x: Tensor): Tensor {
  return linear(p.proj, T.gelu(linear(p.fc, x)));
}

/** Inverted dropout with a keep-mask drawn on the host (`Rng.bernoulliMask`), so runs are reproducible.
 *  Without a mask (evaluation) it is the identity. */
export function dropout(x: Tensor, keepMask: Tensor | undefined, p: number): Tensor {
  if (!keepMask || p === 0) return x;
  return T.mul(x, T.mul(keepMask, 1 / (1 - p)));
}
