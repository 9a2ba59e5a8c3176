// Tests for checkpoint folders, atomic replacement and parameter-tree naming: round trips, config and shape
// mismatch reports, damaged files refused by name, failures and SIGKILLs mid-save that leave the previous
// checkpoint loadable, and recovery from a replace interrupted between its two renames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { UserError } from '../src/errors.ts';
import { tempDirs } from './support/tempdir.ts';
import { replaceDirectoryAtomic, writeFileAtomic } from '../src/io/atomic.ts';
import { CHECKPOINT_FILES, loadCheckpoint, saveCheckpoint, type ParameterTensor } from '../src/io/checkpoint.ts';
import { shapesOf, templateRng } from '../src/train/checkpoint.ts';
import { initDalle } from '../src/dalle/model.ts';
import { DALLE_PRESETS } from '../src/dalle/config.ts';
import { initDvae } from '../src/dvae/model.ts';
import { DVAE_PRESETS } from '../src/dvae/config.ts';
import { namedParams } from '../src/nn/params.ts';
import * as T from '../src/tensor/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const tempDir = tempDirs('dalle-checkpoint-');

const configSchema = z.object({ width: z.number().int().positive(), layers: z.number().int().positive(), name: z.string() });
type Config = z.infer<typeof configSchema>;

function shapesFor(config: Config): Record<string, number[]> {
  const shapes: Record<string, number[]> = { 'embed.weight': [10, config.width] };
  for (let i = 0; i < config.layers; i++) {
    shapes[`blocks.${i}.fc.weight`] = [config.width, config.width];
    shapes[`blocks.${i}.fc.bias`] = [config.width];
  }
  return shapes;
}

function weightsFor(config: Config, fill: (index: number) => number): Record<string, ParameterTensor> {
  const weights: Record<string, ParameterTensor> = {};
  let counter = 0;
  for (const [name, shape] of Object.entries(shapesFor(config))) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => fill(counter++));
    weights[name] = { shape, data };
  }
  return weights;
}

const config: Config = { width: 4, layers: 2, name: 'tiny' };

async function assertUserError(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  let message = '';
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    for (const pattern of patterns) assert.match(err.message, pattern);
    message = err.message;
    return true;
  });
  return message;
}

test('a checkpoint round-trips config, weights, optimizer slots, state and tokenizer', async () => {
  const dir = await tempDir();
  const ckpt = path.join(dir, 'ckpt');
  const weights = weightsFor(config, (i) => i * 0.25 - 3);
  const optimizer: Record<string, ParameterTensor> = {};
  for (const [name, tensor] of Object.entries(weights)) {
    optimizer[`${name}.m`] = { shape: tensor.shape, data: tensor.data.map((v) => v / 10) };
    optimizer[`${name}.v`] = { shape: tensor.shape, data: tensor.data.map((v) => v * v) };
  }
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  await fs.writeFile(tokenizerFile, JSON.stringify({ version: '1.0', model: { type: 'BPE' } }));
  const state = { step: 1234, rng: { seed: 7, state: [1, 2, 3, 4] }, schedule: { lr: 1e-4, tau: 0.5 } };
  await saveCheckpoint(ckpt, { config, weights, optimizer, state, tokenizerFile });

  assert.deepEqual((await fs.readdir(ckpt)).sort(), Object.values(CHECKPOINT_FILES).sort());
  assert.deepEqual(await fs.readdir(dir), ['ckpt', 'tokenizer.json'], 'no temp folders left behind');
  const stateSchema = z.object({ step: z.number().int(), rng: z.unknown(), schedule: z.record(z.string(), z.number()) });
  const loaded = await loadCheckpoint(ckpt, { configSchema, expectedShapes: shapesFor, stateSchema });
  assert.deepEqual(loaded.config, config);
  assert.equal(loaded.weightsDtype, 'F32');
  assert.equal(loaded.recovered, false);
  for (const [name, tensor] of Object.entries(weights)) {
    assert.deepEqual(loaded.weights.get(name)!.shape, tensor.shape);
    assert.deepEqual(loaded.weights.get(name)!.data, tensor.data);
    assert.deepEqual(loaded.optimizer!.get(`${name}.m`)!.data, optimizer[`${name}.m`]!.data);
  }
  assert.deepEqual(loaded.state, state);
  assert.equal(loaded.tokenizerPath, path.join(ckpt, 'tokenizer.json'));
  const withoutOptimizer = await loadCheckpoint(ckpt, { configSchema, loadOptimizer: false });
  assert.equal(withoutOptimizer.optimizer, null);
  // Re-saving with the tokenizer taken from the checkpoint being replaced keeps it.
  await saveCheckpoint(ckpt, { config, weights, state: { step: 1235 }, tokenizerFile: loaded.tokenizerPath! });
  const resaved = await loadCheckpoint(ckpt, { configSchema });
  assert.deepEqual(JSON.parse(await fs.readFile(resaved.tokenizerPath!, 'utf8')), { version: '1.0', model: { type: 'BPE' } });
  assert.equal(resaved.optimizer, null);
});

