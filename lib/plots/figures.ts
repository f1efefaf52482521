/**
 * Figure builders: plotly.js figure specs (`{data, layout, config}`, plain JSON) from tunebook's
 * result files — eval `results.json`, `compareRuns` comparisons, trainer `events.jsonl`,
 * quantization cards. No notebook or browser is needed to build them; display them in Jupyter
 * with `figureDisplay` (./display.ts) or write PNG/SVG with `exportFigures` (./export.ts).
 *
 * Every builder promises its traces (one per run or comparison, named by its label) and its axis
 * titles with units; `tests/unit/plots_test.ts` checks both from a fixture.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accuracyFigure } from "./figures.ts";
 * const est = (value: number) => ({ value, stderr: 0.05, ci: [value - 0.1, value + 0.1] as [number, number], n: 100, method: "wilson" as const });
 * const task = (acc: number) => ({ outputType: "multiple_choice", metrics: { acc: est(acc) }, byLength: [] });
 * const fig = accuracyFigure([
 *   { label: "base", results: { tasks: { sciq: task(0.4) } } },
 *   { label: "tuned", results: { tasks: { sciq: task(0.7) } } },
 * ]);
 * assert.deepEqual(fig.data.map((t) => t.name), ["base", "tuned"]);
 * ```
 * @module
 */
import type { RunComparison } from "../eval/compare.ts";
import type { EvalResults, LengthBucket, TaskResult } from "../eval/runner.ts";
import { metricScale } from "../eval/metrics/mod.ts";
import { pValueLabel } from "../eval/p_value.ts";
import type { Estimate } from "../eval/stats.ts";
import type { Throughput } from "../eval/throughput.ts";
import type { QuantizeCard } from "../gguf/quantize.ts";
import { axis, baseLayout, color, errorBars, num } from "./_style.ts";

/** One plotly.js trace (see plotly.js's reference; only `type` and `name` are relied on here). */
export interface Trace {
  /** Trace type: "bar", "scatter", … */
  type: string;
  /** Legend entry. */
  name?: string;
  [key: string]: unknown;
}

/** A plotly.js figure: what `Plotly.newPlot(div, data, layout, config)` takes. */
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * Any plotly.js figure spec (the builders' {@linkcode Figure}, lib/data's curation figures, one
 * written by hand): what display and export accept.
 */
