// The convolution family in NCHW layout, float32: conv2d, convTranspose2d, max/average pooling and nearest
// upsampling, with the gradient ops they need.
//
// A convolution's gradients are convolutions too, and ONNX offers more than one way to write each, with very
// different speeds on ONNX Runtime's CPU kernels (weights arrive as graph inputs, so nothing is pre-packed):
//   dx — the transposed convolution of gy with w. `transpose`: ONNX ConvTranspose. `flipconv`: an ordinary
//        Conv of gy (zero-inserted when strided) with w spatially flipped and its channel axes swapped.
//        Both are the `convTranspose2d` op, which is also the public transposed convolution.
//   dw — `conv2dWeightGrad`. `batchconv`: a Conv that treats the batch as channels (x as [C, N, H, W]
//        convolved with gy as [Cout, N, H', W'] as the kernel, stride and dilation swapping roles). `im2col`:
//        the kh·kw strided windows of x sliced out and concatenated, then a MatMul with gy.
// `chooseConvGradMethod` picks per shape from measurements on this machine (see the rule's comment); the
// method is stored in the op's attributes at trace time, so a traced graph says how it will be lowered, and
// every method shares one float64 reference kernel. DALLE_CONV_GRAD=transpose|flipconv|batchconv|im2col
// (or `withConvGradMethod`) forces one method, for tests and benchmarks.
//
// The gradient ops are linear in each input, so their own gradients are again ops of this family and
// second derivatives work. Max-pooling's gradient routes gy to the first maximum of each window (PyTorch's
// rule for ties) through the window's argmax index (`argmaxPool2d`, ONNX MaxPool's Indices output) and the
// existing scatterAdd. Average pooling counts padding zeros in the divisor (PyTorch's default,
// count_include_pad=True); its gradient is a depthwise transposed convolution with a constant kernel.
// Nearest upsampling (integer factors) lowers to ONNX Resize; its gradient sums each s×s block.
import { attr, defineOp, type LowerContext, type RefArray } from '../op.ts';
import { NDArray } from '../ndarray.ts';
import { type Shape, shapeStr, sizeOf } from '../shape.ts';
import { type Tensor, apply, constant } from '../tensor.ts';
import { scatterAdd } from './indexing.ts';
import { sum } from './reduce.ts';
import { expand, reshape } from './shape.ts';

type Pair = [number, number];
/** Spatial padding in ONNX's order: [top, left, bottom, right]. */
type Pads = [number, number, number, number];

/** Normalised convolution attributes, as stored in the ops. */
export interface ConvAttrs {
  stride: Pair;
  dilation: Pair;
  pads: Pads;
  groups: number;
}

export type ConvInputGradMethod = 'transpose' | 'flipconv';
export type ConvWeightGradMethod = 'batchconv' | 'im2col';
export type ConvGradMethod = ConvInputGradMethod | ConvWeightGradMethod;
const INPUT_METHODS: readonly string[] = ['transpose', 'flipconv'];
const WEIGHT_METHODS: readonly string[] = ['batchconv', 'im2col'];

interface TransposeAttrs extends ConvAttrs {
  /** The full output shape [N, C, H, W] (output padding included), as the conv whose input it is. */
  outShape: number[];
  method: ConvInputGradMethod;
}

interface WeightGradAttrs extends ConvAttrs {
  wShape: number[];
  method: ConvWeightGradMethod;
}

interface PoolAttrs {
  kernel: Pair;
  stride: Pair;
  pads: Pads;
}

export type Padding2d = number | readonly [number, number] | readonly [number, number, number, number];

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  /** A number for all sides, [vertical, horizontal], or [top, left, bottom, right] (ONNX's order). */
  padding?: Padding2d;
  dilation?: number | readonly [number, number];
  groups?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns at the bottom/right of the output (each below the stride or the dilation). */
  outputPadding?: number | readonly [number, number];
}

export interface Pool2dOptions {
  kernel: number | readonly [number, number];
  /** Defaults to the kernel size, as in PyTorch. */
  stride?: number | readonly [number, number];
  /** Symmetric padding, at most half the kernel (PyTorch's limit). */
  padding?: number | readonly [number, number];
}

// ---- option parsing and shape arithmetic ---------------------------------------------------------------

