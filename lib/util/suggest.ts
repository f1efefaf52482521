/**
 * "Did you mean …?" for names a user typed: the known name closest by edit distance, when it is
 * close enough to be a likely typo. Task files use it for keys, metrics and task names; training
 * configs and CLI flags can use it for theirs.
 *
 * @example
 * ```ts
 * import { closestName } from "./suggest.ts";
 * import assert from "node:assert/strict";
 * assert.equal(closestName("num_fewshots", ["num_fewshot", "fewshot_seed"]), "num_fewshot");
 * assert.equal(closestName("temperature", ["until", "do_sample"]), undefined);
 * ```
 * @module
 */

/** Options for {@linkcode closestName}. */
export interface ClosestNameOptions {
  /** A candidate at most this many edits away is always close enough. Default: 2. */
  minDistance?: number;
  /**
   * A candidate within this fraction of the typed name's length (in edits, rounded down) is
   * close enough too, so that long names tolerate more typos. Default: 0.34.
   */
  maxFraction?: number;
  /** Compare ignoring letter case. Default: true. */
  ignoreCase?: boolean;
}

/** Defaults of {@linkcode ClosestNameOptions}. */
export const CLOSEST_NAME_DEFAULTS: Readonly<Required<ClosestNameOptions>> = {
  minDistance: 2,
  maxFraction: 0.34,
  ignoreCase: true,
};

/**
 * The candidate closest to `name` by edit distance, or undefined when even the closest is more
 * than `max(minDistance, floor(name.length × maxFraction))` edits away. Ties go to the earlier
 * candidate.
 *
 * @example
 * ```ts
 * import { closestName } from "./suggest.ts";
 * import assert from "node:assert/strict";
 * assert.equal(closestName("synth_arithmetik", ["synth_qa", "synth_arithmetic"]), "synth_arithmetic");
 * assert.equal(closestName("BLEU", ["bleu4", "rouge1"]), "bleu4");
 * ```
 */
export function closestName(
  name: string,
  candidates: readonly string[],
  options: ClosestNameOptions = {},
): string | undefined {
  const { minDistance, maxFraction, ignoreCase } = { ...CLOSEST_NAME_DEFAULTS, ...options };
  const norm = (s: string) => ignoreCase ? s.toLowerCase() : s;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(norm(name), norm(c));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(minDistance, Math.floor(name.length * maxFraction));
  return bestDistance <= limit ? best : undefined;
}

/**
 * Levenshtein distance: the fewest single-character insertions, deletions and substitutions
 * (UTF-16 code units) that turn `a` into `b`.
 *
 * @example
 * ```ts
 * import { editDistance } from "./suggest.ts";
 * import assert from "node:assert/strict";
 * assert.equal(editDistance("kitten", "sitting"), 3);
 * assert.equal(editDistance("", "abc"), 3);
 * ```
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
