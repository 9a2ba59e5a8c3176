// Shape scenes: the saved ground truth agrees with the pixels, relations hold, captions say what is drawn,
// and scenes are reproducible from (seed, index).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeImage } from '../src/io/images.ts';
import { BACKGROUND, COLOURS, type Scene, buildShapes, generateScene, insideShape } from '../src/data/shapes.ts';

test('every object has its colour at its box centre and nothing is drawn outside the boxes', () => {
  for (let i = 0; i < 200; i++) {
    const { scene, image } = generateScene(3, i, 32);
    assert.ok(scene.objects.length === 1 || scene.objects.length === 2);
    const inBox = (x: number, y: number) => scene.objects.some((o) => x >= o.bbox[0] && x < o.bbox[2] && y >= o.bbox[1] && y < o.bbox[3]);
    for (const o of scene.objects) {
      const cx = Math.floor((o.bbox[0] + o.bbox[2]) / 2);
      const cy = Math.floor((o.bbox[1] + o.bbox[3]) / 2);
      const p = (cy * 32 + cx) * 3;
      assert.deepEqual([...image.data.subarray(p, p + 3)], [...COLOURS[o.colour]!], `scene ${i} ${o.colour} ${o.shape}`);
      assert.ok(o.bbox[0] >= 0 && o.bbox[1] >= 0 && o.bbox[2] <= 32 && o.bbox[3] <= 32);
    }
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        if (inBox(x, y)) continue;
        const p = (y * 32 + x) * 3;
        assert.deepEqual([...image.data.subarray(p, p + 3)], [...BACKGROUND]);
      }
    }
  }
});

test('every shape touches all four sides of its box (boxes are tight)', () => {
  for (const shape of ['circle', 'square', 'triangle', 'star', 'diamond', 'hexagon', 'cross'] as const) {
    const hit = { left: false, right: false, top: false, bottom: false };
    for (let k = -1000; k <= 1000; k++) {
      const t = k / 1000;
      hit.left ||= insideShape(shape, -0.97, t);
      hit.right ||= insideShape(shape, 0.97, t);
      hit.top ||= insideShape(shape, t, -0.97);
      hit.bottom ||= insideShape(shape, t, 0.97);
    }
    assert.deepEqual(hit, { left: true, right: true, top: true, bottom: true }, shape);
  }
});

test('two-object scenes satisfy their relation and their captions name both objects', () => {
  let checked = 0;
  for (let i = 0; i < 300; i++) {
    const { scene } = generateScene(11, i, 64);
    if (scene.objects.length === 1) {
      const o = scene.objects[0]!;
      assert.equal(scene.relation, null);
      assert.ok(scene.captions[0]!.endsWith(`${o.size} ${o.colour} ${o.shape}`));
      continue;
    }
    const [a, b] = scene.objects as [Scene['objects'][0], Scene['objects'][0]];
    const ok = { 'left of': a.bbox[2] <= b.bbox[0], 'right of': b.bbox[2] <= a.bbox[0], above: a.bbox[3] <= b.bbox[1], below: b.bbox[3] <= a.bbox[1] }[scene.relation!];
    assert.ok(ok, `scene ${i}: ${scene.captions[0]} ${JSON.stringify(scene.objects.map((o) => o.bbox))}`);
    const words = (o: typeof a) => `${o.size} ${o.colour} ${o.shape}`;
    assert.match(scene.captions[0]!, new RegExp(`^an? ${words(a)} .*${scene.relation} an? ${words(b)}$`));
    checked++;
  }
  assert.ok(checked > 100);
  const orange = Array.from({ length: 300 }, (_, i) => generateScene(11, i, 64).scene.captions).flat().filter((c) => c.startsWith('an orange') || c.startsWith('a orange'));
  assert.ok(orange.length > 0 && orange.every((c) => c.startsWith('an orange')), 'articles agree with the next word');
});

test('scenes are reproducible from seed and index, and differ between seeds', () => {
  const a = generateScene(5, 42, 32);
  const b = generateScene(5, 42, 32);
  const c = generateScene(6, 42, 32);
  assert.deepEqual(a.scene, b.scene);
  assert.deepEqual([...a.image.data], [...b.image.data]);
  assert.notDeepEqual(a.scene, c.scene);
});

test('buildShapes writes image, captions and ground truth that agree', async () => {
  const out = mkdtempSync(join(tmpdir(), 'dalle-shapes-'));
  const result = await buildShapes({ out, count: 12, size: 32, seed: 9 });
  assert.equal(result.count, 12);
  const files = readdirSync(out);
  assert.equal(files.filter((f) => f.endsWith('.png')).length, 12);
  const truth = JSON.parse(readFileSync(join(out, '000007.json'), 'utf8')) as Scene & { seed: number; index: number };
  assert.equal(truth.index, 7);
  assert.deepEqual(readFileSync(join(out, '000007.txt'), 'utf8').trim().split('\n'), truth.captions);
  const img = await decodeImage(join(out, '000007.png'));
  assert.deepEqual([...img.data], [...generateScene(9, 7, 32).image.data]);
});
