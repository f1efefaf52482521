/**
 * Jinja prompt templates for task files, rendered the way lm-evaluation-harness renders them.
 *
 * lm-eval renders `doc_to_text`, `doc_to_target` and `doc_to_choice` with Python Jinja2 configured
 * as `Environment(undefined=StrictUndefined, keep_trailing_newline=True)` (no `trim_blocks`, no
 * `lstrip_blocks`). This module drives `@huggingface/jinja`'s tokenizer, parser and interpreter
 * directly with the same settings (its `Template` class turns `trim_blocks` and `lstrip_blocks`
 * on and drops a trailing newline, which would change prompts), and adds StrictUndefined's
 * behaviour by checking, before rendering, that every free variable of the template is a
 * column of the row.
 *
 * Known differences from Python Jinja2 (see data/tasks/README.md):
 * - no custom filters (lm-eval's `regex_replace` filter is unavailable; `| truncate`, `| wordcount`
 *   and other filters outside @huggingface/jinja's built-in set fail with "Unknown … filter");
 * - no list methods such as `.index()` or `.count()` (use a dict literal: `{'a': 0, 'b': 1}[x]`);
 * - lists render as JSON (`["a", "b"]`) rather than Python reprs (`['a', 'b']`), booleans as
 *   `true`/`false`, `none` as an empty string;
 * - `.strip()`, `.lstrip()`, `.rstrip()` take no argument (they strip whitespace only).
 * @module
 */
import { Environment, Interpreter, parse, tokenize } from "@huggingface/jinja";

/** The parsed template program, as `@huggingface/jinja`'s parser returns it. */
type Program = ReturnType<typeof parse>;

/** Names that the template environment defines itself; never looked up in the row. */
const TEMPLATE_GLOBALS: Readonly<Record<string, unknown>> = {
  true: true,
  false: false,
  none: null,
  True: true,
  False: false,
  None: null,
  range: pythonRange,
};

/** Jinja tests that make a reference to a missing variable legal (`x is defined`). */
const GUARD_TESTS = new Set(["defined", "undefined", "none"]);

