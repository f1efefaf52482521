/**
 * Strict exact match: lm-evaluation-harness's `exact_match` with its default settings
 * (`ignore_case=False`, `ignore_punctuation=False`, `ignore_numbers=False`, no regexes), applied
 * to the prediction and references with surrounding whitespace removed (Python's `str.strip()`
 * whitespace set). Case, punctuation and inner whitespace all count. 1 when the prediction equals
 * any reference, else 0; a corpus value is the mean.
 *
 * For the forgiving SQuAD-normalised comparison use `em` (`./squad.ts`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exactMatch } from "./exact_match.ts";
 * strictEqual(exactMatch.score(" 42\n", ["42"]), 1);
 * strictEqual(exactMatch.score("Paris", ["paris"]), 0);
 * ```
 * @module
 */
import type { ItemMetric } from "./mod.ts";
import { maxOverReferences, pyStrip } from "./_text.ts";

/**
 * 1 when the trimmed prediction equals some trimmed reference, else 0.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { strictExactMatch } from "./exact_match.ts";
 * strictEqual(strictExactMatch("yes ", ["no", " yes"]), 1);
 * ```
 */
export function strictExactMatch(prediction: string, references: readonly string[]): number {
  const trimmed = pyStrip(prediction);
  return maxOverReferences("exact_match", references, (r) => (pyStrip(r) === trimmed ? 1 : 0));
}

/**
 * `exact_match`: strict string equality after trimming, best over references, 0–1 per item.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { exactMatch } from "./exact_match.ts";
 * strictEqual(exactMatch.score("4", ["4", "four"]), 1);
 * ```
 */
export const exactMatch: ItemMetric = {
  kind: "item",
  name: "exact_match",
  description:
    "Strict exact match after trimming surrounding whitespace (lm-eval default settings), best over references, 0–1",
  higherIsBetter: true,
  score: strictExactMatch,
};
