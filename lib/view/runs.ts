/**
 * The runs under a results folder, as the viewer lists them: evaluation runs
 * (`<results>/eval/<run>/`: results.json, samples.jsonl, maybe run.json) and training runs
 * (`<results>/train/<run>/`: config.json, events.jsonl, adapter/, lora.gguf, merged/ …).
 *
 * Every file is read defensively: a run still being written, a results.json from an older or
 * newer tunebook (fields missing or added) or a file that is not JSON gives a summary with what
 * could be read and an `error` saying what could not — never an exception that hides the other
 * runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { listRuns } from "./runs.ts";
 * const root = Deno.makeTempDirSync();
 * Deno.mkdirSync(join(root, "eval", "base"), { recursive: true });
 * Deno.writeTextFileSync(join(root, "eval", "base", "results.json"), "{ not json");
 * const runs = listRuns(root);
 * assert.equal(runs.eval[0].id, "base");
 * assert.match(runs.eval[0].error ?? "", /not valid JSON/); // listed, with what went wrong
 * Deno.removeSync(root, { recursive: true });
 * ```
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { EvalResults, TaskResult } from "../eval/runner.ts";
import { RUN_LOCK_FILE } from "../eval/run_lock.ts";
import type { TrainEvent } from "../train/bridge.ts";
import { primaryMetric } from "../plots/figures.ts";

/** A metric estimate as results.json holds it. */
export interface EstimateView {
  value: number;
  stderr?: number;
  ci?: [number, number];
  n?: number;
  method?: string;
}

/** One task's headline score in a run summary. */
export interface HeadlineScore {
  task: string;
  metric: string;
  estimate: EstimateView | null;
}

/** An evaluation run as the runs index shows it. */
export interface EvalRunSummary {
  /** Folder name under `<results>/eval`. */
  id: string;
  /** The run name results.json gives (else the folder's). */
  run: string;
  /** When it was written (results.json's `created`, else the folder's modification time). */
  created: string;
  /** results.json says the run finished. */
  complete: boolean;
  /** The model file's name (without folders), or the API model. */
  model: string;
  backend: string;
  quantization: string | null;
  /** LoRA adapters: file name and scale. */
  adapters: { name: string; scale: number }[];
  tasks: string[];
  /** Each task's headline metric (acc for multiple choice, else exact match, em, f1 …). */
  scores: HeadlineScore[];
  /** Whether samples.jsonl exists. */
  hasSamples: boolean;
  /** An evaluation holds the folder's lock (run.lock) now: the run is being written. */
  running: boolean;
  /** What could not be read, if anything. */
  error?: string;
}

/** A training run as the runs index shows it. */
export interface TrainRunSummary {
  id: string;
  /** When events.jsonl (else config.json, else the folder) was last written. */
  modified: string;
  /** done, error, running (events written in the last minute), stopped, or empty (no events). */
  status: string;
  base: string | null;
  backend: string | null;
  /** Steps done and planned. */
  step: number | null;
  steps: number | null;
  lastLoss: number | null;
  lastValLoss: number | null;
  error?: string;
}

/** What {@linkcode listRuns} returns. */
export interface RunsIndex {
  /** The results folder read. */
  root: string;
  eval: EvalRunSummary[];
  train: TrainRunSummary[];
}

/** Events written this recently mean a training run is still going. */
export const RUNNING_WINDOW_MS = 60_000;

/**
 * Every evaluation and training run under `root`, newest first.
 *
 * @example
 * ```ts ignore
 * import { listRuns } from "./runs.ts";
 * console.log(listRuns("results").eval.map((r) => r.id));
 * ```
 */
export function listRuns(root: string): RunsIndex {
  const evalRuns = runFolders(join(root, "eval")).map((id) => evalRunSummary(root, id));
  const trainRuns = runFolders(join(root, "train")).map((id) => trainRunSummary(root, id));
  evalRuns.sort((a, b) => b.created.localeCompare(a.created) || a.id.localeCompare(b.id));
  trainRuns.sort((a, b) => b.modified.localeCompare(a.modified) || a.id.localeCompare(b.id));
  return { root, eval: evalRuns, train: trainRuns };
}

