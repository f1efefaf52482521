/**
 * Problems in task files: one {@linkcode TaskIssue} per problem, with its position, and the
 * {@linkcode TaskFileError} that carries them. Every message reads
 * `file:line:col: field.path: what is wrong; what to do`.
 * @module
 */
import { displayPath } from "./_format.ts";

/** One problem in a task file, with its position. */
export interface TaskIssue {
  /** File the problem is in (as shown in messages). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** Dotted field path, e.g. `metric_list.0.metric`. */
  field: string;
  /** What is wrong and what to do. */
  message: string;
}

/** A task file that could not be loaded; the message lists every problem, one per line. */
export class TaskFileError extends Error {
  /** The problems, in file order. */
  issues: TaskIssue[];
  /** Create the error from its issues. */
  constructor(issues: TaskIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "TaskFileError";
    this.issues = issues;
  }
}

/**
 * An issue as one line: `file:line:col: field: message`.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./issues.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatIssue({ file: "t.yaml", line: 6, col: 1, field: "num_fewshots", message: "unknown key" }),
 *   "t.yaml:6:1: num_fewshots: unknown key",
 * );
 * ```
 */
export function formatIssue(issue: TaskIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${
    issue.field ? `${issue.field}: ` : ""
  }${issue.message}`;
}

/** An issue at a position of `file` (an absolute path; shown relative to the working folder). */
export function issueAt(
  file: string,
  line: number,
  col: number,
  field: string,
  message: string,
): TaskIssue {
  return { file: displayPath(file), line, col, field, message };
}
