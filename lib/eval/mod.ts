/**
 * Evaluation: tasks as data ({@link ./task/mod.ts}), metrics by name
 * ({@link ./metrics/mod.ts}), backends (in-process GGUF through lib/llm, OpenAI-compatible
 * HTTP), the runner behind `deno task eval` (results.json + samples.jsonl, resumable), the
 * statistics (standard errors, bootstrap, paired tests), run comparison, scoring a predictions
 * file, result tables and p-value formatting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPValue } from "./mod.ts";
 * assert.equal(formatPValue(0.0009), "< 0.001");
 * ```
 * @module
 */
export * from "./task/mod.ts";
export * from "./benchmark_items.ts";
export * from "./metrics/mod.ts";
export * from "./score_file.ts";
export * from "./stats.ts";
export * from "./backend.ts";
export * from "./runner.ts";
export * from "./aggregate.ts";
export * from "./table.ts";
export * from "./openai_backend.ts";
export * from "./compare.ts";
export * from "./p_value.ts";
export * from "./throughput.ts";
