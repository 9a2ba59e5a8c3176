// Prepared cache round trip, the hash split (deterministic, grouped by identity, share as asked), seeded
// batches and augmentation, and the progress reporter's output.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { decodeImage, toNchwFloat } from '../src/io/images.ts';
import { augmentImage, flipHorizontal, mirrorSafe, shiftImage } from '../src/data/augment.ts';
import { encodeCache } from '../src/dalle/codes.ts';
import { DVAE_PRESETS, gridSize } from '../src/dvae/config.ts';
import type { Dvae } from '../src/dvae/load.ts';
import { Rng } from '../src/tensor/index.ts';
import * as T from '../src/tensor/index.ts';
import { describeEpoch, epochLength, epochOrder, iterateBatches } from '../src/data/batches.ts';
import { type ImageCache, openCache, prepareCache } from '../src/data/cache.ts';
import { readFolder } from '../src/data/folder.ts';
import { ProblemLog } from '../src/data/problems.ts';
import { buildShapes } from '../src/data/shapes.ts';
import { splitOf } from '../src/data/split.ts';
import { Progress } from '../src/util/progress.ts';

async function shapesCache(count: number) {
  const root = mkdtempSync(join(tmpdir(), 'dalle-cache-'));
  const data = join(root, 'shapes');
  await buildShapes({ out: data, count, size: 24, seed: 2 });
  writeFileSync(join(data, '000003.png'), 'corrupt bytes, not an image');
  const problems = new ProblemLog({ silent: true });
  const items = await readFolder(data, problems);
  const out = join(root, 'cache');
  const index = await prepareCache(items, out, { size: 16, valShare: 0.3, problems });
  return { data, out, index, problems, items };
}

test('cache round trip: pixels equal decoding the images again, corrupt image skipped, no temp files left', async () => {
  const { out, index, problems, items } = await shapesCache(10);
  assert.equal(items.length, 10);
  assert.equal(index.count, 9);
  assert.deepEqual(problems.counts(), { 'unreadable-image': 1 });
  assert.match(problems.problems[0]!.where, /000003\.png$/);
  assert.deepEqual(readdirSync(out).sort(), ['index.json', 'pixels.u8']);
  const cache = openCache(out);
  assert.equal(cache.count, 9);
  assert.equal(cache.pixels.length, 9 * 16 * 16 * 3);
  for (const i of [0, 4, 8]) {
    const item = cache.items[i]!;
    const again = await decodeImage(item.source, { size: 16 });
    assert.deepEqual([...cache.image(i).data], [...again.data], item.id);
    assert.ok(item.captions.length >= 3);
  }
  assert.ok(!cache.items.some((it) => it.id === '000003'));
  const batch = toNchwFloat(cache.batch([0, 1]));
  assert.deepEqual(batch.shape, [2, 3, 16, 16]);
});

test('balance by group: one image of every group per epoch, drawn anew each epoch, reproducible by seed', () => {
  // Group g has g + 1 images (like an emoji with several skin tones and styles); two items are held out.
  const items = [0, 1, 2, 3, 4, 5].flatMap((g) => Array.from({ length: g + 1 }, (_, k) => ({ group: `g${g}`, split: g === 1 ? 'val' : 'train', id: `g${g}-${k}` })));
  const cache = { items, indicesOf: (split: string) => items.flatMap((it, i) => (split === 'all' || it.split === split ? [i] : [])) } as unknown as ImageCache;
  assert.equal(epochLength(cache, 'train', 'group'), 5);
  assert.equal(epochLength(cache, 'train'), 19);
  const order = (seed: number, epoch: number) => epochOrder(cache, { seed, epoch, split: 'train', balance: 'group' });
  const groupsIn = (o: number[]) => o.map((i) => items[i]!.group).sort();
  for (let e = 0; e < 4; e++) assert.deepEqual(groupsIn(order(3, e)), ['g0', 'g2', 'g3', 'g4', 'g5']);
  assert.deepEqual(order(3, 1), order(3, 1));
  // Over many epochs every image of the largest group is drawn, about equally often.
  const drawn = new Map<string, number>();
  for (let e = 0; e < 600; e++) for (const i of order(3, e)) if (items[i]!.group === 'g5') drawn.set(items[i]!.id, (drawn.get(items[i]!.id) ?? 0) + 1);
  assert.equal(drawn.size, 6);
  for (const [id, n] of drawn) assert.ok(n > 60 && n < 140, `${id} drawn ${n} times in 600 epochs`);
});

