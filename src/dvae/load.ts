// Loading a trained (or converted OpenAI) dVAE for inference, and the compiled encode/decode functions the
// transformer's data pipeline and the sampler use.
import { loadCheckpoint } from '../io/checkpoint.ts';
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { paramsFromNamed, resolveModelDir, shapesOf, templateRng } from '../train/checkpoint.ts';
import { type DvaeConfig, DvaeConfigSchema } from './config.ts';
import { type DvaeParams, codesToOneHot, decode, encode, initDvae, mapPixels, reconstruct } from './model.ts';

export interface Dvae {
  config: DvaeConfig;
  params: DvaeParams;
  /** Images NCHW float32 in [0, 1] → int64 codes [B, grid, grid] (argmax of the logits, no noise). */
  encode(images: T.NDArray): Promise<T.NDArray>;
  /** int64 codes [B, grid, grid] → images NCHW float32 in [0, 1]. */
  decode(codes: T.NDArray): Promise<T.NDArray>;
}

export async function loadDvae(path: string): Promise<Dvae> {
  const dir = resolveModelDir(path);
  const ckpt = await loadCheckpoint<DvaeConfig, unknown>(dir, {
    configSchema: DvaeConfigSchema as never,
    expectedShapes: (c) => shapesOf(initDvae(templateRng(), c)),
    loadOptimizer: false,
  });
  const config = ckpt.config;
  const params = paramsFromNamed(initDvae(templateRng(), config), ckpt.weights, `${dir}/model.safetensors`);
  return dvaeFromParams(config, params);
}

export function dvaeFromParams(config: DvaeConfig, params: DvaeParams): Dvae {
  const enc = T.compile((p: DvaeParams<Tensor>, x: Tensor) => T.argmax(encode(p.encoder, mapPixels(x), config), 1), { name: 'dvae_encode' });
  const dec = T.compile((p: DvaeParams<Tensor>, codes: Tensor) => reconstruct(decode(p.decoder, codesToOneHot(codes, config), config), config), { name: 'dvae_decode' });
  return {
    config,
    params,
    encode: (images) => enc(params, images),
    decode: (codes) => dec(params, codes),
  };
}
