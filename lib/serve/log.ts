/**
 * Structured logs: one JSON object per line (time, level, event, then the event's fields such
 * as request id, model, tokens in/out and latency), easy to grep and to ship to a log store.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { jsonLineLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = jsonLineLogger({ write: (line) => lines.push(line) });
 * log({ level: "info", event: "request", request_id: "req_1", status: 200 });
 * strictEqual(JSON.parse(lines[0]).event, "request");
 * ```
 * @module
 */

/** One log record: `level` and `event`, plus any fields. */
export interface LogRecord {
  /** "debug" | "info" | "warn" | "error". */
  level: "debug" | "info" | "warn" | "error";
  /** What happened ("listening", "request", "model_loaded", …). */
  event: string;
  /** The event's fields. */
  [field: string]: unknown;
}

/** Where log records go. */
export type Logger = (record: LogRecord) => void;

/** Options for {@linkcode jsonLineLogger}. */
export interface JsonLineLoggerOptions {
  /** Where each line goes. Default: standard error. */
  write?: (line: string) => void;
  /** Records below this level are dropped. Default: "info". */
  level?: LogRecord["level"];
}

const LEVELS: Record<LogRecord["level"], number> = { debug: 0, info: 1, warn: 2, error: 3 };
const encoder = new TextEncoder();

/**
 * A logger that writes each record as one JSON line, with an ISO `time` first.
 *
 * @example
 * ```ts
 * import { jsonLineLogger } from "./log.ts";
 * jsonLineLogger({ level: "warn" })({ level: "info", event: "dropped" }); // writes nothing
 * ```
 */
export function jsonLineLogger(options: JsonLineLoggerOptions = {}): Logger {
  const {
    write = (line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
    level = "info",
  } = options;
  const min = LEVELS[level];
  return (record) => {
    if (LEVELS[record.level] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), ...record }));
  };
}
