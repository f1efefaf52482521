/**
 * Tests of lib/eval/stats.ts. Closed-form expectations come from SciPy 1.10
 * (tests/unit/fixtures/stats_vectors.json, written by make_stats_vectors.py beside it;
 * tests/python/test_fixture_vectors.py checks that it regenerates exactly);
 * bootstrap behaviour is tested by its properties, with small resample counts.
 */
import assert from "node:assert/strict";
import { Rng } from "../../lib/util/rng.ts";
import {
  binomialCdf,
  binomialTestPValue,
  bootstrapEstimate,
  chiSquareSf,
  mcnemar,
  meanEstimate,
  normalCdf,
  normalQuantile,
  pairedBootstrap,
  wilsonEstimate,
} from "../../lib/eval/stats.ts";
import vectors from "./fixtures/stats_vectors.json" with { type: "json" };

/** Relative tolerance against SciPy for the distribution functions (observed worst ≈ 2e-13). */
const DISTRIBUTION_RTOL = 1e-12;
/** Tolerance for closed-form estimates (a few roundings of sums and square roots). */
const ESTIMATE_RTOL = 1e-12;
/** Resamples for property tests: enough for stable percentiles, cheap on a busy CPU. */
const RESAMPLES = 400;

/** Asserts |actual − expected| ≤ rtol·|expected| (or ≤ rtol when expected is 0). */
function assertClose(actual: number, expected: number, rtol: number, label: string): void {
  const scale = expected === 0 ? 1 : Math.abs(expected);
  const error = Math.abs(actual - expected) / scale;
  assert.ok(
    error <= rtol || actual === expected,
    `${label}: got ${actual}, expected ${expected} (relative error ${error} > ${rtol})`,
  );
}

/** Paired outcome arrays with exactly `b` items only system a gets right, `c` only b does. */
function discordantPairs(b: number, c: number, bothRight = 7, bothWrong = 5): {
  a: boolean[];
  b: boolean[];
} {
  const first: boolean[] = [];
  const second: boolean[] = [];
  const push = (x: boolean, y: boolean, count: number) => {
    for (let i = 0; i < count; i++) {
      first.push(x);
      second.push(y);
    }
  };
  push(true, false, b);
  push(false, true, c);
  push(true, true, bothRight);
  push(false, false, bothWrong);
  return { a: first, b: second };
}

/** Deterministic 0/1 scores with the given accuracy. */
function bernoulli(n: number, p: number, seed: number): number[] {
  const rng = new Rng(seed, "stats_test");
  return Array.from({ length: n }, () => (rng.next() < p ? 1 : 0));
}

/** Plain mean, the statistic the bootstrap tests resample. */
function average(sample: number[]): number {
  return sample.reduce((sum, x) => sum + x, 0) / sample.length;
}

Deno.test("normalQuantile matches scipy.stats.norm.ppf", () => {
  for (const { p, x } of vectors.normal_quantile) {
    assertClose(normalQuantile(p), x, DISTRIBUTION_RTOL, `normalQuantile(${p})`);
  }
  assert.equal(normalQuantile(0), -Infinity);
  assert.equal(normalQuantile(1), Infinity);
  assert.throws(() => normalQuantile(1.5), /normalQuantile: p must be a probability/);
  assert.throws(() => normalQuantile(NaN), /normalQuantile/);
});

Deno.test("normalCdf matches scipy.stats.norm.cdf, including the far lower tail", () => {
  for (const { x, cdf } of vectors.normal_cdf) {
    assertClose(normalCdf(x), cdf, DISTRIBUTION_RTOL, `normalCdf(${x})`);
  }
});

Deno.test("chiSquareSf matches scipy.stats.chi2.sf", () => {
  for (const { x, df, sf } of vectors.chi2_sf) {
    assertClose(chiSquareSf(x, df), sf, DISTRIBUTION_RTOL, `chiSquareSf(${x}, ${df})`);
  }
  assert.throws(() => chiSquareSf(1, 0), /chiSquareSf: df must be/);
});

