// Attention masks over the input sequence [caption (T) | start-of-image | image tokens 0 … N−2]. The query
// at input position T + a predicts grid cell a; the key at T + m holds the token of cell m − 1 (m = 0: the
// start-of-image token). Every position sees itself and all earlier caption positions (text-to-text is
// causal, image-to-text full); image-to-image is causal and further restricted per layer:
//   full: every earlier image key;   row: keys whose cell is in the predicted cell's row;
//   column: keys in its column;      conv: keys within a k×k window around it.
// The start-of-image key is always visible. The same function gives the full mask for training and one
// row of it for each cached decoding step, so both honour every mask exactly.
import type { DalleConfig, MaskKind } from './config.ts';

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
