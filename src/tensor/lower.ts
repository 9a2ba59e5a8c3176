// Lowering: a traced graph becomes an ONNX model. Every shape is static (we trace per input signature), so
// shape operands such as Reshape targets and Slice bounds are int64 initializers.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type DType } from './dtype.ts';
import { graphNameFor, outputNameFor } from './names.ts';
import { NDArray } from './ndarray.ts';
import { interpret } from './interpreter.ts';
import { CONTRIB_DOMAIN, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxAttr, encodeModel } from './onnx-proto.ts';
import { type LowerContext, attr, getOp } from './op.ts';
import { topoSort } from './graph.ts';
import type { Tensor } from './tensor.ts';

/** Small constants are keyed by their bytes; larger ones (baked weights, masks) by a digest of them, which
 *  is faster than building and hashing a string of their whole base64. */
function contentKey(raw: Uint8Array): string {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return raw.length <= 256 ? bytes.toString('base64') : createHash('sha256').update(bytes).digest('base64');
}

export function hostBytes(a: NDArray): Uint8Array {
  return new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
}

export interface LowerOptions {
  /** 'int8': every product with a constant matrix (weights baked in with `constants`) runs as ONNX Runtime's
   *  DynamicQuantizeMatMul: see `int8Products`. Default 'float32'. */
  weights?: 'float32' | 'int8';
}

export function lowerToOnnx(inputs: readonly Tensor[], outputs: readonly Tensor[], name = 'dalle_ts', options: LowerOptions = {}): Uint8Array {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const valueOf = new Map<number, string>();
  let fresh = 0;
  const constantCache = new Map<string, string>();

  const ctx: LowerContext = {
    emit(opType, ins, attrs?: Record<string, OnnxAttr>, count = 1, domain?: string) {
      const outs = Array.from({ length: count }, () => `v${fresh++}`);
      nodes.push({ opType, inputs: ins, outputs: outs, ...(attrs && { attrs }), ...(domain && { domain }) });
      return outs;
    },
    int64s(values, dims = [values.length]) {
      return ctx.constant({ elem: 'int64', dims, raw: hostBytes(NDArray.int64(values, dims)) });
    },
    constant(t) {
      // Identical small constants (Reshape shapes, Slice starts, the ones-vector of every bias gradient's
      // sum) share one initializer.
      const key = t.raw.length <= 1 << 20 ? `${t.elem}:${t.dims.join('x')}:${contentKey(t.raw)}` : null;
      let n = key === null ? undefined : constantCache.get(key);
      if (!n) {
        n = `c${fresh++}`;
        initializers.push({ ...t, name: n });
        if (key !== null) constantCache.set(key, n);
      }
      return n;
    },
  };

  inputs.forEach((t, i) => valueOf.set(t.id, graphNameFor(i)));
  const int8 = options.weights === 'int8' ? int8Products(topoSort(outputs), outputs) : new Map<Tensor, Int8Product>();
  const biasAdds = new Map([...int8].flatMap(([product, { biasAdd }]) => (biasAdd ? [[biasAdd, product] as const] : [])));
  // A quantized product's weight and bias are computed here, so the nodes that built them are not lowered.
  const order = topoSort(outputs, (t) => (int8.has(t) ? [t.inputs[0]!] : biasAdds.has(t) ? [biasAdds.get(t)!] : t.inputs));
  const splits = planSplits(order);
  for (const t of order) {
    if (valueOf.has(t.id)) continue;
    const product = int8.get(t);
    if (product) {
      valueOf.set(t.id, lowerInt8Product(ctx, valueOf.get(t.inputs[0]!.id)!, t.inputs[1]!, product.bias));
      continue;
    }
    const fused = biasAdds.get(t);
    if (fused) {
      valueOf.set(t.id, valueOf.get(fused.id)!);
      continue;
    }
    if (t.op === 'input') {
      throw new Error(`lowering: ${t} (input '${t.attrs.name}') is used by the function but is not one of its inputs; was it traced by another call?`);
    }
    if (t.op === 'const') {
      const value = t.attrs.value as NDArray;
      valueOf.set(t.id, ctx.constant({ elem: value.dtype, dims: value.shape, raw: hostBytes(value) }));
      continue;
    }
    const split = splits.get(t.id);
    if (split) {
      // The first slice of a partition reached emits the whole Split; its siblings take their outputs.
      const parts = ctx.emit('Split', [valueOf.get(t.inputs[0]!.id)!, ctx.int64s(split.sizes)], { axis: attr.int(split.axis) }, split.sizes.length);
      for (const [id, part] of split.members) valueOf.set(id, parts[part]!);
      continue;
    }
    valueOf.set(t.id, getOp(t.op).lower(ctx, t.inputs.map((x) => valueOf.get(x.id)!), t));
  }

  // A graph output takes the name of the node that computes it rather than going through an Identity: a
  // decode step returns every layer's new keys and values, and each Identity was one more kernel per step.
  // Inputs, initializers and a value returned twice still need one.
  const producedBy = new Map<string, OnnxNode>();
  for (const node of nodes) for (const o of node.outputs) producedBy.set(o, node);
  const renamed = new Map<string, string>();
  const outputNames = outputs.map((t, i) => {
    const out = outputNameFor(i);
    const value = valueOf.get(t.id)!;
    const node = producedBy.get(value);
    if (node && !renamed.has(value)) {
      renamed.set(value, out);
      node.outputs = node.outputs.map((o) => (o === value ? out : o));
    } else {
      nodes.push({ opType: 'Identity', inputs: [renamed.get(value) ?? value], outputs: [out] });
    }
    return out;
  });
  if (renamed.size) for (const node of nodes) node.inputs = node.inputs.map((x) => renamed.get(x) ?? x);
  const info = (t: Tensor, n: string) => ({ name: n, elem: t.dtype as DType, dims: t.shape });
  const graph: OnnxGraph = {
    name,
    nodes,
    initializers,
    inputs: inputs.map((t, i) => info(t, graphNameFor(i))),
    outputs: outputs.map((t, i) => info(t, outputNames[i]!)),
  };
  return encodeModel(graph);
}

