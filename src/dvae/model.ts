// The discrete VAE of DALL·E (Ramesh et al. 2021, appendix A), with OpenAI's layout and parameter names
// (dall_e/encoder.py, decoder.py): an encoder from pixels to K logits per grid cell and a decoder from a
// (soft) one-hot grid to the 6 channels of a logit-Laplace likelihood (μ and ln b per colour).
//
//   encoder: input k×k conv → groups of bottleneck blocks (relu-3×3(w/4)-relu-3×3-relu-3×3-relu-1×1, scaled
//            by 1/(blocks)², 1×1 skip where widths change), 2× max-pool after all groups but the last,
//            → relu → 1×1 conv to K logits
//   decoder: 1×1 conv K → n_init → groups in reverse (relu-1×1-relu-3×3-relu-3×3-relu-3×3 blocks), 2×
//            nearest upsampling after all groups but the last → relu → 1×1 conv to 2·channels
import * as T from '../tensor/index.ts';
import type { NDArray, Rng, Tensor } from '../tensor/index.ts';
import type { Conv2dParams } from '../nn/init.ts';
import { initConv2d } from '../nn/init.ts';
import { type DvaeConfig } from './config.ts';

/** OpenAI names a conv's parameters `w` and `b`. */
export interface Conv<W = NDArray> {
  w: W;
  b: W;
}

export interface Block<W = NDArray> {
  id_path?: Conv<W>;
  res_path: Record<string, Conv<W>>; // conv_1 … conv_4
}

export interface Coder<W = NDArray> {
  blocks: { input: Conv<W>; output: { conv: Conv<W> } } & Record<string, Block<W> | Record<string, Block<W>> | Conv<W> | { conv: Conv<W> }>;
}

export interface DvaeParams<W = NDArray> {
  encoder: Coder<W>;
  decoder: Coder<W>;
}

const groupName = (g: number) => `group_${g + 1}`;
const blockName = (i: number) => `block_${i + 1}`;

/** Group g (0-based) of the encoder is 2^g·hidden wide; the decoder runs the widths in reverse. */
export const encoderWidths = (c: DvaeConfig): number[] => Array.from({ length: c.groups }, (_, g) => 2 ** g * c.hidden);

function conv(rng: Rng, cin: number, cout: number, k: number): Conv {
  const p = initConv2d(rng, cin, cout, k, { scheme: 'paper' }) as Required<Conv2dParams>;
  return { w: p.weight, b: p.bias };
}

/** The decoder's input conv is the codebook: a one-hot code selects one of its K columns, so its fan-in is
 *  one, not K, and its weights are drawn N(0, 1) like an embedding table (DALLE-pytorch's codebook) rather
 *  than OpenAI's N(0, 1/K). With the 1/√K scale every code starts as a near-zero vector, the decoder barely
 *  sees which code it was given, and short runs collapse onto a few codes: on a test set of squares in 8
 *  colours, 400 updates (MSE likelihood, β = 1) decoded every square as white with the 1/√K scale and
 *  told most colours apart with this one. Same draws, scaled. */
function codebook(rng: Rng, vocab: number, width: number): Conv {
  const { w, b } = conv(rng, vocab, width, 1);
  const data = w.data as Float32Array;
  for (let i = 0; i < data.length; i++) data[i]! *= Math.sqrt(vocab);
  return { w, b };
}

function initBlock(rng: Rng, cin: number, cout: number, kernels: readonly number[]): Block {
  const hid = cout / 4;
  const widths = [cin, hid, hid, hid, cout];
  const res_path: Record<string, Conv> = {};
  kernels.forEach((k, i) => (res_path[`conv_${i + 1}`] = conv(rng, widths[i]!, widths[i + 1]!, k)));
  return { ...(cin !== cout && { id_path: conv(rng, cin, cout, 1) }), res_path };
}

const ENCODER_KERNELS = [3, 3, 3, 1];
const DECODER_KERNELS = [1, 3, 3, 3];

