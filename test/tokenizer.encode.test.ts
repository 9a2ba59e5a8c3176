// Encoding and decoding: the round trip on random Unicode, the normalisation it returns, truncation, BPE
// dropout, batches, and awkward or hostile input (empty, controls, lone surrogates, a 1 MB string).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../src/errors.ts';
import { seededRandom, trainTokenizer, type BpeTokenizer } from '../src/tokenizer/index.ts';
import { captions, randomUnicode } from './tokenizer.fixtures.ts';

const corpus = [...captions(3000, 3), ...randomUnicode(300, 4)];
const tok: BpeTokenizer = trainTokenizer(corpus, { vocabSize: 1200 });

/** The paper's normalisation, written out independently of the tokenizer's pipeline. */
function expectedNormalization(text: string): string {
  return text.replace(/\p{Cs}/gu, '\uFFFD').normalize('NFC').toLowerCase().replace(/\p{White_Space}+/gu, ' ').trim();
}

test('decode(encode(text)) is the normalised text, for random Unicode and captions', () => {
  for (const text of [...randomUnicode(2000, 77), ...captions(500, 78)]) {
    const ids = tok.encode(text);
    assert.equal(tok.normalize(text), expectedNormalization(text), JSON.stringify(text));
    assert.equal(tok.decode(ids), expectedNormalization(text), JSON.stringify(text));
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize));
  }
});

test('normalisation: NFC, lowercase, whitespace folded and trimmed', () => {
  assert.equal(tok.normalize('  A  Cafe\u0301\t\tOn\nTHE\u3000Moon \u00a0'), 'a café on the moon');
  assert.equal(tok.decode(tok.encode('A CAT')), 'a cat');
  assert.deepEqual(tok.encode('A   cat'), tok.encode('a cat'));
});

test('common caption words become single tokens', () => {
  const tokens = tok.idsToTokens(tok.encode('a photo of a cat on a beach'));
  assert.deepEqual(tokens, ['a', 'Ġphoto', 'Ġof', 'Ġa', 'Ġcat', 'Ġon', 'Ġa', 'Ġbeach']);
});

test('truncation keeps the first maxLength ids', () => {
  for (const text of captions(200, 12)) {
    const full = tok.encode(text);
    for (const maxLength of [0, 1, 5, 1000]) assert.deepEqual(tok.encode(text, { maxLength }), full.slice(0, maxLength));
  }
  assert.throws(() => tok.encode('x', { maxLength: -1 }), UserError);
  assert.throws(() => tok.encode('x', { maxLength: 2.5 }), UserError);
});

test('BPE dropout changes the segmentation, still decodes to the same text, and is reproducible', () => {
  const texts = captions(500, 21);
  const random = seededRandom(7);
  let changed = 0;
  let plainTokens = 0;
  let dropoutTokens = 0;
  for (const text of texts) {
    const plain = tok.encode(text);
    const dropped = tok.encode(text, { dropout: 0.1, random });
    if (plain.join() !== dropped.join()) changed++;
    plainTokens += plain.length;
    dropoutTokens += dropped.length;
    assert.equal(tok.decode(dropped), tok.normalize(text));
  }
  assert.ok(changed > 100, `only ${changed} of 500 captions changed`);
  assert.ok(dropoutTokens > plainTokens * 1.05, `${dropoutTokens} vs ${plainTokens} tokens`);
  const again = (seed: number): number[][] => tok.encodeBatch(texts.slice(0, 50), { dropout: 0.1, random: seededRandom(seed) });
  assert.deepEqual(again(3), again(3));
  assert.notDeepEqual(again(3), again(4));
  const allBytes = tok.encode('lighthouse', { dropout: 0.999999, random: seededRandom(1) });
  assert.equal(allBytes.length, 'lighthouse'.length);
  assert.throws(() => tok.encode('x', { dropout: 0.1 }), /seeded random generator/);
  assert.throws(() => tok.encode('x', { dropout: 1, random }), UserError);
});

test('batch encoding equals encoding one by one', () => {
  const texts = captions(100, 31);
  assert.deepEqual(tok.encodeBatch(texts, { maxLength: 8 }), texts.map((t) => tok.encode(t, { maxLength: 8 })));
});

test('empty, blank, NUL and control characters have defined results', () => {
  assert.deepEqual(tok.encode(''), []);
  assert.deepEqual(tok.encode(' \t\n\u3000 '), []);
  assert.equal(tok.decode([]), '');
  const controls = 'a\u0000b\u0001\u0007\u001b[0m\u007f';
  assert.equal(tok.decode(tok.encode(controls)), controls);
  assert.ok(tok.encode('\u0000').length === 1);
});

test('lone UTF-16 surrogates encode as U+FFFD', () => {
  for (const text of ['\uD800', 'x\uDC00y', '\uDBFF\uDBFF', 'ok 🐈 \uD83D']) {
    assert.equal(tok.decode(tok.encode(text)), expectedNormalization(text));
    assert.ok(tok.decode(tok.encode(text)).includes('\uFFFD'));
  }
  assert.equal(tok.decode(tok.encode('🐈')), '🐈');
});

test('a 1 MB caption and a 1 MB word encode in bounded time', () => {
  const long = captions(20000, 41).join(' ').slice(0, 1 << 20);
  let started = performance.now();
  const ids = tok.encode(long);
  assert.equal(tok.decode(ids), expectedNormalization(long));
  assert.ok(performance.now() - started < 5000, `1 MB caption took ${performance.now() - started} ms`);
  started = performance.now();
  const word = 'ab'.repeat(1 << 19);
  const wordIds = tok.encode(word);
  assert.equal(tok.decode(wordIds), word);
  assert.ok(performance.now() - started < 5000, `1 MB word took ${performance.now() - started} ms`);
  assert.equal(tok.encode(long, { maxLength: 256 }).length, 256);
});

test('bad arguments are refused with a UserError', () => {
  assert.throws(() => tok.encode(42 as unknown as string), /must be a string/);
  assert.throws(() => tok.encode(null as unknown as string), UserError);
  assert.throws(() => tok.decode([tok.vocabSize]), /not in the vocabulary/);
  assert.throws(() => tok.decode([-1]), UserError);
  assert.throws(() => tok.decode([1.5]), UserError);
  assert.throws(() => tok.idsToTokens([99999]), UserError);
});
