// The contrastive reranker's model (src/clip/model.ts): the loss against a float64 host computation from the
// two encoders' embeddings, the same-subject pairs left out of each other's softmax, captions read without
// their padding, and a tiny model that learns to pair eight images with their captions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { CLIP_PRESETS, ClipConfigSchema } from '../src/clip/config.ts';
import { type ClipParams, clipLoss, encodeImage, encodeText, initClip, negativesFor } from '../src/clip/model.ts';
import { MASKED } from '../src/nn/attention.ts';
import { Trainer } from '../src/optim/trainer.ts';

const c = ClipConfigSchema.parse(CLIP_PRESETS.tiny);

/** Caption rows: `lengths[i]` random tokens, then per-position padding ids (as encodeCaption writes them). */
function captions(rng: T.Rng, lengths: readonly number[]): T.NDArray {
  return T.NDArray.int64(lengths.flatMap((n) => Array.from({ length: c.textLength }, (_, i) => (i < n ? 1 + rng.int(c.textVocab - 1) : c.textVocab + i))), [lengths.length, c.textLength]);
}

const embed = T.compile((p: ClipParams<Tensor>, text: Tensor, images: Tensor) => ({ text: encodeText(p.text, text, c), image: encodeImage(p.image, images) }));
const lossOf = T.compile((p: ClipParams<Tensor>, text: Tensor, images: Tensor, negatives: Tensor) => clipLoss(p, { text, images, negatives }, c));

describe('contrastive model', () => {
  it('negativesFor leaves out other images of the same subject, never the pair itself', () => {
    const n = negativesFor(['cat', 'dog', 'cat', 'sun']).data as Float32Array;
    const left = [...n].map((v, k) => (v === MASKED ? [Math.floor(k / 4), k % 4] : null)).filter(Boolean);
    assert.deepEqual(left, [[0, 2], [2, 0]]);
  });

  it('the loss is the symmetric cross-entropy of scaled cosine similarities (float64 on the host)', async () => {
    const rng = new T.Rng(3);
    const p = initClip(new T.Rng(1), c);
    const b = 5;
    const text = captions(rng, [3, 1, 8, 5, 2]);
    const images = rng.uniform([b, 3, c.imageSize, c.imageSize], 0, 1);
    const groups = ['a', 'b', 'a', 'c', 'd'];
    const e = (await embed(p as never, text, images)) as { text: T.NDArray; image: T.NDArray };
    const [ti, ii] = [e.text.data as Float32Array, e.image.data as Float32Array];
    const d = c.embedDim;
    for (let i = 0; i < b; i++) {
      const norm = Math.hypot(...ii.subarray(i * d, (i + 1) * d));
      assert.ok(Math.abs(norm - 1) < 1e-5, `image embedding ${i} has length ${norm}`);
    }
    const scale = 1 / c.initTemperature;
    const logit = (i: number, j: number) => {
      if (i !== j && groups[i] === groups[j]) return -Infinity;
      let s = 0;
      for (let k = 0; k < d; k++) s += ii[i * d + k]! * ti[j * d + k]!;
      return scale * s;
    };
    const xent = (row: (j: number) => number, own: number) => {
      const values = Array.from({ length: b }, (_, j) => row(j));
      const max = Math.max(...values);
      return max + Math.log(values.reduce((a, v) => a + Math.exp(v - max), 0)) - values[own]!;
    };
    let want = 0;
    for (let i = 0; i < b; i++) want += (xent((j) => logit(i, j), i) + xent((j) => logit(j, i), i)) / (2 * b);
    const got = (await lossOf(p as never, text, images, negativesFor(groups))) as { loss: T.NDArray };
    assert.ok(Math.abs(got.loss.item() - want) < 1e-4, `loss ${got.loss.item()} vs ${want}`);
    const plain = (await lossOf(p as never, text, images, negativesFor(['a', 'b', 'c', 'd', 'e']))) as { loss: T.NDArray };
    assert.notEqual(plain.loss.item(), got.loss.item(), 'leaving the same-subject pair out changed nothing');
  });

  it('a caption is read without its padding: the embedding row that padding gathers does not matter', async () => {
    const rng = new T.Rng(4);
    const p = initClip(new T.Rng(2), c);
    const text = captions(rng, [2, 5]);
    const images = rng.uniform([2, 3, c.imageSize, c.imageSize], 0, 1);
    const changedRow = (row: number) => {
      const w = (p.text.token_emb.weight.data as Float32Array).slice();
      // Not a constant shift: the layer norms would remove that.
      for (let k = 0; k < c.textDim; k++) w[row * c.textDim + k]! += k % 2 ? 0.5 : -0.5;
      return { ...p, text: { ...p.text, token_emb: { weight: new T.NDArray(w, p.text.token_emb.weight.shape) } } };
    };
    const base = ((await embed(p as never, text, images)) as { text: T.NDArray }).text.data as Float32Array;
    // Padding positions gather row 0 (no caption here uses token 0); a used token's row is the control.
    const padRow = ((await embed(changedRow(0) as never, text, images)) as { text: T.NDArray }).text.data as Float32Array;
    const usedRow = ((await embed(changedRow(Number(text.data[0])) as never, text, images)) as { text: T.NDArray }).text.data as Float32Array;
    assert.ok(base.every((v, k) => Math.abs(v - padRow[k]!) < 1e-6), 'changing the padding row moved the embedding');
    assert.ok(base.some((v, k) => Math.abs(v - usedRow[k]!) > 1e-3), 'changing a used token\'s row did not move the embedding');
  });

  it('a tiny model learns to pair eight coloured images with their captions', async () => {
    const rng = new T.Rng(5);
    const b = 8;
    const colours = Array.from({ length: b }, (_, i) => [(i & 1) * 0.8 + 0.1, ((i >> 1) & 1) * 0.8 + 0.1, ((i >> 2) & 1) * 0.8 + 0.1]);
    const images = new T.NDArray(Float32Array.from({ length: b * 3 * c.imageSize ** 2 }, (_, k) => {
      const [i, ch] = [Math.floor(k / (3 * c.imageSize ** 2)), Math.floor(k / c.imageSize ** 2) % 3];
      return colours[i]![ch]! + 0.05 * (rng.next() - 0.5);
    }), [b, 3, c.imageSize, c.imageSize]);
    const text = captions(rng, [2, 2, 2, 2, 2, 2, 2, 2]);
    const negatives = negativesFor(Array.from({ length: b }, (_, i) => String(i)));
    const trainer = new Trainer<{ text: T.NDArray; images: T.NDArray; negatives: T.NDArray }>((p, x) => {
      const l = clipLoss(p, x as never, c);
      return [l.loss, { accuracy: l.accuracy }];
    }, initClip(new T.Rng(6), c), { adamw: { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0 } });
    const first = await trainer.trainStep({ text, images, negatives }, 3e-3);
    let last = first;
    for (let i = 0; i < 60; i++) last = await trainer.trainStep({ text, images, negatives }, 3e-3);
    assert.ok(last.loss < first.loss / 10, `loss ${first.loss.toFixed(3)} → ${last.loss.toFixed(3)}`);
    assert.equal(last.metrics.accuracy, 1, 'not every image picks its own caption');
  });
});
