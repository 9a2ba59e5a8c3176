// Validation of the transformer: mean text and image cross-entropy (nats), bits per image token, and the image
// cross-entropy with captions rolled across the batch (each image scored against another image's caption):
// the gap between the two says how much the model uses the text. Shared by the trainer and `dalle eval`;
// also the per-image example builder (caption choice, BPE dropout, caption dropout, code noise), seeded per
// image.
import type { ImageCache } from '../data/cache.ts';
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { type BpeTokenizer, seededRandom } from '../tokenizer/index.ts';
import type { CodeTable } from './codes.ts';
import type { DalleConfig } from './config.ts';
import { type DalleParams, dalleLoss } from './model.ts';
import { emptyCaption, encodeCaption } from './text.ts';

export interface Validation {
  textNll: number;
  imageNll: number;
  bitsPerImageToken: number;
  imageNllShuffled: number;
}

/** Per-image training example builder: caption choice, BPE dropout, caption dropout, code noise and, where
 *  the code table holds augmented copies and `augmented` is set, which copy an image is read as; all
 *  seeded. Code noise replaces a fraction of the codes the model reads (never the ones it predicts) by the
 *  code of a random cell of a random image of the batch: a sampled image's cells are drawn one at a time and
 *  some of them go wrong, and a model trained only on true prefixes has never had to continue from one. */
export class Examples {
  constructor(
    private readonly cache: ImageCache,
    private readonly codes: CodeTable,
    private readonly tokenizer: BpeTokenizer,
    private readonly c: DalleConfig,
  ) {}

  batch(indices: readonly number[], seed: number, step: number, o: { bpeDropout: number; captionDropout: number; codeNoise?: number; captionIndex?: 'random' | 'first'; shuffle?: boolean; augmented?: boolean }): { text: T.NDArray; image: T.NDArray; input?: T.NDArray } {
    const text: number[] = [];
    const cells = this.codes.cells;
    const variants = o.augmented ? this.codes.variants ?? 1 : 1;
    const image = new BigInt64Array(indices.length * cells);
    const noise = o.codeNoise ?? 0;
    const input = noise > 0 ? new BigInt64Array(indices.length * cells) : null;
    indices.forEach((index, k) => {
      const rng = T.Rng.stream(seed, 3, step, index);
      const captions = this.cache.items[index]!.captions;
      const caption = o.captionIndex === 'first' ? captions[0]! : captions[rng.int(captions.length)]!;
      const dropped = rng.next() < o.captionDropout;
      const random = seededRandom(rng.int(2 ** 31));
      text.push(...(dropped ? emptyCaption(this.c) : encodeCaption(this.tokenizer, caption, this.c, { dropout: o.bpeDropout, random }).ids));
      // Its own stream, so that a run without augmentation sees the captions and noise it always did.
      const at = (variants > 1 ? T.Rng.stream(seed, 6, step, index).int(variants) * this.cache.count + index : index) * cells;
      const source = this.codes.codes.subarray(at, at + cells);
      source.forEach((v, i) => (image[k * cells + i] = BigInt(v)));
      // Drawn after the caption's draws, so a run without noise sees the captions it always did.
      if (input) {
        source.forEach((v, i) => {
          const other = rng.next() < noise ? indices[rng.int(indices.length)]! * cells + rng.int(cells) : -1;
          input[k * cells + i] = BigInt(other < 0 ? v : this.codes.codes[other]!);
        });
      }
    });
    const b = indices.length;
    let textIds = text;
    if (o.shuffle && b > 1) {
      // Captions rolled by one across the batch: each image gets another image's caption.
      const t = this.c.textLength;
      textIds = Array.from({ length: b * t }, (_, i) => text[(((Math.floor(i / t) + 1) % b) * t) + (i % t)]!);
    }
    return { text: T.NDArray.int64(textIds, [b, this.c.textLength]), image: new T.NDArray(image, [b, cells]), ...(input && { input: new T.NDArray(input, [b, cells]) }) };
  }
}

/** Mean text and image cross-entropy of a batch, without dropout. */
export function makeEvaluator(c: DalleConfig) {
  return T.compile((p: DalleParams<Tensor>, text: Tensor, image: Tensor) => {
    const l = dalleLoss(p, { text, image }, c);
    return { text: l.text, image: l.image };
  }, { name: 'dalle_eval' });
}

export interface ValidationOptions {
  batchSize: number;
  maxBatches?: number;
  seed?: number;
}

/** Figures over `indices` (the first caption of each image, no dropout), or null with fewer than 2 images. */
export async function validationNll(evaluate: ReturnType<typeof makeEvaluator>, params: unknown, examples: Examples, indices: readonly number[], o: ValidationOptions): Promise<Validation | null> {
  const sums = { text: 0, image: 0, shuffled: 0, n: 0 };
  const batches = Math.min(o.maxBatches ?? Infinity, Math.ceil(indices.length / o.batchSize));
  for (let i = 0; i < batches; i++) {
    const idx = indices.slice(i * o.batchSize, (i + 1) * o.batchSize);
    if (idx.length < 2) break;
    const options = { bpeDropout: 0, captionDropout: 0, captionIndex: 'first' as const };
    const plain = examples.batch(idx, o.seed ?? 0, -1, options);
    const shuffled = examples.batch(idx, o.seed ?? 0, -1, { ...options, shuffle: true });
    const a = await evaluate(params as never, plain.text, plain.image);
    const s = await evaluate(params as never, shuffled.text, shuffled.image);
    sums.text += a.text.item() * idx.length;
    sums.image += a.image.item() * idx.length;
    sums.shuffled += s.image.item() * idx.length;
    sums.n += idx.length;
  }
  if (sums.n === 0) return null;
  const imageNll = sums.image / sums.n;
  return { textNll: sums.text / sums.n, imageNll, bitsPerImageToken: imageNll / Math.LN2, imageNllShuffled: sums.shuffled / sums.n };
}
