/**
 * The lexer of tunebook's Jinja engine (private to the task module): template text to tokens,
 * the way Python's Jinja2 lexes with its default settings (`{{ }}`, `{% %}`, `{# #}`, no line
 * statements, `trim_blocks` and `lstrip_blocks` off) and lm-eval's `keep_trailing_newline=True`.
 *
 * - `{{-`, `{%-`, `{#-` strip the whitespace (newlines included) before the tag; `-}}`, `-%}`,
 *   `-#}` strip the whitespace after it; `+` after `{%` is accepted and changes nothing.
 * - `{% raw %}…{% endraw %}` is kept as text.
 * - A closing `}}` or `%}` inside open brackets belongs to the expression (`{{ {'a': {'b': 1}} }}`).
 * - String literals decode Python's escapes (`\n`, `\t`, `\xhh`, `\uXXXX`, …); an unknown escape
 *   such as `\s` keeps its backslash, as Python's `unicode-escape` does (so regex patterns work).
 * @module
 */
import { readPythonEscape } from "./_py_escape.ts";

/** A token's kind. */
export type TokenType =
  | "data"
  | "var_begin"
  | "var_end"
  | "block_begin"
  | "block_end"
  | "name"
  | "string"
  | "integer"
  | "float"
  | "op"
  | "eof";

/** One token, with its offset in the template (for messages). */
export interface Token {
  /** What it is. */
  type: TokenType;
  /** Its text (decoded for strings; the number's text for numbers). */
  value: string;
  /** Offset of its first character in the template. */
  pos: number;
}

/** A template that does not lex or parse, with the position in the template. */
export class TemplateSyntaxError extends Error {
  /** Offset in the template text. */
  pos: number;
  /** 1-based line in the template. */
  line: number;
  /** Create the error at `pos` of `source`. */
  constructor(message: string, source: string, pos: number) {
    const line = source.slice(0, pos).split("\n").length;
    super(`${message} (template line ${line})`);
    this.name = "TemplateSyntaxError";
    this.pos = pos;
    this.line = line;
  }
}

/** Operators, longest first so that `//` wins over `/`. */
const OPERATORS = [
  "**",
  "//",
  "==",
  "!=",
  ">=",
  "<=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "~",
  "[",
  "]",
  "(",
  ")",
  "{",
  "}",
  ">",
  "<",
  "=",
  ".",
  ":",
  "|",
  ",",
  ";",
];

const NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
/** Jinja2's float: digits, then a fraction and/or an exponent (`5.` is not a float). */
const FLOAT = /(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?[eE][+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)/y;
const INTEGER =
  /(?:0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[\da-fA-F])+|[1-9](?:_?\d)*|0(?:_?0)*)/y;
const WHITESPACE = /\s+/y;

/** Tokenize a template. Throws {@linkcode TemplateSyntaxError}. */
export function lex(template: string): Token[] {
  // Jinja2 normalizes every newline to "\n" before lexing.
  const source = template.replace(/\r\n?/g, "\n");
  const tokens: Token[] = [];
  let pos = 0;
  /** Strip trailing whitespace from the last data token (for `{%-` and friends). */
  const lstripLast = () => {
    const last = tokens.at(-1);
    if (last?.type === "data") {
      last.value = last.value.replace(/\s+$/, "");
      if (last.value === "") tokens.pop();
    }
  };
  const skipWhitespace = () => {
    WHITESPACE.lastIndex = pos;
    if (WHITESPACE.test(source)) pos = WHITESPACE.lastIndex;
  };
  while (pos < source.length) {
    const next = findTagStart(source, pos);
    if (next > pos) tokens.push({ type: "data", value: source.slice(pos, next), pos });
    if (next >= source.length) break;
    pos = next;
    const kind = source[pos + 1];
    let stripBefore = source[pos + 2] === "-";
    const markerLength = stripBefore || (kind === "%" && source[pos + 2] === "+") ? 3 : 2;
    if (kind === "#") {
      const end = source.indexOf("#}", pos + 2);
      if (end < 0) throw new TemplateSyntaxError("unclosed comment", source, pos);
      if (stripBefore) lstripLast();
      const stripAfter = source[end - 1] === "-" && end - 1 >= pos + markerLength;
      pos = end + 2;
      if (stripAfter) skipWhitespace();
      continue;
    }
    if (kind === "%" && isRawStart(source, pos + markerLength)) {
      const raw = readRaw(source, pos, markerLength);
      if (stripBefore) lstripLast();
      if (raw.text) tokens.push({ type: "data", value: raw.text, pos: raw.textPos });
      pos = raw.end;
      if (raw.stripAfter) skipWhitespace();
      continue;
    }
    if (stripBefore) lstripLast();
    stripBefore = false;
    const begin = kind === "{" ? "var_begin" : "block_begin";
    const endType = kind === "{" ? "var_end" : "block_end";
    const endString = kind === "{" ? "}}" : "%}";
    tokens.push({ type: begin, value: source.slice(pos, pos + markerLength), pos });
    pos += markerLength;
    const depth: string[] = [];
    for (;;) {
      skipWhitespace();
      if (pos >= source.length) {
        throw new TemplateSyntaxError(
          `unexpected end of template; missing "${endString}"`,
          source,
          pos,
        );
      }
      if (depth.length === 0) {
        if (source.startsWith("-" + endString, pos)) {
          tokens.push({ type: endType, value: endString, pos });
          pos += 3;
          skipWhitespace();
          break;
        }
        if (source.startsWith(endString, pos)) {
          tokens.push({ type: endType, value: endString, pos });
          pos += 2;
          break;
        }
      }
      const token = lexExpressionToken(source, pos);
      if (token.type === "op") {
        if ("([{".includes(token.value)) depth.push(token.value);
        else if (")]}".includes(token.value)) {
          const open = depth.pop();
          const want = { ")": "(", "]": "[", "}": "{" }[token.value];
          if (open !== want) {
            throw new TemplateSyntaxError(`unexpected "${token.value}"`, source, pos);
          }
        }
      }
      tokens.push(token);
      pos = token.end;
    }
  }
  tokens.push({ type: "eof", value: "", pos: source.length });
  return tokens;
}

