// `dalle train`: stage 2. Images are encoded once by the dVAE (codes.ts); each step draws a batch in an order
// fixed by (seed, step), picks a caption per image at random, tokenises it with BPE dropout, replaces it by
// padding with the caption-dropout probability (for classifier-free guidance), and runs one compiled AdamW
// step (clipping at norm 4, linear warm-up then cosine decay or halving on a plateau, EMA, optional
// gradient accumulation). Every `evalEvery` steps: validation text NLL, image NLL, bits per image token and
// the image NLL with captions shuffled across the batch; every `sampleEvery` steps a grid of samples for
// fixed validation captions. Checkpoints hold the transformer, the dVAE (under `vae.`) and the tokenizer,
// and `resume` continues exactly. `init` fine-tunes: the weights (and, unless given, the dVAE and tokenizer)
// of a trained model, with a fresh optimizer and schedule; a tokenizer that extends the model's grows its text
// vocabulary (vocab.ts). `codeNoise` corrupts the codes the model reads (`codeNoiseRamp`: rising to it); `shift` and `flip` train on
// augmented copies of the images, encoded once beside the plain codes.
import { join } from 'node:path';
import { z } from 'zod';
import { BalanceSchema, describeEpoch, epochLength, epochOrder } from '../data/batches.ts';
import { AugmentFlagsSchema, describeFlags, flagsAugment } from '../data/augment.ts';
import { loadCheckpoint } from '../io/checkpoint.ts';
import { writeGrid } from '../io/grid.ts';
import { batchImage, fromNchwFloat } from '../io/images.ts';
import { Trainer } from '../optim/trainer.ts';
import { HalveOnPlateau, warmupCosine } from '../optim/schedule.ts';
import * as T from '../tensor/index.ts';
import { type BpeTokenizer, loadTokenizer } from '../tokenizer/index.ts';
import { UserError, parseUserInput } from '../errors.ts';
import { Progress } from '../util/progress.ts';
import { gridSize } from '../dvae/config.ts';
import { type Dvae, loadDvae } from '../dvae/load.ts';
import { initDvae } from '../dvae/model.ts';
import { loadDalle } from './load.ts';
import { checkpointDir, restoreTrainer, resumedOptions, saveTrainer, shapesOf, templateRng, type TrainingState, weightsOf } from '../train/checkpoint.ts';
import { ensureCache } from '../train/data.ts';
import { encodeCache } from './codes.ts';
import { type DalleConfig, DalleConfigSchema, imageTokens, sequenceLength } from './config.ts';
import { type DalleBatch, type DalleParams, dalleLoss, initDalle } from './model.ts';
import { growTextVocab } from './vocab.ts';
import { DalleSampler } from './sample.ts';
import { encodeCaption } from './text.ts';
import { Examples, type Validation, makeEvaluator, validationNll } from './eval.ts';

export const DalleTrainSchema = z.object({
  steps: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  accumulate: z.number().int().positive().default(1),
  lr: z.number().positive().default(1e-3),
  lrFinal: z.number().nonnegative().default(1e-5),
  warmup: z.number().int().nonnegative().default(200),
  schedule: z.enum(['cosine', 'plateau']).default('cosine'),
  weightDecay: z.number().nonnegative().default(4.5e-2),
  clipNorm: z.number().positive().default(4),
  emaDecay: z.number().min(0).max(1).default(0.999),
  bpeDropout: z.number().min(0).max(1).default(0.1),
  /** Fraction of the image codes the model reads replaced by a random cell's code (eval.ts Examples). */
  codeNoise: z.number().min(0).max(0.5).default(0),
  /** Updates over which the code noise rises linearly to `codeNoise` (0: at full strength from the first). */
  codeNoiseRamp: z.number().int().nonnegative().default(0),
  /** Augmentation: each image is also encoded as `variants − 1` copies shifted by up to `shift` pixels and,
   *  with `flip`, mirrored at random where its captions allow (data/augment.ts); a step reads one copy. */
  ...AugmentFlagsSchema.shape,
  variants: z.number().int().min(2).max(64).default(8),
  /** The trained transformer whose weights the run started from (fine-tuning), if any. */
  init: z.string().optional(),
  /** What an epoch visits: every image, one image or at most n of each group (data/batches.ts). */
  balance: BalanceSchema,
  seed: z.number().int().default(0),
  evalEvery: z.number().int().positive().default(500),
  evalBatches: z.number().int().positive().default(8),
  sampleEvery: z.number().int().positive().default(1000),
  checkpointEvery: z.number().int().positive().default(500),
});
export type DalleTrainOptions = z.input<typeof DalleTrainSchema>;

export interface DalleRunState extends TrainingState {
  train: z.infer<typeof DalleTrainSchema>;
  plateau?: ReturnType<HalveOnPlateau['toJSON']>;
}

