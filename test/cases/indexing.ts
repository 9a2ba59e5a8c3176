// Op cases for gather / scatterAdd, argmax, topk, oneHot, layerNorm and the loss compositions (logSumExp,
// crossEntropy, dropout). Repeated indices come from constants so that accumulation is always exercised.
import * as T from '../../src/tensor/index.ts';
import type { OpCase } from '../support/opcheck.ts';

const ids = (values: number[], shape: number[] = [values.length]) => T.constant(T.NDArray.int64(values, shape), 'int64');

export const indexingCases: OpCase[] = [
  // gather
  { ops: ['gather'], name: 'gather embedding rows (axis 0, 2-D ids)', inputs: [{ shape: [5, 3] }, { shape: [2, 4], kind: 'int', high: 5 }], fn: (w, i) => T.gather(w!, i!, 0) },
  { ops: ['gather'], name: 'gather middle axis, 2-D indices', inputs: [{ shape: [2, 4, 3] }, { shape: [2, 3], kind: 'int', high: 4 }], fn: (x, i) => T.gather(x!, i!, 1) },
  { ops: ['gather'], name: 'gather repeated and negative indices', inputs: [{ shape: [4, 3] }], fn: (x) => T.gather(x!, ids([1, -1, 1, 0, 1]), 0) },
  { ops: ['gather'], name: 'gather scalar index, last axis', inputs: [{ shape: [3, 5] }], fn: (x) => T.gather(x!, T.constant(T.NDArray.int64([2], []), 'int64'), -1) },
  { ops: ['gather'], name: 'gather int64 table', inputs: [{ shape: [6], kind: 'int', high: 100 }, { shape: [3, 2], kind: 'int', high: 6 }], fn: (x, i) => T.gather(x!, i!, 0), noGrad: true },
  // scatterAdd
  {
    ops: ['scatterAdd'], name: 'scatterAdd duplicate indices (axis 0)',
    inputs: [{ shape: [4, 3] }, { shape: [6, 3] }],
    fn: (t, u) => T.scatterAdd(t!, ids([1, 3, 1, 1, 0, -1]), u!, 0),
  },
  {
    ops: ['scatterAdd'], name: 'scatterAdd middle axis, 2-D duplicate indices',
    inputs: [{ shape: [2, 3, 2] }, { shape: [2, 2, 2, 2] }],
    fn: (t, u) => T.scatterAdd(t!, ids([2, 0, 2, 2], [2, 2]), u!, 1),
  },
  {
    ops: ['scatterAdd'], name: 'scatterAdd last axis, random indices',
    inputs: [{ shape: [3, 4] }, { shape: [5], kind: 'int', high: 4 }, { shape: [3, 5] }],
    fn: (t, i, u) => T.scatterAdd(t!, i!, u!, -1),
  },
  // Big enough for ONNX Runtime to split the work across threads, where ScatterND (add) loses updates.
  {
    ops: ['scatterAdd'], name: 'scatterAdd 2048 ids over 10 rows (threaded kernel)',
    inputs: [{ shape: [10, 512] }, { shape: [2048], kind: 'int', high: 10 }, { shape: [2048, 512] }],
    fn: (t, i, u) => T.scatterAdd(t!, i!, u!, 0), noGrad: true,
  },
  { ops: ['scatterAdd'], name: 'scatterAdd int64', inputs: [{ shape: [3], kind: 'int' }, { shape: [4], kind: 'int' }], fn: (t, u) => T.scatterAdd(t!, ids([2, 2, 0, 2]), u!), noGrad: true },
  // argmax
  { ops: ['argmax'], name: 'argmax last axis', inputs: [{ shape: [3, 5] }], fn: (x) => T.argmax(x!, -1), noGrad: true },
  { ops: ['argmax'], name: 'argmax middle axis keepdims', inputs: [{ shape: [2, 4, 3] }], fn: (x) => T.argmax(x!, 1, true), noGrad: true },
  { ops: ['argmax'], name: 'argmax first of ties', inputs: [{ shape: [3, 4], kind: 'int', high: 2 }], fn: (x) => T.argmax(x!, 1), noGrad: true },
  // topk
  { ops: ['topk'], name: 'topk values', inputs: [{ shape: [3, 6] }], fn: (x) => T.topk(x!, 3).values },
  { ops: ['topk'], name: 'topk values, middle axis', inputs: [{ shape: [2, 5, 3] }], fn: (x) => T.topk(x!, 2, 1).values },
  { ops: ['topk', 'cast'], name: 'topk values and indices from one TopK node', inputs: [{ shape: [3, 5] }], fn: (x) => T.add(T.topk(x!, 2).values, T.cast(T.topk(x!, 2).indices, 'float32')) },
  { ops: ['topk'], name: 'topk indices', inputs: [{ shape: [4, 5] }], fn: (x) => T.topk(x!, 4).indices, noGrad: true },
  { ops: ['topk'], name: 'topk indices of ties (lower index first)', inputs: [{ shape: [3, 6], kind: 'int', high: 3 }], fn: (x) => T.topk(x!, 4).indices, noGrad: true },
  // oneHot (equal + cast)
  { ops: ['equal', 'cast'], name: 'oneHot', inputs: [{ shape: [2, 3], kind: 'int', high: 5 }], fn: (i) => T.oneHot(i!, 4), noGrad: true },
  { ops: ['equal', 'cast', 'mul', 'sum'], name: 'oneHot picks', inputs: [{ shape: [3, 4] }, { shape: [3], kind: 'int', high: 4 }], fn: (x, i) => T.sum(T.mul(x!, T.oneHot(i!, 4)), -1) },
  // layerNorm
  { ops: ['layerNorm'], name: 'layerNorm plain, last axis', inputs: [{ shape: [3, 5] }], fn: (x) => T.layerNorm(x!) },
  { ops: ['layerNorm'], name: 'layerNorm affine, last axis', inputs: [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }], fn: (x, w, b) => T.layerNorm(x!, w, b) },
  { ops: ['layerNorm'], name: 'layerNorm affine, 2 trailing axes', inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }, { shape: [3, 4] }], fn: (x, w, b) => T.layerNorm(x!, w, b, { axis: 1 }) },
  { ops: ['layerNorm'], name: 'layerNorm plain, 2 trailing axes, eps', inputs: [{ shape: [3, 2, 3] }], fn: (x) => T.layerNorm(x!, null, null, { axis: -2, eps: 0.1 }) },
  { ops: ['layerNorm'], name: 'layerNorm weight only', inputs: [{ shape: [4, 3] }, { shape: [3] }], fn: (x, w) => T.layerNorm(x!, w) },
  { ops: ['layerNorm'], name: 'layerNorm bias only', inputs: [{ shape: [4, 3] }, { shape: [3] }], fn: (x, b) => T.layerNorm(x!, null, b) },
  // losses and dropout
  { ops: ['max', 'stopGradient', 'exp', 'log'], name: 'logSumExp', inputs: [{ shape: [3, 5] }], fn: (x) => T.logSumExp(T.mul(x!, 10), -1) },
  { ops: ['max', 'stopGradient'], name: 'logSumExp axis 0 keepdims', inputs: [{ shape: [4, 3] }], fn: (x) => T.logSumExp(x!, 0, true) },
  { ops: ['logSoftmax', 'gather'], name: 'crossEntropy mean', inputs: [{ shape: [2, 3, 5] }, { shape: [2, 3], kind: 'int', high: 5 }], fn: (l, t) => T.crossEntropy(l!, t!) },
  { ops: ['logSoftmax', 'gather'], name: 'crossEntropy class axis 1, none', inputs: [{ shape: [2, 4, 3] }, { shape: [2, 3], kind: 'int', high: 4 }], fn: (l, t) => T.crossEntropy(l!, t!, { axis: 1, reduction: 'none' }) },
  { ops: ['logSoftmax', 'gather'], name: 'crossEntropy sum', inputs: [{ shape: [4, 6] }, { shape: [4], kind: 'int', high: 6 }], fn: (l, t) => T.crossEntropy(l!, t!, { reduction: 'sum' }) },
  { ops: ['mul', 'cast'], name: 'dropout', inputs: [{ shape: [3, 4] }, { shape: [3, 4], kind: 'bool' }], fn: (x, m) => T.dropout(x!, m!, 0.25) },
];
