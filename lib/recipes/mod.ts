/**
 * Seed-workflow pipelines: the five seed workflows as presets ({@link ./presets.ts}), the runner
 * that takes one end to end on the bundled model — curate, LoRA, merge, quantize, evaluate base,
 * tuned, quantized and an "API model", judge the gain, draw the figures ({@link ./run.ts}) — the
 * gain verdict ({@link ./verdict.ts}), the cost of each model for the cost-vs-accuracy figure
 * ({@link ./cost.ts}) and the README's table of results from the run manifests
 * ({@link ./table.ts}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findRecipe, RECIPE_NAMES } from "./mod.ts";
 * assert.equal(RECIPE_NAMES.length, 5);
 * assert.equal(findRecipe("S0").quant, "q4_k_m");
 * ```
 * @module
 */
export * from "./presets.ts";
export * from "./verdict.ts";
export * from "./cost.ts";
export * from "./run.ts";
export * from "./table.ts";
