/**
 * Rendering one row with a task's templates ({@linkcode renderDoc}) and assembling the full
 * prompt with few-shot examples ({@linkcode buildPrompt}), as lm-evaluation-harness does.
 *
 * Every `doc_to_*` field and `description` goes through one function, `applyField`: a bare column
 * name reads the column, a Python hook (`!function`) takes the value the hook computed for the row
 * (hooks run in batches before rendering, in `data.ts`; pass their results as
 * {@linkcode RenderDocOptions}`.hooks`), anything else renders as Jinja (`_template.ts`).
 * @module
 */
import { describe, displayPath } from "./_format.ts";
import { parseListLiteral } from "./_py_literal.ts";
import { compiledTemplate, MissingFieldError, renderTemplate } from "./_template.ts";
import { type FunctionRef, isFunctionRef, type TaskConfig } from "./schema.ts";

/** What a Python hook gave for one row: its value, or the exception it raised. */
export type HookResult =
  | { value: unknown; error?: undefined }
  | { error: { type: string; message: string; where: string }; value?: undefined };

/** The prompt fields a hook may compute. */
export type HookField = "doc_to_text" | "doc_to_target" | "doc_to_choice";

/** Options for {@linkcode renderDoc}. */
export interface RenderDocOptions {
  /** Values that the task's Python hooks computed for this row, by field. Default: none. */
  hooks?: Partial<Record<HookField, HookResult>>;
}

/** A template field without braces that names a column is read as that column (lm-eval's rule). */
const TEMPLATE_SYNTAX = /[{}]/;

/** One row rendered by a task's templates. */
export interface RenderedDoc {
  /** The row's `id` column, or `<split>:<row>` (or `row:<n>`) when it has none. */
  id: string;
  /** The prompt for this row alone (`doc_to_text`). */
  text: string;
  /** The answer shown after the prompt in few-shot examples: the gold choice, or the first reference. */
  target: string;
  /** Every acceptable answer (generation tasks may have several; multiple choice has the gold choice). */
  references: string[];
  /** The answer options of a multiple-choice row, without `target_delimiter` (the runner scores `target_delimiter + choice`). */
  choices?: string[];
  /** Index of the right choice in `choices`. */
  gold?: number;
  /** The task's `description`, rendered for this row (absent when the task has none). */
  description?: string;
  /** The row the templates read (after `process_docs`); `process_results` hooks receive it. */
  row?: Record<string, unknown>;
}

/** A row that a template could not render. */
export class RenderError extends Error {
  /** 1-based row number within the split. */
  row: number;
  /** The field (template) that failed, e.g. `doc_to_text`. */
  field: string;
  /** Create the error. */
  constructor(row: number, field: string, message: string) {
    super(message);
    this.name = "RenderError";
    this.row = row;
    this.field = field;
  }
}

/**
 * Render one row with the task's templates. `index` is the row's 0-based position in its split;
 * errors name it 1-based. A template reading a column the row lacks throws a
 * {@linkcode RenderError} naming the row, the column and the columns present.
 *
 * For multiple choice, `gold` comes from `doc_to_target`: an integer index, a template rendering
 * to one, or the text of the right choice; out-of-range indices and unknown texts are errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findTask, renderDoc } from "./mod.ts";
 * const doc = renderDoc(findTask("synth_arithmetic"), {
 *   context: "Question: What is 7 plus 5?\nAnswer:",
 *   completion: " 12",
 * }, 0);
 * assert.equal(doc.text, "Question: What is 7 plus 5?\nAnswer:");
 * assert.deepEqual(doc.references, ["12"]);
 * ```
 */
