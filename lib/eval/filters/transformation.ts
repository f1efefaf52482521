/**
 * Transformation filters (lm-eval's `lm_eval/filters/transformation.py`): `lowercase` and
 * `uppercase`, Python's `str.lower()` / `str.upper()` (the same full Unicode mappings as
 * JavaScript's `toLowerCase` / `toUpperCase`: `"ß"` becomes `"SS"` in both).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { lowercase, uppercase } from "./transformation.ts";
 * deepStrictEqual(lowercase.create({})(["Yes", "ÉTÉ"]), ["yes", "été"]);
 * deepStrictEqual(uppercase.create({})(["straße"]), ["STRASSE"]);
 * ```
 * @module
 */
import type { FilterFunction } from "./mod.ts";

/** `lowercase`: each response lowercased. */
export const lowercase: FilterFunction = {
  name: "lowercase",
  description: "each response lowercased (str.lower)",
  options: {},
  create: () => (responses) => responses.map((r) => r.toLowerCase()),
};

/** `uppercase`: each response uppercased. */
export const uppercase: FilterFunction = {
  name: "uppercase",
  description: "each response uppercased (str.upper)",
  options: {},
  create: () => (responses) => responses.map((r) => r.toUpperCase()),
};
