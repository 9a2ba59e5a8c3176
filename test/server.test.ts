// `dalle serve` over the shipped model, through Fastify's request injection: the page and the model's
// description, generation that a seed reproduces, the model's sampling settings as defaults, reranking, a 400 naming the
// field for each kind of bad request, and a bounded queue.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_MODEL } from '../src/cli/dalle.ts';
import { loadDalle } from '../src/dalle/load.ts';
import { SerialQueue, buildServer } from '../src/server/app.ts';

describe('HTTP server', () => {
  let app: FastifyInstance;
  let sampling: Record<string, number>;
  before(async () => {
    const model = await loadDalle(DEFAULT_MODEL);
    sampling = { ...model.sampling };
    // 16 candidates: two images at the shipped model's rerank (8), as the generation test below asks.
    app = buildServer(model, { maxImages: 4, maxCandidates: 16 });
  });
  after(() => app.close());

  const post = (body: unknown) => app.inject({ method: 'POST', url: '/api/generate', payload: body as object });

  it('serves the page and describes the model', async () => {
    const page = await app.inject({ url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /<form id="form">/);
    const info = (await app.inject({ url: '/api/model' })).json();
    assert.equal(info.imageSize, 32);
    assert.equal(info.maxImages, 4);
    assert.equal(info.maxCandidates, 16);
    assert.deepEqual(info.sampling, sampling);
    assert.equal(info.decodeWeights, 'float32');
  });

  it('generates PNGs that a seed reproduces, with the model\'s sampling settings unless the request gives its own', async () => {
    const first = await post({ prompt: 'a red apple', n: 2, seed: 5 });
    assert.equal(first.statusCode, 200, first.body);
    const a = first.json();
    assert.equal(a.seed, 5);
    assert.deepEqual(a.sampling, sampling);
    assert.equal(a.images.length, 2);
    for (const img of a.images) {
      const meta = await sharp(Buffer.from(img.png, 'base64')).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 32, 32]);
    }
    const b = (await post({ prompt: 'a red apple', n: 2, seed: 5 })).json();
    assert.deepEqual(b.images, a.images);
    const other = (await post({ prompt: 'a red apple', n: 2, seed: 5, temperature: 0.25, topK: 0 })).json();
    assert.deepEqual(other.sampling, { ...sampling, temperature: 0.25, topK: 0 });
    assert.notDeepEqual(other.images, a.images);
    const drawn = (await post({ prompt: 'a red apple', n: 1 })).json();
    assert.ok(Number.isInteger(drawn.seed) && drawn.seed >= 0, `seed ${drawn.seed}`);
  });

  it('reranks when asked: n × rerank candidates drawn, the best n returned with their scores, best first', async () => {
    const info = (await app.inject({ url: '/api/model' })).json();
    assert.equal(info.reranker, true);
    const res = await post({ prompt: 'a blue heart', n: 2, seed: 5, rerank: 3 });
    assert.equal(res.statusCode, 200, res.body);
    const r = res.json();
    assert.equal(r.sampling.rerank, 3);
    assert.equal(r.images.length, 2);
    assert.ok(r.images.every((img: { index: number }) => img.index >= 0 && img.index < 6));
    assert.ok(r.images[0].score >= r.images[1].score, `scores ${r.images.map((i: { score: number }) => i.score)}`);
  });

  it('answers a bad request with 400 and the field at fault', async () => {
    const cases: [unknown, RegExp][] = [
      [{ prompt: '   ' }, /prompt: say what the image should show/],
      [{ prompt: 'a cat', n: 5 }, /^n: .*<=4/],
      [{ prompt: 'a cat', temperature: -1 }, /^temperature: /],
      [{ prompt: 'a cat', topP: 2 }, /^topP: /],
      [{ prompt: 'a cat', size: 64 }, /Unrecognized key: "size"/],
      [{ prompt: 'a cat', n: 4, rerank: 5 }, /n × rerank = 4 × 5 = 20 candidates, more than this server draws for one request \(16\)/],
      [{ prompt: 'a cat', rerank: 0 }, /^rerank: /],
      [{ n: 2 }, /^prompt: /],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.match(res.json().error, message, JSON.stringify(body));
    }
    const malformed = await app.inject({ method: 'POST', url: '/api/generate', headers: { 'content-type': 'application/json' }, payload: '{"prompt": ' });
    assert.equal(malformed.statusCode, 400);
    assert.match(malformed.json().error, /JSON/);
  });
});

it('the queue runs one task at a time, in order, and refuses one beyond its waiting limit', async () => {
  const queue = new SerialQueue(1);
  const events: string[] = [];
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  const a = queue.run(async () => { events.push('a start'); await blocked; events.push('a end'); return 'a'; });
  const b = queue.run(async () => { events.push('b start'); return 'b'; });
  assert.equal(queue.run(async () => 'c'), null, 'a third task while one runs and one waits');
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(events, ['a start']);
  release();
  assert.deepEqual([await a, await b], ['a', 'b']);
  assert.deepEqual(events, ['a start', 'a end', 'b start']);
  const failing = queue.run(async () => { throw new Error('boom'); });
  await assert.rejects(failing!, /boom/);
  assert.equal(await queue.run(async () => 'after a failure'), 'after a failure');
});
