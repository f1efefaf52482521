/**
 * lm-evaluation-harness group files: a YAML file whose `task:` is a list rather than a name,
 *
 * ```yaml
 * group: ai2_arc
 * task:
 *   - arc_easy                 # a task, a tag or another group, by name (or a glob: arc_*)
 *   - task: arc_challenge      # a task with some keys changed for this group
 *     num_fewshot: 25
 * aggregate_metric_list:
 *   - metric: acc
 *     aggregation: mean
 *     weight_by_size: true
 * metadata:
 *   version: 1.0
 * ```
 *
 * Naming the group in `--tasks` runs every task it lists (recursively, each task once);
 * `aggregate_metric_list` asks for the group's own score: the mean of its tasks' values,
 * weighted by their number of items when `weight_by_size` is true (lm-eval's rule).
 *
 * Files with `class:` define a task as a Python class (lm-eval's `ConfigurableTask` subclasses,
 * such as `squad_completion` and `squadv2`): tunebook runs tasks written in YAML only and
 * reports such a file with {@linkcode pythonClassError}.
 * @module
 */
import { displayPath } from "./_format.ts";
import { describe } from "./_format.ts";
import { isPlainObject, unknownKeyMessage } from "./_checker.ts";
import { issueAt, TaskFileError, type TaskIssue } from "./issues.ts";
import { isFunctionRef } from "./schema.ts";
import { positionOf, type YamlSource } from "./source.ts";

/** Keys of a group file. */
export const GROUP_KEYS = [
  "group",
  "group_alias",
  "task",
  "aggregate_metric_list",
  "metadata",
] as const;

/** Keys of one `aggregate_metric_list` entry. */
export const AGGREGATE_KEYS = ["metric", "aggregation", "weight_by_size", "filter_list"] as const;

/** One entry of a group's `task:` list. */
export type GroupMember =
  | {
    /** A task, tag or group by name (or a glob of task names). */
    kind: "name";
    name: string;
    /** Where it is written. */
    path: (string | number)[];
  }
  | {
    /** A task given as a mapping: a known task with keys changed, or a whole task inline. */
    kind: "inline";
    /** Its `task:` name. */
    name: string;
    /** The mapping as written. */
    data: Record<string, unknown>;
    /** Where it is written. */
    path: (string | number)[];
  };

/** A group's score: one metric averaged over its tasks. */
export interface AggregateMetric {
  /** The metric, as the tasks report it. */
  metric: string;
  /** Only `mean`, as in lm-eval. */
  aggregation: "mean";
  /** Weight each task by its number of items (else every task counts once). Default: true. */
  weightBySize: boolean;
  /** The filter pipeline whose values are averaged (`none` for unfiltered). Default: `none`. */
  filter: string;
}

/** A validated group file. */
export interface GroupConfig {
  /** `group:`. */
  name: string;
  /** The file (absolute). */
  file: string;
  /** `group_alias:`, shown instead of the name. */
  alias?: string;
  /** `task:`, in order. */
  members: GroupMember[];
  /** `aggregate_metric_list:` (empty: the group has no score of its own). */
  aggregate: AggregateMetric[];
  /** `metadata.version`. Default: 0. */
  version: number | string;
  /** The parsed file, for positions of its entries. */
  source: YamlSource;
}

/** Whether a parsed YAML mapping is a group file (lm-eval's test: `task` is a list). */
export function isGroupData(data: Record<string, unknown>): boolean {
  return Array.isArray(data.task) && typeof data.group === "string";
}

/** Whether a parsed YAML mapping defines a task as a Python class (`class:`). */
export function isPythonClassData(data: Record<string, unknown>): boolean {
  return Object.hasOwn(data, "class");
}

