// The whole pipeline on a tiny generated dataset, through the library and the real `dalle` commands:
// shapes scenes → tokenizer → dVAE (and its decoder refit) → transformer (and fine-tunes, on augmented copies too) → generate / eval / export, and the contrastive reranker; resuming an interrupted run
// gives bit-identical weights to an uninterrupted one; user mistakes get one clear message.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../src/cli/main.ts';
import { UserError } from '../src/errors.ts';
import { buildShapes } from '../src/data/shapes.ts';
import { trainTokenizer, saveTokenizer, readCaptions } from '../src/tokenizer/index.ts';
import { trainDvae } from '../src/dvae/train.ts';
import { trainDalle } from '../src/dalle/train.ts';
import { DVAE_PRESETS } from '../src/dvae/config.ts';
import { DALLE_PRESETS } from '../src/dalle/config.ts';
import { decodeImage, writePng } from '../src/io/images.ts';
import { trainClip } from '../src/clip/train.ts';
import { CLIP_PRESETS } from '../src/clip/config.ts';
import { clipScorer, loadClip } from '../src/clip/load.ts';
import { loadDalle } from '../src/dalle/load.ts';
import { loadDvae } from '../src/dvae/load.ts';
import { weightsOf } from '../src/train/checkpoint.ts';

/** The largest absolute difference between two sets of named weights with the same names and shapes. */
function maxAbsDifference(a: ReadonlyMap<string, { data: Float32Array }>, b: ReadonlyMap<string, { data: Float32Array }>): number {
  let max = 0;
  for (const [name, w] of a) w.data.forEach((v, i) => (max = Math.max(max, Math.abs(v - b.get(name)!.data[i]!))));
  return max;
}

const dir = mkdtempSync(join(tmpdir(), 'dalle-e2e-'));
const data = join(dir, 'shapes');
const tokenizer = join(dir, 'tokenizer.json');
const quiet = { progress: false, log: () => {} };

/** Run a `dalle` command in-process; what it prints with console.log is returned (the test runner's own
 *  report goes through process.stdout and is left alone). */
async function dalle(...args: string[]): Promise<string> {
  const out: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void out.push(parts.join(' '));
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'dalle', ...args]);
  } finally {
    console.log = log;
  }
  return out.join('\n');
}

const dvaeOptions = { steps: 20, batchSize: 8, checkpointEvery: 10, sampleEvery: 20, seed: 3 };
const dalleOptions = { steps: 20, batchSize: 8, checkpointEvery: 10, sampleEvery: 20, evalEvery: 10, evalBatches: 2, warmup: 5, seed: 4 };

