/**
 * Filters and tests of tunebook's Jinja engine (private to the task module): Jinja2's built-in
 * filters and tests with Jinja2's semantics, plus the filter lm-eval registers on its environment,
 * `regex_replace(pattern, repl, count=0)` (Python's `re.sub`).
 *
 * Jinja2 filters not here (`filesizeformat`, `groupby`, `urlize`, `wordwrap`, `xmlattr`, `random`)
 * are rejected when the template is compiled, with that reason.
 * @module
 */
import { percentFormat, pyRoundFloat } from "./_py_format.ts";
import { compilePyRegex, PyRegexError, pySubTemplate } from "../../util/py_regex.ts";
import { arg, getAttr, getItem, pyCapitalize, pyStrip } from "./_py_methods.ts";
import {
  defined,
  dictEntries,
  float,
  isDict,
  isFloat,
  isInt,
  isNumber,
  iterate,
  Namespace,
  num,
  order,
  PyCallable,
  pyCompare,
  pyEq,
  PyError,
  PyFloat,
  pyIn,
  PyRange,
  pyRepr,
  pyStr,
  PyTuple,
  reprFloat,
  seqItems,
  truthy,
  typeName,
  Undefined,
} from "./_py_value.ts";

/** A filter: the value, positional and keyword arguments, and a way to reach other filters/tests. */
export type Filter = (
  value: unknown,
  args: unknown[],
  kwargs: Map<string, unknown>,
  env: FilterEnv,
) => unknown;

/** A test (`x is name(args)`). */
export type Test = (value: unknown, args: unknown[], kwargs: Map<string, unknown>) => boolean;

/** What filters like `map` and `select` need: the other filters and tests by name. */
export interface FilterEnv {
  /** Apply the filter `name`. */
  filter(name: string, value: unknown, args: unknown[], kwargs: Map<string, unknown>): unknown;
  /** Run the test `name`. */
  test(name: string, value: unknown, args: unknown[], kwargs: Map<string, unknown>): boolean;
}

/** Jinja2 filters tunebook does not implement, and why (reported when a template is compiled). */
export const UNSUPPORTED_FILTERS: Readonly<Record<string, string>> = {
  filesizeformat: "not implemented by tunebook's Jinja engine",
  groupby: "not implemented by tunebook's Jinja engine",
  urlize: "not implemented by tunebook's Jinja engine",
  wordwrap: "not implemented by tunebook's Jinja engine",
  xmlattr: "not implemented by tunebook's Jinja engine",
  random: "it makes prompts differ between runs",
};

/** Jinja2's attribute lookup with dots (`attribute="a.b"`, `attribute=0`). */
function attrGetter(attribute: unknown): (v: unknown) => unknown {
  if (attribute === null || attribute === undefined) return (v) => v;
  const parts = isInt(attribute)
    ? [attribute]
    : String(attribute).split(".").map((p) => /^\d+$/.test(p) ? Number(p) : p);
  return (v) => {
    let x = v;
    for (const p of parts) x = typeof p === "number" ? getItem(x, p) : getItem(x, p);
    return x;
  };
}

function lowerIfString(v: unknown, caseSensitive: boolean): unknown {
  return !caseSensitive && typeof v === "string" ? v.toLowerCase() : v;
}

/** HTML escaping as Jinja2's `escape` (markupsafe). */
function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&#34;").replace(/'/g, "&#39;");
}

/** Python `json.dumps(sort_keys=True)` then Jinja2's HTML-safe replacements (the `tojson` filter). */
function toJson(v: unknown, indent: unknown): string {
  const ind = indent === null || indent === undefined ? undefined : num(indent);
  const enc = (x: unknown, depth: number): string => {
    defined(x);
    if (x === null) return "null";
    if (x === true) return "true";
    if (x === false) return "false";
    if (typeof x === "string") return jsonString(x);
    if (isInt(x)) return String(x);
    if (isFloat(x)) {
      const f = num(x);
      if (Number.isNaN(f)) return "NaN";
      if (!Number.isFinite(f)) return f > 0 ? "Infinity" : "-Infinity";
      return reprFloat(f);
    }
    const items = Array.isArray(x) || x instanceof PyTuple ? seqItems(x)! : undefined;
    const nl = (d: number) => (ind === undefined ? "" : "\n" + " ".repeat(ind * d));
    const sep = ind === undefined ? ", " : ",";
    if (items) {
      if (!items.length) return "[]";
      return `[${nl(depth + 1)}${items.map((i) => enc(i, depth + 1)).join(sep + nl(depth + 1))}${
        nl(depth)
      }]`;
    }
    if (isDict(x)) {
      const entries = dictEntries(x).map(([k, val]) => [pyStr(k), val] as [string, unknown])
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      if (!entries.length) return "{}";
      return `{${nl(depth + 1)}${
        entries.map(([k, val]) => `${jsonString(k)}: ${enc(val, depth + 1)}`).join(
          sep + nl(depth + 1),
        )
      }${nl(depth)}}`;
    }
    throw new PyError("TypeError", `Object of type ${typeName(x)} is not JSON serializable`);
  };
  return enc(v, 0).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/'/g, "\\u0027");
}

