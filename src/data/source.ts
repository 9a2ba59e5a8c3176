// Opening any `--data` path (folder of images, JSONL manifest, prepared cache) into a uniform list of
// entries, and the summary figures `dalle data stats` prints: counts, captions per image, caption length
// distribution, split sizes and images per top-level folder (per style, for the emoji set).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { CACHE_INDEX, CACHE_PIXELS, type ImageCache, openCache } from './cache.ts';
import type { DatasetItem } from './dataset.ts';
import { readFolder } from './folder.ts';
import { readManifest } from './manifest.ts';
import type { ProblemLog } from './problems.ts';
import { DEFAULT_VAL_SHARE, type Split, splitOf } from './split.ts';

export type DatasetKind = 'cache' | 'manifest' | 'folder';

/** Which reader a `--data` path needs. */
export function datasetKind(path: string): DatasetKind {
  if (!existsSync(path)) throw new UserError(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) return existsSync(join(path, CACHE_INDEX)) && existsSync(join(path, CACHE_PIXELS)) ? 'cache' : 'folder';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'manifest';
  throw new UserError(`${path}: expected a folder of images, a prepared cache folder or a .jsonl manifest`);
}

/** Items of a folder or manifest dataset. */
export async function readDatasetItems(path: string, problems: ProblemLog): Promise<DatasetItem[]> {
  const kind = datasetKind(path);
  if (kind === 'manifest') return readManifest(path, problems);
  if (kind === 'folder') return readFolder(path, problems);
  throw new UserError(`${path}: is a prepared cache already; give the folder or manifest it was made from`);
}

/** A dataset opened for inspection: its entries with split, and the cache when it is one. */
export interface OpenedDataset {
  kind: DatasetKind;
  entries: { id: string; captions: string[]; group: string; split: Split; image?: string }[];
  cache?: ImageCache;
  valShare: number;
}

export async function openAnyDataset(path: string, problems: ProblemLog, valShare: number = DEFAULT_VAL_SHARE): Promise<OpenedDataset> {
  const kind = datasetKind(path);
  if (kind === 'cache') {
    const cache = openCache(path);
    return { kind, cache, valShare: cache.index.valShare, entries: cache.items.map((it) => ({ id: it.id, captions: it.captions, group: it.group, split: it.split })) };
  }
  const items = await readDatasetItems(path, problems);
  return {
    kind,
    valShare,
    entries: items.map((it) => ({ id: it.id, captions: it.captions, group: it.group, split: splitOf(it.group, valShare), image: it.image })),
  };
}

export interface DatasetStats {
  images: number;
  groups: number;
  captions: number;
  captionsPerImage: { min: number; mean: number; max: number };
  /** Caption length in words. */
  captionWords: { min: number; p10: number; median: number; p90: number; max: number; mean: number };
  /** Caption length histogram: words (bucketed) → count. */
  wordHistogram: [string, number][];
  split: { train: number; val: number; valGroups: number };
  perFolder: Record<string, number>;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function datasetStats(ds: OpenedDataset): DatasetStats {
  const lengths: number[] = [];
  const perImage: number[] = [];
  const perFolder: Record<string, number> = {};
  const groups = new Set<string>();
  const valGroups = new Set<string>();
  let train = 0;
  let val = 0;
  for (const e of ds.entries) {
    perImage.push(e.captions.length);
    for (const c of e.captions) lengths.push(c.split(/\s+/).filter(Boolean).length);
    const folder = e.id.includes('/') ? e.id.slice(0, e.id.indexOf('/')) : '.';
    perFolder[folder] = (perFolder[folder] ?? 0) + 1;
    groups.add(e.group);
    if (e.split === 'val') {
      val++;
      valGroups.add(e.group);
    } else train++;
  }
  lengths.sort((a, b) => a - b);
  const buckets = [2, 4, 6, 8, 12, 16, 24, 32, Infinity];
  const hist = new Map<string, number>();
  let lo = 1;
  for (const b of buckets) {
    hist.set(b === Infinity ? `${lo}+` : lo === b ? `${b}` : `${lo}-${b}`, 0);
    lo = b + 1;
  }
  const keys = [...hist.keys()];
  for (const n of lengths) {
    const k = buckets.findIndex((b) => n <= b);
    hist.set(keys[k]!, hist.get(keys[k]!)! + 1);
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    images: ds.entries.length,
    groups: groups.size,
    captions: lengths.length,
    captionsPerImage: {
      min: perImage.reduce((a, b) => Math.min(a, b), perImage.length ? Infinity : 0),
      mean: perImage.length ? sum(perImage) / perImage.length : 0,
      max: perImage.reduce((a, b) => Math.max(a, b), 0),
    },
    captionWords: {
      min: lengths[0] ?? 0,
      p10: quantile(lengths, 0.1),
      median: quantile(lengths, 0.5),
      p90: quantile(lengths, 0.9),
      max: lengths[lengths.length - 1] ?? 0,
      mean: lengths.length ? sum(lengths) / lengths.length : 0,
    },
    wordHistogram: [...hist.entries()].filter(([, n]) => n > 0),
    split: { train, val, valGroups: valGroups.size },
    perFolder,
  };
}

/** Human-readable report of datasetStats. */
export function formatStats(path: string, ds: OpenedDataset, s: DatasetStats): string {
  const lines = [
    `${path} (${ds.kind})`,
    `images            ${s.images}`,
    `identity groups   ${s.groups}`,
    `captions          ${s.captions} (per image min ${s.captionsPerImage.min}, mean ${s.captionsPerImage.mean.toFixed(2)}, max ${s.captionsPerImage.max})`,
    `caption words     min ${s.captionWords.min}, p10 ${s.captionWords.p10}, median ${s.captionWords.median}, p90 ${s.captionWords.p90}, max ${s.captionWords.max}, mean ${s.captionWords.mean.toFixed(2)}`,
    `split             train ${s.split.train}, val ${s.split.val} (${s.split.valGroups} groups; validation share ${ds.valShare})`,
  ];
  const maxCount = Math.max(1, ...s.wordHistogram.map(([, n]) => n));
  lines.push('caption length histogram (words: captions)');
  for (const [k, n] of s.wordHistogram) lines.push(`  ${k.padStart(6)}  ${String(n).padStart(8)}  ${'#'.repeat(Math.max(1, Math.round((n / maxCount) * 40)))}`);
  const folders = Object.entries(s.perFolder);
  if (folders.length > 1) {
    lines.push('images per folder');
    for (const [f, n] of folders.sort()) lines.push(`  ${f.padEnd(16)} ${n}`);
  }
  return lines.join('\n');
}
