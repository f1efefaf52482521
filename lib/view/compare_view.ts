/**
 * Two or more evaluation runs on the same items, as the viewer's compare page shows them: the
 * first run is the baseline; each other run gets lib/eval's `compareRuns` against it (paired Δ
 * with a bootstrap 95% CI per task and metric, McNemar's b and c for 0/1 metrics) and a list of
 * the shared items with every run's answer side by side, the words that differ from the
 * baseline's marked, and whether the run fixed the item (wrong → right: McNemar's c), broke it
 * (right → wrong: b), changed its verdict otherwise, answered differently with the same verdict,
 * or answered the same.
 *
 * The item list is built from the runs' sample indexes (no sample is held in memory); a page
 * reads only its own lines.
 *
 * @example
 * ```ts ignore
 * import { SampleIndex } from "./sample_index.ts";
 * import { compareItems, compareView } from "./compare_view.ts";
 * const runs = ["base", "tuned"].map((id) => ({
 *   root: "results",
 *   id,
 *   dir: `results/eval/${id}`,
 *   index: new SampleIndex(`results/eval/${id}/samples.jsonl`),
 * }));
 * console.log(compareView(runs).pairs[0].tasks);
 * console.log(compareItems(runs, { change: "broken" }, { offset: 0, limit: 10 }).items);
 * ```
 * @module
 */
import { CompareInputError, type CompareOptions, compareRuns } from "../eval/compare.ts";
import type { RunComparison } from "../eval/compare.ts";
import { formatPValue } from "../eval/p_value.ts";
import { deltaFigure, type Figure } from "../plots/figures.ts";
import {
  changeOf,
  CHANGES,
  type CompareFilter,
  matchesCompareRow,
  searchText,
  wordDiff,
} from "./page/query.js";
import type { IndexEntry, SampleIndex, SamplePage } from "./sample_index.ts";
import { type EvalRunSummary, evalRunSummary } from "./runs.ts";

export type { CompareFilter };

/** A run taking part in a comparison. */
export interface CompareRun {
  /** The results folder it is in. */
  root: string;
  /** Folder name under `<results>/eval`. */
  id: string;
  /** Its folder. */
  dir: string;
  /** Its sample index (built with the tasks' verdict metrics). */
  index: SampleIndex;
}

/** One task and metric of one pair. */
export interface MetricRow {
  metric: string;
  n: number;
  meanA: number;
  meanB: number;
  delta: number;
  /** Paired bootstrap 95% CI of delta (null when it has none: one item). */
  ci: [number, number] | null;
  pValue: number;
  /** The p-value as tunebook prints it (`< 0.001`, three significant digits). */
  pText: string;
  mcnemar: { b: number; c: number; pValue: number; pText: string; method: string } | null;
}

/** One task of one pair. */
export interface PairTask {
  task: string;
  n: number;
  excluded: { onlyInA: number; onlyInB: number; skipped: number };
  promptMismatches: number;
  /** The metric the verdicts (and fixed/broken) use. */
  verdictMetric: string | null;
  /** Its row first, then the other per-item metrics. */
  metrics: MetricRow[];
  /** Shared items by change (fixed, broken, changed, differs, same). */
  changes: Record<string, number>;
}

/** Run k against the baseline. */
export interface ComparePair {
  /** Index of the run in the comparison (≥ 1). */
  against: number;
  a: string;
  b: string;
  tasks: PairTask[];
  tasksOnlyInA: string[];
  tasksOnlyInB: string[];
  /** Why the runs could not be compared (then `tasks` is empty). */
  error?: string;
}

/** What the compare page shows. */
export interface CompareView {
  runs: EvalRunSummary[];
  /** Tasks every run has items of, in the baseline's order. */
  tasks: string[];
  pairs: ComparePair[];
  /** Per-task Δ of each pair (lib/plots' deltaFigure), or null when no pair compared. */
  figure: Figure | null;
}

