/**
 * Attributes, items and methods of Python values for tunebook's Jinja engine (private to the task
 * module): what `obj.attr`, `obj[key]`, `obj[a:b]` and `obj.method(...)` do for `str`, `list`,
 * `tuple` and `dict`, as in Python 3. The values themselves (types, `str()`/`repr()`, comparison,
 * arithmetic) are in `_py_value.ts`.
 * @module
 */
import {
  defined,
  dictEntries,
  dictGet,
  DictView,
  isDict,
  isInt,
  iterate,
  Namespace,
  num,
  order,
  PyCallable,
  pyEq,
  PyError,
  pyRepr,
  PyTuple,
  seqItems,
  truthy,
  typeName,
  Undefined,
} from "./_py_value.ts";

/** Jinja2's `obj.attr`: the attribute (a method), else the item, else undefined. */
export function getAttr(obj: unknown, attr: string): unknown {
  defined(obj);
  const method = methodOf(obj, attr);
  if (method) return method;
  if (obj instanceof Namespace) {
    if (obj.attrs.has(attr)) return obj.attrs.get(attr);
  } else if (isDict(obj)) {
    const hit = dictGet(obj, attr);
    if (hit.found) return hit.value;
  }
  return new Undefined(attr, `'${typeName(obj)} object' has no attribute '${attr}'`, false);
}

/** Jinja2's `obj[key]`: the item, else (for a string key) the attribute, else undefined. */
export function getItem(obj: unknown, key: unknown): unknown {
  defined(obj);
  defined(key);
  const items = seqItems(obj);
  if ((items || typeof obj === "string") && (isInt(key) || typeof key === "boolean")) {
    const seq = items ?? Array.from(obj as string);
    let i = num(key);
    if (i < 0) i += seq.length;
    if (i >= 0 && i < seq.length) return seq[i];
    return new Undefined(String(key), `'${typeName(obj)} object' has no element ${key}`, false);
  }
  if (isDict(obj)) {
    const hit = dictGet(obj, key);
    if (hit.found) return hit.value;
  }
  if (obj instanceof Namespace && typeof key === "string" && obj.attrs.has(key)) {
    return obj.attrs.get(key);
  }
  if (typeof key === "string") {
    const method = methodOf(obj, key);
    if (method) return method;
    return new Undefined(key, `'${typeName(obj)} object' has no attribute '${key}'`, false);
  }
  return new Undefined(
    pyRepr(key),
    `'${typeName(obj)} object' has no element ${pyRepr(key)}`,
    false,
  );
}

/** Python slicing `obj[start:stop:step]` of a string, list or tuple. */
export function pySlice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  defined(obj);
  const seq = typeof obj === "string" ? Array.from(obj) : seqItems(obj);
  if (!seq) throw new PyError("TypeError", `'${typeName(obj)}' object is not subscriptable`);
  const n = seq.length;
  const st = step === null || step === undefined ? 1 : num(step);
  if (st === 0) throw new PyError("ValueError", "slice step cannot be zero");
  const norm = (v: unknown, dflt: number, lo: number, hi: number) => {
    if (v === null || v === undefined) return dflt;
    let i = num(v);
    if (i < 0) i += n;
    return Math.min(Math.max(i, lo), hi);
  };
  const out: unknown[] = [];
  if (st > 0) {
    const a = norm(start, 0, 0, n), b = norm(stop, n, 0, n);
    for (let i = a; i < b; i += st) out.push(seq[i]);
  } else {
    const a = norm(start, n - 1, -1, n - 1), b = norm(stop, -1, -1, n - 1);
    for (let i = a; i > b; i += st) out.push(seq[i]);
  }
  if (typeof obj === "string") return out.join("");
  return obj instanceof PyTuple ? new PyTuple(out) : out;
}

/** The bound method `obj.name`, if the type has one. */
export function methodOf(obj: unknown, name: string): PyCallable | undefined {
  const table = typeof obj === "string"
    ? STR_METHODS
    : Array.isArray(obj)
    ? LIST_METHODS
    : obj instanceof PyTuple
    ? TUPLE_METHODS
    : isDict(obj)
    ? DICT_METHODS
    : undefined;
  const fn = table && Object.hasOwn(table, name) ? table[name] : undefined;
  if (!fn) return undefined;
  return new PyCallable(
    `${typeName(obj)}.${name}`,
    (args, kwargs) => fn(obj as never, args, kwargs),
  );
}

