// Engine throughput: matmul 1024³ and a conv forward+backward (64→64, 3×3, 32×32, batch 32, padding 1) in
// GFLOP/s through `compile`, beside the practical float32 peak, with each conv-gradient formulation timed and
// the one `chooseConvGradMethod` picks marked; PyTorch's figures from bench/engine_torch.py in the same run
// where python3-torch is installed. FLOPs: matmul 2·n³; conv forward 2·N·Cout·H'·W'·Cin/groups·kh·kw, its
// backward (dx and dw) twice that.
//
//   node --import tsx bench/engine.ts            the figures
//   node --import tsx bench/engine.ts --sweep    dx/dw formulations over the dVAE's conv shapes (ms), the
//                                                measurements behind chooseConvGradMethod's rule
import { availableParallelism } from 'node:os';
import * as T from '../src/tensor/index.ts';
import type { Tensor } from '../src/tensor/index.ts';
import { type Figure, median, printFigures, runPython } from './support.ts';

/** DESIGN.md: OpenBLAS sgemm with SkylakeX kernels on the project's 2-core AVX-512 machine. */
const DESIGN_PEAK_GFLOPS = 310;

/** Median wall time in ms of `run` after `warmup` calls. */
async function timeMs(run: () => Promise<unknown>, reps = 7, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Time several variants round-robin (so that load from other work on the machine hits all alike). */
async function timeEach(runs: Record<string, () => Promise<unknown>>, reps = 7): Promise<Record<string, number>> {
  const names = Object.keys(runs);
  for (const n of names) for (let i = 0; i < 2; i++) await runs[n]!();
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < reps; r++) {
    for (const n of names) {
      const t0 = performance.now();
      await runs[n]!();
      times[n]!.push(performance.now() - t0);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(times[n]!)]));
}

async function matmulGflops(n: number): Promise<number> {
  const rng = new T.Rng(0);
  const [a, b] = [rng.randn([n, n]), rng.randn([n, n])];
  const f = T.compile((x: Tensor, y: Tensor) => T.matmul(x, y));
  return (2 * n ** 3) / (await timeMs(() => f(a, b), 9)) / 1e6;
}

interface ConvShape {
  n: number;
  cin: number;
  cout: number;
  hw: number;
  k: number;
  stride?: number;
  groups?: number;
}

const convFlops = (s: ConvShape): number => {
  const out = Math.floor((s.hw + 2 * Math.floor(s.k / 2) - s.k) / (s.stride ?? 1)) + 1;
  return (2 * s.n * s.cout * out * out * s.cin * s.k * s.k) / (s.groups ?? 1);
};

const optsOf = (s: ConvShape): T.Conv2dOptions => ({ padding: Math.floor(s.k / 2), stride: s.stride ?? 1, groups: s.groups ?? 1 });

function convInputs(s: ConvShape): { x: T.NDArray; w: T.NDArray; g: T.NDArray; yShape: readonly number[] } {
  const rng = new T.Rng(1);
  const x = rng.randn([s.n, s.cin, s.hw, s.hw]);
  const w = rng.randn([s.cout, s.cin / (s.groups ?? 1), s.k, s.k]);
  const yShape = T.conv2d(T.placeholder(x.shape, 'float32', 'x'), T.placeholder(w.shape, 'float32', 'w'), null, optsOf(s)).shape;
  return { x, w, g: rng.randn(yShape), yShape };
}

/** The forward conv with both gradients, as in a training step: y, dx, dw from x, w and y's cotangent. */
function convStep(s: ConvShape, method?: T.ConvGradMethod) {
  const step = (x: Tensor, w: Tensor, g: Tensor) => {
    const y = T.conv2d(x, w, null, optsOf(s));
    const [dx, dw] = T.vjp(y, [x, w], g);
    return { y, dx: dx!, dw: dw! };
  };
  return T.compile((x: Tensor, w: Tensor, g: Tensor) => (method ? T.withConvGradMethod(method, () => step(x, w, g)) : step(x, w, g)));
}

/** One gradient alone: dx (kind 'input') or dw ('weight') by a forced method. */
function convGrad(s: ConvShape, kind: 'input' | 'weight', method: T.ConvGradMethod) {
  return T.compile((x: Tensor, w: Tensor, g: Tensor) =>
    T.withConvGradMethod(method, () => T.vjp(T.conv2d(x, w, null, optsOf(s)), [kind === 'input' ? x : w], g)[0]!));
}

const chosen = (s: ConvShape) => {
  const x = [s.n, s.cin, s.hw, s.hw];
  const w = [s.cout, s.cin / (s.groups ?? 1), s.k, s.k];
  const y = T.conv2d(T.placeholder(x, 'float32', 'x'), T.placeholder(w, 'float32', 'w'), null, optsOf(s)).shape;
  const p = Math.floor(s.k / 2);
  const st = s.stride ?? 1;
  return T.chooseConvGradMethod({ x, w, y }, { stride: [st, st], dilation: [1, 1], pads: [p, p, p, p], groups: s.groups ?? 1 });
};