function pairOf(v: number | readonly number[] | undefined, dflt: number, what: string, op: string, min: number): Pair {
  const p = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || p.some((d) => !Number.isInteger(d) || d < min)) {
    throw new RangeError(`${op}: ${what} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p as Pair;
}

function padsOf(v: Padding2d | undefined, op: string): Pads {
  const p = v === undefined ? [0, 0, 0, 0] : typeof v === 'number' ? [v, v, v, v] : v.length === 2 ? [v[0], v[1], v[0], v[1]] : [...v];
  if (p.length !== 4 || p.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(`${op}: padding must be a non-negative integer, [vertical, horizontal] or [top, left, bottom, right], got ${JSON.stringify(v)}`);
  }
  return p as Pads;
}

function convAttrsOf(opts: Conv2dOptions, op: string): ConvAttrs {
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  return {
    stride: pairOf(opts.stride, 1, 'stride', op, 1),
    dilation: pairOf(opts.dilation, 1, 'dilation', op, 1),
    pads: padsOf(opts.padding, op),
    groups,
  };
}

/** Output length of a convolution along one axis (axis 0: height, 1: width). */
function convOut(n: number, k: number, a: ConvAttrs | PoolAttrs, axis: 0 | 1): number {
  const d = 'dilation' in a ? a.dilation[axis] : 1;
  return Math.floor((n + a.pads[axis]! + a.pads[axis + 2]! - d * (k - 1) - 1) / a.stride[axis]) + 1;
}

const desc = (t: { dtype: string; shape: Shape }) => `${t.dtype}${shapeStr(t.shape)}`;

function needNchw(op: string, role: string, t: Tensor): void {
  if (t.dtype !== 'float32' || t.rank !== 4) throw new RangeError(`${op}: ${role} must be float32[N, C, H, W], got ${desc(t)}`);
}

/** The forward convolution's [N, Cout, H', W'] from x [N, Cin, H, W] and w [Cout, Cin/groups, kh, kw], or
 *  an error naming the op and both shapes. */
function convShape(op: string, x: Shape, w: Shape, a: ConvAttrs): number[] {
  const fail = (why: string) => new RangeError(`${op}: ${why}: x ${shapeStr(x)}, w ${shapeStr(w)}, stride ${a.stride}, padding ${a.pads}, dilation ${a.dilation}, groups ${a.groups}`);
  const [n, cin, h, wd] = x as [number, number, number, number];
  const [cout, cg, kh, kw] = w as [number, number, number, number];
  if (cin % a.groups !== 0 || cout % a.groups !== 0) throw fail(`${cin} input and ${cout} output channels do not divide into ${a.groups} groups`);
  if (cg * a.groups !== cin) throw fail(`the weight expects ${cg * a.groups} input channels (${cg} per group × ${a.groups} groups), x has ${cin}`);
  const oh = convOut(h, kh, a, 0);
  const ow = convOut(wd, kw, a, 1);
  if (oh < 1 || ow < 1) throw fail('the (dilated) kernel is larger than the padded input');
  return [n, cout, oh, ow];
}

// ---- the conv-grad formulation rule ----------------------------------------------------------------------

let forced: ConvGradMethod | null = null;

function envMethod(): ConvGradMethod | null {
  const v = typeof process === 'undefined' ? undefined : process.env.DALLE_CONV_GRAD;
  if (!v) return null;
  if (!INPUT_METHODS.includes(v) && !WEIGHT_METHODS.includes(v)) {
    throw new RangeError(`DALLE_CONV_GRAD=${v}: expected one of ${[...INPUT_METHODS, ...WEIGHT_METHODS].join(', ')}`);
  }
  return v as ConvGradMethod;
}

/** Trace `fn` with one conv-gradient formulation forced (the other kind keeps the rule). */
export function withConvGradMethod<R>(method: ConvGradMethod, fn: () => R): R {
  const before = forced;
  forced = method;
  try {
    return fn();
  } finally {
    forced = before;
  }
}

export interface ConvGradShapes {
  /** The forward convolution's input, weight and output shapes. */
  x: Shape;
  w: Shape;
  y: Shape;
}

/**
 * The formulations for a convolution's dx and dw. Measured on this project's 2-core machine (AMD EPYC,
 * ONNX Runtime 1.30, 2 threads, float32), median ms per gradient, with `node --import tsx bench/engine.ts
 * --sweep` over the dVAE's shapes:
 *
 *   N, Cin→Cout, px, kernel (stride 1) | dx transpose | dx flipconv | dw batchconv | dw im2col
 *   8, 3→32, 64, 7×7                   |     42       |     88      |     40       |     67
 *   16, 3→64, 32, 7×7                  |     42       |     97      |     58       |     40
 *   8, 32→32, 64, 3×3                  |     86       |     48      |    197       |     80
 *   16, 64→16, 32, 3×3                 |     60       |     34      |    188       |     83
 *   16, 16→16, 32, 3×3                 |     22       |     19      |     76       |     40
 *   32, 64→64, 32, 3×3                 |    194       |     95      |    387       |    162
 *   32, 128→128, 16, 3×3               |    146       |     71      |    220       |    130
 *   32, 256→256, 8, 3×3                |    228       |    131      |    201       |    124
 *   16, 8→32, 32, 3×3                  |     21       |     20      |     41       |     36
 *   16, 16→64, 32, 1×1                 |     20       |     20      |     34       |     17
 *   32, 64→256, 8, 1×1                 |     19       |     17      |     40       |     16
 *   16, 64→64, 32, 3×3, stride 2       |     35       |     83      |     69       |     90
 *   16, 64→64, 32, 3×3, depthwise      |     25       |     24      |     75       |    224
 *
 * The machine was shared (load average 4–6 on 2 cores), so absolute times are inflated and vary ±30% from
 * run to run. Across the sweeps (three; two for the depthwise and 8→32 rows) flipconv won dx for unstrided
 * 3×3 kernels with ≥ 16 channels by 1.2–2×, and transpose for strided convs and the 7×7 RGB conv by 2×; a
 * 1×1 dx is a tie. im2col won dw by 1.5–2.5× at ≥ 16 channels; batchconv won depthwise by 3×; the 7×7 RGB
 * conv's dw and the strided dw went either way within 1.6×, so the rule keys on channels per group.
 */
export function chooseConvGradMethod(shapes: ConvGradShapes, attrs: ConvAttrs): { input: ConvInputGradMethod; weight: ConvWeightGradMethod } {
  const override = forced ?? envMethod();
  const input: ConvInputGradMethod = override && INPUT_METHODS.includes(override) ? (override as ConvInputGradMethod) : ruleInput(shapes, attrs);
  const weight: ConvWeightGradMethod = override && WEIGHT_METHODS.includes(override) ? (override as ConvWeightGradMethod) : ruleWeight(shapes, attrs);
  return { input, weight };
}

// dx: the flipped Conv for unstrided kernels larger than 1×1 whose dx has 16 or more channels; otherwise
// ConvTranspose (strided: the flipped Conv would multiply the inserted zeros; few channels: the flipped
// Conv's GEMM has too few rows, as for the 7×7 input conv over RGB; 1×1: a tie or better).
function ruleInput(s: ConvGradShapes, a: ConvAttrs): ConvInputGradMethod {
  const unstrided = a.stride[0] === 1 && a.stride[1] === 1;
  const spatial = s.w[2]! * s.w[3]! > 1;
  return unstrided && spatial && s.x[1]! >= 16 ? 'flipconv' : 'transpose';
}

// dw: im2col's single GEMM unless each kernel tap carries fewer than 8 input channels per group (the 7×7
// RGB input conv, depthwise convs), where its kh·kw thin slices cost more than the batch-as-channel Conv.
function ruleWeight(s: ConvGradShapes, a: ConvAttrs): ConvWeightGradMethod {
  return s.x[1]! / a.groups >= 8 ? 'im2col' : 'batchconv';
}

// ---- reference kernels -----------------------------------------------------------------------------------

/** Every (x, w, y) flat-index triple that a convolution multiplies-and-adds: y[yi] += x[xi]·w[wi]. The
 *  forward pass, the transposed convolution and the weight gradient are the same walk. */
function forEachTap(x: Shape, w: Shape, y: Shape, a: ConvAttrs, visit: (xi: number, wi: number, yi: number) => void): void {
  const [n, cin, h, wd] = x as [number, number, number, number];
  const [cout, cg, kh, kw] = w as [number, number, number, number];
  const [, , oh, ow] = y as [number, number, number, number];
  const og = cout / a.groups;
  const [sh, sw] = a.stride;
  const [dh, dw] = a.dilation;
  const [pt, pl] = a.pads;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const c0 = Math.floor(co / og) * cg;
      for (let p = 0; p < oh; p++) {
        for (let q = 0; q < ow; q++) {
          const yi = ((b * cout + co) * oh + p) * ow + q;
          for (let ci = 0; ci < cg; ci++) {
            for (let i = 0; i < kh; i++) {
              const r = p * sh + i * dh - pt;
              if (r < 0 || r >= h) continue;
              for (let j = 0; j < kw; j++) {
                const c = q * sw + j * dw - pl;
                if (c < 0 || c >= wd) continue;
                visit(((b * cin + c0 + ci) * h + r) * wd + c, ((co * cg + ci) * kh + i) * kw + j, yi);
              }
            }
          }
        }
      }
    }
  }
}

function addBias(out: Float64Array, b: RefArray | undefined, shape: Shape): Float64Array {
  if (!b) return out;
  const [, c, h, w] = shape as [number, number, number, number];
  for (let i = 0; i < out.length; i++) out[i]! += b.data[Math.floor(i / (h * w)) % c]!;
  return out;
}

/** Ref: each pooling window's real (unpadded) input positions as flat indices into x. */
function forEachWindow(x: Shape, a: PoolAttrs, out: Shape, visit: (o: number, taps: number[]) => void): void {
  const [n, c, h, w] = x as [number, number, number, number];
  const [, , oh, ow] = out as [number, number, number, number];
  const taps: number[] = [];
  for (let nc = 0; nc < n * c; nc++) {
    for (let p = 0; p < oh; p++) {
      for (let q = 0; q < ow; q++) {
        taps.length = 0;
        for (let i = 0; i < a.kernel[0]; i++) {
          const r = p * a.stride[0] + i - a.pads[0];
          if (r < 0 || r >= h) continue;
          for (let j = 0; j < a.kernel[1]; j++) {
            const col = q * a.stride[1] + j - a.pads[1];
            if (col >= 0 && col < w) taps.push((nc * h + r) * w + col);
          }
        }
        visit((nc * oh + p) * ow + q, taps);
      }
    }
  }
}

// ---- ONNX lowering helpers -------------------------------------------------------------------------------

const convOnnxAttrs = (a: ConvAttrs, kernel: readonly number[]) => ({
  kernel_shape: attr.ints(kernel),
  strides: attr.ints(a.stride),
  dilations: attr.ints(a.dilation),
  pads: attr.ints(a.pads),
  group: attr.int(a.groups),
});

const reshapeTo = (ctx: LowerContext, x: string, shape: readonly number[]) => ctx.emit('Reshape', [x, ctx.int64s(shape)])[0]!;
const transposeBy = (ctx: LowerContext, x: string, perm: readonly number[]) => ctx.emit('Transpose', [x], { perm: attr.ints(perm) })[0]!;

/** Spatial padding that may be negative on a side: crop those sides with Slice and return the remaining
 *  non-negative pads for a Conv's `pads` attribute. `shape` is x's [N, C, H, W]. */
function cropNegative(ctx: LowerContext, x: string, shape: Shape, pads: readonly number[]): { x: string; pads: Pads } {
  const crop = pads.map((p) => Math.max(0, -p));
  if (crop.every((c) => c === 0)) return { x, pads: pads as Pads };
  const starts = [crop[0]!, crop[1]!];
  const ends = [shape[2]! - crop[2]!, shape[3]! - crop[3]!];
  const sliced = ctx.emit('Slice', [x, ctx.int64s(starts), ctx.int64s(ends), ctx.int64s([2, 3])])[0]!;
  return { x: sliced, pads: pads.map((p) => Math.max(0, p)) as Pads };
}

/** convTranspose2d as ONNX ConvTranspose. */
function lowerTranspose(ctx: LowerContext, [x, w, b]: readonly string[], node: Tensor<TransposeAttrs>): string {
  const a = node.attrs;
  const [, , h, wd] = node.inputs[0]!.shape as number[];
  const [, , kh, kw] = node.inputs[1]!.shape as number[];
  const base = (n: number, k: number, axis: 0 | 1) => (n - 1) * a.stride[axis] + a.dilation[axis] * (k - 1) + 1 - a.pads[axis]! - a.pads[axis + 2]!;
  const outputPadding = [a.outShape[2]! - base(h!, kh!, 0), a.outShape[3]! - base(wd!, kw!, 1)];
  return ctx.emit('ConvTranspose', b ? [x!, w!, b] : [x!, w!], { ...convOnnxAttrs(a, [kh!, kw!]), output_padding: attr.ints(outputPadding) })[0]!;
}

/** convTranspose2d as a Conv of x (zero-inserted when strided) with the flipped, channel-swapped kernel. */
function lowerFlipConv(ctx: LowerContext, [x, w, b]: readonly string[], node: Tensor<TransposeAttrs>): string {
  const a = node.attrs;
  const [n, cin, h, wd] = node.inputs[0]!.shape as [number, number, number, number];
  const [, og, kh, kw] = node.inputs[1]!.shape as [number, number, number, number];
  const g = a.groups;
  const cg = cin / g;
  // w [Cin, Cout/g, kh, kw] (transposed-conv layout) → [Cout, Cin/g, kh, kw] (conv layout), flipped.
  const swapped = g === 1
    ? transposeBy(ctx, w!, [1, 0, 2, 3])
    : reshapeTo(ctx, transposeBy(ctx, reshapeTo(ctx, w!, [g, cg, og, kh, kw]), [0, 2, 1, 3, 4]), [g * og, cg, kh, kw]);
  const flipped = ctx.emit('Slice', [swapped, ctx.int64s([-1, -1]), ctx.int64s([-(2 ** 53), -(2 ** 53)]), ctx.int64s([2, 3]), ctx.int64s([-1, -1])])[0]!;
  // Zero insertion: [N, C, H, W] → [N, C, H, s, W, s] with zeros after each element → [N, C, H·s, W·s].
  const [sh, sw] = a.stride;
  let input = x!;
  let shape: number[] = [n, cin, h, wd];
  if (sh > 1 || sw > 1) {
    const spread = ctx.emit('Pad', [reshapeTo(ctx, x!, [n, cin, h, 1, wd, 1]), ctx.int64s([0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1])])[0]!;
    shape = [n, cin, h * sh, wd * sw];
    input = reshapeTo(ctx, spread, shape);
  }
  // Full padding d·(k−1) less the forward padding; the end side also covers the output padding and drops
  // the trailing zeros of the insertion.
  const ext = [a.dilation[0] * (kh - 1), a.dilation[1] * (kw - 1)];
  // A stride-1 conv's output length is len + begin + end − ext: solve for end given the wanted length.
  const begin = [ext[0]! - a.pads[0], ext[1]! - a.pads[1]];
  const ends = [a.outShape[2]! - shape[2]! - begin[0]! + ext[0]!, a.outShape[3]! - shape[3]! - begin[1]! + ext[1]!];
  const cropped = cropNegative(ctx, input, shape, [begin[0]!, begin[1]!, ends[0]!, ends[1]!]);
  const convAttrs: ConvAttrs = { stride: [1, 1], dilation: a.dilation, pads: cropped.pads, groups: g };
  return ctx.emit('Conv', b ? [cropped.x, flipped, b] : [cropped.x, flipped], convOnnxAttrs(convAttrs, [kh, kw]))[0]!;
}

/** The sizes both weight-gradient lowerings work with: x [n, cin, h, wd], gy [n, cout, oh, ow], the kernel
 *  kh×kw, and the channels per group. */
function weightGradSizes(node: Tensor<WeightGradAttrs>) {
  const [n, cin, h, wd] = node.inputs[0]!.shape as [number, number, number, number];
  const [, cout, oh, ow] = node.inputs[1]!.shape as [number, number, number, number];
  const [, , kh, kw] = node.attrs.wShape as [number, number, number, number];
  const g = node.attrs.groups;
  return { n, cin, h, wd, cout, oh, ow, kh, kw, g, cg: cin / g, og: cout / g };
}

/** conv2dWeightGrad as a Conv over the batch: x as [Cin/g, g·N, H, W], gy as the kernel [Cout, N, H', W']. */
function lowerBatchConv(ctx: LowerContext, [x, gy]: readonly string[], node: Tensor<WeightGradAttrs>): string {
  const a = node.attrs;
  const { n, h, wd, cout, oh, ow, kh, kw, g, cg, og } = weightGradSizes(node);
  const xT = g === 1 ? transposeBy(ctx, x!, [1, 0, 2, 3])
    : reshapeTo(ctx, transposeBy(ctx, reshapeTo(ctx, x!, [n, g, cg, h, wd]), [2, 1, 0, 3, 4]), [cg, g * n, h, wd]);
  const gT = g === 1 ? transposeBy(ctx, gy!, [1, 0, 2, 3])
    : reshapeTo(ctx, transposeBy(ctx, reshapeTo(ctx, gy!, [n, g, og, oh, ow]), [1, 2, 0, 3, 4]), [cout, n, oh, ow]);
  // Rows (columns) past the last window the forward conv read are dropped from the end padding.
  const unread = (len: number, k: number, axis: 0 | 1) => (len + a.pads[axis]! + a.pads[axis + 2]! - a.dilation[axis] * (k - 1) - 1) % a.stride[axis];
  const pads = [a.pads[0], a.pads[1], a.pads[2] - unread(h, kh, 0), a.pads[3] - unread(wd, kw, 1)];
  const cropped = cropNegative(ctx, xT, [cg, g * n, h, wd], pads);
  const dw = ctx.emit('Conv', [cropped.x, gT], {
    kernel_shape: attr.ints([oh, ow]),
    strides: attr.ints(a.dilation),
    dilations: attr.ints(a.stride),
    pads: attr.ints(cropped.pads),
    group: attr.int(g),
  })[0]!; // [Cin/g, Cout, kh, kw]
  return transposeBy(ctx, dw, [1, 0, 2, 3]);
}

/** conv2dWeightGrad as im2col: the kh·kw strided windows of x sliced out and concatenated into columns,
 *  then a MatMul with gy. Two layouts, by measurement (ms, batch 32, 3×3, this machine under load):
 *  - per sample, for ungrouped convs with H'·W' ≥ 256: NCHW windows → [N, kh·kw·Cin, H'·W'], a batched
 *    MatMul with gy [N, Cout, H'·W'] and a sum over N; no transposes of x or gy (64→64 at 32 px: 165 vs 216;
 *    8 × 32→32 at 64 px: 89 vs 118; 1×1 16→64 at 32 px: 1.7 vs 6.6);
 *  - pooled, otherwise: x → [N, H, W, Cin] once, windows → [g, N·H'·W', kh·kw·Cin/g] and one (grouped)
 *    MatMul with gy as [g, Cout/g, N·H'·W'], so that small images still give long GEMMs (256→256 at 8 px:
 *    127 vs 188 per sample; 128→128 at 16 px: 169 vs 160, even). */
function lowerIm2col(ctx: LowerContext, [x, gy]: readonly string[], node: Tensor<WeightGradAttrs>): string {
  const a = node.attrs;
  const { n, h, wd, cout, oh, ow, kh, kw, g, cg, og } = weightGradSizes(node);
  const l = n * oh * ow;
  const padded = a.pads.some((p) => p > 0) ? ctx.emit('Pad', [x!, ctx.int64s([0, 0, a.pads[0], a.pads[1], 0, 0, a.pads[2], a.pads[3]])])[0]! : x!;
  const [hp, wp] = [h + a.pads[0] + a.pads[2], wd + a.pads[1] + a.pads[3]];
  /** The kh·kw windows of `src`, whose spatial axes are `axes`, in (row, column) tap order. */
  const windows = (src: string, axes: readonly number[]): string[] => {
    const out: string[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const starts = [i * a.dilation[0], j * a.dilation[1]];
        const ends = [starts[0]! + (oh - 1) * a.stride[0] + 1, starts[1]! + (ow - 1) * a.stride[1] + 1];
        const whole = starts[0] === 0 && starts[1] === 0 && ends[0] === hp && ends[1] === wp && a.stride[0] === 1 && a.stride[1] === 1;
        out.push(whole ? src : ctx.emit('Slice', [src, ctx.int64s(starts), ctx.int64s(ends), ctx.int64s(axes), ctx.int64s(a.stride)])[0]!);
      }
    }
    return out;
  };
  const concat = (parts: string[], axis: number) => (parts.length === 1 ? parts[0]! : ctx.emit('Concat', parts, { axis: attr.int(axis) })[0]!);
  const k = kh * kw * cg;
  let dw: string; // [Cout, kh·kw·Cin/g], ordered (kernel tap, channel)
  if (g === 1 && oh * ow >= 256) {
    const cols = reshapeTo(ctx, concat(windows(padded, [2, 3]), 1), [n, k, oh * ow]);
    const perSample = ctx.emit('MatMul', [reshapeTo(ctx, gy!, [n, cout, oh * ow]), transposeBy(ctx, cols, [0, 2, 1])])[0]!;
    dw = ctx.emit('ReduceSum', [perSample, ctx.int64s([0])], { keepdims: attr.int(0) })[0]!;
  } else {
    const nhwc = transposeBy(ctx, padded, [0, 2, 3, 1]); // [N, Hp, Wp, Cin]
    const grouped = windows(nhwc, [1, 2]).map((win) => (g === 1 ? win : reshapeTo(ctx, win, [n, oh, ow, g, cg])));
    const cols = concat(grouped, g === 1 ? 3 : 4); // [N, H', W', (g,) kh·kw·Cin/g]
    const b = g === 1 ? reshapeTo(ctx, cols, [l, k]) : reshapeTo(ctx, transposeBy(ctx, cols, [3, 0, 1, 2, 4]), [g, l, k]);
    const gyT = g === 1
      ? reshapeTo(ctx, transposeBy(ctx, reshapeTo(ctx, gy!, [n, cout, oh * ow]), [1, 0, 2]), [cout, l])
      : reshapeTo(ctx, transposeBy(ctx, reshapeTo(ctx, gy!, [n, g, og, oh * ow]), [1, 2, 0, 3]), [g, og, l]);
    dw = ctx.emit('MatMul', [gyT, b])[0]!;
  }
  return transposeBy(ctx, reshapeTo(ctx, dw, [cout, kh, kw, cg]), [0, 3, 1, 2]);
}

// ---- conv2d ----------------------------------------------------------------------------------------------

defineOp<ConvAttrs>({
  name: 'conv2d',
  infer([x, w, b], a) {
    needNchw('conv2d', 'x', x!);
    needNchw('conv2d', 'w', w!);
    const shape = convShape('conv2d', x!.shape, w!.shape, a);
    if (b && (b.dtype !== 'float32' || b.rank !== 1 || b.shape[0] !== w!.shape[0])) {
      throw new RangeError(`conv2d: bias must be float32[${w!.shape[0]}] for w ${shapeStr(w!.shape)}, got ${desc(b)}`);
    }
    return { shape, dtype: 'float32' };
  },
  lower: (ctx, inputs, node) => ctx.emit('Conv', inputs, convOnnxAttrs(node.attrs, node.inputs[1]!.shape.slice(2)))[0]!,
  grad(gy, node) {
    const [x, w, b] = node.inputs as [Tensor, Tensor, Tensor | undefined];
    const a = pickConvAttrs(node.attrs);
    const m = chooseConvGradMethod({ x: x.shape, w: w.shape, y: node.shape }, a);
    const dx = apply<TransposeAttrs>('convTranspose2d', [gy, w], { ...a, outShape: [...x.shape], method: m.input });
    const dw = apply<WeightGradAttrs>('conv2dWeightGrad', [x, gy], { ...a, wShape: [...w.shape], method: m.weight });
    return b ? [dx, dw, sum(gy, [0, 2, 3])] : [dx, dw];
  },
  ref([x, w, b], node) {
    const y = new Float64Array(sizeOf(node.shape));
    forEachTap(x!.shape, w!.shape, node.shape, node.attrs, (xi, wi, yi) => (y[yi]! += x!.data[xi]! * w!.data[wi]!));
    return addBias(y, b, node.shape);
  },
});

const pickConvAttrs = (a: ConvAttrs): ConvAttrs => ({ stride: a.stride, dilation: a.dilation, pads: a.pads, groups: a.groups });

/** 2-D convolution (cross-correlation, as PyTorch's Conv2d): x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw],
 *  optional bias [Cout] → [N, Cout, H', W']. */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  return apply('conv2d', b ? [x, w, b] : [x, w], convAttrsOf(opts, 'conv2d'));
}

// ---- convTranspose2d (also the input gradient of conv2d) ------------------------------------------------

defineOp<TransposeAttrs>({
  name: 'convTranspose2d',
  infer([x, w, b], a) {
    needNchw('convTranspose2d', 'x', x!);
    needNchw('convTranspose2d', 'w', w!);
    const [cin, og, kh, kw] = w!.shape as number[];
    const cout = og! * a.groups;
    const fail = (why: string) => new RangeError(`convTranspose2d: ${why}: x ${shapeStr(x!.shape)}, w ${shapeStr(w!.shape)} ([Cin, Cout/groups, kh, kw]), groups ${a.groups}`);
    if (x!.shape[1] !== cin || cin! % a.groups !== 0) throw fail(`x has ${x!.shape[1]} channels, the weight takes ${cin} in ${a.groups} groups`);
    // The output is the input of the conv2d it transposes: that conv must map it back to x's size.
    const [, , oh, ow] = a.outShape;
    if (a.outShape[0] !== x!.shape[0] || a.outShape[1] !== cout || convOut(oh!, kh!, a, 0) !== x!.shape[2] || convOut(ow!, kw!, a, 1) !== x!.shape[3]) {
      throw fail(`output ${shapeStr(a.outShape)} does not convolve back to x's size`);
    }
    if (b && (b.dtype !== 'float32' || b.rank !== 1 || b.shape[0] !== cout)) throw fail(`bias must be float32[${cout}], got ${desc(b)}`);
    return { shape: a.outShape, dtype: 'float32' };
  },
  lower: (ctx, inputs, node) => (node.attrs.method === 'flipconv' ? lowerFlipConv(ctx, inputs, node) : lowerTranspose(ctx, inputs, node)),
  grad(gy, node) {
    // convTranspose2d(x, w) is the adjoint of conv2d(·, w): dx = conv2d(gy, w), and dw is conv2d's weight
    // gradient with the roles of input and output cotangent swapped.
    const [x, w, b] = node.inputs as [Tensor, Tensor, Tensor | undefined];
    const a = pickConvAttrs(node.attrs);
    const m = chooseConvGradMethod({ x: node.shape, w: w.shape, y: x.shape }, a);
    const dx = apply<ConvAttrs>('conv2d', [gy, w], a);
    const dw = apply<WeightGradAttrs>('conv2dWeightGrad', [gy, x], { ...a, wShape: [...w.shape], method: m.weight });
    return b ? [dx, dw, sum(gy, [0, 2, 3])] : [dx, dw];
  },
  ref([x, w, b], node) {
    const out = new Float64Array(sizeOf(node.shape));
    forEachTap(node.shape, w!.shape, x!.shape, node.attrs, (oi, wi, xi) => (out[oi]! += x!.data[xi]! * w!.data[wi]!));
    return addBias(out, b, node.shape);
  },
});