test('balance by a cap: at most n distinct images of each group per epoch, every image drawn about equally often', () => {
  const items = [0, 1, 2, 3, 4, 5].flatMap((g) => Array.from({ length: g + 1 }, (_, k) => ({ group: `g${g}`, split: g === 1 ? 'val' : 'train', id: `g${g}-${k}` })));
  const cache = { items, indicesOf: (split: string) => items.flatMap((it, i) => (split === 'all' || it.split === split ? [i] : [])) } as unknown as ImageCache;
  // Train groups hold 1, 3, 4, 5 and 6 images.
  assert.equal(epochLength(cache, 'train', 2), 1 + 2 + 2 + 2 + 2);
  assert.equal(epochLength(cache, 'train', 6), 19);
  assert.equal(describeEpoch(cache, 'train', 2), '9 images per epoch, at most 2 of each of 5 groups');
  const order = (balance: number | 'group' | 'image', epoch: number) => epochOrder(cache, { seed: 3, epoch, split: 'train', balance });
  // A cap of 1 is the group balance, draw for draw; a cap as large as the largest group is every image.
  for (let e = 0; e < 5; e++) assert.deepEqual(order(1, e), order('group', e));
  // …and runs that balanced by group before caps existed keep their order: a group's one image is still
  // the one `pick` would draw from its stream.
  const list = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (let seed = 0; seed < 20; seed++) assert.deepEqual(Rng.stream(seed, 5).sample(list, 1), [Rng.stream(seed, 5).pick(list)]);
  assert.deepEqual([...order(6, 0)].sort((a, b) => a - b), [...order('image', 0)].sort((a, b) => a - b));
  const drawn = new Map<string, number>();
  for (let e = 0; e < 600; e++) {
    const o = order(2, e);
    assert.equal(new Set(o).size, o.length, 'an image twice in one epoch');
    const perGroup = new Map<string, number>();
    for (const i of o) perGroup.set(items[i]!.group, (perGroup.get(items[i]!.group) ?? 0) + 1);
    assert.deepEqual([...perGroup.entries()].sort(), [['g0', 1], ['g2', 2], ['g3', 2], ['g4', 2], ['g5', 2]]);
    for (const i of o) if (items[i]!.group === 'g5') drawn.set(items[i]!.id, (drawn.get(items[i]!.id) ?? 0) + 1);
  }
  // Each of g5's six images comes in 2 of 6 draws: about 200 times in 600 epochs.
  assert.equal(drawn.size, 6);
  for (const [id, n] of drawn) assert.ok(n > 150 && n < 250, `${id} drawn ${n} times in 600 epochs`);
  assert.throws(() => epochLength(cache, 'train', 0), /positive integer/);
});

test('split: stable, grouped by identity, share close to the requested one', () => {
  assert.equal(splitOf('1F600', 0.05), splitOf('1F600', 0.05));
  const groups = Array.from({ length: 4000 }, (_, i) => `emoji-${i}`);
  const val = groups.filter((g) => splitOf(g, 0.1) === 'val').length;
  assert.ok(val > 320 && val < 480, `${val} of 4000 held out at 10%`);
  assert.ok(groups.every((g) => splitOf(g, 0) === 'train') && groups.every((g) => splitOf(g, 1) === 'val'));
  // raising the share only moves groups from train to val
  assert.ok(groups.every((g) => splitOf(g, 0.05) === 'train' || splitOf(g, 0.1) === 'val'));
});

