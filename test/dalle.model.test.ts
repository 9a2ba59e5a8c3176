// The DALL·E transformer: masks checked through gradients (no output depends on an input its mask hides),
// the grouped row/column attention equal to the dense masked one (values and gradients),
// per-position caption padding, the text/image loss weighting, the vocabulary restriction, the paper's
// parameter count, cached decoding equal to the full forward pass for every mask type, and a tiny model
// that overfits a few captioned code grids; training's code noise and its ramp.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { DALLE_PRESETS, DalleConfigSchema, type DalleConfig, type MaskKind, imageTokens, layerMasks, parameterCount, sequenceLength, textTableSize } from '../src/dalle/config.ts';
import { type DalleParams, dalleHidden, dalleLoss, imageLogits, initDalle, imageInputTokens, textLogits } from '../src/dalle/model.ts';
import { allowed, groupBias, groupedAttention, groupedPays, layerAttention, maskMatrix } from '../src/dalle/masks.ts';
import { paddedCaption } from '../src/dalle/text.ts';
import { Examples } from '../src/dalle/eval.ts';
import { codeNoiseAt } from '../src/dalle/train.ts';
import type { ImageCache } from '../src/data/cache.ts';
import { trainTokenizer } from '../src/tokenizer/index.ts';
import { DalleSampler } from '../src/dalle/sample.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { interpret } from '../src/tensor/interpreter.ts';
import { vjp } from '../src/tensor/autodiff.ts';
import { countParams } from '../src/nn/params.ts';
import { blocks } from '../src/nn/transformer.ts';
import { relativeError } from './support/opcheck.ts';

const tiny = (masks: MaskKind[]): DalleConfig => DalleConfigSchema.parse({ textLength: 4, textVocab: 10, imageVocab: 6, grid: 3, dim: 16, layers: masks.length, heads: 2, masks, convKernel: 3 });

