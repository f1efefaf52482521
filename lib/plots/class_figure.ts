/**
 * Accuracy per gold class (the `per_class_accuracy` metric's `acc_<label>` entries) as grouped
 * bars with 95% CIs, one trace per run: what a classifier gets right on each class, which an
 * overall accuracy near 50% on two classes can hide (always answering "yes" scores 100% / 0%).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { perClassFigure } from "./class_figure.ts";
 * const e = (v: number) => ({ value: v, stderr: 0.05, ci: [v - 0.1, v + 0.1] as [number, number], n: 100, method: "wilson" as const });
 * const task = (yes: number, no: number) => ({ outputType: "multiple_choice", metrics: { acc: e(0.5), acc_yes: e(yes), acc_no: e(no) }, byLength: [] });
 * const fig = perClassFigure([
 *   { label: "base", results: { tasks: { nli: task(0.9, 0.2) } } },
 *   { label: "tuned", results: { tasks: { nli: task(0.6, 0.5) } } },
 * ], "nli");
 * assert.deepEqual(fig.data.map((t) => t.name), ["base", "tuned"]);
 * assert.deepEqual(fig.data[0].x, ["no", "yes"]);
 * ```
 * @module
 */
import type { Figure, LabeledRun, Trace } from "./figures.ts";
import { axis, baseLayout, color, errorBars, num } from "./_style.ts";

const CLASS_PREFIX = "acc_";
/** `acc_norm` is a metric of its own, not a class named "norm". */
const NOT_CLASSES = new Set(["acc_norm"]);

/** The metric names among `metrics` that are a gold class's accuracy (`acc_<label>`). */
function classMetrics(metrics: Record<string, unknown>): string[] {
  return Object.keys(metrics).filter((m) => m.startsWith(CLASS_PREFIX) && !NOT_CLASSES.has(m));
}

/**
 * Accuracy on each gold class (label → value) from a task's metrics (the `per_class_accuracy`
 * metric's `acc_<label>` entries); empty when the task has none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classAccuracies } from "./class_figure.ts";
 * const e = (v: number) => ({ value: v, stderr: 0, ci: [v, v] as [number, number], n: 10, method: "wilson" as const });
 * assert.deepEqual(classAccuracies({ acc: e(0.6), acc_norm: e(0.6), acc_no: e(1), acc_yes: e(0) }), { no: 1, yes: 0 });
 * ```
 */
export function classAccuracies(
  metrics: Record<string, { value: number }>,
): Record<string, number> {
  return Object.fromEntries(
    classMetrics(metrics).sort().map((m) => [m.slice(CLASS_PREFIX.length), metrics[m].value]),
  );
}

/**
 * Per-class accuracy of `task`, one bar group per gold label (sorted), one trace per run. Axis
 * titles: "gold class" and "accuracy on the class, 0–1 (95% CI)". Throws when no run has an
 * `acc_<label>` metric for the task (the task's metric_list needs `per_class_accuracy`).
 */
export function perClassFigure(runs: LabeledRun[], task: string): Figure {
  const classes = [
    ...new Set(runs.flatMap((r) => classMetrics(r.results.tasks[task]?.metrics ?? {}))),
  ].sort();
  if (!classes.length) {
    throw new Error(
      `perClassFigure: no run has per-class accuracies for ${task} (acc_<label> metrics); ` +
        `add "- metric: per_class_accuracy" to the task's metric_list and evaluate again`,
    );
  }
  const labels = classes.map((c) => c.slice(CLASS_PREFIX.length));
  const data: Trace[] = runs.map((run, i) => {
    const ests = classes.map((c) => run.results.tasks[task]?.metrics[c]);
    const values = ests.map((e) => e?.value ?? NaN);
    return {
      type: "bar",
      name: run.label,
      x: labels,
      y: values.map((v) => (Number.isFinite(v) ? v : null)),
      error_y: errorBars(values, ests.map((e) => e?.ci ?? [NaN, NaN]), "#333"),
      marker: { color: color(i) },
      customdata: ests.map((e) => [num(e?.ci[0]), num(e?.ci[1]), e?.n ?? 0]),
      hovertemplate:
        `${run.label}: %{y:.3f} [%{customdata[0]}, %{customdata[1]}], n=%{customdata[2]}` +
        "<extra></extra>",
    };
  });
  return {
    data,
    layout: {
      ...baseLayout(
        `Accuracy per class: ${task}`,
        "share of each gold class answered correctly; error bars: 95% confidence interval",
      ),
      barmode: "group",
      bargap: 0.25,
      xaxis: axis("gold class"),
      yaxis: axis("accuracy on the class, 0–1 (95% CI)", { range: [0, 1.05] }),
    },
    config: { responsive: true, displaylogo: false },
  };
}
