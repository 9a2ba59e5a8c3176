// Reverse-mode differentiation as a graph transformation: walking the traced graph backwards from a scalar,
// each op's gradient rule adds new traced ops for its inputs' cotangents. The result is more graph, so a
// whole training step (forward, backward, update) lowers to one ONNX model. `grad` and `valueAndGrad` are
// functions of functions, as in JAX.
import { topoSort } from './graph.ts';
import { getOp } from './op.ts';
import { shapeStr } from './shape.ts';
import { type Tensor, constant, describe, isTensor } from './tensor.ts';
import { flattenTree, unflattenTree } from './tree.ts';
import { add } from './ops/elementwise.ts';
import { expand } from './ops/shape.ts';

/** Cotangents of `wrt` for the output `y` seeded with `seed` (default 1 for a scalar `y`). */
export function vjp(y: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  if (!seed && (y.size !== 1 || y.dtype !== 'float32')) {
    throw new RangeError(`grad: the function must return a float32 scalar, got ${y}`);
  }
  const order = topoSort([y]);
  // Only nodes that depend on some `wrt` need cotangents.
  const needed = new Set(wrt.map((t) => t.id));
  for (const t of order) if (t.inputs.some((x) => needed.has(x.id))) needed.add(t.id);

  const cot = new Map<number, Tensor>();
  cot.set(y.id, seed ?? expand(constant(1), y.shape));
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i]!;
    const g = cot.get(t.id);
    if (!g || t.op === 'input' || t.op === 'const' || !t.inputs.some((x) => needed.has(x.id))) continue;
    const rule = getOp(t.op).grad;
    if (!rule) continue; // not differentiable: no gradient flows through
    const gs = rule(g, t);
    t.inputs.forEach((x, k) => {
      const gx = gs[k];
      if (!gx || !needed.has(x.id)) return;
      if (gx.dtype !== x.dtype || gx.shape.length !== x.shape.length || gx.shape.some((d, j) => d !== x.shape[j])) {
        throw new Error(`grad rule of ${t.op} gave ${gx} for input ${x}`);
      }
      const prev = cot.get(x.id);
      cot.set(x.id, prev ? add(prev, gx) : gx);
    });
  }
  return wrt.map((t) => cot.get(t.id) ?? expand(constant(0), t.shape));
}

export interface GradOptions {
  /** The function returns [loss, aux]; aux is passed through untouched. */
  hasAux?: boolean;
}

function differentiableLeaves(params: unknown, what: string): { leaves: Tensor[]; rebuild: (ls: Tensor[]) => unknown } {
  // Every leaf must be a float tensor; undefined marks an absent (e.g. frozen) parameter and is skipped.
  const flat = flattenTree(params, (x): x is unknown => x !== undefined && (x === null || typeof x !== 'object' || !(Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype)));
  flat.leaves.forEach((leaf, i) => {
    const path = flat.paths[i] || '(root)';
    if (!isTensor(leaf)) throw new TypeError(`${what}: the parameter at '${path}' is ${describe(leaf)}, not a Tensor`);
    if (leaf.dtype !== 'float32') throw new TypeError(`${what}: cannot differentiate with respect to '${path}', a ${leaf.dtype}${shapeStr(leaf.shape)} tensor`);
  });
  return { leaves: flat.leaves as Tensor[], rebuild: (ls) => unflattenTree(flat.def, ls) };
}

/** `valueAndGrad(f)(params, ...rest)` → `[f(params, ...rest), ∂f/∂params]`, the gradients shaped like params. */
export function valueAndGrad<P, R extends unknown[], O extends Tensor | [Tensor, unknown]>(
  f: (params: P, ...rest: R) => O,
  options: GradOptions = {},
): (params: P, ...rest: R) => [O, P] {
  return (params, ...rest) => {
    const { leaves, rebuild } = differentiableLeaves(params, 'grad');
    const out = f(params, ...rest);
    const loss = options.hasAux ? (out as [Tensor, unknown])[0] : (out as Tensor);
    if (!isTensor(loss)) throw new TypeError(`grad: the function returned ${describe(loss)}, not a Tensor${options.hasAux ? '' : ' (use hasAux to return [loss, aux])'}`);
    return [out, rebuild(vjp(loss, leaves)) as P];
  };
}

/** `grad(f)(params, ...rest)` → ∂f/∂params, shaped like params. */
export function grad<P, R extends unknown[]>(f: (params: P, ...rest: R) => Tensor): (params: P, ...rest: R) => P {
  const vg = valueAndGrad(f);
  return (params, ...rest) => vg(params, ...rest)[1];
}
