/**
 * Few-shot sampling: which rows of the few-shot pool are shown before each evaluated row.
 * @module
 */
import { Rng } from "../../util/rng.ts";
import { displayPath } from "./_format.ts";
import type { RenderedDoc } from "./render.ts";
import type { TaskConfig } from "./schema.ts";

/** Attempts per requested example before few-shot sampling falls back to a full shuffle. */
const SAMPLING_ATTEMPTS_PER_SHOT = 50;

/** Pools at least this many times larger than the request use rejection sampling. */
const REJECTION_SAMPLING_MIN_RATIO = 2;

/**
 * Draw `n` few-shot examples from `pool`, never the row whose id is `exclude`. The draw depends
 * only on `fewshot_seed` and `exclude`, so each row gets the same examples in every run and in
 * any order (lm-eval instead draws from one generator in evaluation order). Throws when the pool
 * has fewer than `n` other rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findTask, sampleFewshot, type RenderedDoc } from "./mod.ts";
 * const task = findTask("synth_arithmetic");
 * const pool: RenderedDoc[] = [1, 2, 3, 4].map((i) => ({
 *   id: `a${i}`, text: `Question: What is ${i} plus 1?\nAnswer:`, target: `${i + 1}`, references: [`${i + 1}`],
 * }));
 * assert.deepEqual(sampleFewshot(task, pool, 2, "a1").map((d) => d.id), ["a3", "a4"]); // never a1 itself
 * assert.deepEqual(sampleFewshot(task, pool, 2, "a1"), sampleFewshot(task, pool, 2, "a1")); // every run
 * ```
 */
export function sampleFewshot(
  task: TaskConfig,
  pool: RenderedDoc[],
  n: number,
  exclude: string,
): RenderedDoc[] {
  if (n <= 0) return [];
  const rng = new Rng(task.fewshotSeed, exclude);
  const picked = new Set<number>();
  const attempts = n * SAMPLING_ATTEMPTS_PER_SHOT;
  // Rejection sampling keeps large pools cheap; small or crowded pools take the exact path.
  if (pool.length > REJECTION_SAMPLING_MIN_RATIO * (n + 1)) {
    for (let i = 0; i < attempts && picked.size < n; i++) {
      const j = rng.int(0, pool.length - 1);
      if (pool[j].id !== exclude) picked.add(j);
    }
    if (picked.size === n) return [...picked].map((j) => pool[j]);
  }
  const eligible = pool.filter((d) => d.id !== exclude);
  if (eligible.length < n) {
    throw new Error(
      `task ${task.name}: num_fewshot is ${n} but the few-shot pool has only ${eligible.length} ` +
        `other rows; lower num_fewshot or set fewshot_split to a larger split in ${
          displayPath(task.file)
        }`,
    );
  }
  return rng.sample(eligible, n);
}
