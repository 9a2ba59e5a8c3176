// Generated shape scenes: a fast, fully controlled dataset for tests and for measuring text-image alignment.
// Each scene has one or two objects (shape, colour, size) on a plain white background; two objects stand in
// a spatial relation (left of, right of, above, below) with their boxes clearly apart. Captions state what
// is there in several phrasings ("a small red circle above a large blue square", the inverse relation, a
// plain conjunction, without sizes), and the ground truth (every object's shape, colour, size and pixel
// bounding box) is saved beside each image as JSON. Scene i depends only on (seed, i). Edges are
// anti-aliased inside each object's box; pixels outside every box are exactly the background.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Rgb, type RgbImage, encodePng } from '../io/images.ts';
import type { Progress } from '../util/progress.ts';
import { Rng } from '../tensor/index.ts';

export const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'hexagon', 'cross'] as const;
export type ShapeName = (typeof SHAPES)[number];

export const COLOURS: Record<string, Rgb> = {
  red: [220, 40, 40],
  orange: [245, 140, 20],
  yellow: [240, 210, 30],
  green: [40, 160, 60],
  blue: [40, 80, 220],
  purple: [140, 60, 190],
  pink: [240, 120, 180],
  black: [30, 30, 30],
};
export const BACKGROUND: Rgb = [255, 255, 255];
export const SIZES = { small: 0.25, large: 0.45 } as const;
export type SizeName = keyof typeof SIZES;
export const RELATIONS = ['left of', 'right of', 'above', 'below'] as const;
export type Relation = (typeof RELATIONS)[number];

export interface SceneObject {
  shape: ShapeName;
  colour: string;
  rgb: Rgb;
  size: SizeName;
  /** Pixel box [x0, y0, x1, y1), end exclusive. */
  bbox: [number, number, number, number];
}

export interface Scene {
  width: number;
  height: number;
  background: Rgb;
  objects: SceneObject[];
  /** For two objects: objects[0] <relation> objects[1]. */
  relation: Relation | null;
  captions: string[];
}

type Point = [number, number];

/** Scale a polygon so that its bounds are exactly [-1, 1]². */
function fitPolygon(points: Point[]): Point[] {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return points.map(([x, y]) => [((x - minX) / (maxX - minX)) * 2 - 1, ((y - minY) / (maxY - minY)) * 2 - 1]);
}

function regular(n: number, radii: number[], rotation: number): Point[] {
  const pts: Point[] = [];
  for (let i = 0; i < n * radii.length; i++) {
    const r = radii[i % radii.length]!;
    const a = rotation + (i * 2 * Math.PI) / (n * radii.length);
    pts.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return pts;
}

const POLYGONS: Partial<Record<ShapeName, Point[]>> = {
  triangle: [
    [0, -1],
    [1, 1],
    [-1, 1],
  ],
  diamond: [
    [0, -1],
    [1, 0],
    [0, 1],
    [-1, 0],
  ],
  star: fitPolygon(regular(5, [1, 0.45], -Math.PI / 2)),
  hexagon: fitPolygon(regular(6, [1], -Math.PI / 2)),
};

function insidePolygon(points: Point[], x: number, y: number): boolean {
  let inside = false;
  const n = points.length;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const pi = points[i]!;
    const pj = points[j]!;
    const yi = pi[1];
    const yj = pj[1];
    if (yi > y !== yj > y && x < ((pj[0] - pi[0]) * (y - yi)) / (yj - yi) + pi[0]) inside = !inside;
  }
  return inside;
}

/** Whether the unit-box point (u, v) ∈ [-1, 1]² is inside the shape. */
export function insideShape(shape: ShapeName, u: number, v: number): boolean {
  switch (shape) {
    case 'circle':
      return u * u + v * v <= 1;
    case 'square':
      return Math.abs(u) <= 1 && Math.abs(v) <= 1;
    case 'cross':
      return Math.abs(u) <= 1 && Math.abs(v) <= 1 && (Math.abs(u) <= 0.34 || Math.abs(v) <= 0.34);
    default:
      return insidePolygon(POLYGONS[shape]!, u, v);
  }
}

function drawObject(img: RgbImage, obj: SceneObject): void {
  const [x0, y0, x1, y1] = obj.bbox;
  const w = img.shape[1];
  const side = x1 - x0;
  const ss = 4;
  for (let py = y0; py < y1; py++) {
    for (let px = x0; px < x1; px++) {
      let hits = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const u = ((px - x0 + (sx + 0.5) / ss) / side) * 2 - 1;
          const v = ((py - y0 + (sy + 0.5) / ss) / side) * 2 - 1;
          if (insideShape(obj.shape, u, v)) hits++;
        }
      }
      if (hits === 0) continue;
      const a = hits / (ss * ss);
      const o = (py * w + px) * 3;
      for (let c = 0; c < 3; c++) img.data[o + c] = Math.round(img.data[o + c]! * (1 - a) + obj.rgb[c]! * a);
    }
  }
}

export function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

function describe(obj: SceneObject, withSize: boolean): string {
  return withArticle(`${withSize ? `${obj.size} ` : ''}${obj.colour} ${obj.shape}`);
}

const INVERSE: Record<Relation, Relation> = { 'left of': 'right of', 'right of': 'left of', above: 'below', below: 'above' };

function relationWords(r: Relation): string {
  return r === 'left of' || r === 'right of' ? `to the ${r}` : r;
}

