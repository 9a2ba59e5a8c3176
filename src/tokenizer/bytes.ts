// The byte-level alphabet of GPT-2 style BPE: every byte 0–255 is shown as one printable character, so that
// tokens are strings in `tokenizer.json` (a space becomes "Ġ", a newline "Ċ"). We define the table
// ourselves because it is the contract with every other byte-level BPE file: it must be exactly GPT-2's.

/** BYTE_TO_CHAR[b] is the character that stands for byte b in vocabulary strings. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The inverse of BYTE_TO_CHAR: character code → byte, or -1 for characters outside the alphabet. */
export const CHAR_TO_BYTE: Int16Array = buildCharToByte();

function buildByteToChar(): string[] {
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return table;
}

function buildCharToByte(): Int16Array {
  const table = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((char, b) => { table[char.charCodeAt(0)] = b; });
  return table;
}

/** The vocabulary string for a run of bytes. */
export function bytesToVocabString(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]!];
  return out;
}

/** The bytes a vocabulary string stands for, or null when it holds a character outside the byte alphabet. */
export function vocabStringToBytes(token: string): Uint8Array | null {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const b = code < 512 ? CHAR_TO_BYTE[code]! : -1;
    if (b < 0) return null;
    bytes[i] = b;
  }
  return bytes;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** UTF-8 bytes of a string; lone surrogates become U+FFFD, as TextEncoder does everywhere. */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Text from UTF-8 bytes; invalid sequences become U+FFFD and a leading BOM is kept. */
export function fromUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}
