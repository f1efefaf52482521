/**
 * Python regular expressions in JavaScript (private to the task module), for lm-eval's
 * `regex_replace` Jinja filter (Python's `re.sub`): a Python pattern is translated to an equivalent
 * JavaScript `RegExp` (Unicode mode), and a Python replacement string (`\1`, `\g<name>`, `\n`) to
 * a function of the match.
 *
 * Translated: `(?P<name>…)` and `(?P=name)`, leading inline flags `(?aimsx)`, `\A` `\Z`, Python's
 * `$` (also before a final newline), Unicode `\d` `\w` `\s` `\b` as Python's `str` patterns have
 * them, `{` and `}` that are not quantifiers, `{,n}`, and escaped punctuation. Inside a character
 * class, `\W` and `\S` keep JavaScript's (ASCII) meaning.
 * @module
 */
import { PyError } from "./_py_value.ts";

/** Python's word characters (`\w` on `str` patterns). */
const WORD = "\\p{L}\\p{N}_";
/** Python's whitespace (`\s` on `str` patterns). */
const SPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const cache = new Map<string, RegExp>();

/** A JavaScript RegExp equivalent to the Python pattern (with `g` when `global`). */
export function pythonRegex(pattern: string, global: boolean): RegExp {
  const key = `${global ? "g" : ""}\0${pattern}`;
  let re = cache.get(key);
  if (!re) {
    const { source, flags } = translate(pattern);
    try {
      re = new RegExp(source, flags + (global ? "g" : ""));
    } catch (e) {
      throw new PyError("re.error", `${(e as Error).message} (pattern ${JSON.stringify(pattern)})`);
    }
    cache.set(key, re);
  }
  re.lastIndex = 0;
  return re;
}

