// Applying BPE merges to one pre-tokenised word: the byte ids are merged pair by pair, always the pair with
// the lowest merge rank first and the leftmost of equal pairs, as in GPT-2, the Rust `tokenizers` crate and
// Tokenizers.js. A heap over (rank, position) keeps a long word O(n log n), so a 1 MB word costs under a
// second instead of hours. BPE dropout (Provilkov et al., 2020) skips each candidate merge with
// probability p, drawing from a caller-seeded generator so that training stays reproducible.

/** Token ids and merge ranks stay below 2^21, so that a pair packs exactly into one float64 key. */
export const MAX_TOKEN_ID = 1 << 21;
const POSITION_SPAN = 2 ** 31;

/** The merges of a BPE model: pair of ids → rank, and rank → id of the merged token. */
export class MergeTable {
  private readonly rankOfPair = new Map<number, number>();
  readonly resultOfRank: Int32Array;

  /** Pair keys are left·stride + right: small integers (fast Map keys) when the vocabulary is small enough. */
  private readonly stride: number;

  constructor(merges: ReadonlyArray<readonly [left: number, right: number, result: number]>, vocabSize: number) {
    this.stride = vocabSize * vocabSize < 2 ** 30 ? vocabSize : MAX_TOKEN_ID;
    this.resultOfRank = new Int32Array(merges.length);
    merges.forEach(([left, right, result], rank) => {
      const key = left * this.stride + right;
      if (!this.rankOfPair.has(key)) this.rankOfPair.set(key, rank);
      this.resultOfRank[rank] = result;
    });
  }

  get size(): number {
    return this.resultOfRank.length;
  }

  /** The rank of the merge of `left` then `right`, or -1 when there is none. */
  rank(left: number, right: number): number {
    if (left >= this.stride || right >= this.stride) return -1;
    return this.rankOfPair.get(left * this.stride + right) ?? -1;
  }
}

/** Merges a word's byte ids into token ids. `random` is required when `dropout` > 0. */
export function applyMerges(
  input: ArrayLike<number>,
  table: MergeTable,
  dropout = 0,
  random: () => number = Math.random,
): number[] {
  const n = input.length;
  if (n < 2) return Array.from(input);
  const { symbol, next, prev, heap } = scratchFor(n);
  for (let i = 0; i < n; i++) { symbol[i] = input[i]!; next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
  heap.clear();
  for (let i = 0; i + 1 < n; i++) pushPair(heap, table, symbol, i, i + 1);
  const skipped: number[] = [];
  while (heap.size > 0) {
    const entry = heap.pop();
    const rank = Math.floor(entry / POSITION_SPAN);
    const pos = entry - rank * POSITION_SPAN;
    const right = next[pos]!;
    if (symbol[pos]! < 0 || right < 0 || table.rank(symbol[pos]!, symbol[right]!) !== rank) continue;
    if (dropout > 0 && random() < dropout) { skipped.push(entry); continue; }
    symbol[pos] = table.resultOfRank[rank]!;
    symbol[right] = -1;
    const after = next[right]!;
    next[pos] = after;
    if (after >= 0) prev[after] = pos;
    for (const entryBack of skipped) heap.push(entryBack);
    skipped.length = 0;
    if (prev[pos]! >= 0) pushPair(heap, table, symbol, prev[pos]!, pos);
    if (after >= 0) pushPair(heap, table, symbol, pos, after);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) out.push(symbol[i]!);
  return out;
}

function pushPair(heap: MinHeap, table: MergeTable, symbol: Int32Array, pos: number, right: number): void {
  const rank = table.rank(symbol[pos]!, symbol[right]!);
  if (rank >= 0) heap.push(rank * POSITION_SPAN + pos);
}

/** A binary min-heap of numbers in a fixed Float64Array. */
class MinHeap {
  private readonly items: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Float64Array(capacity);
  }

  clear(): void {
    this.size = 0;
  }

  push(value: number): void {
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items[--this.size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && items[child + 1]! < items[child]!) child++;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** Working arrays reused between words (grown when a longer word comes), so short words allocate nothing. */
interface Scratch { symbol: Int32Array; next: Int32Array; prev: Int32Array; heap: MinHeap }
let scratch: Scratch | null = null;

function scratchFor(n: number): Scratch {
  if (scratch === null || scratch.symbol.length < n) {
    const size = Math.max(n, 2 * (scratch?.symbol.length ?? 0), 64);
    scratch = { symbol: new Int32Array(size), next: new Int32Array(size), prev: new Int32Array(size), heap: new MinHeap(3 * size) };
  }
  return scratch;
}
