// `dalle tokenizer train | encode | decode | stats`, run in-process through the real commander program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../src/cli/main.ts';
import { UserError } from '../src/errors.ts';
import { loadTokenizer } from '../src/tokenizer/index.ts';
import { captions } from './tokenizer.fixtures.ts';

async function dalle(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => { lines.push(parts.join(' ')); };
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'dalle', ...args]);
  } finally {
    console.log = original;
  }
  return lines.join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'tok-cli-'));
const data = join(dir, 'captions.txt');
const longCaption = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x4e00 + 37 * i)).join('');
writeFileSync(data, captions(2000, 60).join('\n') + '\n' + longCaption + '\n');
const out = join(dir, 'tokenizer.json');

test('train writes a tokenizer.json of the requested size', async () => {
  const report = await dalle('tokenizer', 'train', '--data', data, '--vocab-size', '400', '--out', out);
  assert.match(report, /captions: 2001 /);
  assert.match(report, /vocabulary: 400 tokens \(2 special, 256 bytes, 142 merges\)/);
  assert.ok(existsSync(out));
  assert.equal(loadTokenizer(out).vocabSize, 400);
});

test('encode prints ids and pieces; decode inverts it', async () => {
  const shown = await dalle('tokenizer', 'encode', 'A Photo of a CAT', '--tokenizer', out);
  const ids = loadTokenizer(out).encode('a photo of a cat');
  assert.match(shown, new RegExp(`^${ids.length} tokens: ${ids.join(' ')}$`, 'm'));
  assert.match(shown, /Ġphoto\s+" photo"/);
  const json = JSON.parse(await dalle('tokenizer', 'encode', 'a photo', '--tokenizer', out, '--json', '--max-length', '1'));
  assert.deepEqual(json, { ids: [ids[0]], tokens: ['a'] });
  assert.equal(await dalle('tokenizer', 'decode', ...ids.map(String), '--tokenizer', out), 'a photo of a cat');
});

test('stats reports vocabulary, mean tokens per caption and share truncated', async () => {
  const report = await dalle('tokenizer', 'stats', '--data', data, '--tokenizer', out, '--max-length', '256');
  assert.match(report, /vocabulary: 400 tokens \(2 special, 142 merges\)/);
  assert.match(report, /captions: 2001/);
  assert.match(report, /mean tokens per caption: \d+\.\d\d/);
  assert.match(report, /truncated at 256: 0\.05% \(1 captions\)/);
});

test('user mistakes are UserErrors, not crashes', async () => {
  await assert.rejects(dalle('tokenizer', 'train', '--data', join(dir, 'nope.txt'), '--out', join(dir, 'x.json')), UserError);
  await assert.rejects(dalle('tokenizer', 'train', '--data', data, '--vocab-size', 'lots', '--out', join(dir, 'x.json')), /--vocab-size must be a whole number/);
  await assert.rejects(dalle('tokenizer', 'encode', 'hi', '--tokenizer', join(dir, 'none.json')), UserError);
  await assert.rejects(dalle('tokenizer', 'encode', 'hi', '--tokenizer', out, '--dropout', '1.5'), /--dropout must be/);
  await assert.rejects(dalle('tokenizer', 'decode', '99999', '--tokenizer', out), /not in the vocabulary/);
});
