// dVAE training speed (issue #4): the `small` preset (64 px → 16×16 of 512) and the shipped model's 32 px
// config (scripts/default-model/dvae.json, 8×8 of 512) at batch 32, one compiled AdamW step per batch,
// beside PyTorch running the same architecture and loss (bench/dvae_torch.py).
import { availableParallelism } from 'node:os';
import * as T from '../src/tensor/index.ts';
import { readFileSync } from 'node:fs';
import { DVAE_PRESETS, type DvaeConfig, DvaeConfigSchema, gridSize } from '../src/dvae/config.ts';
import { initDvae } from '../src/dvae/model.ts';
import { type DvaeBatch, dvaeLoss } from '../src/dvae/loss.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { type Figure, medianStepMs, runPython } from './support.ts';

export async function dvaeFigures(): Promise<Figure[]> {
  const shipped = DvaeConfigSchema.parse(JSON.parse(readFileSync(new URL('../scripts/default-model/dvae.json', import.meta.url), 'utf8')));
  return [
    await dvaeFigure('dvae small preset training step (64 px, batch 32)', DVAE_PRESETS.small!),
    await dvaeFigure('dvae shipped-model config training step (32 px, batch 32)', shipped),
  ];
}

async function dvaeFigure(name: string, c: DvaeConfig): Promise<Figure> {
  const rng = new T.Rng(0);
  const batch = 32;
  const g = gridSize(c);
  const trainer = new Trainer<DvaeBatch>((p, b) => dvaeLoss(p, b, c), initDvae(rng, c), {
    adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 },
  });
  const input = () => ({ images: rng.uniform([batch, 3, c.imageSize, c.imageSize]), gumbel: rng.gumbel([batch, c.vocab, g, g]), tau: T.NDArray.scalar(1), beta: T.NDArray.scalar(1) });
  const ms = await medianStepMs(input, (b) => trainer.trainStep(b as never, 1e-4));
  const torch = runPython('bench/dvae_torch.py', [String(availableParallelism()), JSON.stringify(c)], { img_s: 'higher' });
  return { name, value: batch / (ms / 1000), unit: 'img/s', ...(torch && { pytorch: torch.img_s as number }) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printFigures } = await import('./support.ts');
  printFigures(await dvaeFigures());
}
