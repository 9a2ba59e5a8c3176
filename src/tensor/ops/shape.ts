// Ops that move data without arithmetic: reshape, transpose, expand, slice (with steps), concat, pad; and the
// compositions squeeze, unsqueeze, flatten, split.
import { OnnxDataType } from '../onnx-proto.ts';
import { attr, defineOp } from '../op.ts';
import { mapBroadcast, ravel, stridedIndices, unravel } from '../ref-kernels.ts';
import { type Shape, broadcastShapes, normAxis, shapeStr, sizeOf, stridesOf } from '../shape.ts';
import { type Tensor, apply } from '../tensor.ts';
import { sumToShape } from './reduce.ts';

// ---- reshape -------------------------------------------------------------------------------------------

defineOp<{ shape: number[] }>({
  name: 'reshape',
  infer: ([x], { shape }) => ({ shape, dtype: x!.dtype }),
  lower: (ctx, [x], node) => ctx.emit('Reshape', [x!, ctx.int64s(node.attrs.shape)])[0]!,
  grad: (gy, node) => [reshape(gy, node.inputs[0]!.shape)],
  ref: ([x]) => x!.data.slice(),
});

/** Reshape, with at most one −1 inferred from the size. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  const knownSize = sizeOf(known);
  if (inferred > 1 || known.some((d) => !Number.isInteger(d) || d < 0) || (inferred === 1 && (knownSize === 0 || x.size % knownSize !== 0))) {
    throw new RangeError(`reshape: cannot reshape ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  }
  const target = shape.map((d) => (d === -1 ? x.size / knownSize : d));
  if (sizeOf(target) !== x.size) throw new RangeError(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  if (target.length === x.rank && target.every((d, i) => d === x.shape[i])) return x;
  // A reshape of a reshape is one reshape (each is a node ONNX Runtime dispatches).
  if (x.op === 'reshape') return reshape(x.inputs[0]!, target);
  return apply('reshape', [x], { shape: target });
}

export function flatten(x: Tensor, fromAxis = 0): Tensor {
  const a = normAxis(fromAxis, x.rank, 'flatten');
  return reshape(x, [...x.shape.slice(0, a), -1]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.rank + 1, 'unsqueeze');
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) throw new RangeError(`squeeze: axis ${axis} of ${shapeStr(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

// ---- transpose -----------------------------------------------------------------------------------------

defineOp<{ perm: number[] }>({
  name: 'transpose',
  infer: ([x], { perm }) => ({ shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype }),
  lower: (ctx, [x], node) => ctx.emit('Transpose', [x!], { perm: attr.ints(node.attrs.perm) })[0]!,
  grad(gy, node) {
    const inverse = new Array<number>(node.attrs.perm.length);
    node.attrs.perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(gy, inverse)];
  },
  ref([x], node) {
    const inStrides = stridesOf(x!.shape);
    return Float64Array.from(stridedIndices(node.shape, node.attrs.perm.map((p) => inStrides[p]!)), (j) => x!.data[j]!);
  },
});

/** Permute axes; without `perm`, reverse them. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? perm.map((a) => normAxis(a, x.rank, 'transpose')) : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new RangeError(`transpose: [${(perm ?? []).join(', ')}] is not a permutation of the ${x.rank} axes of ${shapeStr(x.shape)}`);
  }
  if (p.every((a, i) => a === i)) return x;
  // A permutation that keeps the axes longer than 1 in their order moves no data (a decode step's
  // [B, 1, heads, d] → [B, heads, 1, d]): a reshape, which needs no copy.
  const moved = p.filter((a) => x.shape[a]! > 1);
  if (moved.every((a, i) => i === 0 || a > moved[i - 1]!)) return reshape(x, p.map((a) => x.shape[a]!));
  return apply('transpose', [x], { perm: p });
}

/** Swap the last two axes (matrix transpose over a batch). */
export function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 1], perm[x.rank - 2]] = [perm[x.rank - 2]!, perm[x.rank - 1]!];
  return transpose(x, perm);
}

// ---- expand (broadcast to a shape) ---------------------------------------------------------------------

defineOp<{ shape: number[] }>({
  name: 'expand',
  infer([x], { shape }) {
    const out = broadcastShapes(x!.shape, shape);
    if (!out || out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
      throw new RangeError(`expand: ${shapeStr(x!.shape)} does not broadcast to ${shapeStr(shape)}`);
    }
    return { shape, dtype: x!.dtype };
  },
  lower: (ctx, [x], node) => ctx.emit('Expand', [x!, ctx.int64s(node.attrs.shape)])[0]!,
  grad: (gy, node) => [sumToShape(gy, node.inputs[0]!.shape)],
  ref: (inputs, node) => mapBroadcast(inputs, node.shape, (v) => v!),
});

