// Training: the incremental trainer against a naive one that recounts every pair at each merge,
// determinism, the vocabulary size and minimum frequency, special tokens, and the caption corpus reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../src/errors.ts';
import { BpeTrainer, readCaptions, toTokenizerJson, trainTokenizer } from '../src/tokenizer/index.ts';
import { captions } from './tokenizer.fixtures.ts';

/** Textbook BPE: count all pairs, merge the most frequent (ties: smallest left id, then right id), repeat. */
function naiveMerges(words: Map<string, number>, firstByteId: number, maxMerges: number, minFrequency: number): [number, number][] {
  const encoder = new TextEncoder();
  let entries = [...words].map(([w, c]) => ({ symbols: Array.from(encoder.encode(w), (b) => b + firstByteId), count: c }));
  const merges: [number, number][] = [];
  for (let next = firstByteId + 256; merges.length < maxMerges; next++) {
    const counts = new Map<string, number>();
    for (const { symbols, count } of entries) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const k = `${symbols[i]},${symbols[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + count);
      }
    }
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [l, r] = k.split(',').map(Number) as [number, number];
      if (c > bestCount || (c === bestCount && best && (l < best[0] || (l === best[0] && r < best[1])))) { best = [l, r]; bestCount = c; }
    }
    if (!best || bestCount < minFrequency) break;
    merges.push(best);
    entries = entries.map(({ symbols, count }) => {
      const out: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === best![0] && symbols[i + 1] === best![1]) { out.push(next); i++; } else out.push(symbols[i]!);
      }
      return { symbols: out, count };
    });
  }
  return merges;
}

test('the incremental trainer makes exactly the merges of naive BPE', () => {
  const corpus = [...captions(300, 5), 'aaaa aaaaa aaa ababab abab', 'ééé 東京東京 🐈🐈🐈'];
  const tok = trainTokenizer(corpus, { vocabSize: 258 + 150, minFrequency: 2 });
  const words = new Map<string, number>();
  for (const caption of corpus) for (const w of tok.preTokenize(caption)) words.set(w, (words.get(w) ?? 0) + 1);
  assert.deepEqual(tok.parts.merges, naiveMerges(words, 2, 150, 2));
  assert.equal(tok.vocabSize, 408);
});

test('the same corpus gives the same tokenizer, whatever the caption order', () => {
  const corpus = captions(2000, 9);
  const shuffled = [...corpus].reverse();
  const a = toTokenizerJson(trainTokenizer(corpus, { vocabSize: 600 }));
  const b = toTokenizerJson(trainTokenizer(corpus, { vocabSize: 600 }));
  const c = toTokenizerJson(trainTokenizer(shuffled, { vocabSize: 600 }));
  assert.equal(a, b);
  assert.equal(a, c);
});

test('ties go to the smaller pair of ids', () => {
  const tok = trainTokenizer(['cd', 'ab'], { vocabSize: 259, minFrequency: 1, specialTokens: [] });
  assert.deepEqual(tok.idsToTokens(tok.parts.merges[0]!), ['a', 'b']);
  assert.deepEqual(tok.parts.vocab.slice(256), ['ab', 'cd']);
});

test('the minimum frequency stops training early', () => {
  const tok = trainTokenizer(['a cat', 'a cat', 'a dog'], { vocabSize: 1000, minFrequency: 2 });
  assert.deepEqual(tok.parts.vocab.slice(258), ['Ġc', 'at', 'Ġcat']);
});

test('special tokens take the first ids, are never merged and are skipped in training text', () => {
  const tok = trainTokenizer(['<s>a cat<s>', 'a cat <pad>'], { vocabSize: 300, minFrequency: 1, specialTokens: ['<pad>', '<s>'] });
  assert.deepEqual(tok.parts.vocab.slice(0, 2), ['<pad>', '<s>']);
  assert.ok(tok.parts.vocab.every((t) => t === null || !t.includes('<s>') || t === '<s>'));
  assert.deepEqual(tok.encode('<s>A cat<pad>'), [1, ...tok.encode('a cat'), 0]);
  assert.equal(tok.decode(tok.encode('<s>a cat<pad>'), { skipSpecialTokens: true }), 'a cat');
});

test('bad training options are refused with a UserError', () => {
  assert.throws(() => new BpeTrainer({ vocabSize: 100 }), UserError);
  assert.throws(() => new BpeTrainer({ vocabSize: 1.5e3 + 0.5 }), UserError);
  assert.throws(() => new BpeTrainer({ vocabSize: 1000, minFrequency: 0 }), UserError);
  assert.throws(() => new BpeTrainer({ vocabSize: 1000, specialTokens: ['<a>', '<a>'] }), UserError);
  assert.throws(() => new BpeTrainer({ vocabSize: 1000, specialTokens: [''] }), UserError);
  const empty = trainTokenizer([], { vocabSize: 1000 });
  assert.equal(empty.vocabSize, 258);
  assert.equal(empty.decode(empty.encode('Anything ✓')), 'anything ✓');
});

test('captions are read from text files, folders of .txt and JSONL manifests', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-corpus-'));
  mkdirSync(join(dir, 'set', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'set', 'b.txt'), 'second\r\n\r\nthird\n');
  writeFileSync(join(dir, 'set', 'a.txt'), 'first');
  writeFileSync(join(dir, 'set', 'sub', 'c.txt'), 'fourth\n');
  writeFileSync(join(dir, 'set', 'image.png'), 'not a caption');
  writeFileSync(join(dir, 'm.jsonl'), '{"image":"x.png","caption":"fifth"}\n\n{"captions":["sixth","seventh"]}\n');
  writeFileSync(join(dir, 'bad.jsonl'), '{"caption":"ok"}\n{"caption": 3}\n');
  writeFileSync(join(dir, 'broken.jsonl'), '{"caption":\n');
  mkdirSync(join(dir, 'empty'));
  const read = async (paths: string[]): Promise<string[]> => { const out: string[] = []; for await (const c of readCaptions(paths)) out.push(c); return out; };
  assert.deepEqual(await read([join(dir, 'set'), join(dir, 'm.jsonl')]), ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh']);
  await assert.rejects(read([join(dir, 'bad.jsonl')]), /bad\.jsonl:2 has no "caption"/);
  await assert.rejects(read([join(dir, 'broken.jsonl')]), /broken\.jsonl:1 is not valid JSON/);
  await assert.rejects(read([join(dir, 'missing')]), /does not exist/);
  await assert.rejects(read([join(dir, 'empty')]), /no \.txt caption files/);
});
