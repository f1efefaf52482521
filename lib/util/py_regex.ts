/**
 * Python `re` patterns in JavaScript: {@linkcode compilePyRegex} translates a pattern written for
 * Python's `re.compile` (as lm-evaluation-harness task files write them, in `regex_pattern` and
 * `regexes_to_ignore`) into a `RegExp` that matches the same text, and {@linkcode pyFindall} /
 * {@linkcode pySub} follow `re.findall` / `re.sub`.
 *
 * What the translation takes care of (Python 3 `str` patterns, Unicode by default):
 * - `\d`, `\w`, `\s`, `\b` and their negations are Unicode-aware as in Python (decimal digits;
 *   letters, numbers and `_`; the `str.isspace()` set); with `(?a)` they are ASCII.
 * - `.` does not match `\n` only (JavaScript's also refuses `\r`, U+2028, U+2029); `^` and `$`
 *   are Python's: `$` also matches before a final `\n`, and under `(?m)` only `\n` breaks lines.
 * - `\A`, `\Z`, `(?P<name>…)`, `(?P=name)`, `(?#…)`, `{,n}`, octal escapes, inline flags
 *   `(?aimsx)` at the start and scoped `(?i:…)`, verbose mode, and the characters Python reads
 *   literally where JavaScript's Unicode mode refuses them (`\,`, a `{` that is no quantifier, a
 *   lone `]` or `}`, a `]` first in a class).
 * - What JavaScript cannot express (conditionals `(?(1)…)`, atomic groups, possessive
 *   quantifiers, `\N{…}`, `\W`/`\S` inside a class) is refused with {@linkcode PyRegexError}
 *   naming the position, as are patterns Python itself rejects (unknown escapes such as `\q`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { compilePyRegex, pyFindall, pySub } from "./py_regex.ts";
 * deepStrictEqual(pyFindall(compilePyRegex("#### (\\-?[0-9\\.\\,]+)"), "so #### 1,234."), ["1,234."]);
 * deepStrictEqual(pySub(compilePyRegex("(?s).*#### "), "work\nmore #### 7"), "7");
 * ```
 * @module
 */

/** Python's `str.isspace()` characters, as the body of a class (see lib/eval/metrics/_text.ts). */
const PY_SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/** Python's Unicode `\w`: letters, numbers, `_`. */
const PY_WORD = "\\p{L}\\p{N}_";
const ASCII_SPACE = " \\t\\n\\r\\f\\v";
const ASCII_WORD = "A-Za-z0-9_";
/** Characters that JavaScript's Unicode mode lets be escaped (outside a class). */
const SYNTAX = new Set("^$\\.*+?()[]{}|/");
/** Whitespace that verbose mode `(?x)` ignores (sre_parse's WHITESPACE). */
const VERBOSE_SPACE = new Set(" \t\n\r\v\f");

/** A pattern that Python would reject, or that JavaScript cannot express. */
export class PyRegexError extends Error {
  /** The pattern and the 0-based position of the problem in it. */
  constructor(readonly pattern: string, readonly position: number, what: string) {
    super(`regular expression ${JSON.stringify(pattern)} at position ${position}: ${what}`);
    this.name = "PyRegexError";
  }
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  a: boolean;
}

/**
 * Compile a Python `re` pattern into an equivalent `RegExp` (flags `gu`, plus `i` for `(?i)`).
 * Throws {@linkcode PyRegexError} for a pattern that Python rejects or JavaScript cannot express.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { compilePyRegex } from "./py_regex.ts";
 * ok(compilePyRegex("^(?P<n>\\d+)$").test("42\n")); // Python's $ matches before a final newline
 * ok(!compilePyRegex("a.b").test("a\nb"));
 * ```
 */
export function compilePyRegex(pattern: string): RegExp {
  const { source, flags } = translatePyRegex(pattern);
  try {
    return new RegExp(source, flags);
  } catch (e) {
    throw new PyRegexError(pattern, 0, `not a valid pattern (${(e as Error).message})`);
  }
}

