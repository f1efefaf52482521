/**
 * Statistics for evaluation results: point estimates with standard errors and confidence
 * intervals, bootstrap estimates for arbitrary metrics, and paired tests for comparing two
 * systems scored on the same items.
 *
 * Conventions:
 * - Confidence intervals are two-sided at `confidence` (default 0.95).
 * - `meanEstimate` uses the closed form of lm-evaluation-harness's `mean_stderr`: sample standard
 *   deviation (ddof = 1) over √n, and a normal (z) interval mean ± z·stderr rather than a
 *   Student-t one, matching how lm-eval reports and how the bootstrap behaves for large n.
 * - With a single item there is no sampling variability to estimate: `stderr` is `NaN` and the
 *   interval is `[NaN, NaN]` (a deliberate "undefined", not 0, so nobody reads it as exact).
 * - Bootstrap functions are deterministic: resampling draws from a seeded mulberry32 stream
 *   (`Rng` from `lib/util/rng.ts`), so the same inputs and seed give bit-identical results.
 *   Percentile intervals use linear interpolation between order statistics (NumPy's default
 *   `percentile` method), not simple-statistics' `quantile` (which does not interpolate).
 * - Means and sample standard deviations are simple-statistics' `mean` and
 *   `sampleStandardDeviation` (compensated summation); the distribution functions that must
 *   match SciPy to 1e-12 are tunebook's own (`_distributions.ts`, tested against SciPy vectors).
 * - Invalid input (empty arrays, arrays of different lengths, NaN or infinite scores) throws an
 *   `Error` naming the function, the argument and the fix.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert/strict";
 * import { mcnemar, meanEstimate, pairedBootstrap } from "./stats.ts";
 * const base = [1, 0, 1, 1, 0, 1, 0, 0, 1, 0];
 * const tuned = [1, 1, 1, 1, 0, 1, 1, 0, 1, 1];
 * const [low, high] = meanEstimate(tuned).ci;
 * ok(low < 0.8 && 0.8 < high);
 * // Ten items are too few to call a 0.5 → 0.8 improvement significant:
 * ok(pairedBootstrap(base, tuned, { resamples: 200 }).pValue > 0.05);
 * strictEqual(mcnemar(base.map(Boolean), tuned.map(Boolean)).pValue, 0.25);
 * ```
 * @module
 */
import { mean, sampleStandardDeviation } from "simple-statistics";
import { Rng } from "../util/rng.ts";
import { binomialTestPValue, chiSquareSf, normalQuantile } from "./_distributions.ts";

export {
  binomialCdf,
  binomialTestPValue,
  chiSquareSf,
  normalCdf,
  normalQuantile,
} from "./_distributions.ts";

/** Default two-sided confidence level of every interval. */
export const DEFAULT_CONFIDENCE = 0.95;
/** Default number of bootstrap resamples. */
export const DEFAULT_RESAMPLES = 1000;
/** Default bootstrap seed. */
export const DEFAULT_SEED = 0;
/** Default McNemar threshold: below this many discordant pairs the exact test is used. */
export const DEFAULT_EXACT_BELOW = 25;
/** Yates' continuity correction subtracted from |b − c| in McNemar's chi-square statistic. */
const CONTINUITY_CORRECTION = 1;
/** Degrees of freedom of McNemar's chi-square statistic. */
const MCNEMAR_DF = 1;
/** Stream names, so the bootstrap functions draw independent sequences for the same seed. */
const BOOTSTRAP_STREAM = "stats.bootstrap";
const PAIRED_BOOTSTRAP_STREAM = "stats.pairedBootstrap";

/** A point estimate with its uncertainty. */
export interface Estimate {
  /** The point estimate on the full sample. */
  value: number;
  /** Standard error of `value` (`NaN` when it cannot be estimated, i.e. n = 1). */
  stderr: number;
  /** Two-sided confidence interval `[low, high]` at the requested confidence. */
  ci: [number, number];
  /** Number of items (trials, for a proportion). */
  n: number;
  /** How `stderr` and `ci` were obtained. */
  method: "normal" | "wilson" | "bootstrap";
}

