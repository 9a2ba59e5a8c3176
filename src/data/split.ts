// Deterministic train/validation split. An item's side depends only on the hash (SHA-1) of its identity
// group and the validation share, so it never changes when items are added, removed or reordered, and all
// items of one group (e.g. every drawing style and skin tone of one emoji) fall on the same side.
import { createHash } from 'node:crypto';

export type Split = 'train' | 'val';

export const DEFAULT_VAL_SHARE = 0.05;

/** A number in [0, 1) derived from the group key alone. */
export function groupFraction(group: string): number {
  const digest = createHash('sha1').update(group, 'utf8').digest();
  return digest.readUInt32BE(0) / 4294967296;
}

export function splitOf(group: string, valShare: number = DEFAULT_VAL_SHARE): Split {
  if (!(valShare >= 0 && valShare <= 1)) throw new RangeError(`validation share must be in [0, 1], got ${valShare}`);
  return groupFraction(group) < valShare ? 'val' : 'train';
}
