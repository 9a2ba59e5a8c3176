// Drawing a code from logits: the top-k selection against a plain sort, temperature / top-k / top-p against
// their definitions, and classifier-free guidance's combination.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import { guide, sampleLogits, topIndices } from '../src/dalle/filter.ts';

const rowOf = (values: number[]) => Float32Array.from(values);

describe('sampling filters', () => {
  it('topIndices gives the k largest, largest first, ties by lower index, as a full sort does', () => {
    const rng = new T.Rng(11);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + rng.int(600);
      // Few distinct values, so that ties are common.
      const row = Float32Array.from({ length: n }, () => rng.int(1 + rng.int(20)));
      const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
      for (const k of [1, 2, 7, 64, n]) assert.deepEqual(topIndices(row, Math.min(k, n)), sorted.slice(0, Math.min(k, n)), `n ${n} k ${k}`);
    }
  });

  it('temperature 0, top-k 1 and a tiny top-p all take the argmax', () => {
    const row = rowOf([0.1, 2.5, -1, 2.4, 0]);
    const rng = new T.Rng(1);
    for (let i = 0; i < 20; i++) {
      assert.equal(sampleLogits(row, { temperature: 0 }, rng), 1);
      assert.equal(sampleLogits(row, { temperature: 1, topK: 1 }, rng), 1);
      assert.equal(sampleLogits(row, { temperature: 1, topP: 1e-6 }, rng), 1);
    }
  });

  it('draws follow softmax(logits / temperature), renormalised over the top-k / top-p set', () => {
    const logits = [1, 0.5, 0, -0.5, -1, -3];
    const row = rowOf(logits);
    const draws = 40_000;
    const frequencies = (f: Parameters<typeof sampleLogits>[1], from = row) => {
      const rng = new T.Rng(5);
      const counts = new Array(logits.length).fill(0);
      for (let i = 0; i < draws; i++) counts[sampleLogits(from, f, rng)]++;
      return counts.map((c) => c / draws);
    };
    const softmax = (xs: number[], t: number) => {
      const e = xs.map((x) => Math.exp(x / t));
      const z = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / z);
    };
    const close = (got: number[], want: number[], what: string) =>
      got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) < 0.012, `${what}: code ${i} drawn ${g.toFixed(3)}, expected ${want[i]!.toFixed(3)}`));
    close(frequencies({ temperature: 1 }), softmax(logits, 1), 'temperature 1');
    close(frequencies({ temperature: 0.5 }), softmax(logits, 0.5), 'temperature 0.5');
    const top3 = softmax(logits.slice(0, 3), 1);
    close(frequencies({ temperature: 1, topK: 3 }), [...top3, 0, 0, 0], 'top-k 3');
    // The same logits out of order: unfiltered draws (no ranking) and filtered ones (ranked) map to indices alike.
    const order = [4, 1, 5, 0, 3, 2];
    const shuffled = rowOf(order.map((i) => logits[i]!));
    close(frequencies({ temperature: 1 }, shuffled), order.map((i) => softmax(logits, 1)[i]!), 'shuffled, temperature 1');
    close(frequencies({ temperature: 1, topK: 3 }, shuffled), order.map((i) => (i < 3 ? top3[i]! : 0)), 'shuffled, top-k 3');
    // p(0) ≈ 0.43 < 0.5 ≤ p(0) + p(1) ≈ 0.68: the nucleus is the first two codes.
    const p = softmax(logits, 1);
    assert.ok(p[0]! < 0.5 && p[0]! + p[1]! >= 0.5);
    close(frequencies({ temperature: 1, topP: 0.5 }), [...softmax(logits.slice(0, 2), 1), 0, 0, 0, 0], 'top-p 0.5');
  });

  it('guidance: uncond + s·(cond − uncond); scale 1 gives cond', () => {
    assert.deepEqual(Array.from(guide(rowOf([1, 2]), rowOf([0, 4]), 3)), [3, -2]);
    assert.deepEqual(Array.from(guide(rowOf([1, 2]), rowOf([0, 4]), 1)), [1, 2]);
  });
});
