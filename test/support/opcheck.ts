// Op checks in the spirit of llm.c: every op runs on ONNX Runtime and in the float64 reference interpreter
// on fresh random inputs, and every gradient rule is checked against central finite differences in float64.
// The seed changes each run and is printed, so a failure can be replayed with TEST_SEED=<seed>.
import * as T from '../../src/tensor/index.ts';
import { interpret } from '../../src/tensor/interpreter.ts';
import { vjp } from '../../src/tensor/autodiff.ts';
import type { RefArray } from '../../src/tensor/op.ts';
import { sizeOf } from '../../src/tensor/shape.ts';

export interface InputSpec {
  shape: number[];
  /** randn (default), positive (uniform 0.5–2), int (uniform integers in [0, high)), bool. */
  kind?: 'randn' | 'positive' | 'int' | 'bool';
  high?: number;
  /** Exclude from the gradient check (e.g. a mask-like float input). */
  noGrad?: boolean;
}

export interface OpCase {
  /** The registered op(s) this case exercises. */
  ops: string[];
  name: string;
  inputs: InputSpec[];
  fn: (...xs: T.Tensor[]) => T.Tensor;
  /** Skip the gradient check (ops without a gradient, or integer outputs). */
  noGrad?: boolean;
}

export const RUN_SEED = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`# op checks seeded with TEST_SEED=${RUN_SEED}`);

export function makeInputs(specs: readonly InputSpec[], rng: T.Rng): T.NDArray[] {
  return specs.map((s) => {
    const n = sizeOf(s.shape);
    switch (s.kind ?? 'randn') {
      case 'randn': return rng.randn(s.shape);
      case 'positive': return rng.uniform(s.shape, 0.5, 2);
      case 'int': return T.NDArray.int64(Array.from({ length: n }, () => rng.int(s.high ?? 10)), s.shape);
      case 'bool': return T.NDArray.bool(Array.from({ length: n }, () => rng.next() < 0.5), s.shape);
    }
  });
}

function toF64(a: T.NDArray): Float64Array {
  return Float64Array.from(a.data as ArrayLike<number | bigint>, Number);
}

export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return num === 0 ? 0 : Math.sqrt(num / Math.max(den, 1e-30));
}

/** ONNX Runtime vs the reference interpreter; returns the relative error (0 means exact for ints). */
export async function checkForward(c: OpCase, rng: T.Rng): Promise<number> {
  const xs = makeInputs(c.inputs, rng);
  const onnx = T.compile(c.fn, { name: c.name });
  const ref = T.compile(c.fn, { backend: 'reference', name: c.name });
  const [a, b] = await Promise.all([onnx(...xs), ref(...xs)]);
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) {
    throw new Error(`${c.name}: onnx gave ${a.dtype}[${a.shape}], reference ${b.dtype}[${b.shape}]`);
  }
  const got = toF64(a);
  const want = toF64(b);
  if (a.dtype !== 'float32') {
    const bad = want.findIndex((v, i) => v !== got[i]);
    if (bad >= 0) throw new Error(`${c.name}: element ${bad} is ${got[bad]} on ONNX Runtime, ${want[bad]} in the reference`);
    return 0;
  }
  return relativeError(got, want);
}

/** Reference gradients (through the op's gradient rule) vs central differences, in float64. */
export function checkGradient(c: OpCase, rng: T.Rng, maxProbes = 24): number {
  const hosts = makeInputs(c.inputs, rng);
  const inputs = hosts.map((h, i) => T.placeholder(h.shape, h.dtype, `x${i}`));
  const y = c.fn(...inputs);
  const cot = T.constant(rng.randn(y.shape));
  const loss = T.sum(T.mul(y, cot));
  const wrt = inputs.filter((t, i) => t.dtype === 'float32' && !c.inputs[i]!.noGrad);
  const grads = vjp(loss, wrt);
  const feeds = new Map<T.Tensor, RefArray>(inputs.map((t, i) => [t, { shape: hosts[i]!.shape, data: toF64(hosts[i]!) }]));
  const analytic = interpret(grads, feeds);

  const lossAt = (): number => interpret([loss], feeds)[0]!.data[0]!;
  const h = 1e-5;
  const fd: number[] = [];
  const an: number[] = [];
  wrt.forEach((t, k) => {
    const values = feeds.get(t)!.data;
    const probes = values.length <= maxProbes ? values.map((_, i) => i) : Array.from({ length: maxProbes }, () => rng.int(values.length));
    for (const i of probes) {
      const v = values[i]!;
      values[i] = v + h;
      const up = lossAt();
      values[i] = v - h;
      const down = lossAt();
      values[i] = v;
      fd.push((up - down) / (2 * h));
      an.push(analytic[k]!.data[i]!);
    }
  });
  return relativeError(an, fd);
}
