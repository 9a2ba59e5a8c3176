// The model card's colour count: for each prompt of colour-prompts.txt (each names one colour), how many of
// a generation's images have that colour as their dominant hue. Reads a `dalle generate` output folder
// (generation.json and its PNGs) and prints one line per prompt and the total, e.g.
//   dalle generate --model models/default --prompts scripts/default-model/colour-prompts.txt --n 8 --seed 1 --out /tmp/c
//   node --import tsx scripts/default-model/judge-colours.ts /tmp/c
// An image's dominant hue is the hue bin holding most of its coloured pixels (saturation ≥ 0.3, value ≥ 0.25:
// white background, greys, outlines and shadows have none).
import { readFileSync } from 'node:fs';
import { decodeImage } from '../../src/io/images.ts';

const HUES = { red: [345, 15], orange: [15, 40], yellow: [40, 70], green: [70, 165], blue: [165, 255], purple: [255, 345] } as const;
type Hue = keyof typeof HUES;

function hueOf(r: number, g: number, b: number): { hue: number; saturation: number; value: number } {
  const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
  let hue = 0;
  if (d > 0) hue = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return { hue: (hue * 60 + 360) % 360, saturation: max === 0 ? 0 : d / max, value: max / 255 };
}

const binOf = (hue: number): Hue => (Object.keys(HUES) as Hue[]).find((name) => {
  const [from, to] = HUES[name];
  return from > to ? hue >= from || hue < to : hue >= from && hue < to;
})!;

export function dominantHue(data: Uint8Array): Hue | null {
  const counts = new Map<Hue, number>();
  for (let i = 0; i < data.length; i += 3) {
    const { hue, saturation, value } = hueOf(data[i]!, data[i + 1]!, data[i + 2]!);
    if (saturation < 0.3 || value < 0.25) continue;
    const bin = binOf(hue);
    counts.set(bin, (counts.get(bin) ?? 0) + 1);
  }
  let best: Hue | null = null;
  for (const [bin, n] of counts) if (best === null || n > counts.get(best)!) best = bin;
  return best;
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: judge-colours.ts GENERATION_DIR');
const record = JSON.parse(readFileSync(`${dir}/generation.json`, 'utf8')) as { images: { file: string; prompt: string }[] };
// Each prompt's images' dominant hues; an image with no coloured pixel (null) counts as a miss.
const byPrompt = new Map<string, (Hue | null)[]>();
for (const img of record.images) {
  const hues = byPrompt.get(img.prompt) ?? [];
  hues.push(dominantHue((await decodeImage(img.file)).data));
  byPrompt.set(img.prompt, hues);
}
let hits = 0, total = 0;
for (const [prompt, hues] of byPrompt) {
  const named = (Object.keys(HUES) as Hue[]).find((h) => new RegExp(`\\b${h}\\b`).test(prompt));
  if (!named) continue;
  const n = hues.filter((h) => h === named).length;
  hits += n;
  total += hues.length;
  console.log(`${prompt}: ${n} of ${hues.length} ${named} (${hues.map((h) => h ?? 'none').join(' ')})`);
}
console.log(`named colour dominant in ${hits} of ${total} images`);
