// `dalle data …`: build the built-in datasets (emoji, shapes), prepare a training cache, print statistics,
// and write a preview grid. Broken items are reported with their path and skipped (`--strict` stops at
// the first one); long runs show progress on stderr.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { UserError } from '../errors.ts';
import { type Fit, type RgbImage, decodeImage, ImageDecodeError } from '../io/images.ts';
import { writeGrid } from '../io/grid.ts';
import { prepareCache } from '../data/cache.ts';
import { EMOJI_STYLES, type EmojiStyle, buildEmoji } from '../data/emoji.ts';
import { ProblemLog } from '../data/problems.ts';
import { Rng } from '../tensor/index.ts';
import { buildShapes } from '../data/shapes.ts';
import { datasetStats, formatStats, openAnyDataset, readDatasetItems } from '../data/source.ts';
import { DEFAULT_VAL_SHARE } from '../data/split.ts';
import { Progress } from '../util/progress.ts';

function intOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

function shareOption(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new UserError(`--val-share must be a number from 0 to 1, got "${value}"`);
  return n;
}

function defaultPackagesDir(): string {
  try {
    return dirname(dirname(createRequire(import.meta.url).resolve('emojibase-data/package.json')));
  } catch {
    throw new UserError('emojibase-data is not installed (it is a dev dependency: run `npm install`), or give --packages DIR');
  }
}

