// Parameter trees ↔ flat PyTorch-style names. Model parameters live in nested objects and arrays
// (`{ blocks: [{ attn: { qkv: { weight } } }] }`); files store them under dotted names
// (`blocks.0.attn.qkv.weight`). Array indices become numeric segments. What counts as a leaf is decided by
// a caller-supplied predicate, so the same helpers serve Float32Arrays, {shape, data} records or anything else.
import { UserError } from '../errors.ts';

export type Tree<Leaf> = Leaf | readonly Tree<Leaf>[] | { readonly [key: string]: Tree<Leaf> };

/** A tree of the same structure as `T` with every leaf replaced by `Leaf`. */
export type LeavesReplaced<T, Leaf> = T extends readonly unknown[]
  ? { [I in keyof T]: LeavesReplaced<T[I], Leaf> }
  : T extends ArrayBufferView
    ? Leaf
    : T extends object
      ? { [K in keyof T]: LeavesReplaced<T[K], Leaf> }
      : Leaf;

function isPlainContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkSegment(key: string, at: string): void {
  if (key.length === 0 || key.includes('.')) {
    throw new Error(`tree key ${JSON.stringify(key)} at "${at || '(root)'}" cannot be part of a dotted name`);
  }
}

/**
 * Flattens a tree to `name → leaf` in depth-first order. Nodes that are neither leaves nor plain
 * objects/arrays are an error (naming their path), as are keys containing dots and cycles.
 */
export function flattenTree<Leaf>(tree: unknown, isLeaf: (value: unknown) => value is Leaf): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  const ancestors = new Set<unknown>();
  const visit = (node: unknown, name: string): void => {
    if (isLeaf(node)) {
      out.set(name, node);
      return;
    }
    if (!isPlainContainer(node)) {
      throw new Error(`tree node "${name || '(root)'}" is neither a leaf nor a plain object or array: ${String(node)}`);
    }
    if (ancestors.has(node)) throw new Error(`tree node "${name}" refers back to one of its ancestors`);
    ancestors.add(node);
    const keys = Array.isArray(node) ? node.map((_, index) => String(index)) : Object.keys(node);
    for (const key of keys) {
      checkSegment(key, name);
      visit((node as Record<string, unknown>)[key], name ? `${name}.${key}` : key);
    }
    ancestors.delete(node);
  };
  visit(tree, '');
  return out;
}

function listNames(names: string[], limit = 10): string {
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown} and ${names.length - limit} more` : shown;
}

/** Sets an own property even for keys like "__proto__", which plain assignment would treat specially. */
function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function buildFromNames<Leaf>(entries: Map<string, Leaf>): Tree<Leaf> {
  const root: Record<string, unknown> = Object.create(null);
  for (const [name, leaf] of entries) {
    const segments = name.split('.');
    let node = root;
    segments.forEach((segment, index) => {
      const prefix = segments.slice(0, index + 1).join('.');
      if (segment.length === 0) throw new UserError(`tensor name "${name}" has an empty segment`);
      if (index === segments.length - 1) {
        if (segment in node) throw new UserError(`tensor name "${name}" is also the prefix of another name`);
        node[segment] = leaf;
        return;
      }
      if (!(segment in node)) node[segment] = Object.create(null);
      const child = node[segment];
      if (typeof child !== 'object' || child === null || Object.getPrototypeOf(child) !== null) {
        throw new UserError(`tensor name "${name}" continues past the tensor "${prefix}"`);
      }
      node = child as Record<string, unknown>;
    });
  }
  const finish = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null || Object.getPrototypeOf(node) !== null) return node;
    const record = node as Record<string, unknown>;
    const keys = Object.keys(record);
    const isArray = keys.length > 0 && keys.every((key, index) => key === String(index));
    if (isArray) return keys.map((key) => finish(record[key]));
    const plain: Record<string, unknown> = {};
    for (const key of keys) defineKey(plain, key, finish(record[key]));
    return plain;
  };
  return finish(root) as Tree<Leaf>;
}

/**
 * Rebuilds a tree from `name → leaf` entries. Without a template, numeric segments 0..n-1 become arrays and
 * everything else objects. With a template (and its leaf predicate), the result has exactly the template's
 * structure; names the template lacks, or template leaves with no entry, are listed in one UserError.
 */
export function unflattenTree<Leaf>(entries: Iterable<[string, Leaf]>): Tree<Leaf>;
export function unflattenTree<Leaf, T>(
  entries: Iterable<[string, Leaf]>,
  template: T,
  isTemplateLeaf: (value: unknown) => boolean,
): LeavesReplaced<T, Leaf>;
export function unflattenTree<Leaf, T>(
  entries: Iterable<[string, Leaf]>,
  template?: T,
  isTemplateLeaf?: (value: unknown) => boolean,
): unknown {
  const byName = entries instanceof Map ? (entries as Map<string, Leaf>) : new Map(entries);
  if (isTemplateLeaf === undefined) return buildFromNames(byName);
  const templateLeaves = flattenTree(template, (value): value is unknown => isTemplateLeaf(value));
  const missing = [...templateLeaves.keys()].filter((name) => !byName.has(name));
  const unexpected = [...byName.keys()].filter((name) => !templateLeaves.has(name));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing ${listNames(missing)}`);
    if (unexpected.length > 0) parts.push(`unexpected ${listNames(unexpected)}`);
    throw new UserError(`tensors do not match the expected tree: ${parts.join('; ')}`);
  }
  const rebuild = (node: unknown, name: string): unknown => {
    if (isTemplateLeaf(node)) return byName.get(name);
    const child = (key: string): string => (name ? `${name}.${key}` : key);
    if (Array.isArray(node)) return node.map((item, index) => rebuild(item, child(String(index))));
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) defineKey(out, key, rebuild(value, child(key)));
    return out;
  };
  return rebuild(template, '');
}