/**
 * The JavaScript source and flags for a Python pattern (what {@linkcode compilePyRegex} compiles).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { translatePyRegex } from "./py_regex.ts";
 * strictEqual(translatePyRegex("a\\,b{x").source, "a,b\\{x");
 * ```
 */
export function translatePyRegex(pattern: string): { source: string; flags: string } {
  return new Translator(pattern).run();
}

class Translator {
  readonly #p: string[];
  readonly #pattern: string;
  #i = 0;
  #out = "";
  #flags: Flags = { i: false, m: false, s: false, x: false, a: false };
  #stack: Flags[] = [];
  #groups = 0;

  constructor(pattern: string) {
    this.#pattern = pattern;
    this.#p = [...pattern];
  }

  #fail(what: string, at = this.#i): never {
    throw new PyRegexError(this.#pattern, at, what);
  }

  run(): { source: string; flags: string } {
    this.#leadingFlags();
    while (this.#i < this.#p.length) this.#atom();
    if (this.#stack.length) this.#fail("missing ), unterminated subpattern");
    return { source: this.#out, flags: "gu" + (this.#flags.i ? "i" : "") };
  }

  /** Global inline flags `(?aiLmsux)` at the start (Python 3.11 accepts them only there). */
  #leadingFlags(): void {
    const p = this.#p;
    while (p[this.#i] === "(" && p[this.#i + 1] === "?") {
      let j = this.#i + 2;
      let letters = "";
      while (j < p.length && /[aiLmsux]/.test(p[j])) letters += p[j++];
      if (!letters || p[j] !== ")") return;
      for (const f of letters) this.#setFlag(f, true, this.#i);
      this.#i = j + 1;
    }
  }

  #setFlag(letter: string, on: boolean, at: number): void {
    if (letter === "L") this.#fail("the L (locale) flag is for bytes patterns only", at);
    if (letter === "u") return; // Unicode matching is the default for str patterns.
    this.#flags = { ...this.#flags, [letter]: on };
  }

  #atom(): void {
    const p = this.#p;
    const c = p[this.#i];
    if (this.#flags.x) {
      if (VERBOSE_SPACE.has(c)) {
        this.#i++;
        return;
      }
      if (c === "#") {
        while (this.#i < p.length && p[this.#i] !== "\n") this.#i++;
        return;
      }
    }
    switch (c) {
      case "\\":
        this.#out += this.#escape(false);
        this.#quantifier();
        return;
      case "[": {
        const cls = this.#charClass();
        this.#out += cls;
        this.#quantifier();
        return;
      }
      case "(":
        this.#openGroup();
        return;
      case ")":
        if (!this.#stack.length) this.#fail("unbalanced parenthesis");
        this.#flags = this.#stack.pop()!;
        this.#out += ")";
        this.#i++;
        this.#quantifier();
        return;
      case ".":
        this.#out += this.#flags.s ? "[\\s\\S]" : "[^\\n]";
        this.#i++;
        this.#quantifier();
        return;
      case "^":
        this.#out += this.#flags.m ? "(?<![^\\n])" : "(?<![\\s\\S])";
        this.#i++;
        return;
      case "$":
        this.#out += this.#flags.m ? "(?![^\\n])" : "(?=\\n?(?![\\s\\S]))";
        this.#i++;
        return;
      case "*":
      case "+":
      case "?":
        this.#fail("nothing to repeat");
        break;
      case "{":
        if (this.#quantifierAt(this.#i)) this.#fail("nothing to repeat");
        this.#out += "\\{";
        this.#i++;
        this.#quantifier();
        return;
      case "}":
      case "]":
        this.#out += "\\" + c;
        this.#i++;
        this.#quantifier();
        return;
      case "|":
        this.#out += "|";
        this.#i++;
        return;
      default:
        this.#out += c === "/" ? "\\/" : c;
        this.#i++;
        this.#quantifier();
    }
  }

  /** The length of a Python `{m}`, `{m,}`, `{,n}`, `{m,n}` quantifier at `at`, or 0. */
  #quantifierAt(at: number): number {
    const rest = this.#p.slice(at, at + 40).join("");
    const m = /^\{(\d*)(,?)(\d*)\}/.exec(rest);
    // `{}` is two literal characters; `{,}` is {0,} and `{,n}` is {0,n} in Python.
    return !m || (m[1] === "" && m[2] === "") ? 0 : m[0].length;
  }

  /** A quantifier after an atom, if any (lazy `?` kept; possessive refused). */
  #quantifier(): void {
    const p = this.#p;
    const c = p[this.#i];
    if (c === "*" || c === "+" || c === "?") {
      this.#out += c;
      this.#i++;
    } else if (c === "{") {
      const n = this.#quantifierAt(this.#i);
      if (!n) return;
      const m = /^\{(\d*)(,?)(\d*)\}/.exec(p.slice(this.#i, this.#i + n).join(""))!;
      const lo = m[1] === "" ? "0" : m[1];
      if (m[2] && m[3] !== "" && Number(m[3]) < Number(lo)) {
        this.#fail("min repeat greater than max repeat");
      }
      this.#out += `{${lo}${m[2]}${m[3]}}`;
      this.#i += n;
    } else return;
    if (p[this.#i] === "?") {
      this.#out += "?";
      this.#i++;
    } else if (p[this.#i] === "+") {
      this.#fail("possessive quantifiers cannot be expressed in JavaScript");
    }
    const next = p[this.#i];
    if (next === "*" || next === "+" || (next === "{" && this.#quantifierAt(this.#i))) {
      this.#fail("multiple repeat");
    }
  }

  #openGroup(): void {
    const p = this.#p;
    const start = this.#i;
    this.#i++;
    if (p[this.#i] !== "?") {
      this.#groups++;
      this.#push("(");
      return;
    }
    this.#i++;
    const c = p[this.#i];
    const rest = p.slice(this.#i).join("");
    if (c === ":" || c === "=" || c === "!") {
      this.#i++;
      this.#push(`(?${c}`);
    } else if (rest.startsWith("<=") || rest.startsWith("<!")) {
      this.#i += 2;
      this.#push(`(?${rest.slice(0, 2)}`);
    } else if (c === "P" && p[this.#i + 1] === "<") {
      const m = /^P<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
      if (!m) this.#fail("bad character in group name", start);
      this.#i += m[0].length;
      this.#groups++;
      this.#push(`(?<${m[1]}>`);
    } else if (c === "P" && p[this.#i + 1] === "=") {
      const m = /^P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest);
      if (!m) this.#fail("bad named backreference", start);
      this.#i += m[0].length;
      this.#out += `\\k<${m[1]}>`;
      this.#quantifier();
    } else if (c === "#") {
      while (this.#i < p.length && p[this.#i] !== ")") this.#i++;
      if (this.#i >= p.length) this.#fail("missing ), unterminated comment", start);
      this.#i++;
    } else if (c === "(") {
      this.#fail("conditional groups (?(…)…) cannot be expressed in JavaScript", start);
    } else if (c === ">") {
      this.#fail("atomic groups (?>…) cannot be expressed in JavaScript", start);
    } else {
      const m = /^([aiLmsux]*)(?:-([imsx]*))?(:|\))/.exec(rest);
      if (!m || (!m[1] && !m[2])) this.#fail("unknown extension ?" + (c ?? ""), start);
      if (m[3] === ")") this.#fail("global flags not at the start of the expression", start);
      this.#i += m[0].length;
      const saved = this.#flags;
      for (const f of m[1]) this.#setFlag(f, true, start);
      for (const f of m[2] ?? "") this.#setFlag(f, false, start);
      const iOn = this.#flags.i && !saved.i, iOff = !this.#flags.i && saved.i;
      this.#stack.push(saved);
      this.#out += iOn ? "(?i:" : iOff ? "(?-i:" : "(?:";
    }
  }

  #push(open: string): void {
    this.#stack.push(this.#flags);
    this.#out += open;
  }

  /** `\X` at the cursor (outside or inside a class), as JavaScript source. */
  #escape(inClass: boolean): string {
    const p = this.#p;
    const at = this.#i;
    const c = p[this.#i + 1];
    if (c === undefined) this.#fail("bad escape (end of pattern)");
    this.#i += 2;
    const ascii = this.#flags.a;
    const word = ascii ? ASCII_WORD : PY_WORD;
    const space = ascii ? ASCII_SPACE : PY_SPACE;
    const digit = ascii ? "0-9" : "\\p{Nd}";
    switch (c) {
      case "d":
        return inClass ? digit : `[${digit}]`;
      case "D":
        if (inClass && ascii) this.#fail("\\D inside a character class is not supported", at);
        return inClass ? "\\P{Nd}" : `[^${digit}]`;
      case "w":
        return inClass ? word : `[${word}]`;
      case "s":
        return inClass ? space : `[${space}]`;
      case "W":
      case "S":
        if (inClass) this.#fail(`\\${c} inside a character class is not supported`, at);
        return `[^${c === "W" ? word : space}]`;
      case "b":
        if (inClass) return "\\x08";
        return `(?:(?<=[${word}])(?![${word}])|(?<![${word}])(?=[${word}]))`;
      case "B":
        if (inClass) this.#fail("bad escape \\B", at);
        return `(?:(?<=[${word}])(?=[${word}])|(?<![${word}])(?![${word}]))`;
      case "A":
        if (inClass) this.#fail("bad escape \\A", at);
        return "(?<![\\s\\S])";
      case "Z":
        if (inClass) this.#fail("bad escape \\Z", at);
        return "(?![\\s\\S])";
      case "n":
      case "t":
      case "r":
      case "f":
      case "v":
        return `\\${c}`;
      case "a":
        return "\\x07";
      case "x": {
        const hex = p.slice(this.#i, this.#i + 2).join("");
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.#fail("incomplete escape \\x", at);
        this.#i += 2;
        return `\\x${hex}`;
      }
      case "u":
      case "U": {
        const n = c === "u" ? 4 : 8;
        const hex = p.slice(this.#i, this.#i + n).join("");
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) {
          this.#fail(`incomplete escape \\${c}`, at);
        }
        this.#i += n;
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) this.#fail(`bad escape \\${c}${hex}`, at);
        return `\\u{${cp.toString(16)}}`;
      }
      case "N":
        this.#fail("\\N{…} named characters are not supported", at);
        break;
      default:
        break;
    }
    if (/[0-7]/.test(c) && (inClass || c === "0")) {
      // Octal: \0, \0oo, or (inside a class) up to three octal digits.
      let digits = c;
      while (digits.length < 3 && /[0-7]/.test(p[this.#i] ?? "")) digits += p[this.#i++];
      return `\\u{${parseInt(digits, 8).toString(16)}}`;
    }
    if (/[1-9]/.test(c)) {
      let digits = c;
      if (/[0-9]/.test(p[this.#i] ?? "")) digits += p[this.#i++];
      if (digits.length === 2 && /[0-7]{2}/.test(digits) && /[0-7]/.test(p[this.#i] ?? "")) {
        digits += p[this.#i++];
        return `\\u{${parseInt(digits, 8).toString(16)}}`;
      }
      if (Number(digits) > this.#groups) this.#fail(`invalid group reference ${digits}`, at);
      return `(?:\\${digits})`;
    }
    if (/[A-Za-z0-9]/.test(c)) this.#fail(`bad escape \\${c}`, at);
    // Python reads any other escaped character literally.
    if (inClass) return SYNTAX.has(c) || c === "-" ? `\\${c}` : c;
    return SYNTAX.has(c) ? `\\${c}` : c;
  }

  /** `[…]` at the cursor. */
  #charClass(): string {
    const p = this.#p;
    const start = this.#i;
    this.#i++;
    let out = "[";
    if (p[this.#i] === "^") {
      out += "^";
      this.#i++;
    }
    if (p[this.#i] === "]") {
      out += "\\]";
      this.#i++;
    }
    while (this.#i < p.length && p[this.#i] !== "]") {
      const c = p[this.#i];
      if (c === "\\") out += this.#escape(true);
      else {
        out += c === "[" || c === "/" ? `\\${c}` : c;
        this.#i++;
      }
    }
    if (this.#i >= p.length) this.#fail("unterminated character set", start);
    this.#i++;
    return out + "]";
  }
}

/**
 * Python's `re.findall(pattern, text)`: the full matches when the pattern has no groups, the
 * group's text when it has one, and a list of every group's text (`""` for a group that did not
 * take part) when it has several. Empty matches are found as Python ≥ 3.7 finds them, including
 * a non-empty match at the place of an empty one.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { compilePyRegex, pyFindall } from "./py_regex.ts";
 * deepStrictEqual(pyFindall(compilePyRegex("(-?[$0-9.,]{2,})|(-?[0-9]+)"), "is 42."), [["42.", ""]]);
 * deepStrictEqual(pyFindall(compilePyRegex("|a"), "a"), ["", "a", ""]);
 * ```
 */
export function pyFindall(regex: RegExp, text: string): (string | string[])[] {
  const groups = groupCount(regex);
  return pyMatches(regex, text).map((m) => {
    if (groups === 0) return m[0];
    if (groups === 1) return m[1] ?? "";
    return Array.from({ length: groups }, (_, g) => m[g + 1] ?? "");
  });
}

/**
 * Python's `re.sub(pattern, repl, text)` with a literal replacement (no group references).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { compilePyRegex, pySub } from "./py_regex.ts";
 * strictEqual(pySub(compilePyRegex("x*"), "abxd", "-"), "-a-b--d-");
 * ```
 */
export function pySub(regex: RegExp, text: string, repl = ""): string {
  let out = "";
  let last = 0;
  for (const m of pyMatches(regex, text)) {
    out += text.slice(last, m.index) + repl;
    last = m.index + m[0].length;
  }
  return out + text.slice(last);
}

/**
 * Python's `re.sub(pattern, repl, text, count)` with Python's replacement template: `\\1`…`\\99`,
 * `\\g<1>`, `\\g<name>` (an unmatched group gives `""`) and Python's string escapes (`\\n`,
 * `\\t`, `\\\\`); `count` 0 replaces every match. lm-eval's `regex_replace` Jinja filter is this.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { compilePyRegex, pySubTemplate } from "./py_regex.ts";
 * strictEqual(pySubTemplate(compilePyRegex("(\\w+)@(\\w+)"), "me@home you@work", "\\2 at \\1"), "home at me work at you");
 * strictEqual(pySubTemplate(compilePyRegex("\\d"), "a1b2", "#", 1), "a#b2");
 * ```
 */
export function pySubTemplate(regex: RegExp, text: string, repl: string, count = 0): string {
  const expand = replacementTemplate(repl, groupCount(regex));
  let out = "";
  let last = 0;
  let n = 0;
  for (const m of pyMatches(regex, text)) {
    if (count > 0 && n >= count) break;
    out += text.slice(last, m.index) + expand(m);
    last = m.index + m[0].length;
    n++;
  }
  return out + text.slice(last);
}

/** A Python `re.sub` replacement string as a function of a match. */
function replacementTemplate(repl: string, groups: number): (m: RegExpExecArray) => string {
  const parts: (string | number | { name: string })[] = [];
  let lit = "";
  const simple: Record<string, string> = {
    n: "\n",
    t: "\t",
    r: "\r",
    f: "\f",
    v: "\v",
    a: "\x07",
    b: "\b",
    "\\": "\\",
  };
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i];
    if (c !== "\\") {
      lit += c;
      continue;
    }
    const e = repl[i + 1];
    if (e === undefined) throw new PyRegexError(repl, i, "bad escape (end of pattern)");
    if (e === "g") {
      const m = /^<([^>]+)>/.exec(repl.slice(i + 2));
      if (!m) throw new PyRegexError(repl, i, "missing < after \\g");
      parts.push(lit, /^\d+$/.test(m[1]) ? Number(m[1]) : { name: m[1] });
      lit = "";
      i += 1 + m[0].length;
      continue;
    }
    if (/\d/.test(e)) {
      const m = /^\d{1,2}/.exec(repl.slice(i + 1))![0];
      parts.push(lit, Number(m));
      lit = "";
      i += m.length;
      continue;
    }
    if (Object.hasOwn(simple, e)) lit += simple[e];
    else if (/[a-zA-Z]/.test(e)) throw new PyRegexError(repl, i, `bad escape \\${e}`);
    else lit += "\\" + e;
    i++;
  }
  parts.push(lit);
  for (const p of parts) {
    if (typeof p === "number" && p > groups) {
      throw new PyRegexError(repl, 0, `invalid group reference ${p}`);
    }
  }
  return (m) =>
    parts.map((p) => {
      if (typeof p === "string") return p;
      if (typeof p === "number") return m[p] ?? "";
      if (!m.groups || !Object.hasOwn(m.groups, p.name)) {
        throw new PyRegexError(repl, 0, `unknown group name '${p.name}'`);
      }
      return m.groups[p.name] ?? "";
    }).join("");
}

/** Every match, in Python's order (see {@linkcode pyFindall}). */
function pyMatches(regex: RegExp, text: string): RegExpExecArray[] {
  const re = new RegExp(regex.source, regex.flags.includes("y") ? regex.flags : regex.flags + "y");
  const out: RegExpExecArray[] = [];
  let pos = 0;
  let afterEmpty = false;
  while (pos <= text.length) {
    let m: RegExpExecArray | null = null;
    if (afterEmpty) {
      // Python retries at the place of an empty match, for a non-empty match only.
      m = nonEmptyAt(regex, text, pos);
    }
    if (!m) {
      const from = afterEmpty ? pos + codeUnits(text, pos) : pos;
      m = searchFrom(re, text, from);
      if (!m) break;
    }
    out.push(m);
    afterEmpty = m[0].length === 0;
    pos = m.index + m[0].length;
    if (afterEmpty && pos >= text.length) break;
  }
  return out;
}

function searchFrom(sticky: RegExp, text: string, from: number): RegExpExecArray | null {
  const g = new RegExp(sticky.source, sticky.flags.replace("y", ""));
  g.lastIndex = from;
  if (from > text.length) return null;
  return g.exec(text);
}

/** A non-empty match starting exactly at `pos`, or null. */
function nonEmptyAt(regex: RegExp, text: string, pos: number): RegExpExecArray | null {
  const points = [...text.slice(0, pos)].length;
  const re = new RegExp(
    `(?:${regex.source})(?<!(?<![\\s\\S])[\\s\\S]{${points}})`,
    regex.flags.replace("g", "") + "y",
  );
  re.lastIndex = pos;
  return re.exec(text);
}

/** Code units of the character at `pos` (2 for a surrogate pair), 1 at the end. */
function codeUnits(text: string, pos: number): number {
  const cp = text.codePointAt(pos);
  return cp !== undefined && cp > 0xffff ? 2 : 1;
}

/** Capturing groups of a regular expression. */
function groupCount(regex: RegExp): number {
  return new RegExp(`${regex.source}|`, regex.flags.replace(/[gy]/g, "")).exec("")!.length - 1;
}