/** Transposed convolution (PyTorch's ConvTranspose2d): x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw],
 *  optional bias [Cout] → [N, Cout, (H−1)·s − pads + d·(kh−1) + outputPadding + 1, …]. */
export function convTranspose2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const a = convAttrsOf(opts, 'convTranspose2d');
  needNchw('convTranspose2d', 'x', x);
  needNchw('convTranspose2d', 'w', w);
  const op = pairOf(opts.outputPadding, 0, 'outputPadding', 'convTranspose2d', 0);
  op.forEach((p, axis) => {
    if (p >= Math.max(a.stride[axis]!, a.dilation[axis]!)) {
      throw new RangeError(`convTranspose2d: outputPadding ${op} must be smaller than the stride ${a.stride} or the dilation ${a.dilation}`);
    }
  });
  const size = (axis: 0 | 1) => (x.shape[axis + 2]! - 1) * a.stride[axis] - a.pads[axis]! - a.pads[axis + 2]! + a.dilation[axis] * (w.shape[axis + 2]! - 1) + op[axis]! + 1;
  const outShape = [x.shape[0]!, w.shape[1]! * a.groups, size(0), size(1)];
  if (outShape[2]! < 1 || outShape[3]! < 1) {
    throw new RangeError(`convTranspose2d: padding ${a.pads} leaves no output for x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}`);
  }
  const m = chooseConvGradMethod({ x: outShape, w: w.shape, y: x.shape }, a);
  return apply<TransposeAttrs>('convTranspose2d', b ? [x, w, b] : [x, w], { ...a, outShape, method: m.input });
}