/** One shared item on a compare page. */
export interface CompareItem {
  task: string;
  doc_id: string;
  prompt: unknown;
  references: unknown;
  choices?: unknown;
  gold?: unknown;
  /** Each run's answer, in run order; the first is the baseline. */
  runs: {
    id: string;
    prediction: string;
    outcome: string;
    metrics: Record<string, unknown>;
    /** Against the baseline (empty for the baseline itself). */
    change: string;
    /** Word differences from the baseline's prediction (none for the baseline). */
    diff: { op: "same" | "del" | "add"; text: string }[];
  }[];
}

/** A page of compared items. */
export interface ComparePage {
  total: number;
  offset: number;
  /** Items of the filter's task (all tasks without one) per change of run `against`. */
  counts: Record<string, number>;
  items: CompareItem[];
}

/** Shared items, one row per item, in the baseline's order. */
interface Row {
  task: string;
  docId: string;
  entries: IndexEntry[];
  changes: string[];
}

/**
 * The comparison tables of `runs` (the first is the baseline), with the shared items' changes
 * counted from the indexes. A pair that cannot be compared (no task in common, another task
 * version) carries the reason in `error`.
 */
export function compareView(runs: CompareRun[], options: CompareOptions = {}): CompareView {
  requireRuns(runs);
  const rows = compareRows(runs);
  const tasks = sharedTasks(runs);
  const comparisons: { label: string; comparison: RunComparison }[] = [];
  const pairs: ComparePair[] = runs.slice(1).map((run, i) => {
    const against = i + 1;
    const base = { against, a: runs[0].id, b: run.id };
    let cmp: RunComparison;
    try {
      cmp = compareRuns(runs[0].dir, run.dir, options);
    } catch (e) {
      if (!(e instanceof CompareInputError)) throw e;
      return { ...base, tasks: [], tasksOnlyInA: [], tasksOnlyInB: [], error: e.message };
    }
    comparisons.push({ label: `${run.id} − ${runs[0].id}`, comparison: cmp });
    return {
      ...base,
      tasks: Object.entries(cmp.tasks).map(([task, t]) => {
        const verdict = runs[0].index.metrics[task] || null;
        const names = Object.keys(t.metrics).sort((x, y) =>
          Number(y === verdict) - Number(x === verdict)
        );
        const changes = Object.fromEntries(CHANGES.map((c) => [c, 0]));
        for (const r of rows) if (r.task === task) changes[r.changes[against]]++;
        return {
          task,
          n: t.n,
          excluded: t.excluded,
          promptMismatches: t.promptMismatches,
          verdictMetric: verdict,
          metrics: names.map((metric) => {
            const m = t.metrics[metric];
            return {
              metric,
              n: m.n,
              meanA: m.meanA,
              meanB: m.meanB,
              delta: m.delta,
              ci: Number.isFinite(m.ci[0]) ? m.ci : null,
              pValue: m.pValue,
              pText: formatPValue(m.pValue),
              mcnemar: m.mcnemar ? { ...m.mcnemar, pText: formatPValue(m.mcnemar.pValue) } : null,
            };
          }),
          changes,
        };
      }),
      tasksOnlyInA: cmp.tasksOnlyInA,
      tasksOnlyInB: cmp.tasksOnlyInB,
    };
  });
  return {
    runs: runs.map((r) => evalRunSummary(r.root, r.id)),
    tasks,
    pairs,
    figure: comparisons.length
      ? deltaFigure(comparisons, {
        metric: Object.fromEntries(
          tasks.map((t) => [t, runs[0].index.metrics[t]]).filter((
            [, m],
          ) => m),
        ),
      })
      : null,
  };
}

/**
 * A page of the shared items matching `filter`, every run's answer side by side with its
 * differences from the baseline's.
 */
