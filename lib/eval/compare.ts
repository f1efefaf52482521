/**
 * Item-by-item comparison of two evaluation runs (base vs fine-tuned, f16 vs q4, GGUF vs API):
 * the logic behind `deno task compare`.
 *
 * Both runs' `samples.jsonl` are read and items matched by (task, doc_id); only items present
 * and not skipped in both runs count. For every task and every per-item metric both runs
 * recorded, {@linkcode compareRuns} gives the two means, the difference B − A with a paired
 * bootstrap confidence interval and p-value ({@linkcode pairedBootstrap}), and, for 0/1 metrics
 * (accuracy, exact match), McNemar's test ({@linkcode mcnemar}). Corpus-level metrics (BLEU,
 * macro F1…) have no per-item values and are not compared here. {@linkcode changedItems} lists
 * the items behind McNemar's b and c: those B broke and those it fixed.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, match, strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { compareRuns, formatComparisonTable } from "./compare.ts";
 * const root = Deno.makeTempDirSync();
 * const write = (run: string, scores: number[]) => {
 *   Deno.mkdirSync(join(root, run));
 *   const lines = scores.map((s, i) =>
 *     JSON.stringify({ task: "t", doc_id: `d${i}`, prompt: `q${i}`, metrics: { acc: s } })
 *   );
 *   Deno.writeTextFileSync(join(root, run, "samples.jsonl"), lines.join("\n") + "\n");
 * };
 * write("base", [0, 1, 0, 0, 1, 0, 1, 0]);
 * write("tuned", [1, 1, 1, 0, 1, 1, 1, 1]);
 * const cmp = compareRuns(join(root, "base"), join(root, "tuned"), { resamples: 200 });
 * const acc = cmp.tasks.t.metrics.acc;
 * strictEqual(acc.delta, 0.5);
 * deepStrictEqual(acc.mcnemar, { b: 0, c: 4, statistic: 0, pValue: 0.125, method: "exact" });
 * match(formatComparisonTable(cmp), /^t +acc +8 +0\.3750 +0\.8750 +\+0\.5000 /m);
 * Deno.removeSync(root, { recursive: true });
 * ```
 * @module
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { mean } from "simple-statistics";
import { parseJsonl } from "../data/jsonl.ts";
import type { EvalResults, Sample } from "./runner.ts";
import { formatPValue } from "./p_value.ts";
import { formatMetricValue as fmt } from "./table.ts";
import {
  DEFAULT_CONFIDENCE,
  DEFAULT_RESAMPLES,
  DEFAULT_SEED,
  mcnemar,
  type McNemarResult,
  pairedBootstrap,
} from "./stats.ts";

/** Options for {@linkcode compareRuns}. */
export interface CompareOptions {
  /** Seed of the paired bootstrap. Default: 0 (as `pairedBootstrap`). */
  seed?: number;
  /** Paired bootstrap resamples. Default: 1000 (smallest reportable p-value 2/1001). */
  resamples?: number;
  /** Two-sided confidence level of the intervals. Default: 0.95. */
  confidence?: number;
  /** Compare only these tasks (each must be in both runs). Default: every task in both runs. */
  tasks?: string[];
}

/** One run as named in a comparison. */
export interface RunInfo {
  /** The run folder as given. */
  dir: string;
  /** Run name from results.json (else the folder's name). */
  run: string;
  /** Model identity from results.json; null without results.json. */
  model: Record<string, unknown> | null;
}

/** One per-item metric compared over the shared items of a task. */
export interface MetricComparison {
  /** Mean of run A over the shared items. */
  meanA: number;
  /** Mean of run B over the shared items. */
  meanB: number;
  /** meanB − meanA: positive when B scores higher. */
  delta: number;
  /** Paired bootstrap percentile interval of `delta` (`[NaN, NaN]` → null in JSON when n = 1). */
  ci: [number, number];
  /** Two-sided paired bootstrap p-value (see `pairedBootstrap`). */
  pValue: number;
  /** Shared items. */
  n: number;
  /** McNemar's test, for metrics that are 0/1 in both runs; absent otherwise. */
  mcnemar?: McNemarResult;
}

