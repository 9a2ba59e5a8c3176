// The GPT speed race (issue #3): a training step of d=256, 4 layers, 8 heads, vocabulary 1536, 96 tokens,
// batch 32 with AdamW, and sampling 64 tokens after a 32-token prompt at batch 8 with the key-value cache;
// beside PyTorch (bench/gpt_torch.py) run in the same session where python3-torch is installed; and the
// sampling again with the decode step's weights in int8 (`compile(…, { weights: 'int8' })`).
import { availableParallelism } from 'node:os';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { type GptConfig, type GptParams, gptDecode, gptForward, gptLoss, initGpt } from '../src/nn/gpt.ts';
import { KVCache } from '../src/nn/kvcache.ts';
import { sampleLogits } from '../src/dalle/filter.ts';
import { Trainer } from '../src/optim/trainer.ts';
import { type Figure, fasterPytorchSampling, matmulRateFigure, median, runPython, trainStepMatmulFlops } from './support.ts';

const config: GptConfig = { vocab: 1536, context: 96, dim: 256, layers: 4, heads: 8 };

const trainBatch = 32;

async function trainTokensPerSecond(): Promise<{ tokS: number; flops: number }> {
  const rng = new T.Rng(0);
  const batch = trainBatch;
  const loss = (p: GptParams<Tensor>, ids: Tensor) => gptLoss(p, ids, config);
  const trainer = new Trainer<Tensor>(loss, initGpt(rng, config), {
    adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 },
  });
  const ids = T.NDArray.int64(Array.from({ length: batch * (config.context + 1) }, () => rng.int(config.vocab)), [batch, config.context + 1]);
  for (let i = 0; i < 3; i++) await trainer.trainStep(ids as never, 3e-4);
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await trainer.trainStep(ids as never, 3e-4);
    times.push(performance.now() - t0);
  }
  return { tokS: (batch * config.context) / (median(times) / 1000), flops: trainStepMatmulFlops(loss, trainer.params, ids) };
}

export async function sampleTokensPerSecond(weights: T.CompileOptions['weights'] = 'float32'): Promise<number> {
  const rng = new T.Rng(1);
  const params = initGpt(rng, config);
  const [batch, promptLen, newTokens] = [8, 32, 64];
  const heads = config.heads;
  const headDim = config.dim / heads;
  const prefill = T.compile((p: GptParams<Tensor>, ids: Tensor) => {
    const out = gptForward(p, ids, config);
    const last = T.reshape(T.sliceAxis(out.logits, 1, promptLen - 1, promptLen), [batch, config.vocab]);
    return { logits: last, kv: out.kv };
  });
  // The decode step has the weights baked in as constants, as the DALL·E sampler's does (packed once per
  // session, not on every step).
  const p = T.constants<GptParams<Tensor>>(params);
  const decode = T.compile((token: Tensor, position: Tensor, caches: { k: Tensor; v: Tensor }[], keyMask: Tensor) =>
    gptDecode(p, token, position, caches, keyMask, config), { weights });

  // Draws with the sampler `dalle generate` uses (no filtering: PyTorch's side draws with multinomial).
  const sampleFrom = (logits: T.NDArray): T.NDArray => {
    const v = config.vocab;
    const data = logits.data as Float32Array;
    const drawn = Array.from({ length: batch }, (_, b) => sampleLogits(data.subarray(b * v, (b + 1) * v), { temperature: 1 }, rng));
    return T.NDArray.int64(drawn, [batch, 1]);
  };

  const run = async (): Promise<number> => {
    const t0 = performance.now();
    const cache = new KVCache(config.layers, batch, heads, config.context, headDim);
    const ids = T.NDArray.int64(Array.from({ length: batch * promptLen }, () => rng.int(config.vocab)), [batch, promptLen]);
    const first = await prefill(params, ids);
    cache.write(0, first.kv);
    let token = sampleFrom(first.logits);
    const keyMask = new Uint8Array(config.context).fill(1, 0, promptLen);
    for (let i = 0; i < newTokens; i++) {
      const position = promptLen + i;
      const out = await decode(token, T.NDArray.int64([position], []), cache.layers, new T.NDArray(keyMask, [1, 1, 1, config.context], 'bool'));
      cache.write(position, out.kv);
      keyMask[position] = 1;
      token = sampleFrom(out.logits);
    }
    return (batch * newTokens) / ((performance.now() - t0) / 1000);
  };
  await run(); // compiles both sessions
  return Math.max(await run(), await run(), await run());
}

export async function gptFigures(): Promise<Figure[]> {
  const train = await trainTokensPerSecond();
  const sample = await sampleTokensPerSecond();
  const sampleInt8 = await sampleTokensPerSecond('int8');
  const torch = runPython('bench/gpt_torch.py', [String(availableParallelism()), '{"int8": true}'], { train_tok_s: 'higher', sample_tok_s: 'higher', sample_int8_tok_s: 'higher' });
  const torchBest = fasterPytorchSampling(torch);
  return [
    { name: 'gpt train step (d=256, 4 layers, 96 tokens, batch 32)', value: train.tokS, unit: 'tok/s', ...(torch && { pytorch: torch.train_tok_s as number }) },
    matmulRateFigure('gpt train step', train.flops, trainBatch * config.context, train.tokS, torch?.train_tok_s as number | undefined),
    { name: 'gpt sampling with kv cache (batch 8, 64 new tokens)', value: sample, unit: 'tok/s', ...(torch && { pytorch: torch.sample_tok_s as number }) },
    { name: 'gpt sampling with kv cache, int8 weights (batch 8, 64 new tokens)', value: sampleInt8, unit: 'tok/s', ...(torchBest && { pytorch: torchBest }) },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printFigures } = await import('./support.ts');
  printFigures(await gptFigures());
}