export function renderDoc(
  task: TaskConfig,
  doc: Record<string, unknown>,
  index: number,
  options: RenderDocOptions = {},
): RenderedDoc {
  const row = index + 1;
  const hooks = options.hooks ?? {};
  const id = typeof doc.id === "string" || typeof doc.id === "number"
    ? String(doc.id)
    : `row:${row}`;
  const text = asText(
    applyField(task, doc, row, "doc_to_text", task.docToText, hooks).value,
    row,
    "doc_to_text",
  );
  const choices = task.docToChoice === undefined
    ? undefined
    : resolveChoices(task, doc, row, task.docToChoice, hooks);
  const target: Applied = typeof task.docToTarget === "number"
    ? { value: task.docToTarget, fromColumn: false }
    : applyField(task, doc, row, "doc_to_target", task.docToTarget, hooks);
  const out: RenderedDoc = { id, text, target: "", references: [], row: doc };
  if (task.description) {
    out.description = asText(
      applyField(task, doc, row, "description", task.description, hooks).value,
      row,
      "description",
    );
  }
  if (task.outputType === "multiple_choice") {
    if (!choices) {
      throw new RenderError(
        row,
        "doc_to_choice",
        `${where(task, row)}: doc_to_choice is not set; multiple_choice tasks need one`,
      );
    }
    const gold = resolveGold(task, row, target, choices);
    return { ...out, target: choices[gold], references: [choices[gold]], choices, gold };
  }
  const references = resolveReferences(task, row, target.value, choices);
  return { ...out, target: references[0], references, ...(choices ? { choices } : {}) };
}

/**
 * The full prompt for one row, exactly as lm-eval assembles it: the description, then each
 * few-shot example as `text + target_delimiter + target + fewshot_delimiter`, then the row's text.
 * (As in lm-eval, an example whose target is empty contributes its text only.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildPrompt, findTask, renderDoc } from "./mod.ts";
 * const task = findTask("synth_arithmetic");
 * const shot = renderDoc(task, { context: "Question: What is 1 plus 1?\nAnswer:", completion: " 2" }, 0);
 * const doc = renderDoc(task, { context: "Question: What is 7 plus 5?\nAnswer:", completion: " 12" }, 1);
 * assert.equal(buildPrompt(task, doc, [shot]), "Question: What is 1 plus 1?\nAnswer: 2\n\nQuestion: What is 7 plus 5?\nAnswer:");
 * ```
 */
export function buildPrompt(task: TaskConfig, doc: RenderedDoc, fewshot: RenderedDoc[]): string {
  let prompt = doc.description ?? task.description;
  for (const shot of fewshot) {
    prompt += shot.text;
    if (shot.target !== "") prompt += task.targetDelimiter + shot.target + task.fewshotDelimiter;
  }
  return prompt + doc.text;
}

function where(task: TaskConfig, row: number): string {
  return `task ${task.name}, row ${row}`;
}

/** A template field's result, and whether it was a column read as-is rather than rendered text. */
interface Applied {
  value: unknown;
  fromColumn: boolean;
}

/**
 * Apply a template field to a row: a bare column name returns the column's value (as lm-eval
 * does when the string is one of the dataset's features); anything else is rendered.
 */
function applyField(
  task: TaskConfig,
  doc: Record<string, unknown>,
  row: number,
  field: string,
  template: string | FunctionRef,
  hooks: Partial<Record<HookField, HookResult>>,
): Applied {
  if (isFunctionRef(template)) return hookValue(task, row, field, template, hooks);
  if (!TEMPLATE_SYNTAX.test(template) && Object.hasOwn(doc, template)) {
    return { value: doc[template], fromColumn: true };
  }
  try {
    return { value: renderTemplate(compiledTemplate(template), doc), fromColumn: false };
  } catch (e) {
    if (e instanceof MissingFieldError) {
      throw new RenderError(
        row,
        field,
        `${where(task, row)}: ${field} reads column "${e.field}", which this row lacks ` +
          `(columns: ${Object.keys(doc).join(", ") || "none"}); fix the template in ` +
          `${displayPath(task.file)} or the data`,
      );
    }
    throw new RenderError(
      row,
      field,
      `${where(task, row)}: ${field} failed to render (${
        (e as Error).message
      }); fix the template in ${displayPath(task.file)}`,
    );
  }
}

