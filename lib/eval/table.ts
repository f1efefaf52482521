/**
 * Plain-text tables of evaluation results, as printed by `deno task eval`.
 * @module
 */
import type { EvalResults } from "./runner.ts";

/**
 * One row per task and metric: value, ± stderr, 95% CI, n, and the task's skipped items and
 * items whose prompt was cut to fit the window (`truncated`). A metric of a `filter_list`
 * pipeline is named as lm-eval names it, `<metric>,<pipeline>`.
 *
 * @example
 * ```ts
 * import { match } from "node:assert/strict";
 * import { formatResultsTable } from "./table.ts";
 * match(formatResultsTable({ tasks: {} } as never), /^task +metric +value +± stderr +95% CI +n/);
 * ```
 */
export function formatResultsTable(results: Pick<EvalResults, "tasks">): string {
  const rows: string[][] = [
    ["task", "metric", "value", "± stderr", "95% CI", "n", "skipped", "truncated"],
  ];
  for (const [name, t] of Object.entries(results.tasks)) {
    const skipped = Object.values(t.skipped).reduce((a, b) => a + b, 0);
    for (const [metric, e] of Object.entries(t.metrics)) {
      rows.push([
        name,
        metric,
        formatMetricValue(e.value),
        Number.isFinite(e.stderr) ? formatMetricValue(e.stderr) : "-",
        Number.isFinite(e.ci[0])
          ? `[${formatMetricValue(e.ci[0])}, ${formatMetricValue(e.ci[1])}]`
          : "-",
        String(e.n),
        String(skipped),
        String(t.truncated ?? 0),
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)]
    .join("\n");
}

/**
 * A metric value as the text tables show it: 4 decimals, or 2 from 10 up (BLEU's 0–100 scale).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { formatMetricValue } from "./table.ts";
 * strictEqual(formatMetricValue(0.51234), "0.5123");
 * strictEqual(formatMetricValue(23.456), "23.46");
 * ```
 */
export function formatMetricValue(x: number): string {
  return Math.abs(x) >= 10 ? x.toFixed(2) : x.toFixed(4);
}
