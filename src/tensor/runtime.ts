// Execution backends for lowered graphs: ONNX Runtime (onnxruntime-node, CPU) and the reference interpreter.
import { availableParallelism } from 'node:os';
import { type DType } from './dtype.ts';
import { NDArray } from './ndarray.ts';
import { graphNameFor, outputNameFor } from './names.ts';

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort | null> | null = null;

/** onnxruntime-node, or null (with one warning) where its native binary cannot load. */
export function loadOrt(): Promise<Ort | null> {
  ortModule ??= import('onnxruntime-node').catch((err: unknown) => {
    process.emitWarning(`onnxruntime-node could not load (${(err as Error).message}); using the reference interpreter`);
    return null;
  });
  return ortModule;
}

export interface Executable {
  run(inputs: readonly NDArray[]): Promise<NDArray[]>;
}

export interface OrtOptions {
  threads?: number;
}

/** DALLE_THREADS=n caps ONNX Runtime's threads per session (two jobs sharing a machine, or an embedder's budget). */
function threadsFromEnv(): number | undefined {
  const raw = process.env.DALLE_THREADS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`DALLE_THREADS must be a whole number ≥ 1, got "${raw}"`);
  return n;
}

export async function createOrtExecutable(ort: Ort, model: Uint8Array, outputs: readonly { dtype: DType; shape: readonly number[] }[], options: OrtOptions = {}): Promise<Executable> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.threads ?? threadsFromEnv() ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // DALLE_ORT_PROFILE=prefix writes ONNX Runtime's per-node timing JSON (prefix_<date>.json) per session.
    ...(process.env.DALLE_ORT_PROFILE && { enableProfiling: true, profileFilePrefix: process.env.DALLE_ORT_PROFILE }),
  });
  if (process.env.DALLE_ORT_PROFILE) process.once('beforeExit', () => session.endProfiling());
  return {
    async run(inputs) {
      const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
      inputs.forEach((a, i) => {
        feeds[graphNameFor(i)] = new ort.Tensor(a.dtype, a.data, a.shape);
      });
      const results = await session.run(feeds);
      return outputs.map((o, i) => {
        const r = results[outputNameFor(i)]!;
        return new NDArray(r.data as Float32Array | BigInt64Array | Uint8Array, o.shape, o.dtype);
      });
    },
  };
}
