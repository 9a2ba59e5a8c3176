// Parameter trees: plain nested objects/arrays of NDArrays on the host (Tensors inside a traced function),
// named by their PyTorch-style dotted paths ("blocks.0.attn.qkv.weight").
import { NDArray, flattenTree, isNDArray, unflattenTree } from '../tensor/index.ts';

export type ParamTree = { [key: string]: ParamTree | NDArray | ParamTree[] | undefined } | ParamTree[];

/** Every parameter with its dotted name, in tree order. */
export function namedParams(tree: unknown): Map<string, NDArray> {
  const { leaves, paths } = flattenTree(tree, isNDArray);
  return new Map(paths.map((p, i) => [p, leaves[i]!]));
}

export function countParams(tree: unknown): number {
  return flattenTree(tree, isNDArray).leaves.reduce((n, a) => n + a.size, 0);
}

/** Split a tree into the parameters to train and the frozen rest (same structure, missing leaves as
 *  undefined), e.g. to fine-tune only some blocks. `merge` puts them back together. */
export function partition(tree: unknown, trainable: (path: string) => boolean): { train: unknown; frozen: unknown } {
  const { leaves, paths, def } = flattenTree(tree, isNDArray);
  return {
    train: unflattenTree(def, leaves.map((l, i) => (trainable(paths[i]!) ? l : undefined))),
    frozen: unflattenTree(def, leaves.map((l, i) => (trainable(paths[i]!) ? undefined : l))),
  };
}

/** Inverse of `partition`: take each leaf from whichever side has it (works on Tensors too). */
export function merge<T>(a: unknown, b: unknown): T {
  if (a === undefined) return b as T;
  if (b === undefined) return a as T;
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => merge(x, b[i])) as T;
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return Object.fromEntries(keys.map((k) => [k, merge(a[k], b[k])])) as T;
  }
  throw new TypeError('merge: both trees have a leaf at the same place');
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;
}
