/**
 * JSON Lines reading and writing with line-numbered errors.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** A JSONL line that could not be parsed. */
export interface JsonlError {
  /** 1-based line number in the file. */
  line: number;
  /** The raw text of the line. */
  text: string;
  /** What the parser said. */
  message: string;
}

/** The parsed rows of a JSONL file plus the lines that failed to parse. */
export interface JsonlResult<T> {
  rows: T[];
  /** 1-based line number of each row in `rows`. */
  lines: number[];
  errors: JsonlError[];
}

/** Parse JSONL text, keeping going past bad lines (they are reported in `errors`). */
export function parseJsonl<T = Record<string, unknown>>(text: string): JsonlResult<T> {
  const rows: T[] = [];
  const lines: number[] = [];
  const errors: JsonlError[] = [];
  text.split("\n").forEach((raw, i) => {
    const t = raw.trim();
    if (!t) return;
    try {
      rows.push(JSON.parse(t));
      lines.push(i + 1);
    } catch (e) {
      errors.push({ line: i + 1, text: raw, message: (e as Error).message });
    }
  });
  return { rows, lines, errors };
}

/** Read a JSONL file; throws on the first bad line, naming file and line. */
export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  const { rows, errors } = parseJsonl<T>(readFileSync(path, "utf8"));
  if (errors.length) {
    const e = errors[0];
    throw new Error(`${path}:${e.line}: not valid JSON (${e.message}); fix or remove that line`);
  }
  return rows;
}

/** Write rows as JSONL, creating the parent folder. */
export function writeJsonl(path: string, rows: Iterable<unknown>): void {
  mkdirSync(dirname(path), { recursive: true });
  const out: string[] = [];
  for (const r of rows) out.push(JSON.stringify(r));
  writeFileSync(path, out.length ? out.join("\n") + "\n" : "");
}
