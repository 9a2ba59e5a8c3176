// Indexing ops: gather (embedding lookups, picking one log-probability per position) and its adjoint
// scatterAdd, argmax and topk for decoding and sampling; the compositions arange and oneHot.
//
// Index semantics follow ONNX Gather (and numpy.take): indices are int64 of any shape and replace the indexed
// axis, so gather(x[..., N, ...], i[I...], axis) has shape [..., I..., ...]. Negative indices count from the
// end of the axis. scatterAdd is the exact adjoint: it adds an update of gather's output shape back into a
// tensor of the input's shape, accumulating where indices repeat — which is what an embedding's gradient needs.
import { type DType } from '../dtype.ts';
import { NDArray } from '../ndarray.ts';
import { attr, defineOp, type LowerContext, type RefArray } from '../op.ts';
import { type Shape, normAxis, sameShape, shapeStr, sizeOf } from '../shape.ts';
import { type Tensor, apply, constant } from '../tensor.ts';
import { cast, equal, mul } from './elementwise.ts';
import { sum } from './reduce.ts';
import { expand, transpose, unsqueeze } from './shape.ts';

interface AxisAttrs {
  axis: number; // normalised
}

function gatherShape(x: Shape, indices: Shape, axis: number): number[] {
  return [...x.slice(0, axis), ...indices, ...x.slice(axis + 1)];
}

/** The [outer, n, inner] view of `shape` around `axis`, which every kernel here loops over. */
function around(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis]!, inner: sizeOf(shape.slice(axis + 1)) };
}

/** Ref: an index checked against the axis length and wrapped if negative, as ONNX Runtime does. */
function checkedIndex(op: string, v: number, n: number, axis: number): number {
  if (v < -n || v >= n) throw new RangeError(`${op}: index ${v} is out of range for axis ${axis} of size ${n}`);
  return v < 0 ? v + n : v;
}

function needIndices(op: string, indices: Tensor): void {
  if (indices.dtype !== 'int64') throw new TypeError(`${op}: indices must be int64, got ${indices.dtype}${shapeStr(indices.shape)}`);
}

// ---- gather --------------------------------------------------------------------------------------------

defineOp<AxisAttrs>({
  name: 'gather',
  infer([x, indices], { axis }) {
    needIndices('gather', indices!);
    if (x!.rank === 0) throw new RangeError(`gather: cannot index a scalar ${x!.dtype}[]`);
    return { shape: gatherShape(x!.shape, indices!.shape, axis), dtype: x!.dtype };
  },
  lower: (ctx, [x, indices], node) => ctx.emit('Gather', [x!, indices!], { axis: attr.int(node.attrs.axis) })[0]!,
  grad(gy, node) {
    const [x, indices] = node.inputs as [Tensor, Tensor];
    return [scatterAdd(expand(constant(0), x.shape), indices, gy, node.attrs.axis), null];
  },
  ref([x, indices], node) {
    const { axis } = node.attrs;
    const { outer, n, inner } = around(x!.shape, axis);
    const m = indices!.data.length;
    const out = new Float64Array(outer * m * inner);
    for (let j = 0; j < m; j++) {
      const k = checkedIndex('gather', indices!.data[j]!, n, axis);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) out[(o * m + j) * inner + i] = x!.data[(o * n + k) * inner + i]!;
      }
    }
    return out;
  },
});

/** Slices of `x` along `axis` at int64 `indices` of any shape: [...x.shape[:axis], ...indices.shape,
 *  ...x.shape[axis+1:]]. An embedding lookup is gather(table, ids, 0). */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  return apply('gather', [x, indices], { axis: normAxis(axis, x.rank, 'gather') });
}

// ---- scatterAdd ----------------------------------------------------------------------------------------

