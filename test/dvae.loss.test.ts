// The dVAE's codebook diversity term: ln K − H(mean code posterior) over the batch and the grid, 0 when
// codes are used equally and ln K − ln m when only m are used, whatever each cell's own confidence.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { diversityGap, klToUniform } from '../src/dvae/loss.ts';

const K = 8;
const gap = T.compile((logits: Tensor) => ({ gap: diversityGap(logits, 1), kl: T.mean(klToUniform(logits, 1)) }));

/** Logits [B, K, 2, 2] whose cells put almost all mass on code `codeOf(b, cell)`. */
function confident(b: number, codeOf: (b: number, cell: number) => number): T.NDArray {
  const data = new Float32Array(b * K * 4).fill(-30);
  for (let i = 0; i < b; i++) for (let cell = 0; cell < 4; cell++) data[(i * K + codeOf(i, cell)) * 4 + cell] = 30;
  return new T.NDArray(data, [b, K, 2, 2]);
}

it('diversityGap is 0 when the batch uses every code equally and ln K − ln m when it uses m, at any confidence', async () => {
  const all = (await gap(confident(2, (b, cell) => b * 4 + cell))) as { gap: T.NDArray; kl: T.NDArray };
  assert.ok(Math.abs(all.gap.item()) < 1e-5, `every code once: ${all.gap.item()}`);
  const two = (await gap(confident(2, (b) => b))) as { gap: T.NDArray; kl: T.NDArray };
  assert.ok(Math.abs(two.gap.item() - (Math.log(K) - Math.log(2))) < 1e-5, `two codes: ${two.gap.item()}`);
  // The per-cell KL to the uniform prior is the same (ln K) for both: it cannot tell them apart.
  assert.ok(Math.abs(all.kl.item() - two.kl.item()) < 1e-4 && Math.abs(all.kl.item() - Math.log(K)) < 1e-4);
  const uniform = (await gap(new T.NDArray(new Float32Array(2 * K * 4), [2, K, 2, 2]))) as { gap: T.NDArray };
  assert.ok(Math.abs(uniform.gap.item()) < 1e-5, 'uncertain cells use every code on average');
});
