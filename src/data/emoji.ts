// The built-in `emoji` source: openly licensed emoji image sets from the npm registry, rendered to one size
// and written as a caption-file dataset (style/NAME.png + NAME.txt captions + NAME.json metadata whose
// `group` is the emoji identity, so the split keeps every style and skin tone of an emoji on one side).
//   twemoji   emoji-datasource-twitter  img/twitter/64/*.png           CC-BY 4.0
//   noto      emoji-datasource-google   img/google/64/*.png            Apache-2.0
//   openmoji  openmoji                  color/svg/*.svg + data/openmoji.json (with its own extras), CC BY-SA 4.0
//   fluent    fluentui-emoji            icons/flat/*.svg, names from file names, MIT
// Labels, tags, short names and categories come from emojibase-data (English). Apple and Facebook images
// are never used (not openly licensed). A missing package is reported and its style skipped; an image that
// cannot be decoded is reported and skipped.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Rgb, ImageDecodeError, WHITE, decodeImage, encodePng } from '../io/images.ts';
import type { Progress } from '../util/progress.ts';
import { emojiCaptions, emojiIdentity, normaliseHexcode } from './emoji-captions.ts';
import type { ProblemLog } from './problems.ts';

export const EMOJI_STYLES = ['twemoji', 'noto', 'openmoji', 'fluent'] as const;
export type EmojiStyle = (typeof EMOJI_STYLES)[number];

interface StyleInfo {
  packageName: string;
  licence: string;
  attribution: string;
  licenceFiles: string[];
}

export const STYLE_INFO: Record<EmojiStyle, StyleInfo> = {
  twemoji: {
    packageName: 'emoji-datasource-twitter',
    licence: 'CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/)',
    attribution: 'Twemoji graphics © Twitter, Inc. and other contributors (https://github.com/jdecked/twemoji), via emoji-datasource by Cal Henderson (MIT)',
    licenceFiles: ['LICENSE'],
  },
  noto: {
    packageName: 'emoji-datasource-google',
    licence: 'Apache-2.0 (https://github.com/googlefonts/noto-emoji/blob/main/LICENSE)',
    attribution: 'Noto Emoji graphics © Google LLC (https://github.com/googlefonts/noto-emoji), via emoji-datasource by Cal Henderson (MIT)',
    licenceFiles: ['LICENSE'],
  },
  openmoji: {
    packageName: 'openmoji',
    licence: 'CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)',
    attribution: 'OpenMoji – the open-source emoji and icon project (https://openmoji.org/); derived images are shared under CC BY-SA 4.0',
    licenceFiles: ['LICENSE.txt'],
  },
  fluent: {
    packageName: 'fluentui-emoji',
    licence: 'MIT (https://github.com/microsoft/fluentui-emoji/blob/main/LICENSE)',
    attribution: 'Fluent Emoji © Microsoft Corporation (https://github.com/microsoft/fluentui-emoji), flat style, via the fluentui-emoji package by Mohammad Abu Mattar (MIT)',
    licenceFiles: ['LICENSE'],
  },
};

interface EmojibaseEntry {
  label: string;
  hexcode: string;
  tags?: string[];
  group?: number;
  subgroup?: number;
  tone?: number | number[];
  skins?: EmojibaseEntry[];
}

/** English metadata for every emoji, keyed by normalised hexcode. */
export interface EmojiMeta {
  label: string;
  hexcode: string;
  tags: string[];
  shortNames: string[];
  group?: string;
  subgroup?: string;
  tone?: number | number[];
}

export interface EmojiSource {
  style: EmojiStyle;
  /** Absolute path of the PNG or SVG. */
  file: string;
  /** Output name inside the style folder, without extension. */
  name: string;
  group: string;
  hexcode?: string;
  label: string;
  tags: string[];
  shortNames: string[];
  category?: string;
  subcategory?: string;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Load emojibase-data's English labels, tags, short codes and category names. */
export function loadEmojibase(packagesDir: string): Map<string, EmojiMeta> {
  const base = join(packagesDir, 'emojibase-data');
  const data = readJson<EmojibaseEntry[]>(join(base, 'en', 'data.json'));
  const meta = readJson<{ groups: Record<string, string>; subgroups: Record<string, string> }>(join(base, 'meta', 'groups.json'));
  const shortcodesPath = join(base, 'en', 'shortcodes', 'emojibase.json');
  const shortcodes = existsSync(shortcodesPath) ? readJson<Record<string, string | string[]>>(shortcodesPath) : {};
  const out = new Map<string, EmojiMeta>();
  const add = (e: EmojibaseEntry, parent?: EmojibaseEntry) => {
    const sc = shortcodes[e.hexcode];
    const group = e.group ?? parent?.group;
    const subgroup = e.subgroup ?? parent?.subgroup;
    out.set(normaliseHexcode(e.hexcode), {
      label: e.label,
      hexcode: e.hexcode,
      tags: e.tags ?? parent?.tags ?? [],
      shortNames: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc],
      group: group === undefined ? undefined : meta.groups[String(group)],
      subgroup: subgroup === undefined ? undefined : meta.subgroups[String(subgroup)],
      tone: e.tone,
    });
    for (const s of e.skins ?? []) add(s, e);
  };
  for (const e of data) add(e);
  return out;
}

