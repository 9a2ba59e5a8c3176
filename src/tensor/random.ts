// Host-side randomness, the project's one PRNG: draws that enter compiled graphs as inputs (Gumbel noise,
// dropout masks, token sampling) and the data pipeline's (scenes, shuffling, augmentation, caption choice,
// BPE dropout), so that every run is reproducible from its seed and the state can be saved in a checkpoint.
// The generator is xoshiro128** (Blackman & Vigna), seeded through splitmix32; `Rng.stream(seed, ...ids)`
// gives an independent stream per (epoch, item, …) so that data order never depends on what ran before.
import { NDArray } from './ndarray.ts';
import { type Shape, sizeOf } from './shape.ts';

export class Rng {
  private s: Uint32Array;

  constructor(seed: number | readonly number[] = 0) {
    if (typeof seed === 'number') {
      if (!Number.isFinite(seed)) throw new RangeError(`Rng: seed must be a finite number, got ${seed}`);
      let x = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
      const next = () => {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.s = Uint32Array.of(next(), next(), next(), next());
    } else {
      if (seed.length !== 4 || seed.every((v) => v === 0)) throw new RangeError('Rng: a state is four 32-bit words, not all zero');
      this.s = Uint32Array.from(seed);
    }
  }

  /** An independent generator for `seed` and a tuple of stream ids (e.g. epoch and item index). */
  static stream(seed: number, ...ids: number[]): Rng {
    let h = splitmix32((Math.trunc(seed) ^ 0x9e3779b9) >>> 0);
    for (const id of ids) h = splitmix32((h ^ Math.imul(Math.trunc(id) >>> 0, 0x27d4eb2f)) >>> 0);
    return new Rng([h | 1, splitmix32(h), splitmix32(h ^ 0x85ebca6b), splitmix32(h ^ 0xc2b2ae35)]);
  }

  /** The state, for checkpoints; `new Rng(state)` resumes the same stream. */
  state(): number[] {
    return [...this.s];
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick on an empty list');
    return items[this.int(items.length)]!;
  }

  /** k distinct items drawn uniformly without replacement (a partial Fisher–Yates on a copy); the first
   *  is drawn as `pick` draws it, so `sample(items, 1)` is `[pick(items)]`. */
  sample<T>(items: readonly T[], k: number): T[] {
    if (!(k >= 0 && k <= items.length)) throw new RangeError(`Rng.sample: ${k} of ${items.length} items`);
    const pool = [...items];
    for (let i = 0; i < k; i++) {
      const j = i + this.int(pool.length - i);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, k);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A new generator seeded from this one's stream, for independent sub-streams. */
  fork(): Rng {
    return new Rng([this.nextUint32() | 1, this.nextUint32(), this.nextUint32(), this.nextUint32()]);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  private fill(shape: Shape, draw: () => number): NDArray {
    const data = new Float32Array(sizeOf(shape));
    for (let i = 0; i < data.length; i++) data[i] = draw();
    return new NDArray(data, shape);
  }

  uniform(shape: Shape, low = 0, high = 1): NDArray {
    return this.fill(shape, () => low + (high - low) * this.next());
  }

  randn(shape: Shape, std = 1): NDArray {
    return this.fill(shape, () => std * this.normal());
  }

  /** Standard Gumbel noise, −log(−log u), for Gumbel-softmax and Gumbel-max sampling. */
  gumbel(shape: Shape): NDArray {
    return this.fill(shape, () => -Math.log(-Math.log(1e-12 + this.next() * (1 - 2e-12))));
  }

  /** A keep-mask for dropout: 1 with probability 1 − p. */
  bernoulliMask(shape: Shape, p: number): NDArray {
    return this.fill(shape, () => (this.next() >= p ? 1 : 0));
  }
}

/** One splitmix32 step from `x`: a well-mixed 32-bit value. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
