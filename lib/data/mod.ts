/**
 * Data: load rows (JSONL/JSON/CSV/TSV/Parquet or `hf:` datasets through lib/hub), map them to
 * chat examples, clean, deduplicate (exact and MinHash near-duplicates), decontaminate against
 * benchmarks, split, count tokens with the target model's tokenizer (lib/llm), format them for
 * the trainer, and report what curation did; plus the synthetic task families and the tiny
 * model's pretraining corpus. {@link ./curate.ts} runs the whole pipeline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJsonl } from "./mod.ts";
 * const { rows, errors } = parseJsonl('{"a": 1}\nnot json\n');
 * assert.deepEqual(rows, [{ a: 1 }]);
 * assert.equal(errors[0].line, 2);
 * ```
 * @module
 */
export * from "./synthetic/mod.ts";
export * from "./jsonl.ts";
export * from "./load.ts";
export * from "./examples.ts";
export * from "./clean.ts";
export * from "./dedup.ts";
export * from "./minhash.ts";
export * from "./near_dup.ts";
export * from "./decontaminate.ts";
export * from "./benchmarks.ts";
export * from "./token_length.ts";
export * from "./trainer_format.ts";
export * from "./split.ts";
export * from "./report.ts";
export * from "./curate.ts";