test('weights can be stored as F16 or BF16 and come back as rounded float32', async () => {
  const dir = await tempDir();
  const wide: Config = { width: 64, layers: 2, name: 'wide' };
  const weights = weightsFor(wide, (i) => 0.1 * i);
  for (const weightsDtype of ['F16', 'BF16'] as const) {
    const ckpt = path.join(dir, weightsDtype);
    await saveCheckpoint(ckpt, { config: wide, weights, weightsDtype });
    const loaded = await loadCheckpoint(ckpt, { configSchema, expectedShapes: shapesFor });
    assert.equal(loaded.weightsDtype, weightsDtype);
    const original = weights['embed.weight']!.data;
    const restored = loaded.weights.get('embed.weight')!.data;
    const tolerance = weightsDtype === 'F16' ? 2 ** -11 : 2 ** -8;
    for (let i = 0; i < original.length; i++) {
      assert.ok(Math.abs(restored[i]! - original[i]!) <= Math.abs(original[i]!) * tolerance, `${weightsDtype} element ${i}`);
    }
    assert.equal(loaded.state, null);
    assert.equal(loaded.tokenizerPath, null);
  }
  const f16Size = (await fs.stat(path.join(dir, 'F16', 'model.safetensors'))).size;
  await saveCheckpoint(path.join(dir, 'F32'), { config: wide, weights });
  const f32Size = (await fs.stat(path.join(dir, 'F32', 'model.safetensors'))).size;
  assert.ok(f16Size < f32Size * 0.6, `F16 file ${f16Size} bytes, F32 file ${f32Size} bytes`);
});

test('loading names every missing, unexpected and mis-shaped parameter in one error', async () => {
  const dir = await tempDir();
  const ckpt = path.join(dir, 'ckpt');
  const weights = weightsFor(config, () => 1);
  delete weights['blocks.1.fc.bias'];
  weights['blocks.0.fc.weight'] = { shape: [4, 5], data: new Float32Array(20) };
  weights['head.weight'] = { shape: [3], data: new Float32Array(3) };
  await saveCheckpoint(ckpt, { config, weights });
  const message = await assertUserError(
    loadCheckpoint(ckpt, { configSchema, expectedShapes: shapesFor }),
    /model\.safetensors does not match the model described by .*config\.json/,
    /missing \(1\):\n {4}blocks\.1\.fc\.bias \[4\]/,
    /unexpected \(1\):\n {4}head\.weight \[3\]/,
    /wrong shape \(1\):\n {4}blocks\.0\.fc\.weight: file has \[4, 5\], config expects \[4, 4\]/,
  );
  assert.ok(!message.includes('embed.weight'), 'matching parameters are not listed');
  // A config that describes a different model is reported the same way.
  await saveCheckpoint(ckpt, { config: { ...config, layers: 3 }, weights: weightsFor(config, () => 1) });
  await assertUserError(loadCheckpoint(ckpt, { configSchema, expectedShapes: shapesFor }), /missing \(2\):\n {4}blocks\.2\.fc\.weight \[4, 4\]\n {4}blocks\.2\.fc\.bias \[4\]/);
});

