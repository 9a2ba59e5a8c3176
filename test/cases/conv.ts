// Op cases for the convolution family: conv2d and convTranspose2d over strides, asymmetric padding, dilation,
// groups (depthwise included), bias, odd sizes, 1×1 and 7×7 kernels; every gradient formulation forced in
// turn (the gradient ops computed through `vjp` inside the case, so ONNX Runtime runs that lowering and the
// case's own gradient check exercises the gradient op's gradient rule); pooling with ties and overlapping
// windows; nearest upsampling. Shapes stay tiny: the float64 reference and finite differences walk them.
import * as T from '../../src/tensor/index.ts';
import type { OpCase } from '../support/opcheck.ts';

interface ConvConfig {
  name: string;
  x: number[];
  w: number[];
  opts: T.Conv2dOptions;
}

const configs: ConvConfig[] = [
  { name: '3×3 padding 1', x: [2, 3, 5, 5], w: [4, 3, 3, 3], opts: { padding: 1 } },
  { name: 'stride 2, padding [1, 0, 0, 1], odd size, 3×2 kernel', x: [1, 2, 7, 6], w: [3, 2, 3, 2], opts: { stride: 2, padding: [1, 0, 0, 1] } },
  { name: 'groups 2, dilation 2', x: [2, 4, 6, 6], w: [4, 2, 3, 3], opts: { groups: 2, dilation: 2, padding: 2 } },
  { name: 'depthwise, stride 2', x: [1, 3, 5, 5], w: [3, 1, 3, 3], opts: { groups: 3, stride: 2, padding: 1 } },
  { name: '1×1', x: [2, 5, 3, 3], w: [4, 5, 1, 1], opts: {} },
  { name: '7×7 padding 3', x: [1, 3, 8, 8], w: [2, 3, 7, 7], opts: { padding: 3 } },
  { name: 'stride 2, a row and column never read', x: [1, 2, 6, 6], w: [2, 2, 3, 3], opts: { stride: [2, 2] } },
  { name: 'padding beyond the kernel, stride 2', x: [1, 2, 6, 5], w: [2, 2, 3, 3], opts: { stride: 2, padding: 3 } },
  // 256 output pixels: im2col's per-sample layout.
  { name: '16×16, 1 channel', x: [1, 1, 16, 16], w: [2, 1, 3, 3], opts: { padding: 1 } },
];

const outShape = (c: ConvConfig): number[] => T.conv2d(T.placeholder(c.x, 'float32', 'x'), T.placeholder(c.w, 'float32', 'w'), null, c.opts).shape as number[];

const inputGradCases = (['transpose', 'flipconv'] as const).flatMap((m) => configs.map((c): OpCase => ({
  ops: ['convTranspose2d'],
  name: `conv2d dx by ${m}: ${c.name}`,
  inputs: [{ shape: c.x, noGrad: true }, { shape: c.w }, { shape: outShape(c) }],
  fn: (x, w, g) => T.withConvGradMethod(m, () => T.vjp(T.conv2d(x!, w!, null, c.opts), [x!], g!)[0]!),
})));

const weightGradCases = (['batchconv', 'im2col'] as const).flatMap((m) => configs.map((c): OpCase => ({
  ops: ['conv2dWeightGrad'],
  name: `conv2d dw by ${m}: ${c.name}`,
  inputs: [{ shape: c.x }, { shape: c.w, noGrad: true }, { shape: outShape(c) }],
  fn: (x, w, g) => T.withConvGradMethod(m, () => T.vjp(T.conv2d(x!, w!, null, c.opts), [w!], g!)[0]!),
})));

/** Integer-valued floats in [0, 3): pooling windows with tied maxima. */
const ties = (x: T.Tensor): T.Tensor => T.cast(x, 'float32');

