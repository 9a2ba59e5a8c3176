// Lowering: a traced graph becomes an ONNX model. Every shape is static (we trace per input signature), so
// shape operands such as Reshape targets and Slice bounds are int64 initializers.
import { type DType } from './dtype.ts';
import { graphNameFor, outputNameFor } from './names.ts';
import { NDArray } from './ndarray.ts';
import { type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxAttr, encodeModel } from './onnx-proto.ts';
import { type LowerContext, getOp } from './op.ts';
import { topoSort } from './graph.ts';
import type { Tensor } from './tensor.ts';

export function hostBytes(a: NDArray): Uint8Array {
  return new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
}

export function lowerToOnnx(inputs: readonly Tensor[], outputs: readonly Tensor[], name = 'dalle_ts'): Uint8Array {
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
      const key = t.raw.length <= 1 << 20 ? `${t.elem}:${t.dims.join('x')}:${Buffer.from(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength).toString('base64')}` : null;
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
  for (const t of topoSort(outputs)) {
    if (valueOf.has(t.id)) continue;
    if (t.op === 'input') {
      throw new Error(`lowering: ${t} (input '${t.attrs.name}') is used by the function but is not one of its inputs; was it traced by another call?`);
    }
    if (t.op === 'const') {
      const value = t.attrs.value as NDArray;
      valueOf.set(t.id, ctx.constant({ elem: value.dtype, dims: value.shape, raw: hostBytes(value) }));
      continue;
    }
    valueOf.set(t.id, getOp(t.op).lower(ctx, t.inputs.map((x) => valueOf.get(x.id)!), t));
  }

  const outputNames = outputs.map((t, i) => {
    const out = outputNameFor(i);
    nodes.push({ opType: 'Identity', inputs: [valueOf.get(t.id)!], outputs: [out] });
    return out;
  });
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
