/**
 * Small helpers every module may use (the bottom layer: it imports nothing else in lib/):
 * a seeded random source, a terminal progress line, a file's SHA-256, GGUF file-type names,
 * "did you mean …" suggestions, the nearest-rank quantile, output folder checks, rounding to N
 * decimals, a bounded-concurrency pool, and `datasets`-style file globs (python.ts, finding and running the Python side, is imported
 * directly: lib/train re-exports its trainer-specific wrappers).
 * @module
 */
export * from "./rng.ts";
export * from "./progress.ts";
export * from "./file_hash.ts";
export * from "./file_type.ts";
export * from "./suggest.ts";
export * from "./nearest_rank.ts";
export * from "./output_dir.ts";
export * from "./round.ts";
export * from "./glob.ts";
export * from "./run_pool.ts";
