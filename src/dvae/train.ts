// Training the dVAE: Gumbel-softmax with τ annealed by a cosine, β (KL weight) rising by a cosine, AdamW with
// cosine learning-rate decay, weight EMA; progress with loss, reconstruction, KL, τ, β, codes in use and
// img/s; periodic checkpoints and sample grids (original | soft reconstruction | hard reconstruction);
// `resume` continues exactly (weights, moments, EMA, step, RNG; the data order depends only on seed and step).
// `init` starts from a trained dVAE; with `decoderOnly` only its decoder trains, on the encoder's hard codes.
import { join } from 'node:path';
import { loadCheckpoint } from '../io/checkpoint.ts';
import { type RgbImage, batchImage, fromNchwFloat, toNchwFloat } from '../io/images.ts';
import { writeGrid } from '../io/grid.ts';
import { type ImageCache } from '../data/cache.ts';
import { ensureCache } from '../train/data.ts';
import { batchOfEpoch } from '../data/batches.ts';
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { Trainer } from '../optim/trainer.ts';
import { cosineAnneal, warmupCosine } from '../optim/schedule.ts';
import { Progress } from '../util/progress.ts';
import { UserError, parseUserInput } from '../errors.ts';
import { checkpointDir, paramsFromNamed, restoreTrainer, resumedOptions, saveTrainer, shapesOf, templateRng, type TrainingState } from '../train/checkpoint.ts';
import { type DvaeConfig, DvaeConfigSchema, gridSize } from './config.ts';
import { type DvaeParams, codesToOneHot, decode, encode, initDvae, mapPixels, reconstruct } from './model.ts';
import { type DvaeBatch, type HardCodeBatch, dvaeLoss, hardCodeDecoderLoss } from './loss.ts';
import { dvaeFromParams, loadDvae } from './load.ts';
import { encodeCache } from '../dalle/codes.ts';
import { z } from 'zod';

export const DvaeTrainSchema = z.object({
  steps: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  lr: z.number().positive().default(1e-3),
  lrFinal: z.number().nonnegative().default(1.25e-5),
  warmup: z.number().int().nonnegative().default(100),
  weightDecay: z.number().nonnegative().default(1e-4),
  tauStart: z.number().positive().default(1),
  tauEnd: z.number().positive().default(1 / 16),
  /** Steps over which τ anneals (paper: 150k of 3M updates; scaled to the run by default). */
  tauSteps: z.number().int().positive().optional(),
  betaFinal: z.number().nonnegative().default(6.6),
  betaSteps: z.number().int().positive().optional(),
  straightThrough: z.boolean().default(false),
  /** Weight of the codebook diversity term (loss.ts `diversityGap`). */
  diversity: z.number().nonnegative().default(0),
  /** Start from this trained dVAE (a dVAE run or checkpoint folder, or a DALL·E model folder's dVAE): its
   *  architecture and weights, with fresh schedules and optimizer. */
  init: z.string().optional(),
  /** Train only the decoder, on the hard codes of the (frozen) encoder: loss.ts `hardCodeDecoderLoss`.
   *  Needs `init`. τ, β, the diversity term and straight-through do not apply. */
  decoderOnly: z.boolean().default(false),
  emaDecay: z.number().min(0).max(1).default(0.999),
  seed: z.number().int().default(0),
  checkpointEvery: z.number().int().positive().default(500),
  sampleEvery: z.number().int().positive().default(500),
});
export type DvaeTrainOptions = z.input<typeof DvaeTrainSchema>;

export interface DvaeRunState extends TrainingState {
  train: z.infer<typeof DvaeTrainSchema>;
  data: string;
}

const hyperAt = (step: number, o: z.infer<typeof DvaeTrainSchema>) => ({
  lr: warmupCosine(step, { peak: o.lr, warmup: o.warmup, total: o.steps, final: o.lrFinal }),
  tau: cosineAnneal(step, o.tauStart, o.tauEnd, o.tauSteps ?? Math.max(1, Math.round(o.steps * 0.6))),
  // β rises from 0 to its final value: 1 − cosine decay from 1 to 0.
  beta: o.betaFinal * (1 - cosineAnneal(step, 1, 0, o.betaSteps ?? Math.max(1, Math.round(o.steps * 0.2)))),
});

export interface DvaeTrainRun {
  out: string;
  data: string;
  config?: DvaeConfig;
  /** Validated by the schema. On resume `steps` may set a new total; any other option given must equal the run's own. */
  options?: Partial<DvaeTrainOptions>;
  resume?: boolean;
  log?: (line: string) => void;
  progress?: boolean;
  /** Stop after this step as if interrupted (schedules still span `steps`); for tests of --resume. */
  until?: number;
}

