// `dalle train-clip`: the contrastive reranker. Each step draws a batch in an order fixed by (seed, step),
// picks a caption per image at random and tokenises it with BPE dropout, and runs one compiled AdamW step on
// the symmetric contrastive loss (model.ts), with warm-up and cosine decay. With a dVAE (`vae`), each image
// is replaced at random by its dVAE reconstruction (`reconstructed` of the time), so that the reranker
// knows the look of the images the transformer's samples decode to; `shift` and `flip` then move and mirror
// it, so that it learns the training images by heart more slowly. Every `evalEvery` steps: held-out
// retrieval (eval.ts) and a grid of each of a few held-out captions' best images. Checkpoints hold the model
// and the tokenizer; `resume` continues exactly.
import { join } from 'node:path';
import { z } from 'zod';
import { BalanceSchema, batchOfEpoch, describeEpoch, epochLength } from '../data/batches.ts';
import type { ImageCache } from '../data/cache.ts';
import { AugmentFlagsSchema, augmentBatchImage, augments, describeFlags, flagsAugment } from '../data/augment.ts';
import { loadCheckpoint } from '../io/checkpoint.ts';
import { writeGrid } from '../io/grid.ts';
import { fromNchwFloat, toNchwFloat } from '../io/images.ts';
import { Trainer } from '../optim/trainer.ts';
import { warmupCosine } from '../optim/schedule.ts';
import * as T from '../tensor/index.ts';
import { loadTokenizer, seededRandom } from '../tokenizer/index.ts';
import { UserError, parseUserInput } from '../errors.ts';
import { Progress } from '../util/progress.ts';
import { type Dvae, loadDvae } from '../dvae/load.ts';
import { encodeCaption } from '../dalle/text.ts';
import { checkpointDir, restoreTrainer, resumedOptions, saveTrainer, shapesOf, templateRng, type TrainingState } from '../train/checkpoint.ts';
import { ensureCache } from '../train/data.ts';
import { type ClipConfig, ClipConfigSchema, type ClipPreset } from './config.ts';
import { type ClipBatch, clipLoss, initClip, negativesFor } from './model.ts';
import { ClipEncoders } from './load.ts';
import { type Retrieval, evaluateRetrieval, retrievalGrid, retrievalLine } from './eval.ts';

export const ClipTrainSchema = z.object({
  steps: z.number().int().positive(),
  batchSize: z.number().int().min(2),
  lr: z.number().positive().default(5e-4),
  lrFinal: z.number().nonnegative().default(1e-5),
  warmup: z.number().int().nonnegative().default(100),
  /** CLIP used 0.2; weights only (not biases, norms, embeddings or the logit scale). */
  weightDecay: z.number().nonnegative().default(0.1),
  clipNorm: z.number().positive().default(1),
  bpeDropout: z.number().min(0).max(1).default(0.1),
  /** What an epoch visits: every image, one image or at most n of each group (data/batches.ts). */
  balance: BalanceSchema,
  /** With a dVAE: the share of images replaced by their reconstruction. */
  reconstructed: z.number().min(0).max(1).default(0.5),
  /** Augmentation of each step's images (after the reconstruction swap): shifted by up to `shift` pixels
   *  and, with `flip`, mirrored with probability 0.5 where the captions allow (data/augment.ts). */
  ...AugmentFlagsSchema.shape,
  seed: z.number().int().default(0),
  evalEvery: z.number().int().positive().default(250),
  checkpointEvery: z.number().int().positive().default(250),
});
export type ClipTrainOptions = z.input<typeof ClipTrainSchema>;

export interface ClipRunState extends TrainingState {
  train: z.infer<typeof ClipTrainSchema>;
}

export interface ClipTrainRun {
  out: string;
  data: string;
  tokenizer: string;
  /** A dVAE whose reconstructions join the training images (optional). */
  vae?: string;
  /** Architecture: textVocab and imageSize are filled in from the tokenizer and the dVAE or data. */
  config?: ClipPreset;
  /** Validated by the schema. On resume `steps` may set a new total; any other option given must equal the run's own. */
  options?: Partial<ClipTrainOptions>;
  resume?: boolean;
  log?: (line: string) => void;
  progress?: boolean;
  /** Stop after this step as if interrupted (the schedule still spans `steps`); for tests of --resume. */
  until?: number;
}

