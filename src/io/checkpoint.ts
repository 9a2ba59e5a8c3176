// Checkpoint folders: everything needed to resume training or to sample, in one folder written atomically.
//   config.json            the model/training config, validated on load by the caller's zod schema
//   model.safetensors      parameters under PyTorch-style names, float32 (or F16/BF16 on request)
//   optimizer.safetensors  optimizer slots, float32, named `<parameter>.<slot>` (e.g. `head.weight.m`)
//   state.json             step, RNG state, schedule state: any JSON
//   tokenizer.json         optional, copied in (Hugging Face format)
// The whole folder is replaced at once (see atomic.ts), so a kill at any moment leaves the previous
// checkpoint loadable. Loading refuses a damaged file by name and lists every parameter that is missing,
// unexpected or of the wrong shape in one error.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { z } from 'zod';
import { UserError } from '../errors.ts';
import { recoverInterruptedReplace, replaceDirectoryAtomic, writeFileSynced } from './atomic.ts';
import { encodeSafetensors, readSafetensors, tensorToFloat32, type TensorInput } from './safetensors.ts';

export const CHECKPOINT_FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
  tokenizer: 'tokenizer.json',
} as const;

/** A float32 parameter (or optimizer slot) with its shape. */
export interface ParameterTensor {
  shape: readonly number[];
  data: Float32Array;
}

export type NamedTensors = Map<string, ParameterTensor> | Record<string, ParameterTensor>;
export type ShapeMap = Map<string, readonly number[]> | Record<string, readonly number[]>;
export type WeightsDtype = 'F32' | 'F16' | 'BF16';

export interface CheckpointToSave<Config> {
  config: Config;
  weights: NamedTensors;
  /** Optimizer slots named `<parameter>.<slot>`, each shaped like its parameter. */
  optimizer?: NamedTensors;
  /** Training state: step, RNG state, schedule state, anything JSON. */
  state?: unknown;
  /** A tokenizer.json to copy into the checkpoint. */
  tokenizerFile?: string;
  /** How parameters are stored; F16 and BF16 halve the file and round each value. Default F32. */
  weightsDtype?: WeightsDtype;
}

export interface LoadCheckpointOptions<Config, State> {
  configSchema: z.ZodType<Config>;
  /** The parameter names and shapes the config implies; every one must be present with that shape. */
  expectedShapes?: ShapeMap | ((config: Config) => ShapeMap);
  stateSchema?: z.ZodType<State>;
  /** Whether to read optimizer.safetensors (default true); sampling does not need it. */
  loadOptimizer?: boolean;
  /** The `kind` the config must state when it states one, and what such a model is, for the message that
   *  refuses another kind by name before its fields are validated one by one. */
  kind?: { name: string; what: string };
}

export interface LoadedTensor {
  shape: number[];
  data: Float32Array;
}

export interface LoadedCheckpoint<Config, State> {
  path: string;
  config: Config;
  weights: Map<string, LoadedTensor>;
  weightsDtype: WeightsDtype;
  optimizer: Map<string, LoadedTensor> | null;
  state: State | null;
  tokenizerPath: string | null;
  /** True when the folder had to be restored from an interrupted replace before loading. */
  recovered: boolean;
}

interface Shaped {
  shape: readonly number[];
}

function entriesOf<V>(named: Map<string, V> | Record<string, V>): [string, V][] {
  return named instanceof Map ? [...named] : Object.entries(named);
}

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

function listed(label: string, items: string[], limit = 20): string[] {
  if (items.length === 0) return [];
  const shown = items.slice(0, limit).map((item) => `    ${item}`);
  if (items.length > limit) shown.push(`    … and ${items.length - limit} more`);
  return [`  ${label} (${items.length}):`, ...shown];
}

/**
 * Compares tensors with the expected shapes; returns the report lines (empty when everything matches):
 * missing names, unexpected names and shape mismatches.
 */
export function compareShapes(actual: Map<string, Shaped>, expected: ShapeMap): string[] {
  const expectedEntries = new Map(entriesOf(expected));
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const [name, shape] of expectedEntries) {
    const tensor = actual.get(name);
    if (!tensor) missing.push(`${name} ${describeShape(shape)}`);
    else if (!sameShape(tensor.shape, shape)) {
      mismatched.push(`${name}: file has ${describeShape(tensor.shape)}, config expects ${describeShape(shape)}`);
    }
  }
  const unexpected = [...actual]
    .filter(([name]) => !expectedEntries.has(name))
    .map(([name, tensor]) => `${name} ${describeShape(tensor.shape)}`);
  return [...listed('missing', missing), ...listed('unexpected', unexpected), ...listed('wrong shape', mismatched)];
}