/** Validate a group file's keys into a {@linkcode GroupConfig}, or throw its issues. */
export function parseGroup(src: YamlSource): GroupConfig {
  const data = src.data;
  const issues: TaskIssue[] = [];
  const at = (path: (string | number)[], message: string, key = false) => {
    const p = positionOf(src, path, key);
    issues.push(issueAt(src.file, p.line, p.col, path.join("."), message));
  };
  for (const key of Object.keys(data)) {
    if (!(GROUP_KEYS as readonly string[]).includes(key)) {
      at(
        [key],
        `${unknownKeyMessage(key, GROUP_KEYS)} (this is a group file: task: is a list)`,
        true,
      );
    }
  }
  const members: GroupMember[] = [];
  (data.task as unknown[]).forEach((entry, i) => {
    const path = ["task", i];
    if (typeof entry === "string" && entry) members.push({ kind: "name", name: entry, path });
    else if (isPlainObject(entry) && typeof entry.task === "string" && entry.task) {
      members.push({ kind: "inline", name: entry.task, data: entry, path });
    } else if (isPlainObject(entry) && typeof entry.group === "string") {
      at(
        path,
        `a group written inside a group is not supported; put it in its own file and list its name`,
      );
    } else {
      at(
        path,
        `expected a task name or a mapping with task:, got ${
          describe(entry)
        }; write e.g. - arc_easy`,
      );
    }
  });
  if (!members.length && !issues.length) at(["task"], "the group lists no tasks");
  const aggregate: AggregateMetric[] = [];
  const agg = data.aggregate_metric_list;
  if (agg !== undefined && agg !== null) {
    const list = isPlainObject(agg) ? [agg] : agg;
    if (!Array.isArray(list)) {
      at(["aggregate_metric_list"], `expected a list of {metric: …} entries, got ${describe(agg)}`);
    } else {
      list.forEach((entry, i) => {
        const path = isPlainObject(agg) ? ["aggregate_metric_list"] : ["aggregate_metric_list", i];
        if (!isPlainObject(entry) || typeof entry.metric !== "string") {
          at(
            path,
            `expected a mapping like {metric: acc, weight_by_size: true}, got ${describe(entry)}`,
          );
          return;
        }
        for (const key of Object.keys(entry)) {
          if (!(AGGREGATE_KEYS as readonly string[]).includes(key)) {
            at([...path, key], unknownKeyMessage(key, AGGREGATE_KEYS), true);
          }
        }
        if (entry.aggregation !== undefined && entry.aggregation !== "mean") {
          at(
            [...path, "aggregation"],
            isFunctionRef(entry.aggregation)
              ? `a Python aggregation is not supported; lm-eval groups aggregate with mean`
              : `only mean is supported (as in lm-eval), got ${describe(entry.aggregation)}`,
          );
        }
        if (entry.weight_by_size !== undefined && typeof entry.weight_by_size !== "boolean") {
          at(
            [...path, "weight_by_size"],
            `expected true or false, got ${describe(entry.weight_by_size)}`,
          );
        }
        const filter = entry.filter_list;
        if (filter !== undefined && typeof filter !== "string") {
          at(
            [...path, "filter_list"],
            `expected a filter name (e.g. strict-match), got ${describe(filter)}`,
          );
        }
        aggregate.push({
          metric: entry.metric,
          aggregation: "mean",
          weightBySize: entry.weight_by_size !== false,
          filter: typeof filter === "string" ? filter : "none",
        });
      });
    }
  }
  let version: number | string = 0;
  let meta = data.metadata;
  if (Array.isArray(meta) && meta.every(isPlainObject)) meta = Object.assign({}, ...meta);
  if (
    isPlainObject(meta) && (typeof meta.version === "number" || typeof meta.version === "string")
  ) {
    version = meta.version;
  }
  const alias = typeof data.group_alias === "string" ? data.group_alias : undefined;
  if (issues.length) throw new TaskFileError(issues);
  return {
    name: data.group as string,
    file: src.file,
    ...(alias !== undefined ? { alias } : {}),
    members,
    aggregate,
    version,
    source: src,
  };
}

/**
 * The error of a file that defines its task as a Python class (`class: !function task.X`):
 * what tunebook does with it (nothing: it runs YAML tasks only), and what to write instead.
 */
export function pythonClassError(src: YamlSource): TaskFileError {
  const p = positionOf(src, ["class"], true);
  const ref = src.data.class;
  const what = isFunctionRef(ref) ? `!function ${ref.spec}` : describe(ref);
  const name = typeof src.data.task === "string" ? src.data.task : "this task";
  return new TaskFileError([
    issueAt(
      src.file,
      p.line,
      p.col,
      "class",
      `${name} is defined as a Python class (class: ${what}, an lm-eval ConfigurableTask ` +
        `subclass); tunebook does not run task classes, only tasks written in YAML. Write the ` +
        `task as a YAML file with the same dataset, prompts and metrics (Python pieces as ` +
        `!function hooks: process_docs, doc_to_text, doc_to_target, doc_to_choice, ` +
        `process_results); data/tasks/README.md shows squad_completion done this way`,
    ),
  ]);
}

/** A group member's position, for messages. */
export function memberAt(group: GroupConfig, member: GroupMember): string {
  const p = positionOf(group.source, member.path);
  return `${displayPath(group.file)}:${p.line}:${p.col}`;
}
