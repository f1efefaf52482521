/**
 * Python's `ast.literal_eval` for what task templates render (private to the task module): lm-eval
 * reads a rendered `doc_to_choice` (and a rendered `doc_to_target` that looks like a list) with
 * `ast.literal_eval`, so `{{choices.text}}` rendering `['a', "it's"]` becomes a list again.
 *
 * Accepted: strings in single or double quotes (also triple-quoted, with Python's escapes),
 * adjacent strings concatenated, integers and floats (with signs, exponents, `_`), `True`,
 * `False`, `None`, lists, tuples, dicts and sets of these. Tuples and sets come back as arrays,
 * dicts as plain objects.
 * @module
 */
import { readPythonEscape } from "./_py_escape.ts";

/**
 * Parse a rendered list literal. Returns undefined unless the text is a Python (or JSON) literal
 * of a list or tuple.
 */
export function parseListLiteral(text: string): unknown[] | undefined {
  const value = literalEval(text);
  return Array.isArray(value) ? value : undefined;
}

/** `ast.literal_eval(text)`, or undefined when it is not a literal. */
export function literalEval(text: string): unknown {
  try {
    const p = new LiteralParser(text);
    const v = p.value();
    p.end();
    return v;
  } catch (e) {
    if (e instanceof NotLiteral) return undefined;
    throw e;
  }
}

class NotLiteral extends Error {}

class LiteralParser {
  #s: string;
  #i = 0;
  constructor(s: string) {
    this.#s = s;
  }

  #ws(): void {
    while (this.#i < this.#s.length && /\s/.test(this.#s[this.#i])) this.#i++;
  }

  end(): void {
    this.#ws();
    if (this.#i !== this.#s.length) throw new NotLiteral();
  }

  value(): unknown {
    this.#ws();
    const c = this.#s[this.#i];
    if (c === "[") return this.#seq("]");
    if (c === "(") {
      const items = this.#seq(")", true);
      return items;
    }
    if (c === "{") return this.#dictOrSet();
    if (c === "'" || c === '"') {
      let out = this.#string();
      for (;;) {
        this.#ws();
        const n = this.#s[this.#i];
        if (n !== "'" && n !== '"') return out;
        out += this.#string();
      }
    }
    const word = /^(True|False|None|true|false|null)\b/.exec(this.#s.slice(this.#i));
    if (word) {
      this.#i += word[0].length;
      return { True: true, true: true, False: false, false: false, None: null, null: null }[
        word[1] as "True"
      ];
    }
    const m = /^[+-]?(?:(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*\.)/.exec(
      this.#s.slice(this.#i),
    );
    if (m) {
      this.#i += m[0].length;
      return Number(m[0].replace(/_/g, ""));
    }
    throw new NotLiteral();
  }

  #seq(close: string, tuple = false): unknown[] {
    this.#i++;
    const items: unknown[] = [];
    for (;;) {
      this.#ws();
      if (this.#s[this.#i] === close) {
        this.#i++;
        return items;
      }
      items.push(this.value());
      this.#ws();
      if (this.#s[this.#i] === ",") {
        this.#i++;
        continue;
      }
      if (this.#s[this.#i] === close) {
        this.#i++;
        if (tuple && items.length === 1 && this.#s[this.#i - 2] !== ",") {
          return items[0] as unknown[]; // a parenthesized value, not a tuple
        }
        return items;
      }
      throw new NotLiteral();
    }
  }

  #dictOrSet(): unknown {
    this.#i++;
    const dict: Record<string, unknown> = {};
    const set: unknown[] = [];
    let kind: "dict" | "set" | undefined;
    for (;;) {
      this.#ws();
      if (this.#s[this.#i] === "}") {
        this.#i++;
        return kind === "set" ? set : dict;
      }
      const key = this.value();
      this.#ws();
      if (this.#s[this.#i] === ":") {
        if (kind === "set") throw new NotLiteral();
        kind = "dict";
        this.#i++;
        dict[String(key)] = this.value();
      } else {
        if (kind === "dict") throw new NotLiteral();
        kind = "set";
        set.push(key);
      }
      this.#ws();
      if (this.#s[this.#i] === ",") this.#i++;
      else if (this.#s[this.#i] !== "}") throw new NotLiteral();
    }
  }

  #string(): string {
    const s = this.#s;
    const q = s[this.#i];
    const triple = s.startsWith(q.repeat(3), this.#i);
    const close = triple ? q.repeat(3) : q;
    this.#i += close.length;
    let out = "";
    while (this.#i < s.length && !s.startsWith(close, this.#i)) {
      const c = s[this.#i];
      if (!triple && c === "\n") throw new NotLiteral();
      if (c !== "\\") {
        out += c;
        this.#i++;
        continue;
      }
      const esc = readPythonEscape(s, this.#i);
      if (esc === undefined || esc === "truncated") throw new NotLiteral();
      out += esc.text;
      this.#i = esc.end;
    }
    if (!s.startsWith(close, this.#i)) throw new NotLiteral();
    this.#i += close.length;
    return out;
  }
}