test('an invalid config, state or optimizer is refused with the file and field named', async () => {
  const dir = await tempDir();
  const ckpt = path.join(dir, 'ckpt');
  const weights = weightsFor(config, () => 1);
  await saveCheckpoint(ckpt, { config: { width: 'four', layers: 0, name: 'x' }, weights });
  await assertUserError(loadCheckpoint(ckpt, { configSchema }), /config\.json is not a valid config for this model/, /\n {2}width: /, /\n {2}layers: /);
  await saveCheckpoint(ckpt, { config, weights, state: { step: 'ten' } });
  await assertUserError(loadCheckpoint(ckpt, { configSchema, stateSchema: z.object({ step: z.number() }) }), /state\.json is not a valid training state:\n {2}step: /);
  await assertUserError(
    saveCheckpoint(ckpt, { config, weights, optimizer: { 'embed.weight.m': { shape: [2], data: new Float32Array(2) }, 'ghost.m': { shape: [1], data: new Float32Array(1) } } }),
    /optimizer state does not match the parameters/,
    /slots of no parameter.*\n {4}ghost\.m/,
    /embed\.weight\.m: \[2\], parameter is \[10, 4\]/,
  );
  await assertUserError(saveCheckpoint(ckpt, { config, weights, state: { step: 1n } }), /training state cannot be saved as JSON/);
  await assertUserError(
    saveCheckpoint(ckpt, { config, weights: { x: { shape: [3], data: new Float32Array(4) } } }),
    /ckpt\/model\.safetensors: tensor "x": shape \[3\] has 3 elements but the data has 4/,
  );
});

test('damaged or missing files are refused with a message naming them', async () => {
  const dir = await tempDir();
  const ckpt = path.join(dir, 'ckpt');
  const tokenizerFile = path.join(dir, 'tok.json');
  await fs.writeFile(tokenizerFile, '{}');
  await saveCheckpoint(ckpt, { config, weights: weightsFor(config, () => 2), state: { step: 1 }, tokenizerFile });
  const modelFile = path.join(ckpt, 'model.safetensors');
  const modelBytes = await fs.readFile(modelFile);
  await fs.writeFile(modelFile, modelBytes.subarray(0, modelBytes.length - 10));
  await assertUserError(loadCheckpoint(ckpt, { configSchema }), new RegExp(`^${modelFile}: .*truncated`));
  await fs.writeFile(modelFile, modelBytes);
  for (const file of ['config.json', 'state.json', 'tokenizer.json']) {
    const full = path.join(ckpt, file);
    const original = await fs.readFile(full);
    await fs.writeFile(full, original.subarray(0, Math.floor(original.length / 2)));
    await assertUserError(loadCheckpoint(ckpt, { configSchema }), new RegExp(`^${full}: not valid JSON .*damaged`));
    await fs.writeFile(full, original);
  }
  await fs.rm(path.join(ckpt, 'config.json'));
  await assertUserError(loadCheckpoint(ckpt, { configSchema }), /config\.json: missing; .* is not a complete checkpoint/);
  await assertUserError(loadCheckpoint(path.join(dir, 'nothing'), { configSchema }), /nothing: no checkpoint folder there/);
  await assertUserError(loadCheckpoint(tokenizerFile, { configSchema }), /tok\.json: not a folder/);
});

test('a checkpoint into a run folder that does not exist yet creates it', async () => {
  const ckpt = path.join(await tempDir(), 'runs', 'new-run', 'checkpoint');
  await saveCheckpoint(ckpt, { config, weights: weightsFor(config, () => 1), state: { step: 1 } });
  assert.deepEqual((await loadCheckpoint(ckpt, { configSchema, expectedShapes: shapesFor })).state, { step: 1 });
});