/** Options shared by every interval. */
export interface ConfidenceOptions {
  /** Two-sided confidence level in (0, 1). Default {@link DEFAULT_CONFIDENCE} (0.95). */
  confidence?: number;
}

/** Options of the bootstrap functions. */
export interface BootstrapOptions extends ConfidenceOptions {
  /** Number of resamples, a positive integer. Default {@link DEFAULT_RESAMPLES} (1000). */
  resamples?: number;
  /** Integer seed of the resampling stream. Default {@link DEFAULT_SEED} (0). */
  seed?: number;
}

/** Result of {@link pairedBootstrap}. */
export interface PairedComparison {
  /** mean(b) − mean(a) on the full sample: positive when system b scores higher. */
  delta: number;
  /** Percentile bootstrap confidence interval of `delta`. */
  ci: [number, number];
  /** Two-sided bootstrap p-value for H0: no difference (definition at {@link pairedBootstrap}). */
  pValue: number;
  /** Number of paired items. */
  n: number;
  /** Number of bootstrap resamples used. */
  resamples: number;
}

/** Result of {@link mcnemar}. */
export interface McNemarResult {
  /** Items system a got right and system b got wrong. */
  b: number;
  /** Items system a got wrong and system b got right. */
  c: number;
  /** min(b, c) for the exact test; (max(0, |b − c| − 1))² / (b + c) for the chi-square test. */
  statistic: number;
  /** Two-sided p-value for H0: both systems have the same accuracy. */
  pValue: number;
  /** Which test produced `pValue`. */
  method: "exact" | "chi2-corrected";
}

/** Options of {@link mcnemar}. */
export interface McNemarOptions {
  /**
   * Use the exact binomial test when the number of discordant pairs b + c is below this,
   * else the continuity-corrected chi-square test. Default {@link DEFAULT_EXACT_BELOW} (25).
   */
  exactBelow?: number;
}

/**
 * Mean of per-item scores with a closed-form standard error and a normal-theory interval.
 *
 * `stderr` = sample standard deviation (ddof = 1) / √n, as lm-evaluation-harness's
 * `mean_stderr`; `ci` = mean ± z·stderr with z = Φ⁻¹(1 − (1 − confidence) / 2) (1.96 at 95%).
 * The z (not Student-t) quantile is a deliberate choice, to match lm-eval and the bootstrap;
 * for n below about 30 the interval is slightly narrower than a t interval. For 0/1 scores,
 * {@link wilsonEstimate} gives better coverage near 0 and 1.
 * With one value, `stderr` is `NaN` and `ci` is `[NaN, NaN]`.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert/strict";
 * import { meanEstimate } from "./stats.ts";
 * const est = meanEstimate([1, 0, 1, 1]);
 * strictEqual(est.value, 0.75);
 * strictEqual(est.stderr, 0.25);
 * // 0.75 ± 1.96 · 0.25: a normal interval may leave [0, 1]
 * ok(Math.abs(est.ci[0] - 0.26000900386498627) < 1e-12);
 * ok(Math.abs(est.ci[1] - 1.2399909961350137) < 1e-12);
 * ```
 */
export function meanEstimate(values: readonly number[], options: ConfidenceOptions = {}): Estimate {
  const where = "meanEstimate";
  checkScores(where, "values", values);
  const z = zFor(where, options.confidence);
  const n = values.length;
  const list = [...values];
  const value = mean(list);
  const stderr = n > 1 ? sampleStandardDeviation(list) / Math.sqrt(n) : NaN;
  return { value, stderr, ci: [value - z * stderr, value + z * stderr], n, method: "normal" };
}

/**
 * Accuracy (share of successes) of 0/1 or boolean outcomes with the Wilson score interval,
 * which keeps its coverage for small n and accuracies near 0 or 1 (where the normal interval
 * can leave [0, 1]). `value` is the plain proportion p̂ and `stderr` the binomial
 * √(p̂(1 − p̂)/n); the interval is (p̂ + z²/2n ± z·√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n), as
 * statsmodels' `proportion_confint(method="wilson")`.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert/strict";
 * import { wilsonEstimate } from "./stats.ts";
 * const est = wilsonEstimate([true, true, true, true, true]);
 * strictEqual(est.value, 1);
 * ok(Math.abs(est.ci[0] - 0.5655175352168249) < 1e-12);
 * strictEqual(est.ci[1], 1);
 * ```
 */
