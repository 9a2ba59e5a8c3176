// `--data` for the trainers: a prepared cache is used as it is; a folder or manifest is prepared once into a
// cache inside the run folder (reused on later runs and on --resume), so epochs read memory.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveModelDir } from './checkpoint.ts';
import { type ImageCache, openCache, prepareCache } from '../data/cache.ts';
import { ProblemLog } from '../data/problems.ts';
import { datasetKind, readDatasetItems } from '../data/source.ts';
import { UserError } from '../errors.ts';
import { Progress } from '../util/progress.ts';

export async function ensureCache(data: string, size: number, runDir: string, log: (line: string) => void): Promise<{ cache: ImageCache; path: string }> {
  if (datasetKind(data) === 'cache') {
    const cache = openCache(data);
    if (cache.width !== size || cache.height !== size) {
      throw new UserError(`${data}: the cache holds ${cache.width}×${cache.height} images, the model wants ${size}×${size} (give the source folder, or prepare it with --size ${size})`);
    }
    return { cache, path: data };
  }
  const path = join(resolve(runDir), `data-cache-${size}`);
  if (!existsSync(join(path, 'index.json'))) {
    const problems = new ProblemLog();
    const items = await readDatasetItems(data, problems);
    if (items.length === 0) throw new UserError(`${data}: no usable images with captions (${problems.summary()})`);
    log(`preparing ${items.length} images of ${data} at ${size} px into ${path}`);
    const progress = new Progress('prepare', items.length, { unit: 'images' });
    await prepareCache(items, path, { size, problems, progress });
    progress.done();
  }
  return { cache: openCache(path), path };
}

/** Where derived data (caches, codes) of a model's runs go: its run folder when the model is the checkpoint
 *  of a run, else a folder under the system's temporary directory (never inside the checkpoint, which is
 *  replaced as a whole on each save). */
export function runFolderOf(modelPath: string): string {
  const dir = resolve(resolveModelDir(modelPath));
  return basename(dir) === 'checkpoint' ? dirname(dir) : join(tmpdir(), 'dalle-ts-cache');
}