export function expand(x: Tensor, shape: Shape): Tensor {
  if (x.rank === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return apply('expand', [x], { shape: [...shape] });
}

// ---- slice ---------------------------------------------------------------------------------------------

/** Per-axis slice in normalised form: positions start, start+step, … (count of them). */
interface SliceAttrs {
  starts: number[];
  steps: number[];
  counts: number[];
}


/** Ref: copy the sliced elements (or, for the gradient, scatter them back). */
function sliceIndexMap(inShape: Shape, a: SliceAttrs): Int32Array {
  const inStrides = stridesOf(inShape);
  return stridedIndices(a.counts, inStrides.map((s, ax) => s * a.steps[ax]!), ravel(a.starts, inStrides));
}

defineOp<SliceAttrs>({
  name: 'slice',
  infer: ([x], a) => ({ shape: a.counts, dtype: x!.dtype }),
  lower(ctx, [x], node) {
    const a = node.attrs;
    const axes = a.starts.map((_, i) => i);
    // End one step past the last position; a negative end past −1 would wrap, so clamp with INT64_MIN-ish.
    const ends = axes.map((i) => {
      const end = a.starts[i]! + a.counts[i]! * a.steps[i]!;
      return end < 0 ? -(2 ** 53) : end;
    });
    return ctx.emit('Slice', [x!, ctx.int64s(a.starts), ctx.int64s(ends), ctx.int64s(axes), ctx.int64s(a.steps)])[0]!;
  },
  grad: (gy, node) => [apply('sliceGrad', [gy], { ...node.attrs, inShape: [...node.inputs[0]!.shape] })],
  ref([x], node) {
    const map = sliceIndexMap(x!.shape, node.attrs);
    return Float64Array.from(map, (j) => x!.data[j]!);
  },
});

// The gradient of slice: place gy at the sliced positions of a zero tensor of the input's shape.
defineOp<SliceAttrs & { inShape: number[] }>({
  name: 'sliceGrad',
  infer: ([g], a) => ({ shape: a.inShape, dtype: g!.dtype }),
  lower(ctx, [g], node) {
    const a = node.attrs;
    if (a.steps.every((s) => s === 1)) {
      const before = a.starts;
      const after = a.inShape.map((d, i) => d - a.starts[i]! - a.counts[i]!);
      return ctx.emit('Pad', [g!, ctx.int64s([...before, ...after])])[0]!;
    }
    // Strided: scatter into zeros at precomputed coordinates.
    const positions = sliceIndexMap(a.inShape, a);
    const coords = new Array<number>(positions.length * a.inShape.length);
    positions.forEach((p, i) => unravel(p, a.inShape).forEach((c, ax) => (coords[i * a.inShape.length + ax] = c)));
    const zeros = ctx.emit('ConstantOfShape', [ctx.int64s(a.inShape)], {}, 1)[0]!;
    const zerosTyped = ctx.emit('Cast', [zeros], { to: attr.int(OnnxDataType[node.dtype]) })[0]!;
    return ctx.emit('ScatterND', [zerosTyped, ctx.int64s(coords, [...a.counts, a.inShape.length]), g!])[0]!;
  },
  grad: (gy, node) => [apply('slice', [gy], { starts: node.attrs.starts, steps: node.attrs.steps, counts: node.attrs.counts })],
  ref([g], node) {
    const out = new Float64Array(sizeOf(node.attrs.inShape));
    sliceIndexMap(node.attrs.inShape, node.attrs).forEach((j, i) => (out[j] = g!.data[i]!));
    return out;
  },
});

export type SliceSpec = number | readonly [start?: number | null, end?: number | null, step?: number] | null;

/** NumPy-style slicing: one spec per leading axis — an index (axis kept with size 1; use squeeze to drop
 *  it), [start, end, step] with Python semantics for negatives and clamping, or null for the whole axis. */
export function slice(x: Tensor, specs: readonly SliceSpec[]): Tensor {
  if (specs.length > x.rank) throw new RangeError(`slice: ${specs.length} specs for a tensor of rank ${x.rank}`);
  const a: SliceAttrs = { starts: [], steps: [], counts: [] };
  x.shape.forEach((n, axis) => {
    const spec = specs[axis] ?? null;
    let start: number, step: number, count: number;
    if (typeof spec === 'number') {
      const i = normAxis(spec, n, 'slice index'); // same bounds rule as an axis
      [start, step, count] = [i, 1, 1];
    } else {
      step = spec?.[2] ?? 1;
      if (!Number.isInteger(step) || step === 0) throw new RangeError(`slice: step ${step} on axis ${axis}`);
      const clampIdx = (v: number | null | undefined, dflt: number, lo: number, hi: number) =>
        v === null || v === undefined ? dflt : Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
      if (step > 0) {
        start = clampIdx(spec?.[0], 0, 0, n);
        const end = clampIdx(spec?.[1], n, 0, n);
        count = Math.max(0, Math.ceil((end - start) / step));
      } else {
        start = clampIdx(spec?.[0], n - 1, -1, n - 1);
        const end = clampIdx(spec?.[1], -1, -1, n - 1);
        count = Math.max(0, Math.ceil((start - end) / -step));
      }
    }
    a.starts.push(start);
    a.steps.push(step);
    a.counts.push(count);
  });
  const identity = a.counts.every((c, i) => c === x.shape[i] && a.steps[i] === 1);
  return identity ? x : apply('slice', [x], a);
}

/** Slice `[start, end)` along one axis. */
export function sliceAxis(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis(axis, x.rank, 'sliceAxis');
  const specs: SliceSpec[] = x.shape.map(() => null);
  specs[a] = [start, end];
  return slice(x, specs);
}

/** Split along an axis into pieces of the given sizes (or `n` equal pieces). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis(axis, x.rank, 'split');
  const n = x.shape[a]!;
  const list = typeof sizes === 'number' ? Array<number>(sizes).fill(n / sizes) : [...sizes];
  if (list.some((s) => !Number.isInteger(s) || s < 0) || list.reduce((p, s) => p + s, 0) !== n) {
    throw new RangeError(`split: sizes [${list.join(', ')}] do not divide axis ${axis} of ${shapeStr(x.shape)}`);
  }
  let at = 0;
  return list.map((s) => sliceAxis(x, a, at, (at += s)));
}

// ---- concat --------------------------------------------------------------------------------------------

defineOp<{ axis: number }>({
  name: 'concat',
  infer(xs, { axis }) {
    const first = xs[0]!;
    for (const x of xs) {
      if (x.dtype !== first.dtype || x.rank !== first.rank || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        throw new RangeError(`concat: ${x.dtype}${shapeStr(x.shape)} does not match ${first.dtype}${shapeStr(first.shape)} off axis ${axis}`);
      }
    }
    const shape = [...first.shape];
    shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
    return { shape, dtype: first.dtype };
  },
  lower: (ctx, xs, node) => ctx.emit('Concat', xs, { axis: attr.int(node.attrs.axis) })[0]!,
  grad(gy, node) {
    let at = 0;
    return node.inputs.map((x) => sliceAxis(gy, node.attrs.axis, at, (at += x.shape[node.attrs.axis]!)));
  },
  ref(xs, node) {
    const axis = node.attrs.axis;
    const out = new Float64Array(sizeOf(node.shape));
    const outStrides = stridesOf(node.shape);
    let offset = 0;
    for (const x of xs) {
      stridedIndices(x.shape, outStrides, offset * outStrides[axis]!).forEach((j, i) => (out[j] = x.data[i]!));
      offset += x.shape[axis]!;
    }
    return out;
  },
});

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError('concat: no tensors given');
  if (xs.length === 1) return xs[0]!;
  return apply('concat', xs, { axis: normAxis(axis, xs[0]!.rank, 'concat') });
}

// ---- pad (constant) ------------------------------------------------------------------------------------

defineOp<{ before: number[]; after: number[]; value: number }>({
  name: 'pad',
  infer: ([x], { before, after }) => ({ shape: x!.shape.map((d, i) => d + before[i]! + after[i]!), dtype: x!.dtype }),
  lower(ctx, [x], node) {
    const { before, after, value } = node.attrs;
    const fill = ctx.constant({ elem: node.dtype === 'float32' ? 'float32' : node.dtype === 'int64' ? 'int64' : 'bool', dims: [], raw: scalarBytes(value, node.dtype) });
    return ctx.emit('Pad', [x!, ctx.int64s([...before, ...after]), fill])[0]!;
  },
  grad: (gy, node) => [slice(gy, node.inputs[0]!.shape.map((d, i) => [node.attrs.before[i]!, node.attrs.before[i]! + d] as const))],
  ref([x], node) {
    const out = new Float64Array(sizeOf(node.shape)).fill(node.attrs.value);
    const outStrides = stridesOf(node.shape);
    stridedIndices(x!.shape, outStrides, ravel(node.attrs.before, outStrides)).forEach((j, i) => (out[j] = x!.data[i]!));
    return out;
  },
});

function scalarBytes(value: number, dtype: string): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(Float32Array.of(value).buffer);
  if (dtype === 'int64') return new Uint8Array(BigInt64Array.of(BigInt(value)).buffer);
  return Uint8Array.of(value ? 1 : 0);
}

/** Constant padding: `pads` lists [before, after] per axis from the first axis (missing axes unpadded). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  if (pads.length > x.rank) throw new RangeError(`pad: ${pads.length} pairs for a tensor of rank ${x.rank}`);
  const before = x.shape.map((_, i) => pads[i]?.[0] ?? 0);
  const after = x.shape.map((_, i) => pads[i]?.[1] ?? 0);
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new RangeError(`pad: pads must be non-negative integers, got ${JSON.stringify(pads)}`);
  }
  return apply('pad', [x], { before, after, value });
}
