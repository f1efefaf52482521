/**
 * Jinja prompt templates for task files, rendered as lm-evaluation-harness renders them: Python's
 * Jinja2 configured as `Environment(undefined=StrictUndefined, keep_trailing_newline=True)` with
 * the `regex_replace` filter. tunebook's own Jinja engine (`_jinja_lexer.ts`, `_jinja_parser.ts`,
 * `_jinja_runtime.ts`, `_jinja_filters.ts`, `_py_value.ts`, `_py_methods.ts`) follows Jinja2's
 * grammar and Python's value semantics: `{{ [a, b] }}` prints `['a', 'b']`, `{{ none }}` prints
 * `None`, strings and lists have Python's methods (`choices.label.index(answerKey)`,
 * `x.strip('.')`), whitespace control (`{%-`, `-%}`) strips as Jinja2 does, and a missing column is
 * an error.
 *
 * Known differences from Python Jinja2 (data/tasks/README.md lists them for users):
 * - a whole number read from data prints as an int (`3`, where Python prints a float `3.0`);
 * - integers beyond 2^53 lose precision; a `regex_replace` pattern JavaScript cannot express
 *   (`\W`/`\S` inside a class, conditionals, atomic groups: lib/util/py_regex.ts) is refused;
 * - filters that return generators in Jinja2 (`map`, `select`, `reverse`, …) return lists, so
 *   printing one directly shows the list rather than `<generator object …>`;
 * - the filters `filesizeformat`, `groupby`, `urlize`, `wordwrap`, `xmlattr`, `random` and the
 *   tags `include`, `import`, `extends`, `call` are not supported (they fail when compiled).
 * @module
 */
import { TemplateSyntaxError } from "./_jinja_lexer.ts";
import { type Expr, parseTemplate, type Stmt, type Target } from "./_jinja_parser.ts";
import { FILTERS, TESTS, UNSUPPORTED_FILTERS } from "./_jinja_filters.ts";
import { render } from "./_jinja_runtime.ts";
import { PyError, UndefinedError } from "./_py_value.ts";

export { TemplateSyntaxError };

/** Names that the template environment defines itself; never looked up in the row. */
const TEMPLATE_GLOBALS = new Set([
  "range",
  "dict",
  "namespace",
  "cycler",
  "joiner",
  "lipsum",
  "loop",
  "varargs",
  "kwargs",
  "caller",
]);

/** A template parsed once and reused for every row. */
export interface CompiledTemplate {
  /** The template text as written in the task file. */
  source: string;
  /** The parsed program. */
  program: Stmt[];
  /** Free variables the template reads from the row, in order of first use. */
  fields: string[];
}

/** A row lacks a column that a template reads. */
export class MissingFieldError extends Error {
  /** The missing column. */
  field: string;
  /** Create the error for `field`. */
  constructor(field: string, message: string) {
    super(message);
    this.name = "MissingFieldError";
    this.field = field;
  }
}

/**
 * Parse a Jinja template once. Throws with the parser's message when the template is malformed,
 * or names a filter or test that does not exist (Jinja2 checks these when it compiles too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileTemplate } from "./_template.ts";
 * const t = compileTemplate("Question: {{question}}\nAnswer:");
 * assert.deepEqual(t.fields, ["question"]);
 * ```
 */
export function compileTemplate(source: string): CompiledTemplate {
  const program = parseTemplate(source);
  checkNames(program, source);
  return { source, program, fields: freeVariables(program) };
}

/** Templates compiled so far, by source text: each distinct template is parsed once per process. */
const compiledCache = new Map<string, CompiledTemplate>();

/**
 * {@linkcode compileTemplate}, memoized by the template's text (task files repeat templates across
 * rows and across `include:` variants).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compiledTemplate } from "./_template.ts";
 * assert.equal(compiledTemplate("{{a}}"), compiledTemplate("{{a}}"));
 * ```
 */
export function compiledTemplate(source: string): CompiledTemplate {
  let t = compiledCache.get(source);
  if (!t) {
    t = compileTemplate(source);
    compiledCache.set(source, t);
  }
  return t;
}

/**
 * Render a compiled template against one row, as Python's Jinja2 would. Throws
 * {@linkcode MissingFieldError} when the template uses a column the row lacks (Jinja2's
 * StrictUndefined), and an error naming Python's exception (`TypeError: …`) for anything else
 * that Jinja2 would raise on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileTemplate, renderTemplate } from "./_template.ts";
 * const t = compileTemplate("{{choices.label.index(answerKey)}} {{[q.strip()]}}");
 * assert.equal(
 *   renderTemplate(t, { choices: { label: ["A", "B"] }, answerKey: "B", q: " Why? " }),
 *   "1 ['Why?']",
 * );
 * ```
 */
export function renderTemplate(template: CompiledTemplate, doc: Record<string, unknown>): string {
  try {
    return render(template.program, doc);
  } catch (e) {
    if (e instanceof UndefinedError && e.undefinedValue.isName) {
      const field = e.undefinedValue.name;
      throw new MissingFieldError(field, `the template reads "${field}", which this row lacks`);
    }
    if (e instanceof UndefinedError) throw new Error(`UndefinedError: ${e.message}`);
    if (e instanceof PyError) throw e;
    if (e instanceof RangeError) throw new Error(`the template recursed too deeply (${e.message})`);
    throw e;
  }
}

