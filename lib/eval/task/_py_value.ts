/**
 * Python values for tunebook's Jinja engine (private to the task module): how a template's values
 * print (`str()` and `repr()`), compare, add up, test true, and which methods they have — as in
 * Python 3, since lm-eval renders its templates with Python's Jinja2.
 *
 * Representation: `str` is a JS string, `int` an integer JS number, `float` a {@linkcode PyFloat}
 * (or a non-integer JS number from the data), `bool` a JS boolean, `None` null, `list` a JS array,
 * `tuple` a {@linkcode PyTuple}, `dict` a `Map` (template literals) or a plain object (row data).
 * A whole number read from data is an `int` (JSON and Parquet readers do not keep `3.0` apart from
 * `3`), so it prints as `3` where Python would print `3.0`; integers beyond 2^53 lose precision.
 * @module
 */

/** A Python float (kept apart from int so that `3.0` prints as `3.0`). */
export class PyFloat {
  /** The number. */
  readonly value: number;
  /** Wrap a number as a float. */
  constructor(value: number) {
    this.value = value;
  }
}

/** A Python tuple. */
export class PyTuple {
  /** The items. */
  readonly items: unknown[];
  /** Wrap items as a tuple. */
  constructor(items: unknown[]) {
    this.items = items;
  }
}

/** A view of a dict (`d.items()`, `d.keys()`, `d.values()`), printed as Python prints it. */
export class DictView {
  /** `dict_items`, `dict_keys` or `dict_values`. */
  readonly kind: "dict_items" | "dict_keys" | "dict_values";
  /** The items (tuples for `dict_items`). */
  readonly items: unknown[];
  /** Create the view. */
  constructor(kind: DictView["kind"], items: unknown[]) {
    this.kind = kind;
    this.items = items;
  }
}

/** `range(start, stop, step)`. */
export class PyRange {
  /** The numbers. */
  readonly items: number[];
  /** Its arguments, for printing. */
  readonly args: [number, number, number];
  /** Create the range. */
  constructor(start: number, stop: number, step: number) {
    if (step === 0) throw new PyError("ValueError", "range() arg 3 must not be zero");
    this.args = [start, stop, step];
    this.items = [];
    if (step > 0) { for (let i = start; i < stop; i += step) this.items.push(i); }
    else for (let i = start; i > stop; i += step) this.items.push(i);
  }
}

/** A callable: a method bound to its value, a global (`range`), a macro. */
export class PyCallable {
  /** Its name, for messages. */
  readonly name: string;
  /** Call it. */
  readonly call: (args: unknown[], kwargs: Map<string, unknown>) => unknown;
  /** Create the callable. */
  constructor(name: string, call: (args: unknown[], kwargs: Map<string, unknown>) => unknown) {
    this.name = name;
    this.call = call;
  }
}

/** Jinja2's `namespace()`: attributes that `{% set ns.x = … %}` may change inside loops. */
export class Namespace {
  /** The attributes. */
  readonly attrs: Map<string, unknown>;
  /** Create a namespace with `attrs`. */
  constructor(attrs: Map<string, unknown>) {
    this.attrs = attrs;
  }
}

/**
 * A value that is not there (Jinja2's `StrictUndefined`): using it in any way except `is defined`,
 * `is undefined` and the `default` filter is an error.
 */
export class Undefined {
  /** The variable or attribute name that was looked up. */
  readonly name: string;
  /** Why it is undefined, in Jinja2's words. */
  readonly hint: string;
  /** True when a top-level name (a row column) is missing, not an attribute. */
  readonly isName: boolean;
  /** Create the undefined value. */
  constructor(name: string, hint: string, isName: boolean) {
    this.name = name;
    this.hint = hint;
    this.isName = isName;
  }
}

/** A Python exception raised while rendering (`TypeError`, `ValueError`, …). */
export class PyError extends Error {
  /** The Python exception's name. */
  readonly pyType: string;
  /** Create the error. */
  constructor(pyType: string, message: string) {
    super(`${pyType}: ${message}`);
    this.name = "PyError";
    this.pyType = pyType;
  }
}