export const convCases: OpCase[] = [
  // Forward ops; their gradient checks go through each op's rule with the formulations the rule picks.
  ...configs.map((c): OpCase => ({ ops: ['conv2d'], name: `conv2d ${c.name}`, inputs: [{ shape: c.x }, { shape: c.w }], fn: (x, w) => T.conv2d(x!, w!, null, c.opts) })),
  { ops: ['conv2d'], name: 'conv2d with bias', inputs: [{ shape: [2, 3, 4, 4] }, { shape: [2, 3, 3, 3] }, { shape: [2] }], fn: (x, w, b) => T.conv2d(x!, w!, b!, { padding: 1 }) },
  ...(['transpose', 'flipconv'] as const).flatMap((m): OpCase[] => [
    {
      ops: ['convTranspose2d'], name: `convTranspose2d by ${m}: stride 2, padding 1, output padding 1, bias`,
      inputs: [{ shape: [2, 3, 3, 3] }, { shape: [3, 2, 3, 3] }, { shape: [2] }],
      fn: (x, w, b) => T.withConvGradMethod(m, () => T.convTranspose2d(x!, w!, b!, { stride: 2, padding: 1, outputPadding: 1 })),
    },
    {
      ops: ['convTranspose2d'], name: `convTranspose2d by ${m}: groups 2, dilation 2, 2×2 kernel`,
      inputs: [{ shape: [1, 4, 3, 3] }, { shape: [4, 1, 2, 2] }],
      fn: (x, w) => T.withConvGradMethod(m, () => T.convTranspose2d(x!, w!, null, { groups: 2, dilation: 2 })),
    },
    {
      ops: ['convTranspose2d'], name: `convTranspose2d by ${m}: stride [2, 1], padding [0, 1, 1, 0]`,
      inputs: [{ shape: [1, 2, 3, 4] }, { shape: [2, 3, 3, 2] }],
      fn: (x, w) => T.withConvGradMethod(m, () => T.convTranspose2d(x!, w!, null, { stride: [2, 1], padding: [0, 1, 1, 0] })),
    },
  ]),
  // Every gradient formulation on ONNX Runtime; the gradient checks here test the gradient ops' own rules.
  ...inputGradCases,
  ...weightGradCases,
  // Pooling.
  { ops: ['maxPool2d', 'argmaxPool2d', 'scatterAdd'], name: 'maxPool2d 2×2', inputs: [{ shape: [2, 3, 4, 6] }], fn: (x) => T.maxPool2d(x!, { kernel: 2 }) },
  { ops: ['maxPool2d'], name: 'maxPool2d 3×3 stride 2 padding 1 (overlapping windows)', inputs: [{ shape: [1, 2, 5, 5] }], fn: (x) => T.maxPool2d(x!, { kernel: 3, stride: 2, padding: 1 }) },
  { ops: ['maxPool2d'], name: 'maxPool2d 2×3 kernel, odd size', inputs: [{ shape: [1, 2, 5, 7] }], fn: (x) => T.maxPool2d(x!, { kernel: [2, 3], stride: [2, 1] }) },
  {
    ops: ['argmaxPool2d'], name: 'argmaxPool2d: first of tied maxima, padding never wins', noGrad: true,
    inputs: [{ shape: [2, 2, 5, 5], kind: 'int', high: 3 }],
    fn: (x) => T.argmaxPool2d(T.sub(ties(x!), 3), { kernel: 3, stride: 2, padding: 1 }),
  },
  {
    ops: ['maxPool2d', 'argmaxPool2d', 'scatterAdd'], name: 'maxPool2d gradient with ties (first maximum) and overlap',
    inputs: [{ shape: [1, 2, 6, 6], kind: 'int', high: 3 }, { shape: [1, 2, 3, 3] }],
    fn: (x, g) => {
      const xf = ties(x!);
      return T.vjp(T.maxPool2d(xf, { kernel: 3, stride: 2, padding: 1 }), [xf], g!)[0]!;
    },
  },
  { ops: ['avgPool2d'], name: 'avgPool2d 2×2', inputs: [{ shape: [2, 2, 4, 4] }], fn: (x) => T.avgPool2d(x!, { kernel: 2 }) },
  { ops: ['avgPool2d'], name: 'avgPool2d 3×3 stride 2 padding 1 (padding counted)', inputs: [{ shape: [1, 2, 5, 5] }], fn: (x) => T.avgPool2d(x!, { kernel: 3, stride: 2, padding: 1 }) },
  ...(['transpose', 'flipconv'] as const).map((m): OpCase => ({
    ops: ['avgPool2d', 'convTranspose2d'], name: `avgPool2d gradient by ${m}`,
    inputs: [{ shape: [1, 3, 5, 5] }, { shape: [1, 3, 3, 3] }],
    fn: (x, g) => T.withConvGradMethod(m, () => T.vjp(T.avgPool2d(x!, { kernel: 3, stride: 2, padding: 1 }), [x!], g!)[0]!),
  })),
  // Nearest upsampling.
  { ops: ['upsampleNearest2d'], name: 'upsampleNearest2d ×2', inputs: [{ shape: [2, 3, 3, 2] }], fn: (x) => T.upsampleNearest2d(x!, 2) },
  { ops: ['upsampleNearest2d'], name: 'upsampleNearest2d ×[3, 2]', inputs: [{ shape: [1, 2, 2, 3] }], fn: (x) => T.upsampleNearest2d(x!, [3, 2]) },
];
