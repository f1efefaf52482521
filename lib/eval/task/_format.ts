/**
 * How paths and values are shown in task error messages (private to the task module).
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { cwd } from "node:process";

/** Longest JSON excerpt of a value shown in a message. */
const MAX_EXCERPT = 80;

/** A path relative to the working folder when it is inside it, else as given. */
export function displayPath(path: string): string {
  const rel = relative(cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** A value as a message shows what was found: `a list ([…])`, `string "x"`, `nothing`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return `a list (${truncate(JSON.stringify(value))})`;
  if (typeof value === "object") return `a mapping (${truncate(JSON.stringify(value))})`;
  return `${typeof value} ${truncate(JSON.stringify(value))}`;
}

function truncate(text: string): string {
  return text.length > MAX_EXCERPT ? text.slice(0, MAX_EXCERPT) + "…" : text;
}
