// The text stages before BPE, built from the `normalizer` and `pre_tokenizer` sections of a Hugging Face
// `tokenizer.json`: normalisation (NFC, lowercase, whitespace folding for our captions) and pre-tokenisation
// (the GPT-2 split into words, numbers, punctuation and spaces). We interpret the JSON ourselves, covering
// the components byte-level BPE files use, and mirror Tokenizers.js step by step so ids match exactly.
import { UserError } from '../errors.ts';
import { compileOnigurumaRegex, escapeRegex } from './regex.ts';

export type Normalizer = (text: string) => string;
export type PreTokenizer = (text: string) => string[];
type Json = Record<string, unknown>;

/** DALL·E's caption normalisation: Unicode NFC, lowercase, runs of whitespace folded to one space, trimmed. */
export const CAPTION_NORMALIZER: Json = {
  type: 'Sequence',
  normalizers: [
    { type: 'NFC' },
    { type: 'Lowercase' },
    { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
    { type: 'Strip', strip_left: true, strip_right: true },
  ],
};

/** GPT-2's pre-tokenisation: the byte-level split regex, no prefix space. */
export const GPT2_PRE_TOKENIZER: Json = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

/** GPT-2's split of text into words, numbers, punctuation runs and whitespace, as Tokenizers.js writes it. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function asObject(value: unknown, where: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${where} must be an object`);
  return value as Json;
}

function patternOf(config: Json, where: string): RegExp {
  const pattern = asObject(config.pattern, `${where}.pattern`);
  if (typeof pattern.Regex === 'string') return compileOnigurumaRegex(pattern.Regex, where);
  if (typeof pattern.String === 'string') return new RegExp(escapeRegex(pattern.String), 'gu');
  throw new UserError(`${where}.pattern must hold a "Regex" or a "String"`);
}

/** Builds the normaliser a `normalizer` section describes; null means the identity. */
export function compileNormalizer(value: unknown, where = 'normalizer'): Normalizer {
  if (value === null || value === undefined) return (text) => text;
  const config = asObject(value, where);
  switch (config.type) {
    case 'Sequence': {
      if (!Array.isArray(config.normalizers)) throw new UserError(`${where}.normalizers must be a list`);
      const steps = config.normalizers.map((step, i) => compileNormalizer(step, `${where}.normalizers[${i}]`));
      return (text) => steps.reduce((t, step) => step(t), text);
    }
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD': {
      const form = config.type;
      return (text) => text.normalize(form);
    }
    case 'Lowercase': return (text) => text.toLowerCase();
    case 'Strip': {
      const left = config.strip_left === true;
      const right = config.strip_right === true;
      return (text) => (left && right ? text.trim() : left ? text.trimStart() : right ? text.trimEnd() : text);
    }
    case 'Replace': {
      const pattern = patternOf(config, where);
      const content = typeof config.content === 'string' ? config.content : '';
      const replace = (text: string): string => text.replaceAll(pattern, () => content);
      const regex = (config.pattern as Json).Regex;
      return regex === '\\s+' && content === ' ' ? (text) => (hasFoldableWhitespace(text) ? replace(text) : text) : replace;
    }
    case 'Prepend': {
      const prefix = typeof config.prepend === 'string' ? config.prepend : '';
      return (text) => prefix + text;
    }
    case 'StripAccents': return (text) => text.replace(/\p{M}/gu, '');
    default:
      throw new UserError(`${where}: normalizer type ${JSON.stringify(config.type)} is not supported for byte-level BPE`);
  }
}

/** Code points with the Unicode White_Space property other than U+0020. */
const WHITE_SPACE = new Set([9, 10, 11, 12, 13, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);

/** Whether folding whitespace runs into one space would change the text: a quick scan that spares the regex. */
function hasFoldableWhitespace(text: string): boolean {
  let previousWasSpace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) {
      if (previousWasSpace) return true;
      previousWasSpace = true;
    } else {
      if ((c <= 13 || c >= 0x85) && WHITE_SPACE.has(c)) return true;
      previousWasSpace = false;
    }
  }
  return false;
}

/**
 * Builds the pre-tokeniser a `pre_tokenizer` section describes. It returns pieces of text; the byte mapping
 * that a ByteLevel step also does belongs to the BPE model, so ByteLevel may only come last in a Sequence.
 */
export function compilePreTokenizer(value: unknown, where = 'pre_tokenizer'): PreTokenizer {
  if (value === null || value === undefined) return (text) => [text];
  const config = asObject(value, where);
  switch (config.type) {
    case 'Sequence': {
      if (!Array.isArray(config.pretokenizers)) throw new UserError(`${where}.pretokenizers must be a list`);
      const list = config.pretokenizers as unknown[];
      const steps = list.map((step, i) => {
        const stepWhere = `${where}.pretokenizers[${i}]`;
        if (i < list.length - 1 && asObject(step, stepWhere).type === 'ByteLevel') {
          throw new UserError(`${stepWhere}: a ByteLevel step is only supported as the last step of a Sequence`);
        }
        return compilePreTokenizer(step, stepWhere);
      });
      return (text) => steps.reduce<string[]>((pieces, step) => pieces.flatMap(step), [text]);
    }
    case 'ByteLevel': {
      const addPrefixSpace = config.add_prefix_space === true;
      const useRegex = config.use_regex !== false;
      return (text) => {
        const spaced = addPrefixSpace && !text.startsWith(' ') ? ' ' + text : text;
        return useRegex ? (spaced.match(GPT2_SPLIT) ?? []) : [spaced];
      };
    }
    case 'Split': return compileSplit(config, where);
    default:
      throw new UserError(`${where}: pre-tokenizer type ${JSON.stringify(config.type)} is not supported for byte-level BPE`);
  }
}

function compileSplit(config: Json, where: string): PreTokenizer {
  const invert = config.invert === true;
  const behavior = typeof config.behavior === 'string' ? config.behavior.toLowerCase() : 'isolated';
  if (!invert && behavior !== 'isolated' && behavior !== 'removed') {
    throw new UserError(`${where}: Split behavior ${JSON.stringify(config.behavior)} is not supported (Isolated or Removed)`);
  }
  const pattern = patternOf(config, where);
  if (invert) return (text) => (text.match(pattern) ?? []).filter((piece) => piece.length > 0);
  if (behavior === 'removed') return (text) => text.split(pattern).filter((piece) => piece.length > 0);
  return (text) => {
    const pieces: string[] = [];
    let previous = 0;
    for (const match of text.matchAll(pattern)) {
      if (previous < match.index) pieces.push(text.slice(previous, match.index));
      if (match[0].length > 0) pieces.push(match[0]);
      previous = match.index + match[0].length;
    }
    if (previous < text.length) pieces.push(text.slice(previous));
    return pieces;
  };
}
