// Schedules as plain functions of the step, evaluated on the host and fed to the compiled step as scalars:
// learning rates (linear warm-up, cosine decay), and the dVAE's annealed temperature and KL weight.

/** Cosine interpolation from `start` to `end` over `steps`, then held at `end`. */
export function cosineAnneal(step: number, start: number, end: number, steps: number): number {
  if (steps <= 0 || step >= steps) return end;
  return end + (start - end) * 0.5 * (1 + Math.cos((Math.PI * Math.max(step, 0)) / steps));
}

export interface WarmupCosine {
  peak: number;
  warmup: number; // steps of linear warm-up from 0
  total: number; // step at which the cosine reaches `final`
  final: number;
}

export function warmupCosine(step: number, s: WarmupCosine): number {
  if (step < s.warmup) return (s.peak * (step + 1)) / s.warmup;
  return cosineAnneal(step - s.warmup, s.peak, s.final, s.total - s.warmup);
}

/** Halve the learning rate when the validation loss has not improved for `patience` evaluations (the
 *  paper's transformer schedule). Its state is plain JSON, for checkpoints. */
export class HalveOnPlateau {
  constructor(
    public lr: number,
    readonly patience: number,
    readonly minLr = 0,
    public best = Infinity,
    public badEvals = 0,
  ) {}

  /** Record one validation loss; returns the learning rate to use from now on. */
  observe(loss: number): number {
    if (loss < this.best) {
      this.best = loss;
      this.badEvals = 0;
    } else if (++this.badEvals > this.patience) {
      this.lr = Math.max(this.lr / 2, this.minLr);
      this.badEvals = 0;
    }
    return this.lr;
  }

  toJSON(): { lr: number; patience: number; minLr: number; best: number | null; badEvals: number } {
    return { lr: this.lr, patience: this.patience, minLr: this.minLr, best: Number.isFinite(this.best) ? this.best : null, badEvals: this.badEvals };
  }

  static fromJSON(s: ReturnType<HalveOnPlateau['toJSON']>): HalveOnPlateau {
    return new HalveOnPlateau(s.lr, s.patience, s.minLr, s.best ?? Infinity, s.badEvals);
  }
}