/** Every cached image's hard dVAE reconstruction (encode to codes, decode), NHWC uint8 like the cache. */
async function reconstructAll(dvae: Dvae, cache: ImageCache, silent: boolean): Promise<Uint8Array> {
  const per = cache.width * cache.height * 3;
  const out = new Uint8Array(cache.count * per);
  const progress = new Progress('reconstruct', cache.count, { unit: 'images', silent });
  for (let start = 0; start < cache.count; start += 256) {
    const indices = Array.from({ length: Math.min(256, cache.count - start) }, (_, k) => start + k);
    const nchw = toNchwFloat(cache.batch(indices));
    const decoded = await dvae.decode(await dvae.encode(new T.NDArray(nchw.data, nchw.shape)));
    out.set(fromNchwFloat({ data: decoded.data as Float32Array, shape: decoded.shape as [number, 3, number, number] }).data, start * per);
    progress.tick(indices.length);
  }
  progress.done();
  return out;
}

export async function trainClip(run: ClipTrainRun): Promise<{ step: number; trained: number; loss: number; retrieval: Retrieval | null }> {
  const log = run.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const tokenizer = loadTokenizer(run.tokenizer);
  const textVocab = tokenizer.parts.vocab.length;
  const dvae = run.vae ? await loadDvae(run.vae) : null;

  let config: ClipConfig;
  let opts: z.infer<typeof ClipTrainSchema>;
  let startStep = 0;
  let resumeFrom = null;
  if (run.resume) {
    resumeFrom = await loadCheckpoint<ClipConfig, ClipRunState>(checkpointDir(run.out), { configSchema: ClipConfigSchema as never, expectedShapes: (c) => shapesOf(initClip(templateRng(), c)) });
    if (!resumeFrom.state) throw new UserError(`${checkpointDir(run.out)}: no training state to resume from (state.json)`);
    config = resumeFrom.config;
    opts = resumedOptions(ClipTrainSchema, resumeFrom.state.train, run.options, checkpointDir(run.out));
    startStep = resumeFrom.state.step;
  } else {
    if (!run.config) throw new UserError('train-clip: no config given');
    const imageSize = dvae?.config.imageSize ?? run.config.imageSize;
    if (!imageSize) throw new UserError('train-clip: give the image size in the config ("imageSize") or a dVAE (--vae) to take it from');
    config = parseUserInput(ClipConfigSchema, { ...run.config, textVocab, imageSize }, 'train-clip config');
    opts = parseUserInput(ClipTrainSchema, run.options ?? {}, 'train-clip options');
  }
  if (config.textVocab !== textVocab) throw new UserError(`${run.tokenizer}: ${textVocab} tokens, the model was built for ${config.textVocab}`);
  if (dvae && dvae.config.imageSize !== config.imageSize) throw new UserError(`${run.vae}: a dVAE for ${dvae.config.imageSize} px images, the model reads ${config.imageSize} px`);

  const { cache } = await ensureCache(run.data, config.imageSize, run.out, log);
  const trainIndices = cache.indicesOf('train');
  const perEpoch = epochLength(cache, 'train', opts.balance);
  if (perEpoch < opts.batchSize) throw new UserError(`${run.data}: ${describeEpoch(cache, 'train', opts.balance)} (--balance ${opts.balance}), fewer than one batch of ${opts.batchSize}`);
  const valIndices = cache.indicesOf('val');
  const evalIndices = valIndices.length >= 2 ? valIndices : trainIndices.slice(0, 256);
  const reconstructions = dvae && opts.reconstructed > 0 ? await reconstructAll(dvae, cache, run.progress === false) : null;

  const trainer = new Trainer<ClipBatch>((p, b) => {
    const l = clipLoss(p, b, config);
    return [l.loss, { accuracy: l.accuracy }];
  }, initClip(new T.Rng(opts.seed + 1), config), {
    adamw: { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: opts.weightDecay },
    clipNorm: opts.clipNorm,
  });
  if (resumeFrom) restoreTrainer(trainer, resumeFrom, startStep);

  const per = cache.width * cache.height * 3;
  const augmentation = flagsAugment(opts);
  const augment = augments(augmentation) ? augmentation : null;
  const stepsPerEpoch = Math.floor(perEpoch / opts.batchSize);
  const batchAt = (step: number): ClipBatch => {
    const b = batchOfEpoch(cache, { batchSize: opts.batchSize, seed: opts.seed, epoch: Math.floor(step / stepsPerEpoch), split: 'train', balance: opts.balance, dropLast: true, caption: 'random' }, step % stepsPerEpoch)!;
    // Per image, one stream decides whether its reconstruction replaces it and seeds its BPE dropout.
    const ids: number[] = [];
    b.indices.forEach((index, k) => {
      const rng = T.Rng.stream(opts.seed, 4, step, index);
      if (reconstructions && rng.bool(opts.reconstructed)) b.images.data.set(reconstructions.subarray(index * per, (index + 1) * per), k * per);
      ids.push(...encodeCaption(tokenizer, b.captions[k]!, config, { dropout: opts.bpeDropout, random: seededRandom(rng.int(2 ** 31)) }).ids);
      if (augment) augmentBatchImage(b.images, k, cache.items[index]!.captions, augment, rng);
    });
    const nchw = toNchwFloat(b.images);
    return {
      text: T.NDArray.int64(ids, [opts.batchSize, config.textLength]),
      images: new T.NDArray(nchw.data, nchw.shape),
      negatives: negativesFor(b.indices.map((i) => cache.items[i]!.group)),
    } as unknown as ClipBatch;
  };

  const encoders = new ClipEncoders(config, tokenizer);
  const validate = async (step: number): Promise<Retrieval> => {
    const r = await evaluateRetrieval(encoders, trainer.params, cache, evalIndices);
    log(`step ${step}: ${valIndices.length >= 2 ? 'held-out' : 'training'} retrieval: ${retrievalLine(r.retrieval)}`);
    const grid = retrievalGrid(cache, evalIndices, r.examples);
    const path = join(run.out, 'retrieval', `step-${String(step).padStart(6, '0')}.png`);
    await writeGrid(path, grid.images, { columns: r.examples[0]?.best.length ?? 1, captions: grid.captions, scale: Math.max(1, Math.floor(64 / config.imageSize)) });
    log(`retrieval grid: ${path} (each row: a caption's best images, best first)`);
    return r.retrieval;
  };

  const save = async (step: number) => {
    // Every random draw derives from (seed, step), so there is no generator state to keep.
    const state: ClipRunState = { step, rng: [], train: opts };
    await saveTrainer(checkpointDir(run.out), config, trainer, state, { tokenizerFile: run.tokenizer });
  };

  log(`clip: text ${config.textLayers} layers of ${config.textDim}, image stages [${config.imageChannels}] at ${config.imageSize} px, embedding ${config.embedDim}; ${trainIndices.length} training images${reconstructions ? `, ${Math.round(100 * opts.reconstructed)}% as dVAE reconstructions` : ''}${augment ? `; augmented (${describeFlags(opts)})` : ''}`);
  const progress = new Progress('train-clip', opts.steps, { unit: 'steps', start: startStep, silent: run.progress === false });
  let lastLoss = NaN;
  let lastRetrieval: Retrieval | null = null;
  const stopAt = Math.min(opts.steps, run.until ?? opts.steps);
  for (let step = startStep; step < stopAt; step++) {
    const lr = warmupCosine(step, { peak: opts.lr, warmup: opts.warmup, total: opts.steps, final: opts.lrFinal });
    const batch = batchAt(step);
    const t0 = performance.now();
    const r = await trainer.trainStep(batch, lr);
    if (!Number.isFinite(r.loss)) throw new Error(`train-clip: the loss became ${r.loss} at step ${step + 1}; lower --lr`);
    lastLoss = r.loss;
    progress.set({ loss: r.loss.toFixed(4), acc: r.metrics.accuracy!.toFixed(3), lr: lr.toExponential(2), 'img/s': Math.round(opts.batchSize / ((performance.now() - t0) / 1000)) });
    progress.tick(1);
    const done = step + 1;
    if (done % opts.evalEvery === 0 || done === opts.steps) lastRetrieval = await validate(done);
    if (done % opts.checkpointEvery === 0 || done === opts.steps) await save(done);
  }
  progress.done();
  return { step: stopAt, trained: Math.max(0, stopAt - startStep), loss: lastLoss, retrieval: lastRetrieval };
}
