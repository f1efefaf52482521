/**
 * A fresh run folder for a notebook's training run ({@linkcode freshRunDir}): emptied, so the
 * trainer does not resume or append to a previous run's checkpoints and events.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { freshRunDir } from "./run_dir.ts";
 * assert.throws(() => freshRunDir("/tmp/elsewhere"), /only folders under results\//);
 * ```
 * @module
 */
import { mkdirSync, rmSync } from "node:fs";
import { NotebookInputError } from "./params.ts";

/**
 * Empty a run folder (a previous run's checkpoints and events.jsonl, which the trainer would
 * append to) and create it; returns the path. Refuses paths outside results/.
 *
 * @example
 * ```ts ignore
 * import { freshRunDir } from "tunebook/notebook/mod.ts";
 * const dir = freshRunDir("results/train/nb-tiny");
 * ```
 */
export function freshRunDir(path: string): string {
  const normalized = path.replace(/^\.\//, "");
  if (!normalized.startsWith("results/") || normalized.includes("..")) {
    throw new NotebookInputError(
      `${path}: only folders under results/ are emptied for a fresh run; choose a run folder ` +
        `there (e.g. results/train/<name>)`,
    );
  }
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}