/** A run folder's name is one plain path segment: never `..`, `/` or empty. */
export function isRunId(id: string): boolean {
  return id !== "" && id !== "." && id !== ".." && !/[/\\\0]/.test(id);
}

/** The folder of an evaluation run, or null when there is no such run. */
export function evalRunDir(root: string, id: string): string | null {
  const dir = join(root, "eval", id);
  return isRunId(id) && isDir(dir) ? dir : null;
}

/** The folder of a training run, or null when there is no such run. */
export function trainRunDir(root: string, id: string): string | null {
  const dir = join(root, "train", id);
  return isRunId(id) && isDir(dir) ? dir : null;
}

/** What {@linkcode readEvalResults} gives: the parsed results.json, or why there is none. */
export interface ReadResults {
  results: Partial<EvalResults> | null;
  error?: string;
}

/**
 * A run folder's results.json, tolerating a missing or unreadable file (a run not finished yet,
 * or written by another version).
 *
 * @example
 * ```ts ignore
 * const { results, error } = readEvalResults("results/eval/base");
 * ```
 */
export function readEvalResults(dir: string): ReadResults {
  const path = join(dir, "results.json");
  if (!existsSync(path)) {
    return { results: null, error: `${path} not written yet (the run has not finished a task)` };
  }
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8"));
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      return { results: null, error: `${path}: not a results object` };
    }
    return { results: parsed };
  } catch (e) {
    return { results: null, error: `${path}: not valid JSON (${(e as Error).message})` };
  }
}

/** The tasks of a results.json that look like task results (others are left out). */
export function taskResults(results: Partial<EvalResults> | null): Record<string, TaskResult> {
  const out: Record<string, TaskResult> = {};
  const tasks = results?.tasks;
  if (!tasks || typeof tasks !== "object") return out;
  for (const [name, t] of Object.entries(tasks)) {
    if (!t || typeof t !== "object") continue;
    const metrics = t.metrics && typeof t.metrics === "object" ? t.metrics : {};
    out[name] = {
      ...t,
      metrics,
      byLength: Array.isArray(t.byLength) ? t.byLength : [],
      rowErrors: Array.isArray(t.rowErrors) ? t.rowErrors : [],
      skipped: t.skipped && typeof t.skipped === "object" ? t.skipped : {},
    };
  }
  return out;
}

/** The verdict metric of each task: its headline metric (lib/plots' primaryMetric). */
export function verdictMetrics(results: Partial<EvalResults> | null): Record<string, string> {
  return Object.fromEntries(
    Object.entries(taskResults(results)).map(([task, t]) => [task, primaryMetric(t)]),
  );
}

/** The summary of one evaluation run (see {@linkcode EvalRunSummary}). */
export function evalRunSummary(root: string, id: string): EvalRunSummary {
  const dir = join(root, "eval", id);
  const { results, error } = readEvalResults(dir);
  const tasks = taskResults(results);
  const model =
    (results?.model && typeof results.model === "object" ? results.model : {}) as Record<
      string,
      unknown
    >;
  const lora = Array.isArray(model.lora) ? model.lora : [];
  const config = (results?.config ?? {}) as Record<string, unknown>;
  const names = Object.keys(tasks).length
    ? Object.keys(tasks)
    : (Array.isArray(config.tasks) ? config.tasks.map(String) : []);
  return {
    id,
    run: typeof results?.run === "string" ? results.run : id,
    created: typeof results?.created === "string" ? results.created : mtime(dir),
    complete: results?.complete === true,
    model: typeof model.model === "string" ? basename(model.model) : "?",
    backend: typeof model.backend === "string" ? model.backend : "?",
    quantization: typeof model.quantization === "string" ? model.quantization : null,
    adapters: lora.map((a: { path?: unknown; scale?: unknown }) => ({
      name: basename(String(a?.path ?? "?")),
      scale: typeof a?.scale === "number" ? a.scale : 1,
    })),
    tasks: names,
    scores: Object.entries(tasks).map(([task, t]) => {
      const metric = primaryMetric(t);
      const est = t.metrics[metric];
      return { task, metric, estimate: isEstimate(est) ? est : null };
    }),
    hasSamples: existsSync(join(dir, "samples.jsonl")),
    running: existsSync(join(dir, RUN_LOCK_FILE)),
    ...(error && existsSync(join(dir, "results.json")) ? { error } : {}),
  };
}