// Lowered to ScatterElements with reduction='add' over an [outer, n, inner] view, with the indices expanded
// to the updates' [outer, m, inner] shape. ScatterND (add) copies whole slices instead and measured faster on
// the gradient of a [16384, 256] embedding for 4096 random ids (8 vs 24 ms, this machine, one run), but ONNX
// Runtime's CPU kernel adds slices on several threads without synchronisation: with many repeated ids (4096
// over 10 rows) it lost updates, as in onnxruntime issue #18048. ScatterElements accumulates correctly (a
// one-hot matmul, the other correct option, took ~550 ms). The ONNX spec allows negative indices here.
defineOp<AxisAttrs>({
  name: 'scatterAdd',
  infer([target, indices, updates], { axis }) {
    needIndices('scatterAdd', indices!);
    const want = gatherShape(target!.shape, indices!.shape, axis);
    if (updates!.dtype !== target!.dtype || target!.dtype === 'bool' || !sameShape(updates!.shape, want)) {
      throw new RangeError(
        `scatterAdd: updates ${updates!.dtype}${shapeStr(updates!.shape)} do not fit target ${target!.dtype}${shapeStr(target!.shape)} ` +
        `with indices ${shapeStr(indices!.shape)} on axis ${axis}: expected ${target!.dtype === 'bool' ? 'a numeric target' : `${target!.dtype}${shapeStr(want)}`}`,
      );
    }
    return { shape: target!.shape, dtype: target!.dtype };
  },
  lower(ctx, [target, indices, updates], node) {
    const { axis } = node.attrs;
    const [t, i] = node.inputs as [Tensor, Tensor];
    const { outer, n, inner } = around(t.shape, axis);
    const m = i.size;
    // Views drop unit outer/inner axes (an embedding gradient is a plain 2-D scatter along axis 0), and a
    // Reshape is emitted only where the shape changes.
    const view = (len: number) => [...(outer > 1 ? [outer] : []), len, ...(inner > 1 ? [inner] : [])];
    const scatterAxis = outer > 1 ? 1 : 0;
    const reshaped = (name: string, from: Shape, to: number[]) => (sameShape(from, to) ? name : ctx.emit('Reshape', [name, ctx.int64s(to)])[0]!);
    const data = reshaped(target!, t.shape, view(n));
    const upd = reshaped(updates!, node.inputs[2]!.shape, view(m));
    const lane = reshaped(indices!, i.shape, view(m).map((_, a) => (a === scatterAxis ? m : 1)));
    const expanded = ctx.emit('Expand', [lane, ctx.int64s(view(m))])[0]!;
    const out = ctx.emit('ScatterElements', [data, expanded, upd], { axis: attr.int(scatterAxis), reduction: attr.string('add') })[0]!;
    return reshaped(out, view(n), [...t.shape]);
  },
  grad(gy, node) {
    const [, indices] = node.inputs as [Tensor, Tensor, Tensor];
    return [gy, null, gather(gy, indices, node.attrs.axis)];
  },
  ref([target, indices, updates], node) {
    const { axis } = node.attrs;
    const { outer, n, inner } = around(target!.shape, axis);
    const m = indices!.data.length;
    const out = target!.data.slice();
    for (let j = 0; j < m; j++) {
      const k = checkedIndex('scatterAdd', indices!.data[j]!, n, axis);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) out[(o * n + k) * inner + i]! += updates!.data[(o * m + j) * inner + i]!;
      }
    }
    return out;
  },
});

/** `target` plus `updates` added at `indices` along `axis`, repeated indices accumulating; the adjoint of
 *  gather, so `updates` has gather's output shape: [...target.shape[:axis], ...indices.shape,
 *  ...target.shape[axis+1:]]. */
export function scatterAdd(target: Tensor, indices: Tensor, updates: Tensor, axis = 0): Tensor {
  return apply('scatterAdd', [target, indices, updates], { axis: normAxis(axis, target.rank, 'scatterAdd') });
}

// ---- argmax --------------------------------------------------------------------------------------------

interface ArgmaxAttrs extends AxisAttrs {
  keepdims: boolean;
}

/** Ref: for each (outer, inner) position, the values along the axis. */
function lanes(x: RefArray, axis: number, each: (values: number[], write: (k: number, v: number) => void) => void, outLen: number): Float64Array {
  const { outer, n, inner } = around(x.shape, axis);
  const out = new Float64Array(outer * outLen * inner);
  const values = new Array<number>(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      for (let k = 0; k < n; k++) values[k] = x.data[(o * n + k) * inner + i]!;
      each(values, (k, v) => (out[(o * outLen + k) * inner + i] = v));
    }
  }
  return out;
}

// select_last_index=0: the first of tied maxima wins, as in PyTorch and NumPy.
defineOp<ArgmaxAttrs>({
  name: 'argmax',
  infer([x], { axis, keepdims }) {
    if (x!.dtype === 'bool' || x!.rank === 0) throw new TypeError(`argmax: needs a numeric tensor of rank ≥ 1, got ${x!.dtype}${shapeStr(x!.shape)}`);
    const shape = keepdims ? x!.shape.map((d, a) => (a === axis ? 1 : d)) : x!.shape.filter((_, a) => a !== axis);
    return { shape, dtype: 'int64' };
  },
  lower: (ctx, [x], node) => ctx.emit('ArgMax', [x!], {
    axis: attr.int(node.attrs.axis), keepdims: attr.int(node.attrs.keepdims ? 1 : 0), select_last_index: attr.int(0),
  })[0]!,
  ref: ([x], node) => lanes(x!, node.attrs.axis, (values, write) => {
    let best = 0;
    for (let k = 1; k < values.length; k++) if (values[k]! > values[best]!) best = k;
    write(0, best);
  }, 1),
});

/** Index of the largest value along `axis` (int64; the first one where several tie). */
export function argmax(x: Tensor, axis = -1, keepdims = false): Tensor {
  return apply('argmax', [x], { axis: normAxis(axis, x.rank, 'argmax'), keepdims });
}

