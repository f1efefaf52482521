/**
 * Training examples as chat messages, mapped from a dataset's columns: Alpaca
 * (`instruction` / `input` / `output`), ShareGPT (`conversations: [{from, value}]`), OpenAI
 * (`messages: [{role, content}]`) or one plain `text` column. Every curation stage works on
 * {@linkcode Example}s, which keep the source row (all its fields, `id` included) next to its
 * messages.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { detectColumns, toExamples } from "./examples.ts";
 * const rows = [{ id: 7, instruction: "Add 2 and 3.", input: "", output: "5" }];
 * const mapping = detectColumns(["id", "instruction", "input", "output"]);
 * const { examples } = toExamples(rows, mapping);
 * strictEqual(mapping.format, "alpaca");
 * deepStrictEqual(examples[0].messages, [
 *   { role: "user", content: "Add 2 and 3." },
 *   { role: "assistant", content: "5" },
 * ]);
 * ```
 * @module
 */
import { basename } from "node:path";
import { formatOrigin, type RowOrigin } from "./load.ts";

/** How a dataset's rows hold their text. */
export type ExampleFormat = "alpaca" | "sharegpt" | "openai" | "text";

/** One chat turn. */
export interface ExampleTurn {
  /** Who speaks. */
  role: "system" | "user" | "assistant";
  /** What they say. */
  content: string;
}

/** Which columns hold an example's text. Fields that do not apply to `format` are ignored. */
export interface ColumnMapping {
  /** The layout. */
  format: ExampleFormat;
  /** Alpaca: the instruction column. */
  instruction?: string;
  /** Alpaca: the optional input column (appended to the instruction after a blank line). */
  input?: string;
  /** Alpaca: the response column. */
  output?: string;
  /** Alpaca: an optional system-prompt column. */
  system?: string;
  /** ShareGPT / OpenAI: the column holding the list of turns. */
  messages?: string;
  /** Text: the column holding the whole text. */
  text?: string;
}

/** A dataset row with its messages. */
export interface Example {
  /** 0-based position of the row among the loaded rows. */
  index: number;
  /** Where the row is in its file (when the loader could tell); see {@linkcode exampleWhere}. */
  origin?: RowOrigin;
  /** The row, with every field it had (text fields cleaned by the clean stage). */
  row: Record<string, unknown>;
  /** The row's text as chat turns. For `text` rows: one user turn. */
  messages: ExampleTurn[];
}

/** A row taken out by a curation stage. */
export interface Reject {
  /** The rule that removed it: `malformed`, `empty`, `too_short`, `bad_encoding`, `too_long`, `contaminated`, `exact_dup`, `near_dup`. */
  rule: string;
  /** The row's own fields (for `malformed`: `line` and `raw`, the text that could not be read). */
  row: Record<string, unknown>;
  /** 0-based position among the loaded rows, when it has one. */
  index?: number;
  /** The kept row or benchmark item it collided with; null when the rule compares with nothing. */
  matched: unknown;
  /** What happened, in words. */
  reason: string;
}

/** The output of a stage: the examples it keeps and the rows it removes. */
export interface StageResult {
  /** Kept examples, in input order. */
  kept: Example[];
  /** Removed rows, in input order. */
  rejects: Reject[];
}

/** Column names tried, in order, when a mapping is not given (Alpaca and its common aliases). */
export const COLUMN_ALIASES = {
  instruction: ["instruction", "prompt", "question", "query"],
  input: ["input", "context"],
  output: ["output", "response", "completion", "answer"],
  system: ["system", "system_prompt"],
  text: ["text", "content"],
} as const;

/** ShareGPT `from` values and the role each maps to. */
const SHAREGPT_ROLES: Readonly<Record<string, ExampleTurn["role"]>> = {
  system: "system",
  human: "user",
  user: "user",
  gpt: "assistant",
  assistant: "assistant",
  chatgpt: "assistant",
  model: "assistant",
  bing: "assistant",
  bard: "assistant",
};

/** A row whose shape does not fit the mapping. */
export class ExampleShapeError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "ExampleShapeError";
  }
}