export function compareItems(
  runs: CompareRun[],
  filter: CompareFilter,
  page: { offset: number; limit: number },
): ComparePage {
  requireRuns(runs);
  const against = Math.min(filter.against ?? 1, runs.length - 1);
  const rows = compareRows(runs);
  const counts = Object.fromEntries(CHANGES.map((c) => [c, 0]));
  for (const r of rows) {
    if (!filter.task || r.task === filter.task) counts[r.changes[against]]++;
  }
  let matches = rows.filter((r) => matchesCompareRow(r, { ...filter, against }));
  if (filter.q?.trim()) {
    const hits = runs.map((run) => new Set(run.index.select({ q: filter.q })));
    matches = matches.filter((r) => r.entries.some((e, k) => hits[k].has(e)));
  }
  const slice = matches.slice(page.offset, page.offset + page.limit);
  const samples = runs.map((run, k) => run.index.read(slice.map((r) => r.entries[k])));
  return {
    total: matches.length,
    offset: page.offset,
    counts,
    items: slice.map((r, i) => itemOf(r, runs, samples.map((s) => s[i]))),
  };
}

/** One shared item as a static export holds it: filterable in the browser with query.js. */
export interface ExportRow {
  task: string;
  /** Each run's change against the baseline ("" for the baseline). */
  changes: string[];
  /** Every run's searchText, joined: what a text filter matches. */
  search: string;
  item: CompareItem;
}

/**
 * Shared items `page.offset` to `offset + limit` (all filters off), each with what the page of a
 * static export needs to filter it as the server does; `total` is the number of shared items.
 */
export function compareExportRows(
  runs: CompareRun[],
  page: { offset: number; limit: number },
): { total: number; rows: ExportRow[] } {
  requireRuns(runs);
  const rows = compareRows(runs);
  const slice = rows.slice(page.offset, page.offset + page.limit);
  const samples = runs.map((run, k) => run.index.read(slice.map((r) => r.entries[k])));
  return {
    total: rows.length,
    rows: slice.map((r, i) => ({
      task: r.task,
      changes: r.changes,
      search: samples.map((s) => searchText(s[i])).join("\u0000"),
      item: itemOf(r, runs, samples.map((s) => s[i])),
    })),
  };
}

/** Every shared item with its changes (cached per set of indexes while they are unchanged). */
function compareRows(runs: CompareRun[]): Row[] {
  for (const run of runs) run.index.refresh();
  const key = runs.map((r) => `${r.dir}\u0000${r.index.size}`).join("\u0001");
  const cached = ROWS.get(runs[0].index);
  if (cached?.key === key) return cached.rows;
  const rows: Row[] = [];
  for (const base of runs[0].index.entries()) {
    const entries = [base];
    for (const other of runs.slice(1)) {
      const e = other.index.entry(base.task, base.docId);
      if (!e) break;
      entries.push(e);
    }
    if (entries.length < runs.length) continue;
    rows.push({
      task: base.task,
      docId: base.docId,
      entries,
      changes: entries.map((e, k) =>
        k === 0 ? "" : changeOf(base.outcome, e.outcome, e.predictionHash === base.predictionHash)
      ),
    });
  }
  ROWS.set(runs[0].index, { key, rows });
  return rows;
}

const ROWS = new WeakMap<SampleIndex, { key: string; rows: Row[] }>();

function itemOf(row: Row, runs: CompareRun[], samples: SamplePage["items"]): CompareItem {
  const base = samples[0];
  const basePrediction = String(base.prediction ?? "");
  return {
    task: row.task,
    doc_id: row.docId,
    prompt: base.prompt,
    references: base.references,
    ...(base.choices !== undefined ? { choices: base.choices, gold: base.gold } : {}),
    runs: samples.map((s, k) => {
      const prediction = String(s.prediction ?? "");
      return {
        id: runs[k].id,
        prediction,
        outcome: s.outcome,
        metrics: s.metrics ?? {},
        change: row.changes[k],
        diff: k === 0 ? [] : wordDiff(basePrediction, prediction),
      };
    }),
  };
}

function sharedTasks(runs: CompareRun[]): string[] {
  const per = runs.map((r) => new Set(r.index.entries().map((e) => e.task)));
  return [...per[0]].filter((t) => per.every((s) => s.has(t)));
}

function requireRuns(runs: CompareRun[]): void {
  if (runs.length < 2) {
    throw new CompareInputError(
      `compare needs two or more runs (got ${runs.length}); pick a baseline and the runs to ` +
        `compare with it`,
    );
  }
}
