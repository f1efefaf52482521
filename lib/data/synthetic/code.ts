/**
 * The `code` family: tiny Python functions with a one-sentence docstring (CodeXGLUE code-to-text
 * shape: func_name, code, code_tokens, docstring, docstring_tokens). Twenty-four kinds of body,
 * each with its docstring pattern; argument names are English words (70%) or made-up stems from
 * the world, and the docstring names every argument, so it can be derived from the code alone: its
 * words are the arguments' names and the words of its kind's pattern
 * ({@linkcode DOCSTRING_VOCABULARY}, the operation: `a + b` → "Return the sum of a and b.").
 * A one-line `return EXPR` body is sometimes written as `result = EXPR` + `return result`, with the
 * same docstring.
 *
 * The corpus form ({@linkcode codeText}) shows a function in Python layout with its docstring
 * inside or followed by a sentence saying what it does; the task shows the code as one line of
 * space-joined tokens, as CodeXGLUE does, with the docstring's tokens as the target.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { makeWorld } from "./world.ts";
 * import { makeCode } from "./code.ts";
 * const item = makeCode(makeWorld(1234), new Rng(1));
 * strictEqual(item.code_tokens[0], "def");
 * ok(item.docstring.endsWith("."));
 * ```
 * @module
 */
import type { Rng } from "../../util/rng.ts";
import type { World } from "./world.ts";

/** A code-to-docstring item (CodeXGLUE code-to-text shape). */
export interface CodeItem {
  /** Unique id (`code-<n>`). */
  id: string;
  /** The function's name. */
  func_name: string;
  /** The function's source, without its docstring. */
  code: string;
  /** `code` as tokens (no whitespace or newlines), as CodeXGLUE stores it. */
  code_tokens: string[];
  /** The one-sentence docstring. */
  docstring: string;
  /** The docstring as tokens (words and punctuation). */
  docstring_tokens: string[];
  /** The body kind. */
  kind: string;
}

type ArgType = "list" | "num" | "str" | "dict";

interface Template {
  kind: string;
  verbs: string[];
  args: ArgType[];
  /** Body lines (Python, 4-space indents inside the function). */
  body: (a: string[]) => string[];
  doc: (a: string[]) => string;
}

const T = (
  kind: string,
  verbs: string[],
  args: ArgType[],
  body: (a: string[]) => string[],
  doc: (a: string[]) => string,
): Template => ({ kind, verbs, args, body, doc });

