// `dalle serve`: the HTTP API and browser page (src/server/app.ts) over one model.
import type { Command } from 'commander';
import { UserError } from '../errors.ts';
import { generate, generateSettings } from '../dalle/generate.ts';
import { INT8_OPTION, RERANKER_OPTION, loadModelOption } from './dalle.ts';
import { intOption, seconds } from './options.ts';
import { DEFAULT_MAX_CANDIDATES, DEFAULT_MAX_IMAGES } from '../server/limits.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve generation over HTTP: a browser page at / and a JSON API (POST /api/generate)')
    .option('--model <dir>', 'model folder (default: the shipped models/default)')
    .option(...RERANKER_OPTION)
    .option(...INT8_OPTION)
    .option('--port <n>', 'port to listen on', intOption('--port', 0, 65535), 8080)
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--max-images <n>', 'most images one request may ask for', intOption('--max-images', 1, 256), DEFAULT_MAX_IMAGES)
    .option('--max-candidates <n>', 'most candidates one request may draw (images × rerank)', intOption('--max-candidates', 1, 4096), DEFAULT_MAX_CANDIDATES)
    .action(async (o) => {
      const start = performance.now();
      // Fastify loads only for this command: importing it costs every other command ≈ 0.14 s of start-up.
      const { buildServer, defaultImages, requestBatch } = await import('../server/app.ts');
      const model = await loadModelOption(o.model, o.reranker, o.int8);
      // Compile the sampler's sessions now, for the batch a request without a count runs (sessions are per
      // shape), so that the first visitor does not wait for them.
      const n = defaultImages(o.maxImages);
      await generate(model, ['warm-up'], generateSettings(model.sampling, { n, seed: 0, batchSize: requestBatch(n, model.sampling.rerank) }));
      const app = buildServer(model, { maxImages: o.maxImages, maxCandidates: o.maxCandidates });
      try {
        await app.listen({ port: o.port, host: o.host });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'EADDRINUSE') throw new UserError(`${o.host}:${o.port} is already in use; pass another --port`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`--host ${o.host}: not an address of this machine`);
        throw err;
      }
      const { port } = app.server.address() as { port: number };
      console.log(`serving ${model.dir} at http://${o.host}:${port}/ (ready in ${seconds(start)}; Ctrl-C stops)`);
      const stop = () => void app.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
