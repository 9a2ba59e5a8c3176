// Generation speed (issue #7): image tokens per second for 8 candidates of the DALL·E `small` preset
// (d=256, 8 layers, 32 caption + 256 image tokens) with the key-value cache, beside PyTorch sampling a model
// of the same sizes with its own cache (bench/gpt_torch.py); the same with the decode step's weights in int8
// (beside PyTorch's faster of float32 and its own dynamic int8); and the wall time of one `dalle generate`
// of 8 images with the shipped model, start to finish.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import * as T from '../src/tensor/index.ts';
import { DALLE_PRESETS, imageTokens, sequenceLength, textTableSize } from '../src/dalle/config.ts';
import { initDalle } from '../src/dalle/model.ts';
import { DalleSampler } from '../src/dalle/sample.ts';
import { paddedCaption } from '../src/dalle/text.ts';
import { type Figure, fasterPytorchSampling, runPython } from './support.ts';

export async function sampleFigures(): Promise<Figure[]> {
  const c = DALLE_PRESETS.small!;
  const params = initDalle(new T.Rng(0), c);
  const captions = Array.from({ length: 8 }, (_, i) => paddedCaption([i + 1, i + 2, i + 3], c));
  const cells = imageTokens(c);
  const tokensPerSecond = async (weights: T.CompileOptions['weights']): Promise<number> => {
    const sampler = new DalleSampler(c, params, { weights });
    await sampler.sample({ captions, seed: 0, temperature: 1 }); // compiles prefill and decode
    let best = 0;
    for (let run = 0; run < 2; run++) {
      const t0 = performance.now();
      await sampler.sample({ captions, seed: run, temperature: 1, topK: 64 });
      best = Math.max(best, (8 * cells) / ((performance.now() - t0) / 1000));
    }
    return best;
  };
  const [float, int8] = [await tokensPerSecond('float32'), await tokensPerSecond('int8')];
  const torch = runPython('bench/gpt_torch.py', [String(availableParallelism()), JSON.stringify({
    V: textTableSize(c) + c.imageVocab, CTX: sequenceLength(c) + 1, D: c.dim, L: c.layers, H: c.heads, prompt: c.textLength + 1, new: cells - 1, batch: 8, train: false, runs: 2, int8: true,
  })], { sample_tok_s: 'higher', sample_int8_tok_s: 'higher' });
  const torchBest = fasterPytorchSampling(torch);
  const figures: Figure[] = [
    { name: 'dalle small sampling, 8 candidates, kv cache', value: float, unit: 'tok/s', ...(torch && { pytorch: torch.sample_tok_s as number }) },
    { name: 'dalle small sampling, 8 candidates, kv cache, int8 weights', value: int8, unit: 'tok/s', ...(torchBest && { pytorch: torchBest }) },
  ];

  const t0 = performance.now();
  try {
    execFileSync('node', ['bin/dalle.js', 'generate', 'a smiling cat face', '--n', '8', '--seed', '1', '--out', '/tmp/dalle-bench-generate'], { stdio: 'ignore' });
    figures.push({ name: 'dalle generate, 8 images, shipped model, start to finish', value: (performance.now() - t0) / 1000, unit: 's', lowerIsBetter: true });
  } catch {
    console.log('# no shipped model: skipped the `dalle generate` wall time');
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printFigures } = await import('./support.ts');
  printFigures(await sampleFigures());
}
