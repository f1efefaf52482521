/**
 * One evaluation at a time per run folder: `run.lock` holds the pid and host of the process
 * writing the folder. A second process refuses to start there; a lock left by a process that no
 * longer runs on this host (killed, crashed) is taken over, with a note.
 *
 * The lock file is created complete and atomically: written under a temporary name, then
 * hard-linked to `run.lock`, which fails when the name exists — so two processes can never both
 * hold it, and a reader never sees half a lock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lockRunFolder, RunLockedError } from "./run_lock.ts";
 * const dir = Deno.makeTempDirSync();
 * const lock = lockRunFolder(dir);
 * assert.throws(() => lockRunFolder(dir), RunLockedError);
 * lock.release();
 * lockRunFolder(dir).release();
 * ```
 * @module
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** The lock file's name in a run folder. */
export const RUN_LOCK_FILE = "run.lock";

/** What a lock file holds. */
export interface RunLockInfo {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the machine it runs on. */
  host: string;
  /** When it took the lock (ISO 8601). */
  started: string;
  /** Its command line, for people reading the file. */
  command: string[];
}

/** A held lock. */
export interface RunLock {
  /** The lock file. */
  path: string;
  /** Give the lock up (removes the file if it is still this process's). */
  release: () => void;
}

/** Another live process holds the folder. */
export class RunLockedError extends Error {
  /** The holder, as its lock file says. */
  holder: RunLockInfo | undefined;
  /** Create the error. */
  constructor(message: string, holder: RunLockInfo | undefined) {
    super(message);
    this.name = "RunLockedError";
    this.holder = holder;
  }
}

/** Options for {@linkcode lockRunFolder}. */
export interface LockRunFolderOptions {
  /** Where the note about a taken-over stale lock goes. Default: `console.error`. */
  onNote?: (line: string) => void;
}

/**
 * Take the folder's lock, or throw {@linkcode RunLockedError} naming the process that holds it.
 * The folder must exist.
 */
export function lockRunFolder(dir: string, options: LockRunFolderOptions = {}): RunLock {
  const { onNote = console.error } = options;
  const path = join(dir, RUN_LOCK_FILE);
  const mine: RunLockInfo = {
    pid: Deno.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command: [Deno.execPath(), ...Deno.args],
  };
  const text = JSON.stringify(mine) + "\n";
  const tmp = `${path}.${Deno.pid}.tmp`;
  writeFileSync(tmp, text);
  try {
    for (let attempt = 0;; attempt++) {
      try {
        linkSync(tmp, path);
        return { path, release: () => releaseIfMine(path, text) };
      } catch (e) {
        if ((e as { code?: string }).code !== "EEXIST") throw e;
      }
      const holder = readHolder(path);
      const live = holder !== undefined && (holder.host !== mine.host || isAlive(holder.pid));
      if (live || attempt > 0) {
        throw new RunLockedError(lockedMessage(dir, path, holder, mine.host), holder);
      }
      onNote(
        `note: ${path}: took over a stale lock` +
          (holder
            ? ` of process ${holder.pid} (started ${holder.started}), which no longer runs`
            : " that could not be read"),
      );
      try {
        unlinkSync(path);
      } catch { /* gone already: another process took it over; the link decides */ }
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch { /* already gone */ }
  }
}

function lockedMessage(
  dir: string,
  path: string,
  h: RunLockInfo | undefined,
  host: string,
): string {
  const who = h
    ? `process ${h.pid} on ${h.host === host ? "this machine" : `host ${h.host}`}, ` +
      `started ${h.started}`
    : "a process that took the lock at the same moment";
  const stale = h && h.host !== host ? `; if that process no longer runs, delete ${path}` : "";
  return `${dir}: another evaluation is writing this run folder (${who}). ` +
    `Wait for it to finish, or evaluate into another folder with --run NEW${stale}.`;
}

function readHolder(path: string): RunLockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, "utf8"));
    return typeof info?.pid === "number" && typeof info?.host === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this id runs on this machine (EPERM: it runs as another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

function releaseIfMine(path: string, text: string): void {
  try {
    if (readFileSync(path, "utf8") === text) unlinkSync(path);
  } catch { /* already gone */ }
}
