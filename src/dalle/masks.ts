// Attention masks over the input sequence [caption (T) | start-of-image | image tokens 0 … N−2]. The query
// at input position T + a predicts grid cell a; the key at T + m holds the token of cell m − 1 (m = 0: the
// start-of-image token). Every position sees itself and all earlier caption positions (text-to-text is
// causal, image-to-text full); image-to-image is causal and further restricted per layer:
//   full: every earlier image key;   row: keys whose cell is in the predicted cell's row;
//   column: keys in its column;      conv: keys within a k×k window around it.
// The start-of-image key is always visible. The same function gives the full mask for training and one
// row of it for each cached decoding step, so both honour every mask exactly.
//
// Over the whole sequence (training, evaluation), row and column layers on larger grids (`groupedPays`) do
// not score all T·T pairs: each group of image queries (a row of cells, or a column) is scored only against
// the keys its mask can let through: the caption and start-of-image keys, plus the row's own block of keys
// (row), or the column's keys and the queries' own keys (column). The bias of each (query, key slot) is
// still `allowed`, so the result is the dense masked attention's (checked in test/dalle.model.test.ts); it
// scores 49 or 65 keys per image query instead of up to 288 in the small preset, as the paper's sparse
// kernels and DALLE-pytorch's axial attention do.
import * as T from '../tensor/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { type AttendFn, MASKED } from '../nn/attention.ts';
import { type DalleConfig, type MaskKind, sequenceLength } from './config.ts';

export function allowed(kind: MaskKind, query: number, key: number, c: DalleConfig): boolean {
  if (key > query) return false;
  const t = c.textLength;
  if (key < t || key === t || key === query || query < t) return true;
  const cell = query - t; // the cell this query predicts
  const keyCell = key - t - 1; // the cell whose token the key holds
  const [qr, qc] = [Math.floor(cell / c.grid), cell % c.grid];
  const [kr, kc] = [Math.floor(keyCell / c.grid), keyCell % c.grid];
  switch (kind) {
    case 'full': return true;
    case 'row': return kr === qr;
    case 'column': return kc === qc;
    case 'conv': {
      const r = (c.convKernel - 1) / 2;
      return Math.abs(kr - qr) <= r && Math.abs(kc - qc) <= r;
    }
  }
}

/** The [length, length] mask (1 = may attend) of the first `length` input positions. */
export function maskMatrix(kind: MaskKind, length: number, c: DalleConfig): Uint8Array {
  const m = new Uint8Array(length * length);
  for (let q = 0; q < length; q++) for (let k = 0; k <= q; k++) m[q * length + k] = allowed(kind, q, k, c) ? 1 : 0;
  return m;
}

/** Which of the first `cacheLength` positions the query at `query` may attend to (itself excluded: the
 *  cached step adds it). */
export function maskRow(kind: MaskKind, query: number, cacheLength: number, c: DalleConfig): Uint8Array {
  const row = new Uint8Array(cacheLength);
  for (let k = 0; k < Math.min(query, cacheLength); k++) row[k] = allowed(kind, query, k, c) ? 1 : 0;
  return row;
}

/** Layer attention over the first `length` positions: the dense mask, or for row and column layers over the
 *  whole sequence the grouped computation described above where it pays. */
export function layerAttention(kind: MaskKind, length: number, c: DalleConfig): Tensor | AttendFn {
  if ((kind === 'row' || kind === 'column') && length === sequenceLength(c) && groupedPays(kind, c)) return groupedAttention(kind, c);
  return T.constant(new T.NDArray(maskMatrix(kind, length, c), [length, length], 'bool'));
}

/** Whether the grouped form scores at most a quarter of the dense form's [L, L] pairs. Its slices,
 *  transposes and many small products cost more kernels than one masked [L, L] product: on the small preset
 *  (16×16 grid, 288 positions; a row layer scores 6.1 times fewer pairs grouped, a column layer 4.7) the
 *  grouped layers are much faster, while on the shipped model's 8×8 grid (88 positions; 2.9 and 2.4 times
 *  fewer) dense layers made its training step 13–19% faster in alternated runs (2% over whole 300-step
 *  `dalle train` runs, within this machine's noise), and the `small8` preset's (96 positions; 2.5 and 2.2)
 *  1–14% (bench/RESULTS.md). Ratios between 2.9 and 4.7 were not measured. */
export function groupedPays(kind: 'row' | 'column', c: DalleConfig): boolean {
  const slots = groupLayout(kind, c).keys(0).length;
  return sequenceLength(c) ** 2 >= 4 * (c.textLength ** 2 + c.grid * c.grid * slots);
}

