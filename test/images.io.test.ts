// Image I/O: decoding every supported format with alpha composited onto a background, SVGs rendered at the
// target size, resizing and cropping, PNG encoding, layout conversions, and grids with caption strips.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { gridLayout, renderGrid, wrapCaption } from '../src/io/grid.ts';
import {
  ImageDecodeError,
  type RgbImage,
  centerCrop,
  decodeImage,
  encodePng,
  fromNchwFloat,
  resizeImage,
  stackImages,
  toNchwFloat,
} from '../src/io/images.ts';

const dir = mkdtempSync(join(tmpdir(), 'dalle-images-'));

function pixel(img: RgbImage, x: number, y: number): number[] {
  const o = (y * img.shape[1] + x) * 3;
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
}

/** A 4×4 RGBA test image: left half opaque red, right half fully transparent. */
async function halfTransparent(format: 'png' | 'webp'): Promise<Buffer> {
  const raw = Buffer.alloc(4 * 4 * 4);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 2; x++) raw.set([255, 0, 0, 255], (y * 4 + x) * 4);
  const img = sharp(raw, { raw: { width: 4, height: 4, channels: 4 } });
  return format === 'png' ? img.png().toBuffer() : img.webp({ lossless: true }).toBuffer();
}

test('PNG and WebP alpha is composited onto the chosen background', async () => {
  for (const format of ['png', 'webp'] as const) {
    const path = join(dir, `alpha.${format}`);
    writeFileSync(path, await halfTransparent(format));
    const img = await decodeImage(path, { background: [0, 0, 255] });
    assert.deepEqual(img.shape, [4, 4, 3]);
    assert.deepEqual(pixel(img, 0, 0), [255, 0, 0], format);
    assert.deepEqual(pixel(img, 3, 3), [0, 0, 255], format);
  }
});

test('JPEG decodes to RGB uint8 of the right size', async () => {
  const path = join(dir, 'grey.jpg');
  writeFileSync(path, await sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer());
  const img = await decodeImage(path);
  assert.deepEqual(img.shape, [10, 20, 3]);
  assert.ok(Math.abs(pixel(img, 5, 5)[0]! - 128) <= 2);
});

test('cover fit centre-crops, contain pads with the background, sizes are exact', async () => {
  const raw = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw.set(x < 10 || x >= 30 ? [0, 0, 0] : [255, 255, 255], (y * 40 + x) * 3);
  const bytes = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).png().toBuffer();
  const cover = await decodeImage(bytes, { size: 20, fit: 'cover' });
  assert.deepEqual(cover.shape, [20, 20, 3]);
  assert.deepEqual(pixel(cover, 10, 10), [255, 255, 255]);
  assert.ok(pixel(cover, 0, 10)[0]! > 215 && pixel(cover, 19, 10)[0]! > 215, 'the centre crop drops the black side bands');
  const contain = await decodeImage(bytes, { size: 20, fit: 'contain', background: [0, 255, 0] });
  assert.deepEqual(pixel(contain, 10, 0), [0, 255, 0], 'padding above');
  assert.deepEqual(pixel(contain, 10, 19), [0, 255, 0], 'padding below');
  assert.ok(pixel(contain, 1, 10)[0]! < 40, 'the whole width is kept, black side bands included');
});

test('SVGs are rendered at the target size, not enlarged from their small canvas', async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#000"/></svg>';
  const path = join(dir, 'circle.svg');
  writeFileSync(path, svg);
  const direct = await decodeImage(path, { size: 64 });
  assert.deepEqual(direct.shape, [64, 64, 3]);
  const small = await decodeImage(path, { size: 16 });
  const enlarged = await resizeImage(small, 64, 64);
  const partial = (img: RgbImage) => {
    let n = 0;
    for (let i = 0; i < img.data.length; i += 3) if (img.data[i]! > 20 && img.data[i]! < 235) n++;
    return n;
  };
  // the anti-aliased rim of a circle of radius 28 px is about its circumference (≈ 176 px) when drawn at 64 px,
  // and several times wider when a 16 px rendering is scaled up
  assert.ok(partial(direct) < 260, `direct rendering has a thin rim (${partial(direct)} partial pixels)`);
  assert.ok(partial(enlarged) > 2 * partial(direct), `enlarged rendering is blurrier (${partial(enlarged)} vs ${partial(direct)})`);
  assert.deepEqual(pixel(direct, 32, 32), [0, 0, 0]);
  assert.deepEqual(pixel(direct, 1, 1), [255, 255, 255]);
});

