// Oniguruma → JavaScript regular expressions, for the patterns inside `tokenizer.json` files. The Rust
// `tokenizers` library compiles them with Oniguruma; JavaScript's RegExp differs in a few constructs that real
// tokenizer files use. We translate the same constructs the same way Tokenizers.js does, so that a file
// splits text identically here and there: `\s`/`\d`/`\w` become their Unicode classes, `(?i:…)` is expanded
// into ASCII case pairs (Node 20 has no inline modifiers), `\A`/`\z`, `\x{…}`, possessive quantifiers and
// identity escapes are rewritten (character classes inside `(?i:…)` are left case-sensitive; no tokenizer
// file we know of has one). Anything JavaScript still rejects is refused with a clear message.
import { UserError } from '../errors.ts';

const WORD_CHARS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}';
const OUTSIDE_CLASS: Record<string, string> = {
  s: '\\p{White_Space}', S: '\\P{White_Space}', d: '\\p{Nd}', D: '\\P{Nd}',
  w: `[${WORD_CHARS}]`, W: `[^${WORD_CHARS}]`, A: '^', z: '$', h: '[0-9A-Fa-f]', H: '[^0-9A-Fa-f]',
};
const INSIDE_CLASS: Record<string, string> = {
  s: '\\p{White_Space}', S: '\\P{White_Space}', d: '\\p{Nd}', D: '\\P{Nd}', w: WORD_CHARS, h: '0-9A-Fa-f',
};
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/-');

/** Compiles an Oniguruma pattern from a tokenizer file into a global Unicode RegExp. */
export function compileOnigurumaRegex(pattern: string, where: string): RegExp {
  const source = translate(pattern);
  try {
    return new RegExp(source, 'gu');
  } catch (err) {
    throw new UserError(`${where}: cannot use regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

function translate(pattern: string): string {
  let out = '';
  let inClass = false;
  const groups: boolean[] = []; // per open group: whether it is an ignore-case group
  let ignoreCase = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      i++;
      const braced = /^x\{([0-9A-Fa-f]+)\}/.exec(pattern.slice(i));
      if (braced) { out += `\\u{${braced[1]}}`; i += braced[0].length - 1; continue; }
      const table = inClass ? INSIDE_CLASS : OUTSIDE_CLASS;
      if (table[next] !== undefined) out += table[next];
      else if (/[A-Za-z0-9]/.test(next)) {
        out += '\\' + next;
        if ((next === 'p' || next === 'P') && pattern[i + 1] === '{') {
          const end = pattern.indexOf('}', i);
          out += pattern.slice(i + 1, end + 1);
          i = end;
        }
      } else out += JS_SYNTAX.has(next) && (inClass || next !== '-') ? '\\' + next : next;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') { inClass = true; out += c; if (pattern[i + 1] === '^') { out += '^'; i++; } continue; }
    if (c === '(') {
      if (pattern.startsWith('(?i:', i)) { groups.push(true); ignoreCase++; out += '(?:'; i += 3; continue; }
      groups.push(false);
      out += c;
      continue;
    }
    if (c === ')') { if (groups.pop()) ignoreCase--; out += c; continue; }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+' && !out.endsWith('(')) {
      out += c; i++; continue; // possessive quantifier: matched as an ordinary one, as Tokenizers.js does
    }
    out += ignoreCase > 0 && /[A-Za-z]/.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
  }
  return out;
}

/** Escapes a literal string for use inside a RegExp. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