/** The comparison of one task. */
export interface TaskComparison {
  /** Items evaluated (not skipped) in both runs: the ones compared. */
  n: number;
  /** Items left out: only in A, only in B, or skipped (e.g. too long) in either run. */
  excluded: { onlyInA: number; onlyInB: number; skipped: number };
  /** Task version in each run's results.json (null when a run has none). */
  versionA: number | string | null;
  versionB: number | string | null;
  /** Shared items whose prompt differs between the runs (e.g. another num_fewshot). */
  promptMismatches: number;
  /** Per-item metrics recorded in both runs, by name. */
  metrics: Record<string, MetricComparison>;
  /** Per-item metrics one run recorded on some shared item and the other did not. */
  metricsNotShared: string[];
}

/** What {@linkcode compareRuns} returns and `compare.json` holds. */
export interface RunComparison {
  a: RunInfo;
  b: RunInfo;
  created: string;
  seed: number;
  resamples: number;
  confidence: number;
  tasks: Record<string, TaskComparison>;
  /** Tasks in one run only (not compared). */
  tasksOnlyInA: string[];
  tasksOnlyInB: string[];
}

/** Bad input to {@linkcode compareRuns}: a missing run, an unreadable file, nothing to compare. */
export class CompareInputError extends Error {
  /**
   * @example
   * ```ts
   * import { strictEqual } from "node:assert/strict";
   * import { CompareInputError } from "./compare.ts";
   * strictEqual(new CompareInputError("results/eval/x does not exist").name, "CompareInputError");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "CompareInputError";
  }
}

interface LoadedRun {
  info: RunInfo;
  samplesPath: string;
  /** Items by task, then doc_id (last line wins, as when the runner resumes). */
  tasks: Map<string, Map<string, Sample>>;
  versions: Record<string, number | string>;
}

/**
 * Compare run B against run A item by item (see the module documentation). Throws a
 * {@linkcode CompareInputError} for a missing folder or samples.jsonl, a malformed line, a task
 * with no shared items, runs of different task versions, or runs with no task in common.
 *
 * @example
 * ```ts ignore
 * import { compareRuns } from "./compare.ts";
 * const cmp = compareRuns("results/eval/tiny", "results/eval/tiny+lora");
 * console.log(cmp.tasks.synth_arithmetic.metrics.exact_match);
 * ```
 */
export function compareRuns(
  dirA: string,
  dirB: string,
  options: CompareOptions = {},
): RunComparison {
  const {
    seed = DEFAULT_SEED,
    resamples = DEFAULT_RESAMPLES,
    confidence = DEFAULT_CONFIDENCE,
  } = options;
  const a = loadRun(dirA);
  const b = loadRun(dirB);
  const inA = [...a.tasks.keys()];
  const inB = new Set(b.tasks.keys());
  const shared = inA.filter((t) => inB.has(t));
  let names = shared;
  if (options.tasks) {
    const missing = options.tasks.filter((t) => !a.tasks.has(t) || !b.tasks.has(t));
    if (missing.length) {
      throw new CompareInputError(
        `task(s) ${missing.join(", ")} not in both runs (${a.info.dir}: ${list(inA)}; ` +
          `${b.info.dir}: ${list([...inB])}); pick tasks both runs evaluated`,
      );
    }
    names = options.tasks;
  }
  if (!names.length) {
    throw new CompareInputError(
      `${a.info.dir} and ${b.info.dir} have no task in common (A: ${list(inA)}; ` +
        `B: ${list([...inB])}); compare runs of the same tasks`,
    );
  }
  const tasks: Record<string, TaskComparison> = {};
  for (const task of names) {
    const versionA = a.versions[task] ?? null;
    const versionB = b.versions[task] ?? null;
    if (versionA !== null && versionB !== null && String(versionA) !== String(versionB)) {
      throw new CompareInputError(
        `task ${task} is version ${versionA} in ${a.info.dir} but version ${versionB} in ` +
          `${b.info.dir}; its prompts or scoring changed between the runs, so items do not ` +
          `pair up. Re-run the older one with the current task file.`,
      );
    }
    tasks[task] = compareTask(task, a, b, { seed, resamples, confidence });
    tasks[task].versionA = versionA;
    tasks[task].versionB = versionB;
  }
  return {
    a: a.info,
    b: b.info,
    created: new Date().toISOString(),
    seed,
    resamples,
    confidence,
    tasks,
    tasksOnlyInA: inA.filter((t) => !inB.has(t)),
    tasksOnlyInB: [...inB].filter((t) => !a.tasks.has(t)),
  };
}

