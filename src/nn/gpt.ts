// A plain GPT language model (token and position embeddings, pre-norm blocks, final norm, linear head),
// with training loss, prefill and cached one-token decoding. The benchmark against PyTorch runs this, and
// its prefill/decode pair is the pattern the DALL·E sampler follows.
import * as T from '../tensor/index.ts';
import type { NDArray, Rng, Tensor } from '../tensor/index.ts';
import { causalMask } from './attention.ts';
import { type EmbeddingParams, type LayerNormParams, type LinearParams, initLayerNorm } from './init.ts';
import { embedding, layerNorm, linear } from './layers.ts';
import { type BlockParams, type LayerKV, blocks, blocksCached, initBlocks } from './transformer.ts';

export interface GptConfig {
  vocab: number;
  context: number;
  dim: number;
  layers: number;
  heads: number;
}

export interface GptParams<W = NDArray> {
  wte: EmbeddingParams<W>;
  wpe: EmbeddingParams<W>;
  blocks: BlockParams<W>[];
  ln_f: LayerNormParams<W>;
  head: LinearParams<W>;
}

export function initGpt(rng: Rng, c: GptConfig): GptParams {
  return {
    wte: { weight: rng.randn([c.vocab, c.dim], 0.02) },
    wpe: { weight: rng.randn([c.context, c.dim], 0.02) },
    blocks: initBlocks(rng, c.layers, c.dim),
    ln_f: initLayerNorm(c.dim),
    head: { weight: rng.randn([c.vocab, c.dim], 0.02) },
  };
}

const positions = (start: number, n: number): Tensor => T.constant(T.NDArray.int64(Array.from({ length: n }, (_, i) => start + i)));

/** Logits [B, T, vocab] for int64 ids [B, T], and every layer's keys and values. */
export function gptForward(p: GptParams<Tensor>, ids: Tensor, c: GptConfig): { logits: Tensor; kv: LayerKV[] } {
  const t = ids.shape[1]!;
  const x = T.add(embedding(p.wte, ids), embedding(p.wpe, positions(0, t)));
  const mask = causalMask(t);
  const out = blocks(p.blocks, x, c.heads, p.blocks.map(() => mask));
  return { logits: linear(p.head, layerNorm(p.ln_f, out.x)), kv: out.kv };
}

/** Mean next-token cross-entropy of ids [B, T+1]. */
export function gptLoss(p: GptParams<Tensor>, ids: Tensor, c: GptConfig): Tensor {
  const t = ids.shape[1]! - 1;
  const inputs = T.sliceAxis(ids, 1, 0, t);
  const targets = T.sliceAxis(ids, 1, 1, t + 1);
  return T.crossEntropy(gptForward(p, inputs, c).logits, targets);
}

/** One token per sequence at `position` (int64 scalar) against caches of L positions; `keyMask` (bool
 *  [1, 1, 1, L]) marks the positions already written. Returns logits [B, vocab] and the new keys/values. */
export function gptDecode(
  p: GptParams<Tensor>, token: Tensor, position: Tensor, caches: readonly LayerKV[], keyMask: Tensor, c: GptConfig,
): { logits: Tensor; kv: LayerKV[] } {
  const x = T.add(embedding(p.wte, T.reshape(token, [token.shape[0]!])), embedding(p.wpe, T.reshape(position, [1])));
  const out = blocksCached(p.blocks, x, c.heads, caches, p.blocks.map(() => keyMask));
  return { logits: linear(p.head, layerNorm(p.ln_f, out.x)), kv: out.kv };
}
