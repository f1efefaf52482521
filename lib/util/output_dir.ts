/**
 * Make sure an output folder can be written before a long job starts: create it (with its
 * parents) and write and remove a probe file, so a path that is a file, a read-only disk or a
 * folder without write permission fails at once with a message naming the folder, the cause and
 * the fix — not later with a raw `ENOTDIR`/`EROFS`, or as an error blamed on the input.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { OutputDirError, prepareOutputDir } from "./output_dir.ts";
 * const dir = Deno.makeTempDirSync();
 * prepareOutputDir(join(dir, "a", "b"));
 * Deno.writeTextFileSync(join(dir, "file"), "");
 * assert.throws(() => prepareOutputDir(join(dir, "file"), { label: "--out" }), OutputDirError);
 * ```
 * @module
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** An output folder that cannot be created or written. */
export class OutputDirError extends Error {
  /** The folder. */
  dir: string;
  /** Create the error. */
  constructor(dir: string, message: string) {
    super(message);
    this.name = "OutputDirError";
    this.dir = dir;
  }
}

/** Options for {@linkcode prepareOutputDir}. */
export interface PrepareOutputDirOptions {
  /** How the folder was given, for the message (`--out`, `outDir`). Default: "output folder". */
  label?: string;
}

/**
 * Create `dir` if needed and check that files can be written in it; throws
 * {@linkcode OutputDirError} saying what is wrong and what to do.
 */
export function prepareOutputDir(dir: string, options: PrepareOutputDirOptions = {}): void {
  const { label = "output folder" } = options;
  const fail = (what: string, fix: string) =>
    new OutputDirError(dir, `${label} ${dir}: ${what}; ${fix}`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw fail("is a file, not a folder", "give a folder (it is created if missing)");
  }
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.tunebook-write-check-${Deno.pid}`);
    writeFileSync(probe, "");
    rmSync(probe, { force: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const err = (e as Error).message;
    switch (code) {
      case "EROFS":
        throw fail("is on a read-only file system", "write to a folder on a writable disk");
      case "EACCES":
      case "EPERM":
        throw fail(
          "cannot be written (permission denied)",
          "choose a folder you can write, or change its permissions",
        );
      case "ENOTDIR":
      case "EEXIST":
        throw fail(
          "cannot be created: a part of its path is a file",
          "give a path whose parents are folders",
        );
      case "ENOSPC":
        throw fail("cannot be written: the disk is full", "free space or choose another disk");
      default:
        throw fail(`cannot be written (${err})`, "choose another folder");
    }
  }
}
