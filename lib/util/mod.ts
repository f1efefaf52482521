/**
 * Small helpers every module may use (the bottom layer: it imports nothing else in lib/):
 * a seeded random source and a terminal progress line.
 * @module
 */
export * from "./rng.ts";
export * from "./progress.ts";
