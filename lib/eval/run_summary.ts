/**
 * What `deno task eval` prints under the results table: the rows of each task that could not be
 * loaded or rendered (count and the first few, with file:line and field), which tasks scored no
 * item, and how many items this invocation evaluated or reused, with its throughput.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRowErrors, unscoredTasks } from "./run_summary.ts";
 * const results = {
 *   tasks: {
 *     qa: { n: 0, rowErrors: [{ row: 3, message: "qa.jsonl:3: not valid JSON", file: "qa.jsonl" }] },
 *   },
 * } as never;
 * assert.match(formatRowErrors(results), /qa: 1 row could not be used[\s\S]*qa\.jsonl:3: not valid JSON/);
 * assert.deepEqual(unscoredTasks(results), ["qa"]);
 * ```
 * @module
 */
import type { EvalResults } from "./runner.ts";

/** Row errors shown per task; the rest are counted and left in results.json. */
export const ROW_ERRORS_SHOWN = 3;

/** Per task with row errors: their count and the first {@linkcode ROW_ERRORS_SHOWN}; "" if none. */
export function formatRowErrors(results: Pick<EvalResults, "tasks">): string {
  const out: string[] = [];
  for (const [name, t] of Object.entries(results.tasks)) {
    const errors = t.rowErrors ?? [];
    if (!errors.length) continue;
    const rows = errors.length === 1 ? "1 row" : `${errors.length} rows`;
    out.push(`${name}: ${rows} could not be used (not evaluated, not counted in n):`);
    for (const e of errors.slice(0, ROW_ERRORS_SHOWN)) {
      out.push(`  ${e.message}${e.field && !e.message.includes(e.field) ? ` (${e.field})` : ""}`);
    }
    if (errors.length > ROW_ERRORS_SHOWN) {
      out.push(`  … and ${errors.length - ROW_ERRORS_SHOWN} more (rowErrors in results.json)`);
    }
  }
  return out.join("\n");
}

/**
 * The tasks that scored no item (every row failed, or every item was skipped): a run with one
 * measured nothing for it, and `deno task eval` fails.
 */
export function unscoredTasks(results: Pick<EvalResults, "tasks">): string[] {
  return Object.entries(results.tasks).filter(([, t]) => t.n === 0).map(([name]) => name);
}

/**
 * One line: items evaluated (and reused from the folder), throughput, wall time, folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRunLine } from "./run_summary.ts";
 * const r = { items: { evaluated: 0, reused: 40 }, itemsPerSecond: 0, tokensPerSecond: 0, wallSeconds: 0.1 };
 * assert.match(formatRunLine(r as never, "results/eval/x"), /^reused all 40 items from .*; nothing left/);
 * ```
 */
export function formatRunLine(
  results: Pick<EvalResults, "items" | "itemsPerSecond" | "tokensPerSecond" | "wallSeconds">,
  dir: string,
): string {
  const { evaluated, reused } = results.items;
  if (evaluated === 0 && reused > 0) {
    return `reused all ${reused} items from ${dir} (an earlier run of the same identity); ` +
      `nothing left to evaluate -> ${dir}/`;
  }
  const resumed = reused > 0 ? ` (+${reused} reused from the earlier run)` : "";
  return `${evaluated} items evaluated${resumed}: ${results.itemsPerSecond} items/s, ` +
    `${results.tokensPerSecond} tokens/s, ${results.wallSeconds}s -> ${dir}/`;
}
