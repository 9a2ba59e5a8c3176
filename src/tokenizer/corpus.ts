// Captions for training and measuring the tokenizer, read straight from disk: a text file (one caption a
// line), a folder (every `.txt` file below it, one caption a line, as dataset folders keep them) or a JSONL
// manifest (`caption` or `captions` on each line). Kept here, small and separate from `src/data/`, so the
// tokenizer can be trained before any dataset code runs. Files are read in sorted order, streamed.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../errors.ts';

/** Every caption under the given paths, in a fixed order; blank lines are skipped. */
export async function* readCaptions(paths: readonly string[]): AsyncGenerator<string> {
  if (paths.length === 0) throw new UserError('no caption source given');
  for (const path of paths) {
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