/** Checks that every optimizer slot is `<parameter>.<slot>` for a known parameter and has its shape. */
function compareOptimizer(weights: Map<string, Shaped>, optimizer: Map<string, Shaped>): string[] {
  const orphans: string[] = [];
  const mismatched: string[] = [];
  for (const [name, slot] of optimizer) {
    const cut = name.lastIndexOf('.');
    const parameter = cut > 0 ? weights.get(name.slice(0, cut)) : undefined;
    if (!parameter) orphans.push(name);
    else if (!sameShape(parameter.shape, slot.shape)) {
      mismatched.push(`${name}: ${describeShape(slot.shape)}, parameter is ${describeShape(parameter.shape)}`);
    }
  }
  return [...listed('slots of no parameter (names must be <parameter>.<slot>)', orphans), ...listed('wrong shape', mismatched)];
}

function toJson(what: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (err) {
    throw new UserError(`${what} cannot be saved as JSON: ${(err as Error).message}`);
  }
  if (text === undefined) throw new UserError(`${what} cannot be saved as JSON: ${String(value)}`);
  return `${text}\n`;
}

function storedTensors(named: NamedTensors, dtype: WeightsDtype): Map<string, TensorInput> {
  const out = new Map<string, TensorInput>();
  for (const [name, tensor] of entriesOf(named)) {
    if (!(tensor.data instanceof Float32Array)) throw new UserError(`tensor "${name}": data must be a Float32Array`);
    out.set(name, { dtype, shape: tensor.shape, data: tensor.data });
  }
  return out;
}

/**
 * Writes a checkpoint folder at `dir`, replacing any previous one atomically: until the new folder is
 * complete and synced, the previous checkpoint stays in place; if anything fails, it is untouched.
 */
export async function saveCheckpoint<Config>(dir: string, checkpoint: CheckpointToSave<Config>): Promise<void> {
  const weightsDtype = checkpoint.weightsDtype ?? 'F32';
  const weights = storedTensors(checkpoint.weights, weightsDtype);
  const optimizer = checkpoint.optimizer ? storedTensors(checkpoint.optimizer, 'F32') : undefined;
  if (optimizer) {
    const problems = compareOptimizer(weights, optimizer);
    if (problems.length > 0) throw new UserError(`optimizer state does not match the parameters:\n${problems.join('\n')}`);
  }
  const encode = (file: string, tensors: Map<string, TensorInput>): Uint8Array => {
    try {
      return encodeSafetensors(tensors, { format: 'pt' });
    } catch (err) {
      if (err instanceof UserError) throw new UserError(`${path.join(dir, file)}: ${err.message}`);
      throw err;
    }
  };
  // Everything is encoded and checked before the disk is touched.
  const files: [string, Uint8Array | string][] = [
    [CHECKPOINT_FILES.config, toJson('config', checkpoint.config)],
    [CHECKPOINT_FILES.weights, encode(CHECKPOINT_FILES.weights, weights)],
  ];
  if (optimizer) files.push([CHECKPOINT_FILES.optimizer, encode(CHECKPOINT_FILES.optimizer, optimizer)]);
  if (checkpoint.state !== undefined) files.push([CHECKPOINT_FILES.state, toJson('training state', checkpoint.state)]);
  await replaceDirectoryAtomic(dir, async (temp) => {
    for (const [file, contents] of files) await writeFileSynced(path.join(temp, file), contents);
    if (checkpoint.tokenizerFile !== undefined) {
      try {
        await fs.copyFile(checkpoint.tokenizerFile, path.join(temp, CHECKPOINT_FILES.tokenizer));
      } catch (err) {
        throw new UserError(`cannot copy the tokenizer ${checkpoint.tokenizerFile} into the checkpoint: ${(err as Error).message}`);
      }
    }
  });
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw new UserError(`${file}: cannot read (${(err as Error).message})`);
  }
}

