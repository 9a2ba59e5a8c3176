// Loading a DALL·E model folder for generation: config.json (the transformer's config with its dVAE's under
// `vae`), model.safetensors (the transformer, and the dVAE under `vae.`; float32 or float16), tokenizer.json,
// and optionally sampling.json (the sampling settings the model is meant to be used with). A run folder may
// be given for its checkpoint.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loadCheckpoint, saveCheckpoint, type WeightsDtype } from '../io/checkpoint.ts';
import type { CompileOptions } from '../tensor/index.ts';
import { type BpeTokenizer, loadTokenizer } from '../tokenizer/index.ts';
import { UserError, parseUserInput } from '../errors.ts';
import { paramsFromNamed, resolveModelDir, shapesOf, templateRng, weightsOf } from '../train/checkpoint.ts';
import { namedParams } from '../nn/params.ts';
import { type Dvae, dvaeFromParams, embeddedDvaeWeights } from '../dvae/load.ts';
import { initDvae } from '../dvae/model.ts';
import { type DalleConfig, DalleConfigSchema } from './config.ts';
import { type DalleParams, initDalle } from './model.ts';
import { type ClipModel, exportClip, loadClip } from '../clip/load.ts';

/** Sampling settings a model folder recommends (sampling.json): what a request that names none gets. A small
 *  model's samples depend on them as much as on its weights (a lower temperature and classifier-free
 *  guidance make its images follow the caption), so they travel with the weights, as Hugging Face's
 *  generation_config.json does. */
export const SamplingDefaultsSchema = z.strictObject({
  temperature: z.number().min(0).max(10),
  topK: z.number().int().min(0),
  topP: z.number().min(0).max(1),
  guidance: z.number().min(0).max(100),
  /** Candidates drawn per image kept, reranked by the model's contrastive reranker (clip/); 1: none. */
  rerank: z.number().int().min(1).max(64),
});
export type SamplingDefaults = z.infer<typeof SamplingDefaultsSchema>;

/** Without sampling.json: plain sampling from the model's distribution, as the paper draws its candidates. */
export const PLAIN_SAMPLING: SamplingDefaults = { temperature: 1, topK: 0, topP: 1, guidance: 1, rerank: 1 };

/** The settings a request gives, the model's for the rest. */
export function samplingFrom(given: Partial<SamplingDefaults>, model: SamplingDefaults): SamplingDefaults {
  return {
    temperature: given.temperature ?? model.temperature, topK: given.topK ?? model.topK, topP: given.topP ?? model.topP,
    guidance: given.guidance ?? model.guidance, rerank: given.rerank ?? model.rerank,
  };
}

export interface DalleModel {
  dir: string;
  config: DalleConfig;
  params: DalleParams;
  dvae: Dvae;
  tokenizer: BpeTokenizer;
  sampling: SamplingDefaults;
  /** The contrastive reranker in the folder's clip/ (or given with --reranker), if any. */
  reranker: ClipModel | null;
  /** How the sampler's decode step multiplies by the weights: 'int8' quantizes them (faster on CPUs with
   *  VNNI or AMX; images differ slightly from float32's). Absent: float32. */
  decodeWeights?: DecodeWeights;
}

export type DecodeWeights = NonNullable<CompileOptions['weights']>;

/** Where a model folder keeps its contrastive reranker. */
export const rerankerDir = (modelDir: string): string => join(modelDir, 'clip');

function readSampling(dir: string): SamplingDefaults {
  const file = join(dir, 'sampling.json');
  if (!existsSync(file)) return PLAIN_SAMPLING;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return { ...PLAIN_SAMPLING, ...parseUserInput(SamplingDefaultsSchema.partial(), raw, file) };
}

