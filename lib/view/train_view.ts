/**
 * One training run as the viewer shows it: the loss and validation curves (lib/plots'
 * lossFigure), the resolved config, the artifacts in its folder, and an {@linkcode EventTail}
 * that follows events.jsonl while the trainer appends to it (the server streams what it reads as
 * server-sent events).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { EventTail } from "./train_view.ts";
 * const dir = Deno.makeTempDirSync();
 * const file = join(dir, "events.jsonl");
 * Deno.writeTextFileSync(file, '{"event":"step","step":1,"loss":2}\n{"event":"st');
 * const tail = new EventTail(file);
 * assert.equal(tail.read().length, 1); // the cut line waits
 * Deno.writeTextFileSync(file, 'ep","step":2,"loss":1.5}\n', { append: true });
 * assert.deepEqual(tail.read().map((e) => e.step), [2]);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 * @module
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { TrainEvent } from "../train/bridge.ts";
import type { Figure } from "../plots/figures.ts";
import { lossFigure } from "../plots/loss_figure.ts";
import {
  parseEvents,
  readTrainConfig,
  readTrainEvents,
  type TrainRunSummary,
  trainRunSummary,
} from "./runs.ts";

/** A file or folder in a training run. */
export interface Artifact {
  /** Path inside the run folder. */
  path: string;
  kind: "file" | "folder";
  /** Bytes (a folder: everything inside). */
  bytes: number;
  /** Files inside a folder. */
  files?: number;
}

/** What the training page shows. */
export interface TrainRunView {
  summary: TrainRunSummary;
  /** The resolved config the trainer ran with (config.json), or null. */
  config: Record<string, unknown> | null;
  configError?: string;
  /** What `deno task finetune` recorded in run.json (preset, task, the data's SHA-256), if any. */
  record: Record<string, unknown> | null;
  events: TrainEvent[];
  badLines: number;
  /** The last error or warning messages. */
  messages: { event: string; message: string; step?: number }[];
  /** Byte length of events.jsonl read so far: where a live stream continues. */
  eventsBytes: number;
  artifacts: Artifact[];
  figure: Figure;
}

/** The training page's data for run `id` under `root`. */
export function trainRunView(root: string, id: string): TrainRunView {
  const dir = join(root, "train", id);
  const tail = new EventTail(join(dir, "events.jsonl"));
  const events = tail.read();
  const { config, error } = readTrainConfig(dir);
  return {
    summary: trainRunSummary(root, id),
    config,
    ...(error ? { configError: error } : {}),
    record: readRunJson(join(dir, "run.json")),
    events,
    badLines: tail.badLines,
    messages: events.filter((e) => e.event === "error" || e.event === "warning").map((e) => ({
      event: e.event,
      message: String(e.message ?? ""),
      ...(typeof e.step === "number" ? { step: e.step } : {}),
    })),
    eventsBytes: tail.position,
    artifacts: artifacts(dir),
    figure: lossFigure([{ label: "", events }]),
  };
}

/** The events of a training run (every line that parses), for callers without a tail. */
export function trainEvents(root: string, id: string): TrainEvent[] {
  return readTrainEvents(join(root, "train", id)).events;
}

/**
 * Follows an events.jsonl: each {@linkcode EventTail.read} returns the complete lines appended
 * since the last one (a line cut short waits for its end). A file that shrinks starts over.
 */
export class EventTail {
  /** The file followed. */
  readonly path: string;
  #position: number;
  #badLines = 0;
  #restarts = 0;

  /** Follow `path` from byte `position` (0: the beginning). */
  constructor(path: string, position = 0) {
    this.path = path;
    this.#position = position;
  }

  /** Bytes consumed so far (complete lines only). */
  get position(): number {
    return this.#position;
  }

  /** Times the file shrank (was replaced or truncated) and reading started over. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Lines read that were not events. */
  get badLines(): number {
    return this.#badLines;
  }

  /** The events of the lines completed since the last read. */
  read(): TrainEvent[] {
    return this.readWithEnds().map((e) => e.event);
  }

  /**
   * The events of the lines completed since the last read, each with the byte offset just past
   * its line (where a reader that has it would continue).
   */
  readWithEnds(): { event: TrainEvent; end: number }[] {
    if (!existsSync(this.path)) return [];
    const size = statSync(this.path).size;
    if (size < this.#position) {
      this.#position = 0;
      this.#restarts++;
    }
    if (size === this.#position) return [];
    const bytes = new Uint8Array(size - this.#position);
    const fd = openSync(this.path, "r");
    let read = 0;
    try {
      read = readSync(fd, bytes, 0, bytes.length, this.#position);
    } finally {
      closeSync(fd);
    }
    const out: { event: TrainEvent; end: number }[] = [];
    const decoder = new TextDecoder();
    let start = 0;
    for (let i = 0; i < read; i++) {
      if (bytes[i] !== NEWLINE) continue;
      const { events, badLines } = parseEvents(decoder.decode(bytes.subarray(start, i)));
      this.#badLines += badLines;
      for (const event of events) out.push({ event, end: this.#position + i + 1 });
      start = i + 1;
    }
    this.#position += start;
    return out;
  }
}

const NEWLINE = 10;

/** Top-level files and folders of a run folder, folders with their total size. */
function artifacts(dir: string): Artifact[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => {
      const path = join(dir, e.name);
      if (!e.isDirectory()) {
        return { path: e.name, kind: "file" as const, bytes: statSync(path).size };
      }
      const files = walk(path);
      return {
        path: e.name + "/",
        kind: "folder" as const,
        bytes: files.reduce((s, f) => s + f.bytes, 0),
        files: files.length,
      };
    });
}

function walk(dir: string): { path: string; bytes: number }[] {
  const out: { path: string; bytes: number }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push({ path: relative(dir, p), bytes: statSync(p).size });
  }
  return out;
}

function readRunJson(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(new TextDecoder().decode(Deno.readFileSync(path)));
  } catch {
    return null;
  }
}