/** Image queries in groups (row: group r holds cells r·G … r·G + G − 1; column: group c holds cells c,
 *  c + G, …), each group scored against the shared keys (caption and start-of-image, positions 0 … T) and
 *  its own key blocks. Returns the positions of group g's i-th query and of its key slots (null: padding). */
function groupLayout(kind: 'row' | 'column', c: DalleConfig) {
  const [t, g] = [c.textLength, c.grid];
  const shared = Array.from({ length: t + 1 }, (_, j) => j);
  const length = sequenceLength(c);
  const at = (p: number) => (p < length ? p : null);
  return kind === 'row'
    ? { query: (r: number, i: number) => t + r * g + i, keys: (r: number) => [...shared, ...Array.from({ length: g }, (_, j) => at(t + r * g + j))] }
    : {
      query: (col: number, i: number) => t + i * g + col,
      // The queries' own keys (holding the cell before each), then the keys holding the column's cells.
      keys: (col: number) => [...shared, ...Array.from({ length: g }, (_, j) => at(t + j * g + col)), ...Array.from({ length: g }, (_, j) => at(t + 1 + j * g + col))],
    };
}

/** The additive bias [groups, members, slots]: 0 where `allowed` lets the query see the slot's key, and
 *  only at the key's first slot in the group (the start-of-image key is both shared and in group 0's block). */
export function groupBias(kind: 'row' | 'column', c: DalleConfig): T.NDArray {
  const g = c.grid;
  const layout = groupLayout(kind, c);
  const slots = layout.keys(0).length;
  const bias = new Float32Array(g * g * slots).fill(MASKED);
  for (let group = 0; group < g; group++) {
    const keys = layout.keys(group);
    for (let i = 0; i < g; i++) {
      const q = layout.query(group, i);
      keys.forEach((k, j) => {
        if (k !== null && keys.indexOf(k) === j && allowed(kind, q, k, c)) bias[(group * g + i) * slots + j] = 0;
      });
    }
  }
  return new T.NDArray(bias, [g, g, slots]);
}

export function groupedAttention(kind: 'row' | 'column', c: DalleConfig): AttendFn {
  const [t, g] = [c.textLength, c.grid];
  const n = g * g;
  const bias = T.constant(groupBias(kind, c));
  // Caption queries see earlier caption keys only: the first T rows and columns of the layer's own mask.
  const textBias = T.constant(new T.NDArray(Float32Array.from(maskMatrix(kind, t, c), (m) => (m ? 0 : MASKED)), [t, t]));
  return (q, k, v) => {
    const [b, h, , d] = q.shape as [number, number, number, number];
    // [B, H, n, d] in raster order → [B, H, groups, members, d] (a column group's members are strided).
    const grouped = (x: Tensor) => {
      const rows = T.reshape(x, [b, h, g, g, d]);
      return kind === 'row' ? rows : T.transpose(rows, [0, 1, 3, 2, 4]);
    };
    const image = (x: Tensor, start: number) => {
      const part = T.sliceAxis(x, 2, start, Math.min(start + n, x.shape[2]!));
      return grouped(part.shape[2] === n ? part : T.concat([part, T.constant(T.NDArray.zeros([b, h, n - part.shape[2]!, d]))], 2));
    };
    const qi = image(q, t);
    const blocks: [Tensor, Tensor][] = kind === 'row' ? [[image(k, t), image(v, t)]] : [[image(k, t), image(v, t)], [image(k, t + 1), image(v, t + 1)]];
    const [ks, vs] = [T.sliceAxis(k, 2, 0, t + 1), T.sliceAxis(v, 2, 0, t + 1)];
    const sharedScores = T.reshape(T.matmul(T.reshape(qi, [b, h, n, d]), T.mT(ks)), [b, h, g, g, t + 1]);
    const scores = T.concat([sharedScores, ...blocks.map(([kb]) => T.matmul(qi, T.mT(kb)))], 4);
    const weights = T.split(T.softmax(T.add(scores, bias), -1), [t + 1, ...blocks.map(() => g)], 4);
    let out = T.reshape(T.matmul(T.reshape(weights[0]!, [b, h, n, t + 1]), vs), [b, h, g, g, d]);
    blocks.forEach(([, vb], i) => (out = T.add(out, T.matmul(weights[i + 1]!, vb))));
    const imageOut = T.reshape(kind === 'row' ? out : T.transpose(out, [0, 1, 3, 2, 4]), [b, h, n, d]);
    const [qt, kt, vt] = [q, k, v].map((x) => T.sliceAxis(x, 2, 0, t)) as [Tensor, Tensor, Tensor];
    const textOut = T.matmul(T.softmax(T.add(T.matmul(qt, T.mT(kt)), textBias), -1), vt);
    return T.concat([textOut, imageOut], 2);
  };
}