/**
 * Find the columns that hold the text: `messages` (OpenAI), `conversations` (ShareGPT), an
 * instruction + output pair ({@linkcode COLUMN_ALIASES}), or a `text` column. Fields of
 * `given` win over detection. Throws an error naming the columns present when nothing fits.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { detectColumns } from "./examples.ts";
 * deepStrictEqual(detectColumns(["id", "question", "answer"]), {format:"alpaca", instruction:"question", output:"answer"});
 * strictEqual(detectColumns(["messages"]).format, "openai");
 * ```
 */
export function detectColumns(
  columns: readonly string[],
  given: Partial<ColumnMapping> = {},
): ColumnMapping {
  const has = (c: string | undefined) => c !== undefined && columns.includes(c);
  const first = (names: readonly string[]) => names.find((n) => columns.includes(n));
  let format = given.format;
  if (!format) {
    if (given.messages) {
      format = has("conversations") && given.messages === "conversations" ? "sharegpt" : "openai";
    } else if (given.instruction || given.output) format = "alpaca";
    else if (given.text) format = "text";
    else if (has("messages")) format = "openai";
    else if (has("conversations")) format = "sharegpt";
    else if (first(COLUMN_ALIASES.instruction) && first(COLUMN_ALIASES.output)) format = "alpaca";
    else if (first(COLUMN_ALIASES.text)) format = "text";
    else {
      throw new Error(
        `cannot tell which columns hold the text: the data has ${listColumns(columns)}. ` +
          `Expected "messages" (OpenAI), "conversations" (ShareGPT), an instruction column ` +
          `(${COLUMN_ALIASES.instruction.join("/")}) with an output column ` +
          `(${COLUMN_ALIASES.output.join("/")}), or "text"; or name them ` +
          `(--instruction-col/--input-col/--output-col, --messages-col, --text-col).`,
      );
    }
  }
  let mapping: ColumnMapping;
  switch (format) {
    case "openai":
      mapping = { format, messages: given.messages ?? "messages" };
      break;
    case "sharegpt":
      mapping = { format, messages: given.messages ?? "conversations" };
      break;
    case "text":
      mapping = { format, text: given.text ?? first(COLUMN_ALIASES.text) ?? "text" };
      break;
    case "alpaca": {
      mapping = {
        format,
        instruction: given.instruction ?? first(COLUMN_ALIASES.instruction) ?? "instruction",
        output: given.output ?? first(COLUMN_ALIASES.output) ?? "output",
      };
      const input = given.input ?? first(COLUMN_ALIASES.input);
      if (input) mapping.input = input;
      const system = given.system ?? first(COLUMN_ALIASES.system);
      if (system) mapping.system = system;
      break;
    }
    default:
      throw new Error(
        `unknown format "${format}"; use alpaca, sharegpt, openai or text`,
      );
  }
  // input and system are optional columns, checked only when named explicitly
  const needed = [
    ...mappedColumns(mapping).filter((c) => c !== mapping.input && c !== mapping.system),
    ...(format === "alpaca" ? [given.input, given.system] : []),
  ].filter((c): c is string => c !== undefined);
  const missing = needed.filter((c) => !has(c));
  if (missing.length) {
    throw new Error(
      `the data lacks column${missing.length > 1 ? "s" : ""} ${
        missing.map((c) => `"${c}"`).join(", ")
      } (${format} format); it has ${listColumns(columns)}. ` +
        `Name the right columns (--instruction-col/--input-col/--output-col, --messages-col, --text-col) or pick another --format.`,
    );
  }
  return mapping;
}

/** The columns a mapping reads. */
export function mappedColumns(mapping: ColumnMapping): string[] {
  const cols = mapping.format === "alpaca"
    ? [mapping.instruction, mapping.input, mapping.output, mapping.system]
    : mapping.format === "text"
    ? [mapping.text]
    : [mapping.messages];
  return cols.filter((c): c is string => c !== undefined);
}

function listColumns(columns: readonly string[]): string {
  return columns.length ? columns.map((c) => `"${c}"`).join(", ") : "no columns";
}