export function wilsonEstimate(
  outcomes: readonly (boolean | number)[],
  options: ConfidenceOptions = {},
): Estimate {
  const where = "wilsonEstimate";
  checkNonEmpty(where, "outcomes", outcomes);
  let successes = 0;
  outcomes.forEach((outcome, i) => {
    if (outcome === true || outcome === 1) successes++;
    else if (outcome !== false && outcome !== 0) {
      throw new Error(
        `${where}: outcomes[${i}] is ${String(outcome)}; each outcome must be a boolean or ` +
          `0/1 — use meanEstimate for graded scores`,
      );
    }
  });
  const z = zFor(where, options.confidence);
  const n = outcomes.length;
  const p = successes / n;
  const z2n = (z * z) / n;
  const center = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n));
  const ci: [number, number] = [Math.max(0, center - half), Math.min(1, center + half)];
  return { value: p, stderr: Math.sqrt((p * (1 - p)) / n), ci, n, method: "wilson" };
}

/**
 * Bootstrap estimate of any statistic over items: `value` is `statistic(items)`, `stderr`
 * the standard deviation (ddof = 1) of the statistic over `resamples` resamples drawn with
 * replacement, and `ci` the percentile interval of those replicates. Seeded, so repeatable.
 * `statistic` must return a number for any non-empty resample (a `NaN` is reported as an error).
 * With one item, `stderr` is `NaN` and `ci` is `[NaN, NaN]`, as in {@link meanEstimate}.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { bootstrapEstimate } from "./stats.ts";
 * const items = [{ ok: true }, { ok: false }, { ok: true }, { ok: true }];
 * const accuracy = (sample: { ok: boolean }[]) =>
 *   sample.filter((item) => item.ok).length / sample.length;
 * const est = bootstrapEstimate(items, accuracy, { resamples: 200, seed: 7 });
 * strictEqual(est.value, 0.75);
 * deepStrictEqual(est.ci, [0.5, 1]); // seeded: the same on every run
 * ```
 */
export function bootstrapEstimate<T>(
  items: readonly T[],
  statistic: (sample: T[]) => number,
  options: BootstrapOptions = {},
): Estimate {
  const where = "bootstrapEstimate";
  checkNonEmpty(where, "items", items);
  const { confidence, resamples, seed } = bootstrapSettings(where, options);
  const n = items.length;
  const value = statistic([...items]);
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new Error(
      `${where}: statistic returned ${String(value)} on the full sample; it must return a number`,
    );
  }
  if (n === 1) return { value, stderr: NaN, ci: [NaN, NaN], n, method: "bootstrap" };
  const rng = new Rng(seed, BOOTSTRAP_STREAM);
  const replicates = new Float64Array(resamples);
  const sample: T[] = new Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = items[rng.int(0, n - 1)];
    const replicate = statistic(sample.slice());
    if (typeof replicate !== "number" || Number.isNaN(replicate)) {
      throw new Error(
        `${where}: statistic returned ${String(replicate)} on resample ${r}; it must return ` +
          `a number for any non-empty resample (guard divisions by counts that can be 0)`,
      );
    }
    replicates[r] = replicate;
  }
  const stderr = resamples > 1 ? sampleStandardDeviation(Array.from(replicates)) : NaN;
  return { value, stderr, ci: percentileInterval(replicates, confidence), n, method: "bootstrap" };
}

