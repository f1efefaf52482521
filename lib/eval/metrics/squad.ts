/**
 * SQuAD v1.1 exact match and token F1, as the official `evaluate-v1.1.py` computes them:
 *
 * - `normalize_answer`: lowercase; delete every character of Python's `string.punctuation`
 *   (``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``; other punctuation such as `“` or `¿` stays); replace
 *   the whole words `a`, `an`, `the` by a space (word boundaries as Python's Unicode `\b`); collapse
 *   whitespace (Python's `str.split()`).
 * - `em`: 1 when the normalised prediction equals a normalised reference, else 0.
 * - `f1`: harmonic mean of token precision and recall over bags of normalised tokens; 0 when no
 *   token is shared (so two empty answers score F1 0 but EM 1, as in the script).
 * - Several references: the maximum over them (`metric_max_over_ground_truths`).
 *
 * Scale: each item scores in 0–1 and a corpus value is the mean over items. The SQuAD script
 * prints the same means multiplied by 100.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { squadEm, squadF1 } from "./squad.ts";
 * strictEqual(squadEm("The Eiffel Tower!", ["eiffel tower"]), 1);
 * strictEqual(squadF1("in Paris, France", ["Paris"]), 0.5);
 * ```
 * @module
 */
import type { ItemMetric } from "./mod.ts";
import { countKeys, maxOverReferences, PY_WORD_CLASS, pySplit } from "./_text.ts";

/** Python's `string.punctuation`, the characters `normalize_answer` deletes. */
export const PYTHON_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const PUNCTUATION = new Set(PYTHON_PUNCTUATION);
/** `\b(a|an|the)\b` with Python's Unicode word boundaries. */
const ARTICLES = new RegExp(`(?<![${PY_WORD_CLASS}])(?:a|an|the)(?![${PY_WORD_CLASS}])`, "gu");

/**
 * SQuAD v1.1 `normalize_answer`: lowercase, drop ASCII punctuation, drop articles, fix whitespace.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { normalizeAnswer } from "./squad.ts";
 * strictEqual(normalizeAnswer("  The  Cat's   hat, an ode. "), "cats hat ode");
 * ```
 */
export function normalizeAnswer(text: string): string {
  let out = "";
  for (const ch of text.toLowerCase()) if (!PUNCTUATION.has(ch)) out += ch;
  return pySplit(out.replace(ARTICLES, " ")).join(" ");
}

/** Token F1 between one prediction and one reference (`f1_score` in the script). */
function f1Single(prediction: string, reference: string): number {
  const predictionTokens = pySplit(normalizeAnswer(prediction));
  const referenceTokens = pySplit(normalizeAnswer(reference));
  const referenceCounts = countKeys(referenceTokens);
  let same = 0;
  for (const [token, count] of countKeys(predictionTokens)) {
    same += Math.min(count, referenceCounts.get(token) ?? 0);
  }
  if (same === 0) return 0;
  const precision = same / predictionTokens.length;
  const recall = same / referenceTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * SQuAD v1.1 exact match (0 or 1), best over the references.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { squadEm } from "./squad.ts";
 * strictEqual(squadEm("an apple", ["Apple.", "pear"]), 1);
 * ```
 */
export function squadEm(prediction: string, references: readonly string[]): number {
  const normalized = normalizeAnswer(prediction);
  return maxOverReferences("em", references, (r) => (normalizeAnswer(r) === normalized ? 1 : 0));
}

/**
 * SQuAD v1.1 token F1 (0–1), best over the references.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { squadF1 } from "./squad.ts";
 * strictEqual(squadF1("red red car", ["the red car"]), 0.8);
 * ```
 */
export function squadF1(prediction: string, references: readonly string[]): number {
  return maxOverReferences("f1", references, (r) => f1Single(prediction, r));
}

/**
 * `em`: SQuAD v1.1 exact match after `normalize_answer`, best over references, 0–1 per item.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { em } from "./squad.ts";
 * strictEqual(em.score("The answer.", ["answer"]), 1);
 * ```
 */
export const em: ItemMetric = {
  kind: "item",
  name: "em",
  description:
    "SQuAD v1.1 exact match (lowercase, no punctuation/articles, whitespace collapsed), best over references, 0–1",
  higherIsBetter: true,
  score: squadEm,
};

/**
 * `f1`: SQuAD v1.1 token F1 after `normalize_answer`, best over references, 0–1 per item.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { f1 } from "./squad.ts";
 * strictEqual(f1.score("blue sky", ["the sky"]), 0.6666666666666666);
 * ```
 */
export const f1: ItemMetric = {
  kind: "item",
  name: "f1",
  description: "SQuAD v1.1 token F1 over normalised answers, best over references, 0–1",
  higherIsBetter: true,
  score: squadF1,
};
