// The engine's public surface: symbolic tensors and their ops, grad and compile, host arrays and randomness.
export * from './ops/index.ts';
export { Tensor, type TensorLike, constant, isTensor, placeholder } from './tensor.ts';
export { NDArray, isNDArray } from './ndarray.ts';
export { type DType, DTYPES } from './dtype.ts';
export { grad, valueAndGrad, vjp } from './autodiff.ts';
export { compile, constants, type Compiled, type CompileOptions, type Hosted } from './compile.ts';
export { interpret } from './interpreter.ts';
export { Rng } from './random.ts';
export { flattenTree, unflattenTree, mapTree, type TreeDef } from './tree.ts';
export { registeredOps } from './op.ts';