describe('pipeline on generated shapes', () => {
  before(async () => {
    await buildShapes({ out: data, count: 96, size: 16, seed: 1 });
    const captions: string[] = [];
    for await (const c of readCaptions([data])) captions.push(c);
    saveTokenizer(trainTokenizer(captions, { vocabSize: 300 }), tokenizer);
  });

  it('trains a dVAE, and resuming an interrupted run ends with the same weights as an uninterrupted one', async () => {
    await trainDvae({ out: join(dir, 'vae'), data, config: DVAE_PRESETS.tiny!, options: dvaeOptions, ...quiet });
    await trainDvae({ out: join(dir, 'vae-b'), data, config: DVAE_PRESETS.tiny!, options: dvaeOptions, until: 10, ...quiet });
    // Through the command, without --steps: the run keeps its own total, not the flag's default of 5000.
    const resume = ['train-vae', '--resume', '--out', join(dir, 'vae-b'), '--data', data];
    await assert.rejects(dalle(...resume, '--lr', '0.5'), (e: Error) => e instanceof UserError && /trained with lr 0\.001, not 0\.5; a resumed run keeps its own settings/.test(e.message));
    assert.match(await dalle(...resume, '--batch', '8'), /^trained 20 steps/);
    const a = readFileSync(join(dir, 'vae', 'checkpoint', 'model.safetensors'));
    const b = readFileSync(join(dir, 'vae-b', 'checkpoint', 'model.safetensors'));
    assert.ok(a.equals(b), 'resumed dVAE weights differ from the uninterrupted run');
    assert.ok(existsSync(join(dir, 'vae', 'samples', 'step-000020.png')));
  });

  it('trains the transformer, and resumes exactly too', async () => {
    const run = { data, vae: join(dir, 'vae'), tokenizer, config: DALLE_PRESETS.tiny!, options: dalleOptions, ...quiet };
    const full = await trainDalle({ ...run, out: join(dir, 'dalle') });
    assert.ok(full.validation && Number.isFinite(full.validation.imageNll));
    await trainDalle({ ...run, out: join(dir, 'dalle-b'), until: 10 });
    await trainDalle({ ...run, out: join(dir, 'dalle-b'), resume: true });
    const a = readFileSync(join(dir, 'dalle', 'checkpoint', 'model.safetensors'));
    const b = readFileSync(join(dir, 'dalle-b', 'checkpoint', 'model.safetensors'));
    assert.ok(a.equals(b), 'resumed transformer weights differ from the uninterrupted run');
  });

  it('fine-tunes a trained transformer (--init) with its dVAE and tokenizer, with code noise, and resumes exactly', async () => {
    const base = join(dir, 'dalle');
    const weights = (run: string) => readFileSync(join(run, 'checkpoint', 'model.safetensors'));
    const fineTune = ['train', '--init', base, '--data', data, '--batch', '8', '--warmup', '2', '--eval-every', '3', '--sample-every', '6', '--checkpoint-every', '3', '--seed', '5'];
    // At a vanishing learning rate one update leaves the weights where --init put them: the run starts from them.
    assert.match(await dalle(...fineTune, '--out', join(dir, 'ft-still'), '--steps', '1', '--lr', '1e-12'), /^trained 1 steps/);
    const [start, still] = [await loadDalle(base), await loadDalle(join(dir, 'ft-still'))];
    assert.deepEqual(still.config, start.config);
    const gap = maxAbsDifference(weightsOf(start.params), weightsOf(still.params));
    assert.ok(gap < 1e-6, `the fine-tuned run did not start from the --init weights (max difference ${gap})`);
    // With code noise (its effect on a batch is checked in dalle.model.test.ts: this tiny dVAE uses almost one
    // code, so replacing codes changes little here), an interrupted fine-tune resumes to the same weights.
    // The noise rises over 5 updates, so the interrupted half resumes partway up the ramp.
    await dalle(...fineTune, '--out', join(dir, 'ft'), '--steps', '6', '--code-noise', '0.2', '--code-noise-ramp', '5');
    const state = JSON.parse(readFileSync(join(dir, 'ft', 'checkpoint', 'state.json'), 'utf8'));
    assert.deepEqual([state.train.codeNoise, state.train.codeNoiseRamp, state.train.init], [0.2, 5, base]);
    await trainDalle({ data, out: join(dir, 'ft-b'), options: { init: base, steps: 6, batchSize: 8, warmup: 2, evalEvery: 3, sampleEvery: 6, checkpointEvery: 3, seed: 5, codeNoise: 0.2, codeNoiseRamp: 5 }, until: 3, ...quiet });
    assert.match(await dalle('train', '--resume', '--out', join(dir, 'ft-b'), '--data', data), /^trained 6 steps/);
    assert.ok(weights(join(dir, 'ft')).equals(weights(join(dir, 'ft-b'))), 'the resumed fine-tune differs from the uninterrupted one');
    await assert.rejects(dalle(...fineTune, '--out', join(dir, 'ft-r'), '--code-noise-ramp', '100'), (e: Error) => e instanceof UserError && /--code-noise-ramp 100 raises the code noise to --code-noise, which is 0/.test(e.message));
    await assert.rejects(dalle(...fineTune, '--out', join(dir, 'ft-x'), '--config', 'tiny'), (e: Error) => e instanceof UserError && /--init .* fixes the architecture; leave out --config/.test(e.message));
    await assert.rejects(dalle('train', '--data', data, '--out', join(dir, 'ft-y')), (e: Error) => e instanceof UserError && /give the dVAE \(--vae\) and the tokenizer \(--tokenizer\), or a trained model to start from \(--init\)/.test(e.message));
  });

  it('fine-tunes on augmented copies (--shift, --flip), encoded once beside the plain codes, and resumes exactly', async () => {
    const base = join(dir, 'dalle');
    const args = ['train', '--init', base, '--data', data, '--steps', '4', '--batch', '8', '--warmup', '1', '--eval-every', '2', '--sample-every', '4', '--checkpoint-every', '2', '--seed', '6', '--shift', '1', '--flip', '--variants', '3'];
    assert.match(await dalle(...args, '--out', join(dir, 'ft-aug')), /^trained 4 steps/);
    const state = JSON.parse(readFileSync(join(dir, 'ft-aug', 'checkpoint', 'state.json'), 'utf8'));
    assert.deepEqual([state.train.shift, state.train.flip, state.train.variants], [1, true, 3]);
    const table = (run: string) => readdirSync(run).filter((f) => f.endsWith('.i32')).map((f) => [f, readFileSync(join(run, f))] as const);
    const [[name, codes]] = table(join(dir, 'ft-aug')) as [[string, Buffer]];
    const [[plainName, plain]] = table(base) as [[string, Buffer]];
    assert.equal(name, plainName.replace('.i32', '-x3.i32'));
    assert.equal(codes.length, 3 * plain.length);
    assert.ok(codes.subarray(0, plain.length).equals(plain), 'the augmented table does not start with the plain codes');
    await trainDalle({ data, out: join(dir, 'ft-aug-b'), options: { init: base, steps: 4, batchSize: 8, warmup: 1, evalEvery: 2, sampleEvery: 4, checkpointEvery: 2, seed: 6, shift: 1, flip: true, variants: 3 }, until: 2, ...quiet });
    await assert.rejects(dalle('train', '--resume', '--out', join(dir, 'ft-aug-b'), '--data', data, '--shift', '2'), (e: Error) => e instanceof UserError && /shift 1, not 2/.test(e.message));
    assert.match(await dalle('train', '--resume', '--out', join(dir, 'ft-aug-b'), '--data', data), /^trained 4 steps/);
    const weights = (run: string) => readFileSync(join(run, 'checkpoint', 'model.safetensors'));
    assert.ok(weights(join(dir, 'ft-aug')).equals(weights(join(dir, 'ft-aug-b'))), 'the resumed augmented fine-tune differs from the uninterrupted one');
  });

  it('refits the decoder of a trained dVAE on its hard codes (--decoder-only), resumes exactly, and export ships it with the transformer', async () => {
    const base = join(dir, 'vae');
    const weights = (run: string) => readFileSync(join(run, 'checkpoint', 'model.safetensors'));
    const refit = ['train-vae', '--init', base, '--decoder-only', '--data', data, '--steps', '30', '--batch', '8', '--lr', '3e-3', '--warmup', '2', '--checkpoint-every', '15', '--sample-every', '30', '--seed', '6'];
    await dalle(...refit, '--out', join(dir, 'vae-dec'));
    const [before, after] = [await loadDvae(base), await loadDvae(join(dir, 'vae-dec'))];
    assert.equal(maxAbsDifference(weightsOf(before.params.encoder), weightsOf(after.params.encoder)), 0, 'the encoder moved');
    assert.ok(maxAbsDifference(weightsOf(before.params.decoder), weightsOf(after.params.decoder)) > 1e-3, 'the decoder did not train');
    const hardPsnr = async (model: string) => JSON.parse(await dalle('eval-vae', '--model', model, '--data', data, '--split', 'train')).psnrHard as number;
    const [psnrBefore, psnrAfter] = [await hardPsnr(base), await hardPsnr(join(dir, 'vae-dec'))];
    assert.ok(psnrAfter > psnrBefore + 0.5, `hard PSNR ${psnrBefore.toFixed(2)} → ${psnrAfter.toFixed(2)} dB`);
    await trainDvae({ data, out: join(dir, 'vae-dec-b'), options: { init: base, decoderOnly: true, steps: 30, batchSize: 8, lr: 3e-3, warmup: 2, checkpointEvery: 15, sampleEvery: 30, seed: 6 }, until: 15, ...quiet });
    assert.match(await dalle('train-vae', '--resume', '--out', join(dir, 'vae-dec-b'), '--data', data), /^trained 30 steps/);
    assert.ok(weights(join(dir, 'vae-dec')).equals(weights(join(dir, 'vae-dec-b'))), 'the resumed refit differs from the uninterrupted one');

    // The transformer trained on `base` ships with the refit decoder: same codes, the new decoder's pixels.
    await dalle('export', '--model', join(dir, 'dalle'), '--vae', join(dir, 'vae-dec'), '--dtype', 'f32', '--out', join(dir, 'with-refit'));
    const shipped = await loadDalle(join(dir, 'with-refit'));
    assert.equal(maxAbsDifference(weightsOf(after.params), weightsOf(shipped.dvae.params)), 0);
    await dalle('generate', 'a star', '--model', join(dir, 'with-refit'), '--n', '1', '--out', join(dir, 'g-refit'));
    assert.ok(existsSync(join(dir, 'g-refit', 'a-star-000.png')));

    // Without --decoder-only, --init trains the whole dVAE on from there: its codes move, and export refuses it.
    await dalle('train-vae', '--init', base, '--data', data, '--steps', '3', '--batch', '8', '--warmup', '1', '--out', join(dir, 'vae-ft'));
    await assert.rejects(dalle('export', '--model', join(dir, 'dalle'), '--vae', join(dir, 'vae-ft'), '--out', join(dir, 'x')),
      (e: Error) => e instanceof UserError && /vae-ft: its encoder differs from the one .* was trained on \(encoder\.blocks\.input\.w\)/.test(e.message));
    await assert.rejects(dalle('train-vae', '--decoder-only', '--data', data, '--out', join(dir, 'x')), (e: Error) => e instanceof UserError && /--decoder-only refits the decoder of a trained dVAE; give that dVAE with --init/.test(e.message));
    await assert.rejects(dalle(...refit, '--out', join(dir, 'x'), '--config', 'tiny'), (e: Error) => e instanceof UserError && /--init .* fixes the architecture; leave out --config/.test(e.message));
  });

  it('generates reproducibly from a seed, writes PNGs, a grid and a JSON record', async () => {
    const model = join(dir, 'dalle');
    await dalle('generate', 'a small red circle', '--model', model, '--n', '3', '--seed', '5', '--out', join(dir, 'g1'));
    await dalle('generate', 'a small red circle', '--model', model, '--n', '3', '--seed', '5', '--out', join(dir, 'g2'));
    await dalle('generate', 'a small red circle', '--model', model, '--n', '3', '--seed', '6', '--out', join(dir, 'g3'));
    const png = (d: string) => readFileSync(join(dir, d, 'a-small-red-circle-000.png'));
    assert.ok(png('g1').equals(png('g2')), 'same seed, different image');
    const all = (d: string) => [0, 1, 2].map((i) => readFileSync(join(dir, d, `a-small-red-circle-00${i}.png`)).toString('base64')).join();
    assert.notEqual(all('g1'), all('g3'), 'another seed gave the same three images');
    const record = JSON.parse(readFileSync(join(dir, 'g1', 'generation.json'), 'utf8'));
    assert.equal(record.settings.seed, 5);
    assert.equal(record.images.length, 3);
    assert.ok(existsSync(join(dir, 'g1', 'grid.png')));
    // int8 decode weights: reproducible too, and recorded (they change the draws a seed gives).
    await dalle('generate', 'a small red circle', '--model', model, '--n', '3', '--seed', '5', '--int8', '--out', join(dir, 'g1-int8'));
    await dalle('generate', 'a small red circle', '--model', model, '--n', '3', '--seed', '5', '--int8', '--out', join(dir, 'g2-int8'));
    assert.equal(all('g1-int8'), all('g2-int8'), 'same seed with --int8, different images');
    assert.equal(JSON.parse(readFileSync(join(dir, 'g1-int8', 'generation.json'), 'utf8')).decodeWeights, 'int8');
    assert.equal(record.decodeWeights, undefined, 'float32 runs record nothing extra');
  });

  it('completes an image prompt, evaluates, and exports a float16 model that generates', async () => {
    const model = join(dir, 'dalle');
    await dalle('generate', 'a blue square', '--model', model, '--n', '2', '--image-prompt', join(data, '000000.png'), '--keep-rows', '2', '--out', join(dir, 'g4'));
    assert.ok(existsSync(join(dir, 'g4', 'a-blue-square-001.png')));
    // A mask redraws its white right half and keeps the dark left half: the kept cells decode as the prompt's.
    const size = 40;
    const mask = Buffer.alloc(size * size * 3);
    for (let i = 0; i < size * size; i++) if (i % size >= size / 2) mask.fill(255, i * 3, i * 3 + 3);
    await writePng(join(dir, 'mask.png'), { data: mask, shape: [size, size, 3] });
    await dalle('generate', 'a blue square', '--model', model, '--n', '2', '--image-prompt', join(data, '000000.png'), '--mask', join(dir, 'mask.png'), '--out', join(dir, 'g6'));
    const [a, b] = await Promise.all([0, 1].map((i) => decodeImage(join(dir, 'g6', `a-blue-square-00${i}.png`))));
    // The dVAE's decoder mixes neighbouring cells, so pixels of kept cells move a little; drawn cells move more.
    const width = a!.shape[1];
    const meanDiff = (left: boolean) => {
      let sum = 0, count = 0;
      a!.data.forEach((v, k) => {
        if ((Math.floor(k / 3) % width < width / 2) === left) (sum += Math.abs(v - b!.data[k]!)), count++;
      });
      return sum / count;
    };
    assert.ok(meanDiff(true) < 3 && meanDiff(true) < meanDiff(false) / 2, `kept half differs by ${meanDiff(true).toFixed(2)}, drawn half by ${meanDiff(false).toFixed(2)}`);
    const evaluation = JSON.parse(await dalle('eval', '--model', model, '--data', data, '--batch', '8'));
    for (const key of ['textNll', 'imageNll', 'bitsPerImageToken', 'imageNllShuffled']) assert.ok(Number.isFinite(evaluation[key]), key);
    await dalle('export', '--model', model, '--out', join(dir, 'exported'));
    await dalle('generate', 'a star', '--model', join(dir, 'exported'), '--n', '1', '--out', join(dir, 'g5'));
    assert.ok(existsSync(join(dir, 'g5', 'a-star-000.png')));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'exported', 'sampling.json'), 'utf8')), { temperature: 1, topK: 0, topP: 1, guidance: 1, rerank: 1 });
  });

  it('export records sampling settings that generate uses when none are given, and flags override them', async () => {
    const exported = join(dir, 'greedy');
    await dalle('export', '--model', join(dir, 'dalle'), '--out', exported, '--temperature', '0', '--top-k', '16', '--guidance', '1.5');
    assert.deepEqual(JSON.parse(readFileSync(join(exported, 'sampling.json'), 'utf8')), { temperature: 0, topK: 16, topP: 1, guidance: 1.5, rerank: 1 });
    const settingsOf = async (out: string, ...flags: string[]) => {
      await dalle('generate', 'a star', '--model', exported, '--n', '2', '--batch', '1', '--out', join(dir, out), ...flags);
      return JSON.parse(readFileSync(join(dir, out, 'generation.json'), 'utf8')).settings;
    };
    assert.deepEqual(await settingsOf('d1'), { n: 2, seed: 0, temperature: 0, guidance: 1.5, batchSize: 1, topK: 16 });
    // Greedy from the model's defaults: both batches (different seeds) draw the same image.
    assert.ok(readFileSync(join(dir, 'd1', 'a-star-000.png')).equals(readFileSync(join(dir, 'd1', 'a-star-001.png'))));
    assert.deepEqual(await settingsOf('d2', '--temperature', '0.5', '--top-k', '0'), { n: 2, seed: 0, temperature: 0.5, guidance: 1.5, batchSize: 1 });
    writeFileSync(join(exported, 'sampling.json'), JSON.stringify({ temperature: -1, topk: 3 }));
    await assert.rejects(dalle('generate', 'a star', '--model', exported, '--out', join(dir, 'x')),
      (e: Error) => e instanceof UserError && /sampling\.json: .*temperature: .*>=0/.test(e.message) && /topk/.test(e.message));
  });

  it('trains a contrastive reranker (resuming exactly), evaluates its retrieval, and generate keeps the best candidates by it', async () => {
    const run = { data, tokenizer, vae: join(dir, 'vae'), config: CLIP_PRESETS.tiny!, options: { steps: 12, batchSize: 16, warmup: 2, evalEvery: 6, checkpointEvery: 6, seed: 2 }, ...quiet };
    const full = await trainClip({ ...run, out: join(dir, 'clip') });
    assert.ok(full.retrieval && full.retrieval.textToImageR5 >= full.retrieval.textToImageR1);
    assert.ok(existsSync(join(dir, 'clip', 'retrieval', 'step-000012.png')));
    await trainClip({ ...run, out: join(dir, 'clip-b'), until: 6 });
    await trainClip({ ...run, out: join(dir, 'clip-b'), resume: true });
    const weights = (d: string) => readFileSync(join(dir, d, 'checkpoint', 'model.safetensors'));
    assert.ok(weights('clip').equals(weights('clip-b')), 'resumed reranker weights differ from the uninterrupted run');

    // Augmented through the CLI: the options are kept with the run, the images it learns from change, and an
    // interrupted run resumes to the same weights (every shift and mirror derives from the seed and step).
    await dalle('train-clip', '--tokenizer', tokenizer, '--data', data, '--vae', join(dir, 'vae'), '--config', 'tiny', '--out', join(dir, 'clip-aug'),
      '--steps', '12', '--batch', '16', '--warmup', '2', '--eval-every', '6', '--checkpoint-every', '6', '--seed', '2', '--shift', '1', '--flip');
    const augState = JSON.parse(readFileSync(join(dir, 'clip-aug', 'checkpoint', 'state.json'), 'utf8'));
    assert.equal(augState.train.shift, 1);
    assert.equal(augState.train.flip, true);
    assert.ok(!weights('clip-aug').equals(weights('clip')), 'shifted and mirrored images trained the same weights as plain ones');
    const augmented = { ...run, options: { ...run.options, shift: 1, flip: true } };
    await trainClip({ ...augmented, out: join(dir, 'clip-aug-b'), until: 6 });
    await trainClip({ ...augmented, out: join(dir, 'clip-aug-b'), resume: true });
    assert.ok(weights('clip-aug').equals(weights('clip-aug-b')), 'resumed augmented reranker weights differ from the uninterrupted run');
    const retrieval = JSON.parse(await dalle('eval-clip', '--model', join(dir, 'clip'), '--data', data));
    for (const key of ['textToImageR1', 'textToImageR5', 'imageToTextR1', 'imageToTextR5']) assert.ok(retrieval[key] >= 0 && retrieval[key] <= 1, key);

    // --rerank 3 draws 6 candidates and keeps the 2 the reranker scores highest, best first.
    const model = join(dir, 'dalle');
    await dalle('generate', 'a small red circle', '--model', model, '--n', '6', '--seed', '5', '--out', join(dir, 'r-all'));
    await dalle('generate', 'a small red circle', '--model', model, '--reranker', join(dir, 'clip'), '--n', '2', '--rerank', '3', '--seed', '5', '--out', join(dir, 'r-best'));
    const candidates = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => decodeImage(join(dir, 'r-all', `a-small-red-circle-00${i}.png`))));
    const scores = await clipScorer(await loadClip(join(dir, 'clip'))).score('a small red circle', candidates);
    const best = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, 2);
    const record = JSON.parse(readFileSync(join(dir, 'r-best', 'generation.json'), 'utf8'));
    assert.deepEqual(record.images.map((i: { index: number }) => i.index), best);
    record.images.forEach((img: { score: number }, k: number) => assert.ok(Math.abs(img.score - scores[best[k]!]!) < 1e-5));
    assert.equal(record.settings.rerank, 3);
    assert.match(record.reranker, /clip/);

    // Exported with the reranker and a default rerank, the model folder reranks on its own.
    await dalle('export', '--model', model, '--reranker', join(dir, 'clip'), '--rerank', '2', '--out', join(dir, 'with-clip'));
    assert.ok(existsSync(join(dir, 'with-clip', 'clip', 'model.safetensors')));
    await dalle('generate', 'a star', '--model', join(dir, 'with-clip'), '--n', '2', '--out', join(dir, 'r-default'));
    const reranked = JSON.parse(readFileSync(join(dir, 'r-default', 'generation.json'), 'utf8'));
    assert.equal(reranked.images.length, 2);
    assert.ok(reranked.images[0].score >= reranked.images[1].score);
    await assert.rejects(dalle('generate', 'a star', '--model', model, '--rerank', '2', '--out', join(dir, 'x')),
      (e: Error) => e instanceof UserError && /needs a contrastive model/.test(e.message));
    await assert.rejects(dalle('export', '--model', model, '--rerank', '2', '--out', join(dir, 'x')), (e: Error) => e instanceof UserError && /--reranker/.test(e.message));
    await assert.rejects(dalle('generate', 'a star', '--model', model, '--reranker', join(dir, 'vae'), '--out', join(dir, 'x')),
      (e: Error) => e instanceof UserError && /a dvae model, not a contrastive reranker/.test(e.message));
  });

  it('answers user mistakes with one clear message', async () => {
    const model = join(dir, 'dalle');
    await assert.rejects(dalle('generate', '   ', '--model', model, '--out', join(dir, 'x')), (e: Error) => e instanceof UserError && /empty prompt/.test(e.message));
    await assert.rejects(dalle('generate', 'a cat', '--model', join(dir, 'nothing-here')), (e: Error) => e instanceof UserError && /no such model folder/.test(e.message));
    writeFileSync(join(dir, 'wide.png'), readFileSync(join(dir, 'g1', 'grid.png')));
    await assert.rejects(dalle('generate', 'a cat', '--model', model, '--image-prompt', join(dir, 'wide.png'), '--keep-rows', '1', '--out', join(dir, 'x')),
      (e: Error) => e instanceof UserError && /not square/.test(e.message));
    await assert.rejects(dalle('generate', 'a cat', '--model', model, '--image-prompt', join(data, '000000.png'), '--keep-rows', '1', '--mask', join(dir, 'mask.png'), '--out', join(dir, 'x')),
      (e: Error) => e instanceof UserError && /either --keep-rows R .* or --mask PNG/.test(e.message));
    await assert.rejects(dalle('generate', 'a cat', '--model', model, '--mask', join(dir, 'mask.png'), '--out', join(dir, 'x')), (e: Error) => e instanceof UserError && /--image-prompt/.test(e.message));
    await assert.rejects(dalle('generate', 'a cat', '--model', join(dir, 'vae')), (e: Error) => e instanceof UserError && /vae|DALL·E/.test(e.message));
    await assert.rejects(dalle('train-vae', '--data', data, '--out', join(dir, 'v3'), '--config', 'tiny', '--tau-end', '0'),
      (e: Error) => e instanceof UserError && /train-vae options: tauEnd/.test(e.message));
    await assert.rejects(dalle('train-vae', '--data', data, '--out', join(dir, 'v2'), '--config', 'huge'), (e: Error) => e instanceof UserError && /not a preset/.test(e.message));
    await assert.rejects(dalle('train', '--vae', join(dir, 'vae'), '--tokenizer', tokenizer, '--data', data, '--out', join(dir, 'd3'), '--balance', '0'),
      (e: Error) => e instanceof UserError && /--balance must be image, group or a positive integer, got "0"/.test(e.message));
  });
});
