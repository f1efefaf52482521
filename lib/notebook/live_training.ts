/**
 * Live progress of a training run in a notebook: a status line (step, loss, validation loss,
 * tokens/s, ETA) and the loss curve, redrawn in place as the trainer's events arrive
 * ({@linkcode liveTraining}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveTraining } from "./live_training.ts";
 * const live = liveTraining({ label: "LoRA" });
 * live.onEvent({ event: "step", step: 1, loss: 2 });
 * assert.equal(live.events.length, 1);
 * ```
 * @module
 */
import type { TrainEvent } from "../train/bridge.ts";
import { lossFigure } from "../plots/loss_figure.ts";
import { figureDisplay, inJupyter, markdownDisplay, show } from "./display.ts";

/** Pause after the last live display of a cell. */
const FLUSH_MS = 300;

/** Options for {@linkcode liveTraining}. */
export interface LiveTrainingOptions {
  /** Legend name of the run. Default: "LoRA". */
  label?: string;
  /** Redraw at most this often. Default: 2000 ms. */
  intervalMs?: number;
}

/** What {@linkcode liveTraining} returns: pass `onEvent` to runTrainer, await `finish`. */
export interface LiveTraining {
  /** Every event received so far. */
  events: TrainEvent[];
  /** Give to `runTrainer(config, { onEvent })`. */
  onEvent: (event: TrainEvent) => void;
  /** Draw the final state (call after training, success or not). */
  finish: () => Promise<void>;
}

/**
 * Live progress of a training run: a status line (step, loss, validation loss, tokens/s, ETA) and
 * the loss curve, redrawn in place in Jupyter (display ids) every `intervalMs`; outside Jupyter
 * the status line is printed at every validation.
 *
 * @example
 * ```ts ignore
 * import { runTrainer } from "tunebook/mod.ts";
 * import { liveTraining } from "tunebook/notebook/mod.ts";
 * const live = liveTraining();
 * try {
 *   await runTrainer(config, { progress: false, onEvent: live.onEvent });
 * } finally {
 *   await live.finish();
 * }
 * ```
 */
export function liveTraining(options: LiveTrainingOptions = {}): LiveTraining {
  const { label = "LoRA", intervalMs = 2000 } = options;
  const id = crypto.randomUUID();
  const events: TrainEvent[] = [];
  const started = performance.now();
  let total = 0;
  let startStep = 0;
  let lastDraw = -Infinity;
  let shown = false;
  let chain: Promise<void> = Promise.resolve();

  const status = () => {
    const steps = events.filter((e) => e.event === "step");
    const last = steps.at(-1);
    const val = events.findLast((e) => e.event === "eval");
    const done = events.findLast((e) => e.event === "done");
    const step = last?.step ?? startStep;
    const secs = (performance.now() - started) / 1000;
    const rate = (step - startStep) / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (total - step) / rate : NaN;
    return `**${label}** ${done ? "done" : "training"}: step ${step}/${total || "?"}` +
      (last?.loss !== undefined ? ` · loss ${last.loss.toFixed(4)}` : "") +
      (val?.val_loss !== undefined ? ` · validation loss ${val.val_loss.toFixed(4)}` : "") +
      (last?.tokens_per_s !== undefined ? ` · ${last.tokens_per_s} tokens/s` : "") +
      (done
        ? ` · ${done.train_seconds} s`
        : Number.isFinite(eta)
        ? ` · ETA ${eta.toFixed(0)} s`
        : "");
  };
  const draw = () => {
    const update = shown;
    shown = true;
    const text = markdownDisplay(status());
    const fig = figureDisplay(lossFigure([{ label, events }]));
    chain = chain.then(async () => {
      await show(text, { displayId: `${id}-status`, update });
      await show(fig, { displayId: `${id}-loss`, update });
    });
  };
  const inNotebook = inJupyter();
  return {
    events,
    onEvent(event: TrainEvent) {
      events.push(event);
      if (event.event === "start") {
        total = Number(event.steps ?? 0);
        startStep = Number(event.start_step ?? 0);
      }
      if (!inNotebook) {
        if (event.event === "eval" || event.event === "start") {
          console.log(status().replace(/\*\*/g, ""));
        }
        return;
      }
      const now = performance.now();
      if (now - lastDraw >= intervalMs || event.event === "eval") {
        lastDraw = now;
        draw();
      }
    },
    async finish() {
      if (inNotebook) draw();
      else console.log(status().replace(/\*\*/g, ""));
      await chain;
      // Let the kernel send the last display messages before the cell ends (it can report the
      // cell finished first, and the executor then drops them).
      if (inNotebook) await new Promise((r) => setTimeout(r, FLUSH_MS));
    },
  };
}
