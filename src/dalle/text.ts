// Captions as the transformer's text input: lowercased BPE ids truncated to the caption length, every
// remaining position holding its own padding token (id textVocab + position), as in the paper.
import type { BpeTokenizer } from '../tokenizer/index.ts';
import { UserError } from '../errors.ts';
import type { DalleConfig } from './config.ts';

/** What encoding needs of a model's config (the transformer's, or the contrastive reranker's, which reads
 *  captions the same way). */
export type CaptionShape = Pick<DalleConfig, 'textLength' | 'textVocab'>;

export interface EncodedCaption {
  ids: number[]; // length textLength
  /** Caption tokens before truncation, so callers can say that a prompt was cut. */
  tokens: number;
}

export function encodeCaption(tokenizer: BpeTokenizer, caption: string, c: CaptionShape, options: { dropout?: number; random?: () => number } = {}): EncodedCaption {
  const all = tokenizer.encode(caption, options.dropout ? { dropout: options.dropout, random: options.random! } : {});
  const ids = all.slice(0, c.textLength);
  for (const id of ids) if (id >= c.textVocab) throw new UserError(`token id ${id} is outside the model's text vocabulary of ${c.textVocab}; is this the tokenizer the model was trained with?`);
  return { ids: paddedCaption(ids, c), tokens: all.length };
}

/** Per-position padding after the caption's ids. */
export function paddedCaption(ids: readonly number[], c: CaptionShape): number[] {
  return Array.from({ length: c.textLength }, (_, i) => (i < ids.length ? ids[i]! : c.textVocab + i));
}

/** The empty caption: padding everywhere (the unconditional input of classifier-free guidance). */
export const emptyCaption = (c: CaptionShape): number[] => paddedCaption([], c);
