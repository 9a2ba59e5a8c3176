// Building blocks against PyTorch: fixtures written by tools/golden_nn.py (float64 PyTorch, stored float32).
// Each block is rebuilt with src/nn and src/optim, run on ONNX Runtime, and must match within 1e-5.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readSafetensors, tensorToFloat32 } from '../src/io/safetensors.ts';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { conv2d, layerNorm, linear, mlp } from '../src/nn/layers.ts';
import { causalMask, selfAttention } from '../src/nn/attention.ts';
import { adamwUpdate } from '../src/optim/adamw.ts';
import { relativeError } from './support/opcheck.ts';

const fixture = await readSafetensors(new URL('./fixtures/golden_nn.safetensors', import.meta.url).pathname);
const get = (name: string): T.NDArray => {
  const t = fixture.tensors.get(name);
  assert.ok(t, `fixture tensor ${name} is missing`);
  return new T.NDArray(tensorToFloat32(t, name), t.shape);
};

function close(got: T.NDArray, want: T.NDArray, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const err = relativeError(got.data as Float32Array, want.data as Float32Array);
  assert.ok(err <= 1e-5, `${what}: relative error ${err.toExponential(2)} > 1e-5`);
}

/** Check a block's output and the gradients of sum(y·cot) for its input `x` and parameters. */
async function checkBlock(prefix: string, paramNames: string[], block: (params: Record<string, Tensor>, x: Tensor) => Tensor): Promise<void> {
  const params = Object.fromEntries(paramNames.map((n) => [n, get(`${prefix}.${n}`)]));
  const step = T.compile((p: Record<string, Tensor>, x: Tensor, cot: Tensor) => {
    const [y, grads] = T.valueAndGrad((q: { p: Record<string, Tensor>; x: Tensor }) => {
      const out = block(q.p, q.x);
      return [T.sum(T.mul(out, cot)), out] as [Tensor, Tensor];
    }, { hasAux: true })({ p, x });
    return { y: y[1], grads };
  });
  const out = await step(params, get(`${prefix}.x`), get(`${prefix}.cot`));
  close(out.y, get(`${prefix}.y`), `${prefix} output`);
  close(out.grads.x, get(`${prefix}.grad.x`), `${prefix} ∂x`);
  for (const n of paramNames) close(out.grads.p[n]!, get(`${prefix}.grad.${n}`), `${prefix} ∂${n}`);
}

/** Rebuild a nested parameter tree from dotted names. */
function nest(flat: Record<string, Tensor>): any {
  const tree: any = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split('.');
    let node = tree;
    for (const p of parts.slice(0, -1)) node = node[p] ??= {};
    node[parts.at(-1)!] = v;
  }
  return tree;
}

describe('building blocks match PyTorch', () => {
  it('linear', () => checkBlock('linear', ['weight', 'bias'], (p, x) => linear({ weight: p.weight!, bias: p.bias! }, x)));

  it('conv2d, stride 2, padding 1', () =>
    checkBlock('conv', ['weight', 'bias'], (p, x) => conv2d({ weight: p.weight!, bias: p.bias! }, x, { stride: 2, padding: 1 })));

  it('layer norm', () => checkBlock('layernorm', ['weight', 'bias'], (p, x) => layerNorm({ weight: p.weight!, bias: p.bias! }, x)));

  it('GELU MLP', () =>
    checkBlock('mlp', ['fc.weight', 'fc.bias', 'proj.weight', 'proj.bias'], (p, x) => mlp(nest(p), x)));

  it('causal multi-head attention', () =>
    checkBlock('attention', ['qkv.weight', 'qkv.bias', 'proj.weight', 'proj.bias'], (p, x) =>
      selfAttention(nest(p), x, 2, causalMask(x.shape[1]!)).y));

  it('three AdamW steps with decoupled weight decay on weights only', async () => {
    const update = T.compile((params: { weight: Tensor; bias: Tensor }, grads: { weight: Tensor; bias: Tensor }, state: any, lr: Tensor, step: Tensor) => {
      const next = adamwUpdate(params, grads, state, lr, step, { beta1: 0.9, beta2: 0.96, eps: 1e-8, weightDecay: 0.1 });
      return { params: next.params, state: next.state };
    });
    let params = { weight: get('adamw.weight0'), bias: get('adamw.bias0') };
    let state: any = { m: { weight: T.NDArray.zeros([4, 3]), bias: T.NDArray.zeros([4]) }, v: { weight: T.NDArray.zeros([4, 3]), bias: T.NDArray.zeros([4]) } };
    for (let s = 0; s < 3; s++) {
      const grads = { weight: get(`adamw.grad${s}.weight`), bias: get(`adamw.grad${s}.bias`) };
      const out = await update(params, grads, state, T.NDArray.scalar(1e-2), T.NDArray.scalar(s + 1));
      params = out.params;
      state = out.state;
    }
    close(params.weight, get('adamw.weight3'), 'AdamW weight');
    close(params.bias, get('adamw.bias3'), 'AdamW bias');
  });
});
