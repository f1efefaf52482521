/**
 * Rounding to a number of decimals, for the numbers tunebook writes to result files and cards
 * (JSON keeps them short and diffs stay readable).
 * @module
 */

/**
 * `x` rounded to `digits` decimals (half away from zero as `Math.round` does it, so -2.5 → -2
 * at 0 digits). Non-finite values pass through.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { roundTo } from "./round.ts";
 * strictEqual(roundTo(3.14159, 2), 3.14);
 * strictEqual(roundTo(1234.5678, 0), 1235);
 * strictEqual(roundTo(-0.000123456, 6), -0.000123);
 * strictEqual(roundTo(Infinity, 3), Infinity);
 * ```
 */
export function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
