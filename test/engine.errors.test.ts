// Bad use of the engine names the problem: a non-tensor operand names the op and the value, an unknown
// dtype is refused wherever a dtype is given, a bad DALLE_THREADS is named.
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

it('DALLE_THREADS caps the runtime threads; a value that is not a whole number ≥ 1 is refused by name', async () => {
  const saved = process.env.DALLE_THREADS;
  try {
    process.env.DALLE_THREADS = '1';
    const double = T.compile((a: T.Tensor) => T.mul(a, 2));
    assert.equal((await double(T.NDArray.scalar(3))).item(), 6);
    process.env.DALLE_THREADS = 'two';
    await assert.rejects(T.compile((a: T.Tensor) => T.add(a, 1))(T.NDArray.scalar(3)), /DALLE_THREADS must be a whole number ≥ 1, got "two"/);
  } finally {
    if (saved === undefined) delete process.env.DALLE_THREADS;
    else process.env.DALLE_THREADS = saved;
  }
});
