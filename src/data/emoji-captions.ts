// English captions for emoji images. An emoji's CLDR label ("waving hand: light skin tone", "flag: Japan",
// "family: man, woman, boy") becomes a noun phrase with a correct article ("a waving hand with light skin
// tone", "the flag of Japan", "an orange circle", "sparkles"); captions then combine that phrase with the
// drawing style (present or absent, so prompts may ask for a style or leave it open), short names, tags and
// the category words. Identity keys (what the train/validation split groups by) are the codepoint
// sequence without variation selectors and skin-tone modifiers, shared by every style and tone of an emoji.

const SKIN_TONE_CODES = new Set(['1F3FB', '1F3FC', '1F3FD', '1F3FE', '1F3FF']);

/** Upper-case hexcode sequence without U+FE0F, the form used to match emoji across packages. */
export function normaliseHexcode(hexcode: string): string {
  return hexcode
    .toUpperCase()
    .split(/[-_ ]/)
    .filter((c) => c !== 'FE0F' && c !== '')
    .join('-');
}

/** The identity shared by all styles and skin tones of one emoji. */
export function emojiIdentity(hexcode: string): string {
  return normaliseHexcode(hexcode)
    .split('-')
    .filter((c) => !SKIN_TONE_CODES.has(c))
    .join('-');
}

const IRREGULAR_PLURALS = new Set(['people', 'men', 'women', 'children', 'feet', 'teeth', 'mice', 'geese']);
const SINGULAR_S = /(ss|us|is|ous|ics|ass)$/i;
const HAIR_OR_BEARD = /^(red hair|curly hair|white hair|blond hair|bald|beard)$/;
const PERSON_WORDS = /^(man|woman|men|women|boy|girl|person|people|adult|child|children|baby)$/;
const PREPOSITION = / (with|of|in|on|at|for|from|holding|under|over|and) /;

function isPluralWord(word: string): boolean {
  const w = word.toLowerCase();
  return IRREGULAR_PLURALS.has(w) || (w.length > 3 && w.endsWith('s') && !SINGULAR_S.test(w));
}

/** "a" or "an" for a word, by its sound as far as spelling tells. */
export function indefiniteArticle(phrase: string): 'a' | 'an' {
  const w = phrase.toLowerCase();
  if (/^(uni|use|usu|uro|eu|one|once|ufo|u-)/.test(w)) return 'a';
  if (/^(hour|honest|honou?r)/.test(w)) return 'an';
  return /^[aeiou]/.test(w) ? 'an' : 'a';
}

/** Prefix an indefinite article unless the phrase is plural, a number or already determined. */
export function withIndefiniteArticle(phrase: string): string {
  if (/^[\d#*]/.test(phrase) || /^(a|an|the)\s/i.test(phrase)) return phrase;
  const words = phrase.split(/\s+/);
  const head = phrase.split(PREPOSITION)[0]!.trim().split(/\s+/).pop() ?? phrase;
  if (IRREGULAR_PLURALS.has(words[0]!.toLowerCase()) || isPluralWord(head)) return phrase;
  return `${indefiniteArticle(phrase)} ${phrase}`;
}

function joinAnd(parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** The label as a noun phrase with its article, e.g. "a waving hand with light skin tone". */
export function emojiPhrase(label: string): string {
  const colon = label.indexOf(': ');
  if (colon < 0) return withIndefiniteArticle(label);
  const head = label.slice(0, colon);
  const qualifiers = label.slice(colon + 2).split(/,\s*/).filter(Boolean);
  if (head === 'flag') return `the flag of ${qualifiers.join(', ')}`;
  if (head === 'keycap') return `the keycap ${qualifiers.join(', ')}`;
  const withParts = qualifiers.filter((q) => q.endsWith('skin tone') || (HAIR_OR_BEARD.test(q) && q !== 'bald'));
  const bald = qualifiers.includes('bald');
  const ofParts = qualifiers.filter((q) => PERSON_WORDS.test(q));
  const otherParts = qualifiers.filter((q) => !withParts.includes(q) && !ofParts.includes(q) && q !== 'bald');
  let phrase = withIndefiniteArticle(bald ? `bald ${head}` : head);
  if (otherParts.length > 0) phrase += ` ${otherParts.join(' ')}`;
  if (ofParts.length > 0) phrase += ` of ${joinAnd(ofParts)}`;
  if (withParts.length > 0) phrase += ` with ${joinAnd(withParts)}`;
  return phrase;
}

/** "people-body" → "people and body"; "face-smiling" → "face smiling". */
export function categoryWords(slug: string, isGroup: boolean): string {
  const words = slug.split('-').filter(Boolean);
  return isGroup && words.length === 2 ? `${words[0]} and ${words[1]}` : words.join(' ');
}

function stripArticle(phrase: string): string {
  return phrase.replace(/^(a|an|the) /, '');
}

export interface EmojiCaptionInput {
  label: string;
  style: string;
  tags?: readonly string[];
  shortNames?: readonly string[];
  group?: string;
  subgroup?: string;
}

/** Several captions for one emoji image, without duplicates, in a fixed order. */
export function emojiCaptions(input: EmojiCaptionInput): string[] {
  const phrase = emojiPhrase(input.label);
  const bare = stripArticle(phrase);
  const style = input.style;
  const out: string[] = [
    phrase,
    `${phrase} in ${style} style`,
    `${bare} emoji`,
    `${withIndefiniteArticle(`${style} style emoji`)} of ${phrase}`,
  ];
  const labelWords = input.label.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  for (const short of (input.shortNames ?? []).slice(0, 3)) {
    const words = short.replace(/[_-]+/g, ' ').trim();
    if (words && /^[a-z0-9 ]+$/i.test(words) && !/tone\s?\d/.test(words) && words.toLowerCase() !== labelWords) out.push(`${words} emoji`);
  }
  const tags = (input.tags ?? []).map((t) => t.trim()).filter((t) => t && t.toLowerCase() !== labelWords);
  if (tags.length > 0) out.push(`${phrase}: ${[...new Set(tags)].slice(0, 6).join(', ')}`);
  if (input.group) {
    const cat = `${categoryWords(input.group, true)} emoji`;
    out.push(input.subgroup ? `${phrase}, ${cat}, ${categoryWords(input.subgroup, false)}` : `${phrase}, ${cat}`);
    out.push(`${phrase}, ${cat} in ${style} style`);
  }
  return [...new Set(out)];
}