// ---- topk ----------------------------------------------------------------------------------------------

// Tensors here have one output each, so topk is one op with an attribute choosing the output: values or
// indices. Both lower to the same TopK node: ONNX Runtime's common-subexpression pass does not merge
// multi-output nodes (measured: two TopK nodes survive optimisation), so the lowering remembers the node it
// emitted for an input, axis and k within one model. TopK(largest=1, sorted=1) returns the k largest in
// descending order; ONNX specifies, and ONNX Runtime does, that of equal values the lower index comes first,
// and the reference sorts the same way.
interface TopkAttrs extends AxisAttrs {
  k: number;
  output: 'values' | 'indices';
}

const topkNodes = new WeakMap<LowerContext, Map<string, string[]>>();

defineOp<TopkAttrs>({
  name: 'topk',
  infer([x], { axis, k, output }) {
    if (x!.dtype === 'bool' || x!.rank === 0) throw new TypeError(`topk: needs a numeric tensor of rank ≥ 1, got ${x!.dtype}${shapeStr(x!.shape)}`);
    const n = x!.shape[axis]!;
    if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`topk: k = ${k} must be an integer in [1, ${n}] for axis ${axis} of ${shapeStr(x!.shape)}`);
    return { shape: x!.shape.map((d, a) => (a === axis ? k : d)), dtype: output === 'values' ? x!.dtype : 'int64' };
  },
  lower(ctx, [x], node) {
    const { axis, k, output } = node.attrs;
    const emitted = topkNodes.get(ctx) ?? new Map<string, string[]>();
    topkNodes.set(ctx, emitted);
    const key = `${x!}|${axis}|${k}`;
    let outs = emitted.get(key);
    if (!outs) {
      outs = ctx.emit('TopK', [x!, ctx.int64s([k])], { axis: attr.int(axis), largest: attr.int(1), sorted: attr.int(1) }, 2);
      emitted.set(key, outs);
    }
    return outs[output === 'values' ? 0 : 1]!;
  },
  // Values: each selected element's cotangent goes back to its position, a one-hot scatter along the axis
  // (cost k·n per lane, fine for the sizes topk sees). Indices: none.
  grad(gy, node) {
    const x = node.inputs[0]!;
    if (node.attrs.output === 'indices' || x.dtype !== 'float32') return [null];
    const { axis, k } = node.attrs;
    const n = x.shape[axis]!;
    const toLast = [...x.shape.map((_, a) => a).filter((a) => a !== axis), axis];
    const fromLast = new Array<number>(x.rank);
    toLast.forEach((p, a) => (fromLast[p] = a));
    const indices = transpose(apply('topk', [x], { axis, k, output: 'indices' }), toLast); // [..., k]
    const spread = mul(oneHot(indices, n), unsqueeze(transpose(gy, toLast), -1)); // [..., k, n]
    return [transpose(sum(spread, -2), fromLast)];
  },
  ref: ([x], node) => lanes(x!, node.attrs.axis, (values, write) => {
    const order = values.map((_, k) => k).sort((a, b) => values[b]! - values[a]! || a - b);
    for (let j = 0; j < node.attrs.k; j++) write(j, node.attrs.output === 'values' ? values[order[j]!]! : order[j]!);
  }, node.attrs.k),
});

/** The k largest values along `axis`, in descending order, and their int64 indices. Of tied values the
 *  lower index comes first. `values` is differentiable; `indices` is not. */
export function topk(x: Tensor, k: number, axis = -1): { values: Tensor; indices: Tensor } {
  const a = normAxis(axis, x.rank, 'topk');
  return { values: apply('topk', [x], { axis: a, k, output: 'values' }), indices: apply('topk', [x], { axis: a, k, output: 'indices' }) };
}

// ---- compositions: arange, oneHot ----------------------------------------------------------------------

/** The constant [start, start+1, …, end−1] (int64 by default); `arange(n)` is [0, …, n−1]. */
export function arange(start: number, end?: number, dtype: DType = 'int64'): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new RangeError(`arange: bad range [${lo}, ${hi})`);
  const values = Array.from({ length: hi - lo }, (_, i) => lo + i);
  if (dtype === 'bool') throw new TypeError('arange: dtype must be int64 or float32, got bool');
  return constant(dtype === 'int64' ? NDArray.int64(values) : NDArray.float32(values));
}

/** One-hot vectors of `depth` for int64 `indices` of any shape: [...indices.shape, depth] of `dtype`
 *  (float32 by default). An index outside [0, depth) gives an all-zero vector. Composed as
 *  equal(indices[..., None], arange(depth)), which ONNX Runtime runs as one broadcast comparison. */
export function oneHot(indices: Tensor, depth: number, dtype: DType = 'float32'): Tensor {
  needIndices('oneHot', indices);
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`oneHot: depth must be a positive integer, got ${depth}`);
  return cast(equal(unsqueeze(indices, -1), arange(depth)), dtype);
}

