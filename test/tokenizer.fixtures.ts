// Shared inputs for the tokenizer tests: a seeded generator of caption-like sentences and of random Unicode
// that reaches the awkward corners (combining marks, CJK, emoji with joiners, odd whitespace, controls, lone
// surrogates).
import { seededRandom } from '../src/tokenizer/index.ts';

const ADJECTIVES = ['red', 'small', 'fluffy', 'wooden', 'shiny', 'ancient', 'blue', 'tiny', 'giant', 'striped', 'glowing', 'café-style'];
const NOUNS = ['cat', 'dog', 'armchair', 'avocado', 'teapot', 'robot', 'giraffe', 'lighthouse', 'bicycle', 'snail', 'castle', 'penguin'];
const PLACES = ['on a beach', 'in a forest', 'at night', 'under the sea', 'in tokyo 東京', 'on the moon', 'in a kitchen', 'near a lake'];
const STYLES = ['an oil painting of', 'a photo of', 'a 3D render of', 'a sketch of', "an artist's drawing of", 'A PHOTO OF'];

export function captions(count: number, seed = 1): string[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const n = 1 + Math.floor(random() * 3);
    const extra = i % 7 === 0 ? ` with ${n * 12} ${pick(NOUNS)}s 🐈!` : i % 11 === 0 ? '  \t ' : '';
    return `${pick(STYLES)} a ${pick(ADJECTIVES)} ${pick(NOUNS)} ${pick(PLACES)}${extra}`;
  });
}

const RANGES: [number, number][] = [
  [0x20, 0x7e], [0x20, 0x7e], [0x41, 0x5a], [0x00, 0x1f], [0xa0, 0xff], [0x300, 0x36f], [0x391, 0x3c9],
  [0x4e00, 0x9fff], [0x1f300, 0x1faff], [0x200d, 0x200d], [0xfe0f, 0xfe0f], [0x2028, 0x2029], [0x3000, 0x3000],
  [0x85, 0x85], [0xfeff, 0xfeff], [0x130, 0x130], [0xd800, 0xdfff], [0x10000, 0x10ffff],
];

export function randomUnicode(count: number, seed = 2): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const length = Math.floor(random() * 40);
    let text = '';
    for (let i = 0; i < length; i++) {
      const [lo, hi] = RANGES[Math.floor(random() * RANGES.length)]!;
      text += String.fromCodePoint(lo + Math.floor(random() * (hi - lo + 1)));
    }
    return text;
  });
}
