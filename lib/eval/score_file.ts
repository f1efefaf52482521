/**
 * Scoring a predictions file: the logic behind `deno task score`.
 *
 * Input is JSON Lines, one item per line:
 * `{"prediction": "…", "references": ["…", …]}` (or `"reference": "…"` for a single one); other
 * fields are ignored and blank lines skipped. Every bad line is reported at once (`file:line`
 * plus what is wrong and which fields the line has) in a {@linkcode ScoreInputError}.
 *
 * Metric names are the registry's (`lib/eval/metrics/mod.ts`), meaning what they mean in a task's
 * `metric_list`: **`exact_match` is lm-eval's (Hugging Face evaluate's) exact match**, the strings
 * compared as they are, and **`em` is the SQuAD v1.1 script's** normalised one (with `f1`, the
 * script's two outputs). Each takes the maximum over references. Output keys are the names as
 * given.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseScoreRows, scoreRows } from "./score_file.ts";
 * const text = '{"prediction": "The Cat", "references": ["cat", "a cat"]}\n' +
 *   '{"prediction": "dog", "reference": "dog"}\n';
 * const rows = parseScoreRows(text, "preds.jsonl");
 * deepStrictEqual(scoreRows(rows, ["exact_match", "em", "f1"]), { exact_match: 0.5, em: 1, f1: 1 });
 * ```
 * @module
 */
import { readFileSync } from "node:fs";
import { parseJsonl } from "../data/jsonl.ts";
import { closestName } from "../util/suggest.ts";
import { getMetric, listMetrics, type Metric, scoreCorpus } from "./metrics/mod.ts";
import { rougeMetric, type RougeType } from "./metrics/rouge.ts";

/** Metrics `deno task score` computes when `--metrics` is not given. */
export const DEFAULT_SCORE_METRICS: readonly string[] = [
  "exact_match",
  "em",
  "f1",
  "rouge1",
  "rouge2",
  "rougeL",
  "rougeLsum",
  "bleu4",
];

const ROUGE_TYPES: readonly string[] = ["rouge1", "rouge2", "rougeL", "rougeLsum"];

/** One item of a predictions file. */
export interface ScoreRow {
  /** 1-based line number in the file. */
  line: number;
  /** The model's output. */
  prediction: string;
  /** The acceptable answers (at least one). */
  references: string[];
}

/** Options of {@linkcode scoreRows} and {@linkcode scoreFile}. */
export interface ScoreOptions {
  /** Porter-stem tokens for the ROUGE metrics (rouge-score's `use_stemmer`). Default: `false`. */
  rougeStemmer?: boolean;
}

/**
 * Bad input to the scorer (file, lines or metric names): the message says what and where. The
 * CLI prints the message and exits with status 2.
 *
 * @example
 * ```ts
 * import { ok, throws } from "node:assert/strict";
 * import { ScoreInputError, scoreFile } from "./score_file.ts";
 * throws(() => scoreFile("missing.jsonl"), (e) => {
 *   ok(e instanceof ScoreInputError);
 *   ok(e.message.startsWith("missing.jsonl: no such file; "));
 *   return true;
 * });
 * ```
 */
export class ScoreInputError extends Error {
  /** One `file:line: what is wrong` entry per bad line (empty for other errors). */
  readonly problems: string[];

  /** An input error with its message and the per-line problems it summarises. */
  constructor(message: string, problems: string[] = []) {
    super(message);
    this.name = "ScoreInputError";
    this.problems = problems;
  }
}

/**
 * The registry metric a score-file name stands for; ROUGE types honour `rougeStemmer`. Throws a
 * {@linkcode ScoreInputError} listing the known names for an unknown one (and saying where the
 * SQuAD-normalised exact match went for the old `exact_match_strict`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { resolveScoreMetric } from "./score_file.ts";
 * import { getMetric } from "./metrics/mod.ts";
 * strictEqual(resolveScoreMetric("exact_match"), getMetric("exact_match")); // a task's exact_match
 * strictEqual(resolveScoreMetric("em").name, "em"); // SQuAD's
 * ```
 */