export interface FigureLike {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** What the builders read of a task's results (a `TaskResult` fits). */
export type TaskResultLike = Pick<TaskResult, "outputType" | "metrics" | "byLength">;

/** What the builders read of a run's `results.json` (an `EvalResults` fits). */
export interface EvalResultsLike {
  tasks: Record<string, TaskResultLike>;
  tokensPerSecond?: EvalResults["tokensPerSecond"];
  usage?: EvalResults["usage"];
}

/** An evaluation run with the name it gets in legends. */
export interface LabeledRun {
  /** Legend name, e.g. "base", "tuned", "q4_k_m". */
  label: string;
  /** The run's results.json. */
  results: EvalResultsLike;
  /** The model's steady-state throughput (lib/eval/throughput.ts), when measured. */
  throughput?: Throughput;
}

/** The throughput a figure or table shows for a set of runs ({@linkcode throughputSeries}). */
export interface ThroughputSeries {
  /** Tokens/s per run, in the runs' order (NaN where unknown). */
  values: number[];
  /** Slowest and fastest timed pass per run; absent for single-pass figures. */
  ranges?: [number, number][];
  /** Whether the values are steady-state measurements (else one evaluation pass each). */
  steady: boolean;
  /** How the values were measured, for a subtitle or a table note. */
  note: string;
}

/**
 * What figures and tables show as each run's throughput: its steady-state measurement
 * (lib/eval/throughput.ts: the median of the timed passes after warm-up, with the slowest and
 * fastest) when every run has one, else every run's results.json tokens/s (one pass over its
 * evaluation, warm-up included) — never a mix of the two in one figure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { throughputSeries } from "./figures.ts";
 * const t = (median: number) => ({
 *   tasks: ["t"], itemsPerTask: 20, items: 20, warmup: 1, tokens: [900, 900, 900],
 *   seconds: [0.1, 0.1, 0.1], tokensPerSecond: { median, min: median - 50, max: median + 50 },
 *   itemsPerSecond: 200,
 * });
 * const runs = [
 *   { results: { tokensPerSecond: 250, tasks: {} }, throughput: t(3000) },
 *   { results: { tokensPerSecond: 3100, tasks: {} }, throughput: t(3050) },
 * ];
 * assert.deepEqual(throughputSeries(runs).values, [3000, 3050]);
 * assert.deepEqual(throughputSeries([runs[0], { results: runs[1].results }]).values, [250, 3100]);
 * ```
 */
export function throughputSeries(
  runs: readonly { results: EvalResultsLike; throughput?: Throughput }[],
): ThroughputSeries {
  const measured = runs.map((r) => r.throughput);
  if (runs.length && measured.every((t): t is Throughput => t !== undefined)) {
    const passes = [...new Set(measured.map((t) => t.tokens.length))].sort((a, b) => a - b);
    const warmups = [...new Set(measured.map((t) => t.warmup))].sort((a, b) => a - b);
    return {
      values: measured.map((t) => t.tokensPerSecond.median),
      ranges: measured.map((t) => [t.tokensPerSecond.min, t.tokensPerSecond.max]),
      steady: true,
      note: `tokens/s: median of ${passes.join("–")} passes after ${warmups.join("–")} ` +
        `warm-up (bars: min–max)`,
    };
  }
  return {
    values: runs.map((r) => r.results.tokensPerSecond ?? NaN),
    steady: false,
    note: "tokens/s: one evaluation pass each, warm-up included",
  };
}

/** Options shared by the builders that pick one metric per task. */
export interface MetricChoiceOptions {
  /**
   * Metric to plot: one name for every task, or per task. Default: {@linkcode primaryMetric}
   * (acc for multiple choice, else the first of exact_match, em, acc, f1, rougeL, bleu4, or the
   * task's first metric).
   */
  metric?: string | Record<string, string>;
  /** Tasks to show, in this order. Default: every task of any run, in first-seen order. */
  tasks?: string[];
}

/** Metrics preferred as a task's headline number, best first. */
const PREFERRED_METRICS = ["acc", "exact_match", "em", "f1", "rougeL", "rouge1", "bleu4"];

/**
 * The first preferred metric among `names`, else the first name. A filter pipeline's metric
 * (`exact_match,strict-match`) counts as its metric (the first pipeline's, in order).
 */
function preferredMetric(names: readonly string[]): string | undefined {
  for (const m of PREFERRED_METRICS) {
    const hit = names.find((n) => n === m) ?? names.find((n) => n.split(",")[0] === m);
    if (hit) return hit;
  }
  return names[0];
}

/**
 * The metric a task is summarised by: `acc` for multiple choice, else the first present of
 * exact_match, em, acc, f1, rougeL, rouge1, bleu4, else the task's first metric.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { primaryMetric } from "./figures.ts";
 * const e = { value: 1, stderr: 0, ci: [1, 1] as [number, number], n: 1, method: "wilson" as const };
 * assert.equal(primaryMetric({ outputType: "generate_until", metrics: { f1: e, em: e }, byLength: [] }), "em");
 * assert.equal(primaryMetric({ outputType: "multiple_choice", metrics: { f1: e, acc: e }, byLength: [] }), "acc");
 * ```
 */
export function primaryMetric(task: TaskResultLike): string {
  if (task.outputType === "multiple_choice" && task.metrics.acc) return "acc";
  return preferredMetric(Object.keys(task.metrics)) ?? "acc";
}

function metricOf(task: string, result: TaskResultLike, choice: MetricChoiceOptions["metric"]) {
  if (typeof choice === "string") return choice;
  return choice?.[task] ?? primaryMetric(result);
}

function taskList(runs: LabeledRun[], tasks?: string[]): string[] {
  if (tasks) return tasks;
  const seen: string[] = [];
  for (const r of runs) {
    for (const t of Object.keys(r.results.tasks)) if (!seen.includes(t)) seen.push(t);
  }
  return seen;
}

function requireRuns(what: string, n: number): void {
  if (n === 0) {
    throw new Error(`${what}: no runs given; pass at least one evaluation run (results.json)`);
  }
}

/** The estimate of `metric` on `task` in a run, or null when the run lacks it. */
function estimateOf(run: LabeledRun, task: string, metric: string): Estimate | null {
  return run.results.tasks[task]?.metrics[metric] ?? null;
}

/**
 * Divisors that put every task's metric on one axis: all 1 when the metrics share a scale, else
 * each metric's {@linkcode metricScale} (0–100 metrics shown ÷ 100 beside proportions).
 */
function axisDivisors(metrics: readonly string[]): number[] {
  const scales = metrics.map(metricScale);
  return new Set(scales).size > 1 ? scales : scales.map(() => 1);
}

/** A task's axis label: its name and metric, and "÷ 100" when it is shown rescaled. */
function taskLabel(task: string, metric: string, divisor: number): string {
  return `${task}<br>(${metric}${divisor === 1 ? "" : ` ÷ ${divisor}`})`;
}

function scaled(e: Estimate | null, divisor: number): Estimate | null {
  return e && divisor !== 1
    ? {
      ...e,
      value: e.value / divisor,
      stderr: e.stderr / divisor,
      ci: [e.ci[0] / divisor, e.ci[1] / divisor],
    }
    : e;
}

/**
 * Score per task with 95% CI error bars: grouped bars, one trace per run. The y axis spans 0–1
 * when every score is a proportion. Axis titles: "task (metric)" and "score (95% CI)".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accuracyFigure } from "./figures.ts";
 * const e = { value: 0.5, stderr: 0.05, ci: [0.4, 0.6] as [number, number], n: 100, method: "wilson" as const };
 * const fig = accuracyFigure([{ label: "base", results: { tasks: { t: { outputType: "multiple_choice", metrics: { acc: e }, byLength: [] } } } }]);
 * assert.equal((fig.layout.yaxis as { title: { text: string } }).title.text, "score, 0–1 (95% CI)");
 * ```
 */
export function accuracyFigure(runs: LabeledRun[], options: MetricChoiceOptions = {}): Figure {
  requireRuns("accuracyFigure", runs.length);
  const tasks = taskList(runs, options.tasks);
  const metricFor = (t: string) => {
    const first = runs.find((r) => r.results.tasks[t]);
    return first ? metricOf(t, first.results.tasks[t], options.metric) : "acc";
  };
  const divisors = axisDivisors(tasks.map(metricFor));
  const labels = tasks.map((t, k) => taskLabel(t, metricFor(t), divisors[k]));
  let maxValue = 0;
  const data: Trace[] = runs.map((run, i) => {
    const ests = tasks.map((t, k) => scaled(estimateOf(run, t, metricFor(t)), divisors[k]));
    const values = ests.map((e) => e?.value ?? NaN);
    const cis = ests.map((e) => e?.ci ?? [NaN, NaN] as [number, number]);
    for (const e of ests) if (e) maxValue = Math.max(maxValue, e.ci[1] ?? e.value, e.value);
    return {
      type: "bar",
      name: run.label,
      x: labels,
      y: values.map((v) => (Number.isFinite(v) ? v : null)),
      error_y: errorBars(values, cis, "#333"),
      marker: { color: color(i) },
      customdata: ests.map((e) => [num(e?.ci[0]), num(e?.ci[1]), e?.n ?? 0]),
      hovertemplate:
        `${run.label}: %{y:.3f} [%{customdata[0]}, %{customdata[1]}], n=%{customdata[2]}` +
        "<extra></extra>",
    };
  });
  const proportion = maxValue <= 1;
  return {
    data,
    layout: {
      ...baseLayout("Score per task", "bars: point estimate; error bars: 95% confidence interval"),
      barmode: "group",
      bargap: 0.25,
      xaxis: axis("task (metric)"),
      yaxis: axis(
        proportion ? "score, 0–1 (95% CI)" : "score (95% CI)",
        proportion ? { range: [0, 1.05] } : {},
      ),
    },
    config: { responsive: true, displaylogo: false },
  };
}

/** A comparison with the name it gets in the legend (e.g. "tuned − base"). */
export interface LabeledComparison {
  /** Legend name. Default in builders: "<B run> − <A run>". */
  label?: string;
  /** What `compareRuns(a, b)` returned. */
  comparison: RunComparison;
}

/** Options for {@linkcode deltaFigure}. */
export interface DeltaFigureOptions extends MetricChoiceOptions {
  /**
   * Which p-value the marks use: McNemar's (0/1 metrics; the paired bootstrap otherwise) or the
   * paired bootstrap's. Default: "mcnemar".
   */
  test?: "mcnemar" | "bootstrap";
}

/** Significance marks: *** p < 0.001, ** p < 0.01, * p < 0.05, "n.s." otherwise. */
export const SIGNIFICANCE_LEVELS: readonly [number, string][] = [
  [0.001, "***"],
  [0.01, "**"],
  [0.05, "*"],
];

/** The largest p-value that gets a mark. */
const SIGNIFICANT = 0.05;

/**
 * The significance mark of a p-value (see {@linkcode SIGNIFICANCE_LEVELS}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { significanceMark } from "./figures.ts";
 * assert.equal(significanceMark(0.003), "**");
 * assert.equal(significanceMark(0.2), "n.s.");
 * ```
 */
export function significanceMark(p: number): string {
  if (!Number.isFinite(p)) return "";
  for (const [level, mark] of SIGNIFICANCE_LEVELS) if (p < level) return mark;
  return "n.s.";
}

/**
 * Per-task difference B − A with its paired-bootstrap 95% CI and, when significant, a mark (`*`,
 * `**`, `***`), one trace per comparison (dots with error bars, grouped per task, a line at zero). Axis titles: "task
 * (metric)" and "Δ score, B − A (95% CI)".
 *
 * @example
 * ```ts ignore
 * import { compareRuns } from "../eval/compare.ts";
 * import { deltaFigure } from "./figures.ts";
 * const fig = deltaFigure([{ label: "tuned − base", comparison: compareRuns("results/eval/base", "results/eval/tuned") }]);
 * ```
 */
export function deltaFigure(
  comparisons: LabeledComparison[],
  options: DeltaFigureOptions = {},
): Figure {
  if (!comparisons.length) {
    throw new Error("deltaFigure: no comparisons given; pass compareRuns(a, b) results");
  }
  const { test = "mcnemar" } = options;
  const tasks = options.tasks ?? [
    ...new Set(comparisons.flatMap((c) => Object.keys(c.comparison.tasks))),
  ];
  const metricFor = (task: string) => {
    if (typeof options.metric === "string") return options.metric;
    if (options.metric?.[task]) return options.metric[task];
    const names = comparisons.flatMap((c) => Object.keys(c.comparison.tasks[task]?.metrics ?? {}));
    return preferredMetric(names) ?? "acc";
  };
  const divisors = axisDivisors(tasks.map(metricFor));
  const labels = tasks.map((t, k) => taskLabel(t, metricFor(t), divisors[k]));
  const data: Trace[] = comparisons.map((c, i) => {
    const label = c.label ?? `${c.comparison.b.run} − ${c.comparison.a.run}`;
    const ms = tasks.map((t) => c.comparison.tasks[t]?.metrics[metricFor(t)] ?? null);
    const values = ms.map((m, k) => (m?.delta ?? NaN) / divisors[k]);
    const cis = ms.map((m, k) =>
      m
        ? [m.ci[0] / divisors[k], m.ci[1] / divisors[k]] as [number, number]
        : [NaN, NaN] as [number, number]
    );
    const ps = ms.map((m) =>
      !m ? NaN : test === "mcnemar" && m.mcnemar ? m.mcnemar.pValue : m.pValue
    );
    return {
      type: "scatter",
      mode: "markers+text",
      name: label,
      x: labels,
      y: values.map((v) => (Number.isFinite(v) ? v : null)),
      error_y: errorBars(values, cis, color(i)),
      marker: { color: color(i), size: 10, symbol: "diamond" },
      // Only significant differences are marked: "n.s." next to every point would crowd the plot.
      text: ps.map((p) => (Number.isFinite(p) && p < SIGNIFICANT ? ` ${significanceMark(p)}` : "")),
      textposition: "middle right",
      textfont: { size: 14, color: color(i) },
      customdata: ms.map((m, j) => [num(cis[j][0]), num(cis[j][1]), pValueLabel(ps[j]), m?.n ?? 0]),
      hovertemplate: `${label}: Δ=%{y:+.3f} [%{customdata[0]}, %{customdata[1]}], ` +
        "%{customdata[2]}, n=%{customdata[3]}<extra></extra>",
    };
  });
  const testName = test === "mcnemar" ? "McNemar" : "paired bootstrap";
  return {
    data,
    layout: {
      ...baseLayout(
        "Per-task difference",
        `Δ = B − A, paired-bootstrap 95% CI · * p<0.05  ** p<0.01  *** p<0.001 (${testName}); ` +
          "unmarked: not significant",
      ),
      scattermode: "group",
      xaxis: axis("task (metric)"),
      yaxis: axis("Δ score, B − A (95% CI)", {
        zeroline: true,
        zerolinecolor: "#888",
        zerolinewidth: 1.5,
      }),
    },
    config: { responsive: true, displaylogo: false },
  };
}

/** Gap between subplots, as a fraction of the figure. */
const SUBPLOT_GAP_X = 0.1;
const SUBPLOT_GAP_Y = 0.2;
/** Height of one row of subplots, the title/legend/axis frame around them, and the least total (px). */
const SUBPLOT_ROW_HEIGHT = 300;
const SUBPLOT_FRAME_HEIGHT = 160;
const MIN_SUBPLOTS_HEIGHT = 460;

/**
 * Score by input length: one subplot per task, one line per run over the runs' prompt-length
 * buckets (x = the bucket's token range, one evenly spaced category per bucket, labelled with its
 * number of items; error bars = 95% CI). Tasks without buckets
 * (too few items) are left out. Axis titles: "prompt length (tokens)" and "score (95% CI)".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lengthFigure } from "./figures.ts";
 * const e = (v: number) => ({ value: v, stderr: 0.1, ci: [v - 0.2, v + 0.2] as [number, number], n: 10, method: "wilson" as const });
 * const byLength = [
 *   { minTokens: 5, maxTokens: 9, metric: "acc", estimate: e(0.7) },
 *   { minTokens: 10, maxTokens: 20, metric: "acc", estimate: e(0.4) },
 * ];
 * const fig = lengthFigure([{ label: "base", results: { tasks: { t: { outputType: "multiple_choice", metrics: {}, byLength } } } }]);
 * assert.equal(fig.data.length, 1); // one trace per run
 * ```
 */
export function lengthFigure(
  runs: LabeledRun[],
  options: Pick<MetricChoiceOptions, "tasks"> = {},
): Figure {
  requireRuns("lengthFigure", runs.length);
  const tasks = taskList(runs, options.tasks).filter((t) =>
    runs.some((r) => (r.results.tasks[t]?.byLength ?? []).length > 0)
  );
  if (!tasks.length) {
    throw new Error(
      "lengthFigure: no run has accuracy by input length (byLength is empty: a task needs at " +
        "least 2 items per bucket); evaluate more items (a larger limit)",
    );
  }
  const cols = Math.min(2, tasks.length);
  const rows = Math.ceil(tasks.length / cols);
  const w = (1 - SUBPLOT_GAP_X * (cols - 1)) / cols;
  const h = (1 - SUBPLOT_GAP_Y * (rows - 1)) / rows;
  const layout: Record<string, unknown> = {
    ...baseLayout(
      "Score by input length",
      "prompt-length buckets (about quartiles; tokens and items under each); error bars: 95% CI",
      Math.max(MIN_SUBPLOTS_HEIGHT, rows * SUBPLOT_ROW_HEIGHT + SUBPLOT_FRAME_HEIGHT),
    ),
    annotations: [] as unknown[],
  };
  const data: Trace[] = [];
  tasks.forEach((task, k) => {
    const col = k % cols;
    const row = Math.floor(k / cols);
    const suffix = k === 0 ? "" : String(k + 1);
    const x0 = col * (w + SUBPLOT_GAP_X);
    const yTop = 1 - row * (h + SUBPLOT_GAP_Y);
    layout[`xaxis${suffix}`] = axis("prompt length (tokens)", {
      domain: [x0, x0 + w],
      anchor: `y${suffix}`,
      ...bucketAxis(runs.map((r) => r.results.tasks[task]?.byLength ?? [])),
    });
    const metric = runs.map((r) => r.results.tasks[task]?.byLength[0]?.metric).find(Boolean) ?? "";
    // Each task has its own axis, so a BLEU-family task keeps its 0–100 scale.
    layout[`yaxis${suffix}`] = axis("score (95% CI)", {
      domain: [yTop - h, yTop],
      anchor: `x${suffix}`,
      range: [0, 1.05 * metricScale(metric)],
    });
    (layout.annotations as unknown[]).push({
      text: `<b>${task}</b> (${metric})`,
      xref: "paper",
      yref: "paper",
      x: x0 + w / 2,
      y: yTop,
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
      font: { size: 13 },
    });
    runs.forEach((run, i) => {
      const buckets = run.results.tasks[task]?.byLength ?? [];
      if (!buckets.length) return;
      const values = buckets.map((b) => b.estimate.value);
      data.push({
        type: "scatter",
        mode: "lines+markers",
        name: run.label,
        legendgroup: run.label,
        showlegend: k === 0,
        xaxis: `x${suffix}`,
        yaxis: `y${suffix}`,
        x: buckets.map(bucketLabel),
        y: values,
        error_y: errorBars(values, buckets.map((b) => b.estimate.ci), color(i)),
        line: { color: color(i), width: 2 },
        marker: { color: color(i), size: 7 },
        customdata: buckets.map((b) => [b.minTokens, b.maxTokens, b.estimate.n]),
        hovertemplate: `${run.label}: %{y:.3f} for %{customdata[0]}–%{customdata[1]} tokens, ` +
          "n=%{customdata[2]}<extra></extra>",
      });
    });
  });
  return { data, layout, config: { responsive: true, displaylogo: false } };
}

/** A bucket's token range as its category on the x axis: "12" or "13–14". */
function bucketLabel(b: LengthBucket): string {
  return b.minTokens === b.maxTokens ? String(b.minTokens) : `${b.minTokens}–${b.maxTokens}`;
}

/**
 * The x axis of a length subplot: one evenly spaced category per bucket, in order of length,
 * labelled with its token range and its number of items (`n=15`; `n=14–15` when the runs scored
 * different numbers).
 */
function bucketAxis(runs: LengthBucket[][]): Record<string, unknown> {
  const byLabel = new Map<string, { lo: number; ns: number[] }>();
  for (const b of runs.flat()) {
    const t = byLabel.get(bucketLabel(b)) ?? { lo: b.minTokens, ns: [] };
    t.ns.push(b.estimate.n);
    byLabel.set(bucketLabel(b), t);
  }
  const labels = [...byLabel.keys()].sort((a, b) => byLabel.get(a)!.lo - byLabel.get(b)!.lo);
  return {
    type: "category",
    categoryorder: "array",
    categoryarray: labels,
    tickmode: "array",
    tickvals: labels,
    ticktext: labels.map((l) => {
      const ns = byLabel.get(l)!.ns;
      const [a, z] = [Math.min(...ns), Math.max(...ns)];
      return `${l}<br>n=${a === z ? a : `${a}–${z}`}`;
    }),
  };
}

/** A run's scores averaged over tasks, with a normal 95% interval. */
export interface MeanScore {
  /** Mean of the tasks' headline scores. */
  value: number;
  /** √(Σ stderr²) / k: the tasks' samples are independent. */
  stderr: number;
  /** value ± 1.96 · stderr. */
  ci: [number, number];
  /** Tasks averaged. */
  tasks: number;
}

const Z95 = 1.959964;

/**
 * The unweighted mean over tasks of each task's headline score ({@linkcode primaryMetric} unless
 * `metric` says otherwise) on 0–1 (a BLEU-family score divided by its {@linkcode metricScale}),
 * with a normal 95% CI from the tasks' standard errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanScore } from "./figures.ts";
 * const e = (v: number) => ({ value: v, stderr: 0.03, ci: [v - 0.06, v + 0.06] as [number, number], n: 200, method: "wilson" as const });
 * const m = meanScore({ tasks: { a: { outputType: "multiple_choice", metrics: { acc: e(0.4) }, byLength: [] }, b: { outputType: "multiple_choice", metrics: { acc: e(0.6) }, byLength: [] } } });
 * assert.equal(m.value.toFixed(2), "0.50");
 * assert.equal(m.tasks, 2);
 * ```
 */
export function meanScore(results: EvalResultsLike, options: MetricChoiceOptions = {}): MeanScore {
  const tasks = options.tasks ?? Object.keys(results.tasks);
  const ests = tasks.map((t) => {
    const r = results.tasks[t];
    if (!r) return undefined;
    const metric = metricOf(t, r, options.metric);
    return scaled(r.metrics[metric] ?? null, metricScale(metric)) ?? undefined;
  }).filter((e): e is Estimate => !!e && Number.isFinite(e.value));
  if (!ests.length) return { value: NaN, stderr: NaN, ci: [NaN, NaN], tasks: 0 };
  const value = ests.reduce((s, e) => s + e.value, 0) / ests.length;
  const se =
    Math.sqrt(ests.reduce((s, e) => s + (Number.isFinite(e.stderr) ? e.stderr ** 2 : 0), 0)) /
    ests.length;
  return { value, stderr: se, ci: [value - Z95 * se, value + Z95 * se], tasks: ests.length };
}

/** x range beyond the largest point, so the points' labels fit. */
const LABEL_ROOM = 1.25;

/** Options for {@linkcode costFigure}. */
export interface CostFigureOptions extends MetricChoiceOptions {
  /**
   * The x axis: "cost" (USD, from results.json's usage.costUsd), "tokens_per_s" (throughput), or
   * "auto": cost when every run has a cost, else throughput. Default: "auto".
   */
  x?: "auto" | "cost" | "tokens_per_s";
}

/**
 * Cost (or throughput) against accuracy: one point per run at (cost in USD or tokens/s, mean
 * score over tasks with its 95% CI), labelled with the run's name. Axis titles: "cost of the
 * evaluation (USD)" or "throughput (tokens/s)", and "mean score over N tasks (95% CI)".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { costFigure } from "./figures.ts";
 * const e = { value: 0.5, stderr: 0.05, ci: [0.4, 0.6] as [number, number], n: 100, method: "wilson" as const };
 * const results = { tokensPerSecond: 900, tasks: { t: { outputType: "multiple_choice", metrics: { acc: e }, byLength: [] } } };
 * const xaxis = costFigure([{ label: "base", results }]).layout.xaxis as { title: { text: string } };
 * assert.equal(xaxis.title.text, "throughput (tokens/s)"); // no cost recorded
 * ```
 */
export function costFigure(runs: LabeledRun[], options: CostFigureOptions = {}): Figure {
  requireRuns("costFigure", runs.length);
  const { x = "auto" } = options;
  const allCost = runs.every((r) => typeof r.results.usage?.costUsd === "number");
  if (x === "cost" && !allCost) {
    const missing = runs.filter((r) => typeof r.results.usage?.costUsd !== "number").map((r) =>
      r.label
    );
    throw new Error(
      `costFigure: run(s) ${missing.join(", ")} have no cost (results.json usage.costUsd); ` +
        `price API runs (pricePer1kInput/Output) or use x: "tokens_per_s"`,
    );
  }
  const useCost = x === "cost" || (x === "auto" && allCost);
  const speed = throughputSeries(runs);
  const xs = runs.map((r, i) => useCost ? r.results.usage!.costUsd! : speed.values[i]);
  const tasks = options.tasks ??
    taskList(runs).filter((t) => runs.every((r) => r.results.tasks[t]));
  const data: Trace[] = runs.map((run, i) => {
    const m = meanScore(run.results, { ...options, tasks });
    const xv = xs[i];
    const range = useCost ? undefined : speed.ranges?.[i];
    return {
      type: "scatter",
      mode: "markers+text",
      name: run.label,
      x: [xv],
      y: [m.value],
      error_y: errorBars([m.value], [m.ci], color(i)),
      ...(range ? { error_x: errorBars([xv], [range], color(i)) } : {}),
      text: [`  ${run.label}`],
      // Alternate above and below, so runs at nearly the same point keep readable labels.
      textposition: i % 2 ? "bottom right" : "top right",
      textfont: { color: color(i) },
      cliponaxis: false,
      marker: { color: color(i), size: 12 },
      hovertemplate: `${run.label}: %{y:.3f} at %{x:.4g} ${
        useCost ? "USD" : "tokens/s"
      }<extra></extra>`,
    };
  });
  return {
    data,
    layout: {
      ...baseLayout(
        useCost ? "Cost vs accuracy" : "Throughput vs accuracy",
        `mean headline score over ${tasks.length} task(s) (95% CI)` +
          (useCost ? "" : `; ${speed.note}`),
      ),
      xaxis: axis(useCost ? "cost of the evaluation (USD)" : "throughput (tokens/s)", {
        range: [
          0,
          Math.max(
              ...xs.filter(Number.isFinite),
              ...(useCost ? [] : (speed.ranges ?? []).map(([, hi]) => hi)),
              0,
            ) * LABEL_ROOM || 1,
        ],
      }),
      yaxis: axis(`mean score over ${tasks.length} task(s) (95% CI)`, { range: [0, 1.05] }),
      showlegend: true,
    },
    config: { responsive: true, displaylogo: false },
  };
}

/** One quantization type of a model, with its card and its evaluation. */
export interface QuantPoint {
  /** Name on the plot, e.g. "q4_k_m" or "f32". */
  label: string;
  /** Bits per weight (card.bits_per_weight) and size in bytes. */
  card: Pick<QuantizeCard, "bits_per_weight" | "bytes">;
  /** The evaluation of that file. */
  results: EvalResultsLike;
  /** Its steady-state throughput (lib/eval/throughput.ts), when measured. */
  throughput?: Throughput;
}

/**
 * The quantization trade-off: mean score (95% CI, left axis) and throughput (tokens/s, right
 * axis) per quantization type, the types in order of bits per weight (each labelled with it; the
 * file size is in the hover). Axis titles: "quantization type and bits per weight (fewest bits
 * left)", "mean score (95% CI)" and "throughput (tokens/s)".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantFigure } from "./figures.ts";
 * const e = (v: number) => ({ value: v, stderr: 0.03, ci: [v - 0.06, v + 0.06] as [number, number], n: 200, method: "wilson" as const });
 * const point = (label: string, bpw: number, acc: number) => ({
 *   label, card: { bits_per_weight: bpw, bytes: bpw * 1e5 },
 *   results: { tokensPerSecond: 1000 / bpw, tasks: { t: { outputType: "multiple_choice", metrics: { acc: e(acc) }, byLength: [] } } },
 * });
 * const fig = quantFigure([point("f32", 32, 0.6), point("q8_0", 8.5, 0.6), point("q4_k_m", 5, 0.55)]);
 * assert.deepEqual(fig.data.map((t) => t.name), ["mean score (left axis)", "throughput (right axis)"]);
 * ```
 */
export function quantFigure(points: QuantPoint[], options: MetricChoiceOptions = {}): Figure {
  if (!points.length) {
    throw new Error("quantFigure: no points given; pass each quantization type's card and results");
  }
  const sorted = [...points].sort((a, b) => a.card.bits_per_weight - b.card.bits_per_weight);
  const tasks = options.tasks ??
    taskList(sorted.map((p) => ({ label: p.label, results: p.results }))).filter((t) =>
      sorted.every((p) => p.results.tasks[t])
    );
  const means = sorted.map((p) => meanScore(p.results, { ...options, tasks }));
  // Categories in order of bits: evenly spaced, so the low-bit types' labels do not collide.
  const x = sorted.map((p) => `${p.label}<br>${p.card.bits_per_weight.toFixed(2)}`);
  const mib = sorted.map((p) => (p.card.bytes / 2 ** 20).toFixed(2));
  const values = means.map((m) => m.value);
  const speed = throughputSeries(sorted);
  const tps = speed.values.map((v) => (Number.isFinite(v) ? v : null));
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers",
        name: "mean score (left axis)",
        x,
        y: values,
        error_y: errorBars(values, means.map((m) => m.ci), color(0)),
        line: { color: color(0), width: 2 },
        marker: { color: color(0), size: 10 },
        customdata: mib,
        hovertemplate: "%{x}: score %{y:.3f}, %{customdata} MiB<extra></extra>",
      },
      {
        type: "scatter",
        mode: "lines+markers",
        name: "throughput (right axis)",
        yaxis: "y2",
        x,
        y: tps,
        ...(speed.ranges ? { error_y: errorBars(speed.values, speed.ranges, color(1)) } : {}),
        line: { color: color(1), width: 2, dash: "dot" },
        marker: { color: color(1), size: 8, symbol: "square" },
        hovertemplate: "%{x}: %{y:.0f} tokens/s<extra></extra>",
      },
    ],
    layout: {
      ...baseLayout(
        "Quantization trade-off",
        `mean score over ${tasks.length} task(s) (95% CI) by type; ${speed.note}`,
      ),
      margin: { l: 70, r: 80, t: 110, b: 80 },
      xaxis: axis("quantization type and bits per weight (fewest bits left)", {
        type: "category",
      }),
      yaxis: axis("mean score (95% CI)", { range: [0, 1.05] }),
      yaxis2: axis("throughput (tokens/s)", {
        overlaying: "y",
        side: "right",
        showgrid: false,
        rangemode: "tozero",
      }),
    },
    config: { responsive: true, displaylogo: false },
  };
}
