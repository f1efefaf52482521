/**
 * Cleaning: language-agnostic rules that edit text (Unicode normalisation, control characters,
 * whitespace) and rules that drop rows (empty, too short, broken encoding). Every rule can be
 * turned off, and the report counts what each one did. Only the text columns of the mapping are
 * edited; every other field (an `id`, a label) is left untouched.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { cleanExamples } from "./clean.ts";
 * import { toExamples } from "./examples.ts";
 * const mapping = { format: "alpaca" as const, instruction: "instruction", output: "output" };
 * const { examples } = toExamples([
 *   { id: 1, instruction: "Name  a colour.\r\n", output: "Red" },
 *   { id: 2, instruction: "Say hi", output: "" },
 * ], mapping);
 * const cleaned = cleanExamples(examples, mapping);
 * strictEqual(cleaned.kept[0].row.instruction, "Name  a colour."); // trailing "\r\n" trimmed
 * strictEqual(cleaned.rejects[0].rule, "empty");
 * deepStrictEqual(cleaned.report.removed, { empty: 1, too_short: 0, bad_encoding: 0 });
 * ```
 * @module
 */
import {
  type ColumnMapping,
  editText,
  type Example,
  exampleWhere,
  type Reject,
  rowMessages,
  type StageResult,
} from "./examples.ts";

/** Options of {@linkcode cleanExamples}. */
export interface CleanOptions {
  /** Unicode normalisation form applied to every text field, or false for none. Default: `"NFC"` (NFKC also folds full-width forms and ligatures, but turns `x²` into `x2`). */
  unicode?: "NFC" | "NFKC" | false;
  /** Delete control characters (C0 and C1 except tab, newline and carriage return) and byte-order marks. Default: true. */
  stripControl?: boolean;
  /**
   * `"trim"`: CRLF and CR become LF, trailing spaces on each line go, runs of blank lines
   * shrink to one, and each field is trimmed (indentation inside the text is kept, so code
   * survives). `"collapse"`: every run of whitespace becomes one space. false: untouched.
   * Default: `"trim"`.
   */
  whitespace?: "trim" | "collapse" | false;
  /** Drop rows whose prompt is empty, or whose last response is empty. Default: true. */
  dropEmpty?: boolean;
  /** Drop rows with fewer than this many non-whitespace characters (code points) over all turns. Default: 5. */
  minChars?: number;
  /** Drop rows containing U+FFFD, the mark of text decoded with the wrong encoding. Default: true. */
  dropBadEncoding?: boolean;
}

/** Defaults of {@linkcode CleanOptions}. */
export const CLEAN_DEFAULTS: Required<CleanOptions> = {
  unicode: "NFC",
  stripControl: true,
  whitespace: "trim",
  dropEmpty: true,
  minChars: 5,
  dropBadEncoding: true,
};

/** What cleaning did. */
export interface CleanReport {
  /** Rows changed by each editing rule (`unicode`, `control`, `whitespace`). */
  changed: Record<string, number>;
  /** Rows removed by each dropping rule (`empty`, `too_short`, `bad_encoding`). */
  removed: Record<string, number>;
  /** The options used, defaults filled in. */
  options: Required<CleanOptions>;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFEFF]/g;
const TRAILING_SPACE = /[^\S\n]+$/gm;
const BLANK_RUNS = /\n{3,}/g;
const ANY_SPACE_RUN = /\s+/g;
const REPLACEMENT_CHAR = "\uFFFD";

type Edit = { name: string; apply: (s: string) => string };

function editsFor(o: Required<CleanOptions>): Edit[] {
  const edits: Edit[] = [];
  if (o.unicode) {
    const form = o.unicode;
    edits.push({ name: "unicode", apply: (s) => s.normalize(form) });
  }
  if (o.stripControl) edits.push({ name: "control", apply: (s) => s.replace(CONTROL, "") });
  if (o.whitespace === "trim") {
    edits.push({
      name: "whitespace",
      apply: (s) =>
        s.replace(/\r\n?/g, "\n").replace(TRAILING_SPACE, "").replace(BLANK_RUNS, "\n\n").trim(),
    });
  } else if (o.whitespace === "collapse") {
    edits.push({ name: "whitespace", apply: (s) => s.replace(ANY_SPACE_RUN, " ").trim() });
  }
  return edits;
}

