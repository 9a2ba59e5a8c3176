// The reference interpreter: runs a traced graph op by op in float64 with each op's plain-loop kernel. It
// is the oracle for every test, and the fallback backend where ONNX Runtime cannot load.
import { allocHost } from './dtype.ts';
import { topoSort } from './graph.ts';
import { NDArray } from './ndarray.ts';
import { type RefArray, getOp } from './op.ts';
import type { Tensor } from './tensor.ts';

export function toRef(a: NDArray | RefArray): RefArray {
  if (!(a instanceof NDArray)) return a;
  // A typed-array copy for float and bool data (a baked weight converts in a few ms, where a mapped
  // Array.from took ~0.1 s a million elements); int64 needs Number() per element.
  const data = a.data instanceof BigInt64Array ? Float64Array.from(a.data, Number) : new Float64Array(a.data);
  return { shape: a.shape, data };
}

export function fromRef(r: RefArray, t: Tensor): NDArray {
  const out = allocHost(t.dtype, r.data.length);
  if (out instanceof BigInt64Array) r.data.forEach((v, i) => (out[i] = BigInt(Math.trunc(v))));
  else out.set(r.data);
  return new NDArray(out, r.shape, t.dtype);
}

/** Evaluate `outputs` given values for the graph's inputs (float64 values may be fed directly). */
export function interpret(outputs: readonly Tensor[], feeds: ReadonlyMap<Tensor, NDArray | RefArray>): RefArray[] {
  const values = new Map<number, RefArray>();
  for (const [t, v] of feeds) values.set(t.id, toRef(v));
  for (const t of topoSort(outputs)) {
    if (values.has(t.id)) continue;
    if (t.op === 'input') throw new Error(`interpret: no value fed for ${t} (input '${t.attrs.name}')`);
    if (t.op === 'const') {
      values.set(t.id, toRef(t.attrs.value as NDArray));
      continue;
    }
    const data = getOp(t.op).ref(t.inputs.map((x) => values.get(x.id)!), t);
    if (data.length !== t.size) throw new Error(`interpret: ${t.op} kernel returned ${data.length} values for ${t}`);
    values.set(t.id, { shape: t.shape, data });
  }
  return outputs.map((t) => values.get(t.id)!);
}
