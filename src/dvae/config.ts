// dVAE configuration: every size of OpenAI's architecture is a field, so the paper's model (preset
// `openai`) and small CPU models come from one definition. Validated with zod on load.
import { z } from 'zod';

export const DvaeConfigSchema = z.object({
  kind: z.literal('dvae').default('dvae'),
  imageSize: z.number().int().positive(),
  channels: z.number().int().positive().default(3),
  /** Groups of residual blocks; a 2× max-pool follows each but the last, so grid = imageSize / 2^(groups−1). */
  groups: z.number().int().min(1).max(6),
  blocksPerGroup: z.number().int().min(1),
  /** n_hid: group g (1-based) is 2^(g−1)·hidden channels wide. */
  hidden: z.number().int().min(4).refine((n) => n % 4 === 0, 'hidden must be a multiple of 4'),
  /** n_init: channels of the decoder's first 1×1 conv out of the codebook space. */
  decoderInit: z.number().int().positive(),
  /** K, the codebook size. */
  vocab: z.number().int().min(2),
  inputKernel: z.number().int().positive().refine((k) => k % 2 === 1, 'inputKernel must be odd').default(7),
  /** Reconstruction likelihood: the paper's logit-Laplace, or plain MSE. */
  likelihood: z.enum(['logit-laplace', 'mse']).default('logit-laplace'),
}).superRefine((c, ctx) => {
  const down = 2 ** (c.groups - 1);
  if (c.imageSize % down !== 0) ctx.addIssue({ code: 'custom', path: ['imageSize'], message: `imageSize ${c.imageSize} is not divisible by 2^(groups−1) = ${down}` });
});

export type DvaeConfig = z.infer<typeof DvaeConfigSchema>;

export const gridSize = (c: DvaeConfig): number => c.imageSize / 2 ** (c.groups - 1);

export const DVAE_PRESETS: Record<string, DvaeConfig> = {
  /** OpenAI's released dVAE: 256 px → 32×32 codes of 8192, n_hid 256, 2 blocks per group, 4 groups. */
  openai: { kind: 'dvae', imageSize: 256, channels: 3, groups: 4, blocksPerGroup: 2, hidden: 256, decoderInit: 128, vocab: 8192, inputKernel: 7, likelihood: 'logit-laplace' },
  /** 64 px → 16×16 codes of 512: a CPU model for emoji-sized images. */
  small: { kind: 'dvae', imageSize: 64, channels: 3, groups: 3, blocksPerGroup: 1, hidden: 64, decoderInit: 64, vocab: 512, inputKernel: 7, likelihood: 'logit-laplace' },
  /** 64 px → 8×8 codes of 1024: shorter sequences for the transformer. */
  small8: { kind: 'dvae', imageSize: 64, channels: 3, groups: 4, blocksPerGroup: 1, hidden: 32, decoderInit: 64, vocab: 1024, inputKernel: 7, likelihood: 'logit-laplace' },
  /** For tests: 16 px → 4×4 codes of 32. */
  tiny: { kind: 'dvae', imageSize: 16, channels: 3, groups: 3, blocksPerGroup: 1, hidden: 8, decoderInit: 8, vocab: 32, inputKernel: 3, likelihood: 'logit-laplace' },
};
