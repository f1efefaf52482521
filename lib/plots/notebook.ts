/**
 * Helpers the notebooks call so that they stay thin: the setup cell ({@linkcode setupNotebook}),
 * the parameters cell ({@linkcode notebookParams}), input checks whose errors say what to run
 * first ({@linkcode requirePath}) and live training progress with a loss curve that redraws in
 * place ({@linkcode liveTraining}).
 *
 * @example
 * ```ts
 * import { notebookParams } from "./notebook.ts";
 * const params = notebookParams({ model: "data/models/tiny/tiny-f32.gguf", limit: 40 }, { env: {} });
 * console.log(params.limit); // 40
 * ```
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Backend, createLlamaBackend, type LlamaBackendOptions } from "../eval/backend.ts";
import { DEFAULT_SUITE, type EvalOptions, type EvalResults, runEval } from "../eval/runner.ts";
import { findTask } from "../eval/task/mod.ts";
import { fileSha256 } from "../util/file_hash.ts";
import { writeJsonl } from "../data/jsonl.ts";
import type { TrainEvent } from "../train/bridge.ts";
import { taskTrainRows } from "../train/data.ts";
import {
  type Displayable,
  figureDisplay,
  inJupyter,
  markdownDisplay,
  plotlyLoader,
  show,
} from "./display.ts";
import { lossFigure } from "./figures.ts";

/** The repository root (where deno.json is): paths in the notebooks are relative to it. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** Environment variable with parameter overrides (JSON), set by `deno task notebooks --set`. */
export const PARAMS_ENV = "TUNEBOOK_NB_PARAMS";

/**
 * The setup cell's call, as the cell's last expression: make the repository root the working
 * folder (the kernel starts in notebooks/, and tunebook's paths such as data/tasks are relative
 * to the root) and return the output that loads plotly.js once for the figures' HTML fallback
 * (see ./display.ts). It is a return value rather than a mid-cell `Deno.jupyter.display`
 * because the Deno kernel can report a cell finished before a large display message is out, and
 * the executor then drops it; a cell's result is sent before it finishes.
 *
 * @example
 * ```ts ignore
 * import { setupNotebook } from "../lib/plots/mod.ts";
 * setupNotebook(); // alone in its cell (a cell with imports shows no result)
 * ```
 */
export function setupNotebook(): Displayable {
  // node:process's chdir, not Deno.chdir: graceful-fs (under node-llama-cpp) caches
  // process.cwd() and forgets it only on process.chdir.
  process.chdir(REPO_ROOT);
  return plotlyLoader();
}

