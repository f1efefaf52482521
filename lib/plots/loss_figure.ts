/**
 * The training-loss figure: training loss per optimizer step, its moving average and validation
 * loss, from the trainer's events (events.jsonl, or `runTrainer`'s `onEvent` as they arrive).
 * @module
 */
import type { TrainEvent } from "../train/bridge.ts";
import type { Figure, Trace } from "./figures.ts";
import { axis, baseLayout, color, fade } from "./_style.ts";

/** Weight of each new step in the smoothed training loss (an exponential moving average). */
const LOSS_SMOOTHING = 0.1;

/**
 * Exponential moving average with bias correction (as TensorBoard's smoothing without it would
 * start at 0): s_t = (1 − a)·s_{t−1} + a·x_t, divided by 1 − (1 − a)^t.
 */
function ema(xs: number[], a: number): number[] {
  let s = 0;
  return xs.map((x, t) => {
    s = (1 - a) * s + a * x;
    return s / (1 - (1 - a) ** (t + 1));
  });
}

/** A training run's events with the name it gets in the legend. */
export interface LabeledEvents {
  /** Legend prefix, e.g. "tiny-cpu". */
  label: string;
  /** The trainer's events (events.jsonl, or `runTrainer`'s `onEvent` as they arrive). */
  events: TrainEvent[];
}

/**
 * Training loss per optimizer step (faint line), its exponential moving average (10% weight per
 * step) and validation loss at each evaluation (dashed, with markers), for one or more runs. Axis titles: "optimizer step" and "loss (cross-entropy,
 * nats/token)". Works on a partial event list, so a notebook can redraw it while training runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossFigure } from "./loss_figure.ts";
 * const events = [
 *   { event: "step" as const, step: 1, loss: 2.0 },
 *   { event: "step" as const, step: 2, loss: 1.5 },
 *   { event: "eval" as const, step: 2, val_loss: 1.7 },
 * ];
 * assert.deepEqual(lossFigure([{ label: "run", events }]).data.map((t) => t.name), [
 *   "run: training",
 *   "run: training (smoothed)",
 *   "run: validation",
 * ]);
 * ```
 */
export function lossFigure(runs: LabeledEvents[]): Figure {
  if (!runs.length) {
    throw new Error("lossFigure: no runs given; pass the trainer's events (events.jsonl)");
  }
  const data: Trace[] = [];
  runs.forEach((run, i) => {
    const steps = run.events.filter((e) => e.event === "step" && typeof e.loss === "number");
    const evals = run.events.filter((e) => e.event === "eval" && typeof e.val_loss === "number");
    const prefix = runs.length === 1 && run.label === "" ? "" : `${run.label}: `;
    const xs = steps.map((e) => e.step);
    data.push({
      type: "scatter",
      mode: "lines",
      name: `${prefix}training`,
      x: xs,
      y: steps.map((e) => e.loss),
      line: { color: fade(color(i), 0.35), width: 1 },
      hovertemplate: "step %{x}: training loss %{y:.4f}<extra></extra>",
    });
    data.push({
      type: "scatter",
      mode: "lines",
      name: `${prefix}training (smoothed)`,
      x: xs,
      y: ema(steps.map((e) => e.loss!), LOSS_SMOOTHING),
      line: { color: color(i), width: 2.5 },
      hovertemplate: "step %{x}: smoothed training loss %{y:.4f}<extra></extra>",
    });
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `${prefix}validation`,
      x: evals.map((e) => e.step),
      y: evals.map((e) => e.val_loss),
      line: { color: color(i), width: 2.5, dash: "dash" },
      marker: { color: color(i), size: 8 },
      hovertemplate: "step %{x}: validation loss %{y:.4f}<extra></extra>",
    });
  });
  return {
    data,
    layout: {
      ...baseLayout(
        "Training and validation loss",
        "mean cross-entropy of the completion tokens; smoothed: moving average (10% per step)",
      ),
      xaxis: axis("optimizer step"),
      yaxis: axis("loss (cross-entropy, nats/token)"),
    },
    config: { responsive: true, displaylogo: false },
  };
}
