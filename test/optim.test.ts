// The training machinery: gradient accumulation equals one big batch, frozen parameters stay put, clipping
// caps the global norm, schedules and EMA warm-up follow their formulas.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { clipByGlobalNorm } from '../src/optim/clip.ts';
import { HalveOnPlateau, cosineAnneal, warmupCosine } from '../src/optim/schedule.ts';
import { emaDecayAt } from '../src/optim/ema.ts';
import { defaultDecays } from '../src/optim/adamw.ts';
import { relativeError } from './support/opcheck.ts';

const adamw = { beta1: 0.9, beta2: 0.96, eps: 1e-8, weightDecay: 0.1 };
type Batch = { x: Tensor; y: Tensor };
const loss = (p: { w: Tensor; b: Tensor }, batch: Batch) => T.mean(T.square(T.sub(T.add(T.matmul(batch.x, p.w), p.b), batch.y)));

describe('Trainer', () => {
  const rng = new T.Rng(11);
  const params = () => ({ w: new T.Rng(1).randn([3, 2]), b: T.NDArray.zeros([2]) });
  const x = rng.randn([8, 3]);
  const y = rng.randn([8, 2]);
  const half = (a: T.NDArray, i: number) => new T.NDArray((a.data as Float32Array).slice(i * 4 * a.shape[1]!, (i + 1) * 4 * a.shape[1]!), [4, a.shape[1]!]);

  it('two accumulated micro-batches of 4 give the update of one batch of 8', async () => {
    const whole = new Trainer<Batch>(loss, params(), { adamw, clipNorm: 1 });
    const split = new Trainer<Batch>(loss, params(), { adamw, clipNorm: 1, accumulate: 2 });
    const a = await whole.trainStep({ x, y } as never, 0.05);
    const b = await split.trainStep([{ x: half(x, 0), y: half(y, 0) }, { x: half(x, 1), y: half(y, 1) }] as never, 0.05);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
    assert.ok(Math.abs(a.gradNorm - b.gradNorm) < 1e-4 * a.gradNorm, `grad norm ${a.gradNorm} vs ${b.gradNorm}`);
    for (const k of ['w', 'b'] as const) {
      const err = relativeError(split.params[k].data as Float32Array, whole.params[k].data as Float32Array);
      assert.ok(err < 1e-5, `${k}: relative difference ${err}`);
    }
  });

  it('frozen parameters do not change; trainable ones do', async () => {
    const t = new Trainer<Batch>(loss, params(), { adamw, trainable: (path) => path !== 'b' });
    const before = params();
    await t.trainStep({ x, y } as never, 0.05);
    assert.deepEqual(Array.from(t.params.b.data as Float32Array), Array.from(before.b.data as Float32Array));
    assert.ok(relativeError(t.params.w.data as Float32Array, before.w.data as Float32Array) > 1e-3);
  });

  it('keeps an EMA that warms up: after one step it equals the new weights', async () => {
    const t = new Trainer<Batch>(loss, params(), { adamw, emaDecay: 0.999 });
    await t.trainStep({ x, y } as never, 0.05);
    // d = min(0.999, 1/10) at the first update: ema = 0.1·init + 0.9·new.
    const init = params().w.data as Float32Array;
    const now = t.params.w.data as Float32Array;
    const ema = (t.ema as { w: T.NDArray }).w.data as Float32Array;
    for (let i = 0; i < ema.length; i++) assert.ok(Math.abs(ema[i]! - (0.1 * init[i]! + 0.9 * now[i]!)) < 1e-6);
    assert.equal(emaDecayAt(0.999, 0), 0.1);
    assert.equal(emaDecayAt(0.999, 1e6), 0.999);
  });
});

describe('weight decay', () => {
  it('decays matrices and convolutions, not embeddings, biases or norm gains', () => {
    const decayed = ['blocks.0.attn.qkv.weight', 'blocks.3.mlp.fc.weight', 'head.weight', 'encoder.blocks.input.w', 'member.weight'];
    const kept = ['text_emb.weight', 'text_pos_emb.weight', 'image_row_emb.weight', 'image_col_emb.weight', 'tok_emb.weight', 'wte.weight', 'transformer.wpe.weight', 'embedding.weight'];
    for (const path of decayed) assert.ok(defaultDecays(path, [8, 8]), `${path} should decay`);
    for (const path of kept) assert.ok(!defaultDecays(path, [8, 8]), `${path} is an embedding and should not decay`);
    assert.ok(!defaultDecays('blocks.0.ln_1.weight', [8]) && !defaultDecays('head.bias', [8]));
  });
});

describe('clipping and schedules', () => {
  it('clips gradients to the global norm', async () => {
    const f = T.compile((g: { a: Tensor; b: Tensor }) => clipByGlobalNorm(g, 1));
    const out = await f({ a: T.NDArray.float32([3, 0]), b: T.NDArray.float32([4]) });
    assert.ok(Math.abs(out.norm.item() - 5) < 1e-6);
    const clipped = [...(out.grads.a.data as Float32Array), ...(out.grads.b.data as Float32Array)];
    assert.ok(Math.abs(Math.hypot(...clipped) - 1) < 1e-5);
    const small = await f({ a: T.NDArray.float32([0.3, 0]), b: T.NDArray.float32([0.4]) });
    assert.ok(Math.abs((small.grads.a.data as Float32Array)[0]! - 0.3) < 1e-6, 'under the limit: unchanged');
  });

  it('warm-up then cosine decay; cosine annealing; halving on a plateau', () => {
    const s = { peak: 1, warmup: 10, total: 110, final: 0.1 };
    assert.equal(warmupCosine(0, s), 0.1);
    assert.equal(warmupCosine(9, s), 1);
    assert.ok(Math.abs(warmupCosine(60, s) - 0.55) < 1e-12);
    assert.equal(warmupCosine(500, s), 0.1);
    assert.equal(cosineAnneal(0, 1, 1 / 16, 100), 1);
    assert.equal(cosineAnneal(100, 1, 1 / 16, 100), 1 / 16);
    const p = new HalveOnPlateau(1, 1);
    assert.deepEqual([p.observe(3), p.observe(2), p.observe(2.5), p.observe(2.4), p.observe(1)], [1, 1, 1, 0.5, 0.5]);
    assert.deepEqual(HalveOnPlateau.fromJSON(p.toJSON()).toJSON(), p.toJSON());
  });
});
