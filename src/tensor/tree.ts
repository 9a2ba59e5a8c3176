// Trees of values (nested plain objects and arrays), as JAX calls pytrees: parameters, optimizer state,
// batches and outputs of compiled functions. Leaves are chosen by a predicate; everything else that is not
// an object or array (numbers, strings, booleans, null) is a static part of the tree's structure.

export type TreeDef =
  | { kind: 'leaf' }
  | { kind: 'static'; value: unknown }
  | { kind: 'array'; items: TreeDef[] }
  | { kind: 'object'; keys: string[]; items: TreeDef[] };

export interface Flat<L> {
  leaves: L[];
  paths: string[]; // PyTorch-style dotted names: "blocks.0.attn.qkv.weight"
  def: TreeDef;
}

export function flattenTree<L>(tree: unknown, isLeaf: (x: unknown) => x is L): Flat<L> {
  const leaves: L[] = [];
  const paths: string[] = [];
  const walk = (x: unknown, path: string): TreeDef => {
    if (isLeaf(x)) {
      leaves.push(x);
      paths.push(path);
      return { kind: 'leaf' };
    }
    const child = (k: string | number) => (path ? `${path}.${k}` : String(k));
    if (Array.isArray(x)) return { kind: 'array', items: x.map((v, i) => walk(v, child(i))) };
    if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
      const keys = Object.keys(x);
      return { kind: 'object', keys, items: keys.map((k) => walk((x as Record<string, unknown>)[k], child(k))) };
    }
    if (x !== null && typeof x === 'object') {
      throw new TypeError(`tree: the value at '${path || '(root)'}' is a ${x.constructor?.name ?? 'object'}, which is neither a leaf nor a plain object or array`);
    }
    return { kind: 'static', value: x };
  };
  const def = walk(tree, '');
  return { leaves, paths, def };
}

export function unflattenTree<L>(def: TreeDef, leaves: readonly L[]): unknown {
  let i = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'leaf': return leaves[i++];
      case 'static': return d.value;
      case 'array': return d.items.map(build);
      case 'object': return Object.fromEntries(d.keys.map((k, j) => [k, build(d.items[j]!)]));
    }
  };
  const out = build(def);
  if (i !== leaves.length) throw new RangeError(`tree: structure has ${i} leaves, ${leaves.length} given`);
  return out;
}

/** Apply `f` to every leaf, keeping the structure. */
export function mapTree<L, M>(tree: unknown, isLeaf: (x: unknown) => x is L, f: (leaf: L, path: string) => M): unknown {
  const { leaves, paths, def } = flattenTree(tree, isLeaf);
  return unflattenTree(def, leaves.map((l, i) => f(l, paths[i]!)));
}
