// Building blocks of the float64 reference kernels: simple, obviously-correct loops. Speed is not the goal;
// these are the oracle that the ONNX Runtime results and the gradient rules are checked against.
import type { RefArray } from './op.ts';
import { type Shape, broadcastIndexer, sizeOf, stridesOf } from './shape.ts';

export function mapUnary(x: RefArray, f: (v: number) => number): Float64Array {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!);
  return out;
}

/** Elementwise over broadcast operands into `outShape`. */
export function mapBroadcast(inputs: readonly RefArray[], outShape: Shape, f: (...v: number[]) => number): Float64Array {
  const n = sizeOf(outShape);
  const index = inputs.map((x) => broadcastIndexer(x.shape, outShape));
  const out = new Float64Array(n);
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k]!.data[index[k]!(i)]!;
    out[i] = f(...args);
  }
  return out;
}

/** Reduce `x` over `axes` (sorted, normalised), combining with `f` from `init`; result in row-major order
 *  of the kept axes. */
export function reduceAxes(x: RefArray, axes: readonly number[], init: number, f: (acc: number, v: number) => number): Float64Array {
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(sizeOf(outShape)).fill(init);
  const index = outIndexer(x.shape, outShape);
  for (let i = 0; i < x.data.length; i++) {
    const o = index(i);
    out[o] = f(out[o]!, x.data[i]!);
  }
  return out;
}

/** Flat index in `outShape` (same rank, 1 on reduced axes) of the flat index `i` of `inShape`. */
function outIndexer(inShape: Shape, outShape: Shape): (i: number) => number {
  const inStrides = stridesOf(inShape);
  const outStrides = stridesOf(outShape);
  return (i: number) => {
    let o = 0;
    for (let a = 0; a < inShape.length; a++) {
      if (outShape[a] === 1) continue;
      o += (Math.floor(i / inStrides[a]!) % inShape[a]!) * outStrides[a]!;
    }
    return o;
  };
}

/** Coordinates of flat index `i` in `shape`. */
export function unravel(i: number, shape: Shape): number[] {
  const coords = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    coords[a] = i % shape[a]!;
    i = Math.floor(i / shape[a]!);
  }
  return coords;
}

/** For each position of `shape` in row-major order, the flat index offset + Σ coordᵢ·stridesᵢ: the reads of
 *  a transpose or a slice. An odometer over the coordinates: unravelling each index anew cost ~0.3 µs an
 *  element, most of a second for a model's weights. */
export function stridedIndices(shape: Shape, strides: readonly number[], offset = 0): Int32Array {
  const out = new Int32Array(sizeOf(shape));
  const coords = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let i = 0; i < out.length; i++) {
    out[i] = at;
    for (let a = shape.length - 1; a >= 0; a--) {
      at += strides[a]!;
      if (++coords[a]! < shape[a]!) break;
      at -= coords[a]! * strides[a]!;
      coords[a] = 0;
    }
  }
  return out;
}

export function ravel(coords: readonly number[], strides: readonly number[]): number {
  let i = 0;
  for (let a = 0; a < coords.length; a++) i += coords[a]! * strides[a]!;
  return i;
}

/** erf to double precision: Taylor series near zero, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 27) return Math.sign(x);
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) by backward recurrence (Lentz-free).
  let f = 0;
  for (let k = 60; k >= 1; k--) f = (k / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}