/** A hook field's value for the row (as lm-eval uses a callable's result: as is, like a column). */
function hookValue(
  task: TaskConfig,
  row: number,
  field: string,
  ref: FunctionRef,
  hooks: Partial<Record<HookField, HookResult>>,
): Applied {
  const result = hooks[field as HookField];
  if (!result) {
    throw new RenderError(
      row,
      field,
      `${where(task, row)}: ${field} is the Python hook !function ${ref.spec}; render rows with ` +
        `loadTaskDocs, which runs it (renderDoc takes its result in options.hooks)`,
    );
  }
  if (result.error) {
    throw new RenderError(
      row,
      field,
      `${
        where(task, row)
      }: ${field} hook ${ref.spec} raised ${result.error.type}: ${result.error.message}` +
        `${result.error.where ? ` (at ${result.error.where})` : ""}; fix ${
          displayPath(ref.module)
        } or the data`,
    );
  }
  return { value: result.value, fromColumn: true };
}

function asText(value: unknown, row: number, field: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new RenderError(row, field, `row ${row}: ${field} gave ${describe(value)}, expected text`);
}

function resolveChoices(
  task: TaskConfig,
  doc: Record<string, unknown>,
  row: number,
  spec: string | string[] | FunctionRef,
  hooks: Partial<Record<HookField, HookResult>>,
): string[] {
  const value = Array.isArray(spec)
    ? spec.map((t) =>
      asText(applyField(task, doc, row, "doc_to_choice", t, hooks).value, row, "doc_to_choice")
    )
    : applyField(task, doc, row, "doc_to_choice", spec, hooks).value;
  const list = typeof value === "string" ? parseListLiteral(value) : value;
  if (
    !Array.isArray(list) || list.length === 0 ||
    !list.every((x) => typeof x === "string" || typeof x === "number")
  ) {
    throw new RenderError(
      row,
      "doc_to_choice",
      `${where(task, row)}: doc_to_choice gave ${
        describe(value)
      }, expected a non-empty list of strings; fix doc_to_choice in ${displayPath(task.file)}`,
    );
  }
  return list.map(String);
}

/**
 * The gold index of a multiple-choice row, as lm-eval resolves it: an integer is the index; text
 * rendered by a template is an index when it is all digits; other text (and any text read
 * straight from a column) must be one of the choices.
 */
function resolveGold(task: TaskConfig, row: number, target: Applied, choices: string[]): number {
  const raw = target.value;
  let gold: number | undefined;
  if (typeof raw === "number") gold = raw;
  else if (typeof raw === "string") {
    if (!target.fromColumn && /^\d+$/.test(raw)) gold = Number(raw);
    else if (choices.includes(raw)) gold = choices.indexOf(raw);
  }
  if (gold === undefined) {
    throw new RenderError(
      row,
      "doc_to_target",
      `${where(task, row)}: doc_to_target gave ${
        describe(raw)
      }, which is neither a choice index nor one of the choices ${
        JSON.stringify(choices)
      }; fix doc_to_target or the data`,
    );
  }
  if (!Number.isInteger(gold) || gold < 0 || gold >= choices.length) {
    throw new RenderError(
      row,
      "doc_to_target",
      `${where(task, row)}: gold index ${gold} is out of range for ${choices.length} choices ${
        JSON.stringify(choices)
      }; fix doc_to_target or the data`,
    );
  }
  return gold;
}

function resolveReferences(
  task: TaskConfig,
  row: number,
  raw: unknown,
  choices?: string[],
): string[] {
  let refs: unknown[];
  if (typeof raw === "number") {
    refs = [
      choices && Number.isInteger(raw) && choices[raw] !== undefined ? choices[raw] : String(raw),
    ];
  } else if (Array.isArray(raw)) refs = raw;
  else if (typeof raw === "string") {
    const trimmed = raw.trim();
    if (choices && /^\d+$/.test(raw) && choices[Number(raw)] !== undefined) {
      refs = [choices[Number(raw)]];
    } else if (trimmed.startsWith("[") && trimmed.endsWith("]")) {
      refs = parseListLiteral(trimmed) ?? [raw];
    } else refs = [raw];
  } else refs = [raw];
  if (refs.length === 0 || !refs.every((r) => typeof r === "string" || typeof r === "number")) {
    throw new RenderError(
      row,
      "doc_to_target",
      `${where(task, row)}: doc_to_target gave ${
        describe(raw)
      }, expected text or a non-empty list of texts; fix doc_to_target or the data`,
    );
  }
  return refs.map(String);
}
