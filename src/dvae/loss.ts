// The dVAE's training objective (Ramesh et al. 2021, appendix A): the evidence lower bound with the
// Gumbel-softmax relaxation of the code posterior, a logit-Laplace reconstruction likelihood on pixels mapped
// to (ε, 1−ε), and the KL to a uniform prior over the K codes weighted by β. The loss is normalised per
// pixel value (the sums over pixels and over latents both divided by B·C·H·W). And the decoder's refit on
// hard codes, which keeps the encoder (and so every code) as it is.
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import type { DvaeConfig } from './config.ts';
import { type DvaeParams, codesToOneHot, decode, encode, mapPixels, reconstruct } from './model.ts';

export interface DvaeBatch {
  images: Tensor; // [B, C, H, W] in [0, 1]
  gumbel: Tensor; // [B, K, g, g] standard Gumbel noise from the host PRNG
  tau: Tensor; // scalar temperature
  beta: Tensor; // scalar KL weight
}

export interface DvaeLossOptions {
  /** Hard one-hot samples in the forward pass with the soft sample's gradient. */
  straightThrough?: boolean;
  /** Weight of the codebook diversity term (`diversityGap`); 0 or absent: none. */
  diversity?: number;
}

/** Negative log-likelihood of mapped pixels x' under the logit-Laplace distribution with location μ and
 *  scale b = exp(ln b), per element: ln(2b) + ln(x'(1−x')) + |logit x' − μ| / b. */
export function logitLaplaceNll(xMapped: Tensor, mu: Tensor, lnB: Tensor): Tensor {
  const logitX = T.sub(T.log(xMapped), T.log(T.sub(1, xMapped)));
  const absErr = T.abs(T.sub(logitX, mu));
  return T.add(T.add(T.add(lnB, Math.LN2), T.log(T.mul(xMapped, T.sub(1, xMapped)))), T.mul(absErr, T.exp(T.neg(lnB))));
}

/** ln K − H(q̄), where q̄ is the code posterior averaged over the batch and the grid: 0 when the batch uses
 *  every code equally, ln K − ln m when it uses only m. The per-cell KL to the uniform prior does not see
 *  this (a cell may be confident as long as cells differ); penalising it keeps codes from dying early in
 *  training, which otherwise leaves the codebook without whole colours. The diversity loss of wav2vec 2.0
 *  (Baevski et al. 2020, section 3.2) is the same idea for its quantiser's codebooks. */
export function diversityGap(logits: Tensor, axis: number): Tensor {
  const k = logits.shape[axis]!;
  const others = logits.shape.map((_, i) => i).filter((i) => i !== axis);
  const mean = T.mean(T.softmax(logits, axis), others); // [K]
  return T.add(T.sum(T.mul(mean, T.log(T.maximum(mean, 1e-30)))), Math.log(k));
}

/** KL(q ‖ uniform) summed over codes, per grid cell: Σ q ln q + ln K. */
export function klToUniform(logits: Tensor, axis: number): Tensor {
  const logQ = T.logSoftmax(logits, axis);
  return T.add(T.sum(T.mul(T.exp(logQ), logQ), axis), Math.log(logits.shape[axis]!));
}

export function dvaeLoss(p: DvaeParams<Tensor>, batch: DvaeBatch, c: DvaeConfig, opts: DvaeLossOptions = {}): [Tensor, Record<string, Tensor>] {
  const x = mapPixels(batch.images);
  const logits = encode(p.encoder, x, c);
  const soft = T.softmax(T.div(T.add(logits, batch.gumbel), batch.tau), 1);
  let z = soft;
  if (opts.straightThrough) {
    const hard = T.cast(T.equal(soft, T.max(soft, 1, true)), 'float32');
    z = T.add(T.stopGradient(T.sub(hard, soft)), soft);
  }
  const out = decode(p.decoder, z, c);
  const rec = reconstructionNll(out, batch.images, c);
  const kl = T.div(T.sum(klToUniform(logits, 1)), batch.images.size);
  let loss = T.add(rec, T.mul(batch.beta, kl));
  const diversity = diversityGap(logits, 1);
  if (opts.diversity) loss = T.add(loss, T.mul(diversity, opts.diversity));
  const usage = codeUsage(logits, c.vocab);
  return [loss, { rec, kl, diversity, softMse: T.mean(T.square(T.sub(reconstruct(out, c), batch.images))), perplexity: usage.perplexity, codesUsed: usage.used }];
}

/** The decoder's loss on the hard codes of a frozen encoder (its argmax, no noise, encoded once before
 *  training: dalle/codes.ts `encodeCache`): what the decoder is given when it draws the transformer's samples. Training on the relaxation leaves the decoder fitted to
 *  soft mixtures of codes, which it never sees afterwards; refitting it to one-hot codes sharpens the
 *  images without changing a single code, so a transformer trained on this encoder's codes stays valid
 *  (as Stability AI fine-tuned only the decoder of Stable Diffusion's autoencoder, sd-vae-ft-mse, so
 *  that models trained on its latents kept working). */
export interface HardCodeBatch {
  images: Tensor; // [B, C, H, W] in [0, 1]
  codes: Tensor; // int64 [B, grid, grid], the encoder's argmax codes of those images
}

export function hardCodeDecoderLoss(p: DvaeParams<Tensor>, batch: HardCodeBatch, c: DvaeConfig): [Tensor, Record<string, Tensor>] {
  const out = decode(p.decoder, codesToOneHot(batch.codes, c), c);
  const rec = reconstructionNll(out, batch.images, c);
  const usage = codeUsageOf(batch.codes, c.vocab);
  return [rec, { rec, perplexity: usage.perplexity, codesUsed: usage.used }];
}

/** The likelihood term per pixel value: squared error of the reconstruction, or the logit-Laplace NLL of the
 *  mapped pixels. */
function reconstructionNll(out: Tensor, images: Tensor, c: DvaeConfig): Tensor {
  let sum: Tensor;
  if (c.likelihood === 'mse') {
    sum = T.sum(T.square(T.sub(reconstruct(out, c), images)));
  } else {
    const mu = T.sliceAxis(out, 1, 0, c.channels);
    const lnB = T.sliceAxis(out, 1, c.channels, 2 * c.channels);
    sum = T.sum(logitLaplaceNll(mapPixels(images), mu, lnB));
  }
  return T.div(sum, images.size);
}

/** Over a batch's argmax codes: the perplexity exp(H) of the code histogram and the number of distinct
 *  codes, which make codebook collapse visible. */
export function codeUsage(logits: Tensor, vocab: number): { perplexity: Tensor; used: Tensor } {
  return codeUsageOf(T.argmax(logits, 1), vocab);
}

function codeUsageOf(codes: Tensor, vocab: number): { perplexity: Tensor; used: Tensor } {
  const counts = T.sum(T.oneHot(T.reshape(codes, [-1]), vocab), 0);
  const probs = T.div(counts, codes.size);
  const plogp = T.where(T.greater(probs, 0), T.mul(probs, T.log(T.maximum(probs, 1e-30))), 0);
  return { perplexity: T.exp(T.neg(T.sum(plogp))), used: T.sum(T.cast(T.greater(counts, 0), 'float32')) };
}