// ---- conv2dWeightGrad ------------------------------------------------------------------------------------

defineOp<WeightGradAttrs>({
  name: 'conv2dWeightGrad',
  infer([x, gy], a) {
    needNchw('conv2dWeightGrad', 'x', x!);
    needNchw('conv2dWeightGrad', 'gy', gy!);
    const want = convShape('conv2dWeightGrad', x!.shape, a.wShape, a);
    if (want.some((d, i) => d !== gy!.shape[i])) {
      throw new RangeError(`conv2dWeightGrad: gy ${shapeStr(gy!.shape)} is not the output ${shapeStr(want)} of x ${shapeStr(x!.shape)} with w ${shapeStr(a.wShape)}`);
    }
    return { shape: a.wShape, dtype: 'float32' };
  },
  lower: (ctx, inputs, node) => (node.attrs.method === 'batchconv' ? lowerBatchConv(ctx, inputs, node) : lowerIm2col(ctx, inputs, node)),
  grad(gdw, node) {
    // dw(x, gy) is bilinear: ⟨G, dw⟩ = ⟨conv2d(x, G), gy⟩, so ∂/∂gy = conv2d(x, G) and ∂/∂x = convᵀ(gy, G).
    const [x, gy] = node.inputs as [Tensor, Tensor];
    const a = pickConvAttrs(node.attrs);
    const m = chooseConvGradMethod({ x: x.shape, w: node.shape, y: gy.shape }, a);
    return [
      apply<TransposeAttrs>('convTranspose2d', [gy, gdw], { ...a, outShape: [...x.shape], method: m.input }),
      apply<ConvAttrs>('conv2d', [x, gdw], a),
    ];
  },
  ref([x, gy], node) {
    const dw = new Float64Array(sizeOf(node.shape));
    forEachTap(x!.shape, node.shape, gy!.shape, node.attrs, (xi, wi, yi) => (dw[wi]! += x!.data[xi]! * gy!.data[yi]!));
    return dw;
  },
});

