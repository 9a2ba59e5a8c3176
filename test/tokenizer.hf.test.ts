// Hugging Face `tokenizer.json`: our files give the same ids in Tokenizers.js (the reference JavaScript
// implementation), survive save and load, other models' byte-level BPE files load and match Tokenizers.js
// too, and damaged or foreign files are refused with a clear message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../src/errors.ts';
import { BYTE_TO_CHAR } from '../src/tokenizer/bytes.ts';
import { fromTokenizerJson, loadTokenizer, saveTokenizer, toTokenizerJson, trainTokenizer, type BpeTokenizer } from '../src/tokenizer/index.ts';
import { captions, randomUnicode } from './tokenizer.fixtures.ts';

const probes = [
  ...captions(3000, 50), ...randomUnicode(1500, 51),
  "I'LL say it's DON'T 1234567 x²³ ٣٤٥", '  <|pad|>  A <|endoftext|>B<|pad|>', 'tab\tnew\nline\r\nend', '',
];

function assertSameIds(ours: BpeTokenizer, reference: Tokenizer, texts: string[]): void {
  for (const text of texts) {
    const expected = text === '' ? [] : reference.encode(text, { add_special_tokens: false }).ids;
    assert.deepEqual(ours.encode(text), expected, JSON.stringify(text));
  }
}

test('Tokenizers.js loads our tokenizer.json and produces identical ids', () => {
  const tok = trainTokenizer([...captions(4000, 52), ...randomUnicode(400, 53)], { vocabSize: 2000 });
  const reference = new Tokenizer(JSON.parse(toTokenizerJson(tok)), {});
  assertSameIds(tok, reference, probes);
  assert.equal(reference.get_vocab().size, tok.vocabSize);
});

test('save and load give the same file and the same ids', () => {
  const tok = trainTokenizer(captions(1000, 54), { vocabSize: 700, specialTokens: ['<pad>'] });
  const path = join(mkdtempSync(join(tmpdir(), 'tok-hf-')), 'tokenizer.json');
  saveTokenizer(tok, path);
  const loaded = loadTokenizer(path);
  assert.equal(toTokenizerJson(loaded), readFileSync(path, 'utf8'));
  for (const text of probes.slice(0, 500)) assert.deepEqual(loaded.encode(text), tok.encode(text));
});

/** A small GPT-2-layout file: bytes in GPT-2's id order, a few merges, <|endoftext|> last, no normaliser. */
function gpt2StyleJson(preTokenizer: unknown): Record<string, unknown> {
  const printable = [...Array(256).keys()].filter((b) => BYTE_TO_CHAR[b]!.charCodeAt(0) === b);
  const order = [...printable, ...[...Array(256).keys()].filter((b) => !printable.includes(b))];
  const vocab: Record<string, number> = {};
  order.forEach((b, id) => { vocab[BYTE_TO_CHAR[b]!] = id; });
  const merges = ['Ġ t', 'h e', 'Ġt he', 'Ġ w', 'o r', 'Ġw or', 'l d', 'Ġwor ld', 'H e', 'l l', 'He ll', 'Hell o', 'Ġ c', 'a t', 'Ġc at', '1 2', "' s"];
  for (const merge of merges) vocab[merge.replace(' ', '')] = Object.keys(vocab).length;
  const eos = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = eos;
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null, pre_tokenizer: preTokenizer,
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab, merges },
  };
}

test('a GPT-2-style tokenizer.json loads and matches Tokenizers.js', () => {
  const json = gpt2StyleJson({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  const tok = fromTokenizerJson(json);
  const ids = tok.encode('Hello the world cat<|endoftext|>');
  assert.deepEqual(tok.idsToTokens(ids), ['Hello', 'Ġthe', 'Ġworld', 'Ġcat', '<|endoftext|>']);
  assert.equal(tok.decode(ids), 'Hello the world cat<|endoftext|>');
  assertSameIds(tok, new Tokenizer(json, {}), probes);
});

test('a Llama-3-style file (Split regex, then ByteLevel without regex) matches Tokenizers.js', () => {
  const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const json = gpt2StyleJson({
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: llama3 }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  });
  json.normalizer = { type: 'NFC' };
  const tok = fromTokenizerJson(json);
  assert.deepEqual(tok.preTokenize("I'LL pay 1234567"), ['I', "'LL", ' pay', ' ', '123', '456', '7']);
  assertSameIds(tok, new Tokenizer(json, {}), probes);
});

test('damaged and foreign tokenizer files are refused with a message', () => {
  const good = () => JSON.parse(toTokenizerJson(trainTokenizer(captions(200, 55), { vocabSize: 300 }))) as Record<string, any>;
  const cases: [string, (j: Record<string, any>) => unknown, RegExp][] = [
    ['array', () => [], /the file must be an object/],
    ['no model', (j) => { delete j.model; return j; }, /"model" must be an object/],
    ['WordPiece', (j) => { j.model.type = 'WordPiece'; return j; }, /model type "WordPiece" is not supported/],
    ['Unigram', (j) => { j.model = { type: 'Unigram', vocab: [['a', 0]] }; return j; }, /"Unigram" is not supported/],
    ['Metaspace BPE', (j) => { j.pre_tokenizer = { type: 'Metaspace' }; j.decoder = { type: 'Metaspace' }; return j; }, /not a byte-level BPE/],
    ['byte fallback', (j) => { j.model.byte_fallback = true; return j; }, /byte_fallback/],
    ['bad id', (j) => { j.model.vocab.a = 'x'; return j; }, /token "a" has id "x"/],
    ['shared id', (j) => { j.model.vocab.zzz = 5; return j; }, /id 5 is given to both/],
    ['unknown merge token', (j) => { j.model.merges.push('qq zz'); return j; }, /uses a token that is not in the vocabulary/],
    ['malformed merge', (j) => { j.model.merges.push(42); return j; }, /not a pair of tokens/],
    ['merge result missing', (j) => { delete j.model.vocab[j.model.merges[0].replace(' ', '')]; return j; }, /not in the vocabulary/],
    ['unknown normalizer', (j) => { j.normalizer = { type: 'BertNormalizer' }; return j; }, /normalizer type "BertNormalizer" is not supported/],
    ['bad regex', (j) => { j.normalizer = { type: 'Replace', pattern: { Regex: '(unclosed' }, content: '' }; return j; }, /cannot use regular expression/],
    ['bad added token', (j) => { j.added_tokens = [{ id: -3, content: 'x' }]; return j; }, /added_tokens\[0\] needs/],
  ];
  for (const [name, mutate, message] of cases) {
    assert.throws(() => fromTokenizerJson(mutate(good()), 'probe.json'), (err: unknown) => {
      assert.ok(err instanceof UserError, name);
      assert.match(err.message, /^probe\.json: /, name);
      assert.match(err.message, message, name);
      return true;
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'tok-bad-'));
  writeFileSync(join(dir, 'truncated.json'), toTokenizerJson(trainTokenizer([], { vocabSize: 300 })).slice(0, 5000));
  assert.throws(() => loadTokenizer(join(dir, 'truncated.json')), /truncated\.json is not valid JSON/);
  assert.throws(() => loadTokenizer(join(dir, 'missing.json')), /cannot read tokenizer .*missing\.json: ENOENT/);
});
