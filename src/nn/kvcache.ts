// The host side of a key-value cache: per layer, keys and values [B, heads, L, headDim] in Float32Arrays
// that are fed to each compiled decode step without copying; each step returns only its own position's
// keys and values, which are written here.
import { NDArray } from '../tensor/index.ts';

export class KVCache {
  readonly layers: { k: NDArray; v: NDArray }[];

  constructor(
    layers: number,
    readonly batch: number,
    readonly heads: number,
    readonly length: number,
    readonly headDim: number,
  ) {
    const shape = [batch, heads, length, headDim];
    this.layers = Array.from({ length: layers }, () => ({ k: NDArray.zeros(shape), v: NDArray.zeros(shape) }));
  }

  /** Write keys/values [B, heads, n, headDim] for positions start … start+n−1 of every layer. */
  write(start: number, kv: readonly { k: NDArray; v: NDArray }[]): void {
    kv.forEach((layer, i) => {
      this.copyIn(this.layers[i]!.k, layer.k, start);
      this.copyIn(this.layers[i]!.v, layer.v, start);
    });
  }

  private copyIn(cache: NDArray, src: NDArray, start: number): void {
    const [b, h, n, d] = src.shape as [number, number, number, number];
    if (b !== this.batch || h !== this.heads || d !== this.headDim || start + n > this.length) {
      throw new RangeError(`KVCache.write: [${src.shape}] at ${start} does not fit a cache of [${this.batch}, ${this.heads}, ${this.length}, ${this.headDim}]`);
    }
    const dst = cache.data as Float32Array;
    const from = src.data as Float32Array;
    // A plain loop: a decode step writes b·h runs of one position (32 floats for a head of 32), where a
    // subarray and set per run cost more than the copy (a 64-cell generation at batch 16: 27 → 8.5 ms).
    const run = n * d;
    for (let bh = 0; bh < b * h; bh++) {
      const at = (bh * this.length + start) * d;
      const from0 = bh * run;
      for (let j = 0; j < run; j++) dst[at + j] = from[from0 + j]!;
    }
  }
}