// ---- pooling ---------------------------------------------------------------------------------------------

function poolAttrsOf(opts: Pool2dOptions, op: string): PoolAttrs {
  const kernel = pairOf(opts.kernel, 1, 'kernel', op, 1);
  const stride = pairOf(opts.stride ?? kernel, 1, 'stride', op, 1);
  const [ph, pw] = pairOf(opts.padding, 0, 'padding', op, 0);
  if (2 * ph > kernel[0] || 2 * pw > kernel[1]) throw new RangeError(`${op}: padding [${ph}, ${pw}] is more than half the kernel [${kernel}]`);
  return { kernel, stride, pads: [ph, pw, ph, pw] };
}

function poolShape(op: string, x: Tensor, a: PoolAttrs): number[] {
  needNchw(op, 'x', x);
  const [n, c, h, w] = x.shape as number[];
  const oh = convOut(h!, a.kernel[0], a, 0);
  const ow = convOut(w!, a.kernel[1], a, 1);
  if (oh < 1 || ow < 1) throw new RangeError(`${op}: kernel [${a.kernel}] is larger than the padded input ${shapeStr(x.shape)}`);
  return [n!, c!, oh, ow];
}

const poolOnnxAttrs = (a: PoolAttrs) => ({ kernel_shape: attr.ints(a.kernel), strides: attr.ints(a.stride), pads: attr.ints(a.pads) });

