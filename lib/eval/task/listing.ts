/**
 * What `deno task eval --list` prints: the tasks, the tags with their tasks, and the task files
 * that were skipped with their problems.
 * @module
 */
import { displayPath } from "./_format.ts";
import { formatIssue } from "./issues.ts";
import type { TaskRegistry } from "./registry.ts";

/** Width of the name column. */
const NAME_WIDTH = 24;
/** Width of the output-type column. */
const TYPE_WIDTH = "loglikelihood_rolling".length;

/**
 * One line per task (`name  output_type  reference`, the dataset when the file names no
 * reference, as lm-eval's own files do not), then one line per tag with its tasks, one
 * per group with what it lists, and the tasks an include-path folder replaced.
 *
 * @example
 * ```ts
 * import { formatTaskList, taskRegistry } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const text = formatTaskList(taskRegistry());
 * assert.match(text, /^synth_qa +generate_until /m);
 * assert.match(text, /^synthetic +\d+ tasks: .*synth_qa/m);
 * ```
 */
export function formatTaskList(registry: TaskRegistry): string {
  const lines = registry.tasks.map((t) =>
    `${t.name.padEnd(NAME_WIDTH)} ${t.outputType.padEnd(TYPE_WIDTH)} ${
      t.reference ?? datasetLabel(t)
    }`
  );
  if (registry.tags.size) {
    lines.push("", "tags (a tag passed to --tasks runs all of its tasks):");
    for (const [tag, names] of registry.tags) {
      const count = `${names.length} task${names.length === 1 ? "" : "s"}:`;
      lines.push(`${tag.padEnd(NAME_WIDTH)} ${count} ${names.join(", ")}`);
    }
  }
  if (registry.groups.size) {
    lines.push("", "groups (a group passed to --tasks runs what it lists):");
    for (const [name, g] of [...registry.groups].sort(([a], [b]) => a.localeCompare(b))) {
      const listed = g.members.map((m) => m.name);
      lines.push(`${name.padEnd(NAME_WIDTH)} ${listed.length} listed: ${listed.join(", ")}`);
    }
  }
  if (registry.overridden.length) {
    lines.push("", "replaced by an include-path task of the same name:");
    for (const o of registry.overridden) {
      lines.push(
        `${o.name.padEnd(NAME_WIDTH)} ${displayPath(o.file)} (not ${displayPath(o.replaced)})`,
      );
    }
  }
  return lines.join("\n");
}

/** `owner/name (config)` of a task's dataset. */
function datasetLabel(task: TaskRegistry["tasks"][number]): string {
  const d = task.dataset;
  return `${d.kind === "local" ? displayPath(d.source) : d.path}${
    d.config ? ` (${d.config})` : ""
  }`;
}

/**
 * The skipped task files, one problem per line (`file:line:col: field: message`), under a header
 * saying what happened; an empty string when nothing was skipped.
 *
 * @example
 * ```ts
 * import { formatTaskIssues, taskRegistry } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatTaskIssues(taskRegistry()), "");
 * ```
 */
export function formatTaskIssues(registry: TaskRegistry): string {
  if (!registry.issues.length) return "";
  return [
    `skipped task files in ${displayPath(registry.dir)} (the other tasks are unaffected):`,
    ...registry.issues.map((issue) => `  ${formatIssue(issue)}`),
  ].join("\n");
}