/**
 * Paired bootstrap comparison of two systems scored on the same items, a[i] and b[i] being
 * their scores on item i. `delta` = mean(b) − mean(a); each resample draws item indices with
 * replacement and recomputes the delta on them; `ci` is the percentile interval of those deltas.
 *
 * p-value (two-sided, Koehn 2004 style): with B resamples and k the number of resampled deltas
 * on the other side of 0 from the observed `delta` (δ* ≤ 0 when delta ≥ 0, δ* ≥ 0 when
 * delta < 0; ties at 0 count against the difference), pValue = min(1, 2·(k + 1)/(B + 1)).
 * The +1 terms (Davison & Hinkley 1997) keep a Monte Carlo p-value from being exactly 0, so the
 * smallest reportable p-value is 2/(B + 1). Identical systems give delta = 0 and pValue = 1.
 * With one item, `ci` is `[NaN, NaN]` and `pValue` is `NaN`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { pairedBootstrap } from "./stats.ts";
 * const base = [0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0];
 * const tuned = [1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1];
 * const cmp = pairedBootstrap(base, tuned, { resamples: 500, seed: 1 });
 * strictEqual(cmp.delta, 0.5);
 * deepStrictEqual(cmp.ci, [0.25, 0.75]);
 * strictEqual(cmp.pValue, 2 / 501); // the floor 2/(B + 1): no resampled delta reached 0
 * ```
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: BootstrapOptions = {},
): PairedComparison {
  const where = "pairedBootstrap";
  checkScores(where, "a", a);
  checkScores(where, "b", b);
  checkSameLength(where, a, b);
  const { confidence, resamples, seed } = bootstrapSettings(where, options);
  const n = a.length;
  const differences = b.map((score, i) => score - a[i]);
  const delta = mean([...b]) - mean([...a]);
  if (n === 1) return { delta, ci: [NaN, NaN], pValue: NaN, n, resamples };
  const rng = new Rng(seed, PAIRED_BOOTSTRAP_STREAM);
  const deltas = new Float64Array(resamples);
  let against = 0;
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += differences[rng.int(0, n - 1)];
    const resampled = sum / n;
    deltas[r] = resampled;
    if (delta >= 0 ? resampled <= 0 : resampled >= 0) against++;
  }
  const pValue = Math.min(1, (2 * (against + 1)) / (resamples + 1));
  return { delta, ci: percentileInterval(deltas, confidence), pValue, n, resamples };
}

/**
 * McNemar's test for two systems' correct/incorrect outcomes on the same items (a[i], b[i]
 * true when the system got item i right). Only discordant items count: `b` = a right and b
 * wrong, `c` = a wrong and b right. When b + c < `exactBelow` (default 25) the p-value is the
 * exact two-sided binomial (sign) test, min(1, 2·P(X ≤ min(b, c))) with X ~ Binomial(b + c, 1/2),
 * and `statistic` is min(b, c) (as statsmodels' `mcnemar(exact=True)`). Otherwise it is the
 * chi-square test with Yates' continuity correction, statistic = (max(0, |b − c| − 1))² / (b + c)
 * on 1 degree of freedom; the max(0, ·) differs from statsmodels only when b = c, where it gives
 * statistic 0 and p = 1. No discordant pairs give statistic 0 and p = 1.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { mcnemar } from "./stats.ts";
 * const base = [true, false, false, true, false, false, true, false];
 * const tuned = [true, true, true, true, true, false, true, true];
 * deepStrictEqual(mcnemar(base, tuned), { b: 0, c: 4, statistic: 0, pValue: 0.125, method: "exact" });
 * ```
 */