describe('DALL·E transformer', () => {
  it("the paper preset's schedule and its parameter count close to 12 billion", () => {
    const c = DALLE_PRESETS.paper!;
    const masks = layerMasks(c);
    assert.equal(masks.at(-1), 'conv');
    assert.equal(masks[2], 'column');
    assert.equal(masks[6], 'column');
    assert.equal(masks[3], 'row');
    const count = parameterCount(c);
    assert.ok(count > 11.5e9 && count < 12.5e9, `paper preset: ${count} parameters`);
    const small = tiny(['row', 'conv']);
    assert.equal(parameterCount(small), countParams(initDalle(new T.Rng(0), small)), 'count from config = allocated');
  });

  it('pads each caption position with its own token', () => {
    const c = tiny(['full']);
    assert.deepEqual(paddedCaption([3, 5], c), [3, 5, 12, 13]);
    assert.equal(textTableSize(c), 14);
  });

  it('masks follow the grid: row, column and a k×k window around the predicted cell', () => {
    const c = DalleConfigSchema.parse({ ...tiny(['full']), grid: 4, convKernel: 3 });
    const t = c.textLength;
    const at = (cell: number) => t + cell; // the query predicting `cell`
    const holding = (cell: number) => t + cell + 1; // the key holding `cell`'s code
    assert.ok(allowed('full', at(5), holding(0), c));
    assert.ok(!allowed('full', at(5), holding(5), c), 'causal: a cell cannot see its own code');
    assert.ok(allowed('row', at(6), holding(4), c) && !allowed('row', at(6), holding(3), c), 'row 1 sees row 1 only');
    assert.ok(allowed('column', at(9), holding(1), c) && !allowed('column', at(9), holding(6), c), 'column 1 sees column 1 only');
    assert.ok(allowed('conv', at(10), holding(5), c) && !allowed('conv', at(10), holding(0), c), '3×3 window around (2, 2)');
    for (const kind of ['row', 'column', 'conv'] as MaskKind[]) {
      assert.ok(allowed(kind, at(7), t, c), `${kind}: the start-of-image token is visible`);
      assert.ok(allowed(kind, at(7), 0, c) && allowed(kind, at(7), t - 1, c), `${kind}: every caption position is visible`);
      assert.ok(allowed(kind, at(7), at(7), c), `${kind}: a position sees itself`);
    }
    assert.ok(!allowed('full', 1, 2, c) && allowed('full', 2, 1, c), 'text-to-text is causal');
  });

  for (const kind of ['full', 'row', 'column', 'conv'] as MaskKind[]) {
    it(`${kind} mask: no output depends on an input its mask hides (checked through gradients)`, () => {
      const c = tiny([kind]);
      const params = initDalle(new T.Rng(1), c);
      const len = sequenceLength(c);
      const x = T.placeholder([1, len, c.dim], 'float32', 'x');
      // One block over free input embeddings: d out[q] / d in[k] must vanish where the mask forbids (q, k).
      const p = T.mapTree(params, T.isNDArray, (a) => T.constant(a)) as unknown as DalleParams<Tensor>;
      // The attention dalleHidden uses, and for row and column layers the grouped form too (dalleHidden
      // takes it on larger grids), checked against `allowed`.
      const forms = [layerAttention(kind, len, c), ...(kind === 'row' || kind === 'column' ? [groupedAttention(kind, c)] : [])];
      const xValue = new T.Rng(2).randn([1, len, c.dim]);
      for (const form of forms) {
        const out = blocks(p.blocks, x, c.heads, [form]).x;
        for (let q = 0; q < len; q++) {
          const g = vjp(T.sum(T.sliceAxis(out, 1, q, q + 1)), [x])[0]!;
          const grad = interpret([g], new Map([[x, xValue]]))[0]!.data;
          for (let k = 0; k < len; k++) {
            let norm = 0;
            for (let d = 0; d < c.dim; d++) norm += Math.abs(grad[k * c.dim + d]!);
            if (allowed(kind, q, k, c)) continue;
            assert.ok(norm < 1e-9, `${kind} (${typeof form === 'function' ? 'grouped' : 'dense'}): output ${q} depends on hidden input ${k} (|grad| ${norm})`);
          }
        }
      }
    });
  }

  for (const kind of ['row', 'column'] as const) {
    it(`${kind} layers: the grouped attention equals the dense masked one, values and gradients`, () => {
      const c = DalleConfigSchema.parse({ textLength: 3, textVocab: 10, imageVocab: 6, grid: 4, dim: 8, layers: 1, heads: 2, masks: [kind] });
      const len = sequenceLength(c);
      const [q, k, v] = ['q', 'k', 'v'].map((n) => T.placeholder([2, 2, len, 4], 'float32', n)) as [Tensor, Tensor, Tensor];
      const grouped = groupedAttention(kind, c);
      const bias = T.constant(new T.NDArray(Float32Array.from(maskMatrix(kind, len, c), (m) => (m ? 0 : -1e9)), [len, len]));
      const dense = T.matmul(T.softmax(T.add(T.matmul(q, T.mT(k)), bias), -1), v);
      const ours = grouped(q, k, v);
      const rng = new T.Rng(9);
      const feeds = new Map([q, k, v].map((x) => [x, rng.randn([2, 2, len, 4])] as const));
      const weight = T.constant(rng.randn([2, 2, len, 4]));
      const grads = (out: Tensor) => vjp(T.sum(T.mul(out, weight)), [q, k, v]);
      const [a, ...ga] = interpret([dense, ...grads(dense)], feeds);
      const [b, ...gb] = interpret([ours, ...grads(ours)], feeds);
      assert.ok(relativeError(Float32Array.from(b!.data), Float32Array.from(a!.data)) < 1e-9, 'values');
      ga.forEach((g, i) => assert.ok(relativeError(Float32Array.from(gb[i]!.data), Float32Array.from(g.data)) < 1e-6, `gradient ${'qkv'[i]}`));
      // Every pair the mask allows has exactly one open slot: image queries' allowed keys, counted both ways.
      const open = groupBias(kind, c).toNumbers().filter((x) => x === 0).length;
      const allowedImagePairs = maskMatrix(kind, len, c).filter((m, i) => m && Math.floor(i / len) >= c.textLength).length;
      assert.equal(open, allowedImagePairs);
    });
  }

  it('row and column layers attend in groups where that scores at most a quarter of the pairs', () => {
    const small = DALLE_PRESETS.small!; // 16×16 grid, 32 caption tokens: 6.1 and 4.7 times fewer pairs
    assert.ok(groupedPays('row', small) && groupedPays('column', small));
    assert.equal(typeof layerAttention('row', sequenceLength(small), small), 'function');
    const shipped = DalleConfigSchema.parse({ ...small, textLength: 24, grid: 8 }); // 2.9 and 2.4 times fewer
    assert.ok(!groupedPays('row', shipped) && !groupedPays('column', shipped));
    assert.ok(T.isTensor(layerAttention('column', sequenceLength(shipped), shipped)));
  });

  it('restricts logits to the text vocabulary at text positions and the codebook at image positions; weights the losses', async () => {
    const c = DalleConfigSchema.parse({ ...tiny(['row']), textLossWeight: 0.25, imageLossWeight: 0.75 });
    const params = initDalle(new T.Rng(3), c);
    const rng = new T.Rng(4);
    const text = T.NDArray.int64([...paddedCaption([1, 2], c), ...paddedCaption([7], c)], [2, c.textLength]);
    const image = T.NDArray.int64(Array.from({ length: 2 * imageTokens(c) }, () => rng.int(c.imageVocab)), [2, imageTokens(c)]);
    const f = T.compile((p: DalleParams<Tensor>, t: Tensor, im: Tensor) => {
      const { h } = dalleHidden(p, { text: t, image: imageInputTokens(im, c) }, c);
      return { textLogits: textLogits(p, h, c), imageLogits: imageLogits(p, h, c), ...dalleLoss(p, { text: t, image: im }, c) };
    });
    const out = await f(params, text, image);
    assert.deepEqual(out.textLogits.shape, [2, sequenceLength(c), textTableSize(c)]);
    assert.deepEqual(out.imageLogits.shape, [2, sequenceLength(c), c.imageVocab]);
    assert.ok(Math.abs(out.loss.item() - (0.25 * out.text.item() + 0.75 * out.image.item())) < 1e-5);
    // At initialisation every distribution is near uniform over its own vocabulary, not the union.
    assert.ok(Math.abs(out.image.item() - Math.log(c.imageVocab)) < 0.3, `image loss ${out.image.item()} vs ln K ${Math.log(c.imageVocab)}`);
    assert.ok(Math.abs(out.text.item() - Math.log(textTableSize(c))) < 0.3, `text loss ${out.text.item()} vs ln ${textTableSize(c)}`);
  });

  for (const kind of ['full', 'row', 'column', 'conv'] as MaskKind[]) {
    it(`cached decoding gives the full forward pass's logits within 1e-4 (${kind} mask)`, async () => {
      const c = tiny([kind, kind === 'full' ? 'row' : 'full']);
      const params = initDalle(new T.Rng(5), c);
      const cells = imageTokens(c);
      const captions = [paddedCaption([1, 2, 3], c), paddedCaption([4], c)];
      // Sample through the cache, keeping the logits of every step; then run the drawn codes through the
      // full forward pass and compare position by position.
      const cached: Float32Array[] = [];
      const codes = await new DalleSampler(c, params).sample({ captions, seed: 1, temperature: 1, onLogits: (_, l) => cached.push((l.data as Float32Array).slice()) });
      const full = T.compile((p: DalleParams<Tensor>, t: Tensor, im: Tensor) => imageLogits(p, T.sliceAxis(dalleHidden(p, { text: t, image: imageInputTokens(im, c) }, c).h, 1, c.textLength, sequenceLength(c)), c));
      const logits = (await full(params, T.NDArray.int64(captions.flat(), [2, c.textLength]), T.NDArray.int64(codes.flat(), [2, cells]))).data as Float32Array;
      assert.equal(cached.length, cells);
      for (let cell = 0; cell < cells; cell++) {
        for (let b = 0; b < 2; b++) {
          const want = logits.subarray((b * cells + cell) * c.imageVocab, (b * cells + cell + 1) * c.imageVocab);
          const got = cached[cell]!.subarray(b * c.imageVocab, (b + 1) * c.imageVocab);
          const err = relativeError(got, want);
          assert.ok(err <= 1e-4, `sequence ${b} cell ${cell}: cached logits differ by ${err.toExponential(2)}`);
        }
      }
    });
  }

  it("int8 decode weights: the decode step's logits stay within a few percent of float32's", async () => {
    const c = tiny(['row', 'conv']);
    const params = initDalle(new T.Rng(9), c);
    const captions = [paddedCaption([1, 2, 3], c), paddedCaption([4], c)];
    // Cell 0 is drawn from the prefill (float32 either way) with the same seed, so both samplers reach the
    // first decode step with the same history; its logits are what the weights' precision changes.
    const logitsOf = async (weights: 'float32' | 'int8') => {
      const seen: Float32Array[] = [];
      await new DalleSampler(c, params, { weights }).sample({ captions, seed: 2, temperature: 1, onLogits: (_, l) => seen.push((l.data as Float32Array).slice()) });
      return seen;
    };
    const [float, int8] = [await logitsOf('float32'), await logitsOf('int8')];
    assert.deepEqual(int8[0], float[0], 'the prefill is not quantized');
    const err = relativeError(int8[1]!, float[1]!);
    assert.ok(err > 0 && err < 0.05, `first decode step's logits differ by ${(100 * err).toFixed(2)}%`);
  });

  it('completion keeps the given cells anywhere in the grid and draws the rest from the full pass\'s logits', async () => {
    const c = tiny(['row', 'conv']);
    const params = initDalle(new T.Rng(6), c);
    const cells = imageTokens(c);
    const captions = [paddedCaption([2, 5], c), paddedCaption([7], c)];
    const given = [Array.from({ length: cells }, (_, i) => i % c.imageVocab), Array.from({ length: cells }, (_, i) => (i * 5 + 1) % c.imageVocab)];
    // Given: the first two cells (prefill), one in the middle and the last (fed in place of draws).
    const keep = Array.from({ length: cells }, (_, i) => i < 2 || i === 4 || i === cells - 1);
    const drawnAt: number[] = [];
    const cached: Float32Array[] = [];
    const steps: number[] = [];
    const codes = await new DalleSampler(c, params).sample({
      captions, seed: 3, temperature: 1, prompt: { codes: given, keep },
      onLogits: (cell, l) => { drawnAt.push(cell); cached.push((l.data as Float32Array).slice()); },
      onStep: (done, total) => steps.push(done, total),
    });
    assert.deepEqual(drawnAt, keep.flatMap((k, i) => (k ? [] : [i])));
    assert.deepEqual(steps.slice(-2), [drawnAt.length, drawnAt.length]);
    codes.forEach((grid, b) => keep.forEach((k, i) => k && assert.equal(grid[i], given[b]![i], `image ${b} cell ${i} was given but changed`)));
    const full = T.compile((p: DalleParams<Tensor>, t: Tensor, im: Tensor) => imageLogits(p, T.sliceAxis(dalleHidden(p, { text: t, image: imageInputTokens(im, c) }, c).h, 1, c.textLength, sequenceLength(c)), c));
    const logits = (await full(params, T.NDArray.int64(captions.flat(), [2, c.textLength]), T.NDArray.int64(codes.flat(), [2, cells]))).data as Float32Array;
    drawnAt.forEach((cell, j) => {
      for (let b = 0; b < 2; b++) {
        const want = logits.subarray((b * cells + cell) * c.imageVocab, (b * cells + cell + 1) * c.imageVocab);
        const err = relativeError(cached[j]!.subarray(b * c.imageVocab, (b + 1) * c.imageVocab), want);
        assert.ok(err <= 1e-4, `sequence ${b} cell ${cell}: logits differ by ${err.toExponential(2)}`);
      }
    });
    await assert.rejects(new DalleSampler(c, params).sample({ captions, seed: 3, temperature: 1, prompt: { codes: given, keep: keep.map(() => true) } }), /nothing to draw/);
  });

  it('a tiny model overfits a dozen captioned code grids until greedy sampling reproduces their codes', async () => {
    const c = DalleConfigSchema.parse({ textLength: 4, textVocab: 16, imageVocab: 8, grid: 2, dim: 48, layers: 2, heads: 2, masks: ['row', 'full'], convKernel: 3, captionDropout: 0 });
    const rng = new T.Rng(8);
    const captions = Array.from({ length: 12 }, (_, i) => paddedCaption([i, (i * 7 + 3) % 16, (i * 5 + 1) % 16].slice(0, 1 + (i % 3)), c));
    const codes = Array.from({ length: 12 }, () => Array.from({ length: imageTokens(c) }, () => rng.int(c.imageVocab)));
    const text = T.NDArray.int64(captions.flat(), [12, c.textLength]);
    const image = T.NDArray.int64(codes.flat(), [12, imageTokens(c)]);
    const trainer = new Trainer<any>((p, b) => {
      const l = dalleLoss(p, b, c);
      return [l.loss, { image: l.image }];
    }, initDalle(new T.Rng(7), c), { adamw: { beta1: 0.9, beta2: 0.96, eps: 1e-8, weightDecay: 0 } });
    const first = await trainer.trainStep({ text, image }, 3e-3);
    let last = first;
    for (let i = 0; i < 300; i++) last = await trainer.trainStep({ text, image }, 3e-3);
    assert.ok(last.metrics.image! < first.metrics.image! / 10, `image NLL ${first.metrics.image} → ${last.metrics.image}`);
    const sampled = await new DalleSampler(c, trainer.params).sample({ captions, seed: 0, temperature: 0 });
    assert.deepEqual(sampled, codes, 'greedy sampling does not reproduce the training codes');
  });

  it('reads augmented copies of the codes only when asked, one copy per image and step, with the captions it draws without them', () => {
    const captions = ['a red heart', 'a blue circle', 'a green star', 'a yellow face'];
    const tokenizer = trainTokenizer(captions, { vocabSize: 280 });
    const c = DalleConfigSchema.parse({ textLength: 8, textVocab: tokenizer.parts.vocab.length, imageVocab: 64, grid: 2, dim: 16, layers: 1, heads: 2, masks: ['full'] });
    const cells = imageTokens(c), images = 8;
    // Plain codes of image i are i, its copy v's are 8·v + i: each row tells which version was read.
    const table = Int32Array.from({ length: 3 * images * cells }, (_, k) => Math.floor(k / cells));
    const cache = { count: images, items: Array.from({ length: images }, (_, i) => ({ captions: [captions[i % 4]!, `${captions[(i + 1) % 4]} too`] })) } as unknown as ImageCache;
    const examples = new Examples(cache, { codes: table, cells, variants: 3 }, tokenizer, c);
    const batch = [0, 1, 2, 3, 4, 5, 6, 7];
    const o = { bpeDropout: 0.1, captionDropout: 0.2 };
    const rows = (b: { image: T.NDArray }) => batch.map((_, k) => b.image.toNumbers().slice(k * cells, (k + 1) * cells));
    assert.deepEqual(rows(examples.batch(batch, 5, 9, o)), batch.map((i) => Array(cells).fill(i)), 'copies read without `augmented`');
    const versions = new Set<number>();
    for (let step = 0; step < 6; step++) {
      const plain = examples.batch(batch, 5, step, o), augmented = examples.batch(batch, 5, step, { ...o, augmented: true });
      assert.deepEqual(augmented.text.data, plain.text.data, 'augmentation changed the captions drawn');
      rows(augmented).forEach((row, k) => {
        assert.ok(row.every((v) => v === row[0]) && row[0]! % images === batch[k], `row ${k} mixes images or versions: ${row}`);
        versions.add(Math.floor(row[0]! / images));
      });
      assert.deepEqual(examples.batch(batch, 5, step, { ...o, augmented: true }).image.data, augmented.image.data, 'the copy drawn is not seeded');
    }
    assert.deepEqual([...versions].sort(), [0, 1, 2], 'not every version was read over 48 draws');
  });

  it('code noise replaces about its share of the codes the model reads, with codes of the batch, and leaves the targets and captions', async () => {
    const captions = ['a red heart', 'a blue circle', 'a green star', 'a yellow face'];
    const tokenizer = trainTokenizer(captions, { vocabSize: 280 });
    const c = DalleConfigSchema.parse({ textLength: 8, textVocab: tokenizer.parts.vocab.length, imageVocab: 64, grid: 8, dim: 16, layers: 1, heads: 2, masks: ['full'] });
    const cells = imageTokens(c);
    // Images 0–7 use codes below 32 only, images 8–15 codes of 32 and up: a batch of the first eight can only
    // borrow codes below 32.
    const table = Int32Array.from({ length: 16 * cells }, (_, i) => (Math.floor(i / cells) < 8 ? 0 : 32) + ((i * 7) % 32));
    const cache = { items: Array.from({ length: 16 }, (_, i) => ({ captions: [captions[i % 4]!, `${captions[(i + 1) % 4]} too`] })) } as unknown as ImageCache;
    const examples = new Examples(cache, { codes: table, cells }, tokenizer, c);
    const batch = [0, 1, 2, 3, 4, 5, 6, 7];
    const plain = examples.batch(batch, 5, 9, { bpeDropout: 0.1, captionDropout: 0.2 });
    const noisy = examples.batch(batch, 5, 9, { bpeDropout: 0.1, captionDropout: 0.2, codeNoise: 0.25 });
    assert.equal(plain.input, undefined);
    assert.deepEqual(noisy.text.data, plain.text.data, 'the noise changed the captions drawn');
    assert.deepEqual(noisy.image.data, plain.image.data, 'the noise changed the targets');
    const read = noisy.input!.toNumbers(), target = noisy.image.toNumbers();
    const changed = read.filter((v, i) => v !== target[i]).length / read.length;
    assert.ok(changed > 0.18 && changed < 0.3, `${(100 * changed).toFixed(1)}% of the codes read were replaced, not about 25%`);
    assert.ok(read.every((v) => v < 32), 'a replacement came from outside the batch');
    assert.deepEqual(examples.batch(batch, 5, 9, { bpeDropout: 0.1, captionDropout: 0.2, codeNoise: 0.25 }).input!.data, noisy.input!.data, 'the noise is not seeded');
    // The loss predicts the targets from the codes read: the same codes read give the plain loss.
    const params = initDalle(new T.Rng(2), c);
    const loss = T.compile((p: DalleParams<Tensor>, text: Tensor, image: Tensor, input: Tensor | null) => dalleLoss(p, { text, image, ...(input && { input }) }, c).image);
    const clean = (await loss(params, noisy.text, noisy.image, null)).item();
    assert.ok(Math.abs((await loss(params, noisy.text, noisy.image, noisy.image)).item() - clean) < 1e-6);
    assert.notEqual((await loss(params, noisy.text, noisy.image, noisy.input!)).item(), clean);
  });

  it('the code-noise ramp rises linearly to its share over its updates, never 0, and the batches follow it', () => {
    const ramp = { codeNoise: 0.4, codeNoiseRamp: 4 };
    assert.deepEqual([0, 1, 2, 3, 4, 100].map((step) => +codeNoiseAt(step, ramp).toFixed(9)), [0.1, 0.2, 0.3, 0.4, 0.4, 0.4]);
    assert.deepEqual([0, 7].map((step) => codeNoiseAt(step, { codeNoise: 0.3, codeNoiseRamp: 0 })), [0.3, 0.3]);
    assert.equal(codeNoiseAt(0, { codeNoise: 0, codeNoiseRamp: 5 }), 0);
    // Codes 0..63, each image's distinct: the share of codes read that differ from the targets is the noise
    // (less the draws that happen to pick the same code, 1 in 64 here).
    const tokenizer = trainTokenizer(['a red heart', 'a blue circle'], { vocabSize: 270 });
    const c = DalleConfigSchema.parse({ textLength: 8, textVocab: tokenizer.parts.vocab.length, imageVocab: 64, grid: 8, dim: 16, layers: 1, heads: 2, masks: ['full'] });
    const cells = imageTokens(c);
    const table = Int32Array.from({ length: 64 * cells }, (_, i) => (i * 13 + Math.floor(i / cells)) % 64);
    const cache = { items: Array.from({ length: 64 }, (_, i) => ({ captions: [i % 2 ? 'a red heart' : 'a blue circle'] })) } as unknown as ImageCache;
    const examples = new Examples(cache, { codes: table, cells }, tokenizer, c);
    const batch = Array.from({ length: 64 }, (_, i) => i);
    const replaced = (step: number) => {
      const b = examples.batch(batch, 1, step, { bpeDropout: 0, captionDropout: 0, codeNoise: codeNoiseAt(step, ramp) });
      const read = b.input!.toNumbers(), target = b.image.toNumbers();
      return read.filter((v, i) => v !== target[i]).length / read.length;
    };
    const [first, last] = [replaced(0), replaced(3)];
    assert.ok(first > 0.07 && first < 0.13, `${(100 * first).toFixed(1)}% replaced at the first step, not about 10%`);
    assert.ok(last > 0.35 && last < 0.45, `${(100 * last).toFixed(1)}% replaced at the ramp's end, not about 40%`);
  });
});