type Method = (self: never, args: unknown[], kwargs: Map<string, unknown>) => unknown;

/** Positional-or-keyword argument `i` named `name`, or the default. */
export function arg(
  args: unknown[],
  kwargs: Map<string, unknown>,
  i: number,
  name: string,
  dflt?: unknown,
): unknown {
  if (i < args.length) return defined(args[i]);
  if (kwargs.has(name)) return defined(kwargs.get(name));
  return dflt;
}

function strArg(v: unknown, what: string): string {
  if (typeof v !== "string") {
    throw new PyError("TypeError", `${what} must be str, not ${typeName(v)}`);
  }
  return v;
}

/** Python's whitespace (`str.split()`, `str.strip()`, `str.isspace()`). */
const PY_SPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004" +
  "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

function isPySpace(ch: string): boolean {
  return PY_SPACE.includes(ch);
}

/** `str.strip(chars)` and friends. */
export function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === null || chars === undefined ? null : strArg(chars, "strip arg");
  const drop = (ch: string) => (set === null ? isPySpace(ch) : set.includes(ch));
  const cs = Array.from(s);
  let a = 0, b = cs.length;
  if (left) { while (a < b && drop(cs[a])) a++; }
  if (right) { while (b > a && drop(cs[b - 1])) b--; }
  return cs.slice(a, b).join("");
}

/** `str.split(sep, maxsplit)`. */
export function pySplit(s: string, sep: unknown, maxsplit: unknown): string[] {
  const max = maxsplit === null || maxsplit === undefined ? -1 : num(maxsplit);
  if (sep === null || sep === undefined) {
    const out: string[] = [];
    let i = 0;
    const cs = Array.from(s);
    while (i < cs.length) {
      while (i < cs.length && isPySpace(cs[i])) i++;
      if (i >= cs.length) break;
      if (max >= 0 && out.length >= max) {
        out.push(pyStrip(cs.slice(i).join(""), null, false, true));
        break;
      }
      let j = i;
      while (j < cs.length && !isPySpace(cs[j])) j++;
      out.push(cs.slice(i, j).join(""));
      i = j;
    }
    return out;
  }
  const sp = strArg(sep, "separator");
  if (sp === "") throw new PyError("ValueError", "empty separator");
  const parts = s.split(sp);
  if (max >= 0 && parts.length > max + 1) {
    return [...parts.slice(0, max), parts.slice(max).join(sp)];
  }
  return parts;
}

function pyRsplit(s: string, sep: unknown, maxsplit: unknown): string[] {
  const max = maxsplit === null || maxsplit === undefined ? -1 : num(maxsplit);
  if (max < 0) return pySplit(s, sep, -1);
  if (sep === null || sep === undefined) {
    const rev = pySplit(Array.from(s).reverse().join(""), null, max);
    return rev.map((p) => Array.from(p).reverse().join("")).reverse();
  }
  const sp = strArg(sep, "separator");
  if (sp === "") throw new PyError("ValueError", "empty separator");
  const parts = s.split(sp);
  if (parts.length > max + 1) {
    return [parts.slice(0, parts.length - max).join(sp), ...parts.slice(parts.length - max)];
  }
  return parts;
}

/** `str.replace(old, new, count)`. */
export function pyReplace(s: string, old: string, repl: string, count = -1): string {
  if (count === 0) return s;
  if (old === "") {
    const cs = Array.from(s);
    const n = count < 0 ? cs.length + 1 : Math.min(count, cs.length + 1);
    let out = "";
    for (let i = 0; i < cs.length; i++) out += (i < n ? repl : "") + cs[i];
    return out + (cs.length < n ? repl : "");
  }
  if (count < 0) return s.split(old).join(repl);
  let out = "", rest = s;
  for (let i = 0; i < count; i++) {
    const at = rest.indexOf(old);
    if (at < 0) break;
    out += rest.slice(0, at) + repl;
    rest = rest.slice(at + old.length);
  }
  return out + rest;
}

function isCased(ch: string): boolean {
  return ch.toLowerCase() !== ch.toUpperCase();
}

/** Python's `str.title()`: upper after an uncased character, lower after a cased one. */
export function pyTitle(s: string): string {
  let prev = false, out = "";
  for (const ch of s) {
    if (isCased(ch)) {
      out += prev ? ch.toLowerCase() : ch.toUpperCase();
      prev = true;
    } else {
      out += ch;
      prev = false;
    }
  }
  return out;
}

