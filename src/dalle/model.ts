// The DALL·E transformer (Ramesh et al. 2021, section 2.2 and appendix B), in the spirit of nanoGPT: the
// whole model in one file. A decoder-only transformer over [caption | start-of-image | image codes]:
//   - caption tokens get a text embedding (padded positions use their position's own padding token) plus a
//     text position embedding; image tokens get an image embedding plus row and column embeddings of the
//     cell they predict;
//   - each layer attends under its own mask (masks.ts), one softmax across text and image keys;
//   - logits are restricted to the text vocabulary at caption positions and to the codebook at image
//     positions (the head's rows are sliced), and the loss weights text and image cross-entropy 1/8 : 7/8.
import * as T from '../tensor/index.ts';
import type { NDArray, Rng, Tensor } from '../tensor/index.ts';
import { type EmbeddingParams, type LayerNormParams, type LinearParams, initLayerNorm } from '../nn/init.ts';
import { embedding, layerNorm } from '../nn/layers.ts';
import { type BlockParams, type BlockDropout, type LayerKV, blocks, blocksCached, initBlocks } from '../nn/transformer.ts';
import { type DalleConfig, imageTokens, layerMasks, sequenceLength, textTableSize } from './config.ts';
import { layerAttention } from './masks.ts';

export interface DalleParams<W = NDArray> {
  text_emb: EmbeddingParams<W>; // [textVocab + textLength, dim]: BPE tokens, then per-position padding tokens
  text_pos_emb: EmbeddingParams<W>; // [textLength, dim]
  image_emb: EmbeddingParams<W>; // [imageVocab + 1, dim]: codes, then the start-of-image token
  image_row_emb: EmbeddingParams<W>; // [grid, dim]
  image_col_emb: EmbeddingParams<W>; // [grid, dim]
  blocks: BlockParams<W>[];
  ln_f: LayerNormParams<W>;
  head: LinearParams<W>; // [textVocab + textLength + imageVocab, dim], no bias
}

export function initDalle(rng: Rng, c: DalleConfig): DalleParams {
  const emb = (n: number) => ({ weight: rng.randn([n, c.dim], 0.02) });
  return {
    text_emb: emb(textTableSize(c)),
    text_pos_emb: emb(c.textLength),
    image_emb: emb(c.imageVocab + 1),
    image_row_emb: emb(c.grid),
    image_col_emb: emb(c.grid),
    blocks: initBlocks(rng, c.layers, c.dim, c.mlpRatio),
    ln_f: initLayerNorm(c.dim),
    head: { weight: rng.randn([textTableSize(c) + c.imageVocab, c.dim], 0.02) },
  };
}

/** Embeddings of image input tokens at cells `cells` (int64, any shape, the cell each position predicts). */
function imageInput(p: DalleParams<Tensor>, tokens: Tensor, cells: Tensor, c: DalleConfig): Tensor {
  const rows = T.div(cells, c.grid);
  const cols = T.sub(cells, T.mul(rows, c.grid));
  return T.add(embedding(p.image_emb, tokens), T.add(embedding(p.image_row_emb, rows), embedding(p.image_col_emb, cols)));
}

export interface DalleInputs {
  text: Tensor; // int64 [B, textLength], padding already replaced by per-position padding ids
  image: Tensor; // int64 [B, n]: start-of-image then image codes (n ≤ grid², the input's image part)
}

/** Hidden states [B, textLength + n, dim] and every layer's keys and values. */
export function dalleHidden(p: DalleParams<Tensor>, x: DalleInputs, c: DalleConfig, drop?: BlockDropout[]): { h: Tensor; kv: LayerKV[] } {
  const t = c.textLength;
  const n = x.image.shape[1]!;
  const text = T.add(embedding(p.text_emb, x.text), embedding(p.text_pos_emb, T.arange(t)));
  const image = imageInput(p, x.image, T.arange(n), c);
  const length = t + n;
  const out = blocks(p.blocks, T.concat([text, image], 1), c.heads, layerMasks(c).map((kind) => layerAttention(kind, length, c)), drop);
  return { h: layerNorm(p.ln_f, out.x), kv: out.kv };
}

