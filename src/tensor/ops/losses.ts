// Losses and training-time compositions the models share: log-sum-exp, cross-entropy over int64 targets and
// inverted dropout. All are compositions of registered ops, so they need no lowering or gradient of their own.
import { normAxis, shapeStr } from '../shape.ts';
import { type Tensor } from '../tensor.ts';
import { add, cast, exp, log, mul, neg, stopGradient, sub } from './elementwise.ts';
import { arange, gather } from './indexing.ts';
import { logSoftmax, max, sum } from './reduce.ts';
import { reshape, transpose } from './shape.ts';

/** log Σ exp(x) along `axis`, stable for large inputs. The shift by the maximum goes through stopGradient:
 *  the result does not depend on it mathematically, so its gradient is exactly softmax(x) and no tie-sharing
 *  gradient of max is traced. */
export function logSumExp(x: Tensor, axis = -1, keepdims = false): Tensor {
  const a = normAxis(axis, x.rank, 'logSumExp');
  const m = stopGradient(max(x, a, true));
  const y = add(log(sum(exp(sub(x, m)), a, true)), m);
  return keepdims ? y : reshape(y, x.shape.filter((_, i) => i !== a));
}

export interface CrossEntropyOptions {
  /** The class axis of the logits (default −1). */
  axis?: number;
  /** 'mean' over all positions (default), 'sum', or 'none' for the per-position losses. */
  reduction?: 'mean' | 'sum' | 'none';
}

/** −log softmax(logits)[target] for int64 `targets` shaped like the logits without the class axis.
 *  The target log-probabilities are picked with one gather over the flattened log-softmax (position·C +
 *  target), so the backward pass scatters one value per position instead of multiplying by a one-hot
 *  tensor the size of the logits. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const axis = normAxis(opts.axis ?? -1, logits.rank, 'crossEntropy');
  const positions = logits.shape.filter((_, i) => i !== axis);
  if (logits.dtype !== 'float32' || targets.dtype !== 'int64' || targets.rank !== positions.length || targets.shape.some((d, i) => d !== positions[i])) {
    throw new RangeError(
      `crossEntropy: expected float32 logits and int64 targets of shape ${shapeStr(positions)} (logits without axis ${axis}), ` +
      `got logits ${logits.dtype}${shapeStr(logits.shape)} and targets ${targets.dtype}${shapeStr(targets.shape)}`,
    );
  }
  const classes = logits.shape[axis]!;
  const count = positions.reduce((n, d) => n * d, 1);
  const last = axis === logits.rank - 1 ? logits : transpose(logits, [...positions.map((_, i) => (i < axis ? i : i + 1)), axis]);
  const logp = reshape(logSoftmax(last, -1), [count * classes]);
  const flat = add(mul(arange(count), classes), reshape(targets, [count]));
  const nll = neg(reshape(gather(logp, flat, 0), positions));
  switch (opts.reduction ?? 'mean') {
    case 'none': return nll;
    case 'sum': return sum(nll);
    case 'mean': return mul(sum(nll), 1 / count);
  }
}

/** Inverted dropout: x · keepMask / (1 − p). The keep-mask (bool or float32 0/1, broadcastable to x) is
 *  drawn on the host from a seeded Rng and enters as a graph input, so runs are reproducible. */
export function dropout(x: Tensor, keepMask: Tensor, p: number): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  return mul(x, mul(cast(keepMask, x.dtype), 1 / (1 - p)));
}
