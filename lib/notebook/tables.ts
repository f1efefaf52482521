/**
 * Result tables as nodejs-polars DataFrames (one row per run × task × metric, per comparison,
 * per quantization type), for notebooks (`tableDisplay`) and for further analysis with polars.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resultsFrame } from "./tables.ts";
 * const e = { value: 0.5, stderr: 0.05, ci: [0.4, 0.6] as [number, number], n: 100, method: "wilson" as const };
 * const df = resultsFrame([{ label: "base", results: { tasks: { t: { outputType: "multiple_choice", metrics: { acc: e }, byLength: [] } } } }]);
 * assert.deepEqual(df.columns, ["run", "task", "metric", "value", "stderr", "ci_low", "ci_high", "n"]);
 * assert.equal(df.height, 1);
 * ```
 * @module
 */
import pl from "nodejs-polars";
import type { QuantizeCard } from "../gguf/quantize.ts";
import type { LabeledComparison, LabeledRun, QuantPoint } from "../plots/figures.ts";
import { meanScore, primaryMetric, significanceMark, throughputSeries } from "../plots/figures.ts";
import { roundTo } from "../util/round.ts";

const MIB = 2 ** 20;

function round(x: number | null | undefined, digits = 4): number | null {
  if (typeof x !== "number" || !Number.isFinite(x)) return null;
  return roundTo(x, digits);
}

function finite(x: number | null | undefined): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

/** Options for {@linkcode resultsFrame}. */
export interface ResultsFrameOptions {
  /** Only each task's headline metric (see `primaryMetric`). Default: false (every metric). */
  primaryOnly?: boolean;
}

/**
 * One row per run, task and metric: run, task, metric, value, stderr, ci_low, ci_high, n.
 *
 * @example
 * ```ts ignore
 * import { resultsFrame } from "./tables.ts";
 * resultsFrame(runs, { primaryOnly: true });
 * ```
 */
export function resultsFrame(runs: LabeledRun[], options: ResultsFrameOptions = {}): pl.DataFrame {
  const rows: Record<string, unknown>[] = [];
  for (const run of runs) {
    for (const [task, r] of Object.entries(run.results.tasks)) {
      const names = options.primaryOnly ? [primaryMetric(r)] : Object.keys(r.metrics);
      for (const metric of names) {
        const e = r.metrics[metric];
        if (!e) continue;
        rows.push({
          run: run.label,
          task,
          metric,
          value: round(e.value),
          stderr: round(e.stderr),
          ci_low: round(e.ci[0]),
          ci_high: round(e.ci[1]),
          n: e.n,
        });
      }
    }
  }
  return frame(rows, ["run", "task", "metric", "value", "stderr", "ci_low", "ci_high", "n"]);
}

/**
 * One row per comparison, task and metric: comparison, task, metric, n, a, b, delta, ci_low,
 * ci_high, p_bootstrap, p_mcnemar (unrounded; `tableDisplay` prints them as `formatPValue` does),
 * mark (`*`, `**`, `***`, `n.s.`; McNemar's p when there is one).
 *
 * @example
 * ```ts ignore
 * import { comparisonFrame } from "./tables.ts";
 * comparisonFrame([{ label: "tuned − base", comparison: compareRuns(a, b) }]);
 * ```
 */
export function comparisonFrame(comparisons: LabeledComparison[]): pl.DataFrame {
  const rows: Record<string, unknown>[] = [];
  for (const c of comparisons) {
    const label = c.label ?? `${c.comparison.b.run} − ${c.comparison.a.run}`;
    for (const [task, t] of Object.entries(c.comparison.tasks)) {
      for (const [metric, m] of Object.entries(t.metrics)) {
        const p = m.mcnemar?.pValue ?? m.pValue;
        rows.push({
          comparison: label,
          task,
          metric,
          n: m.n,
          a: round(m.meanA),
          b: round(m.meanB),
          delta: round(m.delta),
          ci_low: round(m.ci[0]),
          ci_high: round(m.ci[1]),
          // Unrounded (a rounded 9e-11 would read 0); tableDisplay prints them with formatPValue.
          p_bootstrap: finite(m.pValue),
          p_mcnemar: finite(m.mcnemar?.pValue),
          mark: significanceMark(p),
        });
      }
    }
  }
  return frame(rows, [
    "comparison",
    "task",
    "metric",
    "n",
    "a",
    "b",
    "delta",
    "ci_low",
    "ci_high",
    "p_bootstrap",
    "p_mcnemar",
    "mark",
  ]);
}

/**
 * One row per quantization type: type, bits_per_weight, size_mib, mean_score, ci_low, ci_high,
 * tokens_per_s, tokens_per_s_min, tokens_per_s_max — sorted from most to fewest bits. Tokens/s
 * are the steady-state medians and their slowest and fastest passes when every point has a
 * measurement, else each evaluation's single-pass tokens/s (min and max empty), as the figures
 * show them (`throughputSeries`).
 *
 * @example
 * ```ts ignore
 * import { quantFrame } from "./tables.ts";
 * quantFrame(points);
 * ```
 */
export function quantFrame(points: QuantPoint[]): pl.DataFrame {
  const sorted = [...points].sort((a, b) => b.card.bits_per_weight - a.card.bits_per_weight);
  const speed = throughputSeries(sorted);
  const rows = sorted.map(
    (p, i) => {
      const m = meanScore(p.results);
      return {
        type: p.label,
        bits_per_weight: round(p.card.bits_per_weight, 3),
        size_mib: round(p.card.bytes / MIB, 3),
        mean_score: round(m.value),
        ci_low: round(m.ci[0]),
        ci_high: round(m.ci[1]),
        tokens_per_s: round(speed.values[i], 1),
        tokens_per_s_min: round(speed.ranges?.[i][0], 1),
        tokens_per_s_max: round(speed.ranges?.[i][1], 1),
      };
    },
  );
  return frame(rows, [
    "type",
    "bits_per_weight",
    "size_mib",
    "mean_score",
    "ci_low",
    "ci_high",
    "tokens_per_s",
    "tokens_per_s_min",
    "tokens_per_s_max",
  ]);
}

/** A DataFrame from rows with these columns (an empty frame keeps the columns). */
function frame(rows: Record<string, unknown>[], columns: string[]): pl.DataFrame {
  const data: Record<string, unknown[]> = {};
  for (const c of columns) data[c] = rows.map((r) => r[c] ?? null);
  return pl.DataFrame(data);
}

/**
 * One row per quantization card: type, file_type, size_mib, bits_per_weight, seconds and the
 * tensors that got a fallback type (llama.cpp cannot use k-quants on rows not divisible by 256).
 *
 * @example
 * ```ts ignore
 * import { quantCardFrame } from "./tables.ts";
 * quantCardFrame(results.map((r) => r.card));
 * ```
 */
export function quantCardFrame(
  cards: Pick<
    QuantizeCard,
    "type" | "file_type" | "bytes" | "bits_per_weight" | "seconds" | "fallbacks"
  >[],
): pl.DataFrame {
  return frame(
    cards.map((c) => ({
      type: c.type,
      file_type: c.file_type,
      size_mib: round(c.bytes / MIB, 3),
      bits_per_weight: round(c.bits_per_weight, 3),
      seconds: round(c.seconds, 3),
      fallbacks: c.fallbacks.length
        ? [...new Set(c.fallbacks.map((f) => `${f.wanted}→${f.used}`))].join(", ") +
          ` (${c.fallbacks.length} tensors)`
        : "none",
    })),
    ["type", "file_type", "size_mib", "bits_per_weight", "seconds", "fallbacks"],
  );
}
