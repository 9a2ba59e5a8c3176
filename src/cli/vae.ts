// `dalle train-vae`, `eval-vae`, `encode` and `decode`: the dVAE's commands.
import { mkdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.ts';
import { decodeImage, resizeImage, toNchwFloat, stackImages, fromNchwFloat, batchImage, writePng, ImageDecodeError } from '../io/images.ts';
import * as T from '../tensor/index.ts';
import { DVAE_PRESETS, DvaeConfigSchema, type DvaeConfig, gridSize } from '../dvae/config.ts';
import { type DvaeTrainOptions, trainDvae } from '../dvae/train.ts';
import { loadDvae } from '../dvae/load.ts';
import { evaluateDvae } from '../dvae/eval.ts';
import { ensureCache, runFolderOf } from '../train/data.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { intOption, numberOption, resolveConfig, trainOptions, trainedLine } from './options.ts';

export function registerVaeCommands(program: Command): void {
  program
    .command('train-vae')
    .description('train the discrete VAE (stage 1) on captioned images')
    .requiredOption('--data <path>', 'prepared cache, folder of images, or .jsonl manifest')
    .requiredOption('--out <dir>', 'run folder: checkpoint, samples/, data cache')
    .option('--config <name|file.json>', `preset (${Object.keys(DVAE_PRESETS).join(', ')}) or a JSON config`, 'small')
    .option('--steps <n>', 'total updates (on --resume: the run\'s own unless given)', intOption('--steps', 1), 5000)
    .option('--batch <n>', 'images per update', intOption('--batch', 1), 32)
    .option('--lr <rate>', 'peak learning rate', numberOption('--lr', 0), 1e-3)
    .option('--warmup <n>', 'linear learning-rate warm-up steps', intOption('--warmup', 0), 100)
    .option('--beta <weight>', 'final KL weight β', numberOption('--beta', 0), 6.6)
    .option('--beta-steps <n>', 'steps over which β rises from 0 (default: 20% of --steps)', intOption('--beta-steps', 1))
    .option('--tau-start <t>', 'Gumbel-softmax temperature at step 0', numberOption('--tau-start', 0), 1)
    .option('--tau-end <t>', 'temperature after the anneal', numberOption('--tau-end', 0), 1 / 16)
    .option('--tau-steps <n>', 'steps of the cosine temperature anneal (default: 60% of --steps)', intOption('--tau-steps', 1))
    .option('--seed <n>', 'seed for initialisation, noise and data order', intOption('--seed', 0), 0)
    .option('--checkpoint-every <n>', 'steps between checkpoints', intOption('--checkpoint-every', 1), 500)
    .option('--sample-every <n>', 'steps between sample grids', intOption('--sample-every', 1), 500)
    .option('--straight-through', 'hard one-hot codes forward, soft gradients back')
    .option('--diversity <weight>', 'weight of a term that keeps the batch using many codes (ln K − entropy of the mean code posterior); 0: none', numberOption('--diversity', 0), 0)
    .option('--init <dir>', 'start from this trained dVAE (run or checkpoint folder, or a DALL·E model folder: its dVAE), its architecture and weights')
    .option('--decoder-only', "with --init: train only the decoder, on the frozen encoder's hard codes, so every image keeps its codes and a transformer trained on them stays valid (sharper hard reconstructions)")
    .option('--resume', 'continue the run in --out exactly where it stopped, with its own settings')
    .action(async (o, command: Command) => {
      const start = performance.now();
      // With --init only a --config the user gave is passed on, so that trainDvae refuses it.
      const config = o.resume || (o.init && command.getOptionValueSource('config') !== 'cli') ? undefined : resolveConfig<DvaeConfig>(o.config, DVAE_PRESETS, DvaeConfigSchema as never);
      const r = await trainDvae({
        out: o.out, data: o.data, resume: !!o.resume, ...(config && { config }),
        options: trainOptions<DvaeTrainOptions>(o, command, {
          steps: 'steps', batchSize: 'batch', lr: 'lr', warmup: 'warmup', betaFinal: 'beta', betaSteps: 'betaSteps', tauStart: 'tauStart', tauEnd: 'tauEnd', tauSteps: 'tauSteps',
          seed: 'seed', checkpointEvery: 'checkpointEvery', sampleEvery: 'sampleEvery', straightThrough: 'straightThrough', diversity: 'diversity', init: 'init', decoderOnly: 'decoderOnly' }),
      });
      console.log(trainedLine(r, start, o.out));
    });

  program
    .command('eval-vae')
    .description('hard and soft reconstruction PSNR and codebook use on the validation split, as JSON')
    .requiredOption('--model <dir>', 'dVAE checkpoint folder, or a DALL·E model folder (its dVAE)')
    .requiredOption('--data <path>', 'prepared cache, folder of images, or .jsonl manifest')
    .option('--split <name>', 'val or train', 'val')
    .option('--json <file>', 'also write the figures to this file')
    .action(async (o) => {
      if (o.split !== 'val' && o.split !== 'train') throw new UserError(`--split must be val or train, got "${o.split}"`);
      const dvae = await loadDvae(o.model);
      const { cache } = await ensureCache(o.data, dvae.config.imageSize, runFolderOf(o.model), (l) => process.stderr.write(l + '\n'));
      const result = await evaluateDvae(dvae, cache, { split: o.split });
      const json = JSON.stringify(result, null, 2);
      if (o.json) await writeFileAtomic(o.json, json + '\n');
      console.log(json);
    });

  program
    .command('encode')
    .description('images → dVAE code grids (JSON: one grid of codebook indices per image)')
    .requiredOption('--vae <dir>', 'dVAE checkpoint folder, or a DALL·E model folder (its dVAE)')
    .requiredOption('--out <file>', 'JSON file for the code grids')
    .argument('<images...>', 'image files')
    .action(async (images: string[], o) => {
      const dvae = await loadDvae(o.vae);
      const size = dvae.config.imageSize;
      const decoded = [];
      for (const path of images) {
        try {
          decoded.push(await resizeImage(await decodeImage(path), size, size, 'cover'));
        } catch (err) {
          if (err instanceof ImageDecodeError) throw new UserError(err.message);
          throw err;
        }
      }
      const nchw = toNchwFloat(stackImages(decoded));
      const codes = await dvae.encode(new T.NDArray(nchw.data, nchw.shape));
      const g = gridSize(dvae.config);
      const values = codes.toNumbers();
      const grids = images.map((path, i) => ({ image: path, grid: Array.from({ length: g }, (_, r) => values.slice((i * g + r) * g, (i * g + r + 1) * g)) }));
      await writeFileAtomic(o.out, JSON.stringify({ vae: o.vae, grid: g, vocab: dvae.config.vocab, codes: grids }) + '\n');
      console.log(`encoded ${images.length} images to ${g}×${g} grids in ${o.out}`);
    });

  program
    .command('decode')
    .description('dVAE code grids (the JSON of `dalle encode`) → PNG images')
    .requiredOption('--vae <dir>', 'dVAE checkpoint folder, or a DALL·E model folder (its dVAE)')
    .requiredOption('--codes <file>', 'JSON file of code grids')
    .requiredOption('--out <dir>', 'folder for the PNGs')
    .action(async (o) => {
      const dvae = await loadDvae(o.vae);
      const g = gridSize(dvae.config);
      let parsed: { codes?: { image?: string; grid: number[][] }[] };
      try {
        parsed = JSON.parse(await readFile(o.codes, 'utf8'));
      } catch (err) {
        throw new UserError(`${o.codes}: ${(err as Error).message}`);
      }
      const items = parsed.codes;
      if (!Array.isArray(items) || items.length === 0) throw new UserError(`${o.codes}: expected {"codes": [{"grid": [[…]]}, …]}`);
      const flat: number[] = [];
      items.forEach((item, i) => {
        const grid = item.grid;
        if (!Array.isArray(grid) || grid.length !== g || grid.some((row) => !Array.isArray(row) || row.length !== g)) {
          throw new UserError(`${o.codes}: codes[${i}].grid is not a ${g}×${g} grid (this dVAE's size)`);
        }
        for (const v of grid.flat()) {
          if (!Number.isInteger(v) || v < 0 || v >= dvae.config.vocab) throw new UserError(`${o.codes}: codes[${i}] holds ${v}, outside the codebook 0…${dvae.config.vocab - 1}`);
          flat.push(v);
        }
      });
      const images = await dvae.decode(T.NDArray.int64(flat, [items.length, g, g]));
      const rgb = fromNchwFloat({ data: images.data as Float32Array, shape: images.shape as [number, 3, number, number] });
      await mkdir(o.out, { recursive: true });
      for (let i = 0; i < items.length; i++) {
        const name = items[i]!.image ? basename(items[i]!.image!, extname(items[i]!.image!)) : `decoded-${i}`;
        await writePng(join(o.out, `${name}.png`), batchImage(rgb, i));
      }
      console.log(`decoded ${items.length} grids into ${o.out}`);
    });
}
