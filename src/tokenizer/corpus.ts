// Captions for training and measuring the tokenizer, read straight from disk: a text file (one caption a
// line), a folder (every `.txt` file below it, one caption a line, as dataset folders keep them), a JSONL
// manifest (`caption` or `captions` on each line), or a prepared image cache (the captions of its training
// split only, so that held-out items stay unseen). Kept here, small and separate from `src/data/`, so the
// tokenizer can be trained before any dataset code runs. Files are read in sorted order, streamed.
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../errors.ts';

/** Every caption under the given paths, in a fixed order; blank lines are skipped. */
export async function* readCaptions(paths: readonly string[]): AsyncGenerator<string> {
  if (paths.length === 0) throw new UserError('no caption source given');
  for (const path of paths) {
    const cacheIndex = join(path, 'index.json');
    if (existsSync(cacheIndex) && existsSync(join(path, 'pixels.u8'))) {
      yield* cacheCaptions(cacheIndex);
      continue;
    }
    for (const file of captionFiles(path)) {
      if (file.toLowerCase().endsWith('.jsonl')) yield* manifestCaptions(file);
      else yield* lineCaptions(file);
    }
  }
}

function captionFiles(path: string): string[] {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new UserError(`caption source ${path} does not exist`);
  }
  if (!stats.isDirectory()) return [path];
  const files: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.txt')) files.push(full);
    }
  };
  walk(path);
  if (files.length === 0) throw new UserError(`no .txt caption files under ${path}`);
  return files;
}

async function* lines(file: string): AsyncGenerator<[line: string, lineNumber: number]> {
  const reader = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of reader) yield [line, ++lineNumber];
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function* lineCaptions(file: string): AsyncGenerator<string> {
  for await (const [line] of lines(file)) if (line.trim().length > 0) yield line;
}

async function* manifestCaptions(file: string): AsyncGenerator<string> {
  for await (const [line, lineNumber] of lines(file)) {
    if (line.trim().length === 0) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw new UserError(`${file}:${lineNumber} is not valid JSON`);
    }
    const entry = (record ?? {}) as { caption?: unknown; captions?: unknown };
    const captions = typeof entry.caption === 'string' ? [entry.caption] : entry.captions;
    if (!Array.isArray(captions) || !captions.every((c) => typeof c === 'string')) {
      throw new UserError(`${file}:${lineNumber} has no "caption" string or "captions" list of strings`);
    }
    for (const caption of captions as string[]) if (caption.trim().length > 0) yield caption;
  }
}

/** Training-split captions of a prepared cache (src/data/cache.ts writes its index.json). */
function* cacheCaptions(indexPath: string): Generator<string> {
  let index: { format?: unknown; items?: { split?: string; captions?: string[] }[] };
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (err) {
    throw new UserError(`${indexPath}: not a readable cache index (${(err as Error).message})`);
  }
  if (index.format !== 'dalle-ts-image-cache' || !Array.isArray(index.items)) throw new UserError(`${indexPath}: not a dalle-ts image cache index`);
  for (const item of index.items) if (item.split === 'train') for (const c of item.captions ?? []) if (c.trim().length > 0) yield c;
}