function fromMeta(style: EmojiStyle, file: string, name: string, hexcode: string, meta: EmojiMeta | undefined, fallbackLabel: string): EmojiSource {
  return {
    style,
    file,
    name,
    group: emojiIdentity(hexcode),
    hexcode: normaliseHexcode(hexcode),
    label: meta?.label ?? fallbackLabel,
    tags: meta?.tags ?? [],
    shortNames: meta?.shortNames ?? [],
    category: meta?.group,
    subcategory: meta?.subgroup,
  };
}

interface DatasourceEntry {
  name?: string;
  unified: string;
  image: string;
  short_names?: string[];
  [key: string]: unknown;
  skin_variations?: Record<string, { unified: string; image: string; [key: string]: unknown }>;
}

/** Twemoji or Noto from an emoji-datasource-* package (64 px PNGs). */
function datasourceSources(style: 'twemoji' | 'noto', packagesDir: string, meta: Map<string, EmojiMeta>): EmojiSource[] {
  const set = style === 'twemoji' ? 'twitter' : 'google';
  const dir = join(packagesDir, STYLE_INFO[style].packageName);
  const entries = readJson<DatasourceEntry[]>(join(dir, 'emoji.json'));
  const out: EmojiSource[] = [];
  const add = (unified: string, image: string, hasImage: unknown, shortNames: string[], fallback: string) => {
    if (hasImage === false) return;
    const m = meta.get(normaliseHexcode(unified));
    const src = fromMeta(style, join(dir, 'img', set, '64', image), image.replace(/\.png$/, ''), unified, m, fallback);
    if (src.shortNames.length === 0) src.shortNames = shortNames;
    out.push(src);
  };
  for (const e of entries) {
    const fallback = (e.name ?? e.short_names?.[0] ?? e.unified).toLowerCase();
    add(e.unified, e.image, e[`has_img_${set}`], e.short_names ?? [], fallback);
    for (const v of Object.values(e.skin_variations ?? {})) add(v.unified, v.image, v[`has_img_${set}`], e.short_names ?? [], fallback);
  }
  return out;
}

interface OpenmojiEntry {
  hexcode: string;
  group: string;
  subgroups: string;
  annotation: string;
  tags: string;
  openmoji_tags: string;
}

function splitTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** OpenMoji colour SVGs, Unicode emoji and OpenMoji's own extras. */
function openmojiSources(packagesDir: string, meta: Map<string, EmojiMeta>): EmojiSource[] {
  const dir = join(packagesDir, 'openmoji');
  const entries = readJson<OpenmojiEntry[]>(join(dir, 'data', 'openmoji.json'));
  return entries.map((e) => {
    const m = meta.get(normaliseHexcode(e.hexcode));
    const extra = e.group.startsWith('extras');
    return {
      style: 'openmoji' as const,
      file: join(dir, 'color', 'svg', `${e.hexcode}.svg`),
      name: e.hexcode,
      // extras live in the Private Use Area or are OpenMoji-only sequences: their identity is their own code
      group: extra ? `openmoji:${normaliseHexcode(e.hexcode)}` : emojiIdentity(e.hexcode),
      hexcode: normaliseHexcode(e.hexcode),
      label: m?.label ?? e.annotation,
      tags: [...new Set([...(m?.tags ?? splitTags(e.tags)), ...splitTags(e.openmoji_tags)])],
      shortNames: m?.shortNames ?? [],
      category: extra ? e.subgroups : (m?.group ?? e.group),
      subcategory: extra ? undefined : (m?.subgroup ?? e.subgroups),
    };
  });
}

