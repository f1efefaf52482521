/**
 * The raw input notebooks/01_curate.ipynb curates when no dataset is given: eval tasks' train
 * splits as `{id, prompt, completion, task}` rows ({@linkcode writeTaskRows}).
 *
 * @example
 * ```ts ignore
 * import { writeTaskRows } from "./task_rows.ts";
 * const source = await writeTaskRows("results/notebooks/data/source.jsonl", ["synth_qa"]);
 * ```
 * @module
 */
import { writeJsonl } from "../data/jsonl.ts";
import { taskTrainRows } from "../train/data.ts";

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
 * import { writeTaskRows } from "tunebook/notebook/mod.ts";
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
