/**
 * Scores of task groups (lm-eval's `aggregate_metric_list` in a group file): for each metric, the
 * mean of the group's task values — weighted by each task's number of items when
 * `weight_by_size` is true — with lm-eval's pooled standard error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { aggregateGroups } from "./group_results.ts";
 * const metric = (value: number, n: number) => ({ value, stderr: 0.1, ci: [0, 1] as [number, number], n });
 * const groups = aggregateGroups(
 *   [{ name: "g", file: "g.yaml", tasks: ["a", "b"], version: 1, aggregate: [
 *     { metric: "acc", aggregation: "mean", weightBySize: true, filter: "none" },
 *   ] }],
 *   { a: { n: 10, metrics: { acc: metric(0.5, 10) } }, b: { n: 30, metrics: { acc: metric(0.9, 30) } } },
 * );
 * assert.equal(groups.g.metrics.acc.value, 0.8);
 * ```
 * @module
 */
import type { GroupSelection } from "./task/mod.ts";

/** One metric of a group. */
export interface GroupMetric {
  /** The (weighted) mean of its tasks' values. */
  value: number;
  /** lm-eval's pooled standard error of the tasks' values. */
  stderr: number;
  /** Items behind it (the sum over its tasks). */
  n: number;
  /** The tasks that reported it. */
  tasks: string[];
}

/** A group's scores. */
export interface GroupResult {
  /** `group_alias`. */
  alias?: string;
  /** `metadata.version`. */
  version: number | string;
  /** The tasks it ran. */
  tasks: string[];
  /** Per aggregated metric (`acc`, or `exact_match,strict-match` for a filter). */
  metrics: Record<string, GroupMetric>;
  /** Metrics asked for that none of its tasks reported. */
  missing?: string[];
}

/** What a task result must give for its group's scores. */
interface TaskValues {
  n: number;
  metrics: Record<string, { value: number; stderr: number; n: number }>;
}

/** The scores of the groups that ask for one (`aggregate_metric_list`). */
export function aggregateGroups(
  groups: readonly GroupSelection[],
  tasks: Readonly<Record<string, TaskValues>>,
): Record<string, GroupResult> {
  const out: Record<string, GroupResult> = {};
  for (const g of groups) {
    if (!g.aggregate.length) continue;
    const result: GroupResult = {
      version: g.version,
      tasks: g.tasks,
      metrics: {},
      ...(g.alias !== undefined ? { alias: g.alias } : {}),
    };
    const missing: string[] = [];
    for (const a of g.aggregate) {
      const key = a.filter === "none" ? a.metric : `${a.metric},${a.filter}`;
      const parts = g.tasks.flatMap((name) => {
        const t = tasks[name];
        const m = t?.metrics[key] ?? t?.metrics[`${a.metric},${a.filter}`];
        return m ? [{ name, m }] : [];
      });
      if (!parts.length) {
        missing.push(key);
        continue;
      }
      const sizes = parts.map((p) => p.m.n);
      const total = sizes.reduce((x, y) => x + y, 0);
      const value = a.weightBySize && total > 0
        ? parts.reduce((s, p) => s + p.m.value * p.m.n, 0) / total
        : parts.reduce((s, p) => s + p.m.value, 0) / parts.length;
      result.metrics[key] = {
        value: round(value),
        stderr: round(pooledStderr(parts.map((p) => p.m.stderr), sizes)),
        n: total,
        tasks: parts.map((p) => p.name),
      };
    }
    if (missing.length) result.missing = missing;
    out[g.name] = result;
  }
  return out;
}

/** lm-eval's `pooled_sample_stderr`: the tasks' variances pooled, over the total count. */
function pooledStderr(stderrs: number[], sizes: number[]): number {
  const total = sizes.reduce((x, y) => x + y, 0);
  if (total - sizes.length <= 0) return 0;
  const pooledVar = sizes.reduce((s, n, i) => s + (n - 1) * stderrs[i] ** 2 * n, 0) /
    (total - sizes.length);
  return Math.sqrt(pooledVar / total);
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * The groups' scores as text, one line per group and metric:
 * `ai2_arc  acc  0.8123 ± 0.0101  (n=3548; arc_challenge, arc_easy)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatGroupResults } from "./group_results.ts";
 * const text = formatGroupResults({
 *   g: { version: 1, tasks: ["a"], metrics: { acc: { value: 0.5, stderr: 0.1, n: 4, tasks: ["a"] } } },
 * });
 * assert.match(text, /^g +acc +0\.5000 ± 0\.1000 +\(n=4; a\)$/m);
 * ```
 */
export function formatGroupResults(groups: Readonly<Record<string, GroupResult>>): string {
  const lines = ["groups (aggregate_metric_list):"];
  for (const [name, g] of Object.entries(groups)) {
    for (const [metric, m] of Object.entries(g.metrics)) {
      lines.push(
        `${(g.alias ?? name).padEnd(24)} ${metric.padEnd(16)} ${m.value.toFixed(4)} ± ${
          m.stderr.toFixed(4)
        }  (n=${m.n}; ${m.tasks.join(", ")})`,
      );
    }
    for (const metric of g.missing ?? []) {
      lines.push(`${(g.alias ?? name).padEnd(24)} ${metric.padEnd(16)} (no task reported it)`);
    }
  }
  return lines.join("\n");
}