/** Lower-case hyphenated slug, the way fluentui-emoji names its files. */
export function slugOf(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[’'“”".!]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

const FLUENT_TONES: [string, number][] = [
  ['medium-light', 2],
  ['medium-dark', 4],
  ['light', 1],
  ['medium', 3],
  ['dark', 5],
];
const FLUENT_TONE_WORDS = ['', 'light', 'medium-light', 'medium', 'medium-dark', 'dark'];
/** Fluent file names whose words differ from the emojibase label, mapped to the emoji's hexcode. */
const FLUENT_HEXCODES: Record<string, string> = {
  'keycap-hashtag': '0023-20E3',
  'keycap-asterisk': '002A-20E3',
};
/** Fluent file names whose words differ from the emojibase label, mapped to the label's slug. */
const FLUENT_SLUGS: Record<string, string> = {
  'person-deaf': 'deaf-person',
  'man-deaf': 'deaf-man',
  'woman-deaf': 'deaf-woman',
  'person-elf': 'elf',
  'person-fairy': 'fairy',
  'person-mage': 'mage',
  'person-genie': 'genie',
  'person-zombie': 'zombie',
  'person-vampire': 'vampire',
  'person-superhero': 'superhero',
  'person-supervillain': 'supervillain',
  'person-merpeople': 'merperson',
  'man-merpeople': 'merman',
  'woman-merpeople': 'mermaid',
  'person-with-bunny-ears': 'people-with-bunny-ears',
  'man-with-bunny-ears': 'men-with-bunny-ears',
  'woman-with-bunny-ears': 'women-with-bunny-ears',
  'person-wrestling': 'people-wrestling',
  'man-wrestling': 'men-wrestling',
  'woman-wrestling': 'women-wrestling',
  'hugging-face': 'smiling-face-with-open-hands',
  'pouting-face': 'enraged-face',
  'red-triangle': 'red-triangle-pointed-up',
  'knocked-out-face': 'face-with-crossed-out-eyes',
  'phoenix-bird': 'phoenix',
  blackbird: 'black-bird',
  'stuffedbread-flat': 'stuffed-flatbread',
};

/** Fluent flat SVGs; names come from file names, matched to emojibase labels where they agree. */
function fluentSources(packagesDir: string, meta: Map<string, EmojiMeta>): EmojiSource[] {
  const dir = join(packagesDir, 'fluentui-emoji', 'icons', 'flat');
  const bySlug = new Map<string, EmojiMeta>();
  for (const m of meta.values()) if (m.tone === undefined) bySlug.set(slugOf(m.label), m);
  const byHexTone = new Map<string, EmojiMeta>();
  for (const m of meta.values()) if (typeof m.tone === 'number') byHexTone.set(`${emojiIdentity(m.hexcode)}/${m.tone}`, m);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.svg'))
    .sort();
  const lookup = (stem: string) => {
    const hex = FLUENT_HEXCODES[stem];
    return hex ? meta.get(hex) : bySlug.get(FLUENT_SLUGS[stem] ?? stem.replace(/blonde/g, 'blond'));
  };
  return files.map((file) => {
    const stem = file.slice(0, -4);
    let base = stem.replace(/-default$/, '');
    let tone = 0;
    let m = lookup(base);
    if (!m) {
      for (const [suffix, n] of FLUENT_TONES) {
        if (base.endsWith(`-${suffix}`) && (lookup(base.slice(0, -suffix.length - 1)) || files.includes(`${base.slice(0, -suffix.length - 1)}-default.svg`))) {
          base = base.slice(0, -suffix.length - 1);
          tone = n;
          m = lookup(base);
          break;
        }
      }
    }
    if (m && tone > 0) {
      const toned = byHexTone.get(`${emojiIdentity(m.hexcode)}/${tone}`);
      const src = fromMeta('fluent', join(dir, file), stem, toned?.hexcode ?? m.hexcode, toned ?? m, m.label);
      if (!toned) src.label = `${m.label}: ${FLUENT_TONE_WORDS[tone]} skin tone`;
      return src;
    }
    if (m) return fromMeta('fluent', join(dir, file), stem, m.hexcode, m, m.label);
    const words = base.replace(/-/g, ' ');
    return {
      style: 'fluent' as const,
      file: join(dir, file),
      name: stem,
      group: `fluent:${base}`,
      label: tone > 0 ? `${words}: ${FLUENT_TONE_WORDS[tone]} skin tone` : words,
      tags: [],
      shortNames: [],
    };
  });
}

/** Every image of the requested styles; styles whose package is absent are reported and left out. */
export function listEmojiSources(packagesDir: string, styles: readonly EmojiStyle[], log: (line: string) => void): EmojiSource[] {
  const meta = loadEmojibase(packagesDir);
  const out: EmojiSource[] = [];
  for (const style of styles) {
    const pkg = join(packagesDir, STYLE_INFO[style].packageName);
    if (!existsSync(pkg)) {
      log(`${pkg}: package not installed; style ${style} skipped`);
      continue;
    }
    if (style === 'twemoji' || style === 'noto') out.push(...datasourceSources(style, packagesDir, meta));
    else if (style === 'openmoji') out.push(...openmojiSources(packagesDir, meta));
    else out.push(...fluentSources(packagesDir, meta));
  }
  return out;
}

export interface EmojiBuildOptions {
  out: string;
  size: number;
  /** Folder holding the packages (node_modules). */
  packagesDir: string;
  styles?: readonly EmojiStyle[];
  background?: Rgb;
  problems: ProblemLog;
  progress?: (total: number) => Progress;
  concurrency?: number;
  log?: (line: string) => void;
}

export interface EmojiBuildResult {
  perStyle: Record<string, number>;
  images: number;
  captions: number;
  identities: number;
}

function packageVersion(dir: string): string {
  try {
    return readJson<{ version: string }>(join(dir, 'package.json')).version;
  } catch {
    return 'unknown';
  }
}

async function writeAttribution(out: string, packagesDir: string, styles: readonly EmojiStyle[], perStyle: Record<string, number>): Promise<void> {
  await mkdir(join(out, 'licenses'), { recursive: true });
  const lines = [
    '# Emoji dataset: licences and attribution',
    '',
    'Built by `dalle data emoji`. Each style folder holds images from one openly licensed emoji set; the licence of',
    'each set applies to its images (and to anything derived from them). Captions come from emojibase-data',
    '(MIT, https://emojibase.dev) and OpenMoji annotations.',
    '',
  ];
  for (const style of styles) {
    const info = STYLE_INFO[style];
    const dir = join(packagesDir, info.packageName);
    if (!existsSync(dir)) continue;
    lines.push(`## ${style} (${perStyle[style] ?? 0} images)`, '', `- package: ${info.packageName}@${packageVersion(dir)}`, `- licence: ${info.licence}`, `- attribution: ${info.attribution}`);
    for (const f of info.licenceFiles) {
      if (!existsSync(join(dir, f))) continue;
      const target = `${info.packageName}-${f}`;
      await copyFile(join(dir, f), join(out, 'licenses', target));
      lines.push(`- package licence file: licenses/${target}`);
    }
    lines.push('');
  }
  const eb = join(packagesDir, 'emojibase-data');
  if (existsSync(join(eb, 'LICENSE'))) await copyFile(join(eb, 'LICENSE'), join(out, 'licenses', 'emojibase-data-LICENSE'));
  await writeFile(join(out, 'ATTRIBUTION.md'), lines.join('\n'));
}

/** Render every emoji image at `size` into `out`/STYLE/NAME.png with captions and metadata beside it. */
export async function buildEmoji(options: EmojiBuildOptions): Promise<EmojiBuildResult> {
  const styles = options.styles ?? EMOJI_STYLES;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const sources = listEmojiSources(options.packagesDir, styles, log);
  const progress = options.progress?.(sources.length);
  const concurrency = options.concurrency ?? 16;
  const perStyle: Record<string, number> = {};
  const identities = new Set<string>();
  let captions = 0;
  for (const style of styles) await mkdir(join(options.out, style), { recursive: true });
  for (let start = 0; start < sources.length; start += concurrency) {
    await Promise.all(
      sources.slice(start, start + concurrency).map(async (src) => {
        try {
          const image = await decodeImage(src.file, { size: options.size, fit: 'contain', background: options.background ?? WHITE });
          const stem = join(options.out, src.style, src.name);
          const lines = emojiCaptions({ label: src.label, style: src.style, tags: src.tags, shortNames: src.shortNames, group: src.category, subgroup: src.subcategory });
          await writeFile(`${stem}.png`, await encodePng(image));
          await writeFile(`${stem}.txt`, lines.join('\n') + '\n');
          const metadata = { group: src.group, style: src.style, hexcode: src.hexcode ?? null, label: src.label, licence: STYLE_INFO[src.style].licence };
          await writeFile(`${stem}.json`, JSON.stringify(metadata) + '\n');
          perStyle[src.style] = (perStyle[src.style] ?? 0) + 1;
          identities.add(src.group);
          captions += lines.length;
        } catch (err) {
          if (!(err instanceof ImageDecodeError)) throw err;
          options.problems.report('unreadable-image', src.file, err.message.slice(src.file.length + 2));
        }
        progress?.tick();
      }),
    );
  }
  progress?.done();
  await writeAttribution(options.out, options.packagesDir, styles, perStyle);
  const images = Object.values(perStyle).reduce((a, b) => a + b, 0);
  return { perStyle, images, captions, identities: identities.size };
}
