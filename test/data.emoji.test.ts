// The emoji builder on a tiny fake package layout (same files and fields as the real npm packages), so it
// runs without the large packages: every style is read, captions are correct English with and without the
// style, skin tones are named, every style of one emoji shares one identity (one side of the split), and
// licences are recorded. Also the `dalle data` commands end to end on generated shapes.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { buildProgram } from '../src/cli/main.ts';
import { decodeImage } from '../src/io/images.ts';
import { emojiIdentity, emojiPhrase } from '../src/data/emoji-captions.ts';
import { buildEmoji } from '../src/data/emoji.ts';
import { readFolder } from '../src/data/folder.ts';
import { ProblemLog } from '../src/data/problems.ts';

function write(path: string, content: string | Buffer): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

const circleSvg = (colour: string) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="15" fill="${colour}"/></svg>`;

async function fakePackages(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'dalle-emoji-pkgs-'));
  const orange = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 255, g: 140, b: 0, alpha: 1 } } }).png().toBuffer();
  const hand = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 250, g: 220, b: 180, alpha: 0.5 } } }).png().toBuffer();
  write(
    join(root, 'emojibase-data', 'en', 'data.json'),
    JSON.stringify([
      { label: 'orange circle', hexcode: '1F7E0', tags: ['circle', 'orange'], group: 8, subgroup: 95 },
      { label: 'waving hand', hexcode: '1F44B', tags: ['hello', 'wave'], group: 1, subgroup: 16, skins: [{ label: 'waving hand: dark skin tone', hexcode: '1F44B-1F3FF', tone: 5 }] },
    ]),
  );
  write(join(root, 'emojibase-data', 'meta', 'groups.json'), JSON.stringify({ groups: { 1: 'people-body', 8: 'symbols' }, subgroups: { 16: 'hand-fingers-open', 95: 'geometric' } }));
  write(join(root, 'emojibase-data', 'en', 'shortcodes', 'emojibase.json'), JSON.stringify({ '1F44B': ['wave', 'waving_hand'], '1F44B-1F3FF': 'wave_tone5' }));
  write(join(root, 'emojibase-data', 'LICENSE'), 'MIT');
  for (const [pkg, set] of [['emoji-datasource-twitter', 'twitter'], ['emoji-datasource-google', 'google']] as const) {
    write(
      join(root, pkg, 'emoji.json'),
      JSON.stringify([
        { name: 'LARGE ORANGE CIRCLE', unified: '1F7E0', image: '1f7e0.png', short_names: ['large_orange_circle'], [`has_img_${set}`]: true },
        {
          name: 'WAVING HAND SIGN',
          unified: '1F44B',
          image: '1f44b.png',
          short_names: ['wave'],
          [`has_img_${set}`]: true,
          skin_variations: { '1F3FF': { unified: '1F44B-1F3FF', image: '1f44b-1f3ff.png', [`has_img_${set}`]: true } },
        },
      ]),
    );
    write(join(root, pkg, 'img', set, '64', '1f7e0.png'), orange);
    write(join(root, pkg, 'img', set, '64', '1f44b.png'), hand);
    write(join(root, pkg, 'img', set, '64', '1f44b-1f3ff.png'), 'broken: not a png');
    write(join(root, pkg, 'LICENSE'), 'MIT (emoji-datasource)');
    write(join(root, pkg, 'package.json'), JSON.stringify({ version: '16.0.0' }));
  }
  write(
    join(root, 'openmoji', 'data', 'openmoji.json'),
    JSON.stringify([
      { hexcode: '1F7E0', group: 'symbols', subgroups: 'geometric', annotation: 'orange circle', tags: 'circle, orange', openmoji_tags: '' },
      { hexcode: 'E000', group: 'extras-openmoji', subgroups: 'animals-nature', annotation: 'goldfish', tags: '', openmoji_tags: 'goldfish, fish' },
    ]),
  );
  write(join(root, 'openmoji', 'color', 'svg', '1F7E0.svg'), circleSvg('#f4aa41'));
  write(join(root, 'openmoji', 'color', 'svg', 'E000.svg'), circleSvg('#ff8800'));
  write(join(root, 'openmoji', 'LICENSE.txt'), 'Attribution-ShareAlike 4.0 International');
  write(join(root, 'fluentui-emoji', 'icons', 'flat', 'orange-circle.svg'), circleSvg('#ff6723'));
  write(join(root, 'fluentui-emoji', 'icons', 'flat', 'waving-hand-default.svg'), circleSvg('#ffb02e'));
  write(join(root, 'fluentui-emoji', 'icons', 'flat', 'waving-hand-dark.svg'), circleSvg('#7d4533'));
  write(join(root, 'fluentui-emoji', 'LICENSE'), 'MIT License');
  return root;
}

test('captions: articles, flags, skin tones; identities drop FE0F and skin tones', () => {
  assert.equal(emojiPhrase('orange circle'), 'an orange circle');
  assert.equal(emojiPhrase('waving hand: dark skin tone'), 'a waving hand with dark skin tone');
  assert.equal(emojiPhrase('flag: Japan'), 'the flag of Japan');
  assert.equal(emojiPhrase('sparkles'), 'sparkles');
  assert.equal(emojiPhrase('people holding hands'), 'people holding hands');
  assert.equal(emojiPhrase('unicorn'), 'a unicorn');
  assert.equal(emojiIdentity('1f44b-1f3ff'), '1F44B');
  assert.equal(emojiIdentity('2764-FE0F-200D-1F525'), '2764-200D-1F525');
});

test('emoji builder on a fake package layout', async () => {
  const packages = await fakePackages();
  const out = mkdtempSync(join(tmpdir(), 'dalle-emoji-out-'));
  const problems = new ProblemLog({ silent: true });
  const result = await buildEmoji({ out, size: 32, packagesDir: packages, problems, log: () => {} });
  assert.deepEqual(result.perStyle, { twemoji: 2, noto: 2, openmoji: 2, fluent: 3 });
  assert.deepEqual(problems.counts(), { 'unreadable-image': 2 }, 'the broken skin-tone PNG in both datasource sets');
  const twemoji = readFileSync(join(out, 'twemoji', '1f7e0.txt'), 'utf8').trim().split('\n');
  assert.ok(twemoji.includes('an orange circle'));
  assert.ok(twemoji.includes('an orange circle in twemoji style'));
  assert.ok(twemoji.some((c) => c.startsWith('an orange circle, symbols emoji')));
  const fluentDark = readFileSync(join(out, 'fluent', 'waving-hand-dark.txt'), 'utf8');
  assert.match(fluentDark, /^a waving hand with dark skin tone in fluent style$/m);
  assert.match(readFileSync(join(out, 'openmoji', 'E000.txt'), 'utf8'), /^a goldfish in openmoji style$/m);
  const img = await decodeImage(join(out, 'fluent', 'orange-circle.png'));
  assert.deepEqual(img.shape, [32, 32, 3]);
  const items = await readFolder(out, new ProblemLog({ silent: true }));
  const groups = new Map(items.map((i) => [i.id, i.group]));
  assert.equal(groups.get('twemoji/1f7e0'), '1F7E0');
  assert.equal(groups.get('openmoji/1F7E0'), '1F7E0');
  assert.equal(groups.get('fluent/orange-circle'), '1F7E0');
  assert.equal(groups.get('fluent/waving-hand-dark'), '1F44B');
  assert.equal(groups.get('fluent/waving-hand-default'), '1F44B');
  const attribution = readFileSync(join(out, 'ATTRIBUTION.md'), 'utf8');
  for (const s of ['CC-BY 4.0', 'Apache-2.0', 'CC BY-SA 4.0', 'MIT']) assert.ok(attribution.includes(s), s);
  assert.ok(existsSync(join(out, 'licenses', 'openmoji-LICENSE.txt')));
});

test('a missing package is reported and its style skipped', async () => {
  const packages = await fakePackages();
  rmSync(join(packages, 'fluentui-emoji'), { recursive: true });
  const out = mkdtempSync(join(tmpdir(), 'dalle-emoji-out-'));
  const lines: string[] = [];
  const result = await buildEmoji({ out, size: 16, packagesDir: packages, styles: ['openmoji', 'fluent'], problems: new ProblemLog({ silent: true }), log: (l) => lines.push(l) });
  assert.deepEqual(result.perStyle, { openmoji: 2 });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /fluentui-emoji: package not installed; style fluent skipped/);
});

test('dalle data shapes / prepare / stats / preview end to end', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dalle-cli-'));
  const run = async (...args: string[]) => {
    const chunks: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (chunks.push(String(chunk)), true)) as typeof process.stdout.write;
    const originalErr = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await buildProgram().exitOverride().parseAsync(['node', 'dalle', 'data', ...args]);
    } finally {
      process.stdout.write = original;
      process.stderr.write = originalErr;
    }
    return chunks.join('');
  };
  assert.match(await run('shapes', '--out', join(root, 's'), '--count', '40', '--size', '32', '--seed', '4'), /wrote 40 scenes/);
  assert.match(await run('prepare', '--data', join(root, 's'), '--out', join(root, 'c'), '--size', '16', '--val-share', '0.25'), /cached 40 images of 16x16 \(train \d+, val \d+\)/);
  const stats = await run('stats', '--data', join(root, 'c'));
  assert.match(stats, /images\s+40/);
  assert.match(stats, /caption words\s+min \d+/);
  assert.match(await run('preview', '--data', join(root, 's'), '--out', join(root, 'grid.png'), '--count', '6', '--columns', '3', '--scale', '1', '--size', '32'), /6 images/);
  const meta = await sharp(join(root, 'grid.png')).metadata();
  assert.equal(meta.width, 2 + 3 * (32 + 2));
});
