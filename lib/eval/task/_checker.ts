/**
 * The issue collector that task validation reports into, and its typed field readers
 * (private to the task module). Each issue is positioned in the file that set the key.
 * @module
 */
import { closestName } from "../../util/suggest.ts";
import { describe } from "./_format.ts";
import { compiledTemplate } from "./_template.ts";
import { issueAt, type TaskIssue } from "./issues.ts";
import { type MergedTask, positionOf, type YamlSource } from "./source.ts";

/** Collects issues against the file that defined each key. */
export class Checker {
  /** The issues so far, in the order found. */
  issues: TaskIssue[] = [];
  #merged: MergedTask;

  /** A checker for one merged task file. */
  constructor(merged: MergedTask) {
    this.#merged = merged;
  }

  /** Report a problem with the value (or, with `key`, the key) at `path`. */
  at(path: (string | number)[], message: string, key = false): void {
    const src = this.ownerOf(String(path[0]));
    const p = positionOf(src, path, key);
    this.issues.push(issueAt(src.file, p.line, p.col, path.join("."), message));
  }

  /** Report a missing required field (positioned at the top of the task file). */
  missing(field: string, example: string): void {
    this.issues.push(
      issueAt(this.#merged.file, 1, 1, field, `required field is missing; add e.g. ${example}`),
    );
  }

  /** The file a key came from. */
  ownerOf(key: string): YamlSource {
    return this.#merged.owners.get(key) ?? this.#merged.top;
  }
}

/** A required non-empty string field, or undefined with an issue reported. */
export function requireString(
  check: Checker,
  data: Record<string, unknown>,
  key: string,
  example: string,
): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) {
    check.missing(key, example);
    return undefined;
  }
  if (typeof v !== "string" || v === "") {
    check.at([key], `expected a non-empty string, got ${describe(v)}; write e.g. ${example}`);
    return undefined;
  }
  return v;
}

/** An optional string field (empty allowed with `allowEmpty`), or undefined. */
export function optionalString(
  check: Checker,
  data: Record<string, unknown>,
  key: string,
  allowEmpty = false,
): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || (!allowEmpty && v === "")) {
    check.at(
      [key],
      `expected ${allowEmpty ? "a string" : "a non-empty string"}, got ${describe(v)}`,
    );
    return undefined;
  }
  return v;
}

/** An optional integer field, at least `min` when given, or undefined. */
export function optionalInt(
  check: Checker,
  data: Record<string, unknown>,
  key: string,
  min?: number,
): number | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (!Number.isInteger(v) || (min !== undefined && (v as number) < min)) {
    check.at(
      [key],
      `expected ${min === undefined ? "an integer" : `an integer >= ${min}`}, got ${
        describe(v)
      }; write e.g. ${key}: ${min ?? 0}`,
    );
    return undefined;
  }
  return v as number;
}

/** Report a template at `path` that does not parse. */
export function checkTemplate(check: Checker, path: (string | number)[], source: string): void {
  try {
    compiledTemplate(source);
  } catch (e) {
    check.at(path, `invalid Jinja template (${(e as Error).message}); fix the template`);
  }
}

/** Whether a value is a YAML mapping. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The message for an unknown key: the closest known key, or the whole list. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const hint = closestName(key, known);
  return hint
    ? `unknown key "${key}"; did you mean "${hint}"?`
    : `unknown key "${key}"; remove it (known keys: ${known.join(", ")})`;
}
