/**
 * Python string formatting for tunebook's Jinja engine (private to the task module): printf-style
 * `'%s: %.2f' % (a, b)` (also the `format` filter) and `'{}: {:.2f}'.format(a, b)`, with Python's
 * conversions and format-spec mini-language (fill, align, sign, `#`, `0`, width, `,`/`_`
 * grouping, precision, and the types `s d i b o x X c e E f F g G n %`).
 * @module
 */
import { getAttr, getItem, setFormatMethod } from "./_py_methods.ts";
import {
  defined,
  dictGet,
  isDict,
  isFloat,
  isInt,
  isNumber,
  num,
  PyError,
  pyRepr,
  pyStr,
  PyTuple,
  reprFloat,
  setPercentFormat,
  typeName,
} from "./_py_value.ts";

/** `format % args`, as Python's `str.__mod__`. */
export function percentFormat(format: string, args: unknown): string {
  const list = args instanceof PyTuple ? args.items : [args];
  const mapping = isDict(args) ? args : undefined;
  let next = 0;
  const take = (): unknown => {
    if (next >= list.length) {
      throw new PyError("TypeError", "not enough arguments for format string");
    }
    return list[next++];
  };
  const re = /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])/g;
  let out = "";
  let last = 0;
  let usedMapping = false;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, key, flags, w, p, type] = m;
    if (type === "%") {
      out += "%";
      continue;
    }
    const width = w === "*" ? num(take()) : w ? Number(w) : undefined;
    const precision = p === "*" ? num(take()) : p ? Number(p) : undefined;
    let value: unknown;
    if (key !== undefined) {
      if (!mapping) throw new PyError("TypeError", "format requires a mapping");
      const hit = dictGet(mapping, key);
      if (!hit.found) throw new PyError("KeyError", pyRepr(key));
      value = hit.value;
      usedMapping = true;
    } else value = mapping && list.length === 1 && list[0] === mapping ? take() : take();
    out += convert(defined(value), type, flags, width, precision);
  }
  out += format.slice(last);
  if (!usedMapping && !mapping && next < list.length) {
    throw new PyError("TypeError", "not all arguments converted during string formatting");
  }
  return out;
}

function convert(
  value: unknown,
  type: string,
  flags: string,
  width: number | undefined,
  precision: number | undefined,
): string {
  let body: string;
  let numeric = false;
  let negative = false;
  switch (type) {
    case "s":
      body = pyStr(value);
      if (precision !== undefined) body = Array.from(body).slice(0, precision).join("");
      break;
    case "r":
    case "a":
      body = pyRepr(value);
      if (precision !== undefined) body = Array.from(body).slice(0, precision).join("");
      break;
    case "c":
      body = typeof value === "string" ? value : String.fromCodePoint(num(value));
      break;
    default: {
      if (!isNumber(value)) {
        throw new PyError(
          "TypeError",
          `%${type} format: a real number is required, not ${typeName(value)}`,
        );
      }
      numeric = true;
      const x = num(value);
      negative = x < 0 || Object.is(x, -0);
      body = formatNumber(
        Math.abs(x),
        type === "i" || type === "u" ? "d" : type,
        precision,
        flags.includes("#"),
        isInt(value) || typeof value === "boolean",
      );
    }
  }
  if (numeric) {
    const sign = negative ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
    if (flags.includes("0") && !flags.includes("-") && width !== undefined) {
      body = body.padStart(width - sign.length, "0");
    }
    body = sign + body;
  }
  if (width !== undefined && Array.from(body).length < width) {
    const fill = " ".repeat(width - Array.from(body).length);
    body = flags.includes("-") ? body + fill : fill + body;
  }
  return body;
}

/** A non-negative number in a printf/format type, without sign. */
function formatNumber(
  x: number,
  type: string,
  precision: number | undefined,
  alternate: boolean,
  isInteger: boolean,
): string {
  switch (type) {
    case "d":
    case "n":
      return String(Math.trunc(x));
    case "b":
      return (alternate ? "0b" : "") + Math.trunc(x).toString(2);
    case "o":
      return (alternate ? "0o" : "") + Math.trunc(x).toString(8);
    case "x":
      return (alternate ? "0x" : "") + Math.trunc(x).toString(16);
    case "X":
      return (alternate ? "0X" : "") + Math.trunc(x).toString(16).toUpperCase();
    case "e":
    case "E": {
      const s = expo(x, precision ?? 6);
      return type === "E" ? s.toUpperCase() : s;
    }
    case "f":
    case "F":
      return fixed(x, precision ?? 6);
    case "g":
    case "G": {
      const s = general(x, precision ?? 6, alternate);
      return type === "G" ? s.toUpperCase() : s;
    }
    case "%":
      return fixed(x * 100, precision ?? 6) + "%";
    default:
      return isInteger ? String(x) : reprFloat(x);
  }
}

