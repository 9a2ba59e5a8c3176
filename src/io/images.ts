// Image I/O for the data pipeline and for looking at results, built on sharp (libvips).
//
// Host image representation (plain typed arrays, no classes):
//   - one image:  { data: Uint8Array, shape: [h, w, 3] }      HWC, RGB, 0..255, row-major
//   - a batch:    { data: Uint8Array, shape: [n, h, w, 3] }   NHWC, as stored in the prepared cache
//   - for models: { data: Float32Array, shape: [n, 3, h, w] } NCHW in [0, 1] (toNchwFloat / fromNchwFloat)
// Decoding reads PNG, JPEG, WebP, GIF, TIFF, AVIF and SVG, composites any alpha onto a chosen background,
// and optionally resizes: 'cover' scales the short side to the target and centre-crops (the default),
// 'contain' pads with the background, 'fill' stretches. Downscaling uses Lanczos-3. SVGs are rendered at the
// target size (their density is chosen so that the vector drawing is rasterised at the final resolution,
// never enlarged from a small canvas). A file that cannot be decoded raises ImageDecodeError naming it, so
// that dataset code can report and skip it.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.ts';
import sharp, { type Sharp } from 'sharp';

export type Rgb = readonly [number, number, number];
export interface RgbImage {
  data: Uint8Array;
  shape: [number, number, 3];
}
export interface RgbBatch {
  data: Uint8Array;
  shape: [number, number, number, 3];
}
export interface NchwFloatBatch {
  data: Float32Array;
  shape: [number, 3, number, number];
}
export type Fit = 'cover' | 'contain' | 'fill';

export interface DecodeOptions {
  /** Square side or explicit size; omitted keeps the image's own size. */
  size?: number | { width: number; height: number };
  fit?: Fit;
  /** Colour under transparent pixels; white by default. */
  background?: Rgb;
}

export const WHITE: Rgb = [255, 255, 255];
export const LIGHT_GREY: Rgb = [236, 236, 236];

/** An image that could not be read or decoded; `path` names it for the report. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: cannot decode image (${reason})`);
  }
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.svg'];

export function isImagePath(path: string): boolean {
  const lower = path.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 512)).toString('utf8').trimStart();
  return head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg')) || head.startsWith('<!--');
}

function targetSize(size: DecodeOptions['size']): { width: number; height: number } | undefined {
  if (size === undefined) return undefined;
  return typeof size === 'number' ? { width: size, height: size } : size;
}

/** Decode a file or in-memory bytes into an RGB uint8 image. `name` labels errors for in-memory input. */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}, name?: string): Promise<RgbImage> {
  const label = typeof input === 'string' ? input : (name ?? '<buffer>');
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? await readFile(input) : input;
  } catch (err) {
    throw new ImageDecodeError(label, (err as NodeJS.ErrnoException).code ?? String(err));
  }
  if (bytes.length === 0) throw new ImageDecodeError(label, 'empty file');
  const background = options.background ?? WHITE;
  const target = targetSize(options.size);
  const fit = options.fit ?? 'cover';
  try {
    let density: number | undefined;
    if (looksLikeSvg(bytes) && target) {
      const meta = await sharp(bytes).metadata();
      const w = meta.width ?? target.width;
      const h = meta.height ?? target.height;
      const scale = fit === 'contain' ? Math.min(target.width / w, target.height / h) : Math.max(target.width / w, target.height / h);
      density = Math.min(100000, Math.max(1, 72 * scale));
    }
    let pipeline = sharp(bytes, { density, failOn: 'error' }).flatten({
      background: { r: background[0], g: background[1], b: background[2] },
    });
    if (target) {
      pipeline = pipeline.resize(target.width, target.height, {
        fit: fit === 'fill' ? 'fill' : fit,
        position: 'centre',
        kernel: 'lanczos3',
        background: { r: background[0], g: background[1], b: background[2], alpha: 1 },
      });
    }
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), shape: [info.height, info.width, 3] };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(label, err instanceof Error ? err.message.split('\n')[0]! : String(err));
  }
}

function rawInput(img: RgbImage) {
  const [h, w] = img.shape;
  return sharp(img.data, { raw: { width: w, height: h, channels: 3 } });
}

