// Elementwise ops: unary maths, broadcasting binary arithmetic, comparisons, where and cast.
import { type DType, assertDType } from '../dtype.ts';
import { CONTRIB_DOMAIN, OnnxDataType } from '../onnx-proto.ts';
import { attr, defineOp } from '../op.ts';
import { erf as erfRef, mapBroadcast, mapUnary } from '../ref-kernels.ts';
import { broadcastShapes, shapeStr } from '../shape.ts';
import { type Tensor, type TensorLike, apply, isTensor, toTensor } from '../tensor.ts';
import { sumToShape } from './reduce.ts';

// ---- unary ---------------------------------------------------------------------------------------------

function defineUnary(
  name: string,
  onnx: string,
  f: (v: number) => number,
  grad?: (gy: Tensor, x: Tensor, y: Tensor) => Tensor,
  floatOnly = true,
  domain?: string,
): void {
  defineOp<{}>({
    name,
    infer([x]) {
      if (floatOnly && x!.dtype !== 'float32') throw new TypeError(`${name}: needs float32, got ${x!.dtype}${shapeStr(x!.shape)}`);
      return { shape: x!.shape, dtype: x!.dtype };
    },
    lower: (ctx, [x]) => ctx.emit(onnx, [x!], undefined, 1, domain)[0]!,
    ...(grad && { grad: (gy: Tensor, node: Tensor) => [grad(gy, node.inputs[0]!, node)] }),
    ref: ([x]) => mapUnary(x!, f),
  });
}

defineUnary('neg', 'Neg', (v) => -v, (gy) => neg(gy), false);
defineUnary('exp', 'Exp', Math.exp, (gy, _x, y) => mul(gy, y));
defineUnary('log', 'Log', Math.log, (gy, x) => div(gy, x));
defineUnary('sqrt', 'Sqrt', Math.sqrt, (gy, _x, y) => div(mul(gy, 0.5), y));
defineUnary('abs', 'Abs', Math.abs, (gy, x) => mul(gy, sign(x)), false);
defineUnary('tanh', 'Tanh', Math.tanh, (gy, _x, y) => mul(gy, sub(1, mul(y, y))));
defineUnary('sigmoid', 'Sigmoid', (v) => 1 / (1 + Math.exp(-v)), (gy, _x, y) => mul(gy, mul(y, sub(1, y))));
defineUnary('relu', 'Relu', (v) => Math.max(v, 0), (gy, x) => where(greater(x, 0), gy, 0));
defineUnary('erf', 'Erf', erfRef, (gy, x) => mul(gy, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))));

export const neg = (x: Tensor): Tensor => apply('neg', [x], {});
export const exp = (x: Tensor): Tensor => apply('exp', [x], {});
export const log = (x: Tensor): Tensor => apply('log', [x], {});
export const sqrt = (x: Tensor): Tensor => apply('sqrt', [x], {});
export const abs = (x: Tensor): Tensor => apply('abs', [x], {});
export const tanh = (x: Tensor): Tensor => apply('tanh', [x], {});
export const sigmoid = (x: Tensor): Tensor => apply('sigmoid', [x], {});
export const relu = (x: Tensor): Tensor => apply('relu', [x], {});
export const erf = (x: Tensor): Tensor => apply('erf', [x], {});

/** −1, 0 or 1, as a float tensor. */
export function sign(x: Tensor): Tensor {
  return sub(cast(greater(x, 0), x.dtype), cast(less(x, 0), x.dtype));
}

export const square = (x: Tensor): Tensor => mul(x, x);

/** GELU with the exact erf form, x·Φ(x) (PyTorch's default), as one op: forward, ONNX Runtime's fused
 *  Gelu kernel (one pass where the composed form took five; ONNX's own Gelu needs opset 20); backward,
 *  gy·(Φ(x) + x·φ(x)) in ten passes, as many as differentiating the composed form took, whose forward
 *  pattern could not be fused because the backward read its intermediates. */