defineOp<PoolAttrs>({
  name: 'maxPool2d',
  infer: ([x], a) => ({ shape: poolShape('maxPool2d', x!, a), dtype: 'float32' }),
  lower: (ctx, [x], node) => ctx.emit('MaxPool', [x!], poolOnnxAttrs(node.attrs))[0]!,
  grad(gy, node) {
    // Each window's cotangent goes to its (first) maximum; overlapping windows accumulate.
    const x = node.inputs[0]!;
    const at = reshape(apply('argmaxPool2d', [x], node.attrs), [-1]);
    return [reshape(scatterAdd(expand(constant(0), [x.size]), at, reshape(gy, [-1]), 0), x.shape)];
  },
  ref([x], node) {
    const out = new Float64Array(sizeOf(node.shape));
    forEachWindow(x!.shape, node.attrs, node.shape, (o, taps) => (out[o] = Math.max(...taps.map((t) => x!.data[t]!))));
    return out;
  },
});

// The flat index into x (over N·C·H·W, as ONNX MaxPool's Indices) of each window's first maximum.
defineOp<PoolAttrs>({
  name: 'argmaxPool2d',
  infer: ([x], a) => ({ shape: poolShape('argmaxPool2d', x!, a), dtype: 'int64' }),
  lower: (ctx, [x], node) => ctx.emit('MaxPool', [x!], { ...poolOnnxAttrs(node.attrs), storage_order: attr.int(0) }, 2)[1]!,
  ref([x], node) {
    const out = new Float64Array(sizeOf(node.shape));
    forEachWindow(x!.shape, node.attrs, node.shape, (o, taps) => {
      let best = taps[0]!;
      for (const t of taps) if (x!.data[t]! > x!.data[best]!) best = t;
      out[o] = best;
    });
    return out;
  },
});

