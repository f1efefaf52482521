/**
 * A parser for the list literals that templates render (private to the task module): JSON, as
 * `@huggingface/jinja` prints lists, or a Python literal, as lm-eval reads `doc_to_choice` with
 * `ast.literal_eval` — strings in single or double quotes with backslash escapes, and numbers.
 * @module
 */

/**
 * Parse a rendered list: JSON (how @huggingface/jinja prints lists) or a Python literal
 * (`['a', "b", 3]`, as lm-eval's `ast.literal_eval` accepts). Returns undefined if it is neither.
 */
export function parseListLiteral(text: string): unknown[] | undefined {
  const s = text.trim();
  if (!s.startsWith("[")) return undefined;
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) ? v : undefined;
  } catch {
    // not JSON; try a Python literal below
  }
  const items: unknown[] = [];
  let i = 1;
  const skip = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const escapes: Record<string, string> = {
    n: "\n",
    t: "\t",
    r: "\r",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "0": "\0",
  };
  skip();
  if (s[i] === "]") return i === s.length - 1 ? [] : undefined;
  while (i < s.length) {
    skip();
    const q = s[i];
    if (q === "'" || q === '"') {
      let str = "";
      i++;
      while (i < s.length && s[i] !== q) {
        if (s[i] === "\\" && i + 1 < s.length) {
          str += escapes[s[i + 1]] ?? s[i + 1];
          i += 2;
        } else str += s[i++];
      }
      if (s[i] !== q) return undefined;
      i++;
      items.push(str);
    } else {
      const m = /^-?\d+(\.\d+)?/.exec(s.slice(i));
      if (!m) return undefined;
      items.push(Number(m[0]));
      i += m[0].length;
    }
    skip();
    if (s[i] === ",") {
      i++;
      skip();
      if (s[i] === "]") return i === s.length - 1 ? items : undefined;
    } else if (s[i] === "]") return i === s.length - 1 ? items : undefined;
    else return undefined;
  }
  return undefined;
}
