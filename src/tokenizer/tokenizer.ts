// The byte-level BPE tokenizer: normalise, split off special tokens, pre-tokenise, merge bytes into tokens;
// and back from ids to text. It is built from the parts of a Hugging Face `tokenizer.json` (see
// `hf-json.ts`) and reproduces Tokenizers.js ids exactly; we wrote our own because no npm package trains a
// BPE, and because training needs the encoder's normaliser and pre-tokeniser bit for bit.
//
// Defined results for awkward input: lone UTF-16 surrogates become U+FFFD (UTF-8 cannot carry them); NUL and
// other control characters are ordinary bytes; an empty or all-whitespace caption encodes to no ids. For
// every string `t`, decode(encode(t)) === normalize(t) (for files that add no prefix space, such as ours).
import { UserError } from '../errors.ts';
import { Rng } from '../tensor/random.ts';
import { BYTE_TO_CHAR, fromUtf8, utf8, vocabStringToBytes } from './bytes.ts';
import { applyMerges, MAX_TOKEN_ID, MergeTable } from './bpe.ts';
import { compileNormalizer, compilePreTokenizer, type Normalizer, type PreTokenizer } from './pipeline.ts';
import { escapeRegex } from './regex.ts';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  /** Matched in the normalised text (true) or in the raw text (false). */
  normalized: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** Everything a byte-level BPE tokenizer is made of; the JSON sections are kept as the file has them. */
export interface TokenizerParts {
  /** id → token: a string over the byte alphabet, or an added token's content; null for an unused id. */
  vocab: (string | null)[];
  /** Merges in rank order, as pairs of ids. */
  merges: [left: number, right: number][];
  addedTokens: AddedToken[];
  unkToken: string | null;
  normalizer: unknown;
  preTokenizer: unknown;
  postProcessor: unknown;
  decoder: unknown;
}

export interface EncodeOptions {
  /** Keep at most this many ids (the first ones). */
  maxLength?: number;
  /** BPE dropout: the probability of skipping each merge, for training; 0 (default) is deterministic BPE. */
  dropout?: number;
  /** Uniform [0, 1) generator for dropout, e.g. `seededRandom(seed)`; required when dropout > 0. */
  random?: () => number;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

type Section = { added: AddedToken } | { text: string };

const CACHE_LIMIT = 200_000;

export class BpeTokenizer {
  readonly parts: TokenizerParts;
  private readonly normalizer: Normalizer;
  private readonly preTokenizer: PreTokenizer;
  private readonly mergeTable: MergeTable;
  private readonly idOfToken = new Map<string, number>();
  private readonly byteIds = new Int32Array(256);
  private readonly tokenBytes: (Uint8Array | null)[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly rawAddedSplitter: AddedTokenSplitter;
  private readonly normalizedAddedSplitter: AddedTokenSplitter;
  private readonly unkId: number;
  private readonly cache = new Map<string, number[]>();

  constructor(parts: TokenizerParts) {
    this.parts = parts;
    if (parts.vocab.length >= MAX_TOKEN_ID - 256) throw new UserError(`vocabulary of ${parts.vocab.length} tokens is too large`);
    for (const added of parts.addedTokens) this.addedById.set(added.id, added);
    const idOfModelToken = new Map<string, number>(); // added tokens left out: they never come from bytes
    parts.vocab.forEach((token, id) => {
      if (token !== null && !this.addedById.has(id) && !idOfModelToken.has(token)) idOfModelToken.set(token, id);
    });
    for (const [token, id] of idOfModelToken) this.idOfToken.set(token, id);
    for (const added of parts.addedTokens) this.idOfToken.set(added.content, added.id);
    this.tokenBytes = parts.vocab.map((token, id) =>
      token === null || this.addedById.has(id) ? null : (vocabStringToBytes(token) ?? utf8(token)));
    // A byte the vocabulary lacks gets an id past the vocabulary: no merge uses it, and it encodes as unk.
    for (let b = 0; b < 256; b++) this.byteIds[b] = idOfModelToken.get(BYTE_TO_CHAR[b]!) ?? MAX_TOKEN_ID - 256 + b;
    this.unkId = parts.unkToken === null ? -1 : (this.idOfToken.get(parts.unkToken) ?? -1);
    this.mergeTable = new MergeTable(parts.merges.map(([left, right], rank) => {
      const merged = (parts.vocab[left] ?? '') + (parts.vocab[right] ?? '');
      const result = idOfModelToken.get(merged);
      if (result === undefined) throw new UserError(`merge ${rank} (${left} ${right}) makes ${JSON.stringify(merged)}, which is not in the vocabulary`);
      return [left, right, result] as const;
    }), parts.vocab.length);
    this.normalizer = compileNormalizer(parts.normalizer);
    this.preTokenizer = compilePreTokenizer(parts.preTokenizer);
    this.rawAddedSplitter = new AddedTokenSplitter(parts.addedTokens.filter((t) => !t.normalized));
    this.normalizedAddedSplitter = new AddedTokenSplitter(parts.addedTokens.filter((t) => t.normalized), this.normalizer);
  }

  /** Number of ids, special tokens included. */
  get vocabSize(): number {
    return this.parts.vocab.length;
  }

  get mergeCount(): number {
    return this.mergeTable.size;
  }

  /** The text that encoding sees and that decoding gives back. */
  normalize(text: string): string {
    const sections = this.sections(checkText(text));
    return sections.map((s) => ('added' in s ? s.added.content : s.text)).join('');
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const { maxLength, dropout = 0, random } = options;
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength >= 0)) throw new UserError(`maxLength must be a whole number ≥ 0, got ${maxLength}`);
    if (!(dropout >= 0 && dropout < 1)) throw new UserError(`dropout must be in [0, 1), got ${dropout}`);
    if (dropout > 0 && random === undefined) throw new UserError('dropout needs a seeded random generator (option `random`, e.g. seededRandom(seed))');
    const ids: number[] = [];
    for (const section of this.sections(checkText(text))) {
      if (maxLength !== undefined && ids.length >= maxLength) break;
      if ('added' in section) { ids.push(section.added.id); continue; }
      for (const piece of this.preTokenizer(section.text)) {
        for (const id of dropout > 0 ? this.mergePiece(piece, dropout, random!) : this.cachedPiece(piece)) {
          if (id < this.parts.vocab.length) ids.push(id);
          else if (this.unkId >= 0) ids.push(this.unkId);
        }
        if (maxLength !== undefined && ids.length >= maxLength) break;
      }
    }
    return maxLength !== undefined && ids.length > maxLength ? ids.slice(0, maxLength) : ids;
  }

  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): number[][] {
    return texts.map((text) => this.encode(text, options));
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let text = '';
    let pending: Uint8Array[] = [];
    const flush = (): void => {
      if (pending.length === 0) return;
      text += fromUtf8(concatBytes(pending));
      pending = [];
    };
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added !== undefined) {
        flush();
        if (!(options.skipSpecialTokens && added.special)) text += added.content;
        continue;
      }
      const bytes = Number.isInteger(id) ? this.tokenBytes[id] : undefined;
      if (bytes === undefined || bytes === null) throw new UserError(`token id ${id} is not in the vocabulary (${this.vocabSize} ids)`);
      pending.push(bytes);
    }
    flush();
    return text;
  }

  /** The vocabulary strings of ids (bytes shown in the byte alphabet, e.g. "Ġcat"). */
  idsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => {
      const token = this.parts.vocab[id];
      if (typeof token !== 'string') throw new UserError(`token id ${id} is not in the vocabulary (${this.vocabSize} ids)`);
      return token;
    });
  }

  tokenToId(token: string): number | undefined {
    return this.idOfToken.get(token);
  }

  /** The text a single token stands for, with U+FFFD where it holds part of a multi-byte character. */
  tokenText(id: number): string {
    return this.decode([id]);
  }

  /** The pieces BPE merges within: normalised, split at added tokens (which are left out), pre-tokenised. */
  preTokenize(text: string): string[] {
    return this.sections(checkText(text)).flatMap((s) => ('added' in s ? [] : this.preTokenizer(s.text)));
  }

  private sections(text: string): Section[] {
    const out: Section[] = [];
    for (const raw of this.rawAddedSplitter.split(text)) {
      if ('added' in raw) { out.push(raw); continue; }
      const normalized = this.normalizer(raw.text);
      for (const section of this.normalizedAddedSplitter.split(normalized)) {
        if ('added' in section || section.text.length > 0) out.push(section);
      }
    }
    return out;
  }

  private pieceBytes(piece: string): number[] {
    const ids = new Array<number>(piece.length);
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 128) return this.pieceUtf8Bytes(piece);
      ids[i] = this.byteIds[c]!;
    }
    return ids;
  }

  private pieceUtf8Bytes(piece: string): number[] {
    const bytes = utf8(piece);
    const ids = new Array<number>(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = this.byteIds[bytes[i]!]!;
    return ids;
  }

  private cachedPiece(piece: string): number[] {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      ids = applyMerges(this.pieceBytes(piece), this.mergeTable);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(piece, ids);
    }
    return ids;
  }

  private mergePiece(piece: string, dropout: number, random: () => number): number[] {
    return applyMerges(this.pieceBytes(piece), this.mergeTable, dropout, random);
  }
}

