/**
 * Word splitting as lm-evaluation-harness's decontamination janitor does it
 * (`lm_eval/decontamination/janitor.py`): ASCII letters lowercased, ASCII punctuation
 * (Python's `string.punctuation`) deleted, then split on whitespace (Python's `str.split()`),
 * so `"Dirty-boy, CLEAN!"` gives the words `dirtyboy`, `clean`. Words are hashed while the text
 * is scanned, without building substrings. Private to `lib/data`.
 * @module
 */
import { fmix32, FNV_OFFSET, FNV_PRIME } from "./_hash.ts";

/** Python's `string.punctuation`: the characters the janitor deletes. */
export const JANITOR_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

const ASCII = 128;
const UPPER_A = 65, UPPER_Z = 90, CASE_OFFSET = 32;
/** Class of each ASCII code unit: 0 kept (letters, digits, …), space, or deleted punctuation. */
const SPACE = 1, PUNCT = 2;
const ASCII_CLASS = new Uint8Array(ASCII);
for (const c of JANITOR_PUNCTUATION) ASCII_CLASS[c.charCodeAt(0)] = PUNCT;
for (let c = 0; c < ASCII; c++) {
  if (c === 32 || (c >= 9 && c <= 13) || (c >= 28 && c <= 31)) ASCII_CLASS[c] = SPACE;
}
/** ASCII code unit → the code unit the janitor keeps (A-Z lowercased). */
const ASCII_LOWER = Uint8Array.from(
  { length: ASCII },
  (_, c) => c >= UPPER_A && c <= UPPER_Z ? c + CASE_OFFSET : c,
);

/** Whether code unit `c` is whitespace for Python's `str.split()`. */
export function isSpace(c: number): boolean {
  if (c < ASCII) return ASCII_CLASS[c] === SPACE;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** A reusable buffer of word hashes. */
export class WordBuffer {
  /** Hash of each word (as a signed 32-bit integer), `count` of them valid. */
  hashes: Int32Array = new Int32Array(256);
  /** Words in the last scan. */
  count = 0;

  /** Make room for at least `n` words. */
  reserve(n: number): void {
    if (n <= this.hashes.length) return;
    let size = this.hashes.length;
    while (size < n) size *= 2;
    const bigger = new Int32Array(size);
    bigger.set(this.hashes.subarray(0, this.count));
    this.hashes = bigger;
  }
}

/**
 * Scan `text` into janitor-normalised word hashes (into `buf`); returns the word count.
 * Equal normalised words always get equal hashes.
 */
export function scanWords(text: string, buf: WordBuffer): number {
  let count = 0;
  let h = FNV_OFFSET, len = 0;
  // a text of L code units has at most L/2 + 1 words
  buf.reserve((text.length >>> 1) + 1);
  const out = buf.hashes;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < ASCII) {
      const cls = ASCII_CLASS[c];
      if (cls === PUNCT) continue;
      if (cls === SPACE) {
        if (len) {
          out[count++] = fmix32(h ^ len);
          h = FNV_OFFSET;
          len = 0;
        }
        continue;
      }
      c = ASCII_LOWER[c];
    } else if (isSpace(c)) {
      if (len) {
        out[count++] = fmix32(h ^ len);
        h = FNV_OFFSET;
        len = 0;
      }
      continue;
    }
    h = Math.imul(h ^ c, FNV_PRIME);
    len++;
  }
  if (len) out[count++] = fmix32(h ^ len);
  buf.count = count;
  return count;
}

/** The janitor-normalised words of `text`, as strings (for reports and exact verification). */
export function janitorWords(text: string): string[] {
  const words: string[] = [];
  let cur = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      if (cur) words.push(cur);
      cur = "";
    } else if (c < ASCII) {
      if (ASCII_CLASS[c] !== PUNCT) cur += String.fromCharCode(ASCII_LOWER[c]);
    } else cur += text[i];
  }
  if (cur) words.push(cur);
  return words;
}
