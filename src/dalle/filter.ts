// Turning logits into a draw: temperature, top-k, top-p (nucleus), and classifier-free guidance's
// combination uncond + s·(cond − uncond). Done on the host per row: the codebook is at most a few thousand
// entries, and the draws come from the seeded PRNG so that a seed reproduces an image exactly.
import type { Rng } from '../tensor/index.ts';

export interface SamplingFilter {
  temperature: number;
  topK?: number;
  topP?: number;
}

/** Guided logits in place: row i of `cond` becomes uncond_i + s·(cond_i − uncond_i). */
export function guide(cond: Float32Array, uncond: Float32Array, scale: number): Float32Array {
  for (let i = 0; i < cond.length; i++) cond[i] = uncond[i]! + scale * (cond[i]! - uncond[i]!);
  return cond;
}

/** Draw one index from a row of logits. */
export function sampleLogits(row: Float32Array, f: SamplingFilter, rng: Rng): number {
  const n = row.length;
  if (f.temperature === 0) return argmaxOf(row);
  const k = Math.min(f.topK && f.topK > 0 ? f.topK : n, n);
  if (k === n && !(f.topP !== undefined && f.topP < 1)) return drawFromAll(row, f.temperature, rng);
  const order = topIndices(row, k);
  const max = row[order[0]!]!;
  const weights = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) total += weights[i] = Math.exp((row[order[i]!]! - max) / f.temperature);
  let keep = k;
  if (f.topP !== undefined && f.topP < 1) {
    // The smallest prefix (by probability) whose mass reaches topP.
    let mass = 0;
    for (let i = 0; i < k; i++) {
      mass += weights[i]! / total;
      if (mass >= f.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += weights[i]!;
  let u = rng.next() * kept;
  for (let i = 0; i < keep; i++) if ((u -= weights[i]!) < 0) return order[i]!;
  return order[keep - 1]!;
}

/** A draw from softmax(row / temperature) over every entry: with nothing filtered there is no ranking to
 *  do, so no sort (which cost more than the decode step's arithmetic on a GPT's vocabulary). */
function drawFromAll(row: Float32Array, temperature: number, rng: Rng): number {
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  const weights = new Float64Array(row.length);
  let total = 0;
  for (let i = 0; i < row.length; i++) total += weights[i] = Math.exp((row[i]! - max) / temperature);
  let u = rng.next() * total;
  let last = 0;
  for (let i = 0; i < row.length; i++) {
    if (weights[i]! === 0) continue;
    if ((u -= weights[i]!) < 0) return i;
    last = i;
  }
  return last; // rounding left u ≥ 0 after the last entry: the last entry that can be drawn
}

/** Indices of the k largest entries, largest first (ties: lower index first). A k-entry heap instead of a
 *  sort of the whole row: top-k 64 of an 8,192-code book looks at each logit once. */
export function topIndices(row: Float32Array, k: number): number[] {
  const n = row.length;
  const ranksBefore = (a: number, b: number) => row[a]! > row[b]! || (row[a] === row[b] && a < b);
  const byRank = (a: number, b: number) => (ranksBefore(a, b) ? -1 : ranksBefore(b, a) ? 1 : 0);
  if (k >= n / 4) return Array.from({ length: n }, (_, i) => i).sort(byRank).slice(0, k);
  // Min-heap by rank: heap[0] is the weakest of the k kept so far.
  const heap: number[] = [];
  const siftDown = (i: number) => {
    for (;;) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let worst = i;
      if (l < heap.length && ranksBefore(heap[worst]!, heap[l]!)) worst = l;
      if (r < heap.length && ranksBefore(heap[worst]!, heap[r]!)) worst = r;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst]!, heap[i]!];
      i = worst;
    }
  };
  for (let i = 0; i < n; i++) {
    if (heap.length < k) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0; ) {
        const parent = (j - 1) >> 1;
        if (!ranksBefore(heap[parent]!, heap[j]!)) break;
        [heap[parent], heap[j]] = [heap[j]!, heap[parent]!];
        j = parent;
      }
    } else if (ranksBefore(i, heap[0]!)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort(byRank);
}

function argmaxOf(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
