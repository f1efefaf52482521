/**
 * Text helpers shared by the metrics, written to behave like the Python built-ins the reference
 * implementations call, so that scores match them on any input (Unicode included):
 *
 * - Whitespace is Python's `str.isspace()` set (what `str.split()` and `str.strip()` use). It
 *   differs from JavaScript's `\s` and `String.prototype.trim`: Python also counts U+001C–U+001F
 *   and U+0085 as whitespace, and does not count U+FEFF (the byte-order mark).
 * - A "word character" is Python's `\w` for `str` patterns: a letter or a number (Unicode general
 *   categories L* and N*, which is exactly Python's `str.isalnum()`) or `_`.
 * - Lowercasing is `String.prototype.toLowerCase`, which applies the same full Unicode mapping as
 *   Python's `str.lower()` (for example `"İ"` becomes `"i̇"` in both).
 *
 * @module
 */

/** Characters Python's `str.isspace()` accepts, as the body of a regular-expression class. */
export const PY_WHITESPACE_CLASS =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
/** Python's `\w` for `str` patterns, as the body of a regular-expression class (needs the `u` flag). */
export const PY_WORD_CLASS = "\\p{L}\\p{N}_";

const WHITESPACE_RUN = new RegExp(`[${PY_WHITESPACE_CLASS}]+`, "u");
const LEADING_WHITESPACE = new RegExp(`^[${PY_WHITESPACE_CLASS}]+`, "u");
const TRAILING_WHITESPACE = new RegExp(`[${PY_WHITESPACE_CLASS}]+$`, "u");

/**
 * Python's `str.strip()` with no argument: removes leading and trailing whitespace.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { pyStrip } from "./_text.ts";
 * strictEqual(pyStrip("\u0085 yes \t"), "yes");
 * strictEqual("\u0085 yes \t".trim(), "\u0085 yes"); // String.prototype.trim keeps the U+0085
 * ```
 */
export function pyStrip(text: string): string {
  return text.replace(LEADING_WHITESPACE, "").replace(TRAILING_WHITESPACE, "");
}

/**
 * Python's `str.split()` with no argument: the runs of non-whitespace, no empty strings.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { pySplit } from "./_text.ts";
 * deepStrictEqual(pySplit("  the \u3000cat  "), ["the", "cat"]);
 * ```
 */
export function pySplit(text: string): string[] {
  return text.split(WHITESPACE_RUN).filter((token) => token.length > 0);
}

/**
 * Applies a per-reference score and keeps the best, as the reference scripts'
 * `metric_max_over_ground_truths` does. Throws when there are no references, naming the metric.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { maxOverReferences } from "./_text.ts";
 * const best = maxOverReferences("length_match", ["ab", "abc"], (ref) => (ref === "abc" ? 1 : 0));
 * strictEqual(best, 1);
 * ```
 */
export function maxOverReferences(
  metric: string,
  references: readonly string[],
  scoreOne: (reference: string) => number,
): number {
  if (references.length === 0) {
    throw new Error(
      `${metric}: references is empty; give at least one reference string per prediction`,
    );
  }
  let best = -Infinity;
  for (const reference of references) best = Math.max(best, scoreOne(reference));
  return best;
}

/**
 * Counts how often each key occurs (Python's `collections.Counter`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { countKeys } from "./_text.ts";
 * strictEqual(countKeys(["a", "b", "a"]).get("a"), 2);
 * ```
 */
export function countKeys(keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}
