/**
 * The interpreter of tunebook's Jinja engine (private to the task module): runs a parsed template
 * against a row as Python's Jinja2 does in lm-eval's environment (`StrictUndefined`,
 * `keep_trailing_newline=True`, the `regex_replace` filter): values behave as Python values
 * (`_py_value.ts`), `{{ }}` prints `str(value)`, undefined values raise when used, `for` loops have
 * Jinja2's `loop` object and scoping (a `set` inside a loop does not leak out), macros and
 * `namespace()` work, and `range`, `dict`, `namespace`, `cycler`, `joiner`, `lipsum` are the
 * globals (Python builtins such as `len` are not, as in Jinja2).
 * @module
 */
import type { CallArgs, Expr, Stmt, Target } from "./_jinja_parser.ts";
import { FILTERS, makeDict, makeNamespace, TESTS } from "./_jinja_filters.ts";
import "./_py_format.ts";
import { getAttr, getItem, pySlice } from "./_py_methods.ts";
import {
  defined,
  dictEntries,
  isDict,
  iterate,
  Namespace,
  num,
  pyBinary,
  PyCallable,
  pyCompare,
  pyEq,
  PyError,
  PyFloat,
  pyIn,
  PyRange,
  pyStr,
  PyTuple,
  pyUnary,
  truthy,
  Undefined,
} from "./_py_value.ts";

/** A variable scope; lookups walk to the parent. */
class Scope {
  #vars = new Map<string, unknown>();
  readonly parent?: Scope;
  constructor(parent?: Scope) {
    this.parent = parent;
  }
  has(name: string): boolean {
    return this.#vars.has(name) || (this.parent?.has(name) ?? false);
  }
  get(name: string): unknown {
    if (this.#vars.has(name)) return this.#vars.get(name);
    return this.parent ? this.parent.get(name) : undefined;
  }
  set(name: string, value: unknown): void {
    this.#vars.set(name, value);
  }
}

/** Jinja2's globals. */
function globals(): Map<string, unknown> {
  const g = new Map<string, unknown>();
  g.set(
    "range",
    new PyCallable("range", (a) => {
      const [start, stop, step] = a.length === 1 ? [0, num(a[0]), 1] : [
        num(a[0]),
        num(a[1]),
        a.length > 2 ? num(a[2]) : 1,
      ];
      return new PyRange(start, stop, step);
    }),
  );
  g.set("dict", new PyCallable("dict", (a, k) => makeDict(a, k)));
  g.set("namespace", new PyCallable("namespace", (a, k) => makeNamespace(a, k)));
  g.set(
    "cycler",
    new PyCallable("cycler", (items) => {
      let i = 0;
      const attrs = new Map<string, unknown>();
      attrs.set(
        "next",
        new PyCallable("cycler.next", () => {
          const v = items[i % items.length];
          i++;
          attrs.set("current", items[i % items.length]);
          return v;
        }),
      );
      attrs.set("current", items[0]);
      attrs.set("reset", new PyCallable("cycler.reset", () => (i = 0, null)));
      return new Namespace(attrs);
    }),
  );
  g.set(
    "joiner",
    new PyCallable("joiner", (a) => {
      const sep = a.length ? pyStr(a[0]) : ", ";
      let used = false;
      return new PyCallable("joiner", () => {
        if (!used) {
          used = true;
          return "";
        }
        return sep;
      });
    }),
  );
  g.set(
    "lipsum",
    new PyCallable("lipsum", () => {
      throw new PyError("TypeError", "lipsum() makes random text; it is not supported");
    }),
  );
  return g;
}

/** The `loop` variable of a for loop. */
function loopObject(items: unknown[], index: number, depth: number): Namespace {
  const attrs = new Map<string, unknown>([
    ["index", index + 1],
    ["index0", index],
    ["revindex", items.length - index],
    ["revindex0", items.length - index - 1],
    ["first", index === 0],
    ["last", index === items.length - 1],
    ["length", items.length],
    ["depth", depth],
    ["depth0", depth - 1],
    [
      "previtem",
      index > 0 ? items[index - 1] : new Undefined("previtem", "there is no previous item", false),
    ],
    [
      "nextitem",
      index < items.length - 1
        ? items[index + 1]
        : new Undefined("nextitem", "there is no next item", false),
    ],
    [
      "cycle",
      new PyCallable("loop.cycle", (a) => {
        if (!a.length) throw new PyError("TypeError", "no items for cycling given");
        return a[index % a.length];
      }),
    ],
  ]);
  return new Namespace(attrs);
}

/**
 * Render parsed statements with `context` (a row's columns). A missing top-level name raises
 * {@linkcode import("./_py_value.ts").UndefinedError} when it is used.
 */
export function render(stmts: Stmt[], context: Record<string, unknown>): string {
  const root = new Scope();
  for (const [k, v] of globals()) root.set(k, v);
  const rowScope = new Scope(root);
  for (const [k, v] of Object.entries(context)) rowScope.set(k, v);
  return new Interpreter().run(stmts, new Scope(rowScope));
}

class Interpreter {
  #depth = 0;

