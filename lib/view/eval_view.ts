/**
 * One evaluation run as the viewer's run page shows it: per-task metrics with their 95% CIs,
 * accuracy by input length, skipped items and row errors, the items per verdict, and the
 * figures (lib/plots' accuracy and by-length figures).
 *
 * @example
 * ```ts ignore
 * import { SampleIndex } from "./sample_index.ts";
 * import { evalRunView } from "./eval_view.ts";
 * const view = evalRunView("results", "base", new SampleIndex("results/eval/base/samples.jsonl"));
 * console.log(view.tasks.map((t) => t.task));
 * ```
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LengthBucket } from "../eval/runner.ts";
import { accuracyFigure, type Figure, lengthFigure } from "../plots/figures.ts";
import {
  type EstimateView,
  type EvalRunSummary,
  evalRunSummary,
  readEvalResults,
  taskResults,
} from "./runs.ts";
import type { BadLine, SampleIndex } from "./sample_index.ts";

/** Row errors listed per task at most (the count says how many there are). */
export const MAX_ROW_ERRORS = 200;
/** Bad samples.jsonl lines listed at most. */
export const MAX_BAD_LINES = 20;

/** One task of a run. */
export interface TaskView {
  task: string;
  version: number | string | null;
  outputType: string | null;
  split: string | null;
  /** Items scored (results.json's n), or null before the task finished. */
  n: number | null;
  /** The metric that decides right or wrong in the samples view. */
  verdictMetric: string | null;
  /** Every aggregate metric with its uncertainty. */
  metrics: ({ name: string } & EstimateView)[];
  byLength: LengthBucket[];
  /** Skipped items per reason (too_long …). */
  skipped: Record<string, number>;
  /** Dataset rows that could not be read or rendered (the first {@linkcode MAX_ROW_ERRORS}). */
  rowErrors: Record<string, unknown>[];
  rowErrorCount: number;
  /** Items in samples.jsonl per verdict (right, wrong, partial, skipped, unscored). */
  counts: Record<string, number>;
}

/** What the run page shows. */
export interface EvalRunView {
  summary: EvalRunSummary;
  /** results.json without its tasks: config, model, timings, usage (whatever it holds). */
  info: Record<string, unknown>;
  /** run.json (the run's identity), when the run wrote one. */
  identity: Record<string, unknown> | null;
  tasks: TaskView[];
  samples: { total: number; badLines: BadLine[]; badLineCount: number };
  figures: { scores: Figure | null; byLength: Figure | null };
  /** Why results.json could not be read, if it could not. */
  resultsError?: string;
}

/** The run page's data for run `id` under `root`, with its sample index. */
export function evalRunView(root: string, id: string, index: SampleIndex): EvalRunView {
  const dir = join(root, "eval", id);
  const { results, error } = readEvalResults(dir);
  const tasks = taskResults(results);
  index.refresh();
  const counts = index.counts();
  const names = [...Object.keys(tasks), ...Object.keys(counts).filter((t) => !(t in tasks))];
  const { tasks: _tasks, ...info } = results ?? {};
  const scored = Object.keys(tasks).length > 0;
  return {
    summary: evalRunSummary(root, id),
    info,
    identity: readJson(join(dir, "run.json")),
    tasks: names.map((task) => {
      const t = tasks[task];
      const rowErrors = (t?.rowErrors ?? []) as unknown as Record<string, unknown>[];
      return {
        task,
        version: t?.version ?? null,
        outputType: typeof t?.outputType === "string" ? t.outputType : null,
        split: typeof t?.split === "string" ? t.split : null,
        n: typeof t?.n === "number" ? t.n : null,
        verdictMetric: index.metrics[task] || null,
        metrics: Object.entries(t?.metrics ?? {})
          .filter(([, e]) => e && typeof e === "object" && typeof e.value === "number")
          .map(([name, e]) => ({ name, ...e })),
        byLength: t?.byLength ?? [],
        skipped: t?.skipped ?? {},
        rowErrors: rowErrors.slice(0, MAX_ROW_ERRORS),
        rowErrorCount: rowErrors.length,
        counts: counts[task] ?? {},
      };
    }),
    samples: {
      total: index.size,
      badLines: index.badLines.slice(0, MAX_BAD_LINES),
      badLineCount: index.badLines.length,
    },
    figures: {
      scores: scored ? safe(() => accuracyFigure([{ label: id, results: { tasks } }])) : null,
      byLength: Object.values(tasks).some((t) => t.byLength.length)
        ? safe(() => lengthFigure([{ label: id, results: { tasks } }]))
        : null,
    },
    ...(error && existsSync(join(dir, "results.json")) ? { resultsError: error } : {}),
  };
}

function readJson(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    const value = JSON.parse(readFileSync(path, "utf8"));
    return value && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

/** A figure, or null when its builder cannot draw this run (it says why in the page instead). */
function safe(build: () => Figure): Figure | null {
  try {
    return build();
  } catch {
    return null;
  }
}
