// What a dataset item is, independent of where it came from (a folder with caption files, a JSONL
// manifest, a built-in source): an image file, its captions, a stable id and the identity group used by the
// train/validation split. Readers live in folder.ts and manifest.ts; source.ts picks one from a path.

export interface DatasetItem {
  /** Stable id: the image path relative to the dataset root, without extension. */
  id: string;
  /** Absolute path of the image file. */
  image: string;
  /** One or more non-empty captions. */
  captions: string[];
  /** Identity key for the split: items sharing a group always land on the same side. */
  group: string;
  /** Where the item was declared (caption file or manifest:line), for reports. */
  source: string;
}

/** Split non-empty caption lines out of a text block. */
export function captionLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
