// Reading and writing Hugging Face `tokenizer.json`, the format every checkpoint folder carries. We write the
// standard byte-level BPE layout (NFC/lowercase/whitespace normaliser, ByteLevel pre-tokeniser and decoder,
// BPE model with "a b" merges) so that Tokenizers.js and the Rust `tokenizers` load our files, and we read
// the byte-level BPE files of other models (GPT-2, RoBERTa, Llama 3, Qwen …). A file that is damaged or
// describes another kind of tokenizer is refused with a message naming the file and the problem.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.ts';
import { MAX_TOKEN_ID } from './bpe.ts';
import { BpeTokenizer, type AddedToken, type TokenizerParts } from './tokenizer.ts';

type Json = Record<string, unknown>;

// Stand-ins replaced by the vocabulary and merges, which are written one entry a line.
const VOCAB_PLACEHOLDER = '\u0000vocab\u0000';
const MERGES_PLACEHOLDER = '\u0000merges\u0000';

/** The JSON text of a tokenizer, laid out like the files the Rust library writes. */
export function toTokenizerJson(tokenizer: BpeTokenizer): string {
  const parts = tokenizer.parts;
  const vocabLines: string[] = [];
  parts.vocab.forEach((token, id) => {
    if (token !== null) vocabLines.push(`      ${JSON.stringify(token)}: ${id}`);
  });
  const mergeTokens = parts.merges.map(([left, right]) => [parts.vocab[left]!, parts.vocab[right]!]);
  const legacyMerges = mergeTokens.every(([left, right]) => !left.includes(' ') && !right.includes(' '));
  const mergeLines = mergeTokens.map(([left, right]) => `      ${JSON.stringify(legacyMerges ? `${left} ${right}` : [left, right])}`);
  const skeleton = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: parts.addedTokens.map((t) => ({
      id: t.id, content: t.content, single_word: t.singleWord, lstrip: t.lstrip, rstrip: t.rstrip, normalized: t.normalized, special: t.special,
    })),
    normalizer: parts.normalizer ?? null,
    pre_tokenizer: parts.preTokenizer ?? null,
    post_processor: parts.postProcessor ?? null,
    decoder: parts.decoder ?? null,
    model: {
      type: 'BPE', dropout: null, unk_token: parts.unkToken, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: VOCAB_PLACEHOLDER, merges: MERGES_PLACEHOLDER,
    },
  };
  return JSON.stringify(skeleton, null, 2)
    .replace(`"vocab": ${JSON.stringify(VOCAB_PLACEHOLDER)}`, () => `"vocab": {\n${vocabLines.join(',\n')}\n    }`)
    .replace(`"merges": ${JSON.stringify(MERGES_PLACEHOLDER)}`, () => `"merges": [\n${mergeLines.join(',\n')}\n    ]`) + '\n';
}

/** Builds a tokenizer from parsed `tokenizer.json` content; `where` names the source in messages. */
export function fromTokenizerJson(json: unknown, where = 'tokenizer.json'): BpeTokenizer {
  try {
    return new BpeTokenizer(partsFromJson(json));
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${where}: ${err.message}`);
    throw err;
  }
}

export function saveTokenizer(tokenizer: BpeTokenizer, path: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, toTokenizerJson(tokenizer));
  renameSync(temporary, path);
}

export function loadTokenizer(path: string): BpeTokenizer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read tokenizer ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return fromTokenizerJson(json, path);
}

function object(value: unknown, what: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${what} must be an object`);
  return value as Json;
}

function isTokenId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < MAX_TOKEN_ID - 256;
}

function mentionsByteLevel(section: unknown): boolean {
  if (section === null || typeof section !== 'object') return false;
  if ((section as Json).type === 'ByteLevel') return true;
  return Object.values(section as Json).some((value) => Array.isArray(value) && value.some(mentionsByteLevel));
}

function partsFromJson(json: unknown): TokenizerParts {
  const root = object(json, 'the file');
  const model = object(root.model, '"model"');
  if (model.type !== 'BPE' && !(model.type === undefined && Array.isArray(model.merges))) {
    throw new UserError(`model type ${JSON.stringify(model.type)} is not supported: only byte-level BPE tokenizers load`);
  }
  if (!mentionsByteLevel(root.pre_tokenizer) && !mentionsByteLevel(root.decoder)) {
    throw new UserError('not a byte-level BPE (neither pre_tokenizer nor decoder is ByteLevel)');
  }
  if (model.byte_fallback === true || (model.continuing_subword_prefix ?? '') !== '' || (model.end_of_word_suffix ?? '') !== '') {
    throw new UserError('BPE with byte_fallback, continuing_subword_prefix or end_of_word_suffix is not byte-level BPE');
  }

  const vocab: (string | null)[] = [];
  for (const [token, id] of Object.entries(object(model.vocab, '"model.vocab"'))) {
    if (!isTokenId(id)) throw new UserError(`model.vocab: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not a valid token id`);
    while (vocab.length <= id) vocab.push(null);
    if (vocab[id] !== null) throw new UserError(`model.vocab: id ${id} is given to both ${JSON.stringify(vocab[id])} and ${JSON.stringify(token)}`);
    vocab[id] = token;
  }

  const idOf = new Map<string, number>();
  vocab.forEach((token, id) => { if (token !== null && !idOf.has(token)) idOf.set(token, id); });
  if (!Array.isArray(model.merges)) throw new UserError('model.merges must be a list');
  const merges = model.merges.map((merge: unknown, rank): [number, number] => {
    const pair = typeof merge === 'string' ? merge.split(' ') : merge;
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new UserError(`model.merges[${rank}] is ${JSON.stringify(merge)}, not a pair of tokens`);
    }
    const [left, right] = [idOf.get(pair[0]), idOf.get(pair[1])];
    if (left === undefined || right === undefined) throw new UserError(`model.merges[${rank}] uses a token that is not in the vocabulary: ${JSON.stringify(merge)}`);
    return [left, right];
  });

  const addedList = root.added_tokens ?? [];
  if (!Array.isArray(addedList)) throw new UserError('added_tokens must be a list');
  const addedTokens = addedList.map((entry: unknown, i): AddedToken => {
    const t = object(entry, `added_tokens[${i}]`);
    if (!isTokenId(t.id) || typeof t.content !== 'string' || t.content.length === 0) {
      throw new UserError(`added_tokens[${i}] needs an integer "id" and a non-empty "content"`);
    }
    while (vocab.length <= t.id) vocab.push(null);
    vocab[t.id] ??= t.content;
    const special = t.special === true;
    return {
      id: t.id, content: t.content, special, normalized: typeof t.normalized === 'boolean' ? t.normalized : !special,
      lstrip: t.lstrip === true, rstrip: t.rstrip === true, singleWord: t.single_word === true,
    };
  });

  const unkToken = typeof model.unk_token === 'string' ? model.unk_token : null;
  return {
    vocab, merges, addedTokens, unkToken,
    normalizer: root.normalizer ?? null,
    preTokenizer: root.pre_tokenizer ?? null,
    postProcessor: root.post_processor ?? null,
    decoder: root.decoder ?? null,
  };
}