/** The flat index into x (over N·C·H·W) of each window's maximum, the first where several tie. */
export function argmaxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  return apply('argmaxPool2d', [x], poolAttrsOf(opts, 'argmaxPool2d'));
}

defineOp<PoolAttrs>({
  name: 'avgPool2d',
  infer: ([x], a) => ({ shape: poolShape('avgPool2d', x!, a), dtype: 'float32' }),
  lower: (ctx, [x], node) => ctx.emit('AveragePool', [x!], { ...poolOnnxAttrs(node.attrs), count_include_pad: attr.int(1) })[0]!,
  grad(gy, node) {
    // Average pooling is a depthwise convolution with a constant 1/(kh·kw) kernel; its adjoint the transposed one.
    const x = node.inputs[0]!;
    const c = x.shape[1]!;
    const [kh, kw] = node.attrs.kernel;
    const kernel = constant(NDArray.float32(new Float32Array(c * kh * kw).fill(1 / (kh * kw)), [c, 1, kh, kw]));
    const a: ConvAttrs = { stride: node.attrs.stride, dilation: [1, 1], pads: node.attrs.pads, groups: c };
    const m = chooseConvGradMethod({ x: x.shape, w: kernel.shape, y: node.shape }, a);
    return [apply<TransposeAttrs>('convTranspose2d', [gy, kernel], { ...a, outShape: [...x.shape], method: m.input })];
  },
  ref([x], node) {
    const out = new Float64Array(sizeOf(node.shape));
    const area = node.attrs.kernel[0] * node.attrs.kernel[1];
    forEachWindow(x!.shape, node.attrs, node.shape, (o, taps) => (out[o] = taps.reduce((s, t) => s + x!.data[t]!, 0) / area));
    return out;
  },
});