interface Int8Product {
  /** A constant [N] added to the product, the product's only reader: DynamicQuantizeMatMul adds it itself
   *  (one kernel fewer per linear layer, where a decode step's cost is its kernel count). */
  bias?: Tensor;
  biasAdd?: Tensor;
}

/** Products x·W whose W (rank 2) depends on constants alone: a baked weight, or one transposed, sliced or
 *  scaled at trace time; with the bias that follows each, where it can be fused. */
function int8Products(order: readonly Tensor[], outputs: readonly Tensor[]): Map<Tensor, Int8Product> {
  const constant = new Set<number>();
  const uses = new Map<number, Tensor[]>();
  const found = new Map<Tensor, Int8Product>();
  for (const t of order) {
    if (t.op === 'const' || (t.op !== 'input' && t.inputs.length > 0 && t.inputs.every((x) => constant.has(x.id)))) constant.add(t.id);
    for (const x of t.inputs) {
      const users = uses.get(x.id);
      if (users) users.push(t);
      else uses.set(x.id, [t]);
    }
    if (t.op === 'matmul' && t.inputs[1]!.rank === 2 && constant.has(t.inputs[1]!.id) && !constant.has(t.inputs[0]!.id)) found.set(t, {});
  }
  for (const [product, info] of found) {
    const users = uses.get(product.id) ?? [];
    const add = users[0];
    if (users.length !== 1 || outputs.includes(product) || add!.op !== 'add' || add!.inputs[0] !== product) continue;
    const bias = add!.inputs[1]!;
    if (constant.has(bias.id) && bias.rank === 1 && bias.shape[0] === product.shape[product.rank - 1] && bias.dtype === 'float32') {
      Object.assign(info, { bias, biasAdd: add });
    }
  }
  return found;
}

let int8WeightMaxFound: number | undefined;
/** The largest int8 weight: 127, or 63 on x86 CPUs without VNNI or AMX, whose u8·s8 kernel (vpmaddubsw) sums
 *  pairs of products into int16 with saturation (255·127·2 overflows it; 255·63·2 does not), which put
 *  whole outputs off by about 15% on such a Xeon. ONNX Runtime's own quantizer reduces the range the same way. */
function int8WeightMax(): number {
  if (int8WeightMaxFound === undefined) {
    // Read when the first int8 product is lowered, not when the module loads: float32 graphs never need it.
    let flags = '';
    try {
      flags = process.arch === 'x64' ? readFileSync('/proc/cpuinfo', 'utf8') : '';
    } catch {
      // No /proc/cpuinfo: assume the saturating kernel.
    }
    int8WeightMaxFound = process.arch !== 'x64' || /\b(avx512_vnni|avx_vnni|amx_int8)\b/.test(flags) ? 127 : 63;
  }
  return int8WeightMaxFound;
}

