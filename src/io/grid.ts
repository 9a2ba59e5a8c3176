// Image grids for people to look at: batches, reconstructions next to originals, samples per prompt. Cells
// are laid out row-major with a gap; each cell may carry a caption strip under it (wrapped to the cell
// width, cut with an ellipsis when too long). Cells can be enlarged with nearest-neighbour scaling so that
// 32 or 64 px images stay legible. Text is drawn by sharp's SVG renderer (librsvg with the system fonts).
import sharp from 'sharp';
import { type Rgb, type RgbImage, LIGHT_GREY, encodePng } from './images.ts';
import { writeFileAtomic } from './atomic.ts';

export interface GridOptions {
  /** Cells per row; defaults to ceil(sqrt(n)). */
  columns?: number;
  /** One caption per image (empty string for none); omitted: no caption strips. */
  captions?: readonly string[];
  /** Integer nearest-neighbour enlargement of each cell. */
  scale?: number;
  /** Gap between cells and around the border, in output pixels. */
  gap?: number;
  background?: Rgb;
  /** Lines of caption text per cell. */
  captionLines?: number;
  fontSize?: number;
}

export interface GridLayout {
  columns: number;
  rows: number;
  cellWidth: number;
  cellHeight: number;
  captionHeight: number;
  width: number;
  height: number;
}

/** Where every cell goes, computed from the images and options only (used by renderGrid and its tests). */
export function gridLayout(count: number, imageWidth: number, imageHeight: number, options: GridOptions = {}): GridLayout {
  const columns = Math.max(1, Math.min(count, options.columns ?? Math.ceil(Math.sqrt(count))));
  const rows = Math.max(1, Math.ceil(count / columns));
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 2;
  const fontSize = options.fontSize ?? 11;
  const captionHeight = options.captions ? Math.ceil((options.captionLines ?? 2) * fontSize * 1.25) + 2 : 0;
  const cellWidth = imageWidth * scale;
  const cellHeight = imageHeight * scale;
  return {
    columns,
    rows,
    cellWidth,
    cellHeight,
    captionHeight,
    width: gap + columns * (cellWidth + gap),
    height: gap + rows * (cellHeight + captionHeight + gap),
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Greedy word wrap to `maxChars` per line, at most `maxLines` lines, with an ellipsis when cut. */
export function wrapCaption(text: string, maxChars: number, maxLines: number): string[] {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    const candidate = current ? `${current} ${word}` : word;
    if (candidate.length <= maxChars || !current) current = candidate;
    else {
      lines.push(current);
      current = word;
    }
  }
  if (current) lines.push(current);
  const cut = lines.length > maxLines;
  const kept = lines.slice(0, maxLines).map((l) => (l.length > maxChars ? l.slice(0, Math.max(1, maxChars - 1)) + '…' : l));
  if (cut && kept.length > 0) {
    const last = kept[kept.length - 1]!;
    kept[kept.length - 1] = (last.length >= maxChars ? last.slice(0, Math.max(1, maxChars - 1)) : last) + '…';
  }
  return kept;
}

function enlarge(img: RgbImage, scale: number): RgbImage {
  if (scale === 1) return img;
  const [h, w] = img.shape;
  const out = new Uint8Array(h * scale * w * scale * 3);
  const ow = w * scale;
  for (let y = 0; y < h * scale; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < ow; x++) {
      const s = (sy * w + Math.floor(x / scale)) * 3;
      const d = (y * ow + x) * 3;
      out[d] = img.data[s]!;
      out[d + 1] = img.data[s + 1]!;
      out[d + 2] = img.data[s + 2]!;
    }
  }
  return { data: out, shape: [h * scale, ow, 3] };
}

/** Lay images (all the same size) out in a grid, with optional caption strips; returns the grid image. */
export async function renderGrid(images: readonly RgbImage[], options: GridOptions = {}): Promise<RgbImage> {
  if (images.length === 0) throw new RangeError('renderGrid needs at least one image');
  const [h, w] = images[0]!.shape;
  for (const img of images) {
    if (img.shape[0] !== h || img.shape[1] !== w) throw new RangeError(`grid images must share one size, got ${img.shape[1]}x${img.shape[0]} and ${w}x${h}`);
  }
  if (options.captions && options.captions.length !== images.length) {
    throw new RangeError(`${options.captions.length} captions for ${images.length} images`);
  }
  const layout = gridLayout(images.length, w, h, options);
  const gap = options.gap ?? 2;
  const scale = options.scale ?? 1;
  const bg = options.background ?? LIGHT_GREY;
  const fontSize = options.fontSize ?? 11;
  const out = new Uint8Array(layout.width * layout.height * 3);
  for (let i = 0; i < out.length; i += 3) {
    out[i] = bg[0];
    out[i + 1] = bg[1];
    out[i + 2] = bg[2];
  }
  const texts: string[] = [];
  images.forEach((img, i) => {
    const cell = enlarge(img, scale);
    const col = i % layout.columns;
    const row = Math.floor(i / layout.columns);
    const x0 = gap + col * (layout.cellWidth + gap);
    const y0 = gap + row * (layout.cellHeight + layout.captionHeight + gap);
    for (let y = 0; y < layout.cellHeight; y++) {
      const src = y * layout.cellWidth * 3;
      out.set(cell.data.subarray(src, src + layout.cellWidth * 3), ((y0 + y) * layout.width + x0) * 3);
    }
    const caption = options.captions?.[i];
    if (caption) {
      const maxChars = Math.max(4, Math.floor(layout.cellWidth / (fontSize * 0.55)));
      wrapCaption(caption, maxChars, options.captionLines ?? 2).forEach((line, k) => {
        const ty = y0 + layout.cellHeight + Math.round(fontSize * 1.25 * (k + 1)) - 1;
        texts.push(`<text x="${x0}" y="${ty}">${escapeXml(line)}</text>`);
      });
    }
  });
  if (texts.length === 0) return { data: out, shape: [layout.height, layout.width, 3] };
  const textColour = bg[0] + bg[1] + bg[2] > 384 ? '#222' : '#eee';
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">` +
    `<g font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="${textColour}">${texts.join('')}</g></svg>`;
  const { data, info } = await sharp(out, { raw: { width: layout.width, height: layout.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), shape: [info.height, info.width, 3] };
}

/** Render a grid and write it as a PNG (atomically). */
export async function writeGrid(path: string, images: readonly RgbImage[], options: GridOptions = {}): Promise<RgbImage> {
  const grid = await renderGrid(images, options);
  await writeFileAtomic(path, await encodePng(grid));
  return grid;
}
