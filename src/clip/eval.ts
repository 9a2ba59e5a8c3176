// Held-out retrieval, the contrastive model's validation: every image of a split and its first caption are
// embedded; each caption ranks all the split's images and each image all its captions. A hit is any item of
// the same group (an emoji's other styles share its subject and caption), so R@k reads "the subject is among
// the k best of N". Shared by `train-clip` (every evalEvery steps) and `eval-clip`.
import { type ImageCache } from '../data/cache.ts';
import type { RgbImage } from '../io/images.ts';
import type { ClipParams } from './model.ts';
import { type ClipEncoders, type Embeddings, similarity } from './load.ts';

export interface Retrieval {
  images: number;
  groups: number;
  /** Caption → image: the share of captions whose subject's best image ranks within the top 1 / 5. */
  textToImageR1: number;
  textToImageR5: number;
  /** Image → caption, likewise. */
  imageToTextR1: number;
  imageToTextR5: number;
}

/** For each query row, the rank (0 = first) of its best-scoring hit among all keys: a key whose group is the
 *  query's (`keyGroups` defaults to `queryGroups`, for queries and keys that are the same items). */
export function hitRanks(queries: Embeddings, keys: Embeddings, queryGroups: readonly string[], keyGroups: readonly string[] = queryGroups): number[] {
  const ranks: number[] = [];
  const scores = new Float64Array(keys.count);
  for (let q = 0; q < queries.count; q++) {
    let best = -Infinity;
    for (let k = 0; k < keys.count; k++) {
      scores[k] = similarity(queries, q, keys, k);
      if (keyGroups[k] === queryGroups[q] && scores[k]! > best) best = scores[k]!;
    }
    let rank = 0;
    for (let k = 0; k < keys.count; k++) if (scores[k]! > best) rank++;
    ranks.push(rank);
  }
  return ranks;
}

const share = (ranks: readonly number[], k: number) => ranks.filter((r) => r < k).length / ranks.length;

export interface RetrievalResult {
  retrieval: Retrieval;
  /** For a few captions, the indices (into `indices`) of their best images, best first: a grid to look at. */
  examples: { caption: string; best: number[] }[];
}

/** Retrieval over the cache items at `indices` (at least two). */
export async function evaluateRetrieval(encoders: ClipEncoders, params: ClipParams, cache: ImageCache, indices: readonly number[], o: { examples?: number; perExample?: number } = {}): Promise<RetrievalResult> {
  const items = indices.map((i) => cache.items[i]!);
  const groups = items.map((item) => item.group);
  const captions = items.map((item) => item.captions[0]!);
  const images = await encoders.embedImages(params, cache.batch(indices));
  const texts = await encoders.embedTexts(params, captions);
  const t2i = hitRanks(texts, images, groups);
  const i2t = hitRanks(images, texts, groups);
  const examples: RetrievalResult['examples'] = [];
  const seen = new Set<string>();
  for (let q = 0; q < items.length && examples.length < (o.examples ?? 6); q++) {
    if (seen.has(groups[q]!)) continue;
    seen.add(groups[q]!);
    const scores = items.map((_, k) => similarity(texts, q, images, k));
    const order = items.map((_, k) => k).sort((a, b) => scores[b]! - scores[a]!);
    examples.push({ caption: captions[q]!, best: order.slice(0, o.perExample ?? 8) });
  }
  return {
    retrieval: {
      images: items.length, groups: new Set(groups).size,
      textToImageR1: share(t2i, 1), textToImageR5: share(t2i, 5), imageToTextR1: share(i2t, 1), imageToTextR5: share(i2t, 5),
    },
    examples,
  };
}

/** The examples as grid cells: each caption's best images in a row, the caption under the first. */
export function retrievalGrid(cache: ImageCache, indices: readonly number[], examples: RetrievalResult['examples']): { images: RgbImage[]; captions: string[] } {
  const images: RgbImage[] = [];
  const captions: string[] = [];
  for (const e of examples) {
    e.best.forEach((k, j) => {
      images.push(cache.image(indices[k]!));
      captions.push(j === 0 ? e.caption : '');
    });
  }
  return { images, captions };
}

export const retrievalLine = (r: Retrieval): string =>
  `caption→image R@1 ${(100 * r.textToImageR1).toFixed(1)}%, R@5 ${(100 * r.textToImageR5).toFixed(1)}%; image→caption R@1 ${(100 * r.imageToTextR1).toFixed(1)}%, R@5 ${(100 * r.imageToTextR5).toFixed(1)}% (${r.images} images of ${r.groups} subjects)`;