test('unreadable and empty files raise ImageDecodeError naming the file', async () => {
  const garbage = join(dir, 'garbage.png');
  writeFileSync(garbage, 'this is not a png');
  const empty = join(dir, 'empty.png');
  writeFileSync(empty, '');
  for (const path of [garbage, empty, join(dir, 'absent.png')]) {
    await assert.rejects(decodeImage(path, { size: 8 }), (err: unknown) => err instanceof ImageDecodeError && err.path === path && err.message.includes(path));
  }
});

test('PNG encoding round-trips exactly; crop and resize give the requested sizes', async () => {
  const img: RgbImage = { data: new Uint8Array(6 * 5 * 3).map((_, i) => (i * 37) % 256), shape: [5, 6, 3] };
  const back = await decodeImage(await encodePng(img));
  assert.deepEqual(back.shape, img.shape);
  assert.deepEqual([...back.data], [...img.data]);
  const crop = centerCrop(img, 2, 3);
  assert.deepEqual(crop.shape, [3, 2, 3]);
  assert.deepEqual(pixel(crop, 0, 0), pixel(img, 2, 1));
  assert.deepEqual((await resizeImage(img, 3, 2)).shape, [2, 3, 3]);
});

test('NHWC uint8 ↔ NCHW float32 conversion', () => {
  const a: RgbImage = { data: new Uint8Array([255, 0, 51, 0, 255, 102]), shape: [1, 2, 3] };
  const b: RgbImage = { data: new Uint8Array([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] };
  const batch = stackImages([a, b]);
  const f = toNchwFloat(batch);
  assert.deepEqual(f.shape, [2, 3, 1, 2]);
  assert.deepEqual([...f.data.slice(0, 6)].map((v) => Math.round(v * 255)), [255, 0, 0, 255, 51, 102]);
  assert.deepEqual([...fromNchwFloat(f).data], [...batch.data]);
  const clamped = fromNchwFloat({ data: new Float32Array([-0.5, 2, 0.5]), shape: [1, 3, 1, 1] });
  assert.deepEqual([...clamped.data], [0, 255, 128]);
});

test('grids have the computed size, images in their cells and captions in their strips', async () => {
  const red: RgbImage = { data: new Uint8Array(8 * 8 * 3).map((_, i) => (i % 3 === 0 ? 255 : 0)), shape: [8, 8, 3] };
  const images = Array.from({ length: 5 }, () => red);
  const options = { columns: 3, scale: 4, gap: 2, captions: ['one', 'two', 'three', 'four', 'a long caption that will need wrapping'], captionLines: 2 };
  const layout = gridLayout(5, 8, 8, options);
  assert.equal(layout.columns, 3);
  assert.equal(layout.rows, 2);
  assert.equal(layout.width, 2 + 3 * (32 + 2));
  const grid = await renderGrid(images, options);
  assert.deepEqual(grid.shape, [layout.height, layout.width, 3]);
  assert.deepEqual(pixel(grid, 2 + 34 + 16, 2 + 16), [255, 0, 0], 'second cell is red');
  let dark = 0;
  for (let y = 2 + 32; y < 2 + 32 + layout.captionHeight; y++) for (let x = 2; x < 34; x++) if (pixel(grid, x, y)[0]! < 128) dark++;
  assert.ok(dark > 5, 'caption text is drawn in the strip');
  const plain = await renderGrid(images);
  assert.deepEqual(plain.shape, [2 + 2 * 10, 2 + 3 * 10, 3]);
});

test('captions wrap to the width and are cut with an ellipsis', () => {
  assert.deepEqual(wrapCaption('a small red circle above a large blue square', 12, 2), ['a small red', 'circle abov…']);
  assert.deepEqual(wrapCaption('short', 12, 2), ['short']);
});
