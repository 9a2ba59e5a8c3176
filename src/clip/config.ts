// The contrastive reranker's configuration (CLIP, Radford et al. 2021, scaled down): a text encoder over the
// same BPE captions as the transformer, an image encoder over the dVAE's image size, both projected into one
// embedding space. Small presets train on a CPU in minutes.
import { z } from 'zod';

export const ClipConfigFields = z.object({
  kind: z.literal('clip').default('clip'),
  /** Caption tokens read (longer captions are cut), and the BPE vocabulary size. */
  textLength: z.number().int().positive(),
  textVocab: z.number().int().positive(),
  textDim: z.number().int().positive(),
  textLayers: z.number().int().positive(),
  textHeads: z.number().int().positive(),
  /** Square RGB input; other sizes are resized to it. */
  imageSize: z.number().int().positive(),
  /** Widths of the image encoder's stages: a 3×3 stem at full resolution for the first, then each further
   *  stage halves the resolution (a strided 3×3 conv) and adds a 3×3 conv. */
  imageChannels: z.array(z.number().int().positive()).min(1),
  /** The shared embedding space. */
  embedDim: z.number().int().positive(),
  /** Initial softmax temperature of the similarities (CLIP: 0.07), learned from there; the learned scale
   *  1/temperature is capped at `maxLogitScale` (CLIP: 100). */
  initTemperature: z.number().positive().default(0.07),
  maxLogitScale: z.number().positive().default(100),
});

export const ClipConfigSchema = ClipConfigFields.superRefine((c, ctx) => {
  if (c.textDim % c.textHeads) ctx.addIssue({ code: 'custom', path: ['textHeads'], message: `textDim ${c.textDim} does not divide into ${c.textHeads} heads` });
  const downsample = 2 ** (c.imageChannels.length - 1);
  if (c.imageSize % downsample) ctx.addIssue({ code: 'custom', path: ['imageChannels'], message: `${c.imageChannels.length} stages halve the image ${c.imageChannels.length - 1} times, which ${c.imageSize} px does not allow` });
});

export type ClipConfig = z.infer<typeof ClipConfigSchema>;

/** A config that may leave out the sizes a run fills in from its tokenizer and data (textVocab, imageSize). */
export type ClipPreset = Omit<z.input<typeof ClipConfigFields>, 'textVocab' | 'imageSize'> & Partial<Pick<ClipConfig, 'textVocab' | 'imageSize'>>;

export const CLIP_PRESETS: Record<string, ClipPreset> = {
  /** The shipped reranker's shape: a 3-layer text encoder of width 128 and a 4-stage conv net for 32 px. */
  small: { textLength: 24, textDim: 128, textLayers: 3, textHeads: 4, imageChannels: [32, 64, 128, 256], embedDim: 128 },
  /** For tests. */
  tiny: { textLength: 8, textVocab: 64, imageSize: 16, textDim: 32, textLayers: 1, textHeads: 2, imageChannels: [8, 16], embedDim: 16 },
};
