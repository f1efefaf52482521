/**
 * The viewer's access to one results folder: the runs index, a run's page, its samples (through
 * a {@linkcode SampleIndex} per run, kept while the viewer runs and brought up to date on each
 * request), comparisons (kept while the runs' files are unchanged) and training runs. The HTTP
 * API (./api.ts) and the static export (./export.ts) both read through it.
 *
 * @example
 * ```ts ignore
 * import { ResultsStore } from "./store.ts";
 * const store = new ResultsStore("results");
 * const page = store.samples("base", { outcome: "wrong" }, { offset: 0, limit: 25 });
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { CompareOptions } from "../eval/compare.ts";
import {
  type CompareFilter,
  compareItems,
  type ComparePage,
  type CompareRun,
  type CompareView,
  compareView,
} from "./compare_view.ts";
import { type EvalRunView, evalRunView } from "./eval_view.ts";
import {
  evalRunDir,
  listRuns,
  readEvalResults,
  type RunsIndex,
  trainRunDir,
  verdictMetrics,
} from "./runs.ts";
import { type SampleFilter, SampleIndex, type SamplePage } from "./sample_index.ts";
import { type TrainRunView, trainRunView } from "./train_view.ts";

/** A run the request names does not exist (HTTP 404). */
export class RunNotFoundError extends Error {
  /** `kind` is "eval" or "train". */
  constructor(kind: string, id: string, root: string) {
    super(
      `no ${kind === "eval" ? "evaluation" : "training"} run "${id}" in ${join(root, kind)}; ` +
        `the runs index lists the runs there`,
    );
    this.name = "RunNotFoundError";
  }
}

/** Options for {@linkcode ResultsStore}. */
export interface ResultsStoreOptions {
  /** Options of every comparison (resamples, seed). Default: compareRuns' (1000 resamples, seed 0). */
  compare?: CompareOptions;
}

/** One results folder as the viewer reads it (see the module documentation). */
export class ResultsStore {
  /** The results folder (holding eval/ and train/). */
  readonly root: string;
  #options: ResultsStoreOptions;
  #indexes = new Map<string, { metricsKey: string; index: SampleIndex }>();
  #comparisons = new Map<string, { key: string; view: CompareView }>();

  /** Read the results under `root` (`results` in the repository). */
  constructor(root: string, options: ResultsStoreOptions = {}) {
    this.root = root;
    this.#options = options;
  }

  /** Every run, newest first. */
  runs(): RunsIndex {
    return listRuns(this.root);
  }

  /** The page of evaluation run `id`. */
  evalRun(id: string): EvalRunView {
    return evalRunView(this.root, id, this.index(id));
  }

  /** A page of run `id`'s samples matching `filter`. */
  samples(id: string, filter: SampleFilter, page: { offset: number; limit: number }): SamplePage {
    return this.index(id).query(filter, page);
  }

  /** The comparison of runs `ids` (the first is the baseline). */
  compare(ids: string[]): CompareView {
    const runs = this.#compareRuns(ids);
    const name = ids.join("\u0000");
    const key = runs.map((r) => `${r.index.size}:${mtime(join(r.dir, "results.json"))}`).join(
      ",",
    );
    const cached = this.#comparisons.get(name);
    if (cached?.key === key) return cached.view;
    const view = compareView(runs, this.#options.compare);
    this.#comparisons.set(name, { key, view });
    return view;
  }

  /** A page of the items runs `ids` share, answers side by side. */
  compareItems(
    ids: string[],
    filter: CompareFilter,
    page: { offset: number; limit: number },
  ): ComparePage {
    return compareItems(this.#compareRuns(ids), filter, page);
  }

  /** The page of training run `id`. */
  trainRun(id: string): TrainRunView {
    if (!trainRunDir(this.root, id)) throw new RunNotFoundError("train", id, this.root);
    return trainRunView(this.root, id);
  }

  /** The events.jsonl of training run `id`. */
  eventsPath(id: string): string {
    const dir = trainRunDir(this.root, id);
    if (!dir) throw new RunNotFoundError("train", id, this.root);
    return join(dir, "events.jsonl");
  }

  /**
   * The sample index of evaluation run `id`, built on first use and rebuilt when results.json
   * changes which metric decides a task's verdict.
   */
  index(id: string): SampleIndex {
    const dir = evalRunDir(this.root, id);
    if (!dir) throw new RunNotFoundError("eval", id, this.root);
    const metrics = verdictMetrics(readEvalResults(dir).results);
    const metricsKey = JSON.stringify(metrics);
    const kept = this.#indexes.get(id);
    if (kept?.metricsKey === metricsKey && existsSync(kept.index.path)) return kept.index;
    const index = new SampleIndex(join(dir, "samples.jsonl"), { metrics });
    this.#indexes.set(id, { metricsKey, index });
    return index;
  }

  #compareRuns(ids: string[]): CompareRun[] {
    return ids.map((id) => ({
      root: this.root,
      id,
      dir: join(this.root, "eval", id),
      index: this.index(id),
    }));
  }
}

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}