export function initDvae(rng: Rng, c: DvaeConfig): DvaeParams {
  const widths = encoderWidths(c);
  const encoder: Record<string, unknown> = { input: conv(rng, c.channels, widths[0]!, c.inputKernel) };
  widths.forEach((w, g) => {
    const group: Record<string, Block> = {};
    for (let i = 0; i < c.blocksPerGroup; i++) group[blockName(i)] = initBlock(rng, i === 0 ? widths[Math.max(g - 1, 0)]! : w, w, ENCODER_KERNELS);
    encoder[groupName(g)] = group;
  });
  encoder.output = { conv: conv(rng, widths.at(-1)!, c.vocab, 1) };

  const reversed = [...widths].reverse();
  const decoder: Record<string, unknown> = { input: codebook(rng, c.vocab, c.decoderInit) };
  reversed.forEach((w, g) => {
    const group: Record<string, Block> = {};
    for (let i = 0; i < c.blocksPerGroup; i++) group[blockName(i)] = initBlock(rng, i === 0 ? (g === 0 ? c.decoderInit : reversed[g - 1]!) : w, w, DECODER_KERNELS);
    decoder[groupName(g)] = group;
  });
  decoder.output = { conv: conv(rng, widths[0]!, 2 * c.channels, 1) };
  return { encoder: { blocks: encoder }, decoder: { blocks: decoder } } as DvaeParams;
}

/** A 'same'-padded conv, as OpenAI's Conv2d (odd kernels only). */
function applyConv(p: Conv<Tensor>, x: Tensor): Tensor {
  const k = p.w.shape[2]!;
  return T.conv2d(x, p.w, p.b, { padding: (k - 1) / 2 });
}

function applyBlock(p: Block<Tensor>, x: Tensor, postGain: number): Tensor {
  let h = x;
  for (const name of ['conv_1', 'conv_2', 'conv_3', 'conv_4']) h = applyConv(p.res_path[name]!, T.relu(h));
  const id = p.id_path ? applyConv(p.id_path, x) : x;
  return T.add(id, T.mul(h, postGain));
}

function applyGroups(p: Record<string, any>, x: Tensor, c: DvaeConfig, between: (x: Tensor) => Tensor): Tensor {
  const postGain = 1 / (c.groups * c.blocksPerGroup) ** 2;
  for (let g = 0; g < c.groups; g++) {
    for (let i = 0; i < c.blocksPerGroup; i++) x = applyBlock(p[groupName(g)][blockName(i)], x, postGain);
    if (g < c.groups - 1) x = between(x);
  }
  return x;
}

/** Pixels mapped to (ε, 1−ε), [B, C, H, W] → logits [B, K, grid, grid]. */
export function encode(p: Coder<Tensor>, x: Tensor, c: DvaeConfig): Tensor {
  const h = applyGroups(p.blocks, applyConv(p.blocks.input, x), c, (t) => T.maxPool2d(t, { kernel: 2 }));
  return applyConv(p.blocks.output.conv, T.relu(h));
}

/** A (soft) one-hot code grid [B, K, grid, grid] → [B, 2·C, H, W]: μ in the first C channels, ln b after. */
export function decode(p: Coder<Tensor>, z: Tensor, c: DvaeConfig): Tensor {
  const h = applyGroups(p.blocks, applyConv(p.blocks.input, z), c, (t) => T.upsampleNearest2d(t, 2));
  return applyConv(p.blocks.output.conv, T.relu(h));
}

/** The paper's pixel mapping into (ε, 1−ε), so that logit(x) stays finite (ε = 0.1). */
export const LOGIT_LAPLACE_EPS = 0.1;
export const mapPixels = (x: Tensor): Tensor => T.add(T.mul(x, 1 - 2 * LOGIT_LAPLACE_EPS), LOGIT_LAPLACE_EPS);

/** Decoder output → reconstructed pixels in [0, 1]: sigmoid(μ) mapped back and clamped. */
export function reconstruct(out: Tensor, c: DvaeConfig): Tensor {
  const mu = T.sliceAxis(out, 1, 0, c.channels);
  const x = T.div(T.sub(T.sigmoid(mu), LOGIT_LAPLACE_EPS), 1 - 2 * LOGIT_LAPLACE_EPS);
  return T.minimum(T.maximum(x, 0), 1);
}

/** One-hot [B, K, g, g] grid of int64 codes [B, g, g]. */
export function codesToOneHot(codes: Tensor, c: DvaeConfig): Tensor {
  return T.transpose(T.oneHot(codes, c.vocab), [0, 3, 1, 2]);
}