/** Unknown filters and tests are compile errors, as in Jinja2. */
function checkNames(program: Stmt[], source: string): void {
  walk(program, (e) => {
    if (e.k === "filter") {
      if (Object.hasOwn(UNSUPPORTED_FILTERS, e.name)) {
        throw new TemplateSyntaxError(
          `the Jinja2 filter "${e.name}" is not supported: ${UNSUPPORTED_FILTERS[e.name]}`,
          source,
          e.pos,
        );
      }
      if (!Object.hasOwn(FILTERS, e.name)) {
        throw new TemplateSyntaxError(`no filter named "${e.name}"`, source, e.pos);
      }
    } else if (e.k === "test" && !Object.hasOwn(TESTS, e.name)) {
      throw new TemplateSyntaxError(`no test named "${e.name}"`, source, e.pos);
    }
  });
}

/** Visit every expression of the program. */
function walk(stmts: Stmt[], visit: (e: Expr) => void): void {
  const expr = (e: Expr | undefined | null): void => {
    if (!e) return;
    visit(e);
    switch (e.k) {
      case "list":
      case "tuple":
        e.items.forEach(expr);
        break;
      case "dict":
        e.items.forEach(([k, v]) => (expr(k), expr(v)));
        break;
      case "getattr":
        expr(e.obj);
        break;
      case "getitem":
        expr(e.obj);
        expr(e.arg);
        break;
      case "slice":
        expr(e.start);
        expr(e.stop);
        expr(e.step);
        break;
      case "call":
      case "filter":
      case "test":
        if (e.k === "call") expr(e.fn);
        else expr(e.node);
        e.args.forEach(expr);
        e.kwargs.forEach(([, v]) => expr(v));
        expr(e.starArgs);
        expr(e.starKwargs);
        break;
      case "not":
      case "neg":
      case "pos":
        expr(e.node);
        break;
      case "bin":
      case "and":
      case "or":
        expr(e.left);
        expr(e.right);
        break;
      case "concat":
        e.nodes.forEach(expr);
        break;
      case "compare":
        expr(e.first);
        e.ops.forEach(([, x]) => expr(x));
        break;
      case "cond":
        expr(e.test);
        expr(e.then);
        expr(e.otherwise);
        break;
    }
  };
  const stmt = (s: Stmt): void => {
    switch (s.k) {
      case "output":
        expr(s.expr);
        break;
      case "for":
        expr(s.iter);
        expr(s.test);
        s.body.forEach(stmt);
        s.otherwise.forEach(stmt);
        break;
      case "if":
        expr(s.test);
        s.body.forEach(stmt);
        s.otherwise.forEach(stmt);
        break;
      case "set":
        expr(s.value);
        break;
      case "setblock":
      case "filterblock":
        s.filters.forEach(expr);
        s.body.forEach(stmt);
        break;
      case "macro":
        s.defaults.forEach(expr);
        s.body.forEach(stmt);
        break;
      case "with":
        s.values.forEach(expr);
        s.body.forEach(stmt);
        break;
      case "block":
        s.body.forEach(stmt);
        break;
    }
  };
  stmts.forEach(stmt);
}

/**
 * The variables a template reads from its row: names used, minus those it binds itself (loop
 * targets, `set`, `with`, macro names and parameters), the globals, and names only used under an
 * `is defined` / `is undefined` test or a `default` filter.
 */
function freeVariables(program: Stmt[]): string[] {
  const bound = new Set<string>();
  const guarded = new Set<string>();
  const bind = (t: Target) => {
    if (t.k === "name") bound.add(t.name);
    else if (t.k === "tuple") t.items.forEach(bind);
  };
  const collect = (stmts: Stmt[]) => {
    for (const s of stmts) {
      if (s.k === "for") bind(s.target);
      if (s.k === "set" || s.k === "setblock") bind(s.target);
      if (s.k === "with") s.targets.forEach(bind);
      if (s.k === "macro") {
        bound.add(s.name);
        s.params.forEach((p) => bound.add(p));
      }
      if (s.k === "for" || s.k === "if") {
        collect(s.body);
        collect(s.otherwise);
      } else if ("body" in s) collect(s.body);
    }
  };
  collect(program);
  const used: string[] = [];
  walk(program, (e) => {
    if (e.k === "name") used.push(e.name);
    if (
      (e.k === "test" && ["defined", "undefined"].includes(e.name) && e.node.k === "name") ||
      (e.k === "filter" && ["default", "d"].includes(e.name) && e.node?.k === "name")
    ) {
      guarded.add((e.node as { name: string }).name);
    }
  });
  const guardedOnly = new Set(
    [...guarded].filter((g) => used.filter((u) => u === g).length === 1),
  );
  const seen = new Set<string>();
  return used.filter((name) => {
    if (seen.has(name) || bound.has(name) || guardedOnly.has(name)) return false;
    if (TEMPLATE_GLOBALS.has(name)) return false;
    seen.add(name);
    return true;
  });
}