/** `reranker`: a contrastive model to use instead of the folder's own clip/. */
export async function loadDalle(path: string, options: { reranker?: string; decodeWeights?: DecodeWeights } = {}): Promise<DalleModel> {
  if (!existsSync(path)) throw new UserError(`${path}: no such model folder`);
  const dir = resolveModelDir(path);
  const ckpt = await loadCheckpoint<DalleConfig, unknown>(dir, {
    configSchema: DalleConfigSchema as never,
    expectedShapes: (c) => {
      if (!c.vae) throw new UserError(`${join(dir, 'config.json')}: no "vae" section; this is not a DALL·E model folder (a dVAE alone?)`);
      return new Map([...shapesOf(initDalle(templateRng(), c)), ...[...shapesOf(initDvae(templateRng(), c.vae))].map(([k, v]) => [`vae.${k}`, v] as const)]);
    },
    loadOptimizer: false,
  });
  const config = ckpt.config;
  const source = join(dir, 'model.safetensors');
  const params = paramsFromNamed(initDalle(templateRng(), config), ckpt.weights, source);
  const dvae = dvaeFromParams(config.vae!, paramsFromNamed(initDvae(templateRng(), config.vae!), embeddedDvaeWeights(ckpt.weights), source));
  if (!ckpt.tokenizerPath) throw new UserError(`${dir}: no tokenizer.json`);
  const tokenizer = loadTokenizer(ckpt.tokenizerPath);
  if (tokenizer.parts.vocab.length !== config.textVocab) {
    throw new UserError(`${ckpt.tokenizerPath}: ${tokenizer.parts.vocab.length} tokens, the model was built for ${config.textVocab}`);
  }
  const rerankerPath = options.reranker ?? (existsSync(join(rerankerDir(dir), 'config.json')) ? rerankerDir(dir) : null);
  const reranker = rerankerPath ? await loadClip(rerankerPath) : null;
  return { dir, config, params, dvae, tokenizer, sampling: readSampling(dir), reranker, ...(options.decodeWeights && { decodeWeights: options.decodeWeights }) };
}

/** The model with its dVAE replaced by `dvae`, which must have the model's dVAE config and encoder, weight for
 *  weight (a decoder refit by `train-vae --init … --decoder-only`): then every image still has the codes the
 *  transformer was trained on, and only how codes are drawn changes. */
export function withDvae(model: DalleModel, dvae: Dvae, source: string): DalleModel {
  if (JSON.stringify(dvae.config) !== JSON.stringify(model.config.vae)) throw new UserError(`${source}: its dVAE config differs from the one ${model.dir} was trained on`);
  const own = namedParams(model.dvae.params.encoder);
  for (const [name, a] of namedParams(dvae.params.encoder)) {
    const b = own.get(name)!.data;
    if (!a.data.every((v, i) => v === b[i])) {
      throw new UserError(`${source}: its encoder differs from the one ${model.dir} was trained on (encoder.${name}), so its codes would mean other images; refit only the decoder: dalle train-vae --init ${model.dir} --decoder-only`);
    }
  }
  return { ...model, dvae };
}

/** A generation-only copy of a model: its config, transformer and dVAE weights in `dtype`, tokenizer,
 *  sampling settings (`sampling`, by default the model's own) and its reranker (clip/) if it has one. The
 *  files are written beside `out` and renamed into it one by one, so other files there (a model card, sample
 *  grids) stay. */
export async function exportModel(model: DalleModel, out: string, dtype: WeightsDtype, sampling = model.sampling): Promise<void> {
  if (sampling.rerank > 1 && !model.reranker) throw new UserError(`rerank ${sampling.rerank} needs a contrastive reranker to ship with the model (--reranker DIR)`);
  const weights = new Map([...weightsOf(model.params), ...weightsOf(model.dvae.params, 'vae.')]);
  const staging = `${out.replace(/\/+$/, '')}.export-${process.pid}`;
  await saveCheckpoint(staging, { config: model.config, weights, weightsDtype: dtype, tokenizerFile: join(model.dir, 'tokenizer.json') });
  await writeFile(join(staging, 'sampling.json'), JSON.stringify(SamplingDefaultsSchema.parse(sampling), null, 2) + '\n');
  await mkdir(out, { recursive: true });
  for (const file of ['model.safetensors', 'tokenizer.json', 'sampling.json', 'config.json']) await rename(join(staging, file), join(out, file));
  await rm(staging, { recursive: true, force: true });
  if (model.reranker) await exportClip(model.reranker, rerankerDir(out), dtype);
}