  run(stmts: Stmt[], scope: Scope): string {
    let out = "";
    for (const s of stmts) out += this.exec(s, scope);
    return out;
  }

  exec(s: Stmt, scope: Scope): string {
    switch (s.k) {
      case "data":
        return s.text;
      case "output":
        return pyStr(this.eval(s.expr, scope));
      case "if":
        return truthy(this.eval(s.test, scope))
          ? this.run(s.body, scope)
          : this.run(s.otherwise, scope);
      case "for":
        return this.execFor(s, scope);
      case "set":
        this.assign(s.target, this.eval(s.value, scope), scope);
        return "";
      case "setblock": {
        let value: unknown = this.run(s.body, new Scope(scope));
        for (const f of s.filters) value = this.applyFilter(f, value, scope);
        this.assign(s.target, value, scope);
        return "";
      }
      case "macro":
        scope.set(s.name, this.makeMacro(s, scope));
        return "";
      case "filterblock": {
        let value: unknown = this.run(s.body, new Scope(scope));
        for (const f of s.filters) value = this.applyFilter(f, value, scope);
        return pyStr(value);
      }
      case "with": {
        const inner = new Scope(scope);
        s.targets.forEach((t, i) => this.assign(t, this.eval(s.values[i], scope), inner));
        return this.run(s.body, inner);
      }
      case "block":
        return this.run(s.body, new Scope(scope));
    }
  }