/** A template parsed once and reused for every row. */
export interface CompiledTemplate {
  /** The template text as written in the task file. */
  source: string;
  /** The parsed program. */
  program: Program;
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
 * Parse a Jinja template once. Throws with the parser's message when the template is malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileTemplate } from "./_template.ts";
 * const t = compileTemplate("Question: {{question}}\nAnswer:");
 * assert.deepEqual(t.fields, ["question"]);
 * assert.throws(() => compileTemplate("{{ question"));
 * ```
 */
export function compileTemplate(source: string): CompiledTemplate {
  // The tokenizer drops one trailing newline (Jinja2's default); lm-eval keeps it
  // (keep_trailing_newline=True), so give it one extra to drop.
  const text = source.endsWith("\n") ? source + "\n" : source;
  const program = parse(tokenize(text, { lstrip_blocks: false, trim_blocks: false }));
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
 * assert.equal(compiledTemplate("{{a}}"), compiledTemplate("{{a}}")); // the same object
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
 * Render a compiled template against one row. Throws {@linkcode MissingFieldError} when the row
 * lacks a column the template reads (Jinja2's StrictUndefined).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileTemplate, MissingFieldError, renderTemplate } from "./_template.ts";
 * const t = compileTemplate("{{support.lstrip()}}\nQuestion: {{question}}\nAnswer:");
 * const text = renderTemplate(t, { support: " Heat rises.", question: "What rises?" });
 * assert.equal(text, "Heat rises.\nQuestion: What rises?\nAnswer:");
 * assert.throws(() => renderTemplate(t, { support: "" }), MissingFieldError);
 * ```
 */
export function renderTemplate(template: CompiledTemplate, doc: Record<string, unknown>): string {
  for (const field of template.fields) {
    if (!Object.hasOwn(doc, field)) {
      throw new MissingFieldError(field, `the template reads "${field}", which this row lacks`);
    }
  }
  const root = new Environment();
  for (const [name, value] of Object.entries(TEMPLATE_GLOBALS)) root.set(name, value);
  // Row columns live in a child scope so that they shadow the globals (as in Jinja2).
  const env = new Environment(root);
  for (const [name, value] of Object.entries(doc)) env.set(name, value);
  const result = new Interpreter(env).run(template.program) as { value: unknown };
  return String(result.value);
}

/** Python's `range()`, for templates that loop over indices. */
function pythonRange(start: number, stop?: number, step = 1): number[] {
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
  const out: number[] = [];
  if (step > 0) { for (let i = lo; i < hi; i += step) out.push(i); }
  else if (step < 0) { for (let i = lo; i > hi; i += step) out.push(i); }
  return out;
}

/** A node of the parsed template: every node has a `type`, the rest depends on it. */
interface Node {
  type: string;
  [key: string]: unknown;
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null &&
    typeof (value as { type?: unknown }).type === "string";
}

/** The name of a filter node (`x | name` or `x | name(args)`). */
function filterName(filter: unknown): string | undefined {
  if (!isNode(filter)) return undefined;
  if (filter.type === "Identifier") return filter.value as string;
  const callee = filter.callee;
  return filter.type === "CallExpression" && isNode(callee) && callee.type === "Identifier"
    ? callee.value as string
    : undefined;
}

/**
 * The variables a template reads from its context, minus those it binds itself
 * (loop variables, `set` targets, macro parameters), the globals, and those only
 * used under an `is defined` / `is undefined` / `is none` test.
 */
function freeVariables(program: Program): string[] {
  const used: string[] = [];
  const bound = new Set<string>(["loop", "caller", "varargs", "kwargs"]);
  const guarded = new Set<string>();

  function bind(target: unknown): void {
    if (!isNode(target)) return;
    if (target.type === "Identifier") bound.add(target.value as string);
    else if (target.type === "TupleLiteral" || target.type === "ArrayLiteral") {
      for (const item of target.value as unknown[]) bind(item);
    } else if (target.type === "KeywordArgumentExpression") bind(target.key);
  }

  function visit(value: unknown): void {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value instanceof Map) {
      for (const [k, v] of value) {
        visit(k);
        visit(v);
      }
      return;
    }
    if (!isNode(value)) return;
    switch (value.type) {
      case "Identifier":
        used.push(value.value as string);
        return;
      case "MemberExpression":
        visit(value.object);
        if (value.computed) visit(value.property);
        return;
      case "FilterExpression":
      case "FilterStatement":
        // `x | default(...)` is legal for a missing x (as under Jinja2's StrictUndefined).
        if (
          filterName(value.filter) === "default" && isNode(value.operand) &&
          value.operand.type === "Identifier"
        ) {
          guarded.add(value.operand.value as string);
        } else {
          visit(value.operand);
        }
        visit(value.body);
        // The filter's name is not a variable; its arguments are expressions.
        if (isNode(value.filter) && value.filter.type === "CallExpression") {
          visit(value.filter.args);
        }
        return;
      case "TestExpression": {
        const test = value.test as Node;
        const operand = value.operand;
        if (GUARD_TESTS.has(test.value as string) && isNode(operand)) {
          if (operand.type === "Identifier") {
            guarded.add(operand.value as string);
            return;
          }
        }
        visit(operand);
        return;
      }
      case "KeywordArgumentExpression":
        visit(value.value);
        return;
      case "For":
        bind(value.loopvar);
        visit(value.iterable);
        visit(value.body);
        visit(value.defaultBlock);
        return;
      case "Set":
        bind(value.assignee);
        visit(value.value);
        visit(value.body);
        return;
      case "Macro":
        bind(value.name);
        for (const arg of value.args as unknown[]) {
          bind(arg);
          if (isNode(arg) && arg.type === "KeywordArgumentExpression") visit(arg.value);
        }
        visit(value.body);
        return;
      case "BinaryExpression":
        visit(value.left);
        visit(value.right);
        return;
      case "UnaryExpression":
        visit(value.argument);
        return;
      default:
        for (const [key, child] of Object.entries(value)) {
          if (key !== "type") visit(child);
        }
    }
  }

  visit(program.body);
  const seen = new Set<string>();
  return used.filter((name) => {
    if (seen.has(name) || bound.has(name) || guarded.has(name)) return false;
    if (Object.hasOwn(TEMPLATE_GLOBALS, name)) return false;
    seen.add(name);
    return true;
  });
}