/** The next `{{`, `{%` or `{#` at or after `pos` (or the end). */
function findTagStart(source: string, pos: number): number {
  for (let i = source.indexOf("{", pos); i >= 0; i = source.indexOf("{", i + 1)) {
    const c = source[i + 1];
    if (c === "{" || c === "%" || c === "#") return i;
  }
  return source.length;
}

function isRawStart(source: string, pos: number): boolean {
  return /^\s*raw\s*-?%\}/.test(source.slice(pos, pos + 40));
}

/** `{% raw %}text{% endraw %}`: the text, where it is, and where the block ends. */
function readRaw(source: string, start: number, markerLength: number) {
  const open = /^\s*raw\s*(-?)%\}/.exec(source.slice(start + markerLength))!;
  let textPos = start + markerLength + open[0].length;
  const close = /\{%(-?)\s*endraw\s*(-?)%\}/g;
  close.lastIndex = textPos;
  const m = close.exec(source);
  if (!m) throw new TemplateSyntaxError('missing "{% endraw %}"', source, start);
  let text = source.slice(textPos, m.index);
  if (open[1] === "-") {
    const trimmed = text.replace(/^\s+/, "");
    textPos += text.length - trimmed.length;
    text = trimmed;
  }
  if (m[1] === "-") text = text.replace(/\s+$/, "");
  return { text, textPos, end: m.index + m[0].length, stripAfter: m[2] === "-" };
}

interface LexedToken extends Token {
  end: number;
}

/** One token inside `{{ }}` or `{% %}`, at `pos` (whitespace already skipped). */
function lexExpressionToken(source: string, pos: number): LexedToken {
  const c = source[pos];
  if (c === "'" || c === '"') return lexString(source, pos);
  if (/\d/.test(c)) {
    FLOAT.lastIndex = pos;
    const f = FLOAT.exec(source);
    if (f) {
      return { type: "float", value: f[0].replace(/_/g, ""), pos, end: pos + f[0].length };
    }
    INTEGER.lastIndex = pos;
    const i = INTEGER.exec(source);
    if (i) {
      return { type: "integer", value: i[0].replace(/_/g, ""), pos, end: pos + i[0].length };
    }
  }
  NAME.lastIndex = pos;
  const name = NAME.exec(source);
  if (name) return { type: "name", value: name[0], pos, end: pos + name[0].length };
  for (const op of OPERATORS) {
    if (source.startsWith(op, pos)) return { type: "op", value: op, pos, end: pos + op.length };
  }
  throw new TemplateSyntaxError(`unexpected character ${JSON.stringify(c)}`, source, pos);
}

function lexString(source: string, pos: number): LexedToken {
  const quote = source[pos];
  let i = pos + 1;
  let out = "";
  while (i < source.length && source[i] !== quote) {
    const c = source[i];
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const esc = readPythonEscape(source, i);
    if (esc === undefined) break;
    if (esc === "truncated") {
      throw new TemplateSyntaxError(`truncated \\${source[i + 1]} escape in a string`, source, i);
    }
    out += esc.text;
    i = esc.end;
  }
  if (source[i] !== quote) throw new TemplateSyntaxError("unclosed string", source, pos);
  return { type: "string", value: out, pos, end: i + 1 };
}
