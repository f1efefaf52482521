/**
 * A run's `events.jsonl` that always tells one run's story: the trainer's events of one attempt
 * are held back until the trainer has accepted the run (its `start` event), so a refused or
 * failed attempt leaves the log as it was; a fresh start (step 0) replaces the log of a run that
 * no longer exists (started over, or never checkpointed); a resume from step N keeps the earlier
 * log up to step N and drops what came after it, which the resumed run computes again. No step
 * appears twice, and no two runs share a loss curve.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { join } from "node:path";
 * import { tmpdir } from "node:os";
 * import { TrainEventLog } from "./event_log.ts";
 * const path = join(mkdtempSync(join(tmpdir(), "log-")), "events.jsonl");
 * const first = new TrainEventLog(path);
 * for (const e of [{ event: "start", start_step: 0 }, { event: "step", step: 1 }, { event: "step", step: 2 }]) first.add(e);
 * const resumed = new TrainEventLog(path); // killed after step 2; the checkpoint was at step 1
 * for (const e of [{ event: "resume", step: 1 }, { event: "start", start_step: 1 }, { event: "step", step: 2 }]) resumed.add(e);
 * const steps = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l).step);
 * assert.deepEqual(steps, [undefined, 1, 1, undefined, 2]);
 * ```
 * @module
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

/** The part of a trainer event the log looks at. */
export interface LoggedEvent {
  /** Its kind: start, resume, step, eval, checkpoint, done, …. */
  event: string;
  /** The optimizer step it belongs to, if any. */
  step?: number;
  /** On `start`: the step the run starts from (0, or the resumed checkpoint's). */
  start_step?: number;
  [key: string]: unknown;
}

/** One attempt's writer of a run's events.jsonl. */
export class TrainEventLog {
  #pending: string[] = [];
  #started = false;

  /** @param path the run's events.jsonl */
  constructor(readonly path: string) {}

  /** Whether the trainer has accepted the run (events now go straight to the file). */
  get started(): boolean {
    return this.#started;
  }

  /** Record one event (as the trainer printed it, when `line` is given). */
  add(event: LoggedEvent, line: string = JSON.stringify(event)): void {
    if (this.#started) {
      appendFileSync(this.path, line + "\n");
      return;
    }
    this.#pending.push(line);
    if (event.event !== "start") return;
    this.#started = true;
    const from = Number(event.start_step ?? 0);
    const kept = from > 0 && existsSync(this.path)
      ? readFileSync(this.path, "utf8").split("\n").filter((l) => l.trim() && keep(l, from))
      : [];
    const tmp = `${this.path}.tmp-${Deno.pid}`;
    writeFileSync(tmp, [...kept, ...this.#pending].map((l) => l + "\n").join(""));
    renameSync(tmp, this.path);
    this.#pending = [];
  }
}

/** Whether a line of the earlier log belongs to the trajectory up to step `from`. */
function keep(line: string, from: number): boolean {
  try {
    const step = (JSON.parse(line) as LoggedEvent).step;
    return typeof step !== "number" || step <= from;
  } catch {
    return false;
  }
}
