/**
 * A metric at every training checkpoint: one line per metric, x = optimizer step (step 0 is the
 * base model), y = the score with its 95% CI — how a fine-tune's score moves while it trains
 * (a QA fine-tune's ROUGE per checkpoint, say).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointFigure } from "./checkpoint_figure.ts";
 * const e = (v: number) => ({ value: v, stderr: 0.02, ci: [v - 0.04, v + 0.04] as [number, number], n: 200, method: "bootstrap" as const });
 * const at = (step: number, v: number) => ({ step, results: { tasks: { qa: { outputType: "generate_until", metrics: { rougeL: e(v), rouge1: e(v + 0.05) }, byLength: [] } } } });
 * const fig = checkpointFigure([at(0, 0.1), at(50, 0.3), at(100, 0.4)], "qa", ["rougeL", "rouge1"]);
 * assert.deepEqual(fig.data.map((t) => t.name), ["rougeL", "rouge1"]);
 * assert.deepEqual(fig.data[0].x, [0, 50, 100]);
 * ```
 * @module
 */
import type { EvalResultsLike, Figure, Trace } from "./figures.ts";
import { axis, baseLayout, color, errorBars, num } from "./_style.ts";

/** One checkpoint's evaluation. */
export interface CheckpointRun {
  /** Optimizer step (0: the base model, before training). */
  step: number;
  /** Its results.json (or what of it the figure reads). */
  results: EvalResultsLike;
}

/**
 * `metrics` of `task` against the checkpoint's step, one line with 95% CI error bars per
 * metric. Axis titles: "optimizer step" and "score, 0–1 (95% CI)". Throws for no checkpoints.
 */
export function checkpointFigure(
  checkpoints: CheckpointRun[],
  task: string,
  metrics: string[],
): Figure {
  if (!checkpoints.length) {
    throw new Error("checkpointFigure: no checkpoint runs given; evaluate at least one checkpoint");
  }
  const sorted = [...checkpoints].sort((a, b) => a.step - b.step);
  const data: Trace[] = metrics.map((metric, i) => {
    const ests = sorted.map((c) => c.results.tasks[task]?.metrics[metric]);
    const values = ests.map((e) => e?.value ?? NaN);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: metric,
      x: sorted.map((c) => c.step),
      y: values.map((v) => (Number.isFinite(v) ? v : null)),
      error_y: errorBars(values, ests.map((e) => e?.ci ?? [NaN, NaN]), color(i)),
      marker: { color: color(i), size: 8 },
      line: { color: color(i) },
      customdata: ests.map((e) => [num(e?.ci[0]), num(e?.ci[1])]),
      hovertemplate: `${metric} at step %{x}: %{y:.3f} [%{customdata[0]}, %{customdata[1]}]` +
        "<extra></extra>",
    };
  });
  return {
    data,
    layout: {
      ...baseLayout(
        `${task} per checkpoint`,
        "step 0 is the base model; error bars: 95% confidence interval",
      ),
      xaxis: axis("optimizer step"),
      yaxis: axis("score, 0–1 (95% CI)", { range: [0, 1.05] }),
    },
    config: { responsive: true, displaylogo: false },
  };
}