test('batches: seeded order per epoch, all training items once, augmentation reproducible by seed', async () => {
  const { out } = await shapesCache(30);
  const cache = openCache(out);
  const train = cache.indicesOf('train');
  const epoch = (seed: number, e: number) => [...iterateBatches(cache, { batchSize: 4, seed, epoch: e })];
  const a = epoch(1, 0);
  assert.deepEqual(a.flatMap((b) => b.indices).sort((x, y) => x - y), train);
  assert.deepEqual(a.map((b) => b.indices), epoch(1, 0).map((b) => b.indices));
  assert.notDeepEqual(a.map((b) => b.indices), epoch(1, 1).map((b) => b.indices));
  assert.ok(a.every((b) => b.captions.every((c, k) => cache.items[b.indices[k]!]!.captions.includes(c))));
  assert.equal([...iterateBatches(cache, { batchSize: 4, seed: 1, dropLast: true })].every((b) => b.indices.length === 4), true);
  const augment = { randomResizedCrop: { scale: [0.5, 0.9] as [number, number], ratio: [0.75, 1.33] as [number, number] }, hflip: 0.5 };
  const aug1 = [...iterateBatches(cache, { batchSize: 8, seed: 5, augment })][0]!;
  const aug2 = [...iterateBatches(cache, { batchSize: 8, seed: 5, augment })][0]!;
  const aug3 = [...iterateBatches(cache, { batchSize: 8, seed: 6, augment, shuffle: false })][0]!;
  const plain = [...iterateBatches(cache, { batchSize: 8, seed: 6, shuffle: false })][0]!;
  assert.deepEqual([...aug1.images.data], [...aug2.images.data]);
  assert.notDeepEqual([...aug3.images.data], [...plain.images.data]);
  assert.deepEqual([...plain.images.data], [...cache.batch(plain.indices).data], 'no augmentation unless asked');
});

test('horizontal flip mirrors columns; a shift moves pixels and repeats the border', () => {
  const img = { data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), shape: [1, 3, 3] as [number, number, 3] };
  assert.deepEqual([...flipHorizontal(img).data], [7, 8, 9, 4, 5, 6, 1, 2, 3]);
  assert.deepEqual([...shiftImage(img, 1, 0).data], [1, 2, 3, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...shiftImage(img, -1, 0).data], [4, 5, 6, 7, 8, 9, 7, 8, 9]);
  const column = { data: new Uint8Array([1, 1, 1, 2, 2, 2, 3, 3, 3]), shape: [3, 1, 3] as [number, number, 3] };
  assert.deepEqual([...shiftImage(column, 0, 2).data], [1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual([...shiftImage(column, 0, 0).data], [...column.data]);
});

test('a mirror image only for captions that name no side, turning sense, writing or flag', () => {
  assert.ok(mirrorSafe(['a pizza', 'a slice of pizza in noto style']));
  for (const c of ['a backhand index pointing left', 'a right arrow', 'a leftwards hand', 'a clockwise vertical arrows', 'the keycap 4', 'the flag of Brazil', 'a red question mark', 'a FREE button']) {
    assert.equal(mirrorSafe(['an emoji', c]), false, c);
  }
  assert.ok(mirrorSafe(['a bright tent', 'a copyright']), 'a word that merely contains "right" is not a side');
  const img = { data: Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => i), shape: [2, 2, 3] as [number, number, 3] };
  assert.deepEqual([...augmentImage(img, ['a pizza'], { hflip: 1 }, new Rng(1)).data], [...flipHorizontal(img).data]);
  assert.deepEqual([...augmentImage(img, ['a left arrow'], { hflip: 1 }, new Rng(1)).data], [...img.data]);
});

/** A stand-in dVAE whose code for a cell is its mean brightness in 8 steps: codes move when pixels do. */
function brightnessCodes(): Dvae {
  const config = DVAE_PRESETS.tiny!;
  const g = gridSize(config);
  return {
    config, params: {} as Dvae['params'], decode: () => Promise.reject(new Error('not used')),
    encode: async (x: T.NDArray) => {
      const [n, , h, w] = x.shape as number[];
      const data = x.data as Float32Array;
      const ch = h! / g, cw = w! / g;
      const out: number[] = [];
      for (let b = 0; b < n!; b++) {
        for (let gy = 0; gy < g; gy++) {
          for (let gx = 0; gx < g; gx++) {
            let sum = 0;
            for (let c = 0; c < 3; c++) for (let y = 0; y < ch; y++) for (let xx = 0; xx < cw; xx++) sum += data[((b * 3 + c) * h! + gy * ch + y) * w! + gx * cw + xx]!;
            out.push(Math.min(7, Math.floor((8 * sum) / (3 * ch * cw))));
          }
        }
      }
      return T.NDArray.int64(out, [n!, g, g]);
    },
  };
}