export interface DalleTrainRun {
  out: string;
  data: string;
  /** The dVAE and tokenizer; either may be left out with `options.init`, which then supplies it. */
  vae?: string;
  tokenizer?: string;
  /** Architecture: textVocab, imageVocab, grid and vae are filled in from the tokenizer and the dVAE. */
  config?: DalleConfig;
  /** Validated by the schema. On resume `steps` may set a new total; any other option given must equal the run's own. */
  options?: Partial<DalleTrainOptions>;
  resume?: boolean;
  log?: (line: string) => void;
  progress?: boolean;
  /** Stop after this step as if interrupted (schedules still span `steps`); for tests of --resume. */
  until?: number;
}


export async function trainDalle(run: DalleTrainRun): Promise<{ step: number; trained: number; loss: number; validation: Validation | null }> {
  const log = run.log ?? ((line: string) => process.stderr.write(line + '\n'));

  let config: DalleConfig;
  let initParams: DalleParams | undefined;
  let opts: z.infer<typeof DalleTrainSchema>;
  let startStep = 0;
  let rng: T.Rng;
  let plateau: HalveOnPlateau | null = null;
  let resumeFrom = null;
  if (run.resume) {
    resumeFrom = await loadCheckpoint<DalleConfig, DalleRunState>(checkpointDir(run.out), {
      configSchema: DalleConfigSchema as never,
      expectedShapes: (c) => new Map([...shapesOf(initDalle(templateRng(), c)), ...(c.vae ? [...shapesOf(initDvae(templateRng(), c.vae))].map(([k, v]) => [`vae.${k}`, v] as const) : [])]),
    });
    if (!resumeFrom.state) throw new UserError(`${checkpointDir(run.out)}: no training state to resume from (state.json)`);
    opts = resumedOptions(DalleTrainSchema, resumeFrom.state.train, run.options, checkpointDir(run.out));
  } else {
    opts = parseUserInput(DalleTrainSchema, run.options ?? {}, 'train options');
  }
  if (opts.codeNoiseRamp > 0 && opts.codeNoise === 0) throw new UserError(`train: --code-noise-ramp ${opts.codeNoiseRamp} raises the code noise to --code-noise, which is 0; give --code-noise P`);
  // Fine-tuning: the trained model's weights to start from, and its dVAE and tokenizer unless others are given.
  const init = opts.init !== undefined ? await loadDalle(opts.init) : null;
  const vaeSource = run.vae ?? (init && `${init.dir}/model.safetensors (vae.)`);
  const tokenizerFile = run.tokenizer ?? (init && join(init.dir, 'tokenizer.json'));
  if (!vaeSource || !tokenizerFile) throw new UserError('train: give the dVAE (--vae) and the tokenizer (--tokenizer), or a trained model to start from (--init)');
  const dvae = run.vae ? await loadDvae(run.vae) : init!.dvae;
  const tokenizer = loadTokenizer(tokenizerFile);
  const textVocab = tokenizer.parts.vocab.length;
  if (resumeFrom) {
    config = resumeFrom.config;
    startStep = resumeFrom.state!.step;
    rng = new T.Rng(resumeFrom.state!.rng);
    if (resumeFrom.state!.plateau) plateau = HalveOnPlateau.fromJSON(resumeFrom.state!.plateau);
  } else if (init) {
    if (run.config) throw new UserError(`train: --init ${opts.init} fixes the architecture; leave out --config`);
    ({ config, params: initParams } = textVocab === init.config.textVocab ? init : growTextVocab(init.params, init.config, init.tokenizer, tokenizer));
    if (config !== init.config) log(`text vocabulary grown from ${init.config.textVocab} to ${config.textVocab} tokens (${tokenizerFile}); the new ones start as the mean of their pieces`);
    if (JSON.stringify(dvae.config) !== JSON.stringify(init.config.vae)) throw new UserError(`${run.vae}: not the dVAE ${init.dir} was trained on (their configs differ); leave out --vae to use the model's own`);
    rng = new T.Rng(opts.seed);
  } else {
    if (!run.config) throw new UserError('train: no config given');
    config = DalleConfigSchema.parse({ ...run.config, textVocab, imageVocab: dvae.config.vocab, grid: gridSize(dvae.config), vae: dvae.config });
    rng = new T.Rng(opts.seed);
  }
  if (config.textVocab !== textVocab) throw new UserError(`${tokenizerFile}: ${textVocab} tokens, the model was built for ${config.textVocab}`);
  if (config.imageVocab !== dvae.config.vocab || config.grid !== gridSize(dvae.config)) {
    throw new UserError(`${vaeSource}: a ${gridSize(dvae.config)}×${gridSize(dvae.config)} grid of ${dvae.config.vocab} codes, the model was built for ${config.grid}×${config.grid} of ${config.imageVocab}`);
  }
  plateau ??= opts.schedule === 'plateau' ? new HalveOnPlateau(opts.lr, 2, opts.lrFinal) : null;

  const { cache, path: cachePath } = await ensureCache(run.data, dvae.config.imageSize, run.out, log);
  const augment = { ...flagsAugment(opts), variants: opts.variants };
  const codes = await encodeCache(dvae, cache, run.out, `${vaeSource}|${cachePath}|${cache.count}`, { silent: run.progress === false, augment });
  const examples = new Examples(cache, codes, tokenizer, config);
  const trainIndices = cache.indicesOf('train');
  const perUpdate = opts.batchSize * opts.accumulate;
  const perEpoch = epochLength(cache, 'train', opts.balance);
  if (perEpoch < perUpdate) throw new UserError(`${run.data}: ${describeEpoch(cache, 'train', opts.balance)} (--balance ${opts.balance}), fewer than one update of ${perUpdate}`);

  // A resumed run's weights, moments and EMA all come from its checkpoint: a template is enough to restore into.
  const trainer = dalleTrainer(config, opts, initParams ?? initDalle(resumeFrom ? templateRng() : new T.Rng(opts.seed + 1), config));
  if (resumeFrom) restoreTrainer(trainer, resumeFrom, startStep);

  // Data order: a permutation per epoch fixed by the seed; step s takes the next `perUpdate` images.
  const stepsPerEpoch = Math.floor(perEpoch / perUpdate);
  const indicesAt = (step: number): number[] => {
    const order = epochOrder(cache, { seed: opts.seed, epoch: Math.floor(step / stepsPerEpoch), split: 'train', balance: opts.balance });
    const start = (step % stepsPerEpoch) * perUpdate;
    return order.slice(start, start + perUpdate);
  };
  const dropoutMasks = (b: number) => config.dropout > 0
    ? { masks: Array.from({ length: config.layers }, () => ({ attn: rng.bernoulliMask([b, sequenceLength(config), config.dim], config.dropout), mlp: rng.bernoulliMask([b, sequenceLength(config), config.dim], config.dropout) })) }
    : undefined;

  const evaluate = makeEvaluator(config);
  const valIndices = cache.indicesOf('val');
  const validate = (): Promise<Validation | null> =>
    validationNll(evaluate, trainer.ema ?? trainer.params, examples, valIndices, { batchSize: opts.batchSize, maxBatches: opts.evalBatches, seed: opts.seed });

  const sampleCaptions = (valIndices.length ? valIndices : trainIndices).slice(0, 4).map((i) => cache.items[i]!.captions[0]!);
  const writeSamples = async (step: number) => {
    const images = await sampleGrid(config, trainer.ema ?? trainer.params, dvae, tokenizer, sampleCaptions, 2, step);
    const path = join(run.out, 'samples', `step-${String(step).padStart(6, '0')}.png`);
    await writeGrid(path, images.images, { columns: 2 * 2, captions: images.captions, scale: Math.max(1, Math.floor(96 / dvae.config.imageSize)) });
    log(`samples: ${path}`);
  };

  const save = async (step: number) => {
    const state: DalleRunState = { step, rng: rng.state(), train: opts, ...(plateau && { plateau: plateau.toJSON() }) };
    await saveTrainer(checkpointDir(run.out), config, trainer, state, { tokenizerFile, extraWeights: weightsOf(dvae.params, 'vae.') });
  };

  log(`dalle: ${init ? `from ${init.dir}, ` : ''}${config.layers} layers, dim ${config.dim}, ${config.textLength} text + ${imageTokens(config)} image tokens; ${trainIndices.length} training images${opts.balance === 'image' ? '' : `; ${describeEpoch(cache, 'train', opts.balance)}`}${(codes.variants ?? 1) > 1 ? `; ${codes.variants} versions of each image (${describeFlags(opts)})` : ''}${opts.codeNoise > 0 ? `; code noise ${opts.codeNoise}${opts.codeNoiseRamp > 0 ? ` from step ${opts.codeNoiseRamp}, rising from 0 before` : ''}` : ''}`);
  const progress = new Progress('train', opts.steps, { unit: 'steps', start: startStep, silent: run.progress === false });
  let lastLoss = NaN;
  let lastValidation: Validation | null = null;
  const tokensPerUpdate = perUpdate * sequenceLength(config);
  const stopAt = Math.min(opts.steps, run.until ?? opts.steps);
  for (let step = startStep; step < stopAt; step++) {
    const indices = indicesAt(step);
    const micro = Array.from({ length: opts.accumulate }, (_, m) => {
      const part = examples.batch(indices.slice(m * opts.batchSize, (m + 1) * opts.batchSize), opts.seed, step, { bpeDropout: opts.bpeDropout, captionDropout: config.captionDropout, codeNoise: codeNoiseAt(step, opts), augmented: true });
      const drop = dropoutMasks(opts.batchSize);
      return { text: part.text, image: part.image, ...(part.input && { input: part.input }), ...(drop && { drop }) } as unknown as DalleBatch;
    });
    const lr = plateau ? Math.min(plateau.lr, warmupCosine(step, { peak: plateau.lr, warmup: opts.warmup, total: Number.MAX_SAFE_INTEGER, final: plateau.lr })) : warmupCosine(step, { peak: opts.lr, warmup: opts.warmup, total: opts.steps, final: opts.lrFinal });
    const t0 = performance.now();
    const r = await trainer.trainStep(micro.length === 1 ? micro[0]! : micro, lr);
    if (!Number.isFinite(r.loss)) throw new Error(`train: the loss became ${r.loss} at step ${step + 1}; lower --lr`);
    lastLoss = r.loss;
    progress.set({ loss: r.loss.toFixed(4), text: r.metrics.text!.toFixed(3), image: r.metrics.image!.toFixed(3), lr: lr.toExponential(2), 'tok/s': Math.round(tokensPerUpdate / ((performance.now() - t0) / 1000)) });
    progress.tick(1);
    const done = step + 1;
    if (done % opts.evalEvery === 0 || done === opts.steps) {
      lastValidation = await validate();
      if (lastValidation) {
        const v = lastValidation;
        log(`step ${done}: validation text ${v.textNll.toFixed(4)}, image ${v.imageNll.toFixed(4)} nats (${v.bitsPerImageToken.toFixed(3)} bits/token), shuffled captions ${v.imageNllShuffled.toFixed(4)} (gap ${(v.imageNllShuffled - v.imageNll).toFixed(4)})`);
        plateau?.observe(v.imageNll);
      }
    }
    if (done % opts.sampleEvery === 0 || done === opts.steps) await writeSamples(done);
    if (done % opts.checkpointEvery === 0 || done === opts.steps) await save(done);
  }
  progress.done();
  return { step: stopAt, trained: Math.max(0, stopAt - startStep), loss: lastLoss, validation: lastValidation };
}

