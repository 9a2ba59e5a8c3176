// Parameter initialisers. Defaults match PyTorch's layers (Linear and Conv2d: kaiming-uniform with a = √5,
// which is U(±1/√fan_in) for the weight and the same bound for the bias; Embedding: N(0, 1); LayerNorm: 1
// and 0), so that models behave like their PyTorch counterparts from step 0. The dVAE uses the paper's
// N(0, 1/√fan_in) conv weights (OpenAI's dall_e package: std = 1/sqrt(in·k²)) with zero biases.
import { NDArray, type Rng } from '../tensor/index.ts';

export interface LinearParams<W = NDArray> {
  weight: W; // [out, in], PyTorch layout
  bias?: W; // [out]
}

export interface Conv2dParams<W = NDArray> {
  weight: W; // [out, in/groups, kh, kw]
  bias?: W; // [out]
}

export interface EmbeddingParams<W = NDArray> {
  weight: W; // [count, dim]
}

export interface LayerNormParams<W = NDArray> {
  weight: W; // [dim]
  bias: W; // [dim]
}

export function initLinear(rng: Rng, inFeatures: number, outFeatures: number, { bias = true } = {}): LinearParams {
  const bound = 1 / Math.sqrt(inFeatures);
  return {
    weight: rng.uniform([outFeatures, inFeatures], -bound, bound),
    ...(bias && { bias: rng.uniform([outFeatures], -bound, bound) }),
  };
}

export interface ConvInit {
  bias?: boolean;
  groups?: number;
  /** 'pytorch' (default) or 'paper': N(0, 1/√fan_in) weights and zero biases, as in OpenAI's dVAE. */
  scheme?: 'pytorch' | 'paper';
}

export function initConv2d(rng: Rng, inChannels: number, outChannels: number, kernel: number, opts: ConvInit = {}): Conv2dParams {
  const groups = opts.groups ?? 1;
  if (inChannels % groups || outChannels % groups) {
    throw new RangeError(`initConv2d: ${inChannels}→${outChannels} channels do not divide into ${groups} groups`);
  }
  const fanIn = (inChannels / groups) * kernel * kernel;
  const shape = [outChannels, inChannels / groups, kernel, kernel];
  const bias = opts.bias ?? true;
  if (opts.scheme === 'paper') {
    return { weight: rng.randn(shape, 1 / Math.sqrt(fanIn)), ...(bias && { bias: NDArray.zeros([outChannels]) }) };
  }
  const bound = 1 / Math.sqrt(fanIn);
  return { weight: rng.uniform(shape, -bound, bound), ...(bias && { bias: rng.uniform([outChannels], -bound, bound) }) };
}

export function initEmbedding(rng: Rng, count: number, dim: number, std = 1): EmbeddingParams {
  return { weight: rng.randn([count, dim], std) };
}

export function initLayerNorm(dim: number): LayerNormParams {
  return { weight: new NDArray(new Float32Array(dim).fill(1), [dim]), bias: NDArray.zeros([dim]) };
}