function seconds(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('build, prepare and inspect datasets');

  data
    .command('emoji')
    .description('render the openly licensed emoji sets (Twemoji, Noto, OpenMoji, Fluent flat) with captions')
    .requiredOption('--out <dir>', 'output folder')
    .option('--size <px>', 'image side in pixels', intOption('--size', 8, 4096), 64)
    .option('--styles <list>', `comma-separated styles (${EMOJI_STYLES.join(', ')})`, EMOJI_STYLES.join(','))
    .option('--packages <dir>', 'folder holding the emoji packages (default: the project node_modules)')
    .option('--strict', 'stop at the first unreadable image')
    .action(async (opts: { out: string; size: number; styles: string; packages?: string; strict?: boolean }) => {
      const styles = opts.styles.split(',').map((s) => s.trim());
      for (const s of styles) if (!(EMOJI_STYLES as readonly string[]).includes(s)) throw new UserError(`unknown emoji style "${s}" (known: ${EMOJI_STYLES.join(', ')})`);
      const problems = new ProblemLog({ strict: opts.strict });
      const start = performance.now();
      const result = await buildEmoji({
        out: resolve(opts.out),
        size: opts.size,
        packagesDir: opts.packages ? resolve(opts.packages) : defaultPackagesDir(),
        styles: styles as EmojiStyle[],
        problems,
        progress: (total) => new Progress('emoji', total, { unit: 'images' }),
      });
      const perStyle = Object.entries(result.perStyle).map(([s, n]) => `${s} ${n}`).join(', ');
      process.stdout.write(
        `wrote ${result.images} images (${perStyle}) with ${result.captions} captions ` +
          `(${(result.captions / Math.max(1, result.images)).toFixed(1)} per image), ${result.identities} emoji identities, ` +
          `to ${opts.out} in ${seconds(start)}; ${problems.summary()}\n`,
      );
    });

  data
    .command('shapes')
    .description('generate shape scenes with captions and ground truth')
    .requiredOption('--out <dir>', 'output folder')
    .option('--count <n>', 'number of scenes', intOption('--count', 1), 20000)
    .option('--size <px>', 'image side in pixels', intOption('--size', 16, 4096), 64)
    .option('--seed <n>', 'random seed', intOption('--seed', 0, 2 ** 32 - 1), 1)
    .action(async (opts: { out: string; count: number; size: number; seed: number }) => {
      const start = performance.now();
      const progress = new Progress('shapes', opts.count, { unit: 'scenes' });
      const result = await buildShapes({ out: resolve(opts.out), count: opts.count, size: opts.size, seed: opts.seed, progress });
      progress.done();
      process.stdout.write(`wrote ${result.count} scenes with ${result.captions} captions to ${opts.out} in ${seconds(start)}\n`);
    });

  data
    .command('prepare')
    .description('decode and resize a dataset once into a binary cache (pixels.u8 + index.json)')
    .requiredOption('--data <path>', 'folder of images with .txt captions, or a .jsonl manifest')
    .requiredOption('--out <dir>', 'cache folder')
    .option('--size <px>', 'image side in pixels', intOption('--size', 8, 4096), 64)
    .option('--val-share <share>', 'share of identity groups held out for validation', shareOption, DEFAULT_VAL_SHARE)
    .addOption(new Option('--fit <mode>', 'cover: centre-crop; contain: pad; fill: stretch').choices(['cover', 'contain', 'fill']).default('cover'))
    .option('--strict', 'stop at the first broken item')
    .action(async (opts: { data: string; out: string; size: number; valShare: number; fit: Fit; strict?: boolean }) => {
      const start = performance.now();
      const problems = new ProblemLog({ strict: opts.strict });
      const items = await readDatasetItems(opts.data, problems);
      if (items.length === 0) throw new UserError(`${opts.data}: no usable items (${problems.summary()})`);
      const progress = new Progress('prepare', items.length, { unit: 'images' });
      const index = await prepareCache(items, resolve(opts.out), { size: opts.size, valShare: opts.valShare, fit: opts.fit, problems, progress });
      progress.done();
      const val = index.items.filter((i) => i.split === 'val').length;
      process.stdout.write(
        `cached ${index.count} images of ${opts.size}x${opts.size} (train ${index.count - val}, val ${val}) in ${opts.out} in ${seconds(start)}; ${problems.summary()}\n`,
      );
    });

  data
    .command('stats')
    .description('counts, captions per image, caption length distribution and split sizes')
    .requiredOption('--data <path>', 'folder, .jsonl manifest or prepared cache')
    .option('--val-share <share>', 'validation share (folders and manifests)', shareOption, DEFAULT_VAL_SHARE)
    .option('--strict', 'stop at the first broken item')
    .action(async (opts: { data: string; valShare: number; strict?: boolean }) => {
      const problems = new ProblemLog({ strict: opts.strict });
      const ds = await openAnyDataset(opts.data, problems, opts.valShare);
      process.stdout.write(`${formatStats(opts.data, ds, datasetStats(ds))}\nproblems          ${problems.summary()}\n`);
    });

  data
    .command('preview')
    .description('write a grid of dataset images with one caption each')
    .requiredOption('--data <path>', 'folder, .jsonl manifest or prepared cache')
    .requiredOption('--out <file>', 'PNG file to write')
    .option('--count <n>', 'images in the grid', intOption('--count', 1, 1024), 36)
    .option('--seed <n>', 'which images and captions (random sample); omit for the first ones', intOption('--seed', 0, 2 ** 32 - 1))
    .option('--size <px>', 'cell size for folders and manifests', intOption('--size', 8, 1024), 64)
    .option('--scale <n>', 'enlarge each cell', intOption('--scale', 1, 16), 2)
    .option('--columns <n>', 'cells per row', intOption('--columns', 1, 256))
    .action(async (opts: { data: string; out: string; count: number; seed?: number; size: number; scale: number; columns?: number }) => {
      const problems = new ProblemLog();
      const ds = await openAnyDataset(opts.data, problems);
      if (ds.entries.length === 0) throw new UserError(`${opts.data}: no usable items (${problems.summary()})`);
      const order = ds.entries.map((_, i) => i);
      const rng = Rng.stream(opts.seed ?? 0, 7);
      if (opts.seed !== undefined) rng.shuffle(order);
      const images: RgbImage[] = [];
      const captions: string[] = [];
      for (const i of order) {
        if (images.length >= opts.count) break;
        const e = ds.entries[i]!;
        let img: RgbImage;
        if (ds.cache) img = ds.cache.image(i);
        else {
          try {
            img = await decodeImage(e.image!, { size: opts.size });
          } catch (err) {
            if (!(err instanceof ImageDecodeError)) throw err;
            problems.report('unreadable-image', e.image!, err.message.slice(e.image!.length + 2));
            continue;
          }
        }
        images.push(img);
        captions.push(opts.seed === undefined ? e.captions[0]! : e.captions[rng.int(e.captions.length)]!);
      }
      if (images.length === 0) throw new UserError(`${opts.data}: no image could be read (${problems.summary()})`);
      const grid = await writeGrid(opts.out, images, { captions, scale: opts.scale, columns: opts.columns, captionLines: 3 });
      process.stdout.write(`wrote ${opts.out}: ${images.length} images, ${grid.shape[1]}x${grid.shape[0]} px; ${problems.summary()}\n`);
    });
}