function compareTask(
  task: string,
  a: LoadedRun,
  b: LoadedRun,
  stats: { seed: number; resamples: number; confidence: number },
): TaskComparison {
  const { pairs, excluded } = pairItems(task, a, b);
  const names = [
    ...new Set(
      pairs.flatMap(([sa, sb]) => [...Object.keys(sa.metrics), ...Object.keys(sb.metrics)]),
    ),
  ];
  const metrics: Record<string, MetricComparison> = {};
  const metricsNotShared: string[] = [];
  for (const name of names) {
    const complete = pairs.every(([sa, sb]) =>
      isFiniteNumber(sa.metrics[name]) &&
      isFiniteNumber(sb.metrics[name])
    );
    if (!complete) {
      metricsNotShared.push(name);
      continue;
    }
    const xs = pairs.map(([sa]) => sa.metrics[name]);
    const ys = pairs.map(([, sb]) => sb.metrics[name]);
    const boot = pairedBootstrap(xs, ys, stats);
    const comparison: MetricComparison = {
      meanA: mean(xs),
      meanB: mean(ys),
      delta: boot.delta,
      ci: boot.ci,
      pValue: boot.pValue,
      n: pairs.length,
    };
    if ([...xs, ...ys].every((v) => v === 0 || v === 1)) {
      comparison.mcnemar = mcnemar(xs.map((v) => v === 1), ys.map((v) => v === 1));
    }
    metrics[name] = comparison;
  }
  return {
    n: pairs.length,
    excluded,
    versionA: null,
    versionB: null,
    promptMismatches: pairs.filter(([sa, sb]) => sa.prompt !== sb.prompt).length,
    metrics,
    metricsNotShared,
  };
}

/** The items of `task` evaluated in both runs, in A's order, and what was left out. */
function pairItems(
  task: string,
  a: LoadedRun,
  b: LoadedRun,
): { pairs: [Sample, Sample][]; excluded: TaskComparison["excluded"] } {
  const itemsA = a.tasks.get(task)!;
  const itemsB = b.tasks.get(task)!;
  const excluded = { onlyInA: 0, onlyInB: 0, skipped: 0 };
  const pairs: [Sample, Sample][] = [];
  for (const [id, sa] of itemsA) {
    const sb = itemsB.get(id);
    if (!sb) excluded.onlyInA++;
    else if (sa.skipped || sb.skipped) excluded.skipped++;
    else pairs.push([sa, sb]);
  }
  for (const id of itemsB.keys()) if (!itemsA.has(id)) excluded.onlyInB++;
  if (!pairs.length) {
    throw new CompareInputError(
      `task ${task}: no item was evaluated in both runs (${itemsA.size} items in ${a.samplesPath}, ` +
        `${itemsB.size} in ${b.samplesPath}; only in A ${excluded.onlyInA}, only in B ` +
        `${excluded.onlyInB}, skipped in either ${excluded.skipped}). Were they run on other ` +
        `splits or --limit ranges? Re-run one with the other's settings, or leave the task out.`,
    );
  }
  return { pairs, excluded };
}