/** Using an undefined value: thrown where Jinja2's StrictUndefined raises `UndefinedError`. */
export class UndefinedError extends Error {
  /** The undefined value. */
  readonly undefinedValue: Undefined;
  /** Create the error. */
  constructor(value: Undefined) {
    super(value.hint);
    this.name = "UndefinedError";
    this.undefinedValue = value;
  }
}

/** Throw if `v` is undefined (every use of a value goes through here first). */
export function defined<T>(v: T): T {
  if (v instanceof Undefined) throw new UndefinedError(v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** Whether `v` is a Python int (booleans are not, here). */
export function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

/** Whether `v` is a Python float. */
export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === "number" && !Number.isInteger(v));
}

/** Whether `v` is a number (int, float or bool, as Python's numeric tower). */
export function isNumber(v: unknown): boolean {
  return typeof v === "number" || typeof v === "boolean" || v instanceof PyFloat;
}

/** The JS number of a Python number. */
export function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof PyFloat) return v.value;
  throw new PyError("TypeError", `expected a number, got ${typeName(v)}`);
}

/** A float result. */
export function float(x: number): PyFloat {
  return new PyFloat(x);
}

/** Whether `v` is a dict. */
export function isDict(v: unknown): v is Map<unknown, unknown> | Record<string, unknown> {
  return v instanceof Map ||
    (typeof v === "object" && v !== null && !Array.isArray(v) &&
      Object.getPrototypeOf(v) === Object.prototype) ||
    (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === null);
}

/** A dict's entries in order. */
export function dictEntries(
  d: Map<unknown, unknown> | Record<string, unknown>,
): [unknown, unknown][] {
  return d instanceof Map ? [...d.entries()] : Object.entries(d);
}

/** Look a key up in a dict; undefined (JS) when absent. */
export function dictGet(d: Map<unknown, unknown> | Record<string, unknown>, key: unknown): {
  found: boolean;
  value?: unknown;
} {
  if (d instanceof Map) {
    for (const [k, v] of d) if (pyEq(k, key)) return { found: true, value: v };
    return { found: false };
  }
  if (typeof key === "string" && Object.hasOwn(d, key)) return { found: true, value: d[key] };
  if (isInt(key) && Object.hasOwn(d, String(key))) return { found: true, value: d[String(key)] };
  return { found: false };
}

/** The items of a sequence-like value (list, tuple, range, dict view), or undefined. */
export function seqItems(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple || v instanceof DictView || v instanceof PyRange) return v.items;
  return undefined;
}

/** What iterating `v` yields (Python's `iter`): strings give characters, dicts their keys. */
export function iterate(v: unknown): unknown[] {
  defined(v);
  const items = seqItems(v);
  if (items) return items;
  if (typeof v === "string") return Array.from(v);
  if (isDict(v)) return dictEntries(v).map(([k]) => k);
  throw new PyError("TypeError", `'${typeName(v)}' object is not iterable`);
}

/** Python's name of a value's type, for messages. */
export function typeName(v: unknown): string {
  if (v === null) return "NoneType";
  if (v instanceof Undefined) return "Undefined";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "str";
  if (isInt(v)) return "int";
  if (isFloat(v)) return "float";
  if (Array.isArray(v)) return "list";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof DictView) return v.kind;
  if (v instanceof PyRange) return "range";
  if (v instanceof PyCallable) return "function";
  if (v instanceof Namespace) return "Namespace";
  if (isDict(v)) return "dict";
  return typeof v;
}

// ---------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------

/** Python's `str(v)`: what `{{ v }}` prints. */
export function pyStr(v: unknown): string {
  defined(v);
  if (typeof v === "string") return v;
  return pyRepr(v);
}