function textValue(row: Record<string, unknown>, column: string | undefined): string {
  if (column === undefined) return "";
  const v = row[column];
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new ExampleShapeError(
    `column "${column}" holds ${Array.isArray(v) ? "an array" : typeof v}, expected text`,
  );
}

/**
 * The chat turns of one row under `mapping`. Throws an {@linkcode ExampleShapeError} when the
 * row's fields do not have the mapping's shape (e.g. `messages` not a list of `{role, content}`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { rowMessages } from "./examples.ts";
 * const turns = rowMessages(
 *   { conversations: [{ from: "human", value: "Hi" }, { from: "gpt", value: "Hello!" }] },
 *   { format: "sharegpt", messages: "conversations" },
 * );
 * deepStrictEqual(turns.map((m) => m.role), ["user", "assistant"]);
 * ```
 */
export function rowMessages(row: Record<string, unknown>, mapping: ColumnMapping): ExampleTurn[] {
  switch (mapping.format) {
    case "alpaca": {
      const instruction = textValue(row, mapping.instruction);
      const input = textValue(row, mapping.input);
      const out: ExampleTurn[] = [];
      const system = textValue(row, mapping.system);
      if (system) out.push({ role: "system", content: system });
      out.push({ role: "user", content: input ? `${instruction}\n\n${input}` : instruction });
      out.push({ role: "assistant", content: textValue(row, mapping.output) });
      return out;
    }
    case "text":
      return [{ role: "user", content: textValue(row, mapping.text) }];
    default:
      return turnsOf(row, mapping);
  }
}

function turnsOf(row: Record<string, unknown>, mapping: ColumnMapping): ExampleTurn[] {
  const column = mapping.messages!;
  const turns = row[column];
  const sharegpt = mapping.format === "sharegpt";
  const [roleKey, contentKey] = sharegpt ? ["from", "value"] : ["role", "content"];
  if (!Array.isArray(turns)) {
    throw new ExampleShapeError(
      `column "${column}" must be a list of {${roleKey}, ${contentKey}} turns, got ${
        turns === undefined ? "nothing" : typeof turns
      }`,
    );
  }
  return turns.map((t, i) => {
    const turn = t as Record<string, unknown>;
    const rawRole = typeof turn === "object" && turn !== null ? turn[roleKey] : undefined;
    const content = typeof turn === "object" && turn !== null ? turn[contentKey] : undefined;
    const role = sharegpt
      ? SHAREGPT_ROLES[String(rawRole)]
      : (["system", "user", "assistant"].includes(String(rawRole))
        ? rawRole as ExampleTurn["role"]
        : undefined);
    if (!role || typeof content !== "string") {
      throw new ExampleShapeError(
        `${column}[${i}] must be {${roleKey}, ${contentKey}: text} with ${roleKey} one of ${
          sharegpt ? Object.keys(SHAREGPT_ROLES).join("/") : "system/user/assistant"
        }; got ${JSON.stringify(t)?.slice(0, MAX_SHOWN)}`,
      );
    }
    return { role, content };
  });
}

/** Characters of a bad value shown in an error. */
const MAX_SHOWN = 120;

/**
 * Return a copy of `row` whose text fields under `mapping` went through `edit` (nested
 * message contents included); every other field is kept as it is.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { editText } from "./examples.ts";
 * const row = editText({ id: "a", text: "  hi  " }, { format: "text", text: "text" }, (s) => s.trim());
 * deepStrictEqual(row, { id: "a", text: "hi" });
 * ```
 */
export function editText(
  row: Record<string, unknown>,
  mapping: ColumnMapping,
  edit: (text: string) => string,
): Record<string, unknown> {
  const out = { ...row };
  if (mapping.format === "alpaca" || mapping.format === "text") {
    for (const c of mappedColumns(mapping)) if (typeof out[c] === "string") out[c] = edit(out[c]);
    return out;
  }
  const key = mapping.format === "sharegpt" ? "value" : "content";
  const turns = out[mapping.messages!];
  if (Array.isArray(turns)) {
    out[mapping.messages!] = turns.map((t) =>
      typeof t === "object" && t !== null && typeof (t as Record<string, unknown>)[key] === "string"
        ? { ...t, [key]: edit((t as Record<string, string>)[key]) }
        : t
    );
  }
  return out;
}