/** A training run's events.jsonl: the events that parse, and how many lines did not. */
export function readTrainEvents(dir: string): { events: TrainEvent[]; badLines: number } {
  const path = join(dir, "events.jsonl");
  if (!existsSync(path)) return { events: [], badLines: 0 };
  return parseEvents(readFileSync(path, "utf8"));
}

/** Events from JSON lines (complete lines only); lines that are not events are counted. */
export function parseEvents(text: string): { events: TrainEvent[]; badLines: number } {
  const events: TrainEvent[] = [];
  let badLines = 0;
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    try {
      const e = JSON.parse(t);
      if (e && typeof e === "object" && typeof e.event === "string") events.push(e);
      else badLines++;
    } catch {
      badLines++;
    }
  }
  return { events, badLines };
}

/**
 * A training run's status from its events: done, error, running (written within
 * {@linkcode RUNNING_WINDOW_MS}), stopped, or empty.
 */
export function trainStatus(
  events: TrainEvent[],
  modifiedMs: number,
  now: number = Date.now(),
): string {
  if (!events.length) return "empty";
  const last = events.findLast((e) => e.event === "done" || e.event === "error");
  if (last?.event === "done") return "done";
  if (last?.event === "error") return "error";
  return now - modifiedMs < RUNNING_WINDOW_MS ? "running" : "stopped";
}

/** The summary of one training run (see {@linkcode TrainRunSummary}). */
export function trainRunSummary(root: string, id: string): TrainRunSummary {
  const dir = join(root, "train", id);
  const { config, error } = readTrainConfig(dir);
  const { events } = readTrainEvents(dir);
  const eventsPath = join(dir, "events.jsonl");
  const modifiedMs = statSync(existsSync(eventsPath) ? eventsPath : dir).mtimeMs;
  const steps = events.filter((e) => e.event === "step" && typeof e.loss === "number");
  const evals = events.filter((e) => e.event === "eval" && typeof e.val_loss === "number");
  const start = events.findLast((e) => e.event === "start" || e.event === "resume");
  return {
    id,
    modified: new Date(modifiedMs).toISOString(),
    status: trainStatus(events, modifiedMs),
    base: typeof config?.base_model === "string" ? basename(config.base_model) : null,
    backend: typeof config?.backend === "string" ? config.backend : null,
    step: steps.at(-1)?.step ?? null,
    steps: typeof start?.steps === "number" ? start.steps : null,
    lastLoss: steps.at(-1)?.loss ?? null,
    lastValLoss: evals.at(-1)?.val_loss ?? null,
    ...(error ? { error } : {}),
  };
}

/** A training run's config.json, tolerating a missing or unreadable file. */
export function readTrainConfig(
  dir: string,
): { config: Record<string, unknown> | null; error?: string } {
  const path = join(dir, "config.json");
  if (!existsSync(path)) return { config: null };
  try {
    return { config: JSON.parse(readFileSync(path, "utf8")) };
  } catch (e) {
    return { config: null, error: `${path}: not valid JSON (${(e as Error).message})` };
  }
}

function runFolders(dir: string): string[] {
  if (!isDir(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isRunId(e.name) && !e.name.startsWith("."))
    .map((e) => e.name);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function mtime(path: string): string {
  return new Date(statSync(path).mtimeMs).toISOString();
}

function isEstimate(x: unknown): x is EstimateView {
  return !!x && typeof x === "object" && typeof (x as EstimateView).value === "number";
}