Deno.test("binomialTestPValue matches scipy.stats.binomtest(k, n, 0.5).pvalue", () => {
  for (const { k, n, p } of vectors.binom_test) {
    assertClose(binomialTestPValue(k, n), p, DISTRIBUTION_RTOL, `binomialTestPValue(${k}, ${n})`);
  }
  assert.equal(binomialTestPValue(0, 0), 1);
  assert.throws(() => binomialTestPValue(6, 5), /k must be an integer in \[0, n = 5\]/);
});

Deno.test("binomialCdf matches scipy.stats.binom.cdf", () => {
  for (const { k, n, p, cdf } of vectors.binom_cdf) {
    assertClose(binomialCdf(k, n, p), cdf, DISTRIBUTION_RTOL, `binomialCdf(${k}, ${n}, ${p})`);
  }
});

Deno.test("meanEstimate matches mean, scipy.stats.sem and norm.interval", () => {
  for (const { values, confidence, mean, stderr, ci } of vectors.mean_estimate) {
    const est = meanEstimate(values, { confidence });
    const label = `meanEstimate(n=${values.length}, confidence=${confidence})`;
    assert.equal(est.method, "normal");
    assert.equal(est.n, values.length);
    assertClose(est.value, mean, ESTIMATE_RTOL, `${label}.value`);
    assertClose(est.stderr, stderr, ESTIMATE_RTOL, `${label}.stderr`);
    assertClose(est.ci[0], ci[0], ESTIMATE_RTOL, `${label}.ci[0]`);
    assertClose(est.ci[1], ci[1], ESTIMATE_RTOL, `${label}.ci[1]`);
  }
});

Deno.test("meanEstimate: one value gives NaN stderr and interval; bad input throws", () => {
  const single = meanEstimate([0.7]);
  assert.equal(single.value, 0.7);
  assert.ok(Number.isNaN(single.stderr));
  assert.ok(single.ci.every(Number.isNaN));
  assert.throws(() => meanEstimate([]), /meanEstimate: values is empty/);
  assert.throws(() => meanEstimate([1, NaN]), /meanEstimate: values\[1\] is NaN/);
  assert.throws(() => meanEstimate([1, Infinity]), /values\[1\] is Infinity/);
  assert.throws(() => meanEstimate([1, 0], { confidence: 95 }), /options\.confidence/);
});

Deno.test("wilsonEstimate matches the Wilson score interval", () => {
  for (const { successes, trials, confidence, value, stderr, ci } of vectors.wilson) {
    const outcomes = Array.from({ length: trials }, (_, i) => i < successes);
    const est = wilsonEstimate(outcomes, { confidence });
    const label = `wilsonEstimate(${successes}/${trials}, ${confidence})`;
    assert.equal(est.method, "wilson");
    assertClose(est.value, value, ESTIMATE_RTOL, `${label}.value`);
    assertClose(est.stderr, stderr, ESTIMATE_RTOL, `${label}.stderr`);
    // Absolute tolerance: the bounds can be exactly 0 or 1.
    assert.ok(Math.abs(est.ci[0] - ci[0]) < ESTIMATE_RTOL, `${label}.ci[0]: ${est.ci[0]}`);
    assert.ok(Math.abs(est.ci[1] - ci[1]) < ESTIMATE_RTOL, `${label}.ci[1]: ${est.ci[1]}`);
  }
  assert.deepEqual(wilsonEstimate([1, 0, 1, 1]).value, 0.75);
  assert.throws(() => wilsonEstimate([1, 0.5]), /wilsonEstimate: outcomes\[1\] is 0\.5/);
});

Deno.test("mcnemar: exact p-value below the threshold equals binomtest", () => {
  for (const { k, n, p } of vectors.binom_test.filter((row) => row.n < 25)) {
    const pairs = discordantPairs(k, n - k);
    const result = mcnemar(pairs.a, pairs.b);
    assert.equal(result.method, "exact");
    assert.equal(result.b, k);
    assert.equal(result.c, n - k);
    assert.equal(result.statistic, Math.min(k, n - k));
    assertClose(result.pValue, p, DISTRIBUTION_RTOL, `mcnemar exact b=${k} c=${n - k}`);
  }
});

