/**
 * Python's backslash escapes in string literals (`unicode-escape`), shared by the Jinja lexer and
 * the `ast.literal_eval` reader: simple escapes, octal `\ooo`, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`, and
 * an unknown escape kept as written (backslash included), as Python does.
 * @module
 */

const SIMPLE_ESCAPES: Record<string, string> = {
  "\n": "",
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

const HEX_DIGITS: Record<string, number> = { x: 2, u: 4, U: 8 };

/** One decoded escape: its text and the index just after it. */
export interface PythonEscape {
  /** The characters the escape stands for. */
  text: string;
  /** Index in the source just after the escape. */
  end: number;
}

/**
 * Decode the escape whose backslash is at `s[i]`. Returns `undefined` when the source ends after
 * the backslash, and `"truncated"` for a `\x`/`\u`/`\U` without its hex digits (the caller says
 * which error that is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPythonEscape } from "./_py_escape.ts";
 * assert.deepEqual(readPythonEscape("\\n", 0), { text: "\n", end: 2 });
 * assert.deepEqual(readPythonEscape("\\x41", 0), { text: "A", end: 4 });
 * assert.deepEqual(readPythonEscape("\\q", 0), { text: "\\q", end: 2 });
 * assert.equal(readPythonEscape("\\x4", 0), "truncated");
 * ```
 */
export function readPythonEscape(s: string, i: number): PythonEscape | "truncated" | undefined {
  const e = s[i + 1];
  if (e === undefined) return undefined;
  if (Object.hasOwn(SIMPLE_ESCAPES, e)) return { text: SIMPLE_ESCAPES[e], end: i + 2 };
  if (/[0-7]/.test(e)) {
    const m = /^[0-7]{1,3}/.exec(s.slice(i + 1))![0];
    return { text: String.fromCodePoint(parseInt(m, 8)), end: i + 1 + m.length };
  }
  const n = HEX_DIGITS[e];
  if (n !== undefined) {
    const hex = s.slice(i + 2, i + 2 + n);
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) return "truncated";
    return { text: String.fromCodePoint(parseInt(hex, 16)), end: i + 2 + n };
  }
  return { text: "\\" + e, end: i + 2 };
}