/**
 * Map rows to examples. Rows whose fields do not fit the mapping are returned as `malformed`
 * rejects naming the row and the problem; the others become examples.
 *
 * @example
 * ```ts
 * import { match, strictEqual } from "node:assert/strict";
 * import { toExamples } from "./examples.ts";
 * const { examples, rejects } = toExamples(
 *   [{ messages: [{ role: "user", content: "2+2?" }, { role: "assistant", content: "4" }] }, { messages: "oops" }],
 *   { format: "openai", messages: "messages" },
 * );
 * strictEqual(examples.length, 1);
 * match(rejects[0].reason, /^row 2: column "messages" must be a list of \{role, content\} turns/);
 * ```
 */
export function toExamples(
  rows: readonly Record<string, unknown>[],
  mapping: ColumnMapping,
  options: ToExamplesOptions = {},
): { examples: Example[]; rejects: Reject[] } {
  const examples: Example[] = [];
  const rejects: Reject[] = [];
  rows.forEach((row, index) => {
    const origin = options.origins?.[index];
    try {
      examples.push({
        index,
        ...(origin ? { origin } : {}),
        row,
        messages: rowMessages(row, mapping),
      });
    } catch (e) {
      if (!(e instanceof ExampleShapeError)) throw e;
      rejects.push({
        rule: "malformed",
        row,
        index,
        matched: null,
        reason: `${
          exampleWhere({ index, origin })
        }: ${e.message}; fix the row or the column mapping`,
      });
    }
  });
  return { examples, rejects };
}

/** Options for {@linkcode toExamples}. */
export interface ToExamplesOptions {
  /** Where each row is in its file (`LoadedRows.origins`), for messages. Default: none. */
  origins?: readonly RowOrigin[];
}

/**
 * How messages name an example's row: its file and line (`rows.jsonl:4`, `rows.parquet: row 4`)
 * when known, else its 1-based position among the loaded rows (`row 4`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exampleWhere } from "./examples.ts";
 * strictEqual(exampleWhere({ index: 2 }), "row 3");
 * strictEqual(exampleWhere({ index: 2, origin: { file: "/d/rows.jsonl", line: 5, unit: "line" } }), "rows.jsonl:5");
 * ```
 */
export function exampleWhere(ex: Pick<Example, "index" | "origin">): string {
  if (!ex.origin) return `row ${ex.index + 1}`;
  return formatOrigin({ ...ex.origin, file: basename(ex.origin.file) });
}

/** Index of the last assistant turn, or -1. */
function lastAssistant(messages: readonly ExampleTurn[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === "assistant") return i;
  return -1;
}

/**
 * The prompt side of an example: every turn before its last assistant turn (all turns when it
 * has none), joined by newlines. Exact and near-duplicate detection compare this by default.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { promptText } from "./examples.ts";
 * strictEqual(promptText({ index: 0, row: {}, messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Yo" }] }), "Hi");
 * ```
 */
export function promptText(example: Example): string {
  const m = example.messages;
  const end = lastAssistant(m);
  const turns = end < 0 ? m : m.slice(0, end);
  return turns.length === 1 ? turns[0].content : turns.map((t) => t.content).join("\n");
}

/**
 * The response of an example: its last assistant turn ("" when it has none).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { outputText } from "./examples.ts";
 * strictEqual(outputText({ index: 0, row: {}, messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Yo" }] }), "Yo");
 * ```
 */
export function outputText(example: Example): string {
  const end = lastAssistant(example.messages);
  return end < 0 ? "" : example.messages[end].content;
}

/**
 * All the text of an example (every turn, joined by newlines): what decontamination checks.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exampleText } from "./examples.ts";
 * strictEqual(exampleText({ index: 0, row: {}, messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Yo" }] }), "Hi\nYo");
 * ```
 */
export function exampleText(example: Example): string {
  const m = example.messages;
  return m.length === 1 ? m[0].content : m.map((t) => t.content).join("\n");
}
