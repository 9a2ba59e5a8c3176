// A one-block causal transformer trained end to end by the engine: token and position embeddings (gather),
// layer norms, one causal self-attention head (mask by where), a GELU MLP, logits and cross-entropy, with
// the whole SGD step (forward, valueAndGrad, update) compiled to one ONNX Runtime session. The task is a
// delayed copy — predict the previous token — which only attention to the position before can solve, so
// a falling loss shows that gather, layerNorm, softmax, masking and their gradients work together.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import { runSteps, sgd } from './support/sgd.ts';
import type { Tensor } from '../src/tensor/index.ts';

const [vocab, seqLen, dim, batch] = [8, 6, 16, 8];

interface Block<W> {
  wte: W; // [vocab, dim]
  wpe: W; // [seqLen, dim]
  ln1: { weight: W; bias: W };
  attn: { q: W; k: W; v: W; o: W }; // [dim, dim] each, x @ W
  ln2: { weight: W; bias: W };
  mlp: { fc: W; fcBias: W; proj: W; projBias: W };
  lnf: { weight: W; bias: W };
  head: W; // [dim, vocab]
}

function causalSelfAttention(p: Block<Tensor>['attn'], x: Tensor): Tensor {
  const [q, k, v] = [p.q, p.k, p.v].map((w) => T.matmul(x, w)) as [Tensor, Tensor, Tensor];
  const scores = T.div(T.matmul(q, T.mT(k)), Math.sqrt(dim)); // [B, T, T]
  const allowed = T.constant(T.NDArray.bool(Array.from({ length: seqLen * seqLen }, (_, i) => i % seqLen <= Math.floor(i / seqLen)), [seqLen, seqLen]), 'bool');
  const weights = T.softmax(T.where(allowed, scores, -1e9), -1);
  return T.matmul(T.matmul(weights, v), p.o);
}

function logitsOf(p: Block<Tensor>, tokens: Tensor): Tensor {
  let x = T.add(T.gather(p.wte, tokens, 0), T.gather(p.wpe, T.arange(seqLen), 0)); // [B, T, dim]
  x = T.add(x, causalSelfAttention(p.attn, T.layerNorm(x, p.ln1.weight, p.ln1.bias)));
  const h = T.gelu(T.add(T.matmul(T.layerNorm(x, p.ln2.weight, p.ln2.bias), p.mlp.fc), p.mlp.fcBias));
  x = T.add(x, T.add(T.matmul(h, p.mlp.proj), p.mlp.projBias));
  return T.matmul(T.layerNorm(x, p.lnf.weight, p.lnf.bias), p.head);
}


function init(rng: T.Rng): Block<T.NDArray> {
  const normal = (shape: number[], std: number) => T.NDArray.float32((rng.randn(shape).data as Float32Array).map((v) => v * std), shape);
  const ones = (n: number) => T.NDArray.float32(new Array<number>(n).fill(1));
  const ln = () => ({ weight: ones(dim), bias: T.NDArray.zeros([dim]) });
  const proj = () => normal([dim, dim], 1 / Math.sqrt(dim));
  return {
    wte: normal([vocab, dim], 1),
    wpe: normal([seqLen, dim], 1),
    ln1: ln(),
    attn: { q: proj(), k: proj(), v: proj(), o: proj() },
    ln2: ln(),
    mlp: { fc: normal([dim, 4 * dim], 1 / Math.sqrt(dim)), fcBias: T.NDArray.zeros([4 * dim]), proj: normal([4 * dim, dim], 1 / Math.sqrt(4 * dim)), projBias: T.NDArray.zeros([dim]) },
    lnf: ln(),
    head: normal([dim, vocab], 1 / Math.sqrt(dim)),
  };
}

describe('training a one-block causal transformer in one compiled step', () => {
  it('learns to copy the previous token: cross-entropy falls by more than 10×', async () => {
    const rng = new T.Rng(11);
    const tokens = Array.from({ length: batch * seqLen }, () => rng.int(vocab));
    // Target at position t is the token at t − 1; position 0 predicts token 0.
    const targets = tokens.map((_, i) => (i % seqLen === 0 ? 0 : tokens[i - 1]!));
    const x = T.NDArray.int64(tokens, [batch, seqLen]);
    const y = T.NDArray.int64(targets, [batch, seqLen]);

    const step = T.compile((p: Block<Tensor>, xs: Tensor, ys: Tensor, lr: Tensor) => {
      const [loss, grads] = T.valueAndGrad((q: Block<Tensor>) => T.crossEntropy(logitsOf(q, xs), ys))(p);
      return { loss, params: sgd(p, grads, lr) };
    }, { name: 'attention_step' });

    let params = init(rng);
    const trained = await runSteps(step, params, x, y, 0.3, 300);
    const losses = trained.losses;
    params = trained.params;
    assert.equal(step.traceCount, 1, 'one trace, one session for every step');
    const [first, last] = [losses[0]!, losses.at(-1)!];
    assert.ok(first > 1.5, `initial loss ${first} should be near ln ${vocab} = ${Math.log(vocab).toFixed(2)}`);
    assert.ok(last < first / 10, `loss fell from ${first.toFixed(3)} to ${last.toFixed(3)}, less than 10×`);

    // Greedy predictions of the trained model reproduce the targets; the reference interpreter agrees.
    const predict = (backend: 'onnx' | 'reference') => T.compile((p: Block<Tensor>, xs: Tensor) => T.argmax(logitsOf(p, xs), -1), { backend })(params, x);
    const [onnx, reference] = await Promise.all([predict('onnx'), predict('reference')]);
    assert.deepEqual(onnx.toNumbers(), targets);
    assert.deepEqual(reference.toNumbers(), targets);

    // The mask is causal: changing each sequence's last token leaves the logits of earlier positions as they were.
    const forward = T.compile((p: Block<Tensor>, xs: Tensor) => logitsOf(p, xs));
    const changed = T.NDArray.int64(tokens.map((v, i) => (i % seqLen === seqLen - 1 ? (v + 1) % vocab : v)), [batch, seqLen]);
    const [before, after] = [(await forward(params, x)).toNumbers(), (await forward(params, changed)).toNumbers()];
    const position = (i: number) => Math.floor(i / vocab) % seqLen;
    before.forEach((v, i) => {
      if (position(i) < seqLen - 1) assert.equal(after[i], v, `logit ${i} (position ${position(i)}) depends on a later token`);
    });
    assert.ok(before.some((v, i) => position(i) === seqLen - 1 && after[i] !== v), 'the last position sees its own token');
  });
});
