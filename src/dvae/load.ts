// Loading a trained (or converted OpenAI) dVAE for inference, and the compiled encode/decode functions the
// transformer's data pipeline and the sampler use.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
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

/** A dVAE checkpoint folder, or a DALL·E model folder, which carries its dVAE (the config's "vae" section and
 *  the weights named "vae.…"): so that encode, decode and eval-vae also take a shipped model. */
export async function loadDvae(path: string): Promise<Dvae> {
  const dir = resolveModelDir(path);
  if (holdsDalle(dir)) {
    const ckpt = await loadCheckpoint<{ vae: DvaeConfig }, unknown>(dir, { configSchema: z.looseObject({ vae: DvaeConfigSchema }) as never, loadOptimizer: false });
    const config = ckpt.config.vae;
    return dvaeFromParams(config, paramsFromNamed(initDvae(templateRng(), config), embeddedDvaeWeights(ckpt.weights), `${dir}/model.safetensors`));
  }
  const ckpt = await loadCheckpoint<DvaeConfig, unknown>(dir, {
    configSchema: DvaeConfigSchema as never,
    expectedShapes: (c) => shapesOf(initDvae(templateRng(), c)),
    loadOptimizer: false,
  });
  const config = ckpt.config;
  const params = paramsFromNamed(initDvae(templateRng(), config), ckpt.weights, `${dir}/model.safetensors`);
  return dvaeFromParams(config, params);
}

/** Whether a folder's config.json has a "vae" section (a DALL·E model's); an unreadable one is left to
 *  loadCheckpoint, which says what is wrong with it. */
function holdsDalle(dir: string): boolean {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return false;
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof raw === 'object' && raw !== null && typeof (raw as { vae?: unknown }).vae === 'object';
  } catch {
    return false;
  }
}

/** The dVAE's tensors of a DALL·E model's weights, without their "vae." prefix. */
export function embeddedDvaeWeights<W>(weights: ReadonlyMap<string, W>): Map<string, W> {
  return new Map([...weights].filter(([k]) => k.startsWith('vae.')).map(([k, v]) => [k.slice(4), v]));
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
