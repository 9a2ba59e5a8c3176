// The dVAE against a PyTorch re-implementation of OpenAI's architecture (tools/golden_dvae.py): weights with
// OpenAI's names load through the same path as converted OpenAI checkpoints, and logits, codes, decoder
// output and reconstructions match within 1e-4.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, tensorToFloat32 } from '../src/io/safetensors.ts';
import { saveCheckpoint } from '../src/io/checkpoint.ts';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { type DvaeConfig, DvaeConfigSchema } from '../src/dvae/config.ts';
import { type DvaeParams, encode, decode, mapPixels, codesToOneHot } from '../src/dvae/model.ts';
import { loadDvae } from '../src/dvae/load.ts';
import { relativeError } from './support/opcheck.ts';

const fixture = await readSafetensors(new URL('./fixtures/golden_dvae.safetensors', import.meta.url).pathname);
const f32 = (name: string) => {
  const t = fixture.tensors.get(name)!;
  return new T.NDArray(tensorToFloat32(t, name), t.shape);
};
const config: DvaeConfig = DvaeConfigSchema.parse({ imageSize: 16, groups: 4, blocksPerGroup: 2, hidden: 8, decoderInit: 8, vocab: 32, inputKernel: 7 });

function close(got: T.NDArray, want: T.NDArray, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const err = relativeError(got.data as Float32Array, want.data as Float32Array);
  assert.ok(err <= 1e-4, `${what}: relative error ${err.toExponential(2)} > 1e-4`);
}

describe('dVAE matches the PyTorch re-implementation of OpenAI\'s architecture', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalle-dvae-golden-'));
  const weights = new Map([...fixture.tensors].filter(([k]) => k.startsWith('encoder.') || k.startsWith('decoder.'))
    .map(([k, t]) => [k, { shape: t.shape, data: tensorToFloat32(t, k) }]));
  await saveCheckpoint(join(dir, 'vae'), { config, weights });
  const dvae = await loadDvae(join(dir, 'vae'));

  it('encoder logits and argmax codes', async () => {
    const logits = await T.compile((p: DvaeParams<Tensor>, x: Tensor) => encode(p.encoder, mapPixels(x), config))(dvae.params, f32('x'));
    close(logits, f32('logits'), 'logits');
    const codes = await dvae.encode(f32('x'));
    assert.deepEqual(codes.toNumbers(), fixture.tensors.get('codes')!.data instanceof BigInt64Array ? Array.from(fixture.tensors.get('codes')!.data as BigInt64Array, Number) : [], 'codes');
  });

  it('decoder output and reconstruction from the codes', async () => {
    const codes = T.NDArray.int64(Array.from(fixture.tensors.get('codes')!.data as BigInt64Array, Number), fixture.tensors.get('codes')!.shape);
    const out = await T.compile((p: DvaeParams<Tensor>, c: Tensor) => decode(p.decoder, codesToOneHot(c, config), config))(dvae.params, codes);
    close(out, f32('decoder_out'), 'decoder output');
    close(await dvae.decode(codes), f32('recon'), 'reconstruction');
  });

  it('refuses a checkpoint whose weights do not fit the config, naming the tensor', async () => {
    const bad = { ...config, hidden: 12 };
    await saveCheckpoint(join(dir, 'bad'), { config: bad, weights });
    await assert.rejects(loadDvae(join(dir, 'bad')), /encoder\.blocks\.input\.w/);
    await rm(dir, { recursive: true, force: true });
  });
});
