// `dalle train`, `dalle generate` and `dalle eval`: the transformer's commands.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { DALLE_PRESETS, DalleConfigFields, type DalleConfig } from '../dalle/config.ts';
import { type DalleTrainOptions, trainDalle } from '../dalle/train.ts';
import { Examples, makeEvaluator, validationNll } from '../dalle/eval.ts';
import { type DalleModel, exportModel, loadDalle, samplingFrom, withDvae } from '../dalle/load.ts';
import { generate, generateSettings, writeGeneration } from '../dalle/generate.ts';
import { ensureCache, runFolderOf } from '../train/data.ts';
import { encodeCache } from '../dalle/codes.ts';
import { loadDvae } from '../dvae/load.ts';
import { Progress } from '../util/progress.ts';
import { balanceOption, flipOption, intOption, numberOption, resolveConfig, seconds, shiftOption, trainOptions, trainedLine } from './options.ts';

/** The model shipped in the repository, used when --model is not given. */
export const DEFAULT_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), '../../models/default');

/** `--model DIR`, or the shipped model when it is not given; `--reranker DIR` in place of the model's own
 *  contrastive reranker (its clip/ folder); `--int8`: the sampler's decode step on int8 weights. */
export async function loadModelOption(dir: string | undefined, reranker?: string, int8 = false): Promise<DalleModel> {
  if (!dir && !existsSync(join(DEFAULT_MODEL, 'config.json'))) throw new UserError(`no shipped model at ${DEFAULT_MODEL}; train one (see README) and pass --model`);
  return loadDalle(dir ?? DEFAULT_MODEL, { ...(reranker && { reranker }), ...(int8 && { decodeWeights: 'int8' as const }) });
}

export const INT8_OPTION = ['--int8', "the decode step's weights quantized to int8: faster repeated sampling (serve) on CPUs with VNNI or AMX; adds ~0.2 s to the first call; images differ slightly from float32's"] as const;

export const RERANKER_OPTION = ['--reranker <dir>', "contrastive model for --rerank (default: the model's clip/ folder; `dalle train-clip` makes one)"] as const;

/** The sampling settings, as `generate` takes them and `export` records them in sampling.json; one left
 *  out comes from the model (`samplingFrom`). */
function withSamplingOptions(command: Command, defaultsFrom: string): Command {
  return command
    .option('--temperature <t>', `softmax temperature (0: greedy; default: ${defaultsFrom}, else 1)`, numberOption('--temperature', 0, 10))
    .option('--top-k <k>', `sample among the k most likely codes (0: all; default: ${defaultsFrom}, else 0)`, intOption('--top-k', 0))
    .option('--top-p <p>', `sample within this probability mass (default: ${defaultsFrom}, else 1)`, numberOption('--top-p', 0, 1))
    .option('--guidance <s>', `classifier-free guidance scale (1: none; default: ${defaultsFrom}, else 1)`, numberOption('--guidance', 0, 100))
    .option('--rerank <r>', `draw r candidates per image and keep the best by the contrastive reranker (1: none; default: ${defaultsFrom}, else 1)`, intOption('--rerank', 1, 64));
}