export function mcnemar(
  a: readonly boolean[],
  b: readonly boolean[],
  options: McNemarOptions = {},
): McNemarResult {
  const where = "mcnemar";
  checkOutcomes(where, "a", a);
  checkOutcomes(where, "b", b);
  checkSameLength(where, a, b);
  const exactBelow = options.exactBelow ?? DEFAULT_EXACT_BELOW;
  if (Number.isNaN(exactBelow) || exactBelow < 0) {
    throw new Error(
      `${where}: options.exactBelow must be a non-negative number (Infinity = always exact), ` +
        `got ${exactBelow}`,
    );
  }
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) onlyA++;
    else if (!a[i] && b[i]) onlyB++;
  }
  const discordant = onlyA + onlyB;
  if (discordant < exactBelow || discordant === 0) {
    const k = Math.min(onlyA, onlyB);
    return {
      b: onlyA,
      c: onlyB,
      statistic: k,
      pValue: binomialTestPValue(k, discordant),
      method: "exact",
    };
  }
  const corrected = Math.max(0, Math.abs(onlyA - onlyB) - CONTINUITY_CORRECTION);
  const statistic = (corrected * corrected) / discordant;
  return {
    b: onlyA,
    c: onlyB,
    statistic,
    pValue: chiSquareSf(statistic, MCNEMAR_DF),
    method: "chi2-corrected",
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * The [α/2, 1 − α/2] percentiles of the replicates, interpolating linearly between order
 * statistics (NumPy's default `percentile` method, R's type 7), the definition of the bootstrap
 * intervals in the module docs. Not simple-statistics' `quantile`, which does not interpolate:
 * it takes the value at rank ⌈q·n⌉ and averages two neighbours only at integer ranks of
 * even-length lists. Sorts `replicates` in place.
 */
function percentileInterval(replicates: Float64Array, confidence: number): [number, number] {
  replicates.sort();
  const tail = (1 - confidence) / 2;
  return [quantileSorted(replicates, tail), quantileSorted(replicates, 1 - tail)];
}

/** Quantile q of sorted values with linear interpolation at position q·(n − 1). */
function quantileSorted(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const fraction = position - lo;
  return fraction === 0 ? sorted[lo] : sorted[lo] + fraction * (sorted[hi] - sorted[lo]);
}

/** Validates `confidence` and returns the two-sided z quantile for it. */
function zFor(where: string, confidence: number | undefined): number {
  return normalQuantile(1 - (1 - checkConfidence(where, confidence)) / 2);
}

/** Validates options.confidence (or applies its default). */
function checkConfidence(where: string, confidence: number | undefined): number {
  const value = confidence ?? DEFAULT_CONFIDENCE;
  if (!(value > 0 && value < 1)) {
    throw new Error(
      `${where}: options.confidence must be a number strictly between 0 and 1 (e.g. 0.95), ` +
        `got ${value}`,
    );
  }
  return value;
}

/** Validates the bootstrap options and applies their defaults. */
function bootstrapSettings(
  where: string,
  options: BootstrapOptions,
): { confidence: number; resamples: number; seed: number } {
  const confidence = checkConfidence(where, options.confidence);
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isSafeInteger(resamples) || resamples < 1) {
    throw new Error(
      `${where}: options.resamples must be a positive integer (default ${DEFAULT_RESAMPLES}), ` +
        `got ${resamples}`,
    );
  }
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`${where}: options.seed must be an integer, got ${seed}`);
  }
  return { confidence, resamples, seed };
}

/** Throws unless `values` is a non-empty array. */
function checkNonEmpty(where: string, name: string, values: readonly unknown[]): void {
  if (!Array.isArray(values)) {
    throw new Error(`${where}: ${name} must be an array, got ${typeof values}`);
  }
  if (values.length === 0) {
    throw new Error(
      `${where}: ${name} is empty; pass at least one item (did the evaluation produce results?)`,
    );
  }
}

/** Throws unless `values` is a non-empty array of finite numbers. */
function checkScores(where: string, name: string, values: readonly number[]): void {
  checkNonEmpty(where, name, values);
  values.forEach((value, i) => {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(
        `${where}: ${name}[${i}] is ${String(value)}; per-item scores must be finite numbers — ` +
          `drop or re-score the failed items first`,
      );
    }
  });
}

/** Throws unless `values` is a non-empty array of booleans. */
function checkOutcomes(where: string, name: string, values: readonly boolean[]): void {
  checkNonEmpty(where, name, values);
  values.forEach((value, i) => {
    if (typeof value !== "boolean") {
      throw new Error(
        `${where}: ${name}[${i}] is ${String(value)}; outcomes must be booleans (true = correct)` +
          ` — map scores first, e.g. scores.map((s) => s === 1)`,
      );
    }
  });
}

/** Throws unless the paired arrays have the same length. */
function checkSameLength(where: string, a: readonly unknown[], b: readonly unknown[]): void {
  if (a.length !== b.length) {
    throw new Error(
      `${where}: a has ${a.length} items but b has ${b.length}; paired tests need both systems ` +
        `scored on the same items in the same order`,
    );
  }
}
