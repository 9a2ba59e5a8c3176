// End-to-end engine checks on a small model: a whole SGD training step (forward, valueAndGrad, update) as one
// compiled ONNX graph drives a 2-layer MLP classifier's loss down; compiled sessions are cached by input
// signature; and misuse fails with messages that name the op, the shapes or the offending path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import { runSteps, sgd } from './support/sgd.ts';
import type { Tensor } from '../src/tensor/index.ts';

interface Mlp<W> {
  fc1: { weight: W; bias: W };
  fc2: { weight: W; bias: W };
}

function mlpLogits(p: Mlp<Tensor>, x: Tensor): Tensor {
  const h = T.relu(T.add(T.matmul(x, p.fc1.weight), p.fc1.bias));
  return T.add(T.matmul(h, p.fc2.weight), p.fc2.bias);
}


function scaled(a: T.NDArray, s: number): T.NDArray {
  return T.NDArray.float32((a.data as Float32Array).map((v) => v * s), a.shape);
}

describe('training a 2-layer MLP in one compiled step', () => {
  it('drives the cross-entropy of a 3-class problem down by more than 10×', async () => {
    const rng = new T.Rng(7);
    const [n, dIn, hidden, classes] = [48, 2, 32, 3];
    // Three Gaussian clusters around well-separated centres.
    const centres = [[2, 0], [-1, 1.7], [-1, -1.7]];
    const labels = Array.from({ length: n }, (_, i) => i % classes);
    const noise = rng.randn([n, dIn]).data as Float32Array;
    const x = T.NDArray.float32(labels.flatMap((c, i) => centres[c]!.map((m, d) => m + 0.3 * noise[i * dIn + d]!)), [n, dIn]);
    const y = T.NDArray.int64(labels);
    let params: Mlp<T.NDArray> = {
      fc1: { weight: scaled(rng.randn([dIn, hidden]), 0.5), bias: T.NDArray.zeros([hidden]) },
      fc2: { weight: scaled(rng.randn([hidden, classes]), 0.2), bias: T.NDArray.zeros([classes]) },
    };

    const step = T.compile((p: Mlp<Tensor>, xs: Tensor, ys: Tensor, lr: Tensor) => {
      const [loss, grads] = T.valueAndGrad((q: Mlp<Tensor>) => T.crossEntropy(mlpLogits(q, xs), ys))(p);
      return { loss, params: sgd(p, grads, lr) };
    }, { name: 'mlp_step' });

    const trained = await runSteps(step, params, x, y, 0.5, 200);
    const losses = trained.losses;
    params = trained.params;
    assert.equal(step.traceCount, 1);
    const [first, last] = [losses[0]!, losses.at(-1)!];
    assert.ok(Math.abs(first - Math.log(classes)) < 0.3, `initial loss ${first} should be near ln 3`);
    assert.ok(last < first / 10, `loss fell from ${first} to ${last}, less than 10×`);

    // The trained parameters classify every training point correctly.
    const predict = T.compile((p: Mlp<Tensor>, xs: Tensor) => T.argmax(mlpLogits(p, xs), -1));
    assert.deepEqual((await predict(params, x)).toNumbers(), labels);
  });
});