/** Options for {@linkcode changedItems}. */
export interface ChangedItemsOptions {
  /** Only these tasks (each must be in both runs). Default: every task in both runs. */
  tasks?: string[];
  /**
   * The 0/1 metric that decides right or wrong: one name for every task, or per task. Default:
   * per task, the first of acc, exact_match, em that is 0/1 on every shared item, else the first
   * other such metric; a task with none is left out.
   */
  metric?: string | Record<string, string>;
}

/** One shared item whose 0/1 score differs between the runs. */
export interface ChangedItem {
  task: string;
  doc_id: string;
  /** "fixed": wrong in A, right in B; "broken": right in A, wrong in B. */
  change: "fixed" | "broken";
  /** The item as each run recorded it (prompt, references, choices, prediction, metrics). */
  a: Sample;
  b: Sample;
}

/** The fixed and broken items of one task. */
export interface TaskChanges {
  /** The 0/1 metric compared. */
  metric: string;
  /** Shared items (those `compareRuns` compares). */
  n: number;
  /** Wrong in A, right in B: McNemar's c. */
  fixed: ChangedItem[];
  /** Right in A, wrong in B: McNemar's b. */
  broken: ChangedItem[];
}

/** What {@linkcode changedItems} returns. */
export interface RunChanges {
  a: RunInfo;
  b: RunInfo;
  /** Tasks with a 0/1 metric, by name. */
  tasks: Record<string, TaskChanges>;
  /** Tasks in both runs left out because no per-item metric is 0/1 on every shared item. */
  tasksWithoutBinaryMetric: string[];
}

/** Metrics preferred as a task's right/wrong verdict, in order. */
const VERDICT_METRICS = ["acc", "exact_match", "em"];

/**
 * The items run B fixed and broke relative to run A: shared, non-skipped items (as
 * {@linkcode compareRuns} pairs them) whose 0/1 score differs. The counts are McNemar's b
 * (broken) and c (fixed) for that metric. Throws a {@linkcode CompareInputError} as
 * `compareRuns` does, and for a `metric` that is not 0/1 on every shared item.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { changedItems } from "./compare.ts";
 * const root = Deno.makeTempDirSync();
 * const write = (run: string, scores: number[]) => {
 *   Deno.mkdirSync(join(root, run));
 *   const lines = scores.map((s, i) =>
 *     JSON.stringify({ task: "t", doc_id: `d${i}`, prompt: `q${i}`, metrics: { acc: s } })
 *   );
 *   Deno.writeTextFileSync(join(root, run, "samples.jsonl"), lines.join("\n") + "\n");
 * };
 * write("base", [0, 1, 0, 1]);
 * write("tuned", [1, 1, 0, 0]);
 * const { tasks } = changedItems(join(root, "base"), join(root, "tuned"));
 * deepStrictEqual(tasks.t.fixed.map((i) => i.doc_id), ["d0"]);
 * deepStrictEqual(tasks.t.broken.map((i) => i.doc_id), ["d3"]);
 * Deno.removeSync(root, { recursive: true });
 * ```
 */