/** A parameter or input that is wrong; the message says what to do. */
export class NotebookInputError extends Error {
  /**
   * @example
   * ```ts
   * import { NotebookInputError } from "./notebook.ts";
   * console.log(new NotebookInputError("x").name); // "NotebookInputError"
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "NotebookInputError";
  }
}

/** Options for {@linkcode notebookParams}. */
export interface NotebookParamsOptions {
  /** Where overrides come from. Default: `Deno.env` (variable {@linkcode PARAMS_ENV}). */
  env?: Record<string, string | undefined>;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  return Array.isArray(v) ? "array" : typeof v;
}

/**
 * A notebook's parameters: `defaults` (the tiny model), overridden by the JSON object in
 * {@linkcode PARAMS_ENV} when `deno task notebooks --set key=value` runs it. An unknown key or a
 * value of another type than the default's throws, listing the parameters. A default of `null`
 * accepts anything.
 *
 * @example
 * ```ts
 * import { notebookParams } from "./notebook.ts";
 * const p = notebookParams({ tasks: ["synth_qa"], limit: 40 }, { env: { TUNEBOOK_NB_PARAMS: '{"limit": 100}' } });
 * console.log(p.limit); // 100
 * ```
 */
export function notebookParams<T extends Record<string, unknown>>(
  defaults: T,
  options: NotebookParamsOptions = {},
): T {
  const env = options.env ?? Deno.env.toObject();
  const raw = env[PARAMS_ENV];
  if (!raw) return { ...defaults };
  let overrides: Record<string, unknown>;
  try {
    overrides = JSON.parse(raw);
  } catch (e) {
    throw new NotebookInputError(
      `${PARAMS_ENV}: not valid JSON (${(e as Error).message}); pass --set key=value to ` +
        `deno task notebooks`,
    );
  }
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults)) {
      throw new NotebookInputError(
        `parameter "${key}" is not one of this notebook's: ${Object.keys(defaults).join(", ")}`,
      );
    }
    const want = kind(defaults[key]);
    if (want !== "null" && kind(value) !== want) {
      throw new NotebookInputError(
        `parameter "${key}": expected ${want} like ${JSON.stringify(defaults[key])}, got ` +
          `${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return out as T;
}

/** Options for {@linkcode requirePath}. */
export interface RequirePathOptions {
  /** The parameter that names the path (quoted in the message). */
  param: string;
  /** What to run to create it, e.g. "notebooks/02_finetune.ipynb" or "`deno task build:tiny`". */
  producer: string;
  /** What the path must be. Default: "file". */
  kind?: "file" | "dir";
}

/**
 * Throw a {@linkcode NotebookInputError} unless `path` exists (as a file or folder); the message
 * names the parameter and what to run first. Returns the path.
 *
 * @example
 * ```ts
 * import { requirePath } from "./notebook.ts";
 * try {
 *   requirePath("results/train/none", { param: "TRAIN_RUN", producer: "notebooks/02_finetune.ipynb", kind: "dir" });
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export function requirePath(path: string, options: RequirePathOptions): string {
  const { param, producer, kind = "file" } = options;
  const ok = existsSync(path) &&
    (kind === "dir" ? statSync(path).isDirectory() : statSync(path).isFile());
  if (!ok) {
    throw new NotebookInputError(
      `${param} = ${JSON.stringify(path)}: no such ${kind === "dir" ? "folder" : "file"}. ` +
        `Run ${producer} first (it writes it), or set ${param} in the parameters cell to an ` +
        `existing ${kind === "dir" ? "folder" : "file"}.`,
    );
  }
  return path;
}

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
 * import { runTrainer } from "../lib/mod.ts";
 * import { liveTraining } from "../lib/plots/mod.ts";
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

/** Options for {@linkcode evaluateModel}. */
export interface EvaluateModelOptions extends EvalOptions {
  /** Backend settings (LoRA adapters, sequences, threads). Default: createLlamaBackend's. */
  backend?: LlamaBackendOptions;
  /** Return a complete earlier run of the same model and settings in `outDir` as it is. Default: true. */
  reuse?: boolean;
}

/** runEval's default seed (results.json config.seed when none is given). */
const DEFAULT_EVAL_SEED = 1234;

/**
 * Evaluate a backend with `runEval` (no progress bar by default) and dispose of it, also on
 * failure.
 *
 * @example
 * ```ts ignore
 * import { createOpenAIBackend } from "../lib/mod.ts";
 * import { evaluateBackend } from "../lib/plots/mod.ts";
 * const results = await evaluateBackend(createOpenAIBackend({ baseUrl, model: "gpt-4o-mini" }), {
 *   tasks: ["synth_arithmetic"], limit: 50, outDir: "results/eval/nb-gpt-4o-mini",
 * });
 * ```
 */
export async function evaluateBackend(
  backend: Backend,
  options: EvalOptions = {},
): Promise<EvalResults> {
  try {
    return await runEval(backend, { progress: false, ...options });
  } finally {
    await backend.dispose();
  }
}

/**
 * Evaluate a GGUF model (plus LoRA adapters) in-process: `createLlamaBackend` + `runEval`, then
 * dispose. A missing model file fails with what to run first.
 *
 * A run folder whose complete results.json already holds this model (same SHA-256, adapters,
 * tasks, limit, few-shot and seed) is returned as it is — so notebooks that evaluate the same model
 * twice pay once, and the first evaluation's tokens/s stands (a fully resumed run would measure
 * none). Otherwise `runEval` runs, resuming any items already in the folder.
 *
 * @example
 * ```ts ignore
 * import { evaluateModel } from "../lib/plots/mod.ts";
 * const results = await evaluateModel("data/models/tiny/tiny-f32.gguf", {
 *   tasks: ["synth_qa"], limit: 40, outDir: "results/eval/nb-base",
 * });
 * ```
 */
export async function evaluateModel(
  model: string,
  options: EvaluateModelOptions = {},
): Promise<EvalResults> {
  requirePath(model, {
    param: "model",
    producer: "`deno task build:tiny` (the bundled model) or the notebook that writes it",
  });
  const { backend, reuse = true, ...evalOptions } = options;
  if (reuse && evalOptions.outDir) {
    const previous = await previousRun(model, evalOptions.outDir, options);
    if (previous.state === "same" && previous.finished) return previous.results;
    // A notebook's run folder left by another model (a re-run after fine-tuning again, say) is
    // replaced, not resumed: its items belong to a different model.
    if (previous.state === "stale") evalOptions.resume = false;
  }
  return await evaluateBackend(await createLlamaBackend(model, backend), evalOptions);
}

/** How a run folder's results.json relates to an evaluation about to run. */
type PreviousRun =
  | { state: "none" }
  /** Unreadable, or another model, adapters, few-shot or seed: its items cannot be resumed. */
  | { state: "stale" }
  /** The same model and settings; `finished` when complete with the same tasks and limit. */
  | { state: "same"; results: EvalResults; finished: boolean };

async function previousRun(
  model: string,
  dir: string,
  options: EvaluateModelOptions,
): Promise<PreviousRun> {
  const file = join(dir, "results.json");
  if (!existsSync(file)) return { state: "none" };
  let r: EvalResults;
  try {
    r = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return { state: "stale" };
  }
  const lora = (options.backend?.lora ?? []).map((a) => ({ path: a.path, scale: a.scale ?? 1 }));
  const sameModel = r.model?.sha256 === await fileSha256(model) &&
    JSON.stringify(r.model?.lora ?? []) === JSON.stringify(lora) &&
    r.config?.numFewshot === (options.numFewshot ?? null) &&
    r.config?.seed === (options.seed ?? DEFAULT_EVAL_SEED);
  if (!sameModel) return { state: "stale" };
  const tasks = (options.tasks ?? DEFAULT_SUITE).map((t) =>
    findTask(t, { tasksDir: options.tasksDir }).name
  );
  const finished = !!r.complete &&
    JSON.stringify(r.config?.tasks) === JSON.stringify(tasks) &&
    r.config?.limit === (options.limit ?? null);
  return { state: "same", results: r, finished };
}

/**
 * Empty a run folder (a previous run's checkpoints and events.jsonl, which the trainer would
 * append to) and create it; returns the path. Refuses paths outside results/.
 *
 * @example
 * ```ts ignore
 * import { freshRunDir } from "../lib/plots/mod.ts";
 * const dir = freshRunDir("results/train/nb-tiny");
 * ```
 */
export function freshRunDir(path: string): string {
  const normalized = path.replace(/^\.\//, "");
  if (!normalized.startsWith("results/") || normalized.includes("..")) {
    throw new NotebookInputError(
      `${path}: only folders under results/ are emptied for a fresh run; choose a run folder ` +
        `there (e.g. results/train/<name>)`,
    );
  }
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}

/** Options for {@linkcode writeTaskRows}. */
export interface WriteTaskRowsOptions {
  /** The tasks' split to write. Default: "train". */
  split?: "train" | "validation" | "test";
}

/**
 * Write the train split of eval tasks as one JSONL of `{id, prompt, completion, task}` rows (each
 * task's own prompt template, so fine-tuning teaches the evaluated format) — the raw input that
 * notebooks/01_curate.ipynb curates when no dataset is given. Returns the path.
 *
 * @example
 * ```ts ignore
 * import { writeTaskRows } from "../lib/plots/mod.ts";
 * const source = await writeTaskRows("results/notebooks/data/source.jsonl", ["synth_qa"]);
 * ```
 */
export async function writeTaskRows(
  path: string,
  tasks: string[],
  options: WriteTaskRowsOptions = {},
): Promise<string> {
  const rows = [];
  for (const task of tasks) {
    for (const r of await taskTrainRows(task, { split: options.split ?? "train" })) {
      rows.push({ ...r, task });
    }
  }
  writeJsonl(path, rows);
  return path;
}
