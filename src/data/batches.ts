// Batches for training and evaluation from a prepared cache: seeded shuffling per epoch, fixed-size
// batches (the last short batch kept or dropped), one caption chosen per image (seeded at random among its
// captions, or always the first), and optional augmentation. Everything depends only on (seed, epoch), so
// a resumed run sees exactly the batches it would have seen.
import { z } from 'zod';
import { type RgbBatch } from '../io/images.ts';
import { type AugmentOptions, augmentBatchImage, augments } from './augment.ts';
import type { ImageCache } from './cache.ts';
import { Rng } from '../tensor/index.ts';
import type { Split } from './split.ts';

/** What an epoch visits: every image once; every group (an emoji's styles and skin tones share one) once,
 *  as one of its images drawn at random; or, given a number n, at most n images of each group, drawn anew
 *  each epoch, so that subjects with many variants (a hand in six skin tones and four styles) do not crowd
 *  out the rest while every style of a four-style emoji still comes once per epoch. */
export type Balance = 'image' | 'group' | number;

/** A balance in a trainer's options (a run's saved settings). */
export const BalanceSchema = z.union([z.enum(['image', 'group']), z.number().int().positive()]).default('image');

/** The images of each group an epoch visits under a balance. */
function perGroupCap(balance: Balance = 'image'): number {
  if (balance === 'image') return Infinity;
  if (balance === 'group') return 1;
  if (!Number.isInteger(balance) || balance < 1) throw new RangeError(`balance must be 'image', 'group' or a positive integer, got ${balance}`);
  return balance;
}

export interface BatchOptions {
  batchSize: number;
  seed: number;
  epoch?: number;
  split?: Split | 'all';
  shuffle?: boolean;
  balance?: Balance;
  dropLast?: boolean;
  caption?: 'random' | 'first';
  augment?: AugmentOptions;
}

export interface Batch {
  /** NHWC uint8; convert with toNchwFloat for models. */
  images: RgbBatch;
  captions: string[];
  ids: string[];
  /** Positions in the cache. */
  indices: number[];
}

/** The order of cache positions for one epoch. */
export function epochOrder(cache: ImageCache, options: Pick<BatchOptions, 'seed' | 'epoch' | 'split' | 'shuffle' | 'balance'>): number[] {
  let order = cache.indicesOf(options.split ?? 'train');
  const cap = perGroupCap(options.balance);
  if (cap < Infinity) {
    // Each group's images for this epoch are drawn by a stream keyed by the group's first position, so
    // they do not depend on the order groups are met in.
    order = groupsOf(cache, order).flatMap((members) =>
      members.length <= cap ? members : Rng.stream(options.seed, 5, options.epoch ?? 0, members[0]!).sample(members, cap));
  }
  if (options.shuffle ?? true) Rng.stream(options.seed, 1, options.epoch ?? 0).shuffle(order);
  return order;
}

/** Positions per epoch under a balance. */
export function epochLength(cache: ImageCache, split: Split | 'all', balance: Balance = 'image'): number {
  const indices = cache.indicesOf(split);
  const cap = perGroupCap(balance);
  return cap === Infinity ? indices.length : groupsOf(cache, indices).reduce((n, members) => n + Math.min(members.length, cap), 0);
}

/** What an epoch of a split is under a balance, for logs and errors: "7490 images per epoch, at most 4 of
 *  each of 2336 groups". */
export function describeEpoch(cache: ImageCache, split: Split | 'all', balance: Balance = 'image'): string {
  const cap = perGroupCap(balance);
  const perEpoch = epochLength(cache, split, balance);
  if (cap === Infinity) return `${perEpoch} images per epoch`;
  if (cap === 1) return `${perEpoch} groups per epoch, one image of each`;
  return `${perEpoch} images per epoch, at most ${cap} of each of ${groupsOf(cache, cache.indicesOf(split)).length} groups`;
}

function groupsOf(cache: ImageCache, indices: readonly number[]): number[][] {
  const members = new Map<string, number[]>();
  for (const i of indices) {
    const group = cache.items[i]!.group;
    const list = members.get(group);
    if (list) list.push(i);
    else members.set(group, [i]);
  }
  return [...members.values()];
}

/** All batches of one epoch, in order. */
export function* iterateBatches(cache: ImageCache, options: BatchOptions): Generator<Batch> {
  const order = epochOrder(cache, checked(options));
  for (let b = 0; ; b++) {
    const batch = batchFromOrder(cache, options, order, b);
    if (!batch) return;
    yield batch;
  }
}

/** Batch `b` of an epoch (as iterateBatches would yield it) without building the ones before it; null past the end. */
export function batchOfEpoch(cache: ImageCache, options: BatchOptions, b: number): Batch | null {
  return batchFromOrder(cache, options, epochOrder(cache, checked(options)), b);
}

function checked(options: BatchOptions): BatchOptions {
  if (!(options.batchSize >= 1)) throw new RangeError(`batch size must be at least 1, got ${options.batchSize}`);
  return options;
}

function batchFromOrder(cache: ImageCache, options: BatchOptions, order: readonly number[], b: number): Batch | null {
  const epoch = options.epoch ?? 0;
  const indices = order.slice(b * options.batchSize, (b + 1) * options.batchSize);
  if (indices.length === 0 || (indices.length < options.batchSize && options.dropLast)) return null;
  const images = cache.batch(indices);
  const captions: string[] = [];
  indices.forEach((index, k) => {
    const rng = Rng.stream(options.seed, 2, epoch, index);
    const all = cache.items[index]!.captions;
    captions.push(options.caption === 'first' ? all[0]! : all[rng.int(all.length)]!);
    if (augments(options.augment)) augmentBatchImage(images, k, all, options.augment, rng);
  });
  return { images, captions, ids: indices.map((i) => cache.items[i]!.id), indices };
}