test('encodeCache with augmentation: the plain codes first, then fixed copies, mirrored only where the captions allow', async () => {
  const { out } = await shapesCache(30);
  const cache = openCache(out);
  const dvae = brightnessCodes();
  const dir = mkdtempSync(join(tmpdir(), 'dalle-codes-'));
  const quiet = { silent: true, batchSize: 5 };
  const plain = await encodeCache(dvae, cache, dir, 'fp', quiet);
  const cells = plain.cells;
  const codesOf = async (img: ReturnType<ImageCache['image']>) => {
    const nchw = toNchwFloat({ data: img.data, shape: [1, ...img.shape] });
    return [...(await dvae.encode(new T.NDArray(nchw.data, nchw.shape))).toNumbers()];
  };
  const copy = (t: typeof plain, v: number, i: number) => [...t.codes.subarray((v * cache.count + i) * cells, (v * cache.count + i + 1) * cells)];

  const mirrored = await encodeCache(dvae, cache, dir, 'fp', { ...quiet, augment: { hflip: 1, variants: 3 } });
  assert.equal(mirrored.variants, 3);
  assert.equal(mirrored.codes.length, 3 * plain.codes.length);
  assert.deepEqual([...mirrored.codes.subarray(0, plain.codes.length)], [...plain.codes], 'the first block is not the plain table');
  let safe = 0;
  for (let i = 0; i < cache.count; i++) {
    const ok = mirrorSafe(cache.items[i]!.captions);
    safe += Number(ok);
    const expected = ok ? await codesOf(flipHorizontal(cache.image(i))) : copy(plain, 0, i);
    assert.deepEqual(copy(mirrored, 1, i), expected, `image ${i} (${cache.items[i]!.captions[0]})`);
    assert.deepEqual(copy(mirrored, 2, i), expected);
  }
  assert.ok(safe > 0 && safe < cache.count, `${safe} of ${cache.count} mirror-safe: the shapes' captions should have both kinds`);

  const shifted = await encodeCache(dvae, cache, dir, 'fp', { ...quiet, augment: { shift: 2, variants: 4 } });
  let moved = 0;
  for (let i = 0; i < cache.count; i++) {
    const candidates = [];
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) candidates.push(JSON.stringify(await codesOf(shiftImage(cache.image(i), dx, dy))));
    for (let v = 1; v < 4; v++) {
      assert.ok(candidates.includes(JSON.stringify(copy(shifted, v, i))), `copy ${v} of image ${i} is not a shift of at most 2 pixels`);
      moved += Number(JSON.stringify(copy(shifted, v, i)) !== JSON.stringify(copy(plain, 0, i)));
    }
  }
  assert.ok(moved > cache.count, `only ${moved} of ${3 * cache.count} shifted copies differ from the plain codes`);
  // Each table has its own file and is read back from it; the batch size does not change the copies.
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.i32')).sort(), ['codes-4x4-x3.i32', 'codes-4x4-x4.i32', 'codes-4x4.i32']);
  const again = await encodeCache({ ...dvae, encode: () => Promise.reject(new Error('encoded again')) }, cache, dir, 'fp', { ...quiet, augment: { shift: 2, variants: 4 } });
  assert.deepEqual([...again.codes], [...shifted.codes]);
  const otherBatch = await encodeCache(dvae, cache, mkdtempSync(join(tmpdir(), 'dalle-codes-')), 'fp', { silent: true, batchSize: 7, augment: { shift: 2, variants: 4 } });
  assert.deepEqual([...otherBatch.codes], [...shifted.codes]);
});

test('openCache refuses a truncated pixel file, naming it', async () => {
  const { out } = await shapesCache(4);
  writeFileSync(join(out, 'pixels.u8'), new Uint8Array(10));
  assert.throws(() => openCache(out), /pixels\.u8: 10 bytes, expected/);
  assert.ok(existsSync(join(out, 'index.json')));
});

test('progress: plain lines off a TTY with count, rate, ETA and metrics', () => {
  let text = '';
  const stream = new Writable({
    write(chunk, _e, done) {
      text += String(chunk);
      done();
    },
  });
  let now = 0;
  const p = new Progress('train', 100, { unit: 'steps', stream, intervalMs: 1000, now: () => now });
  now = 2000;
  p.set({ loss: 0.12345 });
  p.tick(10);
  now = 2500;
  p.tick(10);
  now = 4000;
  p.tick(20);
  p.done();
  const lines = text.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[0], 'train  10/100  5.00 steps/s  eta 18s  loss=0.1235');
  assert.equal(lines[1], 'train  40/100  10.0 steps/s  eta 6s  loss=0.1235');
});
