// End-to-end engine check on a small conv net (conv–relu–maxpool–conv–relu–upsample–conv, the dVAE's kinds
// of layer): a whole SGD step — forward, valueAndGrad and the update — is one compiled graph, and a few
// hundred steps fit a fixed batch; the same step on the float64 reference interpreter agrees with ONNX
// Runtime; the conv ops' shape rules fail with messages that name the op and the shapes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import { runSteps, sgd } from './support/sgd.ts';
import type { Tensor } from '../src/tensor/index.ts';

interface Net<W> {
  conv1: { weight: W; bias: W };
  conv2: { weight: W; bias: W };
  out: { weight: W; bias: W };
}

function forward(p: Net<Tensor>, x: Tensor): Tensor {
  let h = T.relu(T.conv2d(x, p.conv1.weight, p.conv1.bias, { padding: 1 }));
  h = T.maxPool2d(h, { kernel: 2 });
  h = T.relu(T.conv2d(h, p.conv2.weight, p.conv2.bias, { padding: 1 }));
  h = T.upsampleNearest2d(h, 2);
  return T.conv2d(h, p.out.weight, p.out.bias, { padding: 1 });
}

function initNet(rng: T.Rng, width: number): Net<T.NDArray> {
  const conv = (cout: number, cin: number, k: number) => ({
    weight: T.NDArray.float32((rng.randn([cout, cin, k, k]).data as Float32Array).map((v) => v / Math.sqrt(cin * k * k)), [cout, cin, k, k]),
    bias: T.NDArray.zeros([cout]),
  });
  return { conv1: conv(width, 3, 3), conv2: conv(width, width, 3), out: conv(2, width, 3) };
}

const mse = (a: Tensor, b: Tensor): Tensor => T.mean(T.square(T.sub(a, b)));


const stepFn = (p: Net<Tensor>, x: Tensor, y: Tensor, lr: Tensor) => {
  const [loss, grads] = T.valueAndGrad((q: Net<Tensor>) => mse(forward(q, x), y))(p);
  return { loss, params: sgd(p, grads, lr) };
};

describe('training a small conv net in one compiled step', () => {
  it('fits a fixed batch: the loss falls by more than 10× in 500 SGD steps', async () => {
    const rng = new T.Rng(3);
    const x = rng.randn([8, 3, 8, 8]);
    // Targets a net of the same shape can express: the output of a randomly initialised teacher.
    const teacher = T.compile(forward);
    const y = await teacher(initNet(new T.Rng(11), 8), x);
    let params = initNet(rng, 8);
    const step = T.compile(stepFn, { name: 'conv_step' });
    const trained = await runSteps(step, params, x, y, 0.05, 500);
    const losses = trained.losses;
    params = trained.params;
    assert.equal(step.traceCount, 1, 'one trace, one session');
    const [first, last] = [losses[0]!, losses.at(-1)!];
    assert.ok(Number.isFinite(last) && last < first / 10, `loss fell from ${first} to ${last}, less than 10×`);
  });

  it('one step on ONNX Runtime matches the float64 reference interpreter', async () => {
    const rng = new T.Rng(5);
    const params = initNet(rng, 4);
    const [x, y] = [rng.randn([2, 3, 6, 6]), rng.randn([2, 2, 6, 6])];
    const lr = T.NDArray.scalar(0.1);
    const onnx = await T.compile(stepFn)(params, x, y, lr);
    const ref = await T.compile(stepFn, { backend: 'reference' })(params, x, y, lr);
    assert.ok(Math.abs(onnx.loss.item() - ref.loss.item()) <= 1e-5 * Math.abs(ref.loss.item()));
    const got = T.flattenTree(onnx.params, T.isNDArray).leaves;
    const want = T.flattenTree(ref.params, T.isNDArray);
    want.leaves.forEach((w, i) => {
      const a = got[i]!.toNumbers();
      const b = w.toNumbers();
      const err = Math.max(...a.map((v, j) => Math.abs(v - b[j]!)));
      assert.ok(err < 1e-5, `${want.paths[i]}: ONNX Runtime and the reference differ by ${err}`);
    });
  });
});

describe('conv shape errors name the op and the shapes', () => {
  const t = (shape: number[]) => T.placeholder(shape, 'float32', 't');
  it('conv2d', () => {
    assert.throws(() => T.conv2d(t([1, 3, 8, 8]), t([4, 2, 3, 3])), /conv2d: the weight expects 2 input channels .*: x \[1, 3, 8, 8\], w \[4, 2, 3, 3\]/);
    assert.throws(() => T.conv2d(t([1, 4, 8, 8]), t([3, 2, 3, 3]), null, { groups: 2 }), /conv2d: 4 input and 3 output channels do not divide into 2 groups/);
    assert.throws(() => T.conv2d(t([1, 3, 2, 2]), t([4, 3, 3, 3])), /conv2d: the \(dilated\) kernel is larger than the padded input: x \[1, 3, 2, 2\]/);
    assert.throws(() => T.conv2d(t([3, 8, 8]), t([4, 3, 3, 3])), /conv2d: x must be float32\[N, C, H, W\], got float32\[3, 8, 8\]/);
    assert.throws(() => T.conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 3]), t([3])), /conv2d: bias must be float32\[4\]/);
    assert.throws(() => T.conv2d(t([1, 3, 8, 8]), t([4, 3, 3, 3]), null, { padding: [1, 2, 3] as never }), /conv2d: padding must be/);
  });
  it('convTranspose2d and pooling', () => {
    assert.throws(() => T.convTranspose2d(t([1, 3, 4, 4]), t([2, 4, 3, 3])), /convTranspose2d: x has 3 channels, the weight takes 2/);
    assert.throws(() => T.convTranspose2d(t([1, 2, 4, 4]), t([2, 4, 3, 3]), null, { stride: 2, outputPadding: 2 }), /convTranspose2d: outputPadding 2,2 must be smaller than the stride/);
    assert.throws(() => T.maxPool2d(t([1, 2, 4, 4]), { kernel: 2, padding: 2 }), /maxPool2d: padding \[2, 2\] is more than half the kernel/);
    assert.throws(() => T.avgPool2d(t([1, 2, 1, 4]), { kernel: 2 }), /avgPool2d: kernel \[2,2\] is larger than the padded input \[1, 2, 1, 4\]/);
    assert.throws(() => T.upsampleNearest2d(t([1, 2, 4, 4]), 1.5), /upsampleNearest2d: scale must be an integer/);
  });
  it('DALLE_CONV_GRAD with an unknown method is refused, naming the valid ones', () => {
    const before = process.env.DALLE_CONV_GRAD;
    process.env.DALLE_CONV_GRAD = 'winograd';
    try {
      const x = t([1, 2, 4, 4]);
      assert.throws(() => T.vjp(T.sum(T.conv2d(x, t([2, 2, 3, 3]))), [x]), /DALLE_CONV_GRAD=winograd: expected one of transpose, flipconv, batchconv, im2col/);
    } finally {
      if (before === undefined) delete process.env.DALLE_CONV_GRAD;
      else process.env.DALLE_CONV_GRAD = before;
    }
  });
});