export function resolveScoreMetric(name: string, options: ScoreOptions = {}): Metric {
  if (options.rougeStemmer && ROUGE_TYPES.includes(name)) {
    return rougeMetric(name as RougeType, { useStemmer: true });
  }
  try {
    return getMetric(name);
  } catch {
    const hint = name === "exact_match_strict"
      ? " (exact_match_strict is gone: exact_match is now lm-eval's exact match, strings " +
        "compared as they are; em is SQuAD's normalised one)"
      : "";
    const names = listMetrics().map((m) => m.name);
    const close = closestName(name, names);
    throw new ScoreInputError(
      `unknown metric "${name}"${close && !hint ? ` (did you mean "${close}"?)` : ""}${hint}; ` +
        `known metrics: ${names.join(", ")}`,
    );
  }
}

/**
 * Splits a `--metrics` value (`"f1, rougeL"`) into names, checking each one. Throws a
 * {@linkcode ScoreInputError} for an empty list or an unknown name.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseMetricList } from "./score_file.ts";
 * deepStrictEqual(parseMetricList("exact_match, f1,bleu4"), ["exact_match", "f1", "bleu4"]);
 * ```
 */
export function parseMetricList(value: string): string[] {
  const names = value.split(",").map((n) => n.trim()).filter((n) => n.length > 0);
  if (names.length === 0) {
    throw new ScoreInputError(
      `--metrics is empty; give comma-separated names, e.g. --metrics ${
        DEFAULT_SCORE_METRICS.join(",")
      }`,
    );
  }
  for (const name of names) resolveScoreMetric(name);
  return names;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "string" ? "a string" : `a ${typeof value}`;
}

function fieldsPresent(row: Record<string, unknown>): string {
  const keys = Object.keys(row);
  return keys.length ? `fields present: ${keys.join(", ")}` : "no fields";
}

/** Validates one parsed line; returns the row or the problems with it. */
function checkRow(value: unknown): { row?: Omit<ScoreRow, "line">; problems: string[] } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {
      problems: [
        `expected a JSON object like {"prediction": "...", "references": ["..."]}, got ${
          describeType(value)
        }`,
      ],
    };
  }
  const obj = value as Record<string, unknown>;
  const problems: string[] = [];
  if (!("prediction" in obj)) {
    problems.push(`missing "prediction" (${fieldsPresent(obj)})`);
  } else if (typeof obj.prediction !== "string") {
    problems.push(`"prediction" must be a string, got ${describeType(obj.prediction)}`);
  }
  let references: string[] | undefined;
  if ("references" in obj && "reference" in obj) {
    problems.push(`has both "references" and "reference"; keep one`);
  } else if ("references" in obj) {
    const refs = obj.references;
    if (!Array.isArray(refs)) {
      problems.push(`"references" must be a list of strings, got ${describeType(refs)}`);
    } else if (refs.length === 0) {
      problems.push(`"references" is empty; give at least one reference string`);
    } else {
      const badIndex = refs.findIndex((r) => typeof r !== "string");
      if (badIndex >= 0) {
        problems.push(
          `"references"[${badIndex}] must be a string, got ${describeType(refs[badIndex])}`,
        );
      } else {
        references = refs as string[];
      }
    }
  } else if ("reference" in obj) {
    if (typeof obj.reference !== "string") {
      problems.push(`"reference" must be a string, got ${describeType(obj.reference)}`);
    } else {
      references = [obj.reference];
    }
  } else {
    problems.push(`missing "references" (or "reference") (${fieldsPresent(obj)})`);
  }
  if (problems.length || references === undefined) return { problems };
  return { row: { prediction: obj.prediction as string, references }, problems };
}