/** Python's `repr(v)`. */
export function pyRepr(v: unknown): string {
  defined(v);
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "string") return reprString(v);
  if (isInt(v)) return String(v);
  if (isFloat(v)) return reprFloat(num(v));
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (v instanceof PyTuple) {
    return v.items.length === 1
      ? `(${pyRepr(v.items[0])},)`
      : `(${v.items.map(pyRepr).join(", ")})`;
  }
  if (v instanceof DictView) return `${v.kind}([${v.items.map(pyRepr).join(", ")}])`;
  if (v instanceof PyRange) {
    const [a, b, s] = v.args;
    return s === 1 ? `range(${a}, ${b})` : `range(${a}, ${b}, ${s})`;
  }
  if (v instanceof PyCallable) return `<function ${v.name}>`;
  if (v instanceof Namespace) {
    return `<Namespace {${
      [...v.attrs].map(([k, x]) => `${reprString(k)}: ${pyRepr(x)}`).join(", ")
    }}>`;
  }
  if (isDict(v)) {
    return `{${dictEntries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  }
  if (v instanceof Date) return reprString(v.toISOString());
  return String(v);
}

/** Characters Python's `str.isprintable()` rejects (besides controls): separators, format chars. */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's repr of a string: single quotes unless it holds `'` and no `"`; escapes as Python. */
export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch !== " " && NON_PRINTABLE.test(ch)) {
      out += cp < 0x100
        ? "\\x" + hex(cp, 2)
        : cp < 0x10000
        ? "\\u" + hex(cp, 4)
        : "\\U" + hex(cp, 8);
    } else out += ch;
  }
  return out + quote;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Python's repr of a float: shortest round-trip digits, exponent below 1e-4 and from 1e16. */
export function reprFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e");
  const exp = Number(expText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  let body: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp < 0) {
    body = `0.${"0".repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    body = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return (negative ? "-" : "") + body;
}

// ---------------------------------------------------------------------------------------------
// Truth, equality, order
// ---------------------------------------------------------------------------------------------

/** Python truthiness. */
export function truthy(v: unknown): boolean {
  defined(v);
  if (v === null || v === undefined || v === false) return false;
  if (v === true) return true;
  if (typeof v === "number") return v !== 0;
  if (v instanceof PyFloat) return v.value !== 0;
  if (typeof v === "string") return v.length > 0;
  const items = seqItems(v);
  if (items) return items.length > 0;
  if (isDict(v)) return v instanceof Map ? v.size > 0 : Object.keys(v).length > 0;
  return true;
}

/** Python `==`. */
export function pyEq(a: unknown, b: unknown): boolean {
  defined(a);
  defined(b);
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return seqEq(a, b);
  if (a instanceof PyTuple && b instanceof PyTuple) return seqEq(a.items, b.items);
  if (a instanceof PyRange && b instanceof PyRange) return seqEq(a.items, b.items);
  if (isDict(a) && isDict(b)) {
    const ea = dictEntries(a);
    const eb = dictEntries(b);
    if (ea.length !== eb.length) return false;
    return ea.every(([k, v]) => {
      const hit = dictGet(b, k);
      return hit.found && pyEq(v, hit.value);
    });
  }
  return a === b;
}

function seqEq(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
}

/** Python's `<`, `<=`, `>`, `>=` (numbers, strings, lists and tuples element by element). */
export function pyCompare(op: string, a: unknown, b: unknown): boolean {
  const c = order(a, b, op);
  switch (op) {
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    default:
      return c >= 0;
  }
}

/** -1, 0 or 1; a TypeError for values Python cannot order. */
export function order(a: unknown, b: unknown, op = "<"): number {
  defined(a);
  defined(b);
  if (isNumber(a) && isNumber(b)) {
    const x = num(a), y = num(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  const sa = Array.isArray(a) || a instanceof PyTuple ? seqItems(a)! : undefined;
  const sb = Array.isArray(b) || b instanceof PyTuple ? seqItems(b)! : undefined;
  if (sa && sb && Array.isArray(a) === Array.isArray(b)) {
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
      if (!pyEq(sa[i], sb[i])) return order(sa[i], sb[i], op);
    }
    return sa.length - sb.length < 0 ? -1 : sa.length > sb.length ? 1 : 0;
  }
  throw new PyError(
    "TypeError",
    `'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`,
  );
}

