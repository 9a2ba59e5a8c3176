// Layer normalisation over the trailing axes from `axis`, as PyTorch's LayerNorm(normalized_shape) and ONNX
// LayerNormalization (opset 17). One op rather than a composition so that the forward pass lowers to ONNX
// Runtime's fused kernel; the gradient is composed from traced ops (mean, sub, mul, sqrt, sum), which
// keeps it differentiable again and checkable against finite differences.
import { defineOp, attr } from '../op.ts';
import { normAxis, sameShape, shapeStr, sizeOf } from '../shape.ts';
import { type Tensor, apply } from '../tensor.ts';
import { add, div, mul, sqrt, sub } from './elementwise.ts';
import { mean, sumToShape } from './reduce.ts';

interface LayerNormAttrs {
  axis: number; // normalised; statistics over axes axis..rank−1
  eps: number;
  hasWeight: boolean;
  hasBias: boolean;
}

export interface LayerNormOptions {
  /** First normalised axis (default −1: the last axis only). */
  axis?: number;
  /** Added to the variance (default 1e-5, as PyTorch). */
  eps?: number;
}

/** x̂ = (x − mean) / √(var + eps) over `axes` (biased variance), and 1/√(var + eps), as traced ops. */
function normalize(x: Tensor, axes: readonly number[], eps: number): { xhat: Tensor; rstd: Tensor } {
  const centred = sub(x, mean(x, axes, true));
  const rstd = div(1, sqrt(add(mean(mul(centred, centred), axes, true), eps)));
  return { xhat: mul(centred, rstd), rstd };
}

defineOp<LayerNormAttrs>({
  name: 'layerNorm',
  infer(inputs, { axis }) {
    const x = inputs[0]!;
    if (x.dtype !== 'float32') throw new TypeError(`layerNorm: needs float32, got ${x.dtype}${shapeStr(x.shape)}`);
    const normalized = x.shape.slice(axis);
    for (const p of inputs.slice(1)) {
      if (p.dtype !== 'float32' || !sameShape(p.shape, normalized)) {
        throw new RangeError(`layerNorm: weight/bias ${p.dtype}${shapeStr(p.shape)} must be float32${shapeStr(normalized)}, the trailing axes of x ${shapeStr(x.shape)} from axis ${axis}`);
      }
    }
    return { shape: x.shape, dtype: 'float32' };
  },
  lower(ctx, inputs, node) {
    const { axis, eps, hasWeight, hasBias } = node.attrs;
    const normalized = node.shape.slice(axis);
    // ONNX requires a scale; without a weight it is a constant of ones (the size of one normalised slice).
    const scale = hasWeight
      ? inputs[1]!
      : ctx.constant({ elem: 'float32', dims: normalized, raw: new Uint8Array(new Float32Array(sizeOf(normalized)).fill(1).buffer) });
    const bias = hasBias ? [inputs[hasWeight ? 2 : 1]!] : [];
    return ctx.emit('LayerNormalization', [inputs[0]!, scale, ...bias], { axis: attr.int(axis), epsilon: attr.float(eps) })[0]!;
  },
  grad(gy, node) {
    const { axis, eps, hasWeight, hasBias } = node.attrs;
    const x = node.inputs[0]!;
    const weight = hasWeight ? node.inputs[1]! : null;
    const axes = x.shape.map((_, a) => a).filter((a) => a >= axis);
    const { xhat, rstd } = normalize(x, axes, eps);
    // With g = ∂L/∂x̂ = gy·w:  ∂L/∂x = rstd · (g − mean(g) − x̂ · mean(g · x̂)), means over the normalised axes.
    const g = weight ? mul(gy, weight) : gy;
    const gx = mul(rstd, sub(sub(g, mean(g, axes, true)), mul(xhat, mean(mul(g, xhat), axes, true))));
    const normalized = x.shape.slice(axis);
    return [
      gx,
      ...(hasWeight ? [sumToShape(mul(gy, xhat), normalized)] : []),
      ...(hasBias ? [sumToShape(gy, normalized)] : []),
    ];
  },
  ref(inputs, node) {
    const { axis, eps, hasWeight, hasBias } = node.attrs;
    const x = inputs[0]!;
    const w = hasWeight ? inputs[1]!.data : null;
    const b = hasBias ? inputs[hasWeight ? 2 : 1]!.data : null;
    const n = sizeOf(x.shape.slice(axis));
    const out = new Float64Array(x.data.length);
    for (let start = 0; start < x.data.length; start += n) {
      let m = 0;
      for (let i = 0; i < n; i++) m += x.data[start + i]!;
      m /= n;
      let v = 0;
      for (let i = 0; i < n; i++) v += (x.data[start + i]! - m) ** 2;
      const rstd = 1 / Math.sqrt(v / n + eps);
      for (let i = 0; i < n; i++) out[start + i] = (x.data[start + i]! - m) * rstd * (w ? w[i]! : 1) + (b ? b[i]! : 0);
    }
    return out;
  },
});

/** Layer normalisation of `x` over its trailing axes from `opts.axis` (default the last), then × weight +
 *  bias where given; weight and bias have the shape of those trailing axes. */
export function layerNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, opts: LayerNormOptions = {}): Tensor {
  const axis = normAxis(opts.axis ?? -1, x.rank, 'layerNorm');
  if (x.rank === 0) throw new RangeError('layerNorm: cannot normalise a scalar');
  const eps = opts.eps ?? 1e-5;
  if (!(eps >= 0)) throw new RangeError(`layerNorm: eps must be ≥ 0, got ${eps}`);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return apply('layerNorm', inputs, { axis, eps, hasWeight: !!weight, hasBias: !!bias });
}