function whereInFrame(obj: SceneObject, width: number, height: number): string {
  const cx = (obj.bbox[0] + obj.bbox[2]) / 2 / width;
  const cy = (obj.bbox[1] + obj.bbox[3]) / 2 / height;
  const col = cx < 1 / 3 ? 'left' : cx > 2 / 3 ? 'right' : 'centre';
  const row = cy < 1 / 3 ? 'top' : cy > 2 / 3 ? 'bottom' : 'middle';
  if (row === 'middle') return col === 'centre' ? 'in the centre' : `on the ${col}`;
  if (col === 'centre') return `at the ${row}`;
  return `in the ${row} ${col}`;
}

function satisfies(a: SceneObject['bbox'], b: SceneObject['bbox'], r: Relation, gap: number): boolean {
  switch (r) {
    case 'left of':
      return a[2] + gap <= b[0];
    case 'right of':
      return b[2] + gap <= a[0];
    case 'above':
      return a[3] + gap <= b[1];
    case 'below':
      return b[3] + gap <= a[1];
  }
}

function randomObject(rng: Rng, size: number): Omit<SceneObject, 'bbox'> & { side: number } {
  const colour = rng.pick(Object.keys(COLOURS));
  const sizeName: SizeName = rng.bool() ? 'small' : 'large';
  return { shape: rng.pick(SHAPES), colour, rgb: COLOURS[colour]!, size: sizeName, side: Math.max(3, Math.round(SIZES[sizeName] * size)) };
}

function place(rng: Rng, side: number, size: number): SceneObject['bbox'] {
  const x0 = 1 + rng.int(size - side - 1);
  const y0 = 1 + rng.int(size - side - 1);
  return [x0, y0, x0 + side, y0 + side];
}

/** Scene number `index` of the set generated with `seed`. */
export function generateScene(seed: number, index: number, size: number): { scene: Scene; image: RgbImage } {
  const rng = Rng.stream(seed, index);
  const two = rng.next() < 0.65;
  const objects: SceneObject[] = [];
  let relation: Relation | null = null;
  const first = randomObject(rng, size);
  if (!two) {
    const { side, ...rest } = first;
    objects.push({ ...rest, bbox: place(rng, side, size) });
  } else {
    let second = randomObject(rng, size);
    while (second.shape === first.shape && second.colour === first.colour && second.size === first.size) second = randomObject(rng, size);
    relation = rng.pick(RELATIONS);
    const gap = Math.max(1, Math.round(size / 32));
    for (let attempt = 0; ; attempt++) {
      const a = place(rng, first.side, size);
      const b = place(rng, second.side, size);
      if (satisfies(a, b, relation, gap)) {
        const { side: _a, ...ra } = first;
        const { side: _b, ...rb } = second;
        objects.push({ ...ra, bbox: a }, { ...rb, bbox: b });
        break;
      }
      if (attempt > 200) {
        // two large objects rarely fit at random; fall back to small ones, which always fit
        first.size = second.size = 'small';
        first.side = second.side = Math.max(3, Math.round(SIZES.small * size));
      }
    }
  }
  const captions: string[] = [];
  if (objects.length === 1) {
    const o = objects[0]!;
    captions.push(describe(o, true), describe(o, false), `${describe(o, true)} ${whereInFrame(o, size, size)}`);
  } else {
    const [a, b] = objects as [SceneObject, SceneObject];
    const r = relation!;
    captions.push(
      `${describe(a, true)} ${relationWords(r)} ${describe(b, true)}`,
      `${describe(b, true)} ${relationWords(INVERSE[r])} ${describe(a, true)}`,
      `${describe(a, false)} ${relationWords(r)} ${describe(b, false)}`,
      `${describe(a, true)} and ${describe(b, true)}`,
    );
  }
  const image: RgbImage = { data: new Uint8Array(size * size * 3), shape: [size, size, 3] };
  for (let i = 0; i < image.data.length; i += 3) image.data.set(BACKGROUND, i);
  for (const o of objects) drawObject(image, o);
  return { scene: { width: size, height: size, background: BACKGROUND, objects, relation, captions }, image };
}

export interface ShapesBuildOptions {
  out: string;
  count: number;
  size: number;
  seed: number;
  progress?: Progress;
  concurrency?: number;
}

/** Write `count` scenes as NNNNNN.png + .txt (captions) + .json (ground truth) into `out`. */
export async function buildShapes(options: ShapesBuildOptions): Promise<{ count: number; captions: number }> {
  const { out, count, size, seed } = options;
  await mkdir(out, { recursive: true });
  const digits = Math.max(6, String(count - 1).length);
  const concurrency = options.concurrency ?? 32;
  let captions = 0;
  for (let start = 0; start < count; start += concurrency) {
    const indices = Array.from({ length: Math.min(concurrency, count - start) }, (_, k) => start + k);
    await Promise.all(
      indices.map(async (i) => {
        const { scene, image } = generateScene(seed, i, size);
        const stem = join(out, String(i).padStart(digits, '0'));
        await writeFile(`${stem}.png`, await encodePng(image));
        await writeFile(`${stem}.txt`, scene.captions.join('\n') + '\n');
        await writeFile(`${stem}.json`, JSON.stringify({ seed, index: i, ...scene }) + '\n');
        captions += scene.captions.length;
        options.progress?.tick();
      }),
    );
  }
  await writeFile(
    join(out, 'README.md'),
    `# shapes\n\nGenerated by \`dalle data shapes --count ${count} --size ${size} --seed ${seed}\`: ${count} scenes of one or two ` +
      `objects (${SHAPES.join(', ')}; colours ${Object.keys(COLOURS).join(', ')}; sizes small and large; relations ` +
      `${RELATIONS.join(', ')}) on a white background. Each NNNNNN.png has its captions in NNNNNN.txt (one per line) ` +
      `and its ground truth in NNNNNN.json (objects with shape, colour, size and pixel bounding box [x0, y0, x1, y1)).\n`,
  );
  return { count, captions };
}