async function rawOutput(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), shape: [info.height, info.width, 3] };
}

/** Resize an RGB image (Lanczos-3; 'cover' centre-crops to the aspect ratio, 'contain' pads). */
export function resizeImage(img: RgbImage, width: number, height: number, fit: Fit = 'fill', background: Rgb = WHITE): Promise<RgbImage> {
  return rawOutput(
    rawInput(img).resize(width, height, {
      fit,
      position: 'centre',
      kernel: 'lanczos3',
      background: { r: background[0], g: background[1], b: background[2], alpha: 1 },
    }),
  );
}

/** The central `width`×`height` window of an image (no resampling). */
export function centerCrop(img: RgbImage, width: number, height: number = width): RgbImage {
  const [h, w] = img.shape;
  if (width > w || height > h) throw new RangeError(`centerCrop ${width}x${height} larger than image ${w}x${h}`);
  return cropImage(img, Math.floor((w - width) / 2), Math.floor((h - height) / 2), width, height);
}

/** Copy a rectangle out of an image. */
export function cropImage(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const w = img.shape[1];
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const src = ((top + y) * w + left) * 3;
    out.set(img.data.subarray(src, src + width * 3), y * width * 3);
  }
  return { data: out, shape: [height, width, 3] };
}

/** Encode an RGB image as PNG bytes. */
export function encodePng(img: RgbImage): Promise<Buffer> {
  return rawInput(img).png({ compressionLevel: 6 }).toBuffer();
}

/** Encode and write a PNG atomically. */
export async function writePng(path: string, img: RgbImage): Promise<void> {
  await writeFileAtomic(path, await encodePng(img));
}

/** Stack same-sized images into one NHWC batch. */
export function stackImages(images: readonly RgbImage[]): RgbBatch {
  if (images.length === 0) throw new RangeError('stackImages needs at least one image');
  const [h, w] = images[0]!.shape;
  const out = new Uint8Array(images.length * h * w * 3);
  images.forEach((img, i) => {
    if (img.shape[0] !== h || img.shape[1] !== w) throw new RangeError(`image ${i} is ${img.shape[1]}x${img.shape[0]}, expected ${w}x${h}`);
    out.set(img.data, i * h * w * 3);
  });
  return { data: out, shape: [images.length, h, w, 3] };
}

/** Image `i` of an NHWC batch (a view, not a copy). */
export function batchImage(batch: RgbBatch, i: number): RgbImage {
  const [, h, w] = batch.shape;
  const n = h * w * 3;
  return { data: batch.data.subarray(i * n, (i + 1) * n), shape: [h, w, 3] };
}

/** NHWC uint8 → NCHW float32 in [0, 1], the layout the models take. */
export function toNchwFloat(batch: RgbBatch): NchwFloatBatch {
  const [n, h, w] = batch.shape;
  const plane = h * w;
  const out = new Float32Array(n * 3 * plane);
  const src = batch.data;
  for (let b = 0; b < n; b++) {
    const so = b * plane * 3;
    const dout = b * plane * 3;
    for (let p = 0; p < plane; p++) {
      out[dout + p] = src[so + p * 3]! / 255;
      out[dout + plane + p] = src[so + p * 3 + 1]! / 255;
      out[dout + 2 * plane + p] = src[so + p * 3 + 2]! / 255;
    }
  }
  return { data: out, shape: [n, 3, h, w] };
}

/** NCHW float32 in [0, 1] (model output) → NHWC uint8, clamping and rounding. */
export function fromNchwFloat(batch: NchwFloatBatch): RgbBatch {
  const [n, , h, w] = batch.shape;
  const plane = h * w;
  const out = new Uint8Array(n * plane * 3);
  const src = batch.data;
  const q = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
  for (let b = 0; b < n; b++) {
    const base = b * plane * 3;
    for (let p = 0; p < plane; p++) {
      out[base + p * 3] = q(src[base + p]!);
      out[base + p * 3 + 1] = q(src[base + plane + p]!);
      out[base + p * 3 + 2] = q(src[base + 2 * plane + p]!);
    }
  }
  return { data: out, shape: [n, h, w, 3] };
}