/** Reconstructions for a grid: the batch, its soft (Gumbel, τ) and hard (argmax) reconstructions. */
export function makeReconstructor(c: DvaeConfig) {
  return T.compile((p: DvaeParams<Tensor>, images: Tensor, gumbel: Tensor, tau: Tensor) => {
    const logits = encode(p.encoder, mapPixels(images), c);
    const soft = reconstruct(decode(p.decoder, T.softmax(T.div(T.add(logits, gumbel), tau), 1), c), c);
    const hard = reconstruct(decode(p.decoder, codesToOneHot(T.argmax(logits, 1), c), c), c);
    return { soft, hard };
  }, { name: 'dvae_reconstruct' });
}

export async function trainDvae(run: DvaeTrainRun): Promise<{ step: number; trained: number; loss: number }> {
  const log = run.log ?? ((line: string) => process.stderr.write(line + '\n'));
  let config: DvaeConfig;
  let opts: z.infer<typeof DvaeTrainSchema>;
  let startStep = 0;
  let rng: T.Rng;
  let resumeFrom = null;
  let params: DvaeParams;
  if (run.resume) {
    resumeFrom = await loadCheckpoint<DvaeConfig, DvaeRunState>(checkpointDir(run.out), { configSchema: DvaeConfigSchema as never, expectedShapes: (c) => shapesOf(initDvae(templateRng(), c)) });
    if (!resumeFrom.state) throw new UserError(`${checkpointDir(run.out)}: no training state to resume from (state.json)`);
    config = resumeFrom.config;
    opts = resumedOptions(DvaeTrainSchema, resumeFrom.state.train, run.options, checkpointDir(run.out));
    startStep = resumeFrom.state.step;
    rng = new T.Rng(resumeFrom.state.rng);
    // The saved weights, so that frozen parameters (--decoder-only's encoder) come back; restoreTrainer puts
    // the trained ones' raw values and moments back over them.
    params = paramsFromNamed(initDvae(templateRng(), config), resumeFrom.weights, `${checkpointDir(run.out)}/model.safetensors`);
  } else {
    opts = parseUserInput(DvaeTrainSchema, run.options ?? {}, 'train-vae options');
    if (opts.decoderOnly && opts.init === undefined) throw new UserError('train-vae: --decoder-only refits the decoder of a trained dVAE; give that dVAE with --init');
    if (opts.init !== undefined) {
      if (run.config) throw new UserError(`train-vae: --init ${opts.init} fixes the architecture; leave out --config`);
      ({ config, params } = await loadDvae(opts.init));
    } else {
      if (!run.config) throw new UserError('train-vae: no config given');
      config = parseUserInput(DvaeConfigSchema, run.config, 'train-vae config');
      params = initDvae(new T.Rng(opts.seed + 1), config);
    }
    rng = new T.Rng(opts.seed);
  }
  const { cache, path: cachePath } = await ensureCache(run.data, config.imageSize, run.out, log);
  const trainCount = cache.indicesOf('train').length;
  if (trainCount < opts.batchSize) throw new UserError(`${run.data}: ${trainCount} training images, fewer than one batch of ${opts.batchSize}`);

  // The decoder's refit reads each image's codes, encoded once by the frozen encoder (and kept in the run
  // folder for --resume), and draws no Gumbel noise.
  const codeTable = opts.decoderOnly
    ? await encodeCache(dvaeFromParams(config, params), cache, run.out, `${opts.init}|${cachePath}|${cache.count}`, { silent: run.progress === false })
    : null;
  type Input = DvaeBatch | HardCodeBatch;
  const loss = opts.decoderOnly
    ? (p: DvaeParams<Tensor>, b: Input) => hardCodeDecoderLoss(p, b as HardCodeBatch, config)
    : (p: DvaeParams<Tensor>, b: Input) => dvaeLoss(p, b as DvaeBatch, config, { straightThrough: opts.straightThrough, diversity: opts.diversity });
  const trainer = new Trainer<Input>(loss, params, {
    adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: opts.weightDecay, decays: (_, shape) => shape.length === 4 },
    emaDecay: opts.emaDecay,
    ...(opts.decoderOnly && { trainable: (path: string) => path.startsWith('decoder.') }),
  });
  if (opts.init !== undefined) log(`train-vae: from ${opts.init}${opts.decoderOnly ? ', the decoder only, on the frozen encoder\'s hard codes (every code stays as it was)' : ''}`);
  if (resumeFrom) restoreTrainer(trainer, resumeFrom, startStep);

  const g = gridSize(config);
  const stepsPerEpoch = Math.floor(trainCount / opts.batchSize);
  const batchAt = (step: number) =>
    batchOfEpoch(cache, { batchSize: opts.batchSize, seed: opts.seed, epoch: Math.floor(step / stepsPerEpoch), split: 'train', dropLast: true }, step % stepsPerEpoch)!;

  const sampleImages = fixedSampleBatch(cache, Math.min(8, cache.count));
  const reconstructor = makeReconstructor(config);
  const writeSamples = async (step: number) => {
    const p = trainer.ema ?? trainer.params;
    const images = new T.NDArray(sampleImages.data, sampleImages.shape);
    const { tau } = hyperAt(step, opts);
    const r = await reconstructor(p, images, new T.Rng(step).gumbel([sampleImages.shape[0], config.vocab, g, g]), T.NDArray.scalar(tau));
    const rows: RgbImage[] = [];
    const toRgb = (a: T.NDArray) => fromNchwFloat({ data: a.data as Float32Array, shape: a.shape as [number, 3, number, number] });
    for (const batch of [images, r.soft, r.hard]) {
      const rgb = toRgb(batch);
      for (let i = 0; i < rgb.shape[0]; i++) rows.push(batchImage(rgb, i));
    }
    const path = join(run.out, 'samples', `step-${String(step).padStart(6, '0')}.png`);
    await writeGrid(path, rows, { columns: sampleImages.shape[0], scale: Math.max(1, Math.floor(128 / config.imageSize)) });
    log(`samples: ${path} (rows: original, soft reconstruction, hard reconstruction)`);
  };

  const save = async (step: number) => {
    const state: DvaeRunState = { step, rng: rng.state(), train: opts, data: run.data };
    await saveTrainer(checkpointDir(run.out), config, trainer, state);
  };

  const progress = new Progress('train-vae', opts.steps, { unit: 'steps', start: startStep, silent: run.progress === false });
  let last = { loss: NaN };
  const stopAt = Math.min(opts.steps, run.until ?? opts.steps);
  for (let step = startStep; step < stopAt; step++) {
    const batch = batchAt(step);
    const h = hyperAt(step, opts);
    const nchw = toNchwFloat(batch.images);
    const images = new T.NDArray(nchw.data, nchw.shape) as never;
    const input: Input = codeTable
      ? { images, codes: T.NDArray.int64(batch.indices.flatMap((i) => [...codeTable.codes.subarray(i * codeTable.cells, (i + 1) * codeTable.cells)]), [opts.batchSize, g, g]) as never }
      : { images, gumbel: rng.gumbel([opts.batchSize, config.vocab, g, g]) as never, tau: T.NDArray.scalar(h.tau) as never, beta: T.NDArray.scalar(h.beta) as never };
    const t0 = performance.now();
    const r = await trainer.trainStep(input, h.lr);
    if (!Number.isFinite(r.loss)) throw new Error(`train-vae: the loss became ${r.loss} at step ${step + 1}; lower --lr`);
    last = r;
    const relaxed: Record<string, string> = opts.decoderOnly ? {} : { kl: r.metrics.kl!.toFixed(4), div: r.metrics.diversity!.toFixed(3), tau: h.tau.toFixed(3), beta: h.beta.toFixed(2) };
    progress.set({ loss: r.loss.toFixed(4), rec: r.metrics.rec!.toFixed(4), ...relaxed, codes: `${r.metrics.codesUsed}/${config.vocab}`, 'img/s': (opts.batchSize / ((performance.now() - t0) / 1000)).toFixed(1) });
    progress.tick(1);
    const done = step + 1;
    if (done % opts.sampleEvery === 0 || done === opts.steps) await writeSamples(done);
    if (done % opts.checkpointEvery === 0 || done === opts.steps) await save(done);
  }
  progress.done();
  return { step: stopAt, trained: Math.max(0, stopAt - startStep), loss: last.loss };
}

/** The first images of the validation split (or of the cache), NCHW float, for sample grids. */
function fixedSampleBatch(cache: ImageCache, n: number): { data: Float32Array; shape: [number, number, number, number] } {
  const val = cache.indicesOf('val');
  const indices = (val.length >= n ? val : cache.indicesOf('all')).slice(0, n);
  const b = toNchwFloat(cache.batch(indices));
  return { data: b.data, shape: b.shape as [number, number, number, number] };
}
