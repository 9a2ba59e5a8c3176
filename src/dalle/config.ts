// The DALL·E transformer's configuration. The paper's model is the `paper` preset (its parameter count is
// computed from the config without allocating); small presets train on a CPU.
import { z } from 'zod';
import { DvaeConfigSchema } from '../dvae/config.ts';

export const MaskKind = z.enum(['full', 'row', 'column', 'conv']);
export type MaskKind = z.infer<typeof MaskKind>;

/** The fields without cross-field checks (for partial configs, e.g. a JSON file without the sizes that the
 *  tokenizer and dVAE fill in). */
export const DalleConfigFields = z.object({
  kind: z.literal('dalle').default('dalle'),
  /** Caption tokens (the paper: 256), each padded position with its own learned padding token. */
  textLength: z.number().int().positive(),
  /** BPE vocabulary size (the paper: 16,384). */
  textVocab: z.number().int().positive(),
  /** dVAE codebook size K and grid side (the paper: 8192, 32). */
  imageVocab: z.number().int().positive(),
  grid: z.number().int().positive(),
  dim: z.number().int().positive(),
  layers: z.number().int().positive(),
  heads: z.number().int().positive(),
  mlpRatio: z.number().int().positive().default(4),
  /** Image-to-image attention per layer: a list (one per layer), or 'paper' for the paper's schedule. */
  masks: z.union([z.literal('paper'), z.array(MaskKind)]).default('paper'),
  convKernel: z.number().int().positive().refine((k) => k % 2 === 1, 'convKernel must be odd').default(11),
  textLossWeight: z.number().nonnegative().default(1 / 8),
  imageLossWeight: z.number().nonnegative().default(7 / 8),
  /** Probability of replacing a caption by padding in training (for classifier-free guidance). */
  captionDropout: z.number().min(0).max(1).default(0.1),
  /** Residual dropout in training. */
  dropout: z.number().min(0).max(1).default(0),
  /** The dVAE whose codes the model reads and writes; its weights sit under `vae.` in model.safetensors. */
  vae: DvaeConfigSchema.optional(),
});

export const DalleConfigSchema = DalleConfigFields.superRefine((c, ctx) => {
  if (c.dim % c.heads) ctx.addIssue({ code: 'custom', path: ['heads'], message: `dim ${c.dim} does not divide into ${c.heads} heads` });
  if (Array.isArray(c.masks) && c.masks.length !== c.layers) ctx.addIssue({ code: 'custom', path: ['masks'], message: `${c.masks.length} masks for ${c.layers} layers` });
});

export type DalleConfig = z.infer<typeof DalleConfigSchema>;

export const imageTokens = (c: DalleConfig): number => c.grid * c.grid;
/** Input length: the caption, the start-of-image token, and all image tokens but the last. */
export const sequenceLength = (c: DalleConfig): number => c.textLength + imageTokens(c);
/** Text embedding rows: the BPE vocabulary, then one padding token per caption position. */
export const textTableSize = (c: DalleConfig): number => c.textVocab + c.textLength;

/** The mask of each layer: the paper's schedule uses column attention when (i − 2) mod 4 = 0, row
 *  attention otherwise, and the convolutional mask in the last layer. */
export function layerMasks(c: DalleConfig): MaskKind[] {
  if (c.masks !== 'paper') return c.masks;
  return Array.from({ length: c.layers }, (_, i) => (i === c.layers - 1 ? 'conv' : (i - 2) % 4 === 0 ? 'column' : 'row'));
}

/** Parameters implied by a config, counted without allocating anything. */
export function parameterCount(c: DalleConfig): number {
  const d = c.dim;
  const h = c.mlpRatio * d;
  const block = 2 * (2 * d) + (3 * d * d + 3 * d) + (d * d + d) + (h * d + h) + (d * h + d);
  const embeddings = textTableSize(c) * d + c.textLength * d + (c.imageVocab + 1) * d + 2 * c.grid * d;
  return embeddings + c.layers * block + 2 * d + (textTableSize(c) + c.imageVocab) * d;
}

export const DALLE_PRESETS: Record<string, DalleConfig> = {
  /** The paper's 12-billion-parameter model: 64 layers, 62 heads of 64, 256 text tokens, 32×32 codes of 8192. */
  paper: DalleConfigSchema.parse({ textLength: 256, textVocab: 16384, imageVocab: 8192, grid: 32, dim: 62 * 64, layers: 64, heads: 62 }),
  /** A CPU model for 64 px images on a 16×16 grid. */
  small: DalleConfigSchema.parse({ textLength: 32, textVocab: 4096, imageVocab: 512, grid: 16, dim: 256, layers: 8, heads: 8 }),
  /** A CPU model on an 8×8 grid (the shipped model's shape). */
  small8: DalleConfigSchema.parse({ textLength: 32, textVocab: 4096, imageVocab: 1024, grid: 8, dim: 256, layers: 8, heads: 8, convKernel: 5 }),
  /** For tests. */
  tiny: DalleConfigSchema.parse({ textLength: 8, textVocab: 64, imageVocab: 32, grid: 4, dim: 32, layers: 2, heads: 2, masks: ['row', 'conv'], convKernel: 3 }),
};