export function changedItems(
  dirA: string,
  dirB: string,
  options: ChangedItemsOptions = {},
): RunChanges {
  const a = loadRun(dirA);
  const b = loadRun(dirB);
  const names = options.tasks ?? [...a.tasks.keys()].filter((t) => b.tasks.has(t));
  const missing = names.filter((t) => !a.tasks.has(t) || !b.tasks.has(t));
  if (missing.length) {
    throw new CompareInputError(
      `task(s) ${missing.join(", ")} not in both runs (${a.info.dir}, ${b.info.dir}); pick ` +
        `tasks both runs evaluated`,
    );
  }
  const tasks: Record<string, TaskChanges> = {};
  const tasksWithoutBinaryMetric: string[] = [];
  for (const task of names) {
    const { pairs } = pairItems(task, a, b);
    const binary = (name: string) =>
      pairs.every(([sa, sb]) => isBinary(sa.metrics[name]) && isBinary(sb.metrics[name]));
    const chosen = typeof options.metric === "string" ? options.metric : options.metric?.[task];
    let metric = chosen;
    if (chosen !== undefined && !binary(chosen)) {
      throw new CompareInputError(
        `task ${task}: metric ${chosen} is not 0 or 1 on every item both runs share, so ` +
          `items are not simply right or wrong; pick a 0/1 metric (acc, exact_match, em)`,
      );
    }
    if (metric === undefined) {
      const seen = [...new Set(pairs.flatMap(([sa]) => Object.keys(sa.metrics)))];
      const order = [...VERDICT_METRICS.filter((m) => seen.includes(m)), ...seen];
      metric = order.find(binary);
    }
    if (metric === undefined) {
      tasksWithoutBinaryMetric.push(task);
      continue;
    }
    const fixed: ChangedItem[] = [];
    const broken: ChangedItem[] = [];
    for (const [sa, sb] of pairs) {
      const [x, y] = [sa.metrics[metric], sb.metrics[metric]];
      if (x === y) continue;
      const item = { task, doc_id: String(sa.doc_id), a: sa, b: sb };
      if (y === 1) fixed.push({ ...item, change: "fixed" });
      else broken.push({ ...item, change: "broken" });
    }
    tasks[task] = { metric, n: pairs.length, fixed, broken };
  }
  return { a: a.info, b: b.info, tasks, tasksWithoutBinaryMetric };
}

function isBinary(v: unknown): boolean {
  return v === 0 || v === 1;
}

function loadRun(dir: string): LoadedRun {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CompareInputError(
      `run folder ${dir} does not exist; pass folders written by deno task eval ` +
        `(results/eval/<run>)`,
    );
  }
  const samplesPath = join(dir, "samples.jsonl");
  if (!existsSync(samplesPath)) {
    throw new CompareInputError(
      `${samplesPath} not found; ${dir} is not a finished or started run of deno task eval ` +
        `(it writes results.json and samples.jsonl there)`,
    );
  }
  const { rows, lines, errors } = parseJsonl<Sample>(readFileSync(samplesPath, "utf8"));
  if (errors.length) {
    const e = errors[0];
    throw new CompareInputError(
      `${samplesPath}:${e.line}: not valid JSON (${e.message}); an interrupted run can leave ` +
        `a partial last line — resume the run with deno task eval, or delete that line`,
    );
  }
  const tasks = new Map<string, Map<string, Sample>>();
  rows.forEach((row, i) => {
    const ok = row && typeof row === "object" && typeof row.task === "string" &&
      (typeof row.doc_id === "string" || typeof row.doc_id === "number") &&
      row.metrics !== null && typeof row.metrics === "object";
    if (!ok) {
      throw new CompareInputError(
        `${samplesPath}:${lines[i]}: not a sample of deno task eval (needs "task", "doc_id" ` +
          `and "metrics"); is this the right folder?`,
      );
    }
    if (!tasks.has(row.task)) tasks.set(row.task, new Map());
    tasks.get(row.task)!.set(String(row.doc_id), row);
  });
  if (!tasks.size) {
    throw new CompareInputError(`${samplesPath} holds no samples; run the evaluation first`);
  }
  const resultsPath = join(dir, "results.json");
  let results: Partial<EvalResults> = {};
  if (existsSync(resultsPath)) {
    try {
      results = JSON.parse(readFileSync(resultsPath, "utf8"));
    } catch (e) {
      throw new CompareInputError(
        `${resultsPath}: not valid JSON (${(e as Error).message}); re-run the evaluation to ` +
          `rewrite it, or delete it to compare by samples.jsonl alone`,
      );
    }
  }
  const versions: Record<string, number | string> = {};
  for (const [task, r] of Object.entries(results.tasks ?? {})) {
    if (r && (typeof r.version === "number" || typeof r.version === "string")) {
      versions[task] = r.version;
    }
  }
  return {
    info: {
      dir,
      run: typeof results.run === "string" ? results.run : basename(dir.replace(/\/+$/, "")),
      model: results.model ?? null,
    },
    samplesPath,
    tasks,
    versions,
  };
}