export function registerDalleCommands(program: Command): void {
  program
    .command('train')
    .description('train the DALL·E transformer (stage 2) on captioned images encoded by a dVAE')
    .option('--vae <dir>', 'trained dVAE (run or checkpoint folder; with --init: the model\'s own)')
    .option('--tokenizer <file>', 'tokenizer.json (dalle tokenizer train; with --init: the model\'s own, or one trained on the same captions with a larger --vocab-size, which grows the model\'s text vocabulary)')
    .requiredOption('--data <path>', 'prepared cache, folder of images, or .jsonl manifest')
    .requiredOption('--out <dir>', 'run folder')
    .option('--init <model>', 'fine-tune: start from this trained transformer (a model or run folder, e.g. models/default), its architecture, dVAE and tokenizer')
    .option('--config <name|file.json>', `preset (${Object.keys(DALLE_PRESETS).join(', ')}) or a JSON config (not with --init)`, 'small')
    .option('--steps <n>', 'total updates (on --resume: the run\'s own unless given)', intOption('--steps', 1), 10000)
    .option('--batch <n>', 'images per micro-batch', intOption('--batch', 1), 32)
    .option('--accumulate <n>', 'micro-batches per update', intOption('--accumulate', 1), 1)
    .option('--lr <rate>', 'peak learning rate', numberOption('--lr', 0), 1e-3)
    .addOption(new Option('--schedule <kind>', 'after warm-up').choices(['cosine', 'plateau']).default('cosine'))
    .option('--warmup <n>', 'warm-up steps', intOption('--warmup', 0), 200)
    .addOption(balanceOption())
    .option('--code-noise <p>', 'share of the image codes the model reads replaced by codes of other cells of the batch (the targets stay), so it learns to continue from imperfect draws', numberOption('--code-noise', 0, 0.5), 0)
    .option('--code-noise-ramp <n>', 'raise the code noise linearly from 0 to --code-noise over the first n updates (0: full from the start)', intOption('--code-noise-ramp', 0), 0)
    .addOption(shiftOption('train also on copies of each image'))
    .addOption(flipOption('some of these copies'))
    .option('--variants <n>', 'with --shift or --flip: versions of each image, the plain one among them, encoded once before training', intOption('--variants', 2, 64), 8)
    .option('--seed <n>', 'seed for initialisation, data order and dropout', intOption('--seed', 0), 0)
    .option('--eval-every <n>', 'steps between validations', intOption('--eval-every', 1), 500)
    .option('--sample-every <n>', 'steps between sample grids', intOption('--sample-every', 1), 1000)
    .option('--checkpoint-every <n>', 'steps between checkpoints', intOption('--checkpoint-every', 1), 500)
    .option('--resume', 'continue the run in --out exactly where it stopped, with its own settings')
    .action(async (o, command: Command) => {
      const start = performance.now();
      // With --init only a --config the user gave is passed on, so that trainDalle refuses it.
      const config = o.resume || (o.init && command.getOptionValueSource('config') !== 'cli') ? undefined : resolveConfig<DalleConfig>(o.config, DALLE_PRESETS, DalleConfigFields.partial({ textVocab: true, imageVocab: true, grid: true }) as never);
      const r = await trainDalle({
        out: o.out, data: o.data, vae: o.vae, tokenizer: o.tokenizer, resume: !!o.resume, ...(config && { config }),
        options: trainOptions<DalleTrainOptions>(o, command, {
          steps: 'steps', batchSize: 'batch', accumulate: 'accumulate', balance: 'balance', codeNoise: 'codeNoise', codeNoiseRamp: 'codeNoiseRamp', shift: 'shift', flip: 'flip', variants: 'variants', init: 'init', lr: 'lr', schedule: 'schedule', warmup: 'warmup', seed: 'seed',
          evalEvery: 'evalEvery', sampleEvery: 'sampleEvery', checkpointEvery: 'checkpointEvery' }),
      });
      console.log(trainedLine(r, start, join(o.out, 'checkpoint')));
    });

  const generateCommand = program
    .command('generate')
    .description('generate images from a prompt (or several, with --prompts)')
    .argument('[prompt]', 'what the image should show')
    .option('--model <dir>', 'model folder (default: the shipped models/default)')
    .option('--prompts <file>', 'a text file with one prompt per line')
    .option('--n <count>', 'images per prompt', intOption('--n', 1, 4096), 8)
    .option('--seed <n>', 'seed: the same seed and settings give the same images', intOption('--seed', 0), 0)
    .option('--batch <n>', 'images sampled at once (default: 8 × rerank, at most 32: a larger batch samples each image faster)', intOption('--batch', 1, 512))
    .option('--image-prompt <png>', 'complete this image: keep part of its codes (--keep-rows or --mask), sample the rest')
    .option('--keep-rows <r>', 'rows of the image prompt\'s code grid to keep', intOption('--keep-rows', 1))
    .option('--mask <png>', 'with --image-prompt: redraw the white parts of this mask, keep the dark parts')
    .option(...RERANKER_OPTION)
    .option(...INT8_OPTION)
    .option('--out <dir>', 'output folder', 'generated');
  withSamplingOptions(generateCommand, "the model's sampling.json")
    .action(async (prompt: string | undefined, o) => {
      const start = performance.now();
      const prompts = o.prompts ? readPrompts(o.prompts) : prompt !== undefined ? [prompt] : [];
      if (prompts.length === 0) throw new UserError('give a prompt, e.g. dalle generate "a smiling cat face", or --prompts FILE');
      if (o.imagePrompt && (o.keepRows === undefined) === (o.mask === undefined)) throw new UserError('--image-prompt needs either --keep-rows R (the top rows to keep) or --mask PNG (white: redraw), not both');
      if (!o.imagePrompt && (o.keepRows !== undefined || o.mask !== undefined)) throw new UserError('--keep-rows and --mask complete an image: give it with --image-prompt PNG');
      const model = await loadModelOption(o.model, o.reranker, o.int8);
      const sampling = samplingFrom(o, model.sampling);
      const settings = generateSettings(sampling, {
        n: o.n, seed: o.seed, batchSize: o.batch ?? Math.min(32, 8 * sampling.rerank),
        ...(o.imagePrompt && { imagePrompt: { path: o.imagePrompt, ...(o.keepRows !== undefined && { keepRows: o.keepRows }), ...(o.mask !== undefined && { mask: o.mask }) } }),
      });
      let progress: Progress | null = null;
      const images = await generate(model, prompts, settings, {
        onTruncated: (p, tokens, kept) => process.stderr.write(`dalle: the prompt "${p.slice(0, 60)}" is ${tokens} tokens; the model reads the first ${kept}\n`),
        onProgress: (done, total) => {
          progress ??= new Progress('generate', total, { unit: 'tokens' });
          progress.tick(done - progress.count);
        },
      });
      (progress as Progress | null)?.done();
      const { grid, files } = await writeGeneration(o.out, model, images, settings);
      console.log(`wrote ${files.length} images and ${grid} in ${seconds(start)}`);
    });

  const exportCommand = program
    .command('export')
    .description('write a model folder for generation only: config, weights (float16 by default), tokenizer, and the sampling settings generate uses by default (sampling.json)')
    .requiredOption('--model <dir>', 'model (run or checkpoint folder)')
    .requiredOption('--out <dir>', 'the folder to write (replaced atomically)')
    .option('--reranker <dir>', "a contrastive model (dalle train-clip) to ship in the folder's clip/ (default: the model's own, if any)")
    .option('--vae <dir>', "a dVAE to ship instead of the model's own: its decoder refit by `dalle train-vae --init <the model> --decoder-only` (the encoder must be the model's, weight for weight)")
    .addOption(new Option('--dtype <type>', 'weight precision').choices(['f16', 'bf16', 'f32']).default('f16'));
  withSamplingOptions(exportCommand, "the model's own, else plain sampling")
    .action(async (o) => {
      let model = await loadModelOption(o.model, o.reranker);
      if (o.vae) model = withDvae(model, await loadDvae(o.vae), o.vae);
      await exportModel(model, o.out, ({ f16: 'F16', bf16: 'BF16', f32: 'F32' } as const)[o.dtype as 'f16' | 'bf16' | 'f32'], samplingFrom(o, model.sampling));
      console.log(`wrote ${o.out} (${o.dtype} weights)`);
    });

  program
    .command('eval')
    .description('validation NLL of a trained transformer: text, image, bits per image token, shuffled-caption gap (JSON)')
    .requiredOption('--model <dir>', 'model (run or checkpoint folder)')
    .requiredOption('--data <path>', 'prepared cache, folder of images, or .jsonl manifest')
    .option('--batch <n>', 'images per batch', intOption('--batch', 2), 32)
    .option('--json <file>', 'also write the figures to this file')
    .action(async (o) => {
      const model = await loadDalle(o.model);
      const result = await evaluateModel(model, o.data, o.batch);
      const json = JSON.stringify(result, null, 2);
      if (o.json) await writeFileAtomic(o.json, json + '\n');
      console.log(json);
    });
}

function readPrompts(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`--prompts ${file}: ${(err as Error).message}`);
  }
  const prompts = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (prompts.length === 0) throw new UserError(`--prompts ${file}: no prompts in it (one per line)`);
  return prompts;
}

/** Validation figures over the whole validation split (or everything, when there is none). */
async function evaluateModel(model: Awaited<ReturnType<typeof loadDalle>>, data: string, batchSize: number) {
  const runDir = runFolderOf(model.dir);
  const { cache, path } = await ensureCache(data, model.dvae.config.imageSize, runDir, (l) => process.stderr.write(l + '\n'));
  const codes = await encodeCache(model.dvae, cache, runDir, `${model.dir}|${path}|${cache.count}`);
  const val = cache.indicesOf('val');
  const split = val.length >= 2 ? 'val' : 'all';
  const indices = split === 'val' ? val : cache.indicesOf('all');
  const examples = new Examples(cache, codes, model.tokenizer, model.config);
  const v = await validationNll(makeEvaluator(model.config), model.params, examples, indices, { batchSize });
  if (!v) throw new UserError(`${data}: fewer than two images to evaluate`);
  return { split, images: indices.length, ...v, shuffledGap: v.imageNllShuffled - v.imageNll };
}