test('a save that fails part-way leaves the previous checkpoint intact and no temp folder', async () => {
  const dir = await tempDir();
  const ckpt = path.join(dir, 'ckpt');
  await saveCheckpoint(ckpt, { config, weights: weightsFor(config, () => 1), state: { step: 1 } });
  // The weights and state are written before the tokenizer copy fails.
  await assertUserError(
    saveCheckpoint(ckpt, { config: { ...config, name: 'second' }, weights: weightsFor(config, () => 2), state: { step: 2 }, tokenizerFile: path.join(dir, 'absent.json') }),
    /cannot copy the tokenizer/,
  );
  // A fill callback that throws after writing some files.
  await assert.rejects(
    replaceDirectoryAtomic(ckpt, async (temp) => {
      await fs.writeFile(path.join(temp, 'config.json'), '{"partial": tr');
      throw new Error('simulated crash');
    }),
    /simulated crash/,
  );
  const loaded = await loadCheckpoint(ckpt, { configSchema, expectedShapes: shapesFor });
  assert.equal(loaded.config.name, 'tiny');
  assert.deepEqual(loaded.state, { step: 1 });
  assert.equal(loaded.weights.get('embed.weight')!.data[0], 1);
  assert.deepEqual(await fs.readdir(dir), ['ckpt']);
});

test('a replace interrupted between its two renames is recovered on load, and leftovers are swept', async () => {
  const dir = await tempDir();
  const ckpt = path.join(dir, 'ckpt');
  await saveCheckpoint(ckpt, { config, weights: weightsFor(config, () => 5), state: { step: 5 } });
  const deadPid = 999_999_999; // above any pid_max, so no such process
  await fs.rename(ckpt, `${ckpt}.old-${deadPid}-1`);
  await fs.mkdir(`${ckpt}.tmp-${deadPid}-2`);
  await fs.writeFile(`${ckpt}.tmp-${deadPid}-2/config.json`, '{"half": ');
  await fs.writeFile(`${ckpt}.tmp-${deadPid}-3`, 'a temp file of an interrupted writeFileAtomic');
  const loaded = await loadCheckpoint(ckpt, { configSchema, expectedShapes: shapesFor });
  assert.equal(loaded.recovered, true);
  assert.deepEqual(loaded.state, { step: 5 });
  await saveCheckpoint(ckpt, { config, weights: weightsFor(config, () => 6), state: { step: 6 } });
  assert.deepEqual(await fs.readdir(dir), ['ckpt'], 'leftovers of the dead process are removed');
  // While the writer is alive, loading explains instead of guessing.
  await fs.rename(ckpt, `${ckpt}.old-${process.ppid}-1`);
  await assertUserError(loadCheckpoint(ckpt, { configSchema }), new RegExp(`ckpt is missing while process ${process.ppid} is replacing it`));
  await fs.rename(`${ckpt}.old-${process.ppid}-1`, ckpt);
});

test('writeFileAtomic replaces a file whole and leaves no temp file', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'notes.json');
  await writeFileAtomic(file, 'first');
  await writeFileAtomic(file, new Uint8Array([0x73, 0x65, 0x63, 0x6f, 0x6e, 0x64]));
  assert.equal(await fs.readFile(file, 'utf8'), 'second');
  assert.deepEqual(await fs.readdir(dir), ['notes.json']);
});

