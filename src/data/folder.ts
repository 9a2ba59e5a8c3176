// The DALLE-pytorch folder convention: images anywhere under a root folder (searched recursively, in
// sorted order), each with a same-named `.txt` beside it holding one caption per line. An optional
// same-named `.json` may carry metadata; its string field `group` names the identity used by the
// train/validation split (the emoji builder writes one so every drawing style of an emoji stays on one
// side); without it the item's id is its group. Hidden entries and cache folders are ignored.
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isImagePath } from '../io/images.ts';
import { captionLines, type DatasetItem } from './dataset.ts';
import type { ProblemLog } from './problems.ts';

async function listImages(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (!existsSync(join(full, 'index.json')) || !existsSync(join(full, 'pixels.u8'))) await listImages(full, out);
    } else if (e.isFile() && isImagePath(e.name)) out.push(full);
  }
}

function stemOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf(sep) ? path.slice(0, dot) : path;
}

async function readGroup(jsonPath: string): Promise<string | undefined> {
  try {
    const meta: unknown = JSON.parse(await readFile(jsonPath, 'utf8'));
    if (meta && typeof meta === 'object' && typeof (meta as { group?: unknown }).group === 'string') return (meta as { group: string }).group;
  } catch {
    // metadata is optional: an unreadable sidecar only means the item is grouped by its id
  }
  return undefined;
}

/** Every usable item under `root`; broken ones are reported to `problems` and left out. */
export async function readFolder(root: string, problems: ProblemLog): Promise<DatasetItem[]> {
  const images: string[] = [];
  await listImages(root, images);
  const items: DatasetItem[] = [];
  for (const image of images) {
    const stem = stemOf(image);
    const captionPath = `${stem}.txt`;
    const size = (await stat(image)).size;
    if (size === 0) {
      problems.report('empty-image', image, 'image file is empty');
      continue;
    }
    let text: string;
    try {
      text = await readFile(captionPath, 'utf8');
    } catch {
      problems.report('missing-caption', captionPath, 'no caption file for this image');
      continue;
    }
    const captions = captionLines(text);
    if (captions.length === 0) {
      problems.report('empty-caption', captionPath, 'caption file has no caption');
      continue;
    }
    const id = relative(root, stem).split(sep).join('/');
    const group = existsSync(`${stem}.json`) ? ((await readGroup(`${stem}.json`)) ?? id) : id;
    items.push({ id, image, captions, group, source: captionPath });
  }
  return items;
}
