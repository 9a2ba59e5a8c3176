// The contrastive reranker (CLIP, Radford et al. 2021), small enough to train on a CPU in minutes, in one file:
//   - text: the caption's BPE ids (as the transformer reads them, padding marked by ids ≥ textVocab) through
//     token and position embeddings and pre-norm transformer blocks that attend over the caption's real
//     tokens only, then the mean over those tokens (CLIP reads the end-of-text token instead; our captions
//     have none, and the mean is as good for phrases this short), layer norm, linear projection;
//   - image: a conv net (a 3×3 stem, then stages that halve the resolution with a strided 3×3 conv and add a
//     residual 3×3 conv, GELU after each), the mean over positions, layer norm, linear projection;
//   - both embeddings normalised to unit length; their cosine similarities times a learned scale
//     exp(logit_scale), capped, are the logits of a symmetric cross-entropy over the batch: each image must
//     pick its caption among the batch's captions and each caption its image.
// A batch may hold several images of one subject (an emoji in four styles) whose captions fit each other;
// `negatives` takes those pairs out of each other's softmax instead of teaching the model they differ.
import * as T from '../tensor/index.ts';
import type { NDArray, Rng, Tensor } from '../tensor/index.ts';
import { type Conv2dParams, type EmbeddingParams, type LayerNormParams, type LinearParams, initConv2d, initLayerNorm, initLinear } from '../nn/init.ts';
import { conv2d, embedding, layerNorm, linear } from '../nn/layers.ts';
import { type BlockParams, blocks, initBlocks } from '../nn/transformer.ts';
import { MASKED } from '../nn/attention.ts';
import type { ClipConfig } from './config.ts';

export interface ImageStage<W = NDArray> {
  down?: Conv2dParams<W>; // stride 2, absent in the first (stem) stage
  conv: Conv2dParams<W>;
}

export interface ClipParams<W = NDArray> {
  text: {
    token_emb: EmbeddingParams<W>; // [textVocab, textDim]
    pos_emb: EmbeddingParams<W>; // [textLength, textDim]
    blocks: BlockParams<W>[];
    ln_f: LayerNormParams<W>;
    proj: LinearParams<W>; // [embedDim, textDim], no bias
  };
  image: {
    stages: ImageStage<W>[];
    ln_f: LayerNormParams<W>;
    proj: LinearParams<W>; // [embedDim, last width], no bias
  };
  logit_scale: W; // scalar: log(1 / temperature)
}

export function initClip(rng: Rng, c: ClipConfig): ClipParams {
  const widths = c.imageChannels;
  return {
    text: {
      token_emb: { weight: rng.randn([c.textVocab, c.textDim], 0.02) },
      pos_emb: { weight: rng.randn([c.textLength, c.textDim], 0.01) },
      blocks: initBlocks(rng, c.textLayers, c.textDim),
      ln_f: initLayerNorm(c.textDim),
      proj: initLinear(rng, c.textDim, c.embedDim, { bias: false }),
    },
    image: {
      stages: widths.map((w, i) => ({
        ...(i > 0 && { down: initConv2d(rng, widths[i - 1]!, w, 3) }),
        conv: initConv2d(rng, i === 0 ? 3 : w, w, 3),
      })),
      ln_f: initLayerNorm(widths[widths.length - 1]!),
      proj: initLinear(rng, widths[widths.length - 1]!, c.embedDim, { bias: false }),
    },
    logit_scale: T.NDArray.scalar(Math.log(1 / c.initTemperature)),
  };
}

const unitLength = (x: Tensor): Tensor => T.div(x, T.sqrt(T.add(T.sum(T.mul(x, x), -1, true), 1e-12)));

/** Caption ids int64 [B, textLength] (padding: ids ≥ textVocab) → unit embeddings [B, embedDim]. */
export function encodeText(p: ClipParams<Tensor>['text'], ids: Tensor, c: ClipConfig): Tensor {
  const [b, t] = ids.shape as [number, number];
  const real = T.less(ids, c.textVocab); // [B, T]
  const x = T.add(embedding(p.token_emb, T.where(real, ids, 0)), embedding(p.pos_emb, T.arange(t)));
  const keyMask = T.reshape(real, [b, 1, 1, t]);
  const h = layerNorm(p.ln_f, blocks(p.blocks, x, c.textHeads, p.blocks.map(() => keyMask)).x);
  const weight = T.unsqueeze(T.cast(real, 'float32'), 2); // [B, T, 1]
  const pooled = T.div(T.sum(T.mul(h, weight), 1), T.maximum(T.sum(weight, 1), 1));
  return unitLength(linear(p.proj, pooled));
}

/** Images NCHW float32 in [0, 1] at the config's size → unit embeddings [B, embedDim]. */
export function encodeImage(p: ClipParams<Tensor>['image'], images: Tensor): Tensor {
  let x = T.sub(T.mul(images, 2), 1);
  for (const stage of p.stages) {
    if (stage.down) x = T.gelu(conv2d(stage.down, x, { stride: 2, padding: 1 }));
    const y = T.gelu(conv2d(stage.conv, x, { padding: 1 }));
    x = stage.down ? T.add(x, y) : y;
  }
  return unitLength(linear(p.proj, layerNorm(p.ln_f, T.mean(x, [2, 3]))));
}

/** The learned similarity scale, capped at maxLogitScale. */
export const logitScale = (p: ClipParams<Tensor>, c: ClipConfig): Tensor => T.exp(T.minimum(p.logit_scale, Math.log(c.maxLogitScale)));

export interface ClipBatch {
  text: Tensor; // int64 [B, textLength]
  images: Tensor; // float32 [B, 3, size, size] in [0, 1]
  /** float32 [B, B]: 0 where image i and caption j are compared, MASKED where they are left out (another
   *  image of the same subject); the diagonal is always 0. */
  negatives: Tensor;
}

export interface ClipLosses {
  loss: Tensor;
  /** Share of images whose own caption scores highest among the batch's (a scalar in [0, 1]). */
  accuracy: Tensor;
}

export function clipLoss(p: ClipParams<Tensor>, batch: ClipBatch, c: ClipConfig): ClipLosses {
  const b = batch.text.shape[0]!;
  const image = encodeImage(p.image, batch.images);
  const text = encodeText(p.text, batch.text, c);
  const logits = T.add(T.mul(T.matmul(image, T.transpose(text)), logitScale(p, c)), batch.negatives); // [images, captions]
  const own = T.arange(b);
  const loss = T.mul(T.add(T.crossEntropy(logits, own), T.crossEntropy(T.transpose(logits), own)), 0.5);
  const accuracy = T.mean(T.cast(T.equal(T.argmax(logits, 1), own), 'float32'));
  return { loss, accuracy };
}

/** The `negatives` input for a batch whose items belong to `groups` (images of one subject share a group). */
export function negativesFor(groups: readonly string[]): NDArray {
  const b = groups.length;
  const out = new Float32Array(b * b);
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) if (i !== j && groups[i] === groups[j]) out[i * b + j] = MASKED;
  return new T.NDArray(out, [b, b]);
}
