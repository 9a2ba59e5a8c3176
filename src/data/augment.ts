// Training-time augmentation on uint8 HWC images, driven by a seeded Rng so that a (seed, epoch, item)
// triple always yields the same pixels. All are off by default: a random resized crop changes framing, a
// shift moves the subject off centre, and a horizontal flip would contradict captions that name left and
// right, so it is only applied to an image whose captions pass `mirrorSafe`.
import { z } from 'zod';
import type { RgbBatch, RgbImage } from '../io/images.ts';
import type { Rng } from '../tensor/index.ts';

export interface AugmentOptions {
  /** Random resized crop: area share and aspect-ratio ranges of the crop, resampled to the full size. */
  randomResizedCrop?: { scale: [number, number]; ratio: [number, number] };
  /** Largest shift in pixels, each axis drawn uniformly from −shift..shift; the vacated edge repeats the border. */
  shift?: number;
  /** Probability of a horizontal flip (of an image whose captions are mirror-safe). */
  hflip?: number;
}

/** The trainers' `shift` and `flip` settings (the transformer's and the reranker's schemas spread its
 *  shape): the largest shift in pixels, and whether to mirror half of the mirror-safe images. */
export const AugmentFlagsSchema = z.object({
  shift: z.number().int().min(0).max(16).default(0),
  flip: z.boolean().default(false),
});
export type AugmentFlags = z.infer<typeof AugmentFlagsSchema>;

/** The augmentation the flags ask for. */
export const flagsAugment = (flags: AugmentFlags): AugmentOptions => ({ shift: flags.shift, hflip: flags.flip ? 0.5 : 0 });

/** The flags in words, for the trainers' logs. */
export const describeFlags = (flags: AugmentFlags): string => `shift ${flags.shift}${flags.flip ? ', mirrored where the captions allow' : ''}`;

/** Words whose meaning a mirror image reverses or garbles: directions, turning senses, writing and flags. */
const MIRROR_UNSAFE = /\b(left|right|leftwards|rightwards|clockwise|counterclockwise|anticlockwise|keycap|letter|letters|flag|flags|text|sign|button|mark)\b/i;

/** Whether a mirrored image still fits every caption: none names a side, a turning sense, writing or a flag. */
export function mirrorSafe(captions: readonly string[]): boolean {
  return !captions.some((c) => MIRROR_UNSAFE.test(c));
}

/** `img` moved by (dx, dy) pixels; the vacated rows and columns repeat the nearest border pixel. */
export function shiftImage(img: RgbImage, dx: number, dy: number): RgbImage {
  const [h, w] = img.shape;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(h - 1, Math.max(0, y - dy));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(w - 1, Math.max(0, x - dx));
      out.set(img.data.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), (y * w + x) * 3);
    }
  }
  return { data: out, shape: [h, w, 3] };
}

export function flipHorizontal(img: RgbImage): RgbImage {
  const [h, w] = img.shape;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = (y * w + (w - 1 - x)) * 3;
      out[d] = img.data[s]!;
      out[d + 1] = img.data[s + 1]!;
      out[d + 2] = img.data[s + 2]!;
    }
  }
  return { data: out, shape: [h, w, 3] };
}

/** Bilinear resample of the rectangle (x0, y0, cw, ch) of `img` to an outW×outH image. */
export function resampleRegion(img: RgbImage, x0: number, y0: number, cw: number, ch: number, outW: number, outH: number): RgbImage {
  const [h, w] = img.shape;
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(h - 1, Math.max(0, y0 + ((y + 0.5) * ch) / outH - 0.5));
    const iy = Math.floor(sy);
    const fy = sy - iy;
    const iy1 = Math.min(h - 1, iy + 1);
    for (let x = 0; x < outW; x++) {
      const sx = Math.min(w - 1, Math.max(0, x0 + ((x + 0.5) * cw) / outW - 0.5));
      const ix = Math.floor(sx);
      const fx = sx - ix;
      const ix1 = Math.min(w - 1, ix + 1);
      for (let c = 0; c < 3; c++) {
        const a = img.data[(iy * w + ix) * 3 + c]!;
        const b = img.data[(iy * w + ix1) * 3 + c]!;
        const d = img.data[(iy1 * w + ix) * 3 + c]!;
        const e = img.data[(iy1 * w + ix1) * 3 + c]!;
        out[(y * outW + x) * 3 + c] = Math.round((a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy);
      }
    }
  }
  return { data: out, shape: [outH, outW, 3] };
}

/** Inception-style random resized crop back to the image's own size. */
export function randomResizedCrop(img: RgbImage, rng: Rng, scale: [number, number], ratio: [number, number]): RgbImage {
  const [h, w] = img.shape;
  const area = w * h;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.between(scale[0], scale[1]);
    const aspect = Math.exp(rng.between(Math.log(ratio[0]), Math.log(ratio[1])));
    const cw = Math.sqrt(target * aspect);
    const ch = Math.sqrt(target / aspect);
    if (cw <= w && ch <= h) {
      const x0 = rng.between(0, w - cw);
      const y0 = rng.between(0, h - ch);
      return resampleRegion(img, x0, y0, cw, ch, w, h);
    }
  }
  return img;
}

/** Whether the options change any image. */
export function augments(options: AugmentOptions | undefined): options is AugmentOptions {
  return !!options && (!!options.randomResizedCrop || (options.shift ?? 0) > 0 || (options.hflip ?? 0) > 0);
}

/** Apply the configured augmentations in a fixed order (crop, shift, then flip) to an image with these
 *  captions: a flip only where they are mirror-safe. */
export function augmentImage(img: RgbImage, captions: readonly string[], options: AugmentOptions, rng: Rng): RgbImage {
  let out = img;
  if (options.randomResizedCrop) out = randomResizedCrop(out, rng, options.randomResizedCrop.scale, options.randomResizedCrop.ratio);
  const shift = options.shift ?? 0;
  if (shift > 0) out = shiftImage(out, rng.int(2 * shift + 1) - shift, rng.int(2 * shift + 1) - shift);
  if (options.hflip && options.hflip > 0 && rng.bool(options.hflip) && mirrorSafe(captions)) out = flipHorizontal(out);
  return out;
}

/** `augmentImage` applied in place to image k of an NHWC batch. */
export function augmentBatchImage(batch: RgbBatch, k: number, captions: readonly string[], options: AugmentOptions, rng: Rng): void {
  const [, h, w] = batch.shape;
  const view = { data: batch.data.subarray(k * h * w * 3, (k + 1) * h * w * 3), shape: [h, w, 3] as [number, number, 3] };
  view.data.set(augmentImage(view, captions, options, rng).data);
}
