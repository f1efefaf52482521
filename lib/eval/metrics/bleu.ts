/**
 * Smoothed sentence BLEU-4 as CodeXGLUE's code-to-text evaluator computes it
 * (`Code-Text/code-to-text/evaluator/evaluator.py`, the `smooth_bleu` script adapted from Moses'
 * `bleu.py`; `computeMaps` + `bleuFromMaps`):
 *
 * 1. Each text is stripped, lowercased and split into word runs (`\w+`) and single other
 *    non-space characters (`splitPuncts`).
 * 2. NIST-style normalisation (`normalize`): unescape `&lt; &gt; &quot; &amp;`, lowercase, put
 *    spaces around ASCII punctuation (so `_` splits identifiers such as `get_name`), split.
 * 3. Clipped n-gram matches for n = 1..4 against the maximum count over all references; the
 *    reference length is the shortest reference ("shortest" effective length).
 * 4. Add-one smoothing on the 2- to 4-gram precisions (not on unigrams), geometric mean, and the
 *    brevity penalty `exp(min(0, 1 − (r + 1)/(c + 1)))` with r the reference and c the prediction
 *    length.
 *
 * A quirk kept for fidelity: the unigram term of an empty prediction is log(0 + ε) − log(0 + ε) = 0
 * and the smoothed terms are log(1) − log(1) = 0, so an empty prediction scores
 * `100·exp(−r)` (about 5 against a 3-token reference) rather than 0.
 *
 * Several references are scored together (as several gold lines with the same id), not as a
 * maximum over references. Scale: 0–100 per item; a corpus value is the mean over items, which is
 * `bleuFromMaps(...)[0]`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { bleu4 } from "./bleu.ts";
 * strictEqual(bleu4.score("Returns the name.", ["returns the name"]), 65.80370064762462);
 * ```
 * @module
 */
import type { ItemMetric } from "./mod.ts";
import { PY_WHITESPACE_CLASS, PY_WORD_CLASS, pySplit, pyStrip } from "./_text.ts";

/** Largest n-gram order. */
const MAX_ORDER = 4;
/** Python's `sys.float_info.min`, added inside the logarithms to avoid log(0). */
const FLOAT_MIN = 2.2250738585072014e-308;
/** Add-one smoothing applies to n-gram orders above this one. */
const UNSMOOTHED_ORDER = 1;
/** BLEU is reported on a 0–100 scale. */
const PERCENT = 100;

/** `splitPuncts`: runs of word characters, or single characters that are neither word nor space. */
const WORD_OR_SYMBOL = new RegExp(
  `[${PY_WORD_CLASS}]+|[^${PY_WHITESPACE_CLASS}${PY_WORD_CLASS}]`,
  "gu",
);
/** `normalize1` of the Moses script, in order. */
const NORMALIZE_1: ReadonlyArray<[RegExp, string]> = [
  [/<skipped>/g, ""],
  [/-\n/g, ""],
  [/\n/g, " "],
];
/** `normalize2` of the Moses script, in order (the first class is its ASCII punctuation ranges). */
const NORMALIZE_2: ReadonlyArray<[RegExp, string]> = [
  [/([\x7b-\x7e\x5b-\x60\x20-\x26\x28-\x2b\x3a-\x40\x2f])/g, " $1 "],
  [/([^0-9])([.,])/g, "$1 $2 "],
  [/([.,])([^0-9])/g, " $1 $2"],
  [/([0-9])(-)/g, "$1 $2 "],
];

/** `xml.sax.saxutils.unescape(s, {"&quot;": '"'})`. */
function unescapeXml(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&");
}

/** `splitPuncts(text.strip().lower())`, as `computeMaps` prepares every line. */
function splitPuncts(text: string): string {
  return (pyStrip(text).toLowerCase().match(WORD_OR_SYMBOL) ?? []).join(" ");
}

/** The Moses/NIST `normalize`: returns the tokens. */
function normalize(text: string): string[] {
  let s = text;
  for (const [pattern, replacement] of NORMALIZE_1) s = s.replace(pattern, replacement);
  s = ` ${unescapeXml(s)} `.toLowerCase();
  for (const [pattern, replacement] of NORMALIZE_2) s = s.replace(pattern, replacement);
  return pySplit(s);
}

/** Counts of the n-grams of one order, keyed by the tokens joined with a space. */
function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(" ");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * BLEU-4 of one prediction against its references, 0–100, as
 * `bleu(refs, candidate)[0] * 100` on `computeMaps`-prepared text.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { smoothBleu4 } from "./bleu.ts";
 * strictEqual(smoothBleu4("a b c d", ["a b c d"]), 100);
 * strictEqual(smoothBleu4("", ["a b c"]), 4.978706836786395); // 100·exp(−3)
 * ```
 */
export function smoothBleu4(prediction: string, references: readonly string[]): number {
  if (references.length === 0) {
    throw new Error(
      "bleu4: references is empty; give at least one reference string per prediction",
    );
  }
  const test = normalize(splitPuncts(prediction));
  const refs = references.map((r) => normalize(splitPuncts(r)));
  const refLength = Math.min(...refs.map((r) => r.length));
  let logBleu = 0;
  for (let n = 1; n <= MAX_ORDER; n++) {
    const maxRefCounts = new Map<string, number>();
    for (const ref of refs) {
      for (const [ngram, count] of ngramCounts(ref, n)) {
        maxRefCounts.set(ngram, Math.max(maxRefCounts.get(ngram) ?? 0, count));
      }
    }
    let correct = 0;
    for (const [ngram, count] of ngramCounts(test, n)) {
      correct += Math.min(maxRefCounts.get(ngram) ?? 0, count);
    }
    const guess = Math.max(test.length - n + 1, 0);
    const smooth = n > UNSMOOTHED_ORDER ? 1 : 0;
    logBleu += Math.log(correct + smooth + FLOAT_MIN) - Math.log(guess + smooth + FLOAT_MIN);
  }
  logBleu /= MAX_ORDER;
  const brevityPenalty = Math.min(0, 1 - (refLength + 1) / (test.length + 1));
  return Math.exp(logBleu + brevityPenalty) * PERCENT;
}

/**
 * `bleu4`: CodeXGLUE code-to-text smoothed sentence BLEU-4, 0–100 per item, mean over items.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { bleu4 } from "./bleu.ts";
 * strictEqual(bleu4.higherIsBetter, true);
 * strictEqual(bleu4.score("x = 1", ["x = 1"]), 100);
 * ```
 */
export const bleu4: ItemMetric = {
  kind: "item",
  name: "bleu4",
  description:
    "CodeXGLUE code-to-text smoothed sentence BLEU-4 (lowercased, punctuation split), 0–100, mean over items",
  higherIsBetter: true,
  score: smoothBleu4,
};
