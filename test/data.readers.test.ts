// Folder and manifest readers on tiny sets with deliberately broken items: each problem is reported with
// its path (and line), counted and skipped, or refused under --strict; the good items come through intact.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { UserError } from '../src/errors.ts';
import { encodePng } from '../src/io/images.ts';
import { readFolder } from '../src/data/folder.ts';
import { readManifest } from '../src/data/manifest.ts';
import { ProblemLog } from '../src/data/problems.ts';

function sink(): Writable & { text: string } {
  const s = new Writable({
    write(chunk, _enc, done) {
      s.text += String(chunk);
      done();
    },
  }) as Writable & { text: string };
  s.text = '';
  return s;
}

async function png(value: number): Promise<Buffer> {
  return encodePng({ data: new Uint8Array(4 * 4 * 3).fill(value), shape: [4, 4, 3] });
}

async function brokenFolder(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'dalle-folder-'));
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'good.png'), await png(10));
  writeFileSync(join(root, 'good.txt'), 'first caption\n\n  second caption  \n');
  writeFileSync(join(root, 'sub', 'deeper', 'nested.png'), await png(20));
  writeFileSync(join(root, 'sub', 'deeper', 'nested.txt'), 'nested caption');
  writeFileSync(join(root, 'sub', 'deeper', 'nested.json'), JSON.stringify({ group: 'family-1' }));
  writeFileSync(join(root, 'nocaption.png'), await png(30));
  writeFileSync(join(root, 'blank.png'), await png(40));
  writeFileSync(join(root, 'blank.txt'), '\n   \n');
  writeFileSync(join(root, 'zero.png'), '');
  writeFileSync(join(root, 'zero.txt'), 'a caption for an empty file');
  writeFileSync(join(root, 'notes.txt'), 'a text file without an image is ignored');
  return root;
}

test('folder reader: recursive, captions one per line, metadata group, broken items reported and skipped', async () => {
  const root = await brokenFolder();
  const out = sink();
  const problems = new ProblemLog({ stream: out });
  const items = await readFolder(root, problems);
  assert.deepEqual(
    items.map((i) => [i.id, i.captions, i.group]),
    [
      ['good', ['first caption', 'second caption'], 'good'],
      ['sub/deeper/nested', ['nested caption'], 'family-1'],
    ],
  );
  assert.deepEqual(problems.counts(), { 'empty-caption': 1, 'missing-caption': 1, 'empty-image': 1 });
  assert.match(out.text, /blank\.txt: caption file has no caption/);
  assert.match(out.text, /nocaption\.txt: no caption file/);
  assert.match(out.text, /zero\.png: image file is empty/);
  assert.equal(problems.summary(), '3 skipped: 1 empty-caption, 1 missing-caption, 1 empty-image');
});

test('--strict refuses the first broken item as a UserError naming it', async () => {
  const root = await brokenFolder();
  await assert.rejects(readFolder(root, new ProblemLog({ strict: true, silent: true })), (err: unknown) => err instanceof UserError && /blank\.txt/.test(err.message));
});

test('manifest reader: caption or captions, relative paths, bad lines reported with file:line', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dalle-manifest-'));
  mkdirSync(join(root, 'img'));
  writeFileSync(join(root, 'img', 'a.png'), await png(1));
  writeFileSync(join(root, 'img', 'b.png'), await png(2));
  writeFileSync(join(root, 'img', 'empty.png'), '');
  const manifest = join(root, 'data.jsonl');
  writeFileSync(
    manifest,
    [
      JSON.stringify({ image: 'img/a.png', caption: 'a caption' }),
      '',
      '{"image": "img/b.png", "captions": ["one", "two"], "group": "g"}',
      '{not json',
      JSON.stringify({ caption: 'no image' }),
      JSON.stringify({ image: 'img/missing.png', caption: 'x' }),
      JSON.stringify({ image: 'img/empty.png', caption: 'x' }),
      JSON.stringify({ image: 'img/a.png', caption: '   ' }),
      JSON.stringify({ image: 'img/a.png', caption: 'the same image again', id: 'again' }),
    ].join('\n'),
  );
  const out = sink();
  const problems = new ProblemLog({ stream: out });
  const items = await readManifest(manifest, problems);
  assert.deepEqual(
    items.map((i) => [i.id, i.captions, i.group]),
    [
      ['img/a', ['a caption'], 'img/a'],
      ['img/b', ['one', 'two'], 'g'],
      ['again', ['the same image again'], 'again'],
    ],
  );
  assert.equal(items[0]!.image, join(root, 'img', 'a.png'));
  assert.deepEqual(problems.counts(), { 'bad-manifest-line': 2, 'missing-image': 1, 'empty-image': 1, 'empty-caption': 1 });
  assert.match(out.text, /data\.jsonl:4: not JSON/);
  assert.match(out.text, /data\.jsonl:5: no "image" path/);
  assert.match(out.text, /data\.jsonl:6: image img\/missing\.png not found/);
  assert.match(out.text, /data\.jsonl:8: no caption/);
});