Deno.test("mcnemar: continuity-corrected chi-square at and above the threshold", () => {
  for (const { b, c, statistic, p } of vectors.mcnemar_chi2) {
    const pairs = discordantPairs(b, c);
    const result = mcnemar(pairs.a, pairs.b);
    assert.equal(result.method, "chi2-corrected");
    assertClose(result.statistic, statistic, ESTIMATE_RTOL, `statistic b=${b} c=${c}`);
    assertClose(result.pValue, p, DISTRIBUTION_RTOL, `pValue b=${b} c=${c}`);
  }
});

Deno.test("mcnemar: exactBelow is configurable; no discordant pairs gives p = 1", () => {
  const big = vectors.binom_test.find((row) => row.n === 1000)!;
  const pairs = discordantPairs(big.k, big.n - big.k);
  const exact = mcnemar(pairs.a, pairs.b, { exactBelow: Infinity });
  assert.equal(exact.method, "exact");
  assertClose(exact.pValue, big.p, DISTRIBUTION_RTOL, "mcnemar exactBelow=Infinity");
  const small = discordantPairs(3, 9);
  assert.equal(mcnemar(small.a, small.b, { exactBelow: 0 }).method, "chi2-corrected");
  const same = [true, false, true];
  assert.deepEqual(mcnemar(same, same), {
    b: 0,
    c: 0,
    statistic: 0,
    pValue: 1,
    method: "exact",
  });
});

Deno.test("mcnemar: invalid input throws a message naming the argument", () => {
  assert.throws(() => mcnemar([true], [true, false]), /mcnemar: a has 1 items but b has 2/);
  assert.throws(() => mcnemar([], []), /mcnemar: a is empty/);
  assert.throws(
    () => mcnemar([true, 1 as unknown as boolean], [true, true]),
    /mcnemar: a\[1\] is 1; outcomes must be booleans/,
  );
  assert.throws(() => mcnemar([true], [false], { exactBelow: -1 }), /options\.exactBelow/);
});

Deno.test("bootstrapEstimate is deterministic for a seed and varies across seeds", () => {
  const scores = bernoulli(60, 0.6, 1);
  const first = bootstrapEstimate(scores, average, { resamples: RESAMPLES, seed: 3 });
  const again = bootstrapEstimate(scores, average, { resamples: RESAMPLES, seed: 3 });
  const other = bootstrapEstimate(scores, average, { resamples: RESAMPLES, seed: 4 });
  assert.deepEqual(again, first);
  assert.notDeepEqual(other.ci, first.ci);
  assert.equal(first.method, "bootstrap");
  assert.equal(first.n, 60);
  assert.equal(first.value, average(scores));
});

Deno.test("bootstrapEstimate: the interval contains the estimate and shrinks with n", () => {
  const widths = [40, 400, 4000].map((n) => {
    const est = bootstrapEstimate(bernoulli(n, 0.7, n), average, { resamples: RESAMPLES });
    assert.ok(est.ci[0] <= est.value && est.value <= est.ci[1], `n=${n}: ${est.ci}`);
    return est.ci[1] - est.ci[0];
  });
  assert.ok(widths[0] > widths[1] && widths[1] > widths[2], `widths ${widths}`);
});

Deno.test("bootstrapEstimate agrees with the closed form on a large sample", () => {
  const scores = bernoulli(2000, 0.6, 42);
  const closed = meanEstimate(scores);
  const halfWidth = (closed.ci[1] - closed.ci[0]) / 2;
  const boot = bootstrapEstimate(scores, average, { resamples: RESAMPLES, seed: 1 });
  // Monte Carlo error of a bootstrap stderr from B resamples is about 1/√(2B) ≈ 3.5% here.
  assertClose(boot.stderr, closed.stderr, 0.15, "bootstrap stderr vs closed form");
  assert.ok(Math.abs(boot.ci[0] - closed.ci[0]) < 0.25 * halfWidth, `low ${boot.ci[0]}`);
  assert.ok(Math.abs(boot.ci[1] - closed.ci[1]) < 0.25 * halfWidth, `high ${boot.ci[1]}`);
});