  execFor(s: Extract<Stmt, { k: "for" }>, scope: Scope): string {
    let items = iterate(this.eval(s.iter, scope));
    if (s.test) {
      items = items.filter((item) => {
        const probe = new Scope(scope);
        this.assign(s.target, item, probe);
        return truthy(this.eval(s.test!, probe));
      });
    }
    if (!items.length) return this.run(s.otherwise, scope);
    this.#depth++;
    let out = "";
    try {
      items.forEach((item, i) => {
        const inner = new Scope(scope);
        inner.set("loop", loopObject(items, i, this.#depth));
        this.assign(s.target, item, inner);
        out += this.run(s.body, inner);
      });
    } finally {
      this.#depth--;
    }
    return out;
  }

  assign(target: Target, value: unknown, scope: Scope): void {
    if (target.k === "name") scope.set(target.name, value);
    else if (target.k === "nsattr") {
      const ns = scope.get(target.name);
      if (!(ns instanceof Namespace)) {
        throw new PyError(
          "TemplateRuntimeError",
          "cannot assign attribute on non-namespace object",
        );
      }
      ns.attrs.set(target.attr, value);
    } else {
      const items = iterate(value);
      if (items.length !== target.items.length) {
        throw new PyError(
          "ValueError",
          items.length < target.items.length
            ? `not enough values to unpack (expected ${target.items.length}, got ${items.length})`
            : `too many values to unpack (expected ${target.items.length})`,
        );
      }
      target.items.forEach((t, i) => this.assign(t, items[i], scope));
    }
  }

  makeMacro(s: Extract<Stmt, { k: "macro" }>, scope: Scope): PyCallable {
    return new PyCallable(s.name, (args, kwargs) => {
      const inner = new Scope(scope);
      const firstDefault = s.params.length - s.defaults.length;
      s.params.forEach((p, i) => {
        if (i < args.length) inner.set(p, args[i]);
        else if (kwargs.has(p)) inner.set(p, kwargs.get(p));
        else if (i >= firstDefault) inner.set(p, this.eval(s.defaults[i - firstDefault], scope));
        else inner.set(p, new Undefined(p, `'${p}' is undefined`, false));
      });
      inner.set("varargs", args.slice(s.params.length));
      inner.set("kwargs", new Map([...kwargs].filter(([k]) => !s.params.includes(k))));
      return this.run(s.body, inner);
    });
  }

  evalArgs(call: CallArgs, scope: Scope): [unknown[], Map<string, unknown>] {
    const args = call.args.map((a) => this.eval(a, scope));
    if (call.starArgs) args.push(...iterate(this.eval(call.starArgs, scope)));
    const kwargs = new Map<string, unknown>();
    for (const [k, v] of call.kwargs) kwargs.set(k, this.eval(v, scope));
    if (call.starKwargs) {
      const d = defined(this.eval(call.starKwargs, scope));
      if (!isDict(d)) throw new PyError("TypeError", "argument after ** must be a mapping");
      for (const [k, v] of dictEntries(d)) kwargs.set(pyStr(k), v);
    }
    return [args, kwargs];
  }

  applyFilter(f: Expr, value: unknown, scope: Scope): unknown {
    if (f.k !== "filter") throw new PyError("TypeError", "expected a filter");
    const [args, kwargs] = this.evalArgs(f, scope);
    return this.filter(f.name, value, args, kwargs);
  }

  filter(name: string, value: unknown, args: unknown[], kwargs: Map<string, unknown>): unknown {
    const fn = FILTERS[name];
    if (!fn) throw new PyError("TemplateAssertionError", `No filter named '${name}'.`);
    if (name !== "default" && name !== "d") defined(value);
    return fn(value, args, kwargs, {
      filter: (n, v, a, k) => this.filter(n, v, a, k),
      test: (n, v, a, k) => this.test(n, v, a, k),
    });
  }

  test(name: string, value: unknown, args: unknown[], kwargs: Map<string, unknown>): boolean {
    const fn = TESTS[name];
    if (!fn) throw new PyError("TemplateAssertionError", `No test named '${name}'.`);
    if (name !== "defined" && name !== "undefined" && name !== "none") defined(value);
    return fn(value, args, kwargs);
  }

  eval(e: Expr, scope: Scope): unknown {
    switch (e.k) {
      case "const":
        if (e.value !== null && typeof e.value === "object" && "pyFloat" in e.value) {
          return new PyFloat((e.value as { pyFloat: number }).pyFloat);
        }
        return e.value;
      case "name":
        if (scope.has(e.name)) return scope.get(e.name);
        return new Undefined(e.name, `'${e.name}' is undefined`, true);
      case "list":
        return e.items.map((i) => defined(this.eval(i, scope)));
      case "tuple":
        return new PyTuple(e.items.map((i) => defined(this.eval(i, scope))));
      case "dict": {
        const m = new Map<unknown, unknown>();
        for (const [k, v] of e.items) {
          const key = defined(this.eval(k, scope));
          let replaced = false;
          for (const existing of m.keys()) {
            if (pyEq(existing, key)) {
              m.set(existing, defined(this.eval(v, scope)));
              replaced = true;
            }
          }
          if (!replaced) m.set(key, defined(this.eval(v, scope)));
        }
        return m;
      }
      case "getattr":
        return getAttr(this.eval(e.obj, scope), e.attr);
      case "getitem": {
        const obj = this.eval(e.obj, scope);
        if (e.arg.k === "slice") {
          const part = (x?: Expr) => (x ? defined(this.eval(x, scope)) : null);
          return pySlice(obj, part(e.arg.start), part(e.arg.stop), part(e.arg.step));
        }
        return getItem(obj, this.eval(e.arg, scope));
      }
      case "slice":
        throw new PyError("TypeError", "a slice outside brackets");
      case "call": {
        const fn = defined(this.eval(e.fn, scope));
        const [args, kwargs] = this.evalArgs(e, scope);
        if (!(fn instanceof PyCallable)) {
          throw new PyError(
            "TypeError",
            `'${typeof fn === "string" ? "str" : "object"}' object is not callable`,
          );
        }
        return fn.call(args, kwargs);
      }
      case "filter": {
        const value = this.eval(e.node!, scope);
        const [args, kwargs] = this.evalArgs(e, scope);
        return this.filter(e.name, value, args, kwargs);
      }
      case "test": {
        const value = this.eval(e.node, scope);
        const [args, kwargs] = this.evalArgs(e, scope);
        return this.test(e.name, value, args, kwargs);
      }
      case "not":
        return !truthy(this.eval(e.node, scope));
      case "neg":
      case "pos":
        return pyUnary(e.k, this.eval(e.node, scope));
      case "bin":
        return pyBinary(e.op, this.eval(e.left, scope), this.eval(e.right, scope));
      case "concat":
        return e.nodes.map((n) => pyStr(this.eval(n, scope))).join("");
      case "and": {
        const left = this.eval(e.left, scope);
        return truthy(left) ? this.eval(e.right, scope) : left;
      }
      case "or": {
        const left = this.eval(e.left, scope);
        return truthy(left) ? left : this.eval(e.right, scope);
      }
      case "compare": {
        let left = this.eval(e.first, scope);
        for (const [op, expr] of e.ops) {
          const right = this.eval(expr, scope);
          let ok: boolean;
          if (op === "==") ok = pyEq(left, right);
          else if (op === "!=") ok = !pyEq(left, right);
          else if (op === "in") ok = pyIn(left, right);
          else if (op === "notin") ok = !pyIn(left, right);
          else ok = pyCompare(op, left, right);
          if (!ok) return false;
          left = right;
        }
        return true;
      }
      case "cond":
        if (truthy(this.eval(e.test, scope))) return this.eval(e.then, scope);
        // Jinja2 renders a false `x if c` without `else` as an empty string
        return e.otherwise ? this.eval(e.otherwise, scope) : "";
    }
  }
}
