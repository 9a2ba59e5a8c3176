// Growing the text vocabulary of a trained transformer for a fine-tune (src/dalle/vocab.ts): a tokenizer
// trained on the same captions with a larger vocabulary extends the smaller one; the grown model reads old
// tokens exactly as before, and a new token starts as the mean of its pieces.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { trainTokenizer } from '../src/tokenizer/index.ts';
import { DALLE_PRESETS, type DalleConfig } from '../src/dalle/config.ts';
import { type DalleParams, dalleLoss, initDalle } from '../src/dalle/model.ts';
import { paddedCaption } from '../src/dalle/text.ts';
import { extensionProblem, growTextVocab, oldPieces } from '../src/dalle/vocab.ts';
import { captions } from './tokenizer.fixtures.ts';

const corpus = captions(400, 3);
const small = trainTokenizer(corpus, { vocabSize: 300 });
const big = trainTokenizer(corpus, { vocabSize: 360 });
const config = (tokens: number): DalleConfig => ({ ...DALLE_PRESETS.tiny!, textVocab: tokens });

it('a tokenizer trained on the same captions with more tokens extends the smaller one; one from other captions does not', () => {
  assert.equal(extensionProblem(small, big), null);
  assert.match(extensionProblem(big, small)!, /fewer than the model's 360/);
  const other = trainTokenizer(captions(400, 11).map((c) => c.split('').reverse().join('')), { vocabSize: 360 });
  assert.match(extensionProblem(small, other)!, /token \d+ is|merge \d+ differs/);
  assert.throws(() => growTextVocab(initDalle(new T.Rng(1), config(300)), config(300), small, other), /does not extend the model's/);
});

it("a new token's pieces are old tokens that spell it", () => {
  const pieces = oldPieces(big, small.vocabSize);
  assert.equal(pieces.length, big.vocabSize);
  for (let id = 0; id < big.vocabSize; id++) {
    if (id < small.vocabSize) assert.deepEqual(pieces[id], [id]);
    else assert.ok(pieces[id]!.length >= 2 && pieces[id]!.every((p) => p < small.vocabSize), `token ${id}: ${pieces[id]}`);
    assert.equal(small.decode(pieces[id]!), big.decode([id]));
  }
});

it('the grown model reads old tokens as before (same image loss) and starts a new token as the mean of its pieces', async () => {
  const before = config(small.vocabSize);
  const params = initDalle(new T.Rng(4), before);
  const { params: grownParams, config: after } = growTextVocab(params, before, small, big);
  assert.equal(after.textVocab, big.vocabSize);
  const imageLoss = T.compile((p: DalleParams<Tensor>, text: Tensor, image: Tensor) => ({ image: dalleLoss(p, { text, image }, after).image }), { name: 'grown_image_loss' });
  const imageLossBefore = T.compile((p: DalleParams<Tensor>, text: Tensor, image: Tensor) => ({ image: dalleLoss(p, { text, image }, before).image }), { name: 'old_image_loss' });
  const ids = [5, 120, 299]; // old tokens, then padding: the padding rows moved up past the new ids
  const image = T.NDArray.int64([...Array(2 * 16).keys()].map((i) => (i * 7) % 32), [2, 16]);
  const text = (c: DalleConfig) => T.NDArray.int64([...paddedCaption(ids, c), ...paddedCaption([], c)], [2, c.textLength]);
  const a = (await imageLossBefore(params as never, text(before), image)).image.item();
  const b = (await imageLoss(grownParams as never, text(after), image)).image.item();
  assert.ok(Math.abs(a - b) < 1e-5, `image loss ${a} before, ${b} after growing`);
  // A new token's input and output rows: the mean of its pieces' rows.
  const id = big.vocabSize - 1;
  const pieces = oldPieces(big, small.vocabSize)[id]!;
  const dim = before.dim;
  for (const [name, grown, old] of [['text_emb', grownParams.text_emb.weight, params.text_emb.weight], ['head', grownParams.head.weight, params.head.weight]] as const) {
    for (const j of [0, dim - 1]) {
      const mean = pieces.reduce((s, p) => s + (old.data as Float32Array)[p * dim + j]!, 0) / pieces.length;
      assert.ok(Math.abs((grown.data as Float32Array)[id * dim + j]! - mean) < 1e-6, `${name} row ${id}[${j}]`);
    }
  }
});