/**
 * A plain-text table of a comparison: one row per task and metric with A, B, Δ = B − A, its
 * 95% CI and bootstrap p-value, and McNemar's b/c and p-value for 0/1 metrics; notes follow on
 * what was left out.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { formatComparisonTable } from "./compare.ts";
 * const text = formatComparisonTable({
 *   a: { dir: "a", run: "base", model: null },
 *   b: { dir: "b", run: "tuned", model: null },
 *   created: "",
 *   seed: 0,
 *   resamples: 1000,
 *   confidence: 0.95,
 *   tasks: {},
 *   tasksOnlyInA: [],
 *   tasksOnlyInB: [],
 * });
 * strictEqual(text.split("\n").slice(0, 2).join("\n"), "A: base (a)\nB: tuned (b)");
 * ```
 */
export function formatComparisonTable(cmp: RunComparison): string {
  const level = `${Math.round(cmp.confidence * PERCENT)}% CI`;
  const rows: string[][] = [[
    "task",
    "metric",
    "n",
    "A",
    "B",
    "Δ (B−A)",
    level,
    "p (boot)",
    "McNemar b/c",
    "p (McNemar)",
  ]];
  const notes: string[] = [];
  for (const [task, t] of Object.entries(cmp.tasks)) {
    for (const [metric, m] of Object.entries(t.metrics)) {
      rows.push([
        task,
        metric,
        String(m.n),
        fmt(m.meanA),
        fmt(m.meanB),
        signed(m.delta),
        Number.isFinite(m.ci[0]) ? `[${signed(m.ci[0])}, ${signed(m.ci[1])}]` : "-",
        formatPValue(m.pValue),
        m.mcnemar ? `${m.mcnemar.b}/${m.mcnemar.c}` : "-",
        m.mcnemar ? `${formatPValue(m.mcnemar.pValue)} ${m.mcnemar.method}` : "-",
      ]);
    }
    const { onlyInA, onlyInB, skipped } = t.excluded;
    if (onlyInA || onlyInB || skipped) {
      notes.push(
        `${task}: left out ${onlyInA} item(s) only in A, ${onlyInB} only in B, ` +
          `${skipped} skipped in either run`,
      );
    }
    if (t.promptMismatches) {
      notes.push(
        `${task}: ${t.promptMismatches} of ${t.n} shared items have different prompts ` +
          `(other num_fewshot or task file?)`,
      );
    }
    if (t.metricsNotShared.length) {
      notes.push(`${task}: not in both runs, not compared: ${t.metricsNotShared.join(", ")}`);
    }
  }
  if (cmp.tasksOnlyInA.length) notes.push(`tasks only in A: ${cmp.tasksOnlyInA.join(", ")}`);
  if (cmp.tasksOnlyInB.length) notes.push(`tasks only in B: ${cmp.tasksOnlyInB.join(", ")}`);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ");
  return [
    `A: ${describe(cmp.a)}`,
    `B: ${describe(cmp.b)}`,
    "",
    line(rows[0]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.slice(1).map(line),
    ...(notes.length ? ["", ...notes.map((n) => `note: ${n}`)] : []),
  ].join("\n");
}

const PERCENT = 100;

function describe(run: RunInfo): string {
  const model = run.model?.model;
  return `${run.run} (${run.dir})${model ? ` — ${String(model)}` : ""}`;
}

function signed(x: number): string {
  return (x > 0 ? "+" : "") + fmt(x);
}

function list(xs: string[]): string {
  return xs.length ? xs.join(", ") : "none";
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}