/**
 * Parses and validates the text of a predictions file. Throws one {@linkcode ScoreInputError}
 * listing every bad line as `path:line: problem`, or saying the file has no rows.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, throws } from "node:assert/strict";
 * import { parseScoreRows } from "./score_file.ts";
 * const rows = parseScoreRows('{"prediction": "4", "reference": "4"}\n', "p.jsonl");
 * deepStrictEqual(rows, [{ line: 1, prediction: "4", references: ["4"] }]);
 * // Every bad line is named as path:line.
 * throws(
 *   () => parseScoreRows('{"prediction": "4"}\nnot json\n', "p.jsonl"),
 *   /\np\.jsonl:1: missing "references".*\np\.jsonl:2: not valid JSON/s,
 * );
 * ```
 */
export function parseScoreRows(text: string, path: string): ScoreRow[] {
  const parsed = parseJsonl<unknown>(text);
  const problems = new Map<number, string>();
  for (const e of parsed.errors) problems.set(e.line, `not valid JSON (${e.message})`);
  const rows: ScoreRow[] = [];
  parsed.rows.forEach((value, i) => {
    const line = parsed.lines[i];
    const checked = checkRow(value);
    if (checked.row) rows.push({ line, ...checked.row });
    else problems.set(line, checked.problems.join("; "));
  });
  if (problems.size) {
    const list = [...problems.entries()].sort(([a], [b]) => a - b).map(([line, message]) =>
      `${path}:${line}: ${message}`
    );
    throw new ScoreInputError(
      `${path}: ${list.length} bad line${list.length === 1 ? "" : "s"}; ` +
        `each line must be {"prediction": string, "references": [string, ...]} ` +
        `(or "reference": string). Fix or remove:\n${list.join("\n")}`,
      list,
    );
  }
  if (rows.length === 0) {
    throw new ScoreInputError(
      `${path}: no rows to score; write one {"prediction": ..., "references": [...]} object per line`,
    );
  }
  return rows;
}

/**
 * Corpus-level values of the named metrics over parsed rows (names as in
 * {@linkcode resolveScoreMetric}; output keys are the names as given).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { scoreRows } from "./score_file.ts";
 * const rows = [{ line: 1, prediction: "a b c d", references: ["a b c d"] }];
 * deepStrictEqual(scoreRows(rows, ["bleu4", "rougeL"]), { bleu4: 100, rougeL: 1 });
 * ```
 */
export function scoreRows(
  rows: readonly ScoreRow[],
  names: readonly string[] = DEFAULT_SCORE_METRICS,
  options: ScoreOptions = {},
): Record<string, number> {
  const metrics = new Map(names.map((name) => [name, resolveScoreMetric(name, options)]));
  return scoreCorpus(
    [...names],
    rows.map((r) => r.prediction),
    rows.map((r) => r.references),
    (name) => metrics.get(name)!,
  );
}

/**
 * Reads, validates and scores a predictions JSONL file. Throws a {@linkcode ScoreInputError} for
 * a missing or unreadable file, bad lines, no rows or unknown metrics.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { scoreFile } from "./score_file.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".jsonl" });
 * Deno.writeTextFileSync(path, '{"prediction": "Paris.", "references": ["paris"]}\n');
 * deepStrictEqual(scoreFile(path, ["exact_match", "em"]), { exact_match: 0, em: 1 });
 * Deno.removeSync(path);
 * ```
 */
export function scoreFile(
  path: string,
  names: readonly string[] = DEFAULT_SCORE_METRICS,
  options: ScoreOptions = {},
): Record<string, number> {
  for (const name of names) resolveScoreMetric(name, options);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
      ? "is a folder, not a file"
      : `cannot be read (${(e as Error).message})`;
    throw new ScoreInputError(
      `${path}: ${why}; give the path of a predictions JSONL file`,
    );
  }
  return scoreRows(parseScoreRows(text, path), names, options);
}