/** Child process: saves checkpoints in a loop, each one self-consistent (every value = its version). */
const saverScript = (ckpt: string) => `
import { saveCheckpoint } from ${JSON.stringify(pathToFileURL(path.join(repoRoot, 'src/io/checkpoint.ts')).href)};
const shape = [512, 1024];
for (let version = 1; ; version++) {
  const data = new Float32Array(512 * 1024).fill(version);
  await saveCheckpoint(${JSON.stringify(ckpt)}, {
    config: { width: 1024, layers: 1, name: 'v' + version },
    weights: { 'w.a': { shape, data }, 'w.b': { shape, data } },
    optimizer: { 'w.a.m': { shape, data }, 'w.b.m': { shape, data } },
    state: { step: version },
  });
  process.stdout.write('saved ' + version + '\\n');
}
`;

async function runAndKill(scriptFile: string, killAfterMs: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', scriptFile], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let lastSaved = 0;
  let firstSave: () => void;
  const saved = new Promise<void>((resolve) => (firstSave = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    for (const match of chunk.matchAll(/saved (\d+)/g)) lastSaved = Number(match[1]);
    if (lastSaved > 0) firstSave();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await Promise.race([saved, exited]);
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  child.kill('SIGKILL');
  await exited;
  return lastSaved;
}

test('SIGKILL at random moments during saves always leaves a complete, loadable checkpoint', async (t) => {
  const dir = await tempDir();
  const ckpt = path.join(dir, 'ckpt');
  const scriptFile = path.join(dir, 'saver.mts');
  await fs.writeFile(scriptFile, saverScript(ckpt));
  const schema = z.object({ width: z.number(), layers: z.number(), name: z.string() });
  const delays = [0, 3, 7, 11, 17, 23, 31, 45];
  let killsMidSave = 0;
  for (const delay of delays) {
    const lastReported = await runAndKill(scriptFile, delay);
    if ((await fs.readdir(dir)).some((name) => /^ckpt\.(tmp|old)-/.test(name))) killsMidSave += 1;
    assert.ok(lastReported >= 1, 'the child saved at least once before being killed');
    const loaded = await loadCheckpoint(ckpt, {
      configSchema: schema,
      expectedShapes: { 'w.a': [512, 1024], 'w.b': [512, 1024] },
      stateSchema: z.object({ step: z.number() }),
    });
    const version = loaded.state!.step;
    assert.ok(version >= lastReported, `loaded version ${version} is not older than the last reported save ${lastReported}`);
    assert.equal(loaded.config.name, `v${version}`);
    for (const name of ['w.a', 'w.b']) {
      const data = loaded.weights.get(name)!.data;
      assert.ok(data[0] === version && data[data.length - 1] === version, `${name} belongs to version ${version}`);
      assert.equal(loaded.optimizer!.get(`${name}.m`)!.data[0], version);
    }
  }
  t.diagnostic(`${killsMidSave} of ${delays.length} kills landed in the middle of a save`);
  assert.ok(killsMidSave > 0, 'at least one kill landed in the middle of a save');
  await saveCheckpoint(ckpt, { config: { width: 1, layers: 1, name: 'final' }, weights: {} });
  assert.deepEqual((await fs.readdir(dir)).sort(), ['ckpt', 'saver.mts'], 'leftovers of killed writers are swept by the next save');
});

test('a template tree from templateRng has the real init\'s names and shapes, zeros where the init draws', () => {
  for (const [real, template] of [
    [initDalle(new T.Rng(1), DALLE_PRESETS.tiny!), initDalle(templateRng(), DALLE_PRESETS.tiny!)],
    [initDvae(new T.Rng(1), DVAE_PRESETS.tiny!), initDvae(templateRng(), DVAE_PRESETS.tiny!)],
  ]) {
    assert.deepEqual([...shapesOf(template)], [...shapesOf(real)]);
    for (const [name, a] of namedParams(template)) {
      const init = namedParams(real).get(name)!;
      // Ones (layer-norm gains) and zeros (biases) are not draws; only drawn tensors become zeros.
      const drawn = (init.data as Float32Array).some((v) => v !== 0 && v !== 1);
      assert.ok((a.data as Float32Array).every((v, i) => (drawn ? v === 0 : v === init.data[i])), name);
    }
  }
});
