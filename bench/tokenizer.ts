// Tokenizer speed: training a 16,384-token BPE on 200,000 captions and encoding 1,000,000 captions, plus
// encoding with BPE dropout and the same encoding through Tokenizers.js for comparison. The captions are
// synthetic but caption-shaped: real English function words and a Zipf-distributed vocabulary of 150,000
// invented words, numbers, punctuation, some capitals, accents and CJK. Run:
// `node --import tsx bench/tokenizer.ts`; figures print as `name: value unit`.
import { Tokenizer } from '@huggingface/tokenizers';
import { BpeTrainer, seededRandom, toTokenizerJson } from '../src/tokenizer/index.ts';

const STYLES = ['a photo of', 'an oil painting of', 'a 3d render of', 'a pencil sketch of', 'a close-up photo of', 'a watercolor of', 'an illustration of', 'A PHOTOGRAPH OF', 'a pixel art image of', 'a cartoon of'];
const COMMON = ['red', 'blue', 'small', 'large', 'old', 'young', 'wooden', 'happy', 'dark', 'bright', 'green', 'white', 'black', 'cat', 'dog', 'man', 'woman', 'child', 'tree', 'house', 'car', 'table', 'street', 'city', 'beach', 'mountain', 'river', 'sky', 'flower', 'bird', 'horse', 'kitchen', 'window', 'chair', 'book', 'clock', 'boat', 'train', 'plate', 'pizza'];
const PREPOSITIONS = ['on', 'in', 'under', 'next to', 'behind', 'near', 'with', 'holding', 'looking at', 'sitting on', 'standing in front of'];
const ONSETS = ['', 'b', 'c', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'br', 'st', 'tr', 'ch', 'sh', 'pl', 'gr'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ea', 'ou', 'ai', 'é', 'y'];
const CODAS = ['', '', 'n', 'r', 's', 't', 'l', 'ng', 'ck', 'm', 'x'];
const EXTRAS = [', in the style of van gogh', ', 4k, highly detailed', ' at sunset', ' (1970s)', ' — trending on artstation', ' in 東京', ' with 2 friends!', '. black and white.', ', digital art', " at night, it's raining"];

function captionGenerator(seed: number): () => string {
  const random = seededRandom(seed);
  const pickFrom = (list: readonly string[]): string => list[Math.floor(random() * list.length)]!;
  const invented = Array.from({ length: 150_000 }, () => {
    let word = '';
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) word += pickFrom(ONSETS) + pickFrom(VOWELS) + pickFrom(CODAS);
    return word;
  });
  const cumulative = new Float64Array(invented.length);
  let total = 0;
  invented.forEach((_, rank) => { total += 1 / (rank + 1); cumulative[rank] = total; });
  const zipfWord = (): string => {
    const target = random() * total;
    let lo = 0, hi = cumulative.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cumulative[mid]! < target) lo = mid + 1; else hi = mid; }
    return invented[lo]!;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const word = (): string => (random() < 0.5 ? pick(COMMON) : zipfWord());
  return () => {
    let caption = `${pick(STYLES)} a ${word()} ${word()} ${pick(PREPOSITIONS)} the ${word()} ${word()}`;
    if (random() < 0.5) caption += ` and ${Math.floor(random() * 12)} ${word()}s`;
    if (random() < 0.4) caption += pick(EXTRAS);
    return random() < 0.1 ? caption[0]!.toUpperCase() + caption.slice(1) : caption;
  };
}

export interface TokenizerFigure { name: string; value: number; unit: string }

export async function tokenizerFigures(): Promise<TokenizerFigure[]> {
  const figures: TokenizerFigure[] = [];
  const next = captionGenerator(1);
  const trainCaptions = Array.from({ length: 200_000 }, next);
  let started = performance.now();
  const trainer = new BpeTrainer({ vocabSize: 16_384 });
  for (const caption of trainCaptions) trainer.add(caption);
  const counted = performance.now();
  const tok = trainer.finish();
  const finished = performance.now();
  figures.push({ name: 'train 16384 vocab on 200k captions', value: (finished - started) / 1000, unit: 's' });
  figures.push({ name: 'train part: normalise + count words', value: (counted - started) / 1000, unit: 's' });
  figures.push({ name: 'train part: merge loop', value: (finished - counted) / 1000, unit: 's' });
  figures.push({ name: 'distinct words in training captions', value: trainer.wordTypeCount, unit: 'words' });
  figures.push({ name: 'trained vocabulary', value: tok.vocabSize, unit: 'tokens' });

  const encodeCaptions = Array.from({ length: 1_000_000 }, captionGenerator(2));
  started = performance.now();
  let tokens = 0;
  for (const caption of encodeCaptions) tokens += tok.encode(caption).length;
  const encodeSeconds = (performance.now() - started) / 1000;
  figures.push({ name: 'encode 1M captions', value: encodeSeconds, unit: 's' });
  figures.push({ name: 'encode throughput', value: encodeCaptions.length / encodeSeconds, unit: 'captions/s' });
  figures.push({ name: 'mean tokens per caption', value: tokens / encodeCaptions.length, unit: 'tokens' });

  const sample = encodeCaptions.slice(0, 100_000);
  const random = seededRandom(3);
  started = performance.now();
  for (const caption of sample) tok.encode(caption, { dropout: 0.1, random });
  figures.push({ name: 'encode with dropout 0.1', value: sample.length / ((performance.now() - started) / 1000), unit: 'captions/s' });

  const reference = new Tokenizer(JSON.parse(toTokenizerJson(tok)), {});
  started = performance.now();
  const referenceIds = sample.map((caption) => reference.encode(caption, { add_special_tokens: false }).ids);
  figures.push({ name: 'Tokenizers.js encode (same file)', value: sample.length / ((performance.now() - started) / 1000), unit: 'captions/s' });
  if (referenceIds.some((ids, i) => ids.join() !== tok.encode(sample[i]!).join())) throw new Error('Tokenizers.js ids differ');

  started = performance.now();
  const decoded = sample.map((caption) => tok.decode(tok.encode(caption)));
  figures.push({ name: 'encode+decode round trip', value: sample.length / ((performance.now() - started) / 1000), unit: 'captions/s' });
  if (decoded.some((text, i) => text !== tok.normalize(sample[i]!))) throw new Error('round trip failed in the benchmark');
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await tokenizerFigures()) {
    console.log(`${f.name}: ${f.value >= 100 ? f.value.toFixed(0) : f.value >= 10 ? f.value.toFixed(1) : f.value.toFixed(2)} ${f.unit}`);
  }
}
