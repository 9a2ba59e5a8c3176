// Matrix multiplication with NumPy batch broadcasting over the leading axes.
import { defineOp } from '../op.ts';
import { broadcastIndexer, broadcastShapes, shapeStr, sizeOf } from '../shape.ts';
import { type Tensor, apply } from '../tensor.ts';
import { sumToShape } from './reduce.ts';
import { mT, reshape, transpose } from './shape.ts';

defineOp<{}>({
  name: 'matmul',
  infer([a, b]) {
    const fail = (why: string) => new RangeError(`matmul: ${why}: ${a!.dtype}${shapeStr(a!.shape)} @ ${b!.dtype}${shapeStr(b!.shape)}`);
    if (a!.dtype !== 'float32' || b!.dtype !== 'float32') throw fail('needs float32 operands');
    if (a!.rank < 2 || b!.rank < 2) throw fail('needs operands of rank 2 or more');
    const [m, k] = a!.shape.slice(-2) as [number, number];
    const [k2, n] = b!.shape.slice(-2) as [number, number];
    if (k !== k2) throw fail(`inner dimensions ${k} and ${k2} differ`);
    const batch = broadcastShapes(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    if (!batch) throw fail('batch dimensions do not broadcast');
    return { shape: [...batch, m, n], dtype: 'float32' };
  },
  lower: (ctx, [a, b]) => ctx.emit('MatMul', [a!, b!])[0]!,
  grad(gy, node) {
    const [a, b] = node.inputs as [Tensor, Tensor];
    return [gradOfShared(gy, b, a, 'a') ?? sumToShape(matmul(gy, mT(b)), a.shape), gradOfShared(gy, a, b, 'b') ?? sumToShape(matmul(mT(a), gy), b.shape)];
  },
  ref([a, b], node) {
    const [m, k] = a!.shape.slice(-2) as [number, number];
    const n = b!.shape[b!.shape.length - 1]!;
    const batchShape = node.shape.slice(0, -2);
    const aIndex = broadcastIndexer(a!.shape.slice(0, -2), batchShape);
    const bIndex = broadcastIndexer(b!.shape.slice(0, -2), batchShape);
    const out = new Float64Array(sizeOf(node.shape));
    for (let t = 0; t < sizeOf(batchShape); t++) {
      const ao = aIndex(t) * m * k, bo = bIndex(t) * k * n, oo = t * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a!.data[ao + i * k + p]! * b!.data[bo + p * n + j]!;
          out[oo + i * n + j] = s;
        }
      }
    }
    return out;
  },
});

/** The gradient of a plain matrix shared across the other operand's batch (a linear layer's weight): one GEMM
 *  over the flattened batch instead of a batched matmul followed by a sum over the batch, which measured
 *  ~20% of a GPT training step in ReduceSum alone. Null when the shapes are not of that kind. */
function gradOfShared(gy: Tensor, other: Tensor, shared: Tensor, which: 'a' | 'b'): Tensor | null {
  if (shared.rank !== 2 || other.rank <= 2) return null;
  const [m, n] = gy.shape.slice(-2) as [number, number];
  const k = other.shape[other.rank - (which === 'b' ? 1 : 2)]!;
  if (which === 'b') {
    // b [K, N] under a [..., M, K]: dB = Σ aᵀ gy = (a as [B·M, K])ᵀ (gy as [B·M, N]).
    return matmul(transpose(reshape(other, [-1, k])), reshape(gy, [-1, n]));
  }
  // a [M, K] under b [..., K, N]: dA = Σ gy bᵀ = (gy as [M, batch·N]) (b as [batch·N, K]).
  const batchAxes = gy.shape.slice(0, -2).map((_, i) => i);
  const gyT = reshape(transpose(gy, [gy.rank - 2, ...batchAxes, gy.rank - 1]), [m, -1]);
  const bT = reshape(mT(other), [-1, k]);
  return matmul(gyT, bT);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply('matmul', [a, b], {});
}