/** Text logits (over the text table) and image logits (over the codebook) for hidden states. */
export function textLogits(p: DalleParams<Tensor>, h: Tensor, c: DalleConfig): Tensor {
  return T.matmul(h, T.transpose(T.sliceAxis(p.head.weight, 0, 0, textTableSize(c))));
}

export function imageLogits(p: DalleParams<Tensor>, h: Tensor, c: DalleConfig): Tensor {
  return T.matmul(h, T.transpose(T.sliceAxis(p.head.weight, 0, textTableSize(c), textTableSize(c) + c.imageVocab)));
}

export interface DalleBatch {
  text: Tensor; // int64 [B, textLength]
  image: Tensor; // int64 [B, grid²] image codes: the targets, and the input unless `input` is given
  input?: Tensor; // int64 [B, grid²] the codes the model reads (training's code noise); the targets stay `image`
  drop?: { masks: { attn: Tensor; mlp: Tensor }[] };
}

/** Start-of-image followed by all codes but the last: the image part of the input. */
export function imageInputTokens(codes: Tensor, c: DalleConfig): Tensor {
  const b = codes.shape[0]!;
  const soi = T.expand(T.constant(T.NDArray.int64([c.imageVocab], [1, 1])), [b, 1]);
  return T.concat([soi, T.sliceAxis(codes, 1, 0, imageTokens(c) - 1)], 1);
}

export interface DalleLosses {
  loss: Tensor;
  text: Tensor; // mean cross-entropy of caption tokens 1 … T−1
  image: Tensor; // mean cross-entropy of image tokens (nats)
}

export function dalleLoss(p: DalleParams<Tensor>, batch: DalleBatch, c: DalleConfig): DalleLosses {
  const t = c.textLength;
  const drop = batch.drop?.masks.map((m) => ({ ...m, p: c.dropout }));
  const { h } = dalleHidden(p, { text: batch.text, image: imageInputTokens(batch.input ?? batch.image, c) }, c, drop);
  const text = T.crossEntropy(textLogits(p, T.sliceAxis(h, 1, 0, t - 1), c), T.sliceAxis(batch.text, 1, 1, t));
  const image = T.crossEntropy(imageLogits(p, T.sliceAxis(h, 1, t, sequenceLength(c)), c), batch.image);
  return { loss: T.add(T.mul(text, c.textLossWeight), T.mul(image, c.imageLossWeight)), text, image };
}

/** Prefill for sampling: the caption, start-of-image and `prompt` known image codes [B, r] (image-prompt
 *  completion; r may be 0). Returns the logits for the next cell and every layer's keys and values. */
export function dallePrefill(p: DalleParams<Tensor>, text: Tensor, prompt: Tensor | null, c: DalleConfig): { logits: Tensor; kv: LayerKV[] } {
  const b = text.shape[0]!;
  const soi = T.expand(T.constant(T.NDArray.int64([c.imageVocab], [1, 1])), [b, 1]);
  const image = prompt ? T.concat([soi, prompt], 1) : soi;
  const { h, kv } = dalleHidden(p, { text, image }, c);
  const last = T.sliceAxis(h, 1, h.shape[1]! - 1, h.shape[1]!);
  return { logits: T.reshape(imageLogits(p, last, c), [b, c.imageVocab]), kv };
}

/** One decoding step: the code `token` [B, 1] of cell `cell − 1` enters at input position T + cell and
 *  the logits for `cell` come out; `keyMasks[i]` (bool [1, 1, 1, L]) is layer i's row of its mask. */
export function dalleDecodeStep(
  p: DalleParams<Tensor>, token: Tensor, cell: Tensor, caches: readonly LayerKV[], keyMasks: readonly Tensor[], c: DalleConfig,
): { logits: Tensor; kv: LayerKV[] } {
  const x = imageInput(p, T.reshape(token, [token.shape[0]!]), T.reshape(cell, [1]), c);
  const out = blocksCached(p.blocks, x, c.heads, caches, keyMasks);
  return { logits: imageLogits(p, layerNorm(p.ln_f, out.x), c), kv: out.kv };
}
