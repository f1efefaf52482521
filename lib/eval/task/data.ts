/**
 * A task's data: which dataset split each role (test, validation, train, fewshot) names, where a
 * split's rows are read from (a local file or folder, a local builder's `data_files`, or the Hub
 * through the Hugging Face cache), and {@linkcode loadTaskDocs}, which reads a split, applies the
 * task's `process_docs` hook, runs its per-row hooks and renders the rows.
 * @module
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  formatOrigin,
  type LoadOptions,
  loadRows,
  type RowError,
  type RowFormat,
  type RowOrigin,
} from "../../data/load.ts";
import { globFiles, isGlob } from "../../util/glob.ts";
import { displayPath } from "./_format.ts";
import { type HookOptions, runDocHooks } from "./hooks.ts";
import { type HookResult, renderDoc, type RenderedDoc, RenderError } from "./render.ts";
import { type FunctionRef, isFunctionRef, type TaskConfig } from "./schema.ts";

/** The splits {@linkcode loadTaskDocs} can load: the task's own split names are looked up in its config. */
export type TaskSplit = "test" | "validation" | "train" | "fewshot";

/** Options for {@linkcode loadTaskDocs} and {@linkcode loadTaskRows}. */
export interface LoadTaskDocsOptions {
  /** Render at most this many rows (the first ones, after `process_docs`). Default: all. */
  limit?: number;
  /** Folder a relative local `dataset_path` is resolved against. Default: the task's `dataset.baseDir`. */
  baseDir?: string;
  /** How to run the task's Python hooks. Default: {@linkcode HookOptions}' defaults. */
  hooks?: HookOptions;
}

/** A row that could not be read, or that a template or hook of the task could not render. */
export interface TaskRowError extends RowError {
  /** The field that failed (`doc_to_text`, …); absent when the row did not parse. */
  field?: string;
}

/** What {@linkcode loadTaskDocs} returns. */
export interface TaskDocs {
  /** Rows rendered by the task's templates, in file order. */
  docs: RenderedDoc[];
  /** Rows that could not be read or rendered, with their file lines (`row`) and messages. */
  errors: TaskRowError[];
}

/** What {@linkcode loadTaskRows} returns. */
export interface TaskRows {
  /** The split's rows, after the task's `process_docs` when it has one. */
  rows: Record<string, unknown>[];
  /** Lines of the data files that could not be read. */
  errors: RowError[];
  /** Where the rows came from (files, or `hf:owner/name`). */
  source: string;
  /**
   * Where each row is in its file, when that can be told: not after a `process_docs` hook, whose
   * rows are its own.
   */
  origins?: RowOrigin[];
  /** Per-row hook results for the first `limit` rows, by field (empty without hooks). */
  hooks: Partial<Record<"doc_to_text" | "doc_to_target" | "doc_to_choice", HookResult[]>>;
}

/**
 * Load and render one split of a task. `split` names the role (`test`, `validation`, `train`,
 * `fewshot`); the task's config maps it to the dataset's split name. The task's `process_docs`
 * runs on the whole split before `limit` applies (as in lm-eval). Rows that cannot be read or
 * rendered come back in `errors` instead of being thrown, each with its line in the file (`row`)
 * and a message starting `file:line:` (and the field that failed); after `process_docs` the row
 * is named by its place among the hook's rows. A hook that cannot run at all throws.
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
  const loaded = await loadTaskRows(task, split, options);
  const rows = options.limit === undefined ? loaded.rows : loaded.rows.slice(0, options.limit);
  const docs: RenderedDoc[] = [];
  const errors: TaskRowError[] = [...loaded.errors];
  rows.forEach((row, i) => {
    try {
      const hooks: Partial<Record<keyof TaskRows["hooks"], HookResult>> = {};
      for (const [field, results] of Object.entries(loaded.hooks)) {
        hooks[field as keyof TaskRows["hooks"]] = results![i];
      }
      const doc = renderDoc(task, row, i, { hooks });
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
      const place = origin
        ? formatOrigin(origin)
        : `${displayPath(loaded.source)}: row ${e.row}${
          task.processDocs ? " (of process_docs' rows)" : ""
        }`;
      errors.push({
        row: origin?.line ?? e.row,
        message: `${place}: task ${task.name}: ${detail}`,
        file: loaded.source,
        field: e.field,
      });
    }
  });
  errors.sort((a, b) => a.row - b.row);
  return { docs, errors };
}

/**
 * The rows of one split of a task, after its `process_docs` hook, with its per-row hooks run on
 * the first `limit` rows. For lm-eval's `process_docs`, the rows are those the hook returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findTask, loadTaskRows } from "./mod.ts";
 * const { rows, source } = await loadTaskRows(findTask("synth_qa"), "test");
 * assert.ok(rows.length > 0);
 * assert.match(source, /data\/synthetic\/qa\/test\.jsonl$/);
 * ```
 */
