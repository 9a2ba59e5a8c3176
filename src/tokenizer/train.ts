// Training a byte-level BPE from captions (Sennrich et al., 2016; GPT-2's byte-level variant). Captions are
// normalised and pre-tokenised exactly as encoding will see them, counted as word types, and merged greedily:
// the most frequent adjacent pair becomes a new token, until the vocabulary is full or no pair reaches the
// minimum frequency. Pair counts are updated incrementally (only the words holding the merged pair are
// touched) and a max-heap with lazy re-insertion picks the next pair, so a 16,384-token vocabulary trains
// in seconds. Ties go to the pair with the smaller (left id, right id), so a corpus always gives the same
// tokenizer regardless of caption order. We wrote this because no npm package trains a BPE.
import { UserError } from '../errors.ts';
import { BYTE_TO_CHAR } from './bytes.ts';
import { MAX_TOKEN_ID } from './bpe.ts';
import { CAPTION_NORMALIZER, GPT2_PRE_TOKENIZER } from './pipeline.ts';
import { BpeTokenizer } from './tokenizer.ts';

export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['<|endoftext|>', '<|pad|>'];
export const BYTE_LEVEL_DECODER = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };

export interface TrainOptions {
  /** Total number of ids: special tokens, the 256 bytes and the merges. DALL·E uses 16,384. */
  vocabSize: number;
  /** A pair seen fewer times than this is never merged (default 2). */
  minFrequency?: number;
  /** Tokens with ids 0, 1, …; matched verbatim in text, never split or merged. */
  specialTokens?: readonly string[];
}

/** Feeds captions one at a time (a corpus need not fit in memory as text), then trains. */
export class BpeTrainer {
  private readonly vocabSize: number;
  private readonly minFrequency: number;
  private readonly base: BpeTokenizer;
  private readonly wordCounts = new Map<string, number>();
  captionCount = 0;

  constructor(options: TrainOptions) {
    const specialTokens = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
    const minFrequency = options.minFrequency ?? 2;
    if (new Set(specialTokens).size !== specialTokens.length || specialTokens.some((t) => typeof t !== 'string' || t.length === 0)) {
      throw new UserError(`special tokens must be distinct non-empty strings, got ${JSON.stringify(specialTokens)}`);
    }
    const smallest = specialTokens.length + 256;
    if (!Number.isInteger(options.vocabSize) || options.vocabSize < smallest || options.vocabSize > MAX_TOKEN_ID - 256) {
      throw new UserError(`vocabulary size must be a whole number from ${smallest} (special tokens + 256 bytes) to ${MAX_TOKEN_ID - 256}, got ${options.vocabSize}`);
    }
    if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new UserError(`minimum frequency must be a whole number ≥ 1, got ${minFrequency}`);
    this.vocabSize = options.vocabSize;
    this.minFrequency = minFrequency;
    this.base = new BpeTokenizer({
      vocab: [...specialTokens, ...BYTE_TO_CHAR],
      merges: [],
      addedTokens: specialTokens.map((content, id) => ({ id, content, special: true, normalized: false, lstrip: false, rstrip: false, singleWord: false })),
      unkToken: null,
      normalizer: CAPTION_NORMALIZER,
      preTokenizer: GPT2_PRE_TOKENIZER,
      postProcessor: null,
      decoder: BYTE_LEVEL_DECODER,
    });
  }

  add(caption: string): void {
    this.captionCount++;
    for (const word of this.base.preTokenize(caption)) this.wordCounts.set(word, (this.wordCounts.get(word) ?? 0) + 1);
  }

  get wordTypeCount(): number {
    return this.wordCounts.size;
  }

  finish(): BpeTokenizer {
    const parts = this.base.parts;
    const vocab = [...parts.vocab] as string[];
    const merges = mergeWordTypes(this.wordCounts, parts.addedTokens.length, vocab, this.vocabSize, this.minFrequency);
    return new BpeTokenizer({ ...parts, vocab, merges });
  }
}

/** Trains a tokenizer on an in-memory list of captions. */
export function trainTokenizer(captions: Iterable<string>, options: TrainOptions): BpeTokenizer {
  const trainer = new BpeTrainer(options);
  for (const caption of captions) trainer.add(caption);
  return trainer.finish();
}

/** The greedy merge loop over word types; appends the new tokens to `vocab` and returns the merges. */
function mergeWordTypes(wordCounts: Map<string, number>, firstByteId: number, vocab: string[], vocabSize: number, minFrequency: number): [number, number][] {
  const stride = vocabSize; // pair key = left·stride + right: a small integer for vocabularies up to 32,768
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Array.from(encoder.encode(word), (b) => firstByteId + b));
    counts.push(count);
  }
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>(); // word indices that may hold the pair (stale entries allowed)
  const noteWord = (key: number, w: number): void => {
    const list = pairWords.get(key);
    if (list === undefined) pairWords.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  words.forEach((symbols, w) => {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = symbols[i]! * stride + symbols[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + counts[w]!);
      noteWord(key, w);
    }
  });
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  const merges: [number, number][] = [];
  while (vocab.length < vocabSize && heap.size > 0) {
    const { count, key } = heap.pop();
    const actual = pairCount.get(key) ?? 0;
    if (actual !== count) { if (actual > 0) heap.push(actual, key); continue; }
    if (count < minFrequency) break;
    const left = Math.floor(key / stride);
    const right = key - left * stride;
    const merged = vocab.length;
    vocab.push(vocab[left]! + vocab[right]!);
    merges.push([left, right]);
    pairCount.delete(key);

    const delta = new Map<number, number>();
    const change = (a: number, b: number, by: number): void => {
      const k = a * stride + b;
      delta.set(k, (delta.get(k) ?? 0) + by);
    };
    for (const w of pairWords.get(key) ?? []) {
      const symbols = words[w]!;
      const c = counts[w]!;
      const out: number[] = [];
      let touched = false;
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          touched = true;
          if (out.length > 0) {
            const before = out[out.length - 1]!;
            change(before, left, -c);
            change(before, merged, c);
            noteWord(before * stride + merged, w);
          }
          if (i + 2 < symbols.length) {
            const after = symbols[i + 2]!;
            change(right, after, -c);
            change(merged, after, c);
            noteWord(merged * stride + after, w);
          }
          out.push(merged);
          i++;
        } else out.push(symbols[i]!);
      }
      if (touched) words[w] = out;
    }
    pairWords.delete(key);
    for (const [k, by] of delta) {
      if (k === key || by === 0) continue;
      const now = (pairCount.get(k) ?? 0) + by;
      if (now > 0) pairCount.set(k, now); else pairCount.delete(k);
      if (by > 0 && now > 0) heap.push(now, k);
    }
  }
  return merges;
}

/** A max-heap of (count, pair key): higher count first, then the smaller key (smaller left, then right id). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private before(i: number, j: number): boolean {
    const a = this.counts[i]!, b = this.counts[j]!;
    return a > b || (a === b && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let best = i;
        if (l < this.counts.length && this.before(l, best)) best = l;
        if (r < this.counts.length && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}
