// The op interface and registry. Each op is defined once, in one place (src/tensor/ops/*): its shape/dtype
// rule, its ONNX lowering, its gradient rule (expressed in other traced ops) and its float64 reference kernel.
import type { DType } from './dtype.ts';
import type { OnnxAttr, OnnxTensor } from './onnx-proto.ts';
import type { Tensor } from './tensor.ts';

/** A value in the reference interpreter: float64 data in row-major order (int64 and bool as numbers). */
export interface RefArray {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export interface LowerContext {
  /** Emit one ONNX node; returns its output names (fresh unless given). `domain`: an operator set other
   *  than ONNX's own (CONTRIB_DOMAIN for ONNX Runtime's contrib ops). */
  emit(opType: string, inputs: readonly string[], attrs?: Record<string, OnnxAttr>, outputs?: number, domain?: string): string[];
  /** An int64 initializer (deduplicated), e.g. for Reshape shapes and Slice starts. */
  int64s(values: readonly number[], dims?: readonly number[]): string;
  /** A float32 or other-typed scalar/array initializer. */
  constant(t: Omit<OnnxTensor, 'name'>): string;
}

export interface OpDef<A = any> {
  readonly name: string;
  infer(inputs: readonly Tensor[], attrs: A): { shape: readonly number[]; dtype: DType };
  lower(ctx: LowerContext, inputs: readonly string[], node: Tensor<A>): string;
  /** Cotangents of the inputs given the output's cotangent; null where an input gets none. Absent: the
   *  op is not differentiable (comparisons, argmax, casts to int) and passes no gradient. */
  grad?(gy: Tensor, node: Tensor<A>): (Tensor | null)[];
  ref(inputs: readonly RefArray[], node: Tensor<A>): Float64Array;
}

const registry = new Map<string, OpDef>();

export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  if (registry.has(def.name)) throw new Error(`op ${def.name} is defined twice`);
  registry.set(def.name, def as OpDef);
  return def;
}

export function getOp(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new Error(`unknown op ${name}`);
  return def;
}

export function registeredOps(): string[] {
  return [...registry.keys()];
}

// Attribute builders for lowerings.
export const attr = {
  int: (value: number): OnnxAttr => ({ kind: 'int', value }),
  float: (value: number): OnnxAttr => ({ kind: 'float', value }),
  ints: (value: readonly number[]): OnnxAttr => ({ kind: 'ints', value }),
  string: (value: string): OnnxAttr => ({ kind: 'string', value }),
};