/** Python's `str.capitalize()`. */
export function pyCapitalize(s: string): string {
  const cs = Array.from(s);
  return cs.length ? cs[0].toUpperCase() + cs.slice(1).join("").toLowerCase() : "";
}

/** `sub`'s index range `[start, end)` of `s` in code points, Python-normalized. */
function window(s: string, start: unknown, end: unknown): [string[], number, number] {
  const cs = Array.from(s);
  const n = cs.length;
  const norm = (v: unknown, d: number) => {
    if (v === null || v === undefined) return d;
    let i = num(v);
    if (i < 0) i = Math.max(0, i + n);
    return Math.min(i, n);
  };
  return [cs, norm(start, 0), norm(end, n)];
}

function pyFind(s: string, sub: string, start: unknown, end: unknown, fromRight: boolean): number {
  const [cs, a, b] = window(s, start, end);
  const hay = cs.slice(a, b).join("");
  const idx = fromRight ? hay.lastIndexOf(sub) : hay.indexOf(sub);
  if (idx < 0) return -1;
  return a + Array.from(hay.slice(0, idx)).length;
}

function affix(s: string, prefix: unknown, start: unknown, end: unknown, atEnd: boolean): boolean {
  const [cs, a, b] = window(s, start, end);
  const part = cs.slice(a, b).join("");
  const options = prefix instanceof PyTuple ? prefix.items : [prefix];
  return options.some((p) => {
    const x = strArg(p, atEnd ? "endswith arg" : "startswith arg");
    return atEnd ? part.endsWith(x) : part.startsWith(x);
  });
}

function pad(s: string, width: unknown, fill: unknown, where: "left" | "right" | "center"): string {
  const w = num(width);
  const f = fill === undefined || fill === null ? " " : strArg(fill, "fill character");
  if (Array.from(f).length !== 1) {
    throw new PyError("TypeError", "The fill character must be exactly one character long");
  }
  const n = Array.from(s).length;
  if (w <= n) return s;
  const total = w - n;
  if (where === "left") return s + f.repeat(total);
  if (where === "right") return f.repeat(total) + s;
  // Python's center puts the extra character on the left when the width is odd and the text even
  const left = Math.floor(total / 2) + (total & w & 1);
  return f.repeat(left) + s + f.repeat(total - left);
}

// deno-lint-ignore no-control-regex -- Python's line boundaries include these separators
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

