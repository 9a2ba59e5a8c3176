// Lowering choices that change which ONNX ops run, not what they compute: each is checked for its result
// against the plain form and for the form it takes in the exported model.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';

/** Whether an op type's name appears in a model's bytes (ONNX stores op types as plain strings). */
const mentions = (model: Uint8Array, opType: string): boolean => Buffer.from(model).includes(Buffer.from(opType));

const maxDiff = (a: T.NDArray, b: T.NDArray): number => {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return m;
};

describe('lowering', () => {
  it('a float sum over leading axes runs as a product with ones and matches the sum', async () => {
    const x = new T.Rng(3).randn([16, 12, 8]);
    const lead = T.compile((a: Tensor) => T.sum(a, [0, 1]));
    const trailing = T.compile((a: Tensor) => T.sum(a, [1, 2]));
    assert.ok(mentions(lead.exportOnnx(x), 'MatMul') && !mentions(lead.exportOnnx(x), 'ReduceSum'));
    assert.ok(mentions(trailing.exportOnnx(x), 'ReduceSum'), 'other axes keep ReduceSum');
    const got = await lead(x);
    const want = T.interpret([T.sum(T.constant(x), [0, 1])], new Map())[0]!;
    assert.deepEqual(got.shape, [8]);
    got.toNumbers().forEach((v, i) => assert.ok(Math.abs(v - want.data[i]!) < 1e-4, `column ${i}: ${v} vs ${want.data[i]}`));
    const ints = T.compile((a: Tensor) => T.sum(a, 0));
    assert.ok(mentions(ints.exportOnnx(T.NDArray.int64([1, 2, 3, 4], [2, 2])), 'ReduceSum'), 'int64 sums keep ReduceSum');
  });

  it('a transpose that moves only length-1 axes is a reshape, and reshapes of reshapes are one', async () => {
    const x = new T.Rng(4).randn([2, 1, 3, 4]);
    const moved = T.transpose(T.placeholder([2, 1, 3, 4], 'float32', 'x'), [0, 2, 1, 3]);
    assert.equal(moved.op, 'reshape');
    assert.equal(T.reshape(moved, [6, 4]).inputs[0]!.op, 'input', 'the two reshapes are one');
    assert.equal(T.transpose(T.placeholder([2, 1, 3, 4], 'float32', 'x'), [0, 3, 1, 2]).op, 'transpose');
    const got = await T.compile((a: Tensor) => T.transpose(a, [0, 2, 1, 3]))(x);
    assert.deepEqual(got.shape, [2, 3, 1, 4]);
    assert.deepEqual(got.toNumbers(), x.toNumbers(), 'the same elements in the same order');
  });

  it('identical constants share one initializer', () => {
    const big = T.NDArray.float32(new Float32Array(50_000).fill(0.5), [50_000]);
    const once = T.compile((a: Tensor) => T.mul(a, T.constant(big)));
    const twice = T.compile((a: Tensor) => T.add(T.mul(a, T.constant(big)), T.constant(big)));
    const x = T.NDArray.zeros([50_000]);
    const extra = twice.exportOnnx(x).length - once.exportOnnx(x).length;
    assert.ok(extra < 1000, `the second copy of a 200 kB constant added ${extra} bytes`);
  });

  it('weights baked in with constants() give the same outputs as weights passed in', async () => {
    const rng = new T.Rng(5);
    const params = { w: rng.randn([8, 6]), b: rng.randn([6]) };
    const x = rng.randn([4, 8]);
    const layer = (p: { w: Tensor; b: Tensor }, a: Tensor) => T.add(T.matmul(a, p.w), p.b);
    const passed = T.compile(layer);
    const baked = T.constants<{ w: Tensor; b: Tensor }>(params);
    const closed = T.compile((a: Tensor) => layer(baked, a));
    assert.ok(maxDiff(await passed(params, x), await closed(x)) < 1e-6);
    // The model is dropped once its session exists; exporting lowers it again, with the weights inside.
    assert.ok(closed.exportOnnx(x).length > params.w.size * 4, 'the exported model holds the weights');
  });

  it('slices that tile one axis of a tensor run as one Split; other slices stay Slices', async () => {
    const x = new T.Rng(6).randn([2, 9, 4]);
    const parts = T.compile((a: Tensor) => T.split(a, [2, 3, 4], 1));
    const model = parts.exportOnnx(x);
    assert.ok(mentions(model, 'Split') && !mentions(model, 'Slice'));
    const got = await parts(x);
    const want = T.interpret(T.split(T.constant(x), [2, 3, 4], 1), new Map());
    got.forEach((g, i) => assert.deepEqual(g.toNumbers(), Array.from(want[i]!.data), `part ${i}`));
    // Gaps, overlaps, parts that leave the start uncovered and slices along two axes are not a partition;
    // a range taken twice is (below).
    const cases: ((a: Tensor) => Tensor[])[] = [
      (a) => [T.sliceAxis(a, 1, 0, 4), T.sliceAxis(a, 1, 5, 9)],
      (a) => [T.sliceAxis(a, 1, 0, 5), T.sliceAxis(a, 1, 4, 9)],
      (a) => [T.sliceAxis(a, 1, 1, 4), T.sliceAxis(a, 1, 4, 9)],
      (a) => [T.slice(a, [null, [0, 4], [0, 2]]), T.slice(a, [null, [4, 9], [2, 4]])],
    ];
    for (const f of cases) {
      const fn = T.compile(f);
      assert.ok(!mentions(fn.exportOnnx(x), 'Split'), String(f));
      const want = T.interpret(f(T.constant(x)), new Map());
      (await fn(x)).forEach((g, i) => assert.deepEqual(g.toNumbers(), Array.from(want[i]!.data)));
    }
    const twice = T.compile((a: Tensor) => [T.sliceAxis(a, 2, 0, 1), T.sliceAxis(a, 2, 1, 4), T.sliceAxis(a, 2, 0, 1)]);
    assert.ok(mentions(twice.exportOnnx(x), 'Split'), 'a range taken twice shares its part');
    const [first, , again] = await twice(x);
    assert.deepEqual(first!.toNumbers(), again!.toNumbers());
  });

  it('outputs are named on the nodes that compute them: an Identity only for an input or a value returned twice', async () => {
    const x = new T.Rng(7).randn([3, 4]);
    const fn = T.compile((a: Tensor) => { const y = T.mul(a, 2); return [y, T.add(y, 1), y, a]; });
    const model = fn.exportOnnx(x);
    const identities = Buffer.from(model).toString('latin1').split('Identity').length - 1;
    assert.equal(identities, 2, 'one for the repeated y, one for the input returned as it is');
    const [y, z, y2, same] = await fn(x);
    x.toNumbers().forEach((v, i) => {
      assert.equal(y!.toNumbers()[i], v * 2);
      assert.ok(Math.abs(z!.toNumbers()[i]! - (v * 2 + 1)) < 1e-6);
    });
    assert.deepEqual(y2!.toNumbers(), y!.toNumbers());
    assert.deepEqual(same!.toNumbers(), x.toNumbers());
  });

  it("weights: 'int8' runs products with a constant matrix as DynamicQuantizeMatMul, within about 1% of float32", async () => {
    const rng = new T.Rng(8);
    const w = rng.randn([64, 256], 0.05); // a linear layer's [out, in] weight and its bias
    const bias = rng.randn([64], 0.1);
    const x = rng.randn([2, 5, 256]);
    const other = rng.randn([2, 64, 3]);
    // The weight reaches the product transposed and scaled (as the sampler's query rows are): a constant
    // expression, which the lowering evaluates and quantizes, and the bias is added by the same kernel; the
    // second product's matrix is an input.
    const layer = (a: Tensor, b: Tensor) => {
      const y = T.add(T.matmul(a, T.mul(T.transpose(T.constant(w)), 0.5)), T.constant(bias));
      return { y, z: T.matmul(y, b) };
    };
    const float = T.compile(layer);
    const int8 = T.compile(layer, { weights: 'int8' });
    const model = int8.exportOnnx(x, other);
    assert.ok(mentions(model, 'DynamicQuantizeMatMul'), 'the constant product is quantized');
    const matmuls = Buffer.from(model).toString('latin1').split('MatMul').length - 1;
    assert.equal(matmuls, 2, 'the product with an input matrix stays a MatMul');
    assert.ok(!mentions(float.exportOnnx(x, other), 'DynamicQuantize'), 'float32 by default');
    assert.ok(!mentions(model, 'Transpose'), "the weight's transpose is folded into the quantized initializer");
    assert.ok(!mentions(model, 'Add'), 'the bias is added by DynamicQuantizeMatMul');
    const want = await float(x, other);
    const got = await int8(x, other);
    const scale = Math.max(...want.y.toNumbers().map(Math.abs));
    const err = maxDiff(got.y, want.y) / scale;
    assert.ok(err > 0 && err < 0.02, `int8 product off by ${(100 * err).toFixed(2)}% of its largest value`);
    assert.ok(maxDiff(got.z, want.z) / Math.max(...want.z.toNumbers().map(Math.abs)) < 0.03, 'the float product downstream stays close');
  });
});
