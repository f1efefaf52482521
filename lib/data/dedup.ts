/**
 * Exact deduplication: rows whose normalised text (lowercased, whitespace collapsed) is equal
 * are duplicates; one of each group is kept by a configurable rule (by default the longest
 * response, as Open-Platypus did), the others become `exact_dup` rejects pointing at it.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { dedupExact } from "./dedup.ts";
 * import { toExamples } from "./examples.ts";
 * const { examples } = toExamples([
 *   { instruction: "What is 2+2?", output: "4" },
 *   { instruction: "what is  2+2?", output: "2 + 2 = 4" },
 * ], { format: "alpaca", instruction: "instruction", output: "output" });
 * const out = dedupExact(examples);
 * strictEqual(out.kept[0].row.output, "2 + 2 = 4");
 * strictEqual(out.rejects[0].rule, "exact_dup");
 * ```
 * @module
 */
import { hash32, PairTable } from "./_hash.ts";
import {
  type Example,
  exampleText,
  exampleWhere,
  outputText,
  promptText,
  type Reject,
  type StageResult,
} from "./examples.ts";

/** Which example of a duplicate group is kept: the first in the input, the one with the longest response, or the longest overall. */
export type KeepRule = "first" | "longest_output" | "longest";

/** What duplicates are compared on: the prompt side (instruction + input, or every turn before the last response) or all the text. */
export type DedupOn = "prompt" | "text";

/** Options of {@linkcode dedupExact}. */
export interface ExactDedupOptions {
  /** Text compared. Default: `"prompt"` (the same question with two answers is a duplicate). */
  on?: DedupOn;
  /** Which row of a group is kept. Default: `"longest_output"`; ties go to the earlier row. */
  keep?: KeepRule;
}

/** Defaults of {@linkcode ExactDedupOptions}. */
export const EXACT_DEDUP_DEFAULTS: Required<ExactDedupOptions> = {
  on: "prompt",
  keep: "longest_output",
};

/** A kept row as reported in a reject's `matched`. */
export interface MatchedRow {
  /** 1-based position of the kept row among the loaded rows. */
  row_number: number;
  /** Jaccard similarity with it (near duplicates only). */
  jaccard?: number;
  /** The kept row's fields. */
  row: Record<string, unknown>;
}

/** The text a dedup stage compares. */
export function dedupText(example: Example, on: DedupOn): string {
  return on === "prompt" ? promptText(example) : exampleText(example);
}

/**
 * The order in which examples claim their place: best first under `keep`, input order among
 * equals. Dedup stages walk this order, so the first member of a group they meet is kept.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { keepOrder } from "./dedup.ts";
 * const ex = (out: string, index: number) => ({ index, row: {}, messages: [
 *   { role: "user" as const, content: "q" }, { role: "assistant" as const, content: out }] });
 * deepStrictEqual([...keepOrder([ex("a", 0), ex("abc", 1), ex("ab", 2)], "longest_output")], [1, 2, 0]);
 * ```
 */
export function keepOrder(examples: readonly Example[], keep: KeepRule): Int32Array {
  const order = Int32Array.from(examples.keys());
  if (keep === "first") return order;
  const score = Float64Array.from(
    examples,
    (e) => keep === "longest_output" ? outputText(e).length : exampleText(e).length,
  );
  return order.sort((a, b) => score[b] - score[a] || a - b);
}

/** Lowercase, collapse every whitespace run to one space, trim. */
export function normalizeForDedup(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

/** The reject's `matched` for a kept example. */
export function matchedRow(kept: Example, jaccard?: number): MatchedRow {
  return {
    row_number: kept.index + 1,
    ...(jaccard === undefined ? {} : { jaccard }),
    row: kept.row,
  };
}

/** Seed of the second hash of a normalised text. */
const SECOND_SEED = 0x5bd1e995;

/**
 * Remove exact duplicates (equal normalised text). Kept examples come back in input order.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { dedupExact } from "./dedup.ts";
 * import { toExamples } from "./examples.ts";
 * const { examples } = toExamples([{ text: "Hello  world" }, { text: "hello world" }, { text: "bye" }],
 *   { format: "text", text: "text" });
 * const out = dedupExact(examples, { keep: "first" });
 * strictEqual(out.kept.length, 2);
 * strictEqual(out.report.groups, 1);
 * ```
 */
export function dedupExact(
  examples: readonly Example[],
  options: ExactDedupOptions = {},
): StageResult & { report: { removed: number; groups: number } } {
  const { on, keep } = { ...EXACT_DEDUP_DEFAULTS, ...options };
  const table = new PairTable(examples.length);
  const norm: (string | undefined)[] = new Array(examples.length);
  const dupOf = new Int32Array(examples.length).fill(-1);
  const groups = new Set<number>();
  const collisions = new Map<string, number>();
  for (const i of keepOrder(examples, keep)) {
    const text = normalizeForDedup(dedupText(examples[i], on));
    const h1 = hash32(text), h2 = hash32(text, SECOND_SEED);
    const first = table.get(h1, h2);
    if (first < 0) {
      table.set(h1, h2, i);
      norm[i] = text;
    } else if (norm[first] === text) {
      dupOf[i] = first;
      groups.add(first);
    } else {
      // a 64-bit hash collision between different texts: keep both, compare by string
      const key = `${h1}:${h2}:${text}`;
      const other = collisions.get(key);
      if (other === undefined) collisions.set(key, i);
      else {
        dupOf[i] = other;
        groups.add(other);
      }
    }
  }
  const kept: Example[] = [];
  const rejects: Reject[] = [];
  examples.forEach((ex, i) => {
    const d = dupOf[i];
    if (d < 0) kept.push(ex);
    else {
      rejects.push({
        rule: "exact_dup",
        row: ex.row,
        index: ex.index,
        matched: matchedRow(examples[d]),
        reason: `${exampleWhere(ex)}: same ${on} as ${exampleWhere(examples[d])} (kept: ${keep})`,
      });
    }
  });
  return { kept, rejects, report: { removed: rejects.length, groups: groups.size } };
}
