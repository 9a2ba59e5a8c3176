// JSONL manifests: one JSON object per line, `{"image": path, "caption": text}` or
// `{"image": path, "captions": [text, ...]}`, with optional `"id"` and `"group"` (the split identity).
// Relative image paths are resolved against the manifest's folder. Blank lines are allowed; a line that
// is not JSON, lacks an image or a caption, or names a missing or empty image is reported as `file:line`
// and skipped.
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { UserError } from '../errors.ts';
import { captionLines, type DatasetItem } from './dataset.ts';
import type { ProblemLog } from './problems.ts';

interface ManifestLine {
  image?: unknown;
  caption?: unknown;
  captions?: unknown;
  id?: unknown;
  group?: unknown;
}

function stripExtension(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf('/') ? path.slice(0, dot) : path;
}

/** Every usable item of a manifest; broken lines are reported to `problems` and left out. */
export async function readManifest(path: string, problems: ProblemLog): Promise<DatasetItem[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`${path}: cannot read manifest (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const base = dirname(resolve(path));
  const items: DatasetItem[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const where = `${path}:${i + 1}`;
    let entry: ManifestLine;
    try {
      entry = JSON.parse(raw) as ManifestLine;
    } catch (err) {
      problems.report('bad-manifest-line', where, `not JSON (${(err as Error).message})`);
      continue;
    }
    if (!entry || typeof entry !== 'object' || typeof entry.image !== 'string' || entry.image === '') {
      problems.report('bad-manifest-line', where, 'no "image" path');
      continue;
    }
    const given = typeof entry.caption === 'string' ? [entry.caption] : Array.isArray(entry.captions) ? entry.captions : [];
    const captions = given.filter((c): c is string => typeof c === 'string').flatMap(captionLines);
    if (captions.length === 0) {
      problems.report('empty-caption', where, 'no caption');
      continue;
    }
    const image = isAbsolute(entry.image) ? entry.image : resolve(base, entry.image);
    let size: number;
    try {
      size = (await stat(image)).size;
    } catch {
      problems.report('missing-image', where, `image ${entry.image} not found`);
      continue;
    }
    if (size === 0) {
      problems.report('empty-image', where, `image ${entry.image} is empty`);
      continue;
    }
    let id = typeof entry.id === 'string' && entry.id ? entry.id : stripExtension(relative(base, image).split(sep).join('/'));
    if (seen.has(id)) id = `${id}#${i + 1}`;
    seen.add(id);
    const group = typeof entry.group === 'string' && entry.group ? entry.group : id;
    items.push({ id, image, captions, group, source: where });
  }
  return items;
}
