/**
 * Selection filters (lm-eval's `lm_eval/filters/selection.py`): which of a document's responses
 * (one per `repeats`) go on. `take_first` keeps the first, `take_first_k` the first `k`,
 * `majority_vote` the most frequent one (Python's `Counter.most_common(1)`: among equally
 * frequent responses, the first seen).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { majorityVote, takeFirst, takeFirstK } from "./selection.ts";
 * deepStrictEqual(takeFirst.create({})(["a", "b"]), ["a"]);
 * deepStrictEqual(takeFirstK.create({ k: 2 })(["a", "b", "c"]), ["a", "b"]);
 * deepStrictEqual(majorityVote.create({})(["b", "a", "a", "b"]), ["b"]);
 * ```
 * @module
 */
import type { FilterFunction } from "./mod.ts";

/** `take_first`: the first response. */
export const takeFirst: FilterFunction = {
  name: "take_first",
  description: "the first response",
  options: {},
  create: () => (responses) => responses.slice(0, 1),
  count: (n) => Math.min(n, 1),
};

/** `take_first_k`: the first `k` responses. */
export const takeFirstK: FilterFunction = {
  name: "take_first_k",
  description: "the first k responses (repeats must be at least k)",
  options: { k: { type: "integer", description: "how many responses to keep" } },
  create(options) {
    const k = Number(options.k);
    if (k < 1) throw new Error(`take_first_k: k must be at least 1, got ${k}`);
    return (responses) => responses.slice(0, k);
  },
  count: (_n, options) => Number(options.k),
};

/** `majority_vote`: the most frequent response, the first seen among ties. */
export const majorityVote: FilterFunction = {
  name: "majority_vote",
  description: "the most frequent response (the first seen among ties)",
  options: {},
  create: () => (responses) => {
    const counts = new Map<string, number>();
    for (const r of responses) counts.set(r, (counts.get(r) ?? 0) + 1);
    let best: string | undefined;
    let bestCount = 0;
    for (const [r, c] of counts) {
      if (c > bestCount) {
        best = r;
        bestCount = c;
      }
    }
    return best === undefined ? [] : [best];
  },
  count: (n) => Math.min(n, 1),
};