/**
 * x·W as DynamicQuantizeMatMul: W [K, N] quantized here to int8 with one scale per column (symmetric,
 * max |w| ↦ int8WeightMax()), x quantized by ONNX Runtime per call to uint8 over its own range; the
 * integer product accumulates in int32. On CPUs with AMX or VNNI this is several times faster than the float32 GEMM (a
 * [256, 256]·[256, 1024] product: 205 µs against 981 µs on one core of the Xeon this project benchmarks
 * on; [8, 256]: 23 µs against 63 µs), at a relative error of about 1% per product.
 */
function lowerInt8Product(ctx: LowerContext, x: string, weight: Tensor, bias?: Tensor): string {
  const [k, n] = weight.shape as [number, number];
  // A linear layer's product is with its [N, K] weight transposed: read that weight in place, W[i, j] at
  // i·rows + j·columns, rather than evaluating the transpose.
  const transposed = weight.op === 'transpose';
  const w = interpret([transposed ? weight.inputs[0]! : weight], new Map())[0]!.data;
  const [rows, columns] = transposed ? [1, k] : [n, 1];
  const q = new Int8Array(k * n);
  const scale = new Float32Array(n);
  const qMax = int8WeightMax();
  for (let j = 0; j < n; j++) {
    let max = 0;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(w[i * rows + j * columns]!));
    const s = max > 0 ? max / qMax : 1;
    scale[j] = s;
    for (let i = 0; i < k; i++) q[i * n + j] = Math.round(w[i * rows + j * columns]! / s);
  }
  const qName = ctx.constant({ elem: 'int8', dims: [k, n], raw: new Uint8Array(q.buffer) });
  const scaleName = ctx.constant({ elem: 'float32', dims: [n], raw: new Uint8Array(scale.buffer) });
  const inputs = [x, qName, scaleName];
  if (bias) {
    const b = Float32Array.from(interpret([bias], new Map())[0]!.data);
    inputs.push('', ctx.constant({ elem: 'float32', dims: [b.length], raw: new Uint8Array(b.buffer) }));
  }
  return ctx.emit('DynamicQuantizeMatMul', inputs, undefined, 1, CONTRIB_DOMAIN)[0]!;
}

interface SplitPlan {
  axis: number;
  sizes: number[];
  /** Slice tensor id → its part. */
  members: Map<number, number>;
}

/**
 * Slices of one tensor along one axis whose ranges tile that axis exactly (q, k and v out of one product;
 * a softmax split back into its parts) become one Split: one kernel instead of one per part, which matters
 * in a decode step whose cost is its kernel count.
 */
function planSplits(order: readonly Tensor[]): Map<number, SplitPlan> {
  const groups = new Map<string, { axis: number; slices: { id: number; start: number; count: number }[]; length: number }>();
  for (const t of order) {
    if (t.op !== 'slice') continue;
    const x = t.inputs[0]!;
    const a = t.attrs as { starts: number[]; steps: number[]; counts: number[] };
    const cut = x.shape.map((n, i) => a.starts[i] !== 0 || a.counts[i] !== n);
    if (a.steps.some((s) => s !== 1) || cut.filter(Boolean).length !== 1) continue;
    const axis = cut.indexOf(true);
    const key = `${x.id}:${axis}`;
    const group = groups.get(key) ?? { axis, slices: [], length: x.shape[axis]! };
    group.slices.push({ id: t.id, start: a.starts[axis]!, count: a.counts[axis]! });
    groups.set(key, group);
  }
  const plans = new Map<number, SplitPlan>();
  for (const g of groups.values()) {
    // The parts run from each distinct start to the next (the last to the axis's end); the slices tile the
    // axis when the first starts at 0 and every slice's length is its part's.
    const starts = [...new Set(g.slices.map((s) => s.start))].sort((p, q) => p - q);
    const sizes = starts.map((start, i) => (starts[i + 1] ?? g.length) - start);
    if (starts.length < 2 || starts[0] !== 0 || g.slices.some((s) => s.count === 0 || s.count !== sizes[starts.indexOf(s.start)])) continue;
    const plan: SplitPlan = { axis: g.axis, sizes, members: new Map(g.slices.map((s) => [s.id, starts.indexOf(s.start)])) };
    for (const s of g.slices) plans.set(s.id, plan);
  }
  return plans;
}