function checkText(text: unknown): string {
  if (typeof text !== 'string') throw new UserError(`text to encode must be a string, got ${typeof text}`);
  const unicode = text as string & { isWellFormed(): boolean; toWellFormed(): string }; // ES2024, in Node 20
  return unicode.isWellFormed() ? text : unicode.toWellFormed();
}

function concatBytes(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) { out.set(chunk, offset); offset += chunk.length; }
  return out;
}

/**
 * Splits text at added tokens, leftmost-longest as Tokenizers.js does, and applies their lstrip/rstrip.
 * Tokens matched in normalised text are matched by their normalised content.
 */
class AddedTokenSplitter {
  private readonly pattern: RegExp | null;
  private readonly byContent = new Map<string, AddedToken>();

  constructor(tokens: AddedToken[], normalizer?: Normalizer) {
    for (const token of tokens) {
      const content = normalizer ? normalizer(token.content) : token.content;
      if (content.length > 0 && !this.byContent.has(content)) this.byContent.set(content, token);
    }
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.pattern = contents.length === 0 ? null : new RegExp(contents.map(escapeRegex).join('|'), 'g');
  }

  split(text: string): Section[] {
    if (this.pattern === null) return [{ text }];
    this.pattern.lastIndex = 0;
    const found = this.pattern.test(text);
    this.pattern.lastIndex = 0;
    if (!found) return [{ text }];
    const sections: Section[] = [];
    let previous = 0;
    for (const match of text.matchAll(this.pattern)) {
      if (match.index > previous) sections.push({ text: text.slice(previous, match.index) });
      sections.push({ added: this.byContent.get(match[0])! });
      previous = match.index + match[0].length;
    }
    if (previous < text.length) sections.push({ text: text.slice(previous) });
    sections.forEach((section, i) => {
      if (!('added' in section)) return;
      const before = sections[i - 1];
      const after = sections[i + 1];
      if (section.added.lstrip && before && 'text' in before) before.text = before.text.trimEnd();
      if (section.added.rstrip && after && 'text' in after) after.text = after.text.trimStart();
    });
    return sections;
  }
}

/** A small seeded uniform [0, 1) generator (mulberry32) for BPE dropout. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
