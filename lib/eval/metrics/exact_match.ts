/**
 * `exact_match`: Hugging Face evaluate's exact match, as lm-evaluation-harness runs it
 * (`exact_match_hf_evaluate` in `lm_eval/api/metrics.py`, the metric a task's
 * `metric: exact_match` means). The prediction and each reference are compared as they are —
 * **no whitespace is trimmed** (a task that needs it says so with a `remove_whitespace` filter) —
 * after these optional steps, in this order, applied to both sides:
 *
 * | option (`metric_list` key) | default | what                                                         |
 * | -------------------------- | ------- | ------------------------------------------------------------ |
 * | `regexes_to_ignore`        | none    | delete every match of each Python regex, in order (`re.sub`) |
 * | `ignore_case`              | false   | lowercase (`str.lower`)                                      |
 * | `ignore_punctuation`       | false   | delete ASCII punctuation (Python's `string.punctuation`)     |
 * | `ignore_numbers`           | false   | delete the digits 0–9 (Python's `string.digits`)             |
 *
 * 1 when the prediction equals some reference, else 0 (lm-eval's rule for several references);
 * a corpus value is the mean. Two details follow numpy, which the reference runs on: a string's
 * trailing NUL characters are dropped, and `ignore_case` keeps each side within the length of
 * the longest string on that side (numpy's fixed-width strings), so a lowercase form that grows
 * (`"İ"` → `"i̇"`) is cut to that length.
 *
 * For the forgiving SQuAD-normalised comparison use `em` (`./squad.ts`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exactMatch, exactMatchScore } from "./exact_match.ts";
 * strictEqual(exactMatch.score("42", ["42"]), 1);
 * strictEqual(exactMatch.score(" 42", ["42"]), 0);
 * strictEqual(exactMatchScore("Paris!", ["paris"], { ignoreCase: true, ignorePunctuation: true }), 1);
 * ```
 * @module
 */
import { compilePyRegex, pySub } from "../../util/py_regex.ts";
import type { ItemMetric, MetricOptionType } from "./mod.ts";
import { PYTHON_PUNCTUATION } from "./squad.ts";

/** Options of {@linkcode exactMatchScore} (a task's `metric_list` keys in snake_case). */
export interface ExactMatchOptions {
  /** Python regular expressions whose matches are deleted from both sides, in order. Default: none. */
  regexesToIgnore?: readonly string[];
  /** Compare lowercased text. Default: false. */
  ignoreCase?: boolean;
  /** Delete ASCII punctuation (`string.punctuation`) first. Default: false. */
  ignorePunctuation?: boolean;
  /** Delete the digits 0–9 first. Default: false. */
  ignoreNumbers?: boolean;
}

/** The `metric_list` keys of `exact_match` and their types. */
export const EXACT_MATCH_OPTIONS: Readonly<Record<string, MetricOptionType>> = {
  regexes_to_ignore: "regex_list",
  ignore_case: "boolean",
  ignore_punctuation: "boolean",
  ignore_numbers: "boolean",
};

const PUNCTUATION = new Set(PYTHON_PUNCTUATION);
const DIGITS = new Set("0123456789");
const TRAILING_NUL = /\0+$/;

/**
 * 1 when the prediction equals some reference after the options' steps, else 0.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exactMatchScore } from "./exact_match.ts";
 * strictEqual(exactMatchScore("$1,000", ["1000"], { regexesToIgnore: [",", "\\$"] }), 1);
 * strictEqual(exactMatchScore("answer 7", ["answer 8"], { ignoreNumbers: true }), 1);
 * ```
 */