Deno.test("bootstrapEstimate works on non-numeric items and rejects bad statistics", () => {
  const items = ["a", "bb", "ccc", "dddd"].map((text) => ({ text }));
  const meanLength = (sample: { text: string }[]) => average(sample.map((x) => x.text.length));
  const est = bootstrapEstimate(items, meanLength, { resamples: 50, seed: 9 });
  assert.equal(est.value, 2.5);
  assert.ok(est.ci[0] >= 1 && est.ci[1] <= 4);
  const single = bootstrapEstimate([5], average);
  assert.ok(Number.isNaN(single.stderr) && single.ci.every(Number.isNaN));
  assert.throws(() => bootstrapEstimate([], average), /bootstrapEstimate: items is empty/);
  assert.throws(
    () => bootstrapEstimate([1, 2], () => NaN),
    /statistic returned NaN on the full sample/,
  );
  assert.throws(
    () => bootstrapEstimate([1, 2], average, { resamples: 0 }),
    /options\.resamples must be a positive integer/,
  );
  assert.throws(() => bootstrapEstimate([1, 2], average, { seed: 0.5 }), /options\.seed/);
});

Deno.test("pairedBootstrap: a clearly better system gets p < 0.05", () => {
  const base = bernoulli(200, 0.5, 7);
  const rng = new Rng(8, "better");
  const better = base.map((x) => (x === 0 && rng.next() < 0.3 ? 1 : x));
  const result = pairedBootstrap(base, better, { resamples: RESAMPLES, seed: 2 });
  assert.equal(result.delta, average(better) - average(base));
  assert.ok(result.delta > 0);
  assert.ok(result.pValue < 0.05, `p = ${result.pValue}`);
  assert.ok(result.ci[0] > 0 && result.ci[0] <= result.delta && result.delta <= result.ci[1]);
  // Swapping the systems mirrors the delta and keeps the p-value.
  const swapped = pairedBootstrap(better, base, { resamples: RESAMPLES, seed: 2 });
  assert.equal(swapped.delta, -result.delta);
  assert.equal(swapped.pValue, result.pValue);
  assert.equal(result.n, 200);
  assert.equal(result.resamples, RESAMPLES);
});

Deno.test("pairedBootstrap: identical or equally good systems get p > 0.2", () => {
  const scores = bernoulli(200, 0.5, 11);
  const identical = pairedBootstrap(scores, scores, { resamples: RESAMPLES });
  assert.deepEqual([identical.delta, identical.pValue, identical.ci], [0, 1, [0, 0]]);
  // Same scores on shuffled items: equal means, paired differences of both signs.
  const shuffled = new Rng(12, "shuffle").shuffle(scores);
  const equal = pairedBootstrap(scores, shuffled, { resamples: RESAMPLES });
  assert.equal(equal.delta, 0);
  assert.ok(equal.pValue > 0.2, `p = ${equal.pValue}`);
});

Deno.test("pairedBootstrap is deterministic; p-value floor is 2/(B + 1)", () => {
  const base = new Array(50).fill(0);
  const perfect = new Array(50).fill(1);
  const first = pairedBootstrap(base, perfect, { resamples: 99, seed: 5 });
  assert.deepEqual(pairedBootstrap(base, perfect, { resamples: 99, seed: 5 }), first);
  assert.equal(first.pValue, 2 / 100);
});

Deno.test("pairedBootstrap: invalid input throws a message naming the argument", () => {
  assert.throws(() => pairedBootstrap([1, 0], [1]), /pairedBootstrap: a has 2 items but b has 1/);
  assert.throws(() => pairedBootstrap([], []), /pairedBootstrap: a is empty/);
  assert.throws(() => pairedBootstrap([1, 0], [1, NaN]), /pairedBootstrap: b\[1\] is NaN/);
  const single = pairedBootstrap([0], [1]);
  assert.equal(single.delta, 1);
  assert.ok(Number.isNaN(single.pValue) && single.ci.every(Number.isNaN));
});