/** Python's `a in b`. */
export function pyIn(a: unknown, b: unknown): boolean {
  defined(a);
  defined(b);
  if (typeof b === "string") {
    if (typeof a !== "string") {
      throw new PyError(
        "TypeError",
        `'in <string>' requires string as left operand, not ${typeName(a)}`,
      );
    }
    return b.includes(a);
  }
  if (isDict(b)) return dictGet(b, a).found;
  if (b instanceof Namespace) return typeof a === "string" && b.attrs.has(a);
  return iterate(b).some((x) => pyEq(x, a));
}

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

/** Python's binary arithmetic: `+ - * / // % **`. */
export function pyBinary(op: string, a: unknown, b: unknown): unknown {
  defined(a);
  defined(b);
  if (isNumber(a) && isNumber(b)) return numeric(op, a, b);
  if (op === "+") {
    if (typeof a === "string" && typeof b === "string") return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    if (a instanceof PyTuple && b instanceof PyTuple) return new PyTuple([...a.items, ...b.items]);
  }
  if (op === "*") {
    const [seq, n] = isInt(b) || typeof b === "boolean"
      ? [a, num(b)]
      : [b, isInt(a) ? num(a) : NaN];
    if (!Number.isNaN(n)) {
      if (typeof seq === "string") return seq.repeat(Math.max(0, n));
      if (Array.isArray(seq)) return Array.from({ length: Math.max(0, n) }, () => seq).flat();
      if (seq instanceof PyTuple) {
        return new PyTuple(Array.from({ length: Math.max(0, n) }, () => seq.items).flat());
      }
    }
  }
  if (op === "%" && typeof a === "string") return percentFormatHook(a, b);
  throw new PyError(
    "TypeError",
    `unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`,
  );
}

/** Set by the formatting module (printf-style `str % args`), to keep this file free of it. */
let percentFormatHook: (format: string, args: unknown) => string = () => {
  throw new PyError("TypeError", "string formatting is not available");
};

/** Install `str % args` (called once by `_py_format.ts`). */
export function setPercentFormat(fn: (format: string, args: unknown) => string): void {
  percentFormatHook = fn;
}

function numeric(op: string, a: unknown, b: unknown): unknown {
  const x = num(a), y = num(b);
  const anyFloat = isFloat(a) || isFloat(b);
  const wrap = (r: number) => (anyFloat ? float(r) : r);
  switch (op) {
    case "+":
      return wrap(x + y);
    case "-":
      return wrap(x - y);
    case "*":
      return wrap(x * y);
    case "/":
      if (y === 0) throw new PyError("ZeroDivisionError", "division by zero");
      return float(x / y);
    case "//":
      if (y === 0) throw new PyError("ZeroDivisionError", "integer division or modulo by zero");
      return wrap(Math.floor(x / y));
    case "%": {
      if (y === 0) throw new PyError("ZeroDivisionError", "integer modulo by zero");
      const r = x - y * Math.floor(x / y);
      return wrap(r);
    }
    case "**": {
      if (!anyFloat && y < 0) return float(x ** y);
      return wrap(x ** y);
    }
  }
  throw new PyError("TypeError", `unknown operator ${op}`);
}

/** Unary minus and plus. */
export function pyUnary(op: "neg" | "pos", v: unknown): unknown {
  defined(v);
  if (!isNumber(v)) {
    throw new PyError(
      "TypeError",
      `bad operand type for unary ${op === "neg" ? "-" : "+"}: '${typeName(v)}'`,
    );
  }
  const x = op === "neg" ? -num(v) : num(v);
  return isFloat(v) ? float(x) : x;
}
