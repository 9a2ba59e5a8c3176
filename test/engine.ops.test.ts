// Every registered op: ONNX Runtime vs the float64 reference interpreter (relative error ≤ 1e-4), and every
// gradient rule vs central finite differences in float64 (relative error ≤ 1e-6).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import { type OpCase, RUN_SEED, checkForward, checkGradient } from './support/opcheck.ts';
import { coreCases } from './cases/core.ts';
import { indexingCases } from './cases/indexing.ts';
import { convCases } from './cases/conv.ts';
import { getOp } from '../src/tensor/op.ts';

const cases: OpCase[] = [...coreCases, ...indexingCases, ...convCases];

describe('ops: ONNX Runtime vs reference', () => {
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const err = await checkForward(c, new T.Rng(RUN_SEED + i));
      assert.ok(err <= 1e-4, `${c.name}: relative error ${err.toExponential(2)} > 1e-4 (TEST_SEED=${RUN_SEED})`);
    });
  });
});

describe('gradients: rule vs central differences', () => {
  cases.filter((c) => !c.noGrad).forEach((c, i) => {
    it(c.name, () => {
      const err = checkGradient(c, new T.Rng(RUN_SEED + 1000 + i));
      assert.ok(err <= 1e-6, `${c.name}: gradient relative error ${err.toExponential(2)} > 1e-6 (TEST_SEED=${RUN_SEED})`);
    });
  });
});

describe('op coverage', () => {
  it('every registered op has a forward case, and every differentiable one a gradient case', () => {
    const forward = new Set(cases.flatMap((c) => c.ops));
    const graded = new Set(cases.filter((c) => !c.noGrad).flatMap((c) => c.ops));
    const missing = T.registeredOps().filter((op) => !forward.has(op));
    assert.deepEqual(missing, [], `ops without a test case: ${missing.join(', ')}`);
    // Ops without a gradient rule pass none (comparisons, casts, argmax, the gradient ops themselves).
    const missingGrad = T.registeredOps().filter((op) => getOp(op).grad && !graded.has(op));
    assert.deepEqual(missingGrad, [], `differentiable ops without a gradient case: ${missingGrad.join(', ')}`);
  });
});
