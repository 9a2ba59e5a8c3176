// `dalle train-clip` and `dalle eval-clip`: the contrastive reranker's commands (`generate --rerank` uses it).
import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.ts';
import { CLIP_PRESETS, ClipConfigFields } from '../clip/config.ts';
import { type ClipTrainOptions, trainClip } from '../clip/train.ts';
import { loadClip } from '../clip/load.ts';
import { evaluateRetrieval } from '../clip/eval.ts';
import { ensureCache, runFolderOf } from '../train/data.ts';
import { UserError } from '../errors.ts';
import { balanceOption, flipOption, intOption, numberOption, resolveConfig, shiftOption, trainOptions, trainedLine } from './options.ts';

export function registerClipCommands(program: Command): void {
  program
    .command('train-clip')
    .description('train the contrastive reranker (CLIP) that `generate --rerank` uses to keep the best candidates')
    .requiredOption('--tokenizer <file>', 'tokenizer.json (the transformer\'s, so both read captions alike)')
    .requiredOption('--data <path>', 'prepared cache, folder of images, or .jsonl manifest')
    .requiredOption('--out <dir>', 'run folder: checkpoint, retrieval grids, data cache')
    .option('--vae <dir>', 'a dVAE: train on its reconstructions too (the look of generated images), and take the image size from it')
    .option('--config <name|file.json>', `preset (${Object.keys(CLIP_PRESETS).join(', ')}) or a JSON config`, 'small')
    .option('--image-size <px>', 'image size, when there is no --vae', intOption('--image-size', 4))
    .option('--steps <n>', 'total updates (on --resume: the run\'s own unless given)', intOption('--steps', 1), 3000)
    .option('--batch <n>', 'images (and captions) per update: each image picks its caption among them', intOption('--batch', 2), 128)
    .option('--lr <rate>', 'peak learning rate', numberOption('--lr', 0), 5e-4)
    .option('--warmup <n>', 'warm-up steps', intOption('--warmup', 0), 100)
    .option('--reconstructed <share>', 'with --vae: share of images replaced by their reconstruction', numberOption('--reconstructed', 0, 1), 0.5)
    .addOption(balanceOption())
    .addOption(shiftOption("each step's images"))
    .addOption(flipOption("each step's images"))
    .option('--seed <n>', 'seed for initialisation, data order and BPE dropout', intOption('--seed', 0), 0)
    .option('--eval-every <n>', 'steps between held-out retrieval checks', intOption('--eval-every', 1), 250)
    .option('--checkpoint-every <n>', 'steps between checkpoints', intOption('--checkpoint-every', 1), 250)
    .option('--resume', 'continue the run in --out exactly where it stopped, with its own settings')
    .action(async (o, command: Command) => {
      const start = performance.now();
      const preset = o.resume ? undefined : resolveConfig(o.config, CLIP_PRESETS, ClipConfigFields.partial({ textVocab: true, imageSize: true }) as never);
      const config = preset && { ...(preset as object), ...(o.imageSize && { imageSize: o.imageSize }) };
      const r = await trainClip({
        out: o.out, data: o.data, tokenizer: o.tokenizer, ...(o.vae && { vae: o.vae }), resume: !!o.resume, ...(config && { config: config as never }),
        options: trainOptions<ClipTrainOptions>(o, command, {
          steps: 'steps', batchSize: 'batch', lr: 'lr', warmup: 'warmup', reconstructed: 'reconstructed', balance: 'balance', shift: 'shift', flip: 'flip', seed: 'seed',
          evalEvery: 'evalEvery', checkpointEvery: 'checkpointEvery' }),
      });
      console.log(trainedLine(r, start, `${o.out}/checkpoint`));
    });

  program
    .command('eval-clip')
    .description('held-out retrieval of a contrastive model: caption→image and image→caption R@1 and R@5 (JSON)')
    .requiredOption('--model <dir>', 'model (run or checkpoint folder)')
    .requiredOption('--data <path>', 'prepared cache, folder of images, or .jsonl manifest')
    .option('--json <file>', 'also write the figures to this file')
    .action(async (o) => {
      const model = await loadClip(o.model);
      const { cache } = await ensureCache(o.data, model.config.imageSize, runFolderOf(o.model), (l) => process.stderr.write(l + '\n'));
      const val = cache.indicesOf('val');
      const indices = val.length >= 2 ? val : cache.indicesOf('all');
      if (indices.length < 2) throw new UserError(`${o.data}: fewer than two images to evaluate`);
      const { retrieval } = await evaluateRetrieval(model.encoders, model.params, cache, indices);
      const json = JSON.stringify({ split: val.length >= 2 ? 'val' : 'all', ...retrieval }, null, 2);
      if (o.json) await writeFileAtomic(o.json, json + '\n');
      console.log(json);
    });
}
