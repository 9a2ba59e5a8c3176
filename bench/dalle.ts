// DALL·E transformer training speed (issue #6): tokens/s of one training step of the `small` preset
// (d=256, 8 layers, 8 heads, 32 caption + 256 image tokens = 288 per example) at batch 32 (`dalle train`'s
// default --batch), beside PyTorch running the same model, loss and optimizer (bench/dalle_torch.py) in the
// same session. The step is the one `dalle train` runs (src/dalle/train.ts's dalleTrainer: dalleLoss with
// AdamW β 0.9/0.96, weight decay 4.5e-2, clipping at norm 4 and the host-side EMA), settings taken from
// DalleTrainSchema's defaults; random captions (random length, then per-position padding) and image codes;
// tokens/s = batch × 288 / median step time of 8 steps after 3 warm-up steps (the first compiles).
// Before its figure it checks that PyTorch built the same model: parameter count, every parameter's name and
// shape, which parameters decay, and a checksum of every layer's attention mask. Both sides compute row and
// column layers grouped (src/dalle/masks.ts); a second PyTorch run computes them densely, for reference.
//   npm run bench dalle                      (or node --import tsx bench/dalle.ts)
//   node --import tsx bench/dalle.ts --quick (a shrunken preset, batch 4, 3 steps: checks the pair runs, in seconds)
import { availableParallelism } from 'node:os';
import * as T from '../src/tensor/index.ts';
import { type DalleConfig, DALLE_PRESETS, DalleConfigSchema, imageTokens, layerMasks, sequenceLength } from '../src/dalle/config.ts';
import { maskMatrix } from '../src/dalle/masks.ts';
import { type DalleBatch, dalleLoss, initDalle } from '../src/dalle/model.ts';
import { paddedCaption } from '../src/dalle/text.ts';
import { DalleTrainSchema, dalleTrainer } from '../src/dalle/train.ts';
import { namedParams } from '../src/nn/params.ts';
import { defaultDecays } from '../src/optim/adamw.ts';
import { type Figure, matmulRateFigure, median, runPython, trainStepMatmulFlops } from './support.ts';

/** For --quick: the small preset's structure (paper mask schedule with row, column and conv layers) at toy sizes. */
const QUICK: DalleConfig = DalleConfigSchema.parse({ textLength: 8, textVocab: 256, imageVocab: 64, grid: 8, dim: 64, layers: 6, heads: 4, convKernel: 5 });

export async function dalleFigures(opts: { quick?: boolean } = { quick: process.argv.includes('--quick') }): Promise<Figure[]> {
  const c = opts.quick ? QUICK : DALLE_PRESETS.small!;
  const train = DalleTrainSchema.parse({ steps: 1, batchSize: opts.quick ? 4 : 32 });
  const [warmup, steps] = opts.quick ? [1, 3] : [3, 8];
  const rng = new T.Rng(0);

  const params = initDalle(new T.Rng(train.seed + 1), c);
  const trainer = dalleTrainer(c, train, params);

  const b = train.batchSize;
  const captions = Array.from({ length: b }, () => paddedCaption(Array.from({ length: 1 + rng.int(c.textLength) }, () => rng.int(c.textVocab)), c));
  const batch = {
    text: T.NDArray.int64(captions.flat(), [b, c.textLength]),
    image: T.NDArray.int64(Array.from({ length: b * imageTokens(c) }, () => rng.int(c.imageVocab)), [b, imageTokens(c)]),
  } as unknown as DalleBatch;

  let loss0 = NaN;
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const r = await trainer.trainStep(batch, train.lr);
    if (i >= warmup) times.push(performance.now() - t0);
    if (i === 0) loss0 = r.loss;
  }
  const tokS = (b * sequenceLength(c)) / (median(times) / 1000);

  const masks = layerMasks(c);
  // PyTorch computes row and column layers as dalle-ts does (grouped: src/dalle/masks.ts), and once more
  // densely over all 288 × 288 scores, as a plain masked_fill transformer would.
  const pytorch = (attention: 'grouped' | 'dense') => runPython('bench/dalle_torch.py', [String(availableParallelism()), JSON.stringify({
    ...c, vae: undefined, masks, batch: b, warmup, steps, lr: train.lr, beta1: 0.9, beta2: 0.96, eps: 1e-8,
    weightDecay: train.weightDecay, clipNorm: train.clipNorm, emaDecay: train.emaDecay, attention,
  })], { tok_s: 'higher' });
  const torch = pytorch('grouped');
  if (torch) checkSameModel(c, params, torch);
  const dense = torch && !opts.quick ? pytorch('dense') : null;

  const what = opts.quick ? 'dalle quick check (toy sizes, not a figure to record)' : 'dalle small preset training step (288 tokens, batch 32)';
  console.log(`# ${what}: first-step loss dalle-ts ${loss0.toFixed(4)}${torch ? `, pytorch ${(torch.loss0 as number).toFixed(4)}` : ''}${dense ? `, pytorch dense ${(dense.loss0 as number).toFixed(4)}` : ''}; masks ${masks.join(' ')}`);
  return [
    { name: what, value: tokS, unit: 'tok/s', ...(torch && { pytorch: torch.tok_s as number }) },
    ...(dense ? [{ name: `${what}, against PyTorch with dense attention`, value: tokS, unit: 'tok/s', pytorch: dense.tok_s as number }] : []),
    matmulRateFigure(opts.quick ? 'dalle quick check' : 'dalle small preset training step', trainStepMatmulFlops((p, x: DalleBatch) => dalleLoss(p, x, c).loss, params, batch), b * sequenceLength(c), tokS, torch?.tok_s as number | undefined),
  ];
}

/** Throws unless PyTorch's model has the same parameters (names, shapes, weight decay) and the same masks. */
function checkSameModel(c: DalleConfig, params: ReturnType<typeof initDalle>, torch: Record<string, unknown>): void {
  const ours = new Map([...namedParams(params)].map(([k, v]) => [k, JSON.stringify([v.shape, defaultDecays(k, v.shape)])]));
  const count = [...namedParams(params)].reduce((n, [, v]) => n + v.shape.reduce((a, d) => a * d, 1), 0);
  console.log(`# dalle: parameters dalle-ts ${count.toLocaleString('en')}, pytorch ${(torch.params as number).toLocaleString('en')}`);
  if (count !== torch.params) throw new Error(`dalle bench: ${count} parameters here, ${String(torch.params)} in PyTorch`);
  const theirs = new Map(Object.entries(torch.names as Record<string, unknown>).map(([k, v]) => [k, JSON.stringify(v)]));
  for (const k of new Set([...ours.keys(), ...theirs.keys()])) {
    if (ours.get(k) !== theirs.get(k)) throw new Error(`dalle bench: parameter ${k} is ${ours.get(k) ?? 'absent'} here ([shape, decays]), ${theirs.get(k) ?? 'absent'} in PyTorch`);
  }
  // Per layer: how many (query, key) pairs may attend, and the sum of their flat indices query·n + key.
  const allowed = layerMasks(c).map((kind) => maskMatrix(kind, sequenceLength(c), c).reduce(([n, s], x, i) => (x ? [n + 1, s + i] : [n, s]), [0, 0]));
  if (JSON.stringify(allowed) !== JSON.stringify(torch.mask_allowed)) {
    throw new Error(`dalle bench: masks' [allowed pairs, index sum] per layer ${JSON.stringify(allowed)} here, ${JSON.stringify(torch.mask_allowed)} in PyTorch`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printFigures } = await import('./support.ts');
  printFigures(await dalleFigures());
}