function splitlines(s: string, keepends: boolean): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length) {
    const m = LINE_BREAKS.exec(rest);
    if (!m) {
      out.push(rest);
      break;
    }
    out.push(rest.slice(0, m.index + (keepends ? m[0].length : 0)));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

/** Set by the formatting module: `str.format(*args, **kwargs)`. */
let formatMethodHook: (format: string, args: unknown[], kwargs: Map<string, unknown>) => string =
  () => {
    throw new PyError("TypeError", "str.format is not available");
  };

/** Install `str.format` (called once by `_py_format.ts`). */
export function setFormatMethod(
  fn: (format: string, args: unknown[], kwargs: Map<string, unknown>) => string,
): void {
  formatMethodHook = fn;
}

const STR_METHODS: Record<string, Method> = {
  strip: (s: string, a, k) => pyStrip(s, arg(a, k, 0, "chars", null), true, true),
  lstrip: (s: string, a, k) => pyStrip(s, arg(a, k, 0, "chars", null), true, false),
  rstrip: (s: string, a, k) => pyStrip(s, arg(a, k, 0, "chars", null), false, true),
  split: (s: string, a, k) => pySplit(s, arg(a, k, 0, "sep", null), arg(a, k, 1, "maxsplit", -1)),
  rsplit: (s: string, a, k) => pyRsplit(s, arg(a, k, 0, "sep", null), arg(a, k, 1, "maxsplit", -1)),
  splitlines: (s: string, a, k) => splitlines(s, truthy(arg(a, k, 0, "keepends", false))),
  join: (s: string, a) => {
    const items = iterate(a[0]);
    return items.map((x, i) => {
      if (typeof x !== "string") {
        throw new PyError(
          "TypeError",
          `sequence item ${i}: expected str instance, ${typeName(x)} found`,
        );
      }
      return x;
    }).join(s);
  },
  replace: (s: string, a, k) =>
    pyReplace(
      s,
      strArg(arg(a, k, 0, "old"), "replace() argument 1"),
      strArg(arg(a, k, 1, "new"), "replace() argument 2"),
      num(arg(a, k, 2, "count", -1)),
    ),
  lower: (s: string) => s.toLowerCase(),
  upper: (s: string) => s.toUpperCase(),
  casefold: (s: string) => s.toLowerCase(),
  swapcase: (s: string) =>
    Array.from(s).map((c) => c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()).join(""),
  capitalize: (s: string) => pyCapitalize(s),
  title: (s: string) => pyTitle(s),
  startswith: (s: string, a, k) =>
    affix(s, arg(a, k, 0, "prefix"), arg(a, k, 1, "start", null), arg(a, k, 2, "end", null), false),
  endswith: (s: string, a, k) =>
    affix(s, arg(a, k, 0, "suffix"), arg(a, k, 1, "start", null), arg(a, k, 2, "end", null), true),
  find: (s: string, a) => pyFind(s, strArg(a[0], "find arg"), a[1], a[2], false),
  rfind: (s: string, a) => pyFind(s, strArg(a[0], "rfind arg"), a[1], a[2], true),
  index: (s: string, a) => {
    const i = pyFind(s, strArg(a[0], "index arg"), a[1], a[2], false);
    if (i < 0) throw new PyError("ValueError", "substring not found");
    return i;
  },
  rindex: (s: string, a) => {
    const i = pyFind(s, strArg(a[0], "rindex arg"), a[1], a[2], true);
    if (i < 0) throw new PyError("ValueError", "substring not found");
    return i;
  },
  count: (s: string, a) => {
    const sub = strArg(a[0], "count arg");
    const [cs, lo, hi] = window(s, a[1], a[2]);
    const part = cs.slice(lo, hi).join("");
    if (sub === "") return Array.from(part).length + 1;
    return part.split(sub).length - 1;
  },
  isdigit: (s: string) => /^[\p{Nd}\u00b2\u00b3\u00b9\u2070-\u2079\u2080-\u2089]+$/u.test(s),
  isdecimal: (s: string) => /^\p{Nd}+$/u.test(s),
  isnumeric: (s: string) => /^\p{N}+$/u.test(s),
  isalpha: (s: string) => /^\p{L}+$/u.test(s),
  isalnum: (s: string) => /^[\p{L}\p{N}]+$/u.test(s),
  isspace: (s: string) => s.length > 0 && Array.from(s).every(isPySpace),
  islower: (s: string) => /\p{Ll}/u.test(s) && s === s.toLowerCase(),
  isupper: (s: string) => /\p{Lu}/u.test(s) && s === s.toUpperCase(),
  istitle: (s: string) => /\p{L}/u.test(s) && pyTitle(s) === s,
  center: (s: string, a, k) => pad(s, arg(a, k, 0, "width"), arg(a, k, 1, "fillchar"), "center"),
  ljust: (s: string, a, k) => pad(s, arg(a, k, 0, "width"), arg(a, k, 1, "fillchar"), "left"),
  rjust: (s: string, a, k) => pad(s, arg(a, k, 0, "width"), arg(a, k, 1, "fillchar"), "right"),
  zfill: (s: string, a) => {
    const w = num(a[0]);
    const sign = s[0] === "-" || s[0] === "+" ? s[0] : "";
    const body = sign ? s.slice(1) : s;
    return sign + body.padStart(w - sign.length, "0");
  },
  partition: (s: string, a) => {
    const sep = strArg(a[0], "partition arg");
    const i = s.indexOf(sep);
    return new PyTuple(i < 0 ? [s, "", ""] : [s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  rpartition: (s: string, a) => {
    const sep = strArg(a[0], "rpartition arg");
    const i = s.lastIndexOf(sep);
    return new PyTuple(i < 0 ? ["", "", s] : [s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  removeprefix: (s: string, a) => {
    const p = strArg(a[0], "removeprefix arg");
    return p && s.startsWith(p) ? s.slice(p.length) : s;
  },
  removesuffix: (s: string, a) => {
    const p = strArg(a[0], "removesuffix arg");
    return p && s.endsWith(p) ? s.slice(0, -p.length) : s;
  },
  expandtabs: (s: string, a, k) => {
    const size = num(arg(a, k, 0, "tabsize", 8));
    let col = 0, out = "";
    for (const ch of s) {
      if (ch === "\t") {
        const n = size > 0 ? size - (col % size) : 0;
        out += " ".repeat(n);
        col += n;
      } else {
        out += ch;
        col = ch === "\n" || ch === "\r" ? 0 : col + 1;
      }
    }
    return out;
  },
  format: (s: string, a, k) => formatMethodHook(s, a, k),
};

function listIndex(items: unknown[], a: unknown[]): number {
  const [cs, lo, hi] = [
    items,
    a[1] === undefined ? 0 : num(a[1]),
    a[2] === undefined ? items.length : num(a[2]),
  ];
  const n = cs.length;
  const start = lo < 0 ? Math.max(0, lo + n) : lo;
  const end = hi < 0 ? Math.max(0, hi + n) : Math.min(hi, n);
  for (let i = start; i < end; i++) if (pyEq(cs[i], a[0])) return i;
  throw new PyError("ValueError", `${pyRepr(a[0])} is not in list`);
}

const TUPLE_METHODS: Record<string, Method> = {
  index: (t: PyTuple, a) => {
    try {
      return listIndex(t.items, a);
    } catch {
      throw new PyError("ValueError", "tuple.index(x): x not in tuple");
    }
  },
  count: (t: PyTuple, a) => t.items.filter((x) => pyEq(x, a[0])).length,
};

const LIST_METHODS: Record<string, Method> = {
  index: (l: unknown[], a) => listIndex(l, a),
  count: (l: unknown[], a) => l.filter((x) => pyEq(x, a[0])).length,
  copy: (l: unknown[]) => [...l],
  append: (l: unknown[], a) => {
    l.push(defined(a[0]));
    return null;
  },
  extend: (l: unknown[], a) => {
    l.push(...iterate(a[0]));
    return null;
  },
  insert: (l: unknown[], a) => {
    let i = num(a[0]);
    if (i < 0) i = Math.max(0, i + l.length);
    l.splice(Math.min(i, l.length), 0, defined(a[1]));
    return null;
  },
  pop: (l: unknown[], a) => {
    if (!l.length) throw new PyError("IndexError", "pop from empty list");
    let i = a.length ? num(a[0]) : l.length - 1;
    if (i < 0) i += l.length;
    if (i < 0 || i >= l.length) throw new PyError("IndexError", "pop index out of range");
    return l.splice(i, 1)[0];
  },
  remove: (l: unknown[], a) => {
    const i = l.findIndex((x) => pyEq(x, a[0]));
    if (i < 0) throw new PyError("ValueError", "list.remove(x): x not in list");
    l.splice(i, 1);
    return null;
  },
  reverse: (l: unknown[]) => {
    l.reverse();
    return null;
  },
  sort: (l: unknown[], a, k) => {
    l.sort((x, y) => order(x, y));
    if (truthy(arg(a, k, 99, "reverse", false))) l.reverse();
    return null;
  },
  clear: (l: unknown[]) => {
    l.length = 0;
    return null;
  },
};

type Dict = Map<unknown, unknown> | Record<string, unknown>;

const DICT_METHODS: Record<string, Method> = {
  get: (d: Dict, a) => {
    const hit = dictGet(d, defined(a[0]));
    return hit.found ? hit.value : (a.length > 1 ? a[1] : null);
  },
  items: (d: Dict) => new DictView("dict_items", dictEntries(d).map((e) => new PyTuple(e))),
  keys: (d: Dict) => new DictView("dict_keys", dictEntries(d).map(([key]) => key)),
  values: (d: Dict) => new DictView("dict_values", dictEntries(d).map(([, v]) => v)),
  copy: (d: Dict) => new Map(dictEntries(d)),
  pop: (d: Dict, a) => {
    const hit = dictGet(d, a[0]);
    if (!hit.found) {
      if (a.length > 1) return a[1];
      throw new PyError("KeyError", pyRepr(a[0]));
    }
    if (d instanceof Map) {
      for (const k of d.keys()) if (pyEq(k, a[0])) d.delete(k);
    } else delete d[String(a[0])];
    return hit.value;
  },
  setdefault: (d: Dict, a) => {
    const hit = dictGet(d, a[0]);
    if (hit.found) return hit.value;
    const v = a.length > 1 ? a[1] : null;
    if (d instanceof Map) d.set(a[0], v);
    else d[String(a[0])] = v;
    return v;
  },
  update: (d: Dict, a, k) => {
    const pairs: [unknown, unknown][] = [
      ...(a.length ? (isDict(a[0]) ? dictEntries(a[0]) : []) : []),
      ...k.entries(),
    ];
    for (const [key, v] of pairs) {
      if (d instanceof Map) d.set(key, v);
      else d[String(key)] = v;
    }
    return null;
  },
};