/** A JSON string with Python's `ensure_ascii=True`. */
function jsonString(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

function sortKeyed(
  items: unknown[],
  key: (v: unknown) => unknown,
  reverse: boolean,
): unknown[] {
  const out = [...items].sort((a, b) => order(key(a), key(b)));
  return reverse ? out.reverse() : out;
}

function selectOrReject(
  value: unknown,
  args: unknown[],
  kwargs: Map<string, unknown>,
  env: FilterEnv,
  select: boolean,
  byAttr: boolean,
): unknown[] {
  const items = iterate(value);
  let get: (v: unknown) => unknown = (v) => v;
  let rest = args;
  if (byAttr) {
    get = attrGetter(args[0]);
    rest = args.slice(1);
  }
  const [testName, ...testArgs] = rest;
  const pass = (v: unknown) =>
    testName === undefined ? truthy(get(v)) : env.test(String(testName), get(v), testArgs, kwargs);
  return items.filter((v) => pass(v) === select);
}

/** Jinja2's `truncate(length=255, killwords=False, end='...', leeway=0)` (leeway default 5). */
function truncate(
  s: string,
  length: number,
  killwords: boolean,
  end: string,
  leeway: number,
): string {
  const cs = Array.from(s);
  if (cs.length <= length + leeway) return s;
  if (killwords) return cs.slice(0, length - end.length).join("") + end;
  const head = cs.slice(0, length - end.length).join("");
  const cut = head.lastIndexOf(" ");
  return (cut >= 0 ? head.slice(0, cut) : head) + end;
}

const patterns = new Map<string, RegExp>();

/** A Python pattern compiled once (templates apply the same pattern to every row). */
function compiledPattern(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    re = compilePyRegex(pattern);
    patterns.set(pattern, re);
  }
  return re;
}

