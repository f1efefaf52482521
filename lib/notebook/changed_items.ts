/**
 * The items a fine-tune (or a quantization) fixed and broke, as a notebook table: one call over
 * a report comparison (lib/eval's `changedItems` on its two run folders), one row per item —
 * task, id, fixed or broken, the reference and both answers — under a caption that counts them
 * per task (McNemar's b and c). `deno task view` shows the same items side by side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { changedItemsRows, JUPYTER_DISPLAY, changedItemsTable } from "./mod.ts";
 * const dirs = { a: "tests/unit/fixtures/plots/tuned", b: "tests/unit/fixtures/plots/tuned-q4_k_m" };
 * const rows = changedItemsRows(dirs.a, dirs.b);
 * assert.equal(rows.filter((r) => r.change === "broken").length, 25);
 * const shown = changedItemsTable(dirs)[JUPYTER_DISPLAY]();
 * assert.match(String(shown["text/plain"]), /^tuned-q4_k_m vs tuned: 16 fixed, 25 broken/);
 * ```
 * @module
 */
import { changedItems, type ChangedItemsOptions, type RunChanges } from "../eval/compare.ts";
import type { LabeledComparison } from "../plots/figures.ts";
import { type Displayable, tableDisplay } from "./display.ts";

/** One row of the table. */
export interface ChangedItemRow {
  task: string;
  doc_id: string;
  /** "fixed" (wrong → right) or "broken" (right → wrong). */
  change: "fixed" | "broken";
  /** The 0/1 metric that decides. */
  metric: string;
  reference: string;
  /** Run A's answer, then run B's. */
  answer_a: string;
  answer_b: string;
  prompt: string;
}

/** Options for {@linkcode changedItemsTable}. */
export interface ChangedItemsTableOptions extends ChangedItemsOptions {
  /** Rows shown (the rest are counted under the table). Default: 40. */
  maxRows?: number;
  /** Only fixed or only broken items. Default: both, broken first. */
  only?: "fixed" | "broken";
}

/** The rows of {@linkcode changedItemsTable}: broken items first, then fixed, by task. */
export function changedItemsRows(
  dirA: string,
  dirB: string,
  options: ChangedItemsOptions = {},
): ChangedItemRow[] {
  return rowsOf(changedItems(dirA, dirB, options));
}

/**
 * The table of the items run B fixed and broke relative to run A: a report comparison (as
 * `loadReport(...).comparisons[i]`) or two run folders.
 */
export function changedItemsTable(
  runs: LabeledComparison | { a: string; b: string },
  options: ChangedItemsTableOptions = {},
): Displayable {
  const [dirA, dirB] = "comparison" in runs
    ? [runs.comparison.a.dir, runs.comparison.b.dir]
    : [runs.a, runs.b];
  const changes = changedItems(dirA, dirB, options);
  const rows = rowsOf(changes).filter((r) => !options.only || r.change === options.only);
  const per = Object.entries(changes.tasks).map(([task, t]) =>
    `${task} ${t.fixed.length}/${t.broken.length}`
  );
  const fixed = Object.values(changes.tasks).reduce((s, t) => s + t.fixed.length, 0);
  const broken = Object.values(changes.tasks).reduce((s, t) => s + t.broken.length, 0);
  const shared = Object.values(changes.tasks).reduce((s, t) => s + t.n, 0);
  const caption = `${changes.b.run} vs ${changes.a.run}: ${fixed} fixed, ${broken} broken of ` +
    `${shared} shared items (per task fixed/broken: ${per.join(", ")})` +
    (changes.tasksWithoutBinaryMetric.length
      ? `; no 0/1 metric: ${changes.tasksWithoutBinaryMetric.join(", ")}`
      : "");
  return tableDisplay(rows, { caption, maxRows: options.maxRows ?? 40 });
}

function rowsOf(changes: RunChanges): ChangedItemRow[] {
  const rows: ChangedItemRow[] = [];
  for (const kind of ["broken", "fixed"] as const) {
    for (const [task, t] of Object.entries(changes.tasks)) {
      for (const item of t[kind]) {
        rows.push({
          task,
          doc_id: item.doc_id,
          change: kind,
          metric: t.metric,
          reference: (item.a.references ?? []).join(" | "),
          answer_a: String(item.a.prediction ?? ""),
          answer_b: String(item.b.prediction ?? ""),
          prompt: String(item.a.prompt ?? ""),
        });
      }
    }
  }
  return rows;
}