/**
 * The exact decimal value of a finite non-negative double: its digits and the position of the
 * decimal point (value = 0.digits × 10^point). Python formats from this exact value, rounding
 * half to even; JavaScript's `toFixed` rounds differently (2.25 → "2.3"; Python: "2.2").
 */
function exactDigits(x: number): { digits: string; point: number } {
  if (x === 0) return { digits: "0", point: 1 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const rawExp = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (rawExp === 0) exp = -1074;
  else {
    mantissa |= 1n << 52n;
    exp = rawExp - 1075;
  }
  if (exp >= 0) {
    const digits = (mantissa << BigInt(exp)).toString();
    return { digits, point: digits.length };
  }
  const digits = (mantissa * 5n ** BigInt(-exp)).toString();
  return { digits, point: digits.length + exp };
}

/** Round exact digits to `keep` significant digits, half to even; returns digits and point. */
function roundDigits(
  digits: string,
  point: number,
  keep: number,
): { digits: string; point: number } {
  if (keep < 0) return { digits: "0", point: point };
  if (digits.length <= keep) return { digits: digits.padEnd(keep, "0"), point };
  const head = digits.slice(0, keep);
  const rest = digits.slice(keep);
  const half = rest[0] > "5" || (rest[0] === "5" && /[1-9]/.test(rest.slice(1)));
  const tie = rest[0] === "5" && !/[1-9]/.test(rest.slice(1));
  const lastOdd = keep > 0 && Number(head.at(-1)) % 2 === 1;
  if (half || (tie && lastOdd)) {
    const up = (BigInt(head || "0") + 1n).toString();
    if (keep === 0) return { digits: "1", point: point + 1 };
    if (up.length > keep) return { digits: up.slice(0, keep), point: point + 1 };
    return { digits: up.padStart(keep, "0"), point };
  }
  return { digits: keep === 0 ? "" : head, point };
}

/** Python's `format(x, ".{p}f")` for finite non-negative x. */
function fixed(x: number, p: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : "inf";
  const exact = exactDigits(x);
  const r = roundDigits(exact.digits, exact.point, exact.point + p);
  let digits = r.digits;
  let point = r.point;
  if (point <= 0) {
    digits = "0".repeat(1 - point) + digits;
    point = 1;
  }
  digits = digits.padEnd(point + p, "0");
  const int = digits.slice(0, point) || "0";
  return p > 0 ? `${int}.${digits.slice(point, point + p)}` : int;
}

/** Python's `format(x, ".{p}e")` for finite non-negative x. */
function expo(x: number, p: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : "inf";
  let mantissa: string;
  let e: number;
  if (x === 0) {
    mantissa = "0".repeat(p + 1);
    e = 0;
  } else {
    const exact = exactDigits(x);
    const lead = exact.digits.search(/[1-9]/);
    const r = roundDigits(exact.digits.slice(lead), exact.point - lead, p + 1);
    mantissa = r.digits;
    e = r.point - 1;
  }
  const m = p > 0 ? `${mantissa[0]}.${mantissa.slice(1)}` : mantissa[0];
  return `${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

/** Python's `round(x, n)` for a float: the exact value rounded half to even. */
export function pyRoundFloat(x: number, n: number): number {
  if (!Number.isFinite(x)) return x;
  const negative = x < 0;
  const text = fixed(Math.abs(x), Math.max(0, n));
  let value = Number(text);
  if (n < 0) {
    const f = 10 ** -n;
    value = Number(fixed(Math.abs(x) / f, 0)) * f;
  }
  return negative ? -value : value;
}

/** `%g`: fixed or exponent by the exponent, trailing zeros dropped (unless `#`). */
function general(x: number, p: number, alternate: boolean): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : "inf";
  const prec = p === 0 ? 1 : p;
  if (x === 0) return alternate ? "0." + "0".repeat(prec - 1) : "0";
  const exp = Number(expo(x, prec - 1).split("e")[1]);
  let s = exp < -4 || exp >= prec ? expo(x, prec - 1) : fixed(x, Math.max(0, prec - 1 - exp));
  if (!alternate) {
    s = s.replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
  }
  return s;
}

/** `'{}'.format(*args, **kwargs)`, as Python's `str.format`. */
export function formatMethod(
  format: string,
  args: unknown[],
  kwargs: Map<string, unknown>,
): string {
  let out = "";
  let auto = 0;
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c === "{" && format[i + 1] === "{") {
      out += "{";
      i += 2;
      continue;
    }
    if (c === "}" && format[i + 1] === "}") {
      out += "}";
      i += 2;
      continue;
    }
    if (c === "}") throw new PyError("ValueError", "Single '}' encountered in format string");
    if (c !== "{") {
      out += c;
      i++;
      continue;
    }
    let depth = 1, j = i + 1;
    while (j < format.length && depth) {
      if (format[j] === "{") depth++;
      else if (format[j] === "}") depth--;
      if (depth) j++;
    }
    if (depth) throw new PyError("ValueError", "Single '{' encountered in format string");
    const field = format.slice(i + 1, j);
    i = j + 1;
    const m = /^([^!:[.]*)((?:\.[^!:[.]+|\[[^\]]*\])*)(?:!([rsa]))?(?::(.*))?$/s.exec(field);
    if (!m) throw new PyError("ValueError", `bad format field {${field}}`);
    const [, name, path, conversion, rawSpec] = m;
    let value: unknown;
    if (name === "") {
      if (auto >= args.length) {
        throw new PyError(
          "IndexError",
          `Replacement index ${auto} out of range for positional args tuple`,
        );
      }
      value = args[auto++];
    } else if (/^\d+$/.test(name)) {
      const k = Number(name);
      if (k >= args.length) {
        throw new PyError(
          "IndexError",
          `Replacement index ${k} out of range for positional args tuple`,
        );
      }
      value = args[k];
    } else {
      if (!kwargs.has(name)) throw new PyError("KeyError", pyRepr(name));
      value = kwargs.get(name);
    }
    for (const part of path.match(/\.[^.[]+|\[[^\]]*\]/g) ?? []) {
      value = part.startsWith(".") ? getAttr(value, part.slice(1)) : getItem(
        value,
        /^\d+$/.test(part.slice(1, -1)) ? Number(part.slice(1, -1)) : part.slice(1, -1),
      );
    }
    value = defined(value);
    if (conversion === "r" || conversion === "a") value = pyRepr(value);
    else if (conversion === "s") value = pyStr(value);
    const spec = rawSpec === undefined ? "" : formatMethod(rawSpec, args, kwargs);
    out += formatSpec(value, spec);
  }
  return out;
}

