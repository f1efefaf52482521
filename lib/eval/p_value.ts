/**
 * How tunebook prints a p-value, everywhere (the CLI's comparison table, notebook tables, the
 * report's markdown, figure hover text): below {@linkcode P_VALUE_FLOOR} as `< 0.001`, else with
 * {@linkcode P_VALUE_DIGITS} significant digits; `-` when there is none (NaN: one item, or no
 * McNemar test for a graded metric). A bootstrap p-value cannot resolve values below 2/(B + 1)
 * and McNemar's chi-square tail is not meaningful at 1e-11, so digits below 0.001 would be noise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPValue } from "./p_value.ts";
 * assert.equal(formatPValue(9.0e-11), "< 0.001");
 * assert.equal(formatPValue(0.012345), "0.0123");
 * assert.equal(formatPValue(1), "1.00");
 * assert.equal(formatPValue(NaN), "-");
 * ```
 * @module
 */

/** p-values below this print as `< 0.001`. */
export const P_VALUE_FLOOR = 0.001;

/** Significant digits of a p-value at or above {@linkcode P_VALUE_FLOOR}. */
export const P_VALUE_DIGITS = 3;

/**
 * A p-value as text: `< 0.001`, three significant digits (`0.0123`, `0.412`, `1.00`), or `-`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPValue } from "./p_value.ts";
 * assert.equal(formatPValue(0.0009), "< 0.001");
 * assert.equal(formatPValue(0.001), "0.00100");
 * assert.equal(formatPValue(0.04567), "0.0457");
 * ```
 */
export function formatPValue(p: number | null | undefined): string {
  if (typeof p !== "number" || !Number.isFinite(p)) return "-";
  if (p < P_VALUE_FLOOR) return `< ${P_VALUE_FLOOR}`;
  return p.toPrecision(P_VALUE_DIGITS);
}

/**
 * `p < 0.001` or `p = 0.0123` (`p = -` without one), for running text and hover labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pValueLabel } from "./p_value.ts";
 * assert.equal(pValueLabel(1e-9), "p < 0.001");
 * assert.equal(pValueLabel(0.2), "p = 0.200");
 * ```
 */
export function pValueLabel(p: number | null | undefined): string {
  const text = formatPValue(p);
  return text.startsWith("<") ? `p ${text}` : `p = ${text}`;
}