function nonSpaceChars(text: string, limit: number): number {
  let n = 0;
  for (const ch of text) {
    if (!/\s/.test(ch) && ++n >= limit) return n;
  }
  return n;
}

/**
 * Clean examples: apply the editing rules to every text field of the mapping, then drop rows
 * that are empty, too short or badly decoded (as rejects naming the rule).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { cleanExamples } from "./clean.ts";
 * import { toExamples } from "./examples.ts";
 * const mapping = { format: "text" as const, text: "text" };
 * const { examples } = toExamples([{ text: "ok then" }, { text: "caf\uFFFD" }], mapping);
 * const out = cleanExamples(examples, mapping, { minChars: 1 });
 * strictEqual(out.kept.length, 1);
 * strictEqual(out.rejects[0].rule, "bad_encoding");
 * ```
 */
export function cleanExamples(
  examples: readonly Example[],
  mapping: ColumnMapping,
  options: CleanOptions = {},
): StageResult & { report: CleanReport } {
  const o: Required<CleanOptions> = { ...CLEAN_DEFAULTS, ...options };
  const edits = editsFor(o);
  const changed: Record<string, number> = Object.fromEntries(edits.map((e) => [e.name, 0]));
  const removed: Record<string, number> = { empty: 0, too_short: 0, bad_encoding: 0 };
  const kept: Example[] = [];
  const rejects: Reject[] = [];
  const hit = new Set<string>();
  for (const ex of examples) {
    hit.clear();
    const row = edits.length
      ? editText(ex.row, mapping, (text) => {
        let s = text;
        for (const e of edits) {
          const next = e.apply(s);
          if (next !== s) hit.add(e.name);
          s = next;
        }
        return s;
      })
      : ex.row;
    for (const name of hit) changed[name]++;
    const messages = rowMessages(row, mapping);
    const cleaned: Example = { ...ex, row, messages };
    const why = dropReason(cleaned, mapping, o);
    if (why) {
      removed[why.rule]++;
      rejects.push({ rule: why.rule, row, index: ex.index, matched: null, reason: why.reason });
    } else kept.push(cleaned);
  }
  return { kept, rejects, report: { changed, removed, options: o } };
}

function dropReason(
  ex: Example,
  mapping: ColumnMapping,
  o: Required<CleanOptions>,
): { rule: string; reason: string } | undefined {
  const turns = ex.messages;
  if (o.dropEmpty) {
    const lastAssistant = turns.findLastIndex((m) => m.role === "assistant");
    const promptTurns = lastAssistant < 0 ? turns : turns.slice(0, lastAssistant);
    if (!promptTurns.some((m) => m.content.trim() !== "")) {
      return { rule: "empty", reason: `${exampleWhere(ex)}: the prompt is empty` };
    }
    if (lastAssistant >= 0 && turns[lastAssistant].content.trim() === "") {
      const col = mapping.format === "alpaca" ? `column "${mapping.output}"` : "the last response";
      return { rule: "empty", reason: `${exampleWhere(ex)}: ${col} is empty` };
    }
  }
  if (o.dropBadEncoding && turns.some((m) => m.content.includes(REPLACEMENT_CHAR))) {
    return {
      rule: "bad_encoding",
      reason: `${exampleWhere(ex)}: contains U+FFFD (text decoded with the wrong encoding); ` +
        `re-export the source as UTF-8`,
    };
  }
  if (o.minChars > 0) {
    let n = 0;
    for (const m of turns) {
      if (n >= o.minChars) break;
      n += nonSpaceChars(m.content, o.minChars - n);
    }
    if (n < o.minChars) {
      return {
        rule: "too_short",
        reason: `${exampleWhere(ex)}: ${n} non-space characters, fewer than minChars=${o.minChars}`,
      };
    }
  }
  return undefined;
}