/** The body kinds and their docstrings. */
const TEMPLATES: Template[] = [
  T(
    "sum",
    ["total", "sum"],
    ["list"],
    ([x]) => [`return sum(${x})`],
    ([x]) => `Return the sum of ${x}.`,
  ),
  T(
    "max",
    ["largest", "max"],
    ["list"],
    ([x]) => [`return max(${x})`],
    ([x]) => `Return the largest item in ${x}.`,
  ),
  T(
    "min",
    ["smallest", "min"],
    ["list"],
    ([x]) => [`return min(${x})`],
    ([x]) => `Return the smallest item in ${x}.`,
  ),
  T(
    "len",
    ["count", "size"],
    ["list"],
    ([x]) => [`return len(${x})`],
    ([x]) => `Return the number of items in ${x}.`,
  ),
  T(
    "sorted",
    ["sort", "order"],
    ["list"],
    ([x]) => [`return sorted(${x})`],
    ([x]) => `Return ${x} sorted from small to large.`,
  ),
  T(
    "sorted_desc",
    ["rank", "sort"],
    ["list"],
    ([x]) => [`return sorted(${x}, reverse=True)`],
    ([x]) => `Return ${x} sorted from large to small.`,
  ),
  T(
    "first",
    ["first", "head"],
    ["list"],
    ([x]) => [`return ${x}[0]`],
    ([x]) => `Return the first item of ${x}.`,
  ),
  T(
    "last",
    ["last", "tail"],
    ["list"],
    ([x]) => [`return ${x}[-1]`],
    ([x]) => `Return the last item of ${x}.`,
  ),
  T(
    "mul",
    ["scale", "times"],
    ["num", "num"],
    ([x, y]) => [`return ${x} * ${y}`],
    ([x, y]) => `Return ${x} multiplied by ${y}.`,
  ),
  T(
    "add",
    ["add", "plus"],
    ["num", "num"],
    ([x, y]) => [`return ${x} + ${y}`],
    ([x, y]) => `Return the sum of ${x} and ${y}.`,
  ),
  T(
    "sub",
    ["minus", "diff"],
    ["num", "num"],
    ([x, y]) => [`return ${x} - ${y}`],
    ([x, y]) => `Return ${x} minus ${y}.`,
  ),
  T(
    "contains",
    ["has", "contains"],
    ["str", "list"],
    ([x, y]) => [`return ${x} in ${y}`],
    ([x, y]) => `Check whether ${x} is in ${y}.`,
  ),
  T(
    "upper",
    ["shout", "upper"],
    ["str"],
    ([x]) => [`return ${x}.upper()`],
    ([x]) => `Return ${x} in upper case.`,
  ),
  T(
    "lower",
    ["quiet", "lower"],
    ["str"],
    ([x]) => [`return ${x}.lower()`],
    ([x]) => `Return ${x} in lower case.`,
  ),
  T(
    "strip",
    ["clean", "strip"],
    ["str"],
    ([x]) => [`return ${x}.strip()`],
    ([x]) => `Return ${x} without spaces at either end.`,
  ),
  T(
    "filter_gt",
    ["keep", "select"],
    ["list", "num"],
    ([x, y]) => [`return [v for v in ${x} if v > ${y}]`],
    ([x, y]) => `Return the items of ${x} that are greater than ${y}.`,
  ),
  T(
    "map_mul",
    ["scale", "stretch"],
    ["list", "num"],
    ([x, y]) => [`return [v * ${y} for v in ${x}]`],
    ([x, y]) => `Return each item of ${x} multiplied by ${y}.`,
  ),
  T(
    "get",
    ["lookup", "fetch"],
    ["dict", "str", "num"],
    ([x, y, z]) => [`return ${x}.get(${y}, ${z})`],
    ([x, y, z]) => `Return the value of ${y} in ${x}, or ${z} if it is missing.`,
  ),
  T(
    "mean",
    ["average", "mean"],
    ["list"],
    ([x]) => [`return sum(${x}) / len(${x})`],
    ([x]) => `Return the average of ${x}.`,
  ),
  T(
    "count",
    ["count", "tally"],
    ["list", "str"],
    ([x, y]) => [`return ${x}.count(${y})`],
    ([x, y]) => `Count how many times ${y} appears in ${x}.`,
  ),
  T(
    "join",
    ["join", "glue"],
    ["list", "str"],
    ([x, y]) => [`return ${y}.join(${x})`],
    ([x, y]) => `Join the strings in ${x} with ${y}.`,
  ),
  T(
    "squares",
    ["square", "energy"],
    ["list"],
    ([x]) => ["total = 0", `for v in ${x}:`, "    total += v * v", "return total"],
    ([x]) => `Return the sum of the squares of ${x}.`,
  ),
  T(
    "larger",
    ["larger", "pick"],
    ["num", "num"],
    ([x, y]) => [`if ${x} > ${y}:`, `    return ${x}`, `return ${y}`],
    ([x, y]) => `Return the larger of ${x} and ${y}.`,
  ),
  T(
    "count_gt",
    ["count", "many"],
    ["list", "num"],
    ([x, y]) => ["n = 0", `for v in ${x}:`, `    if v > ${y}:`, "        n += 1", "return n"],
    ([x, y]) => `Count the items of ${x} that are greater than ${y}.`,
  ),
];

