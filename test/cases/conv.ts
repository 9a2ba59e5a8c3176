// Op cases for the convolution family, with both weight-gradient formulations forced in turn.
import * as T from '../../src/tensor/index.ts';
import type { OpCase } from '../support/opcheck.ts';

const both = (name: string, make: (method: 'batchconv' | 'im2col') => Omit<OpCase, 'name'>): OpCase[] =>
  (['batchconv', 'im2col'] as const).map((m) => ({ ...make(m), name: `${name} (weight grad: ${m})` }));

export const convCases: OpCase[] = [
  ...both('conv2d 3×3 padding 1 with bias', (m) => ({
    ops: ['conv2d', 'convTranspose2d', 'conv2dWeightGrad'], inputs: [{ shape: [2, 3, 5, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }],
    fn: (x, w, b) => T.conv2d(x!, w!, b!, { padding: 1, weightGrad: m }),
  })),
  ...both('conv2d stride 2, asymmetric padding, odd size', (m) => ({
    ops: ['conv2d'], inputs: [{ shape: [1, 2, 7, 6] }, { shape: [3, 2, 3, 2] }],
    fn: (x, w) => T.conv2d(x!, w!, undefined, { stride: 2, padding: [1, 0, 0, 1], weightGrad: m }),
  })),
  ...both('conv2d dilation 2', (m) => ({
    ops: ['conv2d'], inputs: [{ shape: [1, 2, 7, 7] }, { shape: [2, 2, 3, 3] }],
    fn: (x, w) => T.conv2d(x!, w!, undefined, { dilation: 2, padding: 2, weightGrad: m }),
  })),
  ...both('conv2d groups 2', (m) => ({
    ops: ['conv2d'], inputs: [{ shape: [2, 4, 4, 4] }, { shape: [6, 2, 3, 3] }],
    fn: (x, w) => T.conv2d(x!, w!, undefined, { groups: 2, padding: 1, weightGrad: m }),
  })),
  ...both('conv2d depthwise', (m) => ({
    ops: ['conv2d'], inputs: [{ shape: [1, 3, 4, 4] }, { shape: [3, 1, 3, 3] }],
    fn: (x, w) => T.conv2d(x!, w!, undefined, { groups: 3, padding: 1, weightGrad: m }),
  })),
  ...both('conv2d 1×1', (m) => ({
    ops: ['conv2d'], inputs: [{ shape: [2, 5, 3, 3] }, { shape: [4, 5, 1, 1] }],
    fn: (x, w) => T.conv2d(x!, w!, undefined, { weightGrad: m }),
  })),
  ...both('conv2d 7×7 padding 3', (m) => ({
    ops: ['conv2d'], inputs: [{ shape: [1, 3, 8, 8] }, { shape: [2, 3, 7, 7] }],
    fn: (x, w) => T.conv2d(x!, w!, undefined, { padding: 3, weightGrad: m }),
  })),
  ...both('convTranspose2d stride 2, output padding', (m) => ({
    ops: ['convTranspose2d', 'conv2dWeightGrad'], inputs: [{ shape: [2, 3, 3, 3] }, { shape: [3, 2, 3, 3] }, { shape: [2] }],
    fn: (x, w, b) => T.convTranspose2d(x!, w!, b!, { stride: 2, padding: 1, outputPadding: 1, weightGrad: m }),
  })),
  {
    ops: ['convTranspose2d'], name: 'convTranspose2d groups 2, dilation', inputs: [{ shape: [1, 4, 3, 3] }, { shape: [4, 1, 2, 2] }],
    fn: (x, w) => T.convTranspose2d(x!, w!, undefined, { groups: 2, dilation: 2 }),
  },
  { ops: ['maxPool2d', 'maxPool2dGrad'], name: 'maxPool2d 2×2', inputs: [{ shape: [2, 3, 4, 6] }], fn: (x) => T.maxPool2d(x, { kernel: 2 }) },
  { ops: ['maxPool2d', 'maxPool2dGrad'], name: 'maxPool2d 3×3 stride 2 padding 1 (overlapping)', inputs: [{ shape: [1, 2, 5, 5] }], fn: (x) => T.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 }) },
  { ops: ['maxPool2dGrad'], name: 'maxPool2dGrad forward', inputs: [{ shape: [1, 2, 4, 4] }, { shape: [1, 2, 2, 2] }], noGrad: true,
    fn: (x, g) => T.vjp(T.maxPool2d(x!, { kernel: 2 }), [x!], g!)[0]! },
  { ops: ['avgPool2d'], name: 'avgPool2d 2×2', inputs: [{ shape: [2, 2, 4, 4] }], fn: (x) => T.avgPool2d(x, { kernel: 2 }) },
  { ops: ['avgPool2d'], name: 'avgPool2d 3×3 stride 2 padding 1', inputs: [{ shape: [1, 2, 5, 5] }], fn: (x) => T.avgPool2d(x, { kernel: 3, stride: 2, padding: 1 }) },
  { ops: ['upsampleNearest2d'], name: 'upsampleNearest2d ×2', inputs: [{ shape: [2, 3, 3, 2] }], fn: (x) => T.upsampleNearest2d(x, 2) },
  { ops: ['upsampleNearest2d'], name: 'upsampleNearest2d ×3', inputs: [{ shape: [1, 1, 2, 2] }], fn: (x) => T.upsampleNearest2d(x, 3) },
  { ops: ['conv2dWeightGrad'], name: 'conv2dWeightGrad forward, stride 2', inputs: [{ shape: [2, 2, 6, 6] }, { shape: [2, 3, 4, 4] }], noGrad: true,
    fn: (x, g) => {
      const w = T.constant(new T.Rng(1).randn([3, 2, 2, 2]));
      return T.vjp(T.conv2d(x!, w, undefined, { stride: 2, padding: 1 }), [w], g!)[0]!;
    } },
];