/** Max over each kh×kw window (PyTorch's MaxPool2d; padding never wins). */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  return apply('maxPool2d', [x], poolAttrsOf(opts, 'maxPool2d'));
}

/** Mean over each kh×kw window, padding zeros included in the divisor (PyTorch's default count_include_pad=True). */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  return apply('avgPool2d', [x], poolAttrsOf(opts, 'avgPool2d'));
}

// ---- upsampleNearest2d -----------------------------------------------------------------------------------

defineOp<{ scale: Pair }>({
  name: 'upsampleNearest2d',
  infer([x], { scale }) {
    needNchw('upsampleNearest2d', 'x', x!);
    const [n, c, h, w] = x!.shape as number[];
    return { shape: [n!, c!, h! * scale[0], w! * scale[1]], dtype: 'float32' };
  },
  lower(ctx, [x], node) {
    // Asymmetric coordinates with floor: output pixel i reads input pixel ⌊i / s⌋, exact for integer s.
    const [sh, sw] = node.attrs.scale;
    const scales = ctx.constant({ elem: 'float32', dims: [4], raw: new Uint8Array(Float32Array.of(1, 1, sh, sw).buffer) });
    return ctx.emit('Resize', [x!, '', scales], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    })[0]!;
  },
  grad(gy, node) {
    const [n, c, h, w] = node.inputs[0]!.shape as number[];
    const [sh, sw] = node.attrs.scale;
    return [sum(reshape(gy, [n!, c!, h!, sh, w!, sw]), [3, 5])];
  },
  ref([x], node) {
    const [n, c, h, w] = x!.shape as number[];
    const [sh, sw] = node.attrs.scale;
    const out = new Float64Array(sizeOf(node.shape));
    let o = 0;
    for (let nc = 0; nc < n! * c!; nc++) {
      for (let i = 0; i < h! * sh; i++) {
        for (let j = 0; j < w! * sw; j++) out[o++] = x!.data[(nc * h! + Math.floor(i / sh)) * w! + Math.floor(j / sw)]!;
      }
    }
    return out;
  },
});

/** Nearest-neighbour upsampling by integer factors: each pixel becomes an sh×sw block. */
export function upsampleNearest2d(x: Tensor, scale: number | readonly [number, number]): Tensor {
  return apply('upsampleNearest2d', [x], { scale: pairOf(scale, 1, 'scale', 'upsampleNearest2d', 1) });
}
