/**
 * The nearest-rank quantile, the definition tunebook's reports use for percentiles of
 * latencies and lengths (p50, p95): the smallest value with at least q·n values at or below it.
 *
 * Why not simple-statistics' `quantile`: it agrees with nearest rank only when q·n is not an
 * integer. At integer ranks it averages two neighbours on even-length lists (its
 * `quantile([1, 2, 3, 4], 0.5)` is 2.5) and takes the value one rank up on odd-length lists,
 * so the same "p95" would mean different things on different list lengths. Nearest rank always
 * returns an observed value, which is what a latency or length report should show.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { nearestRank } from "./nearest_rank.ts";
 * strictEqual(nearestRank([4, 1, 3, 2], 0.5), 2);
 * strictEqual(nearestRank([4, 1, 3, 2], 0.95), 4);
 * ```
 * @module
 */

/**
 * Nearest-rank quantile `q` (0 ≤ q ≤ 1) of `values`, which need not be sorted: the value at
 * 1-based rank max(1, ⌈q·n⌉) of the sorted values. Throws on an empty list or a `q` outside
 * [0, 1]; callers that report 0 for "no data" check the length first.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { nearestRank } from "./nearest_rank.ts";
 * strictEqual(nearestRank([10, 20, 30], 0), 10);
 * strictEqual(nearestRank([10, 20, 30], 0.5), 20);
 * strictEqual(nearestRank([10, 20, 30], 1), 30);
 * ```
 */
export function nearestRank(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) {
    throw new Error("nearestRank: values is empty; a quantile needs at least one value");
  }
  if (!(q >= 0 && q <= 1)) {
    throw new Error(`nearestRank: q must be a probability in [0, 1] (0.95 for p95), got ${q}`);
  }
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}
