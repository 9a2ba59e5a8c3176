// The training step shared by every model: forward, backward, global-norm clipping and AdamW traced into
// one compiled function (or, with gradient accumulation, a compiled gradient step per micro-batch and a
// compiled update), parameters and optimizer state kept on the host between steps, optional weight EMA
// and frozen parameters.
import * as T from '../tensor/index.ts';
import type { NDArray, Tensor } from '../tensor/index.ts';
import { merge, partition } from '../nn/params.ts';
import { type AdamWConfig, type AdamWState, adamwUpdate, initAdamW } from './adamw.ts';
import { clipByGlobalNorm, globalNorm } from './clip.ts';
import { emaDecayAt, initEma, updateEma } from './ema.ts';

/** A loss over (parameters, batch): a scalar, or [scalar, metrics] with scalar metric tensors to report. */
export type LossFn<B> = (params: any, batch: B) => Tensor | [Tensor, Record<string, Tensor>];

export interface TrainerConfig {
  adamw: AdamWConfig;
  /** Clip gradients to this global norm (the paper uses 4 for the transformer). */
  clipNorm?: number;
  /** Micro-batches per update; their gradients are averaged. */
  accumulate?: number;
  emaDecay?: number;
  /** Which parameters train, by dotted name; the rest are frozen. Default: all. */
  trainable?: (path: string) => boolean;
  compile?: T.CompileOptions;
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}

function splitLoss(out: Tensor | [Tensor, Record<string, Tensor>]): [Tensor, Record<string, Tensor>] {
  return Array.isArray(out) ? out : [out, {}];
}

const scalars = (m: Record<string, NDArray>): Record<string, number> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.item()]));

export class Trainer<B> {
  train: unknown; // trainable parameters (host)
  readonly frozen: unknown;
  opt: AdamWState;
  step = 0;
  ema: unknown | null;
  private readonly cfg: TrainerConfig;
  private readonly fused;
  private readonly gradStep;
  private readonly applyStep;

  constructor(lossFn: LossFn<B>, params: unknown, cfg: TrainerConfig) {
    this.cfg = cfg;
    const parts = partition(params, cfg.trainable ?? (() => true));
    this.train = parts.train;
    this.frozen = parts.frozen;
    this.opt = initAdamW(this.train);
    this.ema = cfg.emaDecay ? initEma(params) : null;

    const lossAndGrads = (train: unknown, frozen: unknown, batch: B) =>
      T.valueAndGrad((tr: unknown) => splitLoss(lossFn(merge(tr, frozen), batch)), { hasAux: true })(train);

    const update = (train: unknown, grads: unknown, opt: AdamWState<Tensor>, lr: Tensor, step: Tensor) => {
      const clipped = cfg.clipNorm ? clipByGlobalNorm(grads, cfg.clipNorm) : { grads, norm: globalNorm(grads) };
      const next = adamwUpdate(train, clipped.grads, opt, lr, step, cfg.adamw);
      return { params: next.params, opt: next.state, norm: clipped.norm };
    };

    this.fused = T.compile((train: unknown, frozen: unknown, opt: AdamWState<Tensor>, batch: B, lr: Tensor, step: Tensor) => {
      const [[loss, metrics], grads] = lossAndGrads(train, frozen, batch);
      return { loss, metrics, ...update(train, grads, opt, lr, step) };
    }, { ...cfg.compile, name: 'train_step' });

    this.gradStep = T.compile((train: unknown, frozen: unknown, batch: B) => {
      const [[loss, metrics], grads] = lossAndGrads(train, frozen, batch);
      return { loss, metrics, grads };
    }, { ...cfg.compile, name: 'grad_step' });

    this.applyStep = T.compile(update, { ...cfg.compile, name: 'apply_step' });
  }

  /** All parameters, trainable and frozen, as one host tree. */
  get params(): any {
    return merge(this.train, this.frozen);
  }

  /** One update from `accumulate` micro-batches at learning rate `lr`. */
  async trainStep(batches: B | B[], lr: number): Promise<StepResult> {
    const list = Array.isArray(batches) ? batches : [batches];
    const want = this.cfg.accumulate ?? 1;
    if (list.length !== want) throw new RangeError(`trainStep: ${list.length} micro-batches given, ${want} configured`);
    const lrIn = T.NDArray.scalar(lr);
    const stepIn = T.NDArray.scalar(this.step + 1);
    let result: StepResult;
    if (list.length === 1) {
      const out = (await this.fused(this.train as never, this.frozen as never, this.opt as never, list[0] as never, lrIn, stepIn)) as any;
      this.train = out.params;
      this.opt = out.opt;
      result = { loss: out.loss.item(), gradNorm: out.norm.item(), metrics: scalars(out.metrics) };
    } else {
      let sum: NDArray[] | null = null;
      let def: T.TreeDef | null = null;
      let loss = 0;
      const metricSums: Record<string, number> = {};
      for (const batch of list) {
        const out = (await this.gradStep(this.train as never, this.frozen as never, batch as never)) as any;
        const flat = T.flattenTree(out.grads, T.isNDArray);
        def = flat.def;
        if (!sum) sum = flat.leaves;
        else sum.forEach((s, i) => addInto(s.data as Float32Array, flat.leaves[i]!.data as Float32Array));
        loss += out.loss.item() / list.length;
        for (const [k, v] of Object.entries(scalars(out.metrics))) metricSums[k] = (metricSums[k] ?? 0) + v / list.length;
      }
      for (const s of sum!) scaleInPlace(s.data as Float32Array, 1 / list.length);
      const grads = T.unflattenTree(def!, sum!);
      const out = (await this.applyStep(this.train as never, grads as never, this.opt as never, lrIn, stepIn)) as any;
      this.train = out.params;
      this.opt = out.opt;
      result = { loss, gradNorm: out.norm.item(), metrics: metricSums };
    }
    if (this.ema) updateEma(this.ema, this.params, emaDecayAt(this.cfg.emaDecay!, this.step));
    this.step++;
    return result;
  }
}

function addInto(a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
}

function scaleInPlace(a: Float32Array, s: number): void {
  for (let i = 0; i < a.length; i++) a[i]! *= s;
}
