/**
 * Extraction filters (lm-eval's `lm_eval/filters/extraction.py`): `regex` pulls the answer out of
 * a response, `remove_whitespace` drops its leading whitespace.
 *
 * `regex` follows lm-eval's `RegexFilter`: `re.findall(regex_pattern, response)`; no match gives
 * `fallback`; otherwise the `group_select`-th match (Python indexing, so `-1` is the last); a
 * pattern with several groups gives, for that match, its first non-empty group (`fallback` when
 * all are empty); the result is stripped of surrounding whitespace. The pattern is Python's
 * (`lib/util/py_regex.ts` translates it). A `group_select` past the matches of a response is an
 * error, as it is in lm-eval (an `IndexError` there).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { regexFilter, removeWhitespace } from "./extraction.ts";
 * const last = regexFilter.create({
 *   regex_pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)",
 *   group_select: -1,
 *   fallback: "[invalid]",
 * });
 * deepStrictEqual(last(["3 apples, then 12.", "none"]), ["12.", "[invalid]"]);
 * deepStrictEqual(removeWhitespace.create({})(["  7 ", "\n8"]), ["7 ", "8"]);
 * ```
 * @module
 */
import { compilePyRegex, pyFindall } from "../../util/py_regex.ts";
import { PY_WHITESPACE_CLASS, pyStrip } from "../metrics/_text.ts";
import type { FilterFunction } from "./mod.ts";

/** lm-eval's default `regex_pattern` (GSM8K's `#### <number>`). */
export const DEFAULT_REGEX_PATTERN = "#### (\\-?[0-9\\.\\,]+)";
/** lm-eval's default `fallback`. */
export const DEFAULT_FALLBACK = "[invalid]";

const LEADING_WHITESPACE = new RegExp(`^[${PY_WHITESPACE_CLASS}]+`, "u");

/** `regex`: the selected match of a Python regular expression, or the fallback. */
export const regexFilter: FilterFunction = {
  name: "regex",
  description: "the group_select-th match of regex_pattern (re.findall), stripped; else fallback",
  options: {
    regex_pattern: {
      type: "regex",
      default: DEFAULT_REGEX_PATTERN,
      description: "Python regular expression; its groups pick the answer",
    },
    group_select: {
      type: "integer",
      default: 0,
      description: "which match to keep, Python indexing (-1: the last)",
    },
    fallback: {
      type: "string",
      default: DEFAULT_FALLBACK,
      description: "the result when nothing matches",
    },
  },
  create(options) {
    const pattern = String(options.regex_pattern);
    const regex = compilePyRegex(pattern);
    const select = Number(options.group_select);
    const fallback = String(options.fallback);
    return (responses) =>
      responses.map((response) => {
        const matches = pyFindall(regex, response);
        if (matches.length === 0) return fallback;
        const index = select < 0 ? matches.length + select : select;
        if (index < 0 || index >= matches.length) {
          throw new Error(
            `filter regex: group_select ${select} but ${JSON.stringify(pattern)} matches ` +
              `${matches.length} time(s) in ${JSON.stringify(response)}; use group_select 0 ` +
              `(first match) or -1 (last)`,
          );
        }
        let match = matches[index];
        if (Array.isArray(match)) match = match.find((g) => g !== "") ?? fallback;
        return pyStrip(match);
      });
  },
};

/** `remove_whitespace`: leading whitespace removed (Python's `str.lstrip()`). */
export const removeWhitespace: FilterFunction = {
  name: "remove_whitespace",
  description: "leading whitespace removed (str.lstrip)",
  options: {},
  create: () => (responses) => responses.map((r) => r.replace(LEADING_WHITESPACE, "")),
};
