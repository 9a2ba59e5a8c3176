// Between a Trainer and a checkpoint folder: parameters by their PyTorch-style names, AdamW moments and (with
// an EMA) the raw training weights as optimizer slots, and the step and RNG state as JSON. The weights file
// holds what inference should use: the EMA weights when there is an EMA, else the trained ones.
import { type LoadedCheckpoint, saveCheckpoint, type WeightsDtype } from '../io/checkpoint.ts';
import { namedParams } from '../nn/params.ts';
import * as T from '../tensor/index.ts';
import type { NDArray } from '../tensor/index.ts';
import type { Trainer } from '../optim/trainer.ts';
import { UserError } from '../errors.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';

export interface TrainingState {
  step: number;
  rng: number[];
  [key: string]: unknown;
}

const asParam = (a: NDArray) => ({ shape: a.shape, data: a.data as Float32Array });

/** A parameter tree as the named tensors a checkpoint stores (names prefixed, e.g. `vae.` for the dVAE
 *  beside the transformer). */
export function weightsOf(tree: unknown, prefix = ''): Map<string, { shape: readonly number[]; data: Float32Array }> {
  return new Map([...namedParams(tree)].map(([k, v]) => [prefix + k, asParam(v)]));
}

/** Where a run folder keeps its checkpoint (replaced atomically as a whole, so the run's samples and data
 *  caches live beside it, not in it). */
export const checkpointDir = (run: string): string => join(run, 'checkpoint');

/** A model path as users give it: a checkpoint folder, or a run folder holding one. */
export function resolveModelDir(path: string): string {
  if (existsSync(join(path, 'config.json'))) return path;
  if (existsSync(join(checkpointDir(path), 'config.json'))) return checkpointDir(path);
  throw new UserError(`${path}: no model here (expected config.json in it or in ${checkpointDir(path)})`);
}

export interface SaveOptions {
  tokenizerFile?: string;
  weightsDtype?: WeightsDtype;
  /** More weights for model.safetensors, e.g. the dVAE under `vae.` beside the transformer. */
  extraWeights?: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;
}

export async function saveTrainer<C>(dir: string, config: C, trainer: Trainer<any>, state: TrainingState, options: SaveOptions = {}): Promise<void> {
  const { extraWeights, ...rest } = options;
  const weights = new Map([...weightsOf(trainer.ema ?? trainer.params), ...(extraWeights ?? [])]);
  const optimizer = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [slot, tree] of [['m', trainer.opt.m], ['v', trainer.opt.v], ...(trainer.ema ? [['train', trainer.train]] : [])] as [string, unknown][]) {
    for (const [name, a] of namedParams(tree)) optimizer.set(`${name}.${slot}`, asParam(a));
  }
  await saveCheckpoint(dir, { config, weights, optimizer, state, ...rest });
}

/** Fill a parameter tree shaped like `template` from named tensors (checkpoint weights or slots). */
export function paramsFromNamed<P>(template: P, named: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, source: string, suffix = ''): P {
  return T.mapTree(template, T.isNDArray, (a, path) => {
    const t = named.get(path + suffix);
    if (!t) throw new UserError(`${source}: tensor '${path + suffix}' is missing`);
    if (t.shape.length !== a.shape.length || t.shape.some((d, i) => d !== a.shape[i])) {
      throw new UserError(`${source}: tensor '${path + suffix}' has shape [${t.shape}], the config implies [${a.shape}]`);
    }
    return new T.NDArray(t.data, a.shape);
  }) as P;
}

/** An Rng whose every draw is zeros. An init function run with it gives a model's parameter tree (names and
 *  shapes) as a template for loaded weights, without drawing millions of values only to overwrite them
 *  (loading the shipped model: 2.08 s with the drawing, 0.19 s without). */
class ZerosRng extends T.Rng {
  override uniform(shape: readonly number[]): T.NDArray {
    return T.NDArray.zeros(shape);
  }

  override randn(shape: readonly number[]): T.NDArray {
    return T.NDArray.zeros(shape);
  }
}

/** Pass to an init function (`initDalle(templateRng(), c)`) for a template to load weights into. */
export const templateRng = (): T.Rng => new ZerosRng();

/** The expected name → shape map of a parameter tree, for loadCheckpoint's check. */
export function shapesOf(params: unknown): Map<string, readonly number[]> {
  return new Map([...namedParams(params)].map(([k, v]) => [k, v.shape]));
}

/** Put a loaded checkpoint's training weights, moments and EMA back into a Trainer built for the same
 *  config. Only the trainable parameters are restored: a Trainer with frozen ones must be built from the
 *  checkpoint's weights. */
export function restoreTrainer(trainer: Trainer<any>, loaded: LoadedCheckpoint<unknown, unknown>, step: number): void {
  const source = `${loaded.path}/optimizer.safetensors`;
  if (!loaded.optimizer) throw new UserError(`${loaded.path}: no optimizer state to resume from`);
  const slots = loaded.optimizer;
  const hasRaw = [...slots.keys()].some((k) => k.endsWith('.train'));
  const weights = loaded.weights;
  trainer.train = hasRaw ? paramsFromNamed(trainer.train, slots, source, '.train') : paramsFromNamed(trainer.train, weights, `${loaded.path}/model.safetensors`);
  trainer.opt = { m: paramsFromNamed(trainer.opt.m, slots, source, '.m'), v: paramsFromNamed(trainer.opt.v, slots, source, '.v') };
  if (trainer.ema) trainer.ema = paramsFromNamed(trainer.ema, weights, `${loaded.path}/model.safetensors`);
  trainer.step = step;
}

/** The training options of a resumed run: its own, saved in state.json, with a new total of `steps` if
 *  given. Any other option given must equal the saved one: a resumed run keeps its schedules and data
 *  order, so a changed learning rate or batch would be silently ignored, and is refused by name instead. */
export function resumedOptions<S extends z.ZodTypeAny>(schema: S, saved: unknown, given: Record<string, unknown> | undefined, dir: string): z.output<S> {
  const savedOptions = schema.parse(saved) as Record<string, unknown>; // with the defaults of options added since
  for (const [key, value] of Object.entries(given ?? {})) {
    if (key === 'steps' || value === undefined || JSON.stringify(value) === JSON.stringify(savedOptions[key])) continue;
    throw new UserError(`${dir}: this run was trained with ${key} ${JSON.stringify(savedOptions[key])}, not ${JSON.stringify(value)}; a resumed run keeps its own settings (only the total steps may change)`);
  }
  return schema.parse({ ...savedOptions, ...(given?.steps !== undefined && { steps: given.steps }) });
}