function translate(pattern: string): { source: string; flags: string } {
  let flags = "u";
  let i = 0;
  let verbose = false;
  for (
    let m = /^\(\?([aiLmsux]+)\)/.exec(pattern.slice(i));
    m;
    m = /^\(\?([aiLmsux]+)\)/.exec(pattern.slice(i))
  ) {
    for (const f of m[1]) {
      if (f === "i" && !flags.includes("i")) flags += "i";
      if (f === "m" && !flags.includes("m")) flags += "m";
      if (f === "s" && !flags.includes("s")) flags += "s";
      if (f === "x") verbose = true;
    }
    i += m[0].length;
  }
  const multiline = flags.includes("m");
  let out = "";
  let inClass = false;
  while (i < pattern.length) {
    const c = pattern[i];
    if (verbose && !inClass) {
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      if (c === "#") {
        while (i < pattern.length && pattern[i] !== "\n") i++;
        continue;
      }
    }
    if (c === "\\") {
      const e = pattern[i + 1];
      if (e === undefined) throw new PyError("re.error", "bad escape (end of pattern)");
      i += 2;
      out += translateEscape(e, inClass, (re) => {
        const m = re.exec(pattern.slice(i))?.[0] ?? "";
        i += m.length;
        return m;
      });
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      else if (c === "[") {
        out += "\\[";
        i++;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += c;
      i++;
      if (pattern[i] === "^") {
        out += "^";
        i++;
      }
      if (pattern[i] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (c === "(" && pattern.startsWith("(?P<", i)) {
      out += "(?<";
      i += 4;
      continue;
    }
    if (c === "(" && pattern.startsWith("(?P=", i)) {
      const end = pattern.indexOf(")", i);
      out += `\\k<${pattern.slice(i + 4, end)}>`;
      i = end + 1;
      continue;
    }
    if (c === "(" && pattern.startsWith("(?#", i)) {
      i = pattern.indexOf(")", i) + 1;
      continue;
    }
    if (c === "{") {
      const q = /^\{(\d*)(,?)(\d*)\}/.exec(pattern.slice(i));
      if (q && (q[1] !== "" || (q[2] === "," && q[3] !== ""))) {
        out += `{${q[1] || "0"}${q[2]}${q[3]}}`;
        i += q[0].length;
        continue;
      }
      out += "\\{";
      i++;
      continue;
    }
    if (c === "}" || c === "]") {
      out += "\\" + c;
      i++;
      continue;
    }
    if (c === "$") {
      out += multiline ? "$" : "(?=\\n?(?![\\s\\S]))";
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return { source: out, flags };
}

/** One escape `\e`; `take` consumes what follows it when it matches. */
function translateEscape(e: string, inClass: boolean, take: (re: RegExp) => string): string {
  switch (e) {
    case "d":
      return "\\p{Nd}";
    case "D":
      return "\\P{Nd}";
    case "w":
      return inClass ? WORD : `[${WORD}]`;
    case "W":
      return inClass ? "\\W" : `[^${WORD}]`;
    case "s":
      return inClass ? SPACE : `[${SPACE}]`;
    case "S":
      return inClass ? "\\S" : `[^${SPACE}]`;
    case "b":
      return inClass ? "\\x08" : `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`;
    case "B":
      return `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`;
    case "A":
      return "^(?<![\\s\\S])";
    case "Z":
      return "(?![\\s\\S])";
    case "n":
    case "t":
    case "r":
    case "f":
    case "v":
      return "\\" + e;
    case "a":
      return "\\x07";
    case "x":
      return "\\x" + hexDigits(take(/^[0-9a-fA-F]{2}/), 2, e);
    case "u":
      return "\\u" + hexDigits(take(/^[0-9a-fA-F]{4}/), 4, e);
    case "U":
      return "\\u{" + hexDigits(take(/^[0-9a-fA-F]{8}/), 8, e) + "}";
    case "0":
      return "\\x" + parseInt("0" + take(/^[0-7]{1,2}/), 8).toString(16).padStart(2, "0");
  }
  if (/[1-9]/.test(e)) return "\\" + e + take(/^\d/);
  if (/[a-zA-Z]/.test(e)) throw new PyError("re.error", `bad escape \\${e}`);
  // escaped punctuation is a literal in Python; JavaScript's Unicode mode allows only some
  return "\\u{" + e.codePointAt(0)!.toString(16) + "}";
}

function hexDigits(text: string, n: number, e: string): string {
  if (text.length !== n) throw new PyError("re.error", `incomplete escape \\${e}${text}`);
  return text;
}

/**
 * A Python `re.sub` replacement string as a function of JavaScript's replace-callback arguments:
 * `\1`…`\99`, `\g<1>`, `\g<name>`, and Python's string escapes; an unmatched group gives "".
 */
export function pythonReplacement(repl: string): (m: unknown[]) => string {
  type Part = string | { group: number | string };
  const parts: Part[] = [];
  let lit = "";
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i];
    if (c !== "\\") {
      lit += c;
      continue;
    }
    const e = repl[i + 1];
    if (e === undefined) throw new PyError("re.error", "bad escape (end of pattern)");
    if (e === "g") {
      const m = /^<([^>]+)>/.exec(repl.slice(i + 2));
      if (!m) throw new PyError("re.error", "missing < after \\g");
      parts.push(lit);
      lit = "";
      parts.push({ group: /^\d+$/.test(m[1]) ? Number(m[1]) : m[1] });
      i += 1 + m[0].length;
      continue;
    }
    if (/\d/.test(e)) {
      const m = /^\d{1,2}/.exec(repl.slice(i + 1))![0];
      parts.push(lit);
      lit = "";
      parts.push({ group: Number(m) });
      i += m.length;
      continue;
    }
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
    if (Object.hasOwn(simple, e)) lit += simple[e];
    else if (/[a-zA-Z]/.test(e)) throw new PyError("re.error", `bad escape \\${e}`);
    else lit += "\\" + e;
    i++;
  }
  parts.push(lit);
  return (m) => {
    const last = m.at(-1);
    const named = typeof last === "object" && last !== null ? last as Record<string, string> : {};
    const groupCount = m.length - (typeof last === "object" && last !== null ? 3 : 2);
    return parts.map((p) => {
      if (typeof p === "string") return p;
      if (typeof p.group === "number") {
        if (p.group >= groupCount) {
          throw new PyError("re.error", `invalid group reference ${p.group}`);
        }
        return (m[p.group] as string | undefined) ?? "";
      }
      if (!Object.hasOwn(named, p.group)) {
        throw new PyError("IndexError", `unknown group name '${p.group}'`);
      }
      return named[p.group] ?? "";
    }).join("");
  };
}