/** Jinja2's built-in filters, and lm-eval's `regex_replace`. */
export const FILTERS: Readonly<Record<string, Filter>> = {
  abs: (v) => (isFloat(v) ? float(Math.abs(num(v))) : Math.abs(num(v))),
  attr: (v, a) => getAttr(v, String(a[0])),
  batch: (v, a, k) => {
    const items = iterate(v);
    const n = num(arg(a, k, 0, "linecount"));
    const fill = arg(a, k, 1, "fill_with", null);
    const out: unknown[][] = [];
    for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
    if (fill !== null && out.length && out.at(-1)!.length < n) {
      while (out.at(-1)!.length < n) out.at(-1)!.push(fill);
    }
    return out;
  },
  capitalize: (v) => pyCapitalize(pyStr(v)),
  center: (v, a, k) => {
    const s = pyStr(v);
    const w = num(arg(a, k, 0, "width", 80));
    const n = Array.from(s).length;
    if (w <= n) return s;
    const total = w - n;
    const left = Math.floor(total / 2) + (total & w & 1);
    return " ".repeat(left) + s + " ".repeat(total - left);
  },
  count: (v) => FILTERS.length(v, [], new Map(), undefined as never),
  default: (v, a, k) => {
    const dflt = arg(a, k, 0, "default_value", "");
    const boolean = truthy(arg(a, k, 1, "boolean", false));
    if (v instanceof Undefined || (boolean && !truthy(v))) return dflt;
    return v;
  },
  d: (v, a, k, e) => FILTERS.default(v, a, k, e),
  dictsort: (v, a, k) => {
    const caseSensitive = truthy(arg(a, k, 0, "case_sensitive", false));
    const by = arg(a, k, 1, "by", "key");
    const reverse = truthy(arg(a, k, 2, "reverse", false));
    if (!isDict(v)) throw new PyError("TypeError", "dictsort: expected a dict");
    const pos = by === "value" ? 1 : 0;
    return sortKeyed(
      dictEntries(v).map((e) => new PyTuple(e)),
      (t) => lowerIfString((t as PyTuple).items[pos], caseSensitive),
      reverse,
    );
  },
  escape: (v) => escapeHtml(pyStr(v)),
  e: (v) => escapeHtml(pyStr(v)),
  forceescape: (v) => escapeHtml(pyStr(v)),
  first: (v) => {
    const items = iterate(v);
    return items.length
      ? items[0]
      : new Undefined("first", "No first item, sequence was empty.", false);
  },
  last: (v) => {
    const items = iterate(v);
    return items.length
      ? items.at(-1)
      : new Undefined("last", "No last item, sequence was empty.", false);
  },
  float: (v, a, k) => {
    const dflt = arg(a, k, 0, "default", float(0));
    if (isNumber(v)) return float(num(v));
    const s = typeof v === "string" ? v.trim() : undefined;
    if (
      s !== undefined && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i.test(s)
    ) {
      return float(Number(s.replace(/^([+-]?)inf(inity)?$/i, "$1Infinity")));
    }
    return dflt;
  },
  format: (v, a, k) => percentFormat(pyStr(v), k.size ? new Map(k) : new PyTuple(a)),
  indent: (v, a, k) => {
    const s = pyStr(v);
    const width = arg(a, k, 0, "width", 4);
    const first = truthy(arg(a, k, 1, "first", false));
    const blank = truthy(arg(a, k, 2, "blank", false));
    const ind = typeof width === "string" ? width : " ".repeat(num(width));
    const lines = s.split("\n");
    return lines.map((line, i) =>
      (i === 0 && !first) || (!blank && line === "") ? line : ind + line
    ).join("\n");
  },
  int: (v, a, k) => {
    const dflt = arg(a, k, 0, "default", 0);
    const base = num(arg(a, k, 1, "base", 10));
    if (typeof v === "boolean") return v ? 1 : 0;
    if (isNumber(v)) return Math.trunc(num(v));
    if (typeof v !== "string") return dflt;
    const s = v.trim().replace(/_/g, "");
    const prefixed = /^[+-]?0[xob]/i.test(s);
    if (base === 10 && !prefixed) {
      if (/^[+-]?\d+$/.test(s)) return Number(s);
      if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Math.trunc(Number(s));
      return dflt;
    }
    const n = parseInt(
      s.replace(/^([+-]?)0[xob]/i, "$1"),
      prefixed ? { x: 16, o: 8, b: 2 }[s.replace(/^[+-]?0/, "")[0].toLowerCase() as "x"] : base,
    );
    return Number.isNaN(n) ? dflt : n;
  },
  items: (v) => {
    if (v instanceof Undefined) return [];
    if (!isDict(v)) throw new PyError("TypeError", `can only get item pairs from a mapping`);
    return dictEntries(v).map((e) => new PyTuple(e));
  },
  join: (v, a, k) => {
    const d = pyStr(arg(a, k, 0, "d", ""));
    const get = attrGetter(arg(a, k, 1, "attribute", null));
    return iterate(v).map((x) => pyStr(get(x))).join(d);
  },
  length: (v) => {
    defined(v);
    if (typeof v === "string") return Array.from(v).length;
    if (isDict(v)) return dictEntries(v).length;
    const items = seqItems(v);
    if (items) return items.length;
    throw new PyError("TypeError", `object of type '${typeName(v)}' has no len()`);
  },
  list: (v) => [...iterate(v)],
  lower: (v) => pyStr(v).toLowerCase(),
  upper: (v) => pyStr(v).toUpperCase(),
  map: (v, a, k, env) => {
    const items = iterate(v);
    if (k.has("attribute")) {
      const get = attrGetter(k.get("attribute"));
      const dflt = k.get("default");
      return items.map((x) => {
        const r = get(x);
        return r instanceof Undefined && dflt !== undefined ? dflt : r;
      });
    }
    const [name, ...rest] = a;
    if (typeof name !== "string") {
      throw new PyError("TypeError", "map: name a filter or attribute=");
    }
    return items.map((x) => env.filter(name, x, rest, k));
  },
  max: (v, a, k) => {
    const items = iterate(v);
    if (!items.length) {
      return new Undefined("max", "No aggregated item, sequence was empty.", false);
    }
    const cs = truthy(arg(a, k, 0, "case_sensitive", false));
    const get = attrGetter(arg(a, k, 1, "attribute", null));
    return items.reduce((m, x) =>
      order(lowerIfString(get(x), cs), lowerIfString(get(m), cs)) > 0 ? x : m
    );
  },
  min: (v, a, k) => {
    const items = iterate(v);
    if (!items.length) {
      return new Undefined("min", "No aggregated item, sequence was empty.", false);
    }
    const cs = truthy(arg(a, k, 0, "case_sensitive", false));
    const get = attrGetter(arg(a, k, 1, "attribute", null));
    return items.reduce((m, x) =>
      order(lowerIfString(get(x), cs), lowerIfString(get(m), cs)) < 0 ? x : m
    );
  },
  pprint: (v) => pyRepr(v),
  reject: (v, a, k, env) => selectOrReject(v, a, k, env, false, false),
  rejectattr: (v, a, k, env) => selectOrReject(v, a, k, env, false, true),
  select: (v, a, k, env) => selectOrReject(v, a, k, env, true, false),
  selectattr: (v, a, k, env) => selectOrReject(v, a, k, env, true, true),
  replace: (v, a, k) => {
    const s = pyStr(v);
    const count = arg(a, k, 2, "count", null);
    return getAttr(s, "replace") instanceof PyCallable
      ? (getAttr(s, "replace") as PyCallable).call(
        [pyStr(a[0]), pyStr(a[1]), count === null ? -1 : count],
        new Map(),
      )
      : s;
  },
  reverse: (v) => {
    if (typeof v === "string") return Array.from(v).reverse().join("");
    return [...iterate(v)].reverse();
  },
  round: (v, a, k) => {
    const precision = num(arg(a, k, 0, "precision", 0));
    const method = arg(a, k, 1, "method", "common");
    const x = num(v);
    const f = 10 ** precision;
    let r: number;
    // Python's round() keeps an int an int
    if (method === "common" && !isFloat(v)) return precision >= 0 ? x : pyRoundFloat(x, precision);
    if (method === "common") r = pyRoundFloat(x, precision);
    else if (method === "ceil") r = Math.ceil(x * f) / f;
    else if (method === "floor") r = Math.floor(x * f) / f;
    else throw new PyError("FilterArgumentError", "method must be common, ceil or floor");
    return float(r);
  },
  safe: (v) => v,
  slice: (v, a, k) => {
    const items = iterate(v);
    const slices = num(arg(a, k, 0, "slices"));
    const fill = arg(a, k, 1, "fill_with", null);
    const per = Math.floor(items.length / slices);
    const extra = items.length % slices;
    const out: unknown[][] = [];
    let offset = 0;
    for (let i = 0; i < slices; i++) {
      const start = offset + i * per;
      if (i < extra) offset++;
      const end = offset + (i + 1) * per;
      const part = items.slice(start, end);
      if (fill !== null && i >= extra) part.push(fill);
      out.push(part);
    }
    return out;
  },
  sort: (v, a, k) => {
    const reverse = truthy(arg(a, k, 0, "reverse", false));
    const cs = truthy(arg(a, k, 1, "case_sensitive", false));
    const get = attrGetter(arg(a, k, 2, "attribute", null));
    return sortKeyed(iterate(v), (x) => lowerIfString(get(x), cs), reverse);
  },
  string: (v) => pyStr(v),
  striptags: (v) =>
    pyStr(v).replace(/<!--[\s\S]*?-->|<\/?[a-zA-Z][^>]*>/g, "").split(/\s+/).filter(Boolean).join(
      " ",
    ),
  sum: (v, a, k) => {
    const get = attrGetter(arg(a, k, 0, "attribute", null));
    let total: unknown = arg(a, k, 1, "start", 0);
    for (const x of iterate(v)) {
      const y = get(x);
      total = isFloat(total) || isFloat(y) ? float(num(total) + num(y)) : num(total) + num(y);
    }
    return total;
  },
  title: (v) => {
    // Jinja2's title: capitalize each word, words split at whitespace and opening brackets
    return pyStr(v).split(/([-\s({[<]+)/).map((w) =>
      /^[-\s({[<]+$/.test(w) || w === "" ? w : pyCapitalize(w)
    ).join("");
  },
  tojson: (v, a, k) => toJson(v, arg(a, k, 0, "indent", null)),
  trim: (v, a, k) => pyStrip(pyStr(v), arg(a, k, 0, "chars", null), true, true),
  truncate: (v, a, k) =>
    truncate(
      pyStr(v),
      num(arg(a, k, 0, "length", 255)),
      truthy(arg(a, k, 1, "killwords", false)),
      pyStr(arg(a, k, 2, "end", "...")),
      num(arg(a, k, 3, "leeway", 5) ?? 5),
    ),
  unique: (v, a, k) => {
    const cs = truthy(arg(a, k, 0, "case_sensitive", false));
    const get = attrGetter(arg(a, k, 1, "attribute", null));
    const seen: unknown[] = [];
    const out: unknown[] = [];
    for (const x of iterate(v)) {
      const key = lowerIfString(get(x), cs);
      if (!seen.some((s) => pyEq(s, key))) {
        seen.push(key);
        out.push(x);
      }
    }
    return out;
  },
  urlencode: (v) => {
    if (isDict(v)) {
      return dictEntries(v).map(([key, x]) =>
        `${encodeURIComponent(pyStr(key))}=${encodeURIComponent(pyStr(x))}`
      ).join("&");
    }
    return encodeURIComponent(pyStr(v)).replace(/%2F/g, "/");
  },
  wordcount: (v) => (pyStr(v).match(/\w+/gu) ?? []).length,
  regex_replace: (v, a, k) => {
    if (typeof v !== "string") {
      throw new PyError("TypeError", `expected string or bytes-like object, got '${typeName(v)}'`);
    }
    const pattern = pyStr(arg(a, k, 0, "pattern"));
    const repl = pyStr(arg(a, k, 1, "repl"));
    const count = num(arg(a, k, 2, "count", 0));
    try {
      return pySubTemplate(compiledPattern(pattern), v, repl, count);
    } catch (e) {
      if (e instanceof PyRegexError) throw new PyError("re.error", e.message);
      throw e;
    }
  },
};

/** Jinja2's built-in tests. */
export const TESTS: Readonly<Record<string, Test>> = {
  boolean: (v) => typeof v === "boolean",
  callable: (v) => v instanceof PyCallable,
  defined: (v) => !(v instanceof Undefined),
  undefined: (v) => v instanceof Undefined,
  divisibleby: (v, a) => num(v) % num(a[0]) === 0,
  eq: (v, a) => pyEq(v, a[0]),
  equalto: (v, a) => pyEq(v, a[0]),
  "==": (v, a) => pyEq(v, a[0]),
  ne: (v, a) => !pyEq(v, a[0]),
  "!=": (v, a) => !pyEq(v, a[0]),
  lt: (v, a) => pyCompare("<", v, a[0]),
  lessthan: (v, a) => pyCompare("<", v, a[0]),
  "<": (v, a) => pyCompare("<", v, a[0]),
  le: (v, a) => pyCompare("<=", v, a[0]),
  "<=": (v, a) => pyCompare("<=", v, a[0]),
  gt: (v, a) => pyCompare(">", v, a[0]),
  greaterthan: (v, a) => pyCompare(">", v, a[0]),
  ">": (v, a) => pyCompare(">", v, a[0]),
  ge: (v, a) => pyCompare(">=", v, a[0]),
  ">=": (v, a) => pyCompare(">=", v, a[0]),
  escaped: () => false,
  even: (v) => num(v) % 2 === 0,
  odd: (v) => Math.abs(num(v) % 2) === 1,
  false: (v) => v === false,
  true: (v) => v === true,
  filter: (v) => typeof v === "string" && Object.hasOwn(FILTERS, v),
  test: (v) => typeof v === "string" && Object.hasOwn(TESTS, v),
  float: (v) => v instanceof PyFloat || (typeof v === "number" && !Number.isInteger(v)),
  integer: (v) => isInt(v),
  number: (v) => isNumber(v),
  in: (v, a) => pyIn(v, a[0]),
  iterable: (v) =>
    typeof v === "string" || Array.isArray(v) || v instanceof PyTuple || v instanceof PyRange ||
    isDict(v) || seqItems(v) !== undefined,
  sequence: (v) =>
    typeof v === "string" || Array.isArray(v) || v instanceof PyTuple || v instanceof PyRange ||
    isDict(v),
  mapping: (v) => isDict(v),
  lower: (v) => typeof v === "string" && v === v.toLowerCase(),
  upper: (v) => typeof v === "string" && v === v.toUpperCase(),
  none: (v) => v === null,
  sameas: (v, a) => v === a[0] || (v === null && a[0] === null),
  string: (v) => typeof v === "string",
};

/** `namespace(...)`, a Jinja2 global. */
export function makeNamespace(args: unknown[], kwargs: Map<string, unknown>): Namespace {
  const attrs = new Map<string, unknown>();
  for (const a of args) {
    if (isDict(a)) { for (const [k, v] of dictEntries(a)) attrs.set(pyStr(k), v); }
  }
  for (const [k, v] of kwargs) attrs.set(k, v);
  return new Namespace(attrs);
}

/** `dict(...)`, a Jinja2 global. */
export function makeDict(args: unknown[], kwargs: Map<string, unknown>): Map<unknown, unknown> {
  const out = new Map<unknown, unknown>();
  for (const a of args) {
    if (isDict(a)) { for (const [k, v] of dictEntries(a)) out.set(k, v); }
    else {
      for (const pair of iterate(a)) {
        const kv = iterate(pair);
        out.set(kv[0], kv[1]);
      }
    }
  }
  for (const [k, v] of kwargs) out.set(k, v);
  return out;
}