defineUnary('gelu', 'Gelu', (v) => 0.5 * v * (1 + erfRef(v * Math.SQRT1_2)), (gy, x) => {
  // With a = x/√2: Φ(x) + x·φ(x) = (1 + erf a + a·2exp(−a²)/√π)/2. The factor 2/√π rides inside the
  // exponential as ln(2/√π) − a², which also spares a negation (eleven passes before).
  const a = mul(x, Math.SQRT1_2);
  const twoPdf = exp(sub(Math.log(2 / Math.sqrt(Math.PI)), mul(a, a)));
  return mul(mul(gy, 0.5), add(add(erf(a), mul(a, twoPdf)), 1));
}, true, CONTRIB_DOMAIN);

export const gelu = (x: Tensor): Tensor => apply('gelu', [x], {});

// ---- binary --------------------------------------------------------------------------------------------

function binaryInfer(name: string, a: Tensor, b: Tensor, allowBool = false): { shape: number[]; dtype: DType } {
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${name}: dtypes differ: ${a.dtype}${shapeStr(a.shape)} and ${b.dtype}${shapeStr(b.shape)}`);
  }
  if (!allowBool && a.dtype === 'bool') throw new TypeError(`${name}: arithmetic on bool tensors; cast them first`);
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) throw new RangeError(`${name}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} do not broadcast`);
  return { shape, dtype: a.dtype };
}

function defineBinary(
  name: string,
  onnx: string,
  f: (a: number, b: number, dtype: DType) => number,
  grad?: (gy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null],
): void {
  defineOp<{}>({
    name,
    infer: ([a, b]) => binaryInfer(name, a!, b!),
    lower: (ctx, [a, b]) => ctx.emit(onnx, [a!, b!])[0]!,
    ...(grad && {
      grad: (gy: Tensor, node: Tensor) => {
        const [a, b] = node.inputs as [Tensor, Tensor];
        const [ga, gb] = grad(gy, a, b, node);
        return [ga && sumToShape(ga, a.shape), gb && sumToShape(gb, b.shape)];
      },
    }),
    ref: (inputs, node) => mapBroadcast(inputs, node.shape, (a, b) => f(a!, b!, node.dtype)),
  });
}

const intDiv = (a: number, b: number) => Math.trunc(a / b);
defineBinary('add', 'Add', (a, b) => a + b, (gy) => [gy, gy]);
defineBinary('sub', 'Sub', (a, b) => a - b, (gy) => [gy, neg(gy)]);
defineBinary('mul', 'Mul', (a, b) => a * b, (gy, a, b) => [mul(gy, b), mul(gy, a)]);
defineBinary('div', 'Div', (a, b, dt) => (dt === 'int64' ? intDiv(a, b) : a / b), (gy, a, b) => [div(gy, b), neg(div(mul(gy, a), mul(b, b)))]);
defineBinary('pow', 'Pow', (a, b) => Math.pow(a, b), (gy, a, b, y) => [
  mul(gy, mul(b, pow(a, sub(b, 1)))),
  mul(gy, mul(y, log(a))),
]);
defineBinary('maximum', 'Max', (a, b) => Math.max(a, b), (gy, a, b) => {
  const pickA = greaterOrEqual(a, b);
  return [where(pickA, gy, 0), where(pickA, 0, gy)];
});
defineBinary('minimum', 'Min', (a, b) => Math.min(a, b), (gy, a, b) => {
  const pickA = lessOrEqual(a, b);
  return [where(pickA, gy, 0), where(pickA, 0, gy)];
});

/** Coerce a number operand to the dtype of the tensor operand. */
function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const like = isTensor(a) ? a.dtype : isTensor(b) ? b.dtype : 'float32';
  return [toTensor(a, like), toTensor(b, like)];
}

export const add = (a: TensorLike, b: TensorLike): Tensor => apply('add', pair(a, b), {});
export const sub = (a: TensorLike, b: TensorLike): Tensor => apply('sub', pair(a, b), {});
export const mul = (a: TensorLike, b: TensorLike): Tensor => apply('mul', pair(a, b), {});
export const div = (a: TensorLike, b: TensorLike): Tensor => apply('div', pair(a, b), {});
export const pow = (a: TensorLike, b: TensorLike): Tensor => apply('pow', pair(a, b), {});
export const maximum = (a: TensorLike, b: TensorLike): Tensor => apply('maximum', pair(a, b), {});
export const minimum = (a: TensorLike, b: TensorLike): Tensor => apply('minimum', pair(a, b), {});

// ---- comparisons, where, cast --------------------------------------------------------------------------

function defineCompare(name: string, onnx: string, f: (a: number, b: number) => boolean): void {
  defineOp<{}>({
    name,
    infer: ([a, b]) => ({ shape: binaryInfer(name, a!, b!, true).shape, dtype: 'bool' }),
    lower: (ctx, [a, b]) => ctx.emit(onnx, [a!, b!])[0]!,
    ref: (inputs, node) => mapBroadcast(inputs, node.shape, (a, b) => (f(a!, b!) ? 1 : 0)),
  });
}

defineCompare('equal', 'Equal', (a, b) => a === b);
defineCompare('less', 'Less', (a, b) => a < b);
defineCompare('greater', 'Greater', (a, b) => a > b);
defineCompare('lessOrEqual', 'LessOrEqual', (a, b) => a <= b);
defineCompare('greaterOrEqual', 'GreaterOrEqual', (a, b) => a >= b);

export const equal = (a: TensorLike, b: TensorLike): Tensor => apply('equal', pair(a, b), {});
export const less = (a: TensorLike, b: TensorLike): Tensor => apply('less', pair(a, b), {});
export const greater = (a: TensorLike, b: TensorLike): Tensor => apply('greater', pair(a, b), {});
export const lessOrEqual = (a: TensorLike, b: TensorLike): Tensor => apply('lessOrEqual', pair(a, b), {});
export const greaterOrEqual = (a: TensorLike, b: TensorLike): Tensor => apply('greaterOrEqual', pair(a, b), {});

defineOp<{}>({
  name: 'where',
  infer([c, a, b]) {
    if (c!.dtype !== 'bool') throw new TypeError(`where: condition must be bool, got ${c!.dtype}${shapeStr(c!.shape)}`);
    const ab = binaryInfer('where', a!, b!, true);
    const shape = broadcastShapes(c!.shape, ab.shape);
    if (!shape) throw new RangeError(`where: condition ${shapeStr(c!.shape)} does not broadcast with values ${shapeStr(ab.shape)}`);
    return { shape, dtype: ab.dtype };
  },
  lower: (ctx, [c, a, b]) => ctx.emit('Where', [c!, a!, b!])[0]!,
  grad(gy, node) {
    const [c, a, b] = node.inputs as [Tensor, Tensor, Tensor];
    return [null, sumToShape(where(c, gy, 0), a.shape), sumToShape(where(c, 0, gy), b.shape)];
  },
  ref: (inputs, node) => mapBroadcast(inputs, node.shape, (c, a, b) => (c ? a! : b!)),
});

export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  return apply('where', [cond, ...pair(a, b)], {});
}

defineOp<{ to: DType }>({
  name: 'cast',
  infer: ([x], { to }) => ({ shape: x!.shape, dtype: to }),
  lower: (ctx, [x], node) => ctx.emit('Cast', [x!], { to: attr.int(OnnxDataType[node.attrs.to]) })[0]!,
  grad: (gy, node) => [node.inputs[0]!.dtype === 'float32' && node.dtype === 'float32' ? gy : null],
  ref: ([x], node) => mapUnary(x!, (v) => (node.attrs.to === 'bool' ? (v !== 0 ? 1 : 0) : node.attrs.to === 'int64' ? Math.trunc(v) : v)),
});

/** The identity whose gradient is zero: straight-through estimators and targets that must not be trained. */
defineOp<{}>({
  name: 'stopGradient',
  infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  lower: (ctx, [x]) => ctx.emit('Identity', [x!])[0]!,
  ref: ([x]) => x!.data.slice(),
});

export const stopGradient = (x: Tensor): Tensor => apply('stopGradient', [x], {});

export function cast(x: Tensor, to: DType): Tensor {
  assertDType(to, 'cast');
  return x.dtype === to ? x : apply('cast', [x], { to });
}
