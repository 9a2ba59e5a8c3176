// The shipped model (models/default): it loads, generates an image quickly from a fixed seed, and the same
// seed gives the same image.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODEL } from '../src/cli/dalle.ts';
import { loadDalle } from '../src/dalle/load.ts';
import { generate } from '../src/dalle/generate.ts';

it('the shipped model generates one image from a fixed seed, the same twice', async () => {
  const t0 = performance.now();
  const model = await loadDalle(DEFAULT_MODEL);
  const settings = { n: 1, seed: 7, temperature: 1, topK: 64, guidance: 1, batchSize: 1 };
  const [a] = await generate(model, ['a smiling cat face'], settings);
  const [b] = await generate(model, ['a smiling cat face'], settings);
  const seconds = (performance.now() - t0) / 1000;
  const size = model.dvae.config.imageSize;
  assert.deepEqual(a!.image.shape, [size, size, 3]);
  assert.ok(Buffer.from(a!.image.data).equals(Buffer.from(b!.image.data)), 'same seed, different image');
  // Not a flat image: a trained model draws something.
  const values = new Set(a!.image.data);
  assert.ok(values.size > 16, `only ${values.size} distinct channel values`);
  assert.ok(seconds < 30, `loading and two generations took ${seconds.toFixed(1)} s`);
});
