// Bad use of the engine names the problem: a non-tensor operand names the op and the value, an unknown
// dtype is refused wherever a dtype is given.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';

it('a compiled function given a string where a tensor belongs names the op and the value', async () => {
  const f = T.compile((a: T.Tensor, b: T.Tensor) => T.matmul(a, b));
  await assert.rejects((f as (...args: unknown[]) => Promise<unknown>)(T.NDArray.zeros([2, 2]), 'x'), /matmul: input 1 is a string \(x\), not a Tensor/);
});

it('unknown dtypes are refused by constant, placeholder and cast', () => {
  assert.throws(() => T.constant(1, 'float16' as T.DType), /constant: unknown dtype "float16"/);
  assert.throws(() => T.placeholder([2], 'int8' as T.DType, 'x'), /placeholder 'x': unknown dtype "int8"/);
  assert.throws(() => T.cast(T.constant(1), 'float64' as T.DType), /cast: unknown dtype "float64"/);
});
