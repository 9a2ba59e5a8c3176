// The HTTP API and the browser page (`dalle serve`): one loaded model, generation requests validated by zod
// and run one at a time (ONNX Runtime runs one session call at a time per process anyway), a bounded queue
// that answers 503 when full rather than letting waits grow without end, and every user mistake answered
// with a 400 that names the field.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { UserError, formatIssues } from '../errors.ts';
import { generate, generateSettings } from '../dalle/generate.ts';
import { type DalleModel, SamplingDefaultsSchema, samplingFrom } from '../dalle/load.ts';
import { encodePng } from '../io/images.ts';
import { DEFAULT_MAX_CANDIDATES, DEFAULT_MAX_IMAGES } from './limits.ts';

export interface ServerOptions {
  /** Most images one request may ask for. */
  maxImages?: number;
  /** Most candidates one request may draw (images × rerank). */
  maxCandidates?: number;
  /** Requests that may wait behind the running one before new ones get 503. */
  maxQueue?: number;
  /** Fastify's request log (off in tests). */
  logger?: boolean;
}

const PAGE = join(dirname(fileURLToPath(import.meta.url)), '../../web/index.html');

/** Images a request gets when it names no count (the page's default too). */
export const defaultImages = (maxImages: number): number => Math.min(4, maxImages);

/** A generation request: the prompt, how many images, a seed (drawn when absent, and returned), and any of
 *  the sampling settings, which default to the model's (sampling.json). */
export function generateRequestSchema(maxImages: number) {
  return SamplingDefaultsSchema.partial().extend({
    prompt: z.string().trim().min(1, 'say what the image should show').max(1000),
    n: z.number().int().min(1).max(maxImages).default(defaultImages(maxImages)),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  }).strict();
}

/** A request's candidates are sampled together, up to 32 at once (the sampler's sessions are compiled per
 *  batch size, so `serve` warms up the one a default request runs). */
export const requestBatch = (n: number, rerank: number): number => Math.min(32, n * rerank);

/** Runs tasks one after another; refuses one (returns null) when `maxWaiting` are already queued behind
 *  the running task. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0; // accepted and not yet settled: the running task and those waiting

  constructor(private readonly maxWaiting: number) {}

  run<R>(task: () => Promise<R>): Promise<R> | null {
    if (this.pending > this.maxWaiting) return null;
    this.pending++;
    const result = this.tail.then(task).finally(() => this.pending--);
    this.tail = result.catch(() => {});
    return result;
  }
}

export function buildServer(model: DalleModel, options: ServerOptions = {}): FastifyInstance {
  const maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
  const maxCandidates = Math.max(maxImages, options.maxCandidates ?? DEFAULT_MAX_CANDIDATES);
  const queue = new SerialQueue(options.maxQueue ?? 8);
  const requestSchema = generateRequestSchema(maxImages);
  const page = readFileSync(PAGE, 'utf8');
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 64 * 1024 });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof UserError) return reply.code(400).send({ error: err.message });
    // Fastify's own refusals (malformed JSON, a body too large, a wrong content type) carry a 4xx status.
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ error: (err as Error).message });
    request.log.error(err);
    return reply.code(500).send({ error: 'internal error: the server log has the details' });
  });

  app.get('/', (_, reply) => reply.type('text/html; charset=utf-8').send(page));

  app.get('/api/model', () => ({
    name: basename(model.dir),
    imageSize: model.dvae.config.imageSize,
    grid: model.config.grid,
    textLength: model.config.textLength,
    layers: model.config.layers,
    dim: model.config.dim,
    sampling: model.sampling,
    reranker: model.reranker !== null,
    decodeWeights: model.decodeWeights ?? 'float32',
    maxImages,
    maxCandidates,
  }));

  app.post('/api/generate', async (request, reply) => {
    const parsed = requestSchema.safeParse(request.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: formatIssues(parsed.error) });
    const r = parsed.data;
    const sampling = samplingFrom(r, model.sampling);
    if (r.n * sampling.rerank > maxCandidates) {
      return reply.code(400).send({ error: `n × rerank = ${r.n} × ${sampling.rerank} = ${r.n * sampling.rerank} candidates, more than this server draws for one request (${maxCandidates}); ask for fewer images or a smaller rerank` });
    }
    const seed = r.seed ?? Math.floor(Math.random() * 2 ** 31);
    const settings = generateSettings(sampling, { n: r.n, seed, batchSize: requestBatch(r.n, sampling.rerank) });
    let truncated: { tokens: number; kept: number } | undefined;
    const start = performance.now();
    const job = queue.run(() => generate(model, [r.prompt], settings, { onTruncated: (_, tokens, kept) => (truncated = { tokens, kept }) }));
    if (!job) return reply.code(503).header('retry-after', '5').send({ error: 'busy: too many requests are waiting; try again shortly' });
    const images = await job;
    return {
      prompt: r.prompt,
      seed,
      sampling,
      seconds: (performance.now() - start) / 1000,
      ...(truncated && { truncated }),
      images: await Promise.all(images.map(async (img) => ({ index: img.index, ...(img.score !== undefined && { score: img.score }), png: (await encodePng(img.image)).toString('base64') }))),
    };
  });

  return app;
}