const WORDS: Record<ArgType, string[]> = {
  list: [
    "items",
    "values",
    "numbers",
    "prices",
    "scores",
    "names",
    "words",
    "rows",
    "parts",
    "ages",
    "sizes",
    "marks",
  ],
  num: [
    "limit",
    "count",
    "rate",
    "factor",
    "size",
    "total",
    "start",
    "step",
    "width",
    "height",
    "price",
    "weight",
  ],
  str: [
    "text",
    "word",
    "line",
    "name",
    "label",
    "title",
    "prefix",
    "sep",
    "key",
    "tag",
    "code",
    "city",
  ],
  dict: ["table", "counts", "lookup", "prices_by_name", "ages", "config", "index", "stock"],
};
const SUFFIX: Record<ArgType, string[]> = {
  list: ["s", "_list", "_items"],
  num: ["", "_count", "_size"],
  str: ["_text", "_name", ""],
  dict: ["_map", "_table"],
};

/** Names the bodies use themselves: never an argument's name. */
const RESERVED = new Set(["v", "n", "total", "result"]);

function argName(type: ArgType, world: World, rng: Rng): string {
  return rng.next() < 0.7
    ? rng.pick(WORDS[type])
    : `${rng.pick(world.animals)}${rng.pick(SUFFIX[type])}`;
}

/** CodeXGLUE-style code tokens: identifiers, numbers, strings, operators; no whitespace. */
export function codeTokens(code: string): string[] {
  return code.match(/[A-Za-z_][A-Za-z0-9_]*|\d+|==|!=|<=|>=|\+=|-=|\*\*|"[^"]*"|'[^']*'|\S/g) ?? [];
}

/** Docstring tokens: words and punctuation marks. */
export function docstringTokens(text: string): string[] {
  return text.match(/[A-Za-z0-9_]+|[^A-Za-z0-9_\s]/g) ?? [];
}

/** Every word a docstring pattern uses besides the argument names (lower case). */
export const DOCSTRING_VOCABULARY: ReadonlySet<string> = new Set(
  TEMPLATES.flatMap((t) =>
    docstringTokens(t.doc(t.args.map((_, i) => `ARG${i}`)))
      .filter((w) => /^[A-Za-z]+$/.test(w))
      .map((w) => w.toLowerCase())
  ),
);

interface Fn {
  name: string;
  code: string;
  docstring: string;
  kind: string;
  args: string[];
  body: string[];
}

function makeFunction(world: World, rng: Rng): Fn {
  const t = rng.pick(TEMPLATES);
  const args: string[] = [];
  for (const type of t.args) {
    let name = argName(type, world, rng);
    while (args.includes(name) || RESERVED.has(name)) name = argName(type, world, rng);
    args.push(name);
  }
  const name = `${rng.pick(t.verbs)}_${rng.pick([...WORDS.list, ...world.animals])}`;
  let body = t.body(args);
  if (body.length === 1 && rng.next() < 0.3) {
    body = [`result = ${body[0].slice("return ".length)}`, "return result"];
  }
  const code = [`def ${name}(${args.join(", ")}):`, ...body.map((l) => `    ${l}`)].join("\n");
  return { name, code, docstring: t.doc(args), kind: t.kind, args, body };
}

/** One code-to-docstring item (without its id). */
export function makeCode(world: World, rng: Rng): Omit<CodeItem, "id"> {
  const f = makeFunction(world, rng);
  return {
    func_name: f.name,
    code: f.code,
    code_tokens: codeTokens(f.code),
    docstring: f.docstring,
    docstring_tokens: docstringTokens(f.docstring),
    kind: f.kind,
  };
}

/** A corpus function: with its docstring inside, or followed by what it does. */
export function codeText(world: World, rng: Rng): string {
  const f = makeFunction(world, rng);
  const lower = f.docstring[0].toLowerCase() + f.docstring.slice(1);
  switch (rng.int(0, 2)) {
    case 0:
      return [
        `def ${f.name}(${f.args.join(", ")}):`,
        `    """${f.docstring}"""`,
        ...f.body.map((l) => `    ${l}`),
      ].join("\n");
    case 1:
      return `${f.code}\nThe function ${f.name} will ${lower}`;
    default:
      return `What does ${f.name} do? ${f.code}\nIt will ${lower}`;
  }
}