export async function loadTaskRows(
  task: TaskConfig,
  split: TaskSplit,
  options: LoadTaskDocsOptions = {},
): Promise<TaskRows> {
  const splitName = splitNameOf(task, split);
  const { rows, errors, source, origins } = await readSplit(task, splitName, options);
  const fields: Partial<Record<"doc_to_text" | "doc_to_target" | "doc_to_choice", FunctionRef>> =
    {};
  if (isFunctionRef(task.docToText)) fields.doc_to_text = task.docToText;
  if (isFunctionRef(task.docToTarget)) fields.doc_to_target = task.docToTarget;
  if (isFunctionRef(task.docToChoice)) fields.doc_to_choice = task.docToChoice;
  if (!task.processDocs && !Object.keys(fields).length) {
    return { rows, errors, source, ...(origins ? { origins } : {}), hooks: {} };
  }
  const out = await runDocHooks(
    task,
    rows,
    { ...(task.processDocs ? { processDocs: task.processDocs } : {}), fields },
    { ...options.hooks, ...(options.limit !== undefined ? { limit: options.limit } : {}) },
  );
  return {
    rows: out.rows,
    errors,
    source,
    ...(origins && !task.processDocs ? { origins } : {}),
    hooks: out.fields,
  };
}

/** Read a split's rows from wherever the task's dataset is. */
async function readSplit(
  task: TaskConfig,
  splitName: string,
  options: LoadTaskDocsOptions,
): Promise<
  { rows: Record<string, unknown>[]; errors: RowError[]; source: string; origins?: RowOrigin[] }
> {
  const ds = task.dataset;
  const load: LoadOptions = {
    split: splitName,
    ...(ds.config !== undefined ? { config: ds.config } : {}),
    ...(ds.revision !== undefined ? { hub: { revision: ds.revision } } : {}),
    ...(ds.read
      ? {
        delimited: {
          ...(ds.read.sep !== undefined ? { sep: ds.read.sep } : {}),
          ...(ds.read.noQuoting ? { quoting: false } : {}),
          ...(ds.read.quoteChar !== undefined ? { quoteChar: ds.read.quoteChar } : {}),
          ...(ds.read.hasHeader !== undefined ? { hasHeader: ds.read.hasHeader } : {}),
          ...(ds.read.columnNames !== undefined ? { columnNames: ds.read.columnNames } : {}),
        },
        ...(ds.read.field !== undefined ? { jsonField: ds.read.field } : {}),
      }
      : {}),
  };
  if (ds.kind === "builder") {
    const files = builderFiles(task, splitName);
    const rows: Record<string, unknown>[] = [];
    const errors: RowError[] = [];
    let origins: RowOrigin[] | undefined = [];
    for (const file of files) {
      const got = await loadRows(file, { ...load, format: builderFormat(task, file) });
      for (const r of got.rows) rows.push(r);
      errors.push(...got.errors);
      if (got.origins && origins) origins.push(...got.origins);
      else origins = undefined;
    }
    return {
      rows,
      errors,
      source: files.map(displayPath).join(", "),
      ...(origins ? { origins } : {}),
    };
  }
  const source = splitSource(task, splitName, options.baseDir ?? ds.baseDir);
  const got = await loadRows(source, load);
  return {
    rows: got.rows,
    errors: got.errors,
    source,
    ...(got.origins ? { origins: got.origins } : {}),
  };
}

/** The files of a builder's split (`data_files`, globs expanded), or an error saying what is there. */
function builderFiles(task: TaskConfig, splitName: string): string[] {
  const patterns = task.dataset.dataFiles?.[splitName];
  if (!patterns) {
    throw new Error(
      `task ${task.name}: split "${splitName}" is not in dataset_kwargs.data_files (it has ${
        Object.keys(task.dataset.dataFiles ?? {}).join(", ") || "none"
      }); fix ${displayPath(task.file)}`,
    );
  }
  const files = patterns.flatMap((p) => {
    const hits = globFiles(p);
    if (!hits.length) {
      throw new Error(
        `task ${task.name}: data file ${displayPath(p)} (split "${splitName}") ${
          isGlob(p) ? "matches no file" : "not found"
        }; fix dataset_kwargs.data_files in ${displayPath(task.file)}`,
      );
    }
    return hits;
  });
  return files;
}

/** The format a builder reads a file in: the builder's own (json files may be JSON Lines). */
function builderFormat(task: TaskConfig, file: string): RowFormat {
  switch (task.dataset.builder) {
    case "json":
      return /\.(jsonl|ndjson)$/i.test(file) ? "jsonl" : "json";
    case "csv":
      return /\.tsv$/i.test(file) ? "tsv" : "csv";
    case "parquet":
      return "parquet";
    default:
      return "text";
  }
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
