/**
 * A task's data: which dataset split each role (test, validation, train, fewshot) names, the
 * file that holds it in a local dataset folder, and {@linkcode loadTaskDocs}, which reads a split
 * and renders its rows.
 *
 * Rows go from `loadRows` straight to `renderDoc`; a row-level preprocessing step (lm-eval's
 * `process_docs`) would sit between the two, in `loadTaskDocs`.
 * @module
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatOrigin, loadRows, type RowError } from "../../data/load.ts";
import { displayPath } from "./_format.ts";
import { renderDoc, type RenderedDoc, RenderError } from "./render.ts";
import type { TaskConfig } from "./schema.ts";

/** The splits {@linkcode loadTaskDocs} can load: the task's own split names are looked up in its config. */
export type TaskSplit = "test" | "validation" | "train" | "fewshot";

/** Options for {@linkcode loadTaskDocs}. */
export interface LoadTaskDocsOptions {
  /** Render at most this many rows (the first ones). Default: all. */
  limit?: number;
  /** Folder a relative local `dataset_path` is resolved against. Default: the task's `dataset.baseDir`. */
  baseDir?: string;
}

/** A row that could not be read, or that a template of the task could not render. */
export interface TaskRowError extends RowError {
  /** The field whose template failed (`doc_to_text`, …); absent when the row did not parse. */
  field?: string;
}

/** What {@linkcode loadTaskDocs} returns. */
export interface TaskDocs {
  /** Rows rendered by the task's templates, in file order. */
  docs: RenderedDoc[];
  /** Rows that could not be read or rendered, with their file lines (`row`) and messages. */
  errors: TaskRowError[];
}

/**
 * Load and render one split of a task. `split` names the role (`test`, `validation`, `train`,
 * `fewshot`); the task's config maps it to the dataset's split name. Rows that cannot be read or
 * rendered come back in `errors` instead of being thrown, each with its line in the file (`row`)
 * and a message starting `file:line:` (and, for a template, the field that failed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findTask, loadTaskDocs } from "./mod.ts";
 * const { docs, errors } = await loadTaskDocs(findTask("synth_qa"), "test", { limit: 3 });
 * assert.equal(docs.length, 3);
 * assert.deepEqual(errors, []);
 * assert.deepEqual(docs[0].references, ["nurse"]);
 * ```
 */
export async function loadTaskDocs(
  task: TaskConfig,
  split: TaskSplit,
  options: LoadTaskDocsOptions = {},
): Promise<TaskDocs> {
  const splitName = splitNameOf(task, split);
  const source = splitSource(task, splitName, options.baseDir ?? task.dataset.baseDir);
  const loaded = await loadRows(source, {
    split: splitName,
    ...(task.dataset.config !== undefined ? { config: task.dataset.config } : {}),
  });
  const rows = options.limit === undefined ? loaded.rows : loaded.rows.slice(0, options.limit);
  const docs: RenderedDoc[] = [];
  const errors: TaskRowError[] = [...loaded.errors];
  rows.forEach((row, i) => {
    try {
      const doc = renderDoc(task, row, i);
      if (!(typeof row.id === "string" || typeof row.id === "number")) {
        doc.id = `${splitName}:${i + 1}`;
      }
      docs.push(doc);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      const origin = loaded.origins?.[i];
      // The render message names the row by its place in the split; the file's line is what a
      // user can look up, so it replaces that prefix.
      const detail = e.message.replace(/^(task [^,]+, )?row \d+: /, "");
      errors.push({
        row: origin?.line ?? e.row,
        message: `${origin ? formatOrigin(origin) : `${displayPath(source)}: row ${e.row}`}: ` +
          `task ${task.name}: ${detail}`,
        file: source,
        field: e.field,
      });
    }
  });
  errors.sort((a, b) => a.row - b.row);
  return { docs, errors };
}

/**
 * What `loadRows` reads for a split: the split's file in a local folder, the local file, or
 * `hf:…`. Throws, listing the data files present, when a local folder has no file for the split.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findTask, splitSource } from "./mod.ts";
 * assert.match(splitSource(findTask("synth_qa"), "test"), /data\/synthetic\/qa\/test\.jsonl$/);
 * assert.throws(() => splitSource(findTask("synth_qa"), "dev"), /split "dev" not found/);
 * ```
 */
export function splitSource(
  task: TaskConfig,
  splitName: string,
  baseDir: string = task.dataset.baseDir,
): string {
  if (task.dataset.kind !== "local") return task.dataset.source;
  const path = resolve(baseDir, task.dataset.path);
  return existsSync(path) && statSync(path).isDirectory() ? splitFile(task, path, splitName) : path;
}

/** File extensions tried, in order, for a split file `<dir>/<split>.<ext>`. */
const SPLIT_FILE_EXTENSIONS = [".jsonl", ".json", ".parquet", ".csv", ".tsv"];

/** The file holding `split` in a local dataset folder, or an error listing what is there. */
function splitFile(task: TaskConfig, dir: string, split: string): string {
  for (const ext of SPLIT_FILE_EXTENSIONS) {
    const file = join(dir, split + ext);
    if (existsSync(file)) return file;
  }
  const present = readdirSync(dir).filter((f) => SPLIT_FILE_EXTENSIONS.some((e) => f.endsWith(e)));
  throw new Error(
    `task ${task.name}: split "${split}" not found in ${displayPath(dir)} (looked for ` +
      `${split}{${SPLIT_FILE_EXTENSIONS.join(",")}}; present: ${
        present.join(", ") || "no data files"
      }); ` +
      `add the file or fix the split name in ${displayPath(task.file)}`,
  );
}

/**
 * The split a task is evaluated on: `test` when it has a test split, else `validation`
 * (lm-eval's rule).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalSplit, findTask } from "./mod.ts";
 * assert.equal(evalSplit(findTask("synth_qa")), "test");
 * ```
 */
export function evalSplit(task: TaskConfig): "test" | "validation" {
  return task.splits.test !== undefined ? "test" : "validation";
}

/**
 * The dataset split name behind a split role, or an error saying which roles the task has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findTask, splitNameOf } from "./mod.ts";
 * assert.equal(splitNameOf(findTask("synth_qa"), "fewshot"), "train");
 * ```
 */
export function splitNameOf(task: TaskConfig, split: TaskSplit): string {
  const s = task.splits;
  const name = split === "fewshot" ? (s.fewshot ?? s.train ?? s.validation ?? s.test) : s[split];
  if (name !== undefined) return name;
  const roles = (["test", "validation", "train"] as const).filter((r) => s[r] !== undefined);
  const key = {
    test: "test_split",
    validation: "validation_split",
    train: "training_split",
    fewshot: "fewshot_split",
  }[split];
  throw new Error(
    `task ${task.name} has no ${split} split (${key} is not set in ${displayPath(task.file)}); ` +
      `use one of: ${roles.join(", ") || "(none)"}, or set ${key}`,
  );
}
