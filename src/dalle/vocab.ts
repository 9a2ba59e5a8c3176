// Growing a trained transformer's text vocabulary for a fine-tune: `dalle train --init MODEL --tokenizer
// BIGGER.json`, where BIGGER was trained on the same captions with a larger --vocab-size (BPE training is
// greedy, so its first ids and merges are the smaller one's). A small vocabulary splits rare words into
// pieces shared with other words ("pizza" → " p" "iz" "z" "a" at 2,048 tokens), and a small transformer
// binds such a word to its images poorly; a larger one keeps them whole. A new token starts as the mean of
// the rows of the old tokens it is made of (its merge tree cut at the old vocabulary), in the input
// embedding and in the output head alike, so that the grown model reads and predicts it about as the old
// one did its pieces; every other row is copied, the per-position padding rows moved up past the new ids.
import { UserError } from '../errors.ts';
import * as T from '../tensor/index.ts';
import type { BpeTokenizer } from '../tokenizer/index.ts';
import { type DalleConfig, textTableSize } from './config.ts';
import type { DalleParams } from './model.ts';

/** Why `bigger` does not extend `smaller` (same ids for the smaller one's tokens, its merges first, the same
 *  normaliser and pre-tokenizer), or null when it does. */
export function extensionProblem(smaller: BpeTokenizer, bigger: BpeTokenizer): string | null {
  const a = smaller.parts;
  const b = bigger.parts;
  if (b.vocab.length < a.vocab.length) return `it has ${b.vocab.length} tokens, fewer than the model's ${a.vocab.length}`;
  const id = a.vocab.findIndex((token, i) => b.vocab[i] !== token);
  if (id >= 0) return `its token ${id} is ${JSON.stringify(b.vocab[id])}, the model's is ${JSON.stringify(a.vocab[id])}`;
  const merge = a.merges.findIndex(([l, r], i) => b.merges[i]?.[0] !== l || b.merges[i]?.[1] !== r);
  if (merge >= 0) return `its merge ${merge} differs from the model's`;
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  if (!same(a.normalizer, b.normalizer) || !same(a.preTokenizer, b.preTokenizer)) return 'its normaliser or pre-tokenizer differs from the model\'s';
  return null;
}

/** The old ids each token of `bigger` is made of: itself when old, else its merge's two sides, expanded. */
export function oldPieces(bigger: BpeTokenizer, oldVocab: number): number[][] {
  const { vocab, merges } = bigger.parts;
  const idOf = new Map(vocab.map((token, i) => [token, i] as const));
  const sides = new Map<number, [number, number]>();
  for (const [l, r] of merges) sides.set(idOf.get((vocab[l] ?? '') + (vocab[r] ?? ''))!, [l, r]);
  const pieces: number[][] = [];
  const expand = (id: number): number[] => {
    if (id < oldVocab) return [id];
    if (pieces[id]) return pieces[id]!;
    const pair = sides.get(id);
    if (!pair) throw new UserError(`tokenizer: token ${id} (${JSON.stringify(vocab[id])}) is neither one of the model's nor made by a merge`);
    return (pieces[id] = [...expand(pair[0]), ...expand(pair[1])]);
  };
  return vocab.map((_, id) => expand(id));
}

/** The model's weights and config with its text vocabulary grown to `bigger`'s. */
export function growTextVocab(params: DalleParams, config: DalleConfig, smaller: BpeTokenizer, bigger: BpeTokenizer): { params: DalleParams; config: DalleConfig } {
  const problem = extensionProblem(smaller, bigger);
  if (problem) throw new UserError(`the tokenizer does not extend the model's: ${problem} (train it on the same captions with a larger --vocab-size)`);
  const grown: DalleConfig = { ...config, textVocab: bigger.parts.vocab.length };
  const pieces = oldPieces(bigger, config.textVocab);
  // Row r of the grown text table: an old token's row, a new token's pieces' mean, or a padding row moved up.
  const sources = (r: number): number[] => (r < grown.textVocab ? pieces[r]! : [config.textVocab + r - grown.textVocab]);
  const text = textTableSize(grown);
  const table = (w: T.NDArray, extra: number): T.NDArray => {
    const dim = w.shape[1]!;
    const from = w.data as Float32Array;
    const out = new Float32Array((text + extra) * dim);
    for (let r = 0; r < text; r++) {
      const rows = sources(r);
      for (const s of rows) for (let j = 0; j < dim; j++) out[r * dim + j]! += from[s * dim + j]! / rows.length;
    }
    // The head's image rows follow the text table unchanged.
    out.set(from.subarray(textTableSize(config) * dim), text * dim);
    return new T.NDArray(out, [text + extra, dim]);
  };
  return {
    config: grown,
    params: { ...params, text_emb: { weight: table(params.text_emb.weight, 0) }, head: { weight: table(params.head.weight, config.imageVocab) } },
  };
}
