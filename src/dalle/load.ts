// Loading a DALL·E model folder for generation: config.json (the transformer's config with its dVAE's under
// `vae`), model.safetensors (the transformer, and the dVAE under `vae.`; float32 or float16) and
// tokenizer.json. A run folder may be given for its checkpoint.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, type WeightsDtype } from '../io/checkpoint.ts';
import { namedParams } from '../nn/params.ts';
import * as T from '../tensor/index.ts';
import { type BpeTokenizer, loadTokenizer } from '../tokenizer/index.ts';
import { UserError } from '../errors.ts';
import { paramsFromNamed, resolveModelDir, shapesOf } from '../train/checkpoint.ts';
import { type Dvae, dvaeFromParams } from '../dvae/load.ts';
import { initDvae } from '../dvae/model.ts';
import { type DalleConfig, DalleConfigSchema } from './config.ts';
import { type DalleParams, initDalle } from './model.ts';

export interface DalleModel {
  dir: string;
  config: DalleConfig;
  params: DalleParams;
  dvae: Dvae;
  tokenizer: BpeTokenizer;
}

export async function loadDalle(path: string): Promise<DalleModel> {
  if (!existsSync(path)) throw new UserError(`${path}: no such model folder`);
  const dir = resolveModelDir(path);
  const ckpt = await loadCheckpoint<DalleConfig, unknown>(dir, {
    configSchema: DalleConfigSchema as never,
    expectedShapes: (c) => {
      if (!c.vae) throw new UserError(`${join(dir, 'config.json')}: no "vae" section; this is not a DALL·E model folder (a dVAE alone?)`);
      return new Map([...shapesOf(initDalle(new T.Rng(0), c)), ...[...shapesOf(initDvae(new T.Rng(0), c.vae))].map(([k, v]) => [`vae.${k}`, v] as const)]);
    },
    loadOptimizer: false,
  });
  const config = ckpt.config;
  const source = join(dir, 'model.safetensors');
  const params = paramsFromNamed(initDalle(new T.Rng(0), config), ckpt.weights, source);
  const vaeWeights = new Map([...ckpt.weights].filter(([k]) => k.startsWith('vae.')).map(([k, v]) => [k.slice(4), v]));
  const dvae = dvaeFromParams(config.vae!, paramsFromNamed(initDvae(new T.Rng(0), config.vae!), vaeWeights, source));
  if (!ckpt.tokenizerPath) throw new UserError(`${dir}: no tokenizer.json`);
  const tokenizer = loadTokenizer(ckpt.tokenizerPath);
  if (tokenizer.parts.vocab.length !== config.textVocab) {
    throw new UserError(`${ckpt.tokenizerPath}: ${tokenizer.parts.vocab.length} tokens, the model was built for ${config.textVocab}`);
  }
  return { dir, config, params, dvae, tokenizer };
}

/** A generation-only copy of a model: its config, transformer and dVAE weights in `dtype`, and tokenizer.
 *  The three files are written beside `out` and renamed into it one by one, so other files there (a model
 *  card, sample grids) stay. */
export async function exportModel(model: DalleModel, out: string, dtype: WeightsDtype): Promise<void> {
  const weights = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [k, v] of namedParams(model.params)) weights.set(k, { shape: v.shape, data: v.data as Float32Array });
  for (const [k, v] of namedParams(model.dvae.params)) weights.set(`vae.${k}`, { shape: v.shape, data: v.data as Float32Array });
  const staging = `${out.replace(/\/+$/, '')}.export-${process.pid}`;
  await saveCheckpoint(staging, { config: model.config, weights, weightsDtype: dtype, tokenizerFile: join(model.dir, 'tokenizer.json') });
  await mkdir(out, { recursive: true });
  for (const file of ['model.safetensors', 'tokenizer.json', 'config.json']) await rename(join(staging, file), join(out, file));
  await rm(staging, { recursive: true, force: true });
}
