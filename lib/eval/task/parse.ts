/**
 * One task file to one {@linkcode TaskConfig}: read it with positions, merge its `include:`
 * chain, validate. The registry caches these parses; this file does not.
 * @module
 */
import { resolve } from "node:path";
import { FileStamps } from "./_file_stamps.ts";
import { issueAt, TaskFileError } from "./issues.ts";
import type { TaskConfig } from "./schema.ts";
import { mergeIncludes } from "./source.ts";
import { validateTask } from "./validate.ts";

/** Options for {@linkcode parseTaskFile}. */
export interface ParseTaskOptions {
  /** Metric names to accept. Default: `KNOWN_METRICS` (the metric registry's names, and `acc_norm`). */
  knownMetrics?: readonly string[];
}

/**
 * Read, validate and resolve one task file, following its `include:` chain (paths relative to the
 * including file; the including file's keys win; cycles are reported). Throws a
 * {@linkcode TaskFileError} listing every problem as `file:line:col: field: what; what to do`.
 * Each call reads the files again; {@linkcode findTask} reuses unchanged ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTaskFile } from "./mod.ts";
 * const task = parseTaskFile("data/tasks/synth_qa_rouge.yaml");
 * assert.equal(task.name, "synth_qa_rouge");
 * assert.equal(task.includes.length, 1); // synth_qa.yaml
 * assert.deepEqual(task.metrics.map((m) => m.metric), ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu4"]);
 * ```
 */
export function parseTaskFile(path: string, options: ParseTaskOptions = {}): TaskConfig {
  return parseTaskFileWith(resolve(path), new FileStamps(), options);
}

/**
 * {@linkcode parseTaskFile} on an absolute path, recording in `stamps` every file it reads and
 * every path whose existence it checks (also when it throws), so that a cached result can be
 * checked for staleness. For the registry; not part of the module's surface.
 */
export function parseTaskFileWith(
  file: string,
  stamps: FileStamps,
  options: ParseTaskOptions = {},
): TaskConfig {
  if (!stamps.exists(file)) {
    throw new TaskFileError([
      issueAt(
        file,
        1,
        1,
        "",
        "task file not found; check the path (it is resolved against the working folder)",
      ),
    ]);
  }
  const merged = mergeIncludes(file, stamps);
  return validateTask(merged, stamps, options);
}