export async function engineFigures(): Promise<Figure[]> {
  console.log('# matmul 1024³; conv: 64→64 channels, 3×3, 32×32 pixels, batch 32, padding 1, forward + dx + dw');
  const torch = runPython('bench/engine_torch.py', [String(availableParallelism())], { matmul_gflops: 'higher', conv_step_ms: 'lower' });
  const figures: Figure[] = [];
  const mm = await matmulGflops(1024);
  figures.push({ name: 'matmul 1024³', value: mm, unit: 'GFLOP/s', ...(torch && { pytorch: torch.matmul_gflops as number }) });

  const s: ConvShape = { n: 32, cin: 64, cout: 64, hw: 32, k: 3 };
  const { x, w, g } = convInputs(s);
  const flops = 3 * convFlops(s);
  const rule = chosen(s);
  const variants: Record<string, () => Promise<unknown>> = { chosen: ((f) => () => f(x, w, g))(convStep(s)) };
  for (const m of ['transpose', 'flipconv', 'batchconv', 'im2col'] as const) variants[m] = ((f) => () => f(x, w, g))(convStep(s, m));
  const grads: Record<string, () => Promise<unknown>> = {};
  for (const m of ['transpose', 'flipconv'] as const) grads[`dx ${m}`] = ((f) => () => f(x, w, g))(convGrad(s, 'input', m));
  for (const m of ['batchconv', 'im2col'] as const) grads[`dw ${m}`] = ((f) => () => f(x, w, g))(convGrad(s, 'weight', m));
  const fwd = T.compile((a: Tensor, b: Tensor) => T.conv2d(a, b, null, optsOf(s)));
  const t = await timeEach({ ...variants, ...grads, forward: () => fwd(x, w) });

  figures.push({ name: 'conv fwd+bwd', value: flops / t.chosen! / 1e6, unit: 'GFLOP/s', ...(torch && { pytorch: flops / (torch.conv_step_ms as number) / 1e6 }) });
  figures.push({ name: 'conv fwd+bwd time', value: t.chosen!, unit: 'ms' });
  if (torch) figures.push({ name: 'conv fwd+bwd time pytorch', value: torch.conv_step_ms as number, unit: 'ms' });
  figures.push({ name: 'conv forward', value: convFlops(s) / t.forward! / 1e6, unit: 'GFLOP/s' });
  const mark = (m: string) => (m === rule.input || m === rule.weight ? ' (chosen)' : '');
  for (const m of ['transpose', 'flipconv']) figures.push({ name: `conv dx by ${m}${mark(m)}`, value: t[`dx ${m}`]!, unit: 'ms' });
  for (const m of ['batchconv', 'im2col']) figures.push({ name: `conv dw by ${m}${mark(m)}`, value: t[`dw ${m}`]!, unit: 'ms' });
  // Forcing one method leaves the other gradient to the rule.
  for (const m of ['transpose', 'flipconv', 'batchconv', 'im2col']) {
    figures.push({ name: `conv fwd+bwd forcing ${m}${mark(m)}`, value: flops / t[m]! / 1e6, unit: 'GFLOP/s' });
  }
  figures.push({ name: 'practical peak (DESIGN.md, AVX-512 machine, OpenBLAS sgemm)', value: DESIGN_PEAK_GFLOPS, unit: 'GFLOP/s' });
  figures.push({ name: 'matmul share of that peak', value: (100 * mm) / DESIGN_PEAK_GFLOPS, unit: '%' });
  figures.push({ name: 'conv fwd+bwd share of that peak', value: (100 * flops) / t.chosen! / 1e6 / DESIGN_PEAK_GFLOPS, unit: '%' });
  return figures;
}

/** The dVAE's conv shapes (7×7 input conv, 3×3 and 1×1 bottleneck convs, widths 32–256, 8–64 px). */
const SWEEP: ConvShape[] = [
  { n: 8, cin: 3, cout: 32, hw: 64, k: 7 },
  { n: 16, cin: 3, cout: 64, hw: 32, k: 7 },
  { n: 8, cin: 32, cout: 32, hw: 64, k: 3 },
  { n: 16, cin: 64, cout: 16, hw: 32, k: 3 },
  { n: 16, cin: 16, cout: 16, hw: 32, k: 3 },
  { n: 32, cin: 64, cout: 64, hw: 32, k: 3 },
  { n: 16, cin: 128, cout: 32, hw: 16, k: 3 },
  { n: 32, cin: 128, cout: 128, hw: 16, k: 3 },
  { n: 16, cin: 256, cout: 64, hw: 8, k: 3 },
  { n: 32, cin: 256, cout: 256, hw: 8, k: 3 },
  { n: 16, cin: 16, cout: 64, hw: 32, k: 1 },
  { n: 16, cin: 64, cout: 128, hw: 16, k: 1 },
  { n: 32, cin: 64, cout: 256, hw: 8, k: 1 },
  { n: 16, cin: 64, cout: 64, hw: 32, k: 3, stride: 2 },
  { n: 16, cin: 64, cout: 64, hw: 32, k: 3, groups: 64 },
  { n: 16, cin: 8, cout: 32, hw: 32, k: 3 },
];

async function sweep(): Promise<void> {
  console.log('shape (N, Cin→Cout, px, k, stride, groups) | dx transpose | dx flipconv | dw batchconv | dw im2col | chosen (ms, median of 7)');
  for (const s of SWEEP) {
    const { x, w, g } = convInputs(s);
    const runs: Record<string, () => Promise<unknown>> = {};
    for (const m of ['transpose', 'flipconv'] as const) runs[m] = ((f) => () => f(x, w, g))(convGrad(s, 'input', m));
    for (const m of ['batchconv', 'im2col'] as const) runs[m] = ((f) => () => f(x, w, g))(convGrad(s, 'weight', m));
    const t = await timeEach(runs);
    const c = chosen(s);
    const f = (v: number) => v.toFixed(2).padStart(7);
    console.log(`${s.n}, ${s.cin}→${s.cout}, ${s.hw}, ${s.k}×${s.k}, ${s.stride ?? 1}, ${s.groups ?? 1} | ${f(t.transpose!)} | ${f(t.flipconv!)} | ${f(t.batchconv!)} | ${f(t.im2col!)} | ${c.input}, ${c.weight}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--sweep')) await sweep();
  else printFigures(await engineFigures());
}