describe('compile caches one session per input signature', () => {
  it('traces once per shape/dtype signature and reuses the session', async () => {
    let traced = 0;
    const f = T.compile((a: Tensor, b: Tensor) => {
      traced++;
      return T.sum(T.mul(a, b), -1);
    });
    const a = T.NDArray.float32([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.deepEqual((await f(a, T.NDArray.float32([1, 1, 1]))).toNumbers(), [6, 15]);
    assert.deepEqual((await f(a, T.NDArray.float32([0, 1, 0]))).toNumbers(), [2, 5]);
    assert.equal(traced, 1, 'same signature, new values: no new trace');
    assert.equal(f.traceCount, 1);

    const wider = T.NDArray.float32([1, 2, 3, 4], [1, 4]);
    assert.deepEqual((await f(wider, T.NDArray.float32([1, 0, 0, 1]))).toNumbers(), [5]);
    assert.equal(traced, 2, 'a new shape traces anew');
    assert.equal(f.traceCount, 2);

    await f(a, T.NDArray.float32([2, 2, 2]));
    assert.equal(traced, 2, 'the first signature is still cached');
    assert.equal(f.traceCount, 2);
  });

  it('treats numbers in the arguments as static: a new value traces anew', async () => {
    let traced = 0;
    const scale = T.compile((x: Tensor, s: number) => {
      traced++;
      return T.mul(x, s);
    });
    const x = T.NDArray.float32([1, 2]);
    assert.deepEqual((await scale(x, 3)).toNumbers(), [3, 6]);
    assert.deepEqual((await scale(x, 3)).toNumbers(), [3, 6]);
    assert.equal(traced, 1);
    assert.deepEqual((await scale(x, 4)).toNumbers(), [4, 8]);
    assert.equal(traced, 2);
  });
});

describe('clear errors for bad use', () => {
  it('mismatched matmul shapes name both operands', async () => {
    const a = T.placeholder([2, 3], 'float32', 'a');
    const b = T.placeholder([4, 5], 'float32', 'b');
    assert.throws(() => T.matmul(a, b), /matmul: inner dimensions 3 and 4 differ: float32\[2, 3\] @ float32\[4, 5\]/);
    const f = T.compile((x: Tensor, y: Tensor) => T.matmul(x, y));
    await assert.rejects(f(T.NDArray.zeros([2, 3]), T.NDArray.zeros([4, 5])), /float32\[2, 3\] @ float32\[4, 5\]/);
  });

  it('an unknown dtype is refused, naming it and the valid ones', () => {
    assert.throws(() => T.NDArray.zeros([2], 'float16' as T.DType), /unknown dtype "float16" \(expected one of float32, int64, bool\)/);
    assert.throws(() => new T.NDArray(new Float32Array(2), [2], 'int32' as T.DType), /unknown dtype "int32"/);
  });

  it('grad names the path of a non-tensor in the parameter tree', () => {
    const loss = (p: { layer: { w: Tensor; b: Tensor } }) => T.sum(T.add(p.layer.w, p.layer.b));
    const w = T.placeholder([2], 'float32', 'w');
    assert.throws(() => T.grad(loss)({ layer: { w, b: 'zeros' as unknown as Tensor } }), /parameter at 'layer\.b' is a string/);
    assert.throws(() => T.grad(loss)({ layer: { w, b: T.NDArray.zeros([2]) as unknown as Tensor } }), /parameter at 'layer\.b' is a host NDArray float32\[2\]/);
    const ids = T.placeholder([2], 'int64', 'ids');
    assert.throws(() => T.grad(loss)({ layer: { w, b: ids } }), /cannot differentiate with respect to 'layer\.b', a int64\[2\] tensor/);
  });

  it('a compiled function refuses wrongly-typed arguments', async () => {
    const f = T.compile((p: { w: Tensor }, x: Tensor) => T.matmul(x, p.w));
    const hostF = f as unknown as (...args: unknown[]) => Promise<unknown>;
    // A raw typed array where an NDArray belongs: the tree path says which argument.
    await assert.rejects(hostF({ w: new Float32Array(4) }, T.NDArray.zeros([1, 2])), /value at '0\.w' is a Float32Array/);
    // Integer token ids where float activations belong: the op names both dtypes and shapes.
    await assert.rejects(f({ w: T.NDArray.zeros([2, 2]) }, T.NDArray.zeros([1, 2], 'int64')), /matmul: needs float32 operands: int64\[1, 2\] @ float32\[2, 2\]/);
    // Float indices into a gather: the op says indices must be int64.
    const embed = T.compile((table: Tensor, ids: Tensor) => T.gather(table, ids, 0));
    await assert.rejects(embed(T.NDArray.zeros([4, 2]), T.NDArray.zeros([3])), /gather: indices must be int64, got float32\[3\]/);
  });
});
