// Shared by the benchmark scripts: figures printed as `name: value unit` and, where PyTorch ran in the same
// session, `name vs pytorch: ratio x` (higher is better for dalle-ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as T from '../src/tensor/index.ts';
import { topoSort } from '../src/tensor/graph.ts';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** PyTorch's figure for the same work, in the same unit. */
  pytorch?: number;
  /** For units where lower is better (ms), the ratio is inverted. */
  lowerIsBetter?: boolean;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median milliseconds of `reps` calls of `step` after `warmup` untimed ones (the first compiles);
 *  `prepare` makes each call's input outside the timing. */
export async function medianStepMs<I>(prepare: () => I, step: (input: I) => Promise<unknown>, warmup = 2, reps = 5): Promise<number> {
  for (let i = 0; i < warmup; i++) await step(prepare());
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const input = prepare();
    const t0 = performance.now();
    await step(input);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Floating-point operations (two per multiply-add) of the matrix products in one training step's forward
 *  and backward pass, counted on the traced graph of the loss and its gradient with respect to every
 *  parameter: work any implementation of the step does, to set against a machine's matmul rate. */
export function trainStepMatmulFlops<B>(loss: (params: any, batch: B) => T.Tensor | [T.Tensor, unknown], params: unknown, batch: unknown): number {
  const symbolic = (tree: unknown, prefix: string) => T.mapTree(tree, T.isNDArray, (a: T.NDArray, path) => T.placeholder(a.shape, a.dtype, `${prefix}${path}`));
  const withAux = (p: unknown): [T.Tensor, unknown] => {
    const out = loss(p, symbolic(batch, 'batch') as B);
    return Array.isArray(out) ? out : [out, null];
  };
  const [[value], grads] = T.valueAndGrad(withAux, { hasAux: true })(symbolic(params, 'param'));
  let flops = 0;
  for (const t of topoSort([value, ...T.flattenTree(grads, T.isTensor).leaves])) {
    if (t.op === 'matmul') flops += 2 * t.size * t.inputs[0]!.shape.at(-1)!;
  }
  return flops;
}

/** A training step's matrix products per second (their FLOPs over the step's time), and on a comment line
 *  PyTorch's and the rate that 1.5 times PyTorch's speed would take: set beside `matmul 1024³`
 *  (bench/engine.ts), the rate the machine's best GEMM reaches. */
export function matmulRateFigure(name: string, flops: number, tokensPerStep: number, tokS: number, pytorchTokS?: number): Figure {
  const rate = (t: number) => (flops * t) / tokensPerStep / 1e9;
  const torch = pytorchTokS ? `; pytorch ${rate(pytorchTokS).toFixed(0)} GFLOP/s, 1.5 x its speed would need ${rate(1.5 * pytorchTokS).toFixed(0)}` : '';
  console.log(`# ${name}: ${(flops / 1e9).toFixed(1)} GFLOP of matrix products per step${torch}`);
  return { name: `${name}, matrix products' FLOPs over step time`, value: rate(tokS), unit: 'GFLOP/s' };
}

const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function printFigures(figures: readonly Figure[]): void {
  for (const f of figures) {
    console.log(`${f.name}: ${fmt(f.value)} ${f.unit}`);
    if (f.pytorch !== undefined) {
      console.log(`${f.name} pytorch: ${fmt(f.pytorch)} ${f.unit}`);
      const ratio = f.lowerIsBetter ? f.pytorch / f.value : f.value / f.pytorch;
      console.log(`${f.name} vs pytorch: ${ratio.toFixed(2)} x`);
    }
  }
}

/** OpenBLAS's SkylakeX kernels where the processor has AVX-512 (DESIGN.md's reference machine); elsewhere
 *  (this AMD EPYC, for one) forcing them dies with an illegal instruction, so OpenBLAS picks its own. */
function openblasEnv(): NodeJS.ProcessEnv {
  const avx512 = existsSync('/proc/cpuinfo') && /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  return avx512 ? { ...process.env, OPENBLAS_CORETYPE: 'SkylakeX' } : process.env;
}

/** PyTorch's faster sampling of float32 and its own dynamic int8 (bench/gpt_torch.py with `"int8": true`):
 *  what dalle-ts's int8 sampling is compared against. */
export function fasterPytorchSampling(torch: Record<string, unknown> | null): number | undefined {
  return torch ? Math.max(torch.sample_tok_s as number, torch.sample_int8_tok_s as number) : undefined;
}

/** Which way each figure of a PyTorch script's JSON is better. */
export type Better = Record<string, 'higher' | 'lower'>;

/** Run a PyTorch script with Debian's python3-torch, or null if unavailable. The script prints one JSON line;
 *  its first argument is the thread count. PyTorch runs in two configurations and each figure in `better`
 *  is the better of the two: `torch.set_num_threads(N)`, and one intra-op thread with OpenBLAS on N threads.
 *  Debian's PyTorch links the pthreads OpenBLAS, whose pool and PyTorch's OpenMP pool each want every core:
 *  with N = 2 on this 2-core machine the first configuration oversubscribed and measured the GPT training
 *  step at 2,099 tok/s against 3,519 for the second. Comparing against the worse one flattered us. */
export function runPython(script: string, args: string[], better: Better): Record<string, unknown> | null {
  const env = openblasEnv();
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { env });
  if (probe.status !== 0) {
    console.log(`# PyTorch not installed (apt-get install python3-torch libopenblas0-pthread): no ratios for ${script}`);
    return null;
  }
  const threads = args[0]!;
  const configs = [
    { name: `torch threads ${threads}`, env, args },
    { name: `torch threads 1, OpenBLAS threads ${threads}`, env: { ...env, OPENBLAS_NUM_THREADS: threads }, args: ['1', ...args.slice(1)] },
  ];
  const results: Record<string, unknown>[] = [];
  for (const c of configs) {
    const run = spawnSync('/usr/bin/python3', [script, ...c.args], { env: c.env, encoding: 'utf8' });
    if (run.status !== 0) {
      console.log(`# ${script} (${c.name}) failed (exit ${run.status ?? run.signal}): ${run.stderr.trim().split('\n').at(-1) ?? ''}`);
      return null;
    }
    results.push(JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>);
  }
  const best: Record<string, unknown> = { ...results[0] };
  for (const [key, way] of Object.entries(better)) {
    const values = results.map((r) => r[key] as number);
    const i = way === 'higher' ? (values[0]! >= values[1]! ? 0 : 1) : values[0]! <= values[1]! ? 0 : 1;
    best[key] = values[i];
    console.log(`# pytorch ${script} ${key}: ${configs.map((c, k) => `${c.name} ${fmt(values[k]!)}`).join('; ')} (using the ${way})`);
  }
  return best;
}
