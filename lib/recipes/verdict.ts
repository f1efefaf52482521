/**
 * A recipe's gain verdict, the issue's two conditions computed from the runs' files:
 *
 * 1. **gain**: the tuned model beats the base on the headline metric, item by item, with a paired
 *    test p < {@linkcode GAIN_P} — McNemar's test when the metric is 0/1 on every item (its
 *    exact binomial form for few discordant pairs), else the paired bootstrap's p-value
 *    (`compareRuns`, lib/eval/compare.ts);
 * 2. **quantized within CI**: the quantized model's score lies inside the tuned model's 95%
 *    confidence interval (results.json).
 *
 * `met` is both, unless the headline task reports per-class accuracy and the tuned model gives
 * one answer to every item (100% on one gold class, 0% on every other): always answering the
 * majority class can beat a base model that answers the other one, and that is not a gain.
 * The verdict carries every number it was decided on, so a report can say why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gainVerdict } from "./verdict.ts";
 * const v = gainVerdict({
 *   headline: { task: "qa", metric: "f1" },
 *   comparison: { meanA: 0.1, meanB: 0.4, delta: 0.3, ci: [0.2, 0.4], pValue: 0.002, n: 200 },
 *   tuned: { value: 0.4, stderr: 0.03, ci: [0.34, 0.46], n: 200, method: "bootstrap" },
 *   quantized: { value: 0.39, stderr: 0.03, ci: [0.33, 0.45], n: 200, method: "bootstrap" },
 * });
 * assert.equal(v.met, true);
 * assert.match(v.text, /gain met/);
 * ```
 * @module
 */
import type { MetricComparison } from "../eval/compare.ts";
import type { Estimate } from "../eval/stats.ts";
import type { RecipeHeadline } from "./presets.ts";

/** The paired test's threshold: tuned beats base when p is below it. */
export const GAIN_P = 0.01;

/** What {@linkcode gainVerdict} decides on. */
export interface VerdictInput {
  /** Task and metric. */
  headline: RecipeHeadline;
  /** tuned − base on the headline metric over the shared items (`compareRuns`). */
  comparison: MetricComparison;
  /** The tuned model's estimate (results.json, with its 95% CI). */
  tuned: Estimate;
  /** The quantized model's estimate. */
  quantized: Estimate;
  /** The tuned model's accuracy per gold class (label → 0–1), when the task reports it. */
  tunedPerClass?: Record<string, number>;
}

/** A recipe's verdict. */
export interface GainVerdict {
  /** Task and metric judged. */
  headline: RecipeHeadline;
  /** Mean of the base and the tuned model over the shared items. */
  base: number;
  tuned: number;
  /** tuned − base, with its paired-bootstrap 95% CI. */
  delta: number;
  deltaCi: [number, number];
  /** Items paired. */
  n: number;
  /** The paired test used and its two-sided p-value. */
  test: "mcnemar-exact" | "mcnemar-chi2" | "paired-bootstrap";
  p: number;
  /** delta > 0 and p < {@linkcode GAIN_P}. */
  gain: boolean;
  /** The tuned model's 95% CI and the quantized model's score. */
  tunedCi: [number, number];
  quantized: number;
  /** The quantized score lies in `tunedCi`. */
  quantizedWithinCi: boolean;
  /** The one answer the tuned model gives to every item (per-class accuracy 100% on it, 0% on
   * the others), or null. */
  oneAnswer: string | null;
  /** `gain` and `quantizedWithinCi`, and `oneAnswer` null. */
  met: boolean;
  /** One line for reports: "gain met: …" or "gain not met: …", with the numbers. */
  text: string;
}

/**
 * Decide a recipe's verdict (see the module documentation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gainVerdict } from "./verdict.ts";
 * const e = (v: number) => ({ value: v, stderr: 0.03, ci: [v - 0.07, v + 0.07] as [number, number], n: 200, method: "wilson" as const });
 * const v = gainVerdict({
 *   headline: { task: "nli", metric: "acc" },
 *   comparison: { meanA: 0.585, meanB: 0.53, delta: -0.055, ci: [-0.12, 0.01], pValue: 0.1, n: 200,
 *     mcnemar: { b: 30, c: 19, statistic: 2.04, pValue: 0.15, method: "chi2-corrected" } },
 *   tuned: e(0.53), quantized: e(0.52),
 * });
 * assert.equal(v.gain, false);
 * assert.equal(v.test, "mcnemar-chi2");
 * assert.match(v.text, /^gain not met/);
 * // A "gain" by answering "no" to every item is not met.
 * const always = gainVerdict({
 *   headline: { task: "nli", metric: "acc" },
 *   comparison: { meanA: 0.395, meanB: 0.605, delta: 0.21, ci: [0.07, 0.36], pValue: 0.004, n: 200 },
 *   tuned: e(0.605), quantized: e(0.605), tunedPerClass: { no: 1, yes: 0 },
 * });
 * assert.equal(always.gain, true);
 * assert.equal(always.oneAnswer, "no");
 * assert.equal(always.met, false);
 * assert.match(always.text, /answers "no" to every item/);
 * ```
 */
export function gainVerdict(input: VerdictInput): GainVerdict {
  const { headline, comparison: c, tuned, quantized } = input;
  const test = c.mcnemar
    ? (c.mcnemar.method === "exact" ? "mcnemar-exact" : "mcnemar-chi2")
    : "paired-bootstrap";
  const p = c.mcnemar ? c.mcnemar.pValue : c.pValue;
  const gain = c.delta > 0 && p < GAIN_P;
  const quantizedWithinCi = quantized.value >= tuned.ci[0] && quantized.value <= tuned.ci[1];
  const oneAnswer = constantAnswer(input.tunedPerClass ?? {});
  const met = gain && quantizedWithinCi && oneAnswer === null;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const pText = p < 0.001 ? "p < 0.001" : `p = ${p.toPrecision(2)}`;
  const text = `gain ${met ? "met" : "not met"}: ${headline.task} ${headline.metric} base ` +
    `${pct(c.meanA)} → tuned ${pct(c.meanB)} (Δ ${c.delta >= 0 ? "+" : ""}${pct(c.delta)}, ` +
    `95% CI [${pct(c.ci[0])}, ${pct(c.ci[1])}], ${test} ${pText}, n = ${c.n}; ` +
    `${gain ? "significant" : `not a significant gain at p < ${GAIN_P}`}); quantized ` +
    `${pct(quantized.value)} ${quantizedWithinCi ? "within" : "outside"} the tuned 95% CI ` +
    `[${pct(tuned.ci[0])}, ${pct(tuned.ci[1])}]` +
    (oneAnswer === null
      ? ""
      : `; the tuned model answers "${oneAnswer}" to every item (per-class ` +
        `accuracy ${
          Object.entries(input.tunedPerClass!).map(([k, v]) => `${k} ${pct(v)}`).join(", ")
        })`);
  return {
    headline,
    base: c.meanA,
    tuned: c.meanB,
    delta: c.delta,
    deltaCi: c.ci,
    n: c.n,
    test,
    p,
    gain,
    tunedCi: tuned.ci,
    quantized: quantized.value,
    quantizedWithinCi,
    oneAnswer,
    met,
    text,
  };
}

/** The class answered on every item: accuracy 1 on it and 0 on each of at least one other class. */
function constantAnswer(perClass: Record<string, number>): string | null {
  const entries = Object.entries(perClass);
  const right = entries.filter(([, v]) => v === 1);
  return entries.length >= 2 && right.length === 1 && entries.every(([, v]) => v === 1 || v === 0)
    ? right[0][0]
    : null;
}
