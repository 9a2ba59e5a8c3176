// Symbolic tensors. A Tensor is a node of a traced graph: the op that makes it, its input tensors, the op's
// attributes, and the static shape and dtype its op's rule computed at trace time. Model code builds these
// by calling ops; `compile` lowers the graph reachable from its outputs, `grad` extends it backwards.
import { type DType, assertDType } from './dtype.ts';
import { NDArray } from './ndarray.ts';
import { getOp } from './op.ts';
import { type Shape, sizeOf, shapeStr } from './shape.ts';

let nextId = 0;

export class Tensor<A = any> {
  readonly id = nextId++;
  constructor(
    readonly op: string,
    readonly inputs: readonly Tensor[],
    readonly attrs: A,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  toString(): string {
    return `Tensor(${this.op}, ${this.dtype}${shapeStr(this.shape)})`;
  }
}

export type TensorLike = Tensor | number;

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}

/** Build the node for a registered op, checking shapes and dtypes now, at trace time. */
export function apply<A>(op: string, inputs: readonly Tensor[], attrs: A): Tensor<A> {
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`${op}: input ${i} is ${describe(x)}, not a Tensor`);
  });
  const { shape, dtype } = getOp(op).infer(inputs, attrs);
  return new Tensor(op, inputs, attrs, shape, dtype);
}

/** A graph input: a placeholder whose value arrives with each call of a compiled function. */
export function placeholder(shape: Shape, dtype: DType, name: string): Tensor<{ name: string }> {
  assertDType(dtype, `placeholder '${name}'`);
  return new Tensor('input', [], { name }, [...shape], dtype);
}

/** A value baked into the graph. */
export function constant(value: NDArray | number, dtype: DType = 'float32'): Tensor<{ value: NDArray }> {
  const arr = value instanceof NDArray ? value : NDArray.scalar(value, assertDType(dtype, 'constant'));
  return new Tensor('const', [], { value: arr }, arr.shape, arr.dtype);
}

/** A scalar operand becomes a constant of the other operand's dtype. */
export function toTensor(x: TensorLike, like: DType = 'float32'): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') return constant(x, like);
  throw new TypeError(`expected a Tensor or a number, got ${describe(x)}`);
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof NDArray) return `a host NDArray ${x.dtype}${shapeStr(x.shape)} (wrap it with constant() or pass it as a compiled function's argument)`;
  return typeof x === 'object' ? `a ${(x as object).constructor?.name ?? 'object'}` : `a ${typeof x} (${String(x)})`;
}
