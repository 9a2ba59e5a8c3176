// The dVAE's initial weights: OpenAI's N(0, 1/fan_in) for every conv but the decoder's input conv, the
// codebook, whose columns (one per code, selected by a one-hot) are drawn N(0, 1) like an embedding table.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../src/tensor/index.ts';
import { initDvae } from '../src/dvae/model.ts';
import { DVAE_PRESETS } from '../src/dvae/config.ts';

const std = (a: T.NDArray): number => {
  const d = a.data as Float32Array;
  let s = 0;
  for (const v of d) s += v * v;
  return Math.sqrt(s / d.length);
};

it('initDvae draws the codebook N(0, 1) and the other convs N(0, 1/fan_in)', () => {
  const c = DVAE_PRESETS.small!;
  const p = initDvae(new T.Rng(3), c) as any;
  const codebook = p.decoder.blocks.input.w as T.NDArray;
  assert.deepEqual(codebook.shape, [c.decoderInit, c.vocab, 1, 1]);
  assert.ok(Math.abs(std(codebook) - 1) < 0.05, `codebook std ${std(codebook)}`);
  for (const w of [p.encoder.blocks.input.w, p.encoder.blocks.output.conv.w, p.decoder.blocks.output.conv.w] as T.NDArray[]) {
    const [, cin, kh, kw] = w.shape as number[];
    const want = 1 / Math.sqrt(cin! * kh! * kw!);
    assert.ok(Math.abs(std(w) / want - 1) < 0.1, `${w.shape}: std ${std(w)}, want ${want}`);
  }
});