/** Python's `format(value, spec)` for strings and numbers. */
export function formatSpec(value: unknown, spec: string): string {
  const m = /^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s
    .exec(spec);
  if (!m) throw new PyError("ValueError", `Invalid format specifier '${spec}'`);
  let [, fill, align] = m;
  const [, , , sign, , alternate, zero, w, grouping, p, rawType] = m;
  const width = w ? Number(w) : 0;
  const precision = p === undefined ? undefined : Number(p);
  if (typeof value === "string" || !isNumber(value)) {
    let s = pyStr(value);
    if (rawType && rawType !== "s") {
      throw new PyError(
        "ValueError",
        `Unknown format code '${rawType}' for object of type '${typeName(value)}'`,
      );
    }
    if (precision !== undefined) s = Array.from(s).slice(0, precision).join("");
    return align_(s, width, fill ?? " ", align ?? "<");
  }
  const x = num(value);
  const integer = !isFloat(value);
  const type = rawType ?? (integer ? "d" : "");
  if (integer && "eEfFgG%".includes(type) === false && precision !== undefined && type !== "") {
    throw new PyError("ValueError", "Precision not allowed in integer format specifier");
  }
  let body: string;
  if (type === "" && !integer) {
    body = precision === undefined
      ? reprFloat(Math.abs(x))
      : general(Math.abs(x), precision, false);
    if (precision !== undefined && !/[.e]|inf|nan/.test(body)) body += "";
  } else if (type === "c") body = String.fromCodePoint(x);
  else {body = formatNumber(
      Math.abs(x),
      type === "n" ? "d" : type,
      precision,
      alternate === "#",
      integer,
    );}
  if (grouping) {
    const [intPart, ...rest] = body.split(".");
    const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, grouping);
    body = [grouped, ...rest].join(".");
  }
  const signText = x < 0 || Object.is(x, -0) ? "-" : sign === "+" ? "+" : sign === " " ? " " : "";
  if (zero && !align) {
    fill = "0";
    align = "=";
  }
  if ((align ?? ">") === "=") {
    const padded = body.padStart(Math.max(0, width - signText.length), fill ?? " ");
    return signText + padded;
  }
  return align_(signText + body, width, fill ?? " ", align ?? ">");
}

function align_(s: string, width: number, fill: string, align: string): string {
  const n = Array.from(s).length;
  if (n >= width) return s;
  const total = width - n;
  if (align === "<") return s + fill.repeat(total);
  if (align === ">") return fill.repeat(total) + s;
  const left = Math.floor(total / 2);
  return fill.repeat(left) + s + fill.repeat(total - left);
}

setPercentFormat(percentFormat);
setFormatMethod(formatMethod);