function parseJsonFile(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message}); the file is damaged`);
  }
}

function validate<T>(file: string, what: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `  ${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  throw new UserError(`${file} is not a valid ${what}:\n${issues.join('\n')}`);
}

async function readFloatTensors(file: string, requireF32: boolean): Promise<{ tensors: Map<string, LoadedTensor>; dtype: WeightsDtype }> {
  const { tensors } = await readSafetensors(file);
  const out = new Map<string, LoadedTensor>();
  const dtypes = new Set<string>();
  for (const [name, tensor] of tensors) {
    if (requireF32 && tensor.dtype !== 'F32') throw new UserError(`${file}: tensor "${name}" has dtype ${tensor.dtype}, expected F32`);
    dtypes.add(tensor.dtype);
    out.set(name, { shape: tensor.shape, data: tensorToFloat32(tensor, `${file}: tensor "${name}"`) });
  }
  const dtype = dtypes.size === 1 && (dtypes.has('F16') || dtypes.has('BF16')) ? ([...dtypes][0] as WeightsDtype) : 'F32';
  return { tensors: out, dtype };
}

/**
 * Loads a checkpoint folder: validates config.json with the schema, reads the weights (as float32) and
 * checks them against the expected shapes, then the optimizer slots, the training state and the tokenizer
 * if present. If a replace was interrupted between its renames, the previous checkpoint is restored first.
 */
export async function loadCheckpoint<Config, State = unknown>(
  dir: string,
  options: LoadCheckpointOptions<Config, State>,
): Promise<LoadedCheckpoint<Config, State>> {
  const recovered = await recoverInterruptedReplace(dir);
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new UserError(`${dir}: no checkpoint folder there`);
  }
  if (!stat.isDirectory()) {
    throw new UserError(`${dir}: not a folder; a checkpoint is a folder with ${CHECKPOINT_FILES.config} and ${CHECKPOINT_FILES.weights}`);
  }

  const configFile = path.join(dir, CHECKPOINT_FILES.config);
  const configText = await readText(configFile);
  if (configText === null) throw new UserError(`${configFile}: missing; ${dir} is not a complete checkpoint`);
  const rawConfig = parseJsonFile(configFile, configText);
  const statedKind = (rawConfig as { kind?: unknown } | null)?.kind;
  if (options.kind && typeof statedKind === 'string' && statedKind !== options.kind.name) {
    throw new UserError(`${dir}: a ${statedKind} model, not ${options.kind.what}`);
  }
  const config = validate(configFile, 'config for this model', options.configSchema, rawConfig);

  const weightsFile = path.join(dir, CHECKPOINT_FILES.weights);
  const { tensors: weights, dtype: weightsDtype } = await readFloatTensors(weightsFile, false);
  if (options.expectedShapes !== undefined) {
    const expected = typeof options.expectedShapes === 'function' ? options.expectedShapes(config) : options.expectedShapes;
    const problems = compareShapes(weights, expected);
    if (problems.length > 0) {
      throw new UserError(`${weightsFile} does not match the model described by ${configFile}:\n${problems.join('\n')}`);
    }
  }

  let optimizer: LoadedCheckpoint<Config, State>['optimizer'] = null;
  const optimizerFile = path.join(dir, CHECKPOINT_FILES.optimizer);
  if ((options.loadOptimizer ?? true) && (await fileExists(optimizerFile))) {
    optimizer = (await readFloatTensors(optimizerFile, true)).tensors;
    const problems = compareOptimizer(weights, optimizer);
    if (problems.length > 0) throw new UserError(`${optimizerFile} does not match ${weightsFile}:\n${problems.join('\n')}`);
  }

  let state: State | null = null;
  const stateFile = path.join(dir, CHECKPOINT_FILES.state);
  const stateText = await readText(stateFile);
  if (stateText !== null) {
    const parsed = parseJsonFile(stateFile, stateText);
    state = options.stateSchema ? validate(stateFile, 'training state', options.stateSchema, parsed) : (parsed as State);
  }

  const tokenizerFile = path.join(dir, CHECKPOINT_FILES.tokenizer);
  const tokenizerText = await readText(tokenizerFile);
  if (tokenizerText !== null) parseJsonFile(tokenizerFile, tokenizerText);

  const tokenizerPath = tokenizerText === null ? null : tokenizerFile;
  return { path: dir, config, weights, weightsDtype, optimizer, state, tokenizerPath, recovered };
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