/** The share of codes replaced at `step` (0-based): `codeNoise`, reached linearly over the first `codeNoiseRamp`
 *  updates. Never 0 while `codeNoise` is not, so every step's batch has the same inputs and one traced graph
 *  serves the run. A ramp lets the model first learn which codes follow which from clean prefixes: at full
 *  strength from the first update, the noise slowed a fresh run's learning for thousands of updates. */
export function codeNoiseAt(step: number, o: { codeNoise: number; codeNoiseRamp: number }): number {
  return o.codeNoiseRamp > 0 ? o.codeNoise * Math.min(1, (step + 1) / o.codeNoiseRamp) : o.codeNoise;
}

/** `perCaption` samples for each caption (seeded by `seed`), decoded to images, with their captions. */
export async function sampleGrid(c: DalleConfig, params: DalleParams, dvae: Dvae, tokenizer: BpeTokenizer, captions: string[], perCaption: number, seed: number) {
  const sampler = new DalleSampler(c, params);
  const rows = captions.flatMap((cap) => Array.from({ length: perCaption }, () => encodeCaption(tokenizer, cap, c).ids));
  const codes = await sampler.sample({ captions: rows, seed, temperature: 1, topK: Math.max(1, Math.floor(c.imageVocab / 8)) });
  const g = c.grid;
  const decoded = await dvae.decode(T.NDArray.int64(codes.flat(), [codes.length, g, g]));
  const rgb = fromNchwFloat({ data: decoded.data as Float32Array, shape: decoded.shape as [number, 3, number, number] });
  return {
    images: Array.from({ length: codes.length }, (_, i) => batchImage(rgb, i)),
    captions: captions.flatMap((cap) => Array.from({ length: perCaption }, () => cap)),
  };
}

/** The training step `dalle train` runs: the weighted text/image loss under AdamW with the paper's betas,
 *  clipping, accumulation and EMA (the speed bench builds the same one). */
export function dalleTrainer(config: DalleConfig, opts: Pick<z.infer<typeof DalleTrainSchema>, 'weightDecay' | 'clipNorm' | 'accumulate' | 'emaDecay'>, params: DalleParams): Trainer<DalleBatch> {
  return new Trainer<DalleBatch>((p, b) => {
    const l = dalleLoss(p, b, config);
    return [l.loss, { text: l.text, image: l.image }];
  }, params, {
    adamw: { beta1: 0.9, beta2: 0.96, eps: 1e-8, weightDecay: opts.weightDecay },
    clipNorm: opts.clipNorm,
    accumulate: opts.accumulate,
    emaDecay: opts.emaDecay,
  });
}
