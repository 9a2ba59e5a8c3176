// Contrastive reranker training speed: the shipped reranker's shape (`small` preset at 32 px, 24 caption
// tokens, vocabulary 2,048) at batch 128, one compiled AdamW step per batch, beside PyTorch running the same
// model and loss (bench/clip_torch.py).
import { availableParallelism } from 'node:os';
import * as T from '../src/tensor/index.ts';
import { CLIP_PRESETS, type ClipConfig, ClipConfigSchema } from '../src/clip/config.ts';
import { type ClipBatch, clipLoss, initClip, negativesFor } from '../src/clip/model.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { type Figure, medianStepMs, runPython } from './support.ts';

export async function clipFigures(): Promise<Figure[]> {
  const c = ClipConfigSchema.parse({ ...CLIP_PRESETS.small, textVocab: 2048, imageSize: 32 });
  return [await clipFigure('clip small training step (32 px, batch 128)', c, 128)];
}

async function clipFigure(name: string, c: ClipConfig, batch: number): Promise<Figure> {
  const rng = new T.Rng(0);
  const trainer = new Trainer<ClipBatch>((p, b) => clipLoss(p, b, c).loss, initClip(rng, c), {
    adamw: { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.1 },
    clipNorm: 1,
  });
  // Captions of 3 to 10 tokens, then padding (ids ≥ textVocab), as encodeCaption writes them.
  const input = () => ({
    text: T.NDArray.int64(Array.from({ length: batch * c.textLength }, (_, i) => (i % c.textLength < 3 + ((i / c.textLength) | 0) % 8 ? rng.int(c.textVocab) : c.textVocab + (i % c.textLength))), [batch, c.textLength]),
    images: rng.uniform([batch, 3, c.imageSize, c.imageSize]),
    negatives: negativesFor(Array.from({ length: batch }, (_, i) => String(i))),
  });
  const ms = await medianStepMs(input, (b) => trainer.trainStep(b as never, 1e-4));
  const torch = runPython('bench/clip_torch.py', [String(availableParallelism()), JSON.stringify(c), String(batch)], { img_s: 'higher' });
  return { name, value: batch / (ms / 1000), unit: 'img/s', ...(torch && { pytorch: torch.img_s as number }) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printFigures } = await import('./support.ts');
  printFigures(await clipFigures());
}
