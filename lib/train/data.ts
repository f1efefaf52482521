/**
 * Training rows for the trainer: {"prompt", "completion"} JSONL, from an eval task's split
 * (rendered with the task's own templates, so fine-tuning teaches exactly the evaluated format).
 * @module
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeJsonl } from "../data/jsonl.ts";
import { buildPrompt, findTask, loadTaskDocs, type TaskSplit } from "../eval/task/mod.ts";

/** One trainer row. */
export interface TrainRow {
  prompt: string;
  completion: string;
  /** The source row's id. */
  id: string;
}

/** Options for {@linkcode taskTrainRows}. */
export interface TaskRowsOptions {
  /** Split to take. Default: "train". */
  split?: TaskSplit;
  /** At most this many rows. Default: all. */
  limit?: number;
  /** Folder with task YAML files. Default: data/tasks. */
  tasksDir?: string;
}

/**
 * Rows of a task split as prompt (the task's `doc_to_text`, zero-shot) and completion
 * (`target_delimiter` + the gold target or choice).
 *
 * @example
 * ```ts ignore
 * const rows = await taskTrainRows("synth_qa", { limit: 10 });
 * ```
 */
export async function taskTrainRows(
  task: string,
  options: TaskRowsOptions = {},
): Promise<TrainRow[]> {
  const { split = "train", limit, tasksDir } = options;
  const config = findTask(task, { tasksDir });
  const { docs, errors } = await loadTaskDocs(config, split, { limit });
  if (errors.length) {
    const e = errors[0];
    throw new Error(
      `task ${config.name}, ${split} split, row ${e.row}: ${e.message} (${errors.length} bad rows)`,
    );
  }
  return docs.map((d) => ({
    id: d.id,
    prompt: buildPrompt(config, d, []),
    completion: config.targetDelimiter + d.target,
  }));
}

/** Write rows as JSONL and return the file's SHA-256 (recorded with the run). */
export function writeTrainRows(path: string, rows: TrainRow[]): string {
  writeJsonl(path, rows);
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