export function exactMatchScore(
  prediction: string,
  references: readonly string[],
  options: ExactMatchOptions = {},
): number {
  if (references.length === 0) {
    throw new Error("exact_match: references is empty; give at least one reference string");
  }
  let preds = references.map(() => prediction);
  let refs = [...references];
  for (const pattern of options.regexesToIgnore ?? []) {
    const regex = compilePyRegex(pattern);
    preds = preds.map((p) => pySub(regex, p));
    refs = refs.map((r) => pySub(regex, r));
  }
  preds = preds.map((p) => p.replace(TRAILING_NUL, ""));
  refs = refs.map((r) => r.replace(TRAILING_NUL, ""));
  if (options.ignoreCase) {
    preds = lowerFixedWidth(preds);
    refs = lowerFixedWidth(refs);
  }
  if (options.ignorePunctuation) {
    preds = preds.map((p) => drop(p, PUNCTUATION));
    refs = refs.map((r) => drop(r, PUNCTUATION));
  }
  if (options.ignoreNumbers) {
    preds = preds.map((p) => drop(p, DIGITS));
    refs = refs.map((r) => drop(r, DIGITS));
  }
  return refs.some((r, i) => r === preds[i]) ? 1 : 0;
}

/** `np.char.lower` on one array: lowercase, each kept within the array's widest string. */
function lowerFixedWidth(texts: string[]): string[] {
  const width = Math.max(0, ...texts.map((t) => [...t].length));
  return texts.map((t) => [...t.toLowerCase()].slice(0, width).join("").replace(TRAILING_NUL, ""));
}

function drop(text: string, chars: ReadonlySet<string>): string {
  let out = "";
  for (const ch of text) if (!chars.has(ch)) out += ch;
  return out;
}

/**
 * `exact_match` with options applied, as a registry metric.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exactMatchMetric } from "./exact_match.ts";
 * strictEqual(exactMatchMetric({ ignoreCase: true }).score("YES", ["yes"]), 1);
 * ```
 */
export function exactMatchMetric(options: ExactMatchOptions = {}): ItemMetric {
  for (const pattern of options.regexesToIgnore ?? []) compilePyRegex(pattern);
  return {
    kind: "item",
    name: "exact_match",
    description:
      "Hugging Face evaluate's exact match as lm-eval runs it (no trimming; optional regexes_to_ignore, ignore_case, ignore_punctuation, ignore_numbers), best over references, 0–1",
    higherIsBetter: true,
    options: EXACT_MATCH_OPTIONS,
    score: (prediction, references) => exactMatchScore(prediction, references, options),
    withOptions: (raw) => exactMatchMetric(parseExactMatchOptions(raw)),
  };
}

/**
 * The {@linkcode ExactMatchOptions} from `metric_list` keys (`ignore_case: true` …). Throws an
 * `Error` naming a key that is unknown or has the wrong type.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseExactMatchOptions } from "./exact_match.ts";
 * deepStrictEqual(parseExactMatchOptions({ ignore_case: true, regexes_to_ignore: [","] }), {
 *   ignoreCase: true,
 *   regexesToIgnore: [","],
 * });
 * ```
 */
export function parseExactMatchOptions(raw: Readonly<Record<string, unknown>>): ExactMatchOptions {
  const out: ExactMatchOptions = {};
  for (const [key, value] of Object.entries(raw)) {
    const type = EXACT_MATCH_OPTIONS[key];
    if (!type) {
      throw new Error(
        `exact_match has no option "${key}"; its options: ${
          Object.keys(EXACT_MATCH_OPTIONS).join(", ")
        }`,
      );
    }
    if (type === "boolean") {
      if (typeof value !== "boolean") throw new Error(`exact_match: ${key} must be true or false`);
      if (key === "ignore_case") out.ignoreCase = value;
      else if (key === "ignore_punctuation") out.ignorePunctuation = value;
      else out.ignoreNumbers = value;
    } else {
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        throw new Error(`exact_match: ${key} must be a list of regular expressions (strings)`);
      }
      out.regexesToIgnore = value as string[];
    }
  }
  return out;
}

/**
 * `exact_match` with its default options: equality, best over references, 0–1 per item.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exactMatch } from "./exact_match.ts";
 * strictEqual(exactMatch.score("4", ["4", "four"]), 1);
 * strictEqual(exactMatch.score("Paris", ["paris"]), 0);
 * ```
 */
export const exactMatch: ItemMetric = exactMatchMetric();
