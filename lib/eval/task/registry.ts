/**
 * The task registry: every task file under a tasks folder (`data/tasks` by default), indexed by
 * task name and by tag, with each file parsed once.
 *
 * - **Cache.** A parse is kept per absolute path and reused while every file it read (the task
 *   file and its `include:` chain) has the same modification time and size, and every path whose
 *   existence it checked (included files, a local dataset) is still there or still missing. An
 *   edited file is read again on the next lookup; unchanged ones are not.
 * - **Tags.** `tag:` and `group:` name sets of tasks (lm-evaluation-harness's use):
 *   {@linkcode resolveTasks} expands a tag to its tasks, sorted by name. A task name wins over a
 *   tag of the same name.
 * - **Broken files.** A file that does not validate, or a task name defined by two files, is
 *   skipped and reported in {@linkcode TaskRegistry.issues}; it never breaks the listing or the
 *   lookup of other tasks. Looking up the broken task itself throws its error.
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { closestName } from "../../util/suggest.ts";
import { FileStamps } from "./_file_stamps.ts";
import { displayPath } from "./_format.ts";
import { formatIssue, issueAt, TaskFileError, type TaskIssue } from "./issues.ts";
import { parseTaskFileWith, type ParseTaskOptions } from "./parse.ts";
import type { TaskConfig } from "./schema.ts";
import { peekTask, type Position } from "./source.ts";

/** Where the registry looks for task files, relative to the repository root. */
const DEFAULT_TASKS_DIR = "data/tasks";

/** The repository root (three folders above this file). */
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Options for {@linkcode findTask}, {@linkcode resolveTasks}, {@linkcode listTasks} and {@linkcode taskRegistry}. */
export interface TaskRegistryOptions extends ParseTaskOptions {
  /** Folder holding task files (searched recursively). Default: `data/tasks` in the repository root. */
  tasksDir?: string;
}

/** The tasks of one folder, as the registry sees them. */
export interface TaskRegistry {
  /** The folder searched (absolute). */
  dir: string;
  /** Every task that loaded, sorted by name. */
  tasks: TaskConfig[];
  /**
   * Each tag (`tag:` or `group:`), sorted, with the names of its tasks, sorted. A skipped task
   * whose tags could be read is listed under them too, so that expanding the tag reports it.
   */
  tags: ReadonlyMap<string, readonly string[]>;
  /** Problems of the files that were skipped, in file order (`file:line:col`, field, message). */
  issues: TaskIssue[];
  /** For each skipped task name, the error that looking it up throws. */
  broken: ReadonlyMap<string, Error>;
}

/** One cached parse: what it depended on, and its result. */
interface Parsed {
  stamps: FileStamps;
  task?: TaskConfig;
  error?: Error;
  /** Name and tags of a file that failed, read leniently. */
  peek?: { name: string; tags: string[] };
  /** Where its `task:` key is, once asked for (to report a duplicate name). */
  taskAt?: Position;
}

/** Parses by absolute path and accepted metrics. */
const parsed = new Map<string, Parsed>();

/**
 * Every task under the tasks folder, sorted by name. Files and folders whose names start with `_`
 * (bases for `include:`) or `.` are not listed. Files that do not load are skipped; see
 * {@linkcode taskRegistry} for their issues.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listTasks } from "./mod.ts";
 * const names = listTasks().map((t) => t.name);
 * assert.equal(names[0], "arithmetic_1dc");
 * assert.deepEqual(names, [...names].sort());
 * assert.ok(!names.some((n) => n.startsWith("_")));
 * ```
 */
export function listTasks(options: TaskRegistryOptions = {}): TaskConfig[] {
  return taskRegistry(options).tasks;
}

/**
 * The tasks folder indexed: loaded tasks, tags, and the issues of skipped files. Throws only when
 * the folder itself does not exist.
 *
 * @example
 * ```ts
 * import { taskRegistry } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const registry = taskRegistry();
 * assert.deepEqual(registry.issues, []);
 * assert.ok(registry.tags.get("synthetic")?.includes("synth_qa"));
 * ```
 */
export function taskRegistry(options: TaskRegistryOptions = {}): TaskRegistry {
  const dir = tasksDirOf(options);
  if (!isDirectory(dir)) {
    throw new Error(`tasks folder ${displayPath(dir)} does not exist; create it or pass tasksDir`);
  }
  const files = taskFiles(dir).map((file) => ({ file, parse: cachedParse(file, options) }));
  const issues: TaskIssue[] = [];
  const seenIssues = new Set<string>();
  const report = (list: TaskIssue[]) => {
    for (const issue of list) {
      const line = formatIssue(issue);
      if (seenIssues.has(line)) continue;
      seenIssues.add(line);
      issues.push(issue);
    }
  };

  const byName = new Map<string, TaskConfig[]>();
  for (const { parse } of files) {
    if (parse.task) {
      byName.set(parse.task.name, [...(byName.get(parse.task.name) ?? []), parse.task]);
    }
  }
  const tasks: TaskConfig[] = [];
  const broken = new Map<string, Error>();
  const tagged: [string, string][] = [];
  for (const { file, parse } of files) {
    if (parse.task) {
      const same = byName.get(parse.task.name)!;
      if (same.length === 1) tasks.push(parse.task);
      else report([duplicateIssue(parse, same)]);
      tagged.push(...parse.task.tags.map((tag): [string, string] => [tag, parse.task!.name]));
      continue;
    }
    report(issuesOf(file, parse.error!));
    const { name, tags } = parse.peek!;
    if (byName.has(name) || broken.has(name)) continue;
    broken.set(name, parse.error!);
    tagged.push(...tags.map((tag): [string, string] => [tag, name]));
  }
  for (const [name, same] of byName) {
    if (same.length > 1) broken.set(name, duplicateError(same));
  }
  tasks.sort((a, b) => a.name.localeCompare(b.name));
  return { dir, tasks, tags: tagIndex(tagged), issues, broken };
}

/**
 * A task by name (looked up in the tasks folder) or by path to its YAML file. An unknown name
 * throws an error listing the available tasks and the closest match; a tag name throws an error
 * listing its tasks (use {@linkcode resolveTasks} to expand it); a task whose file was skipped
 * throws that file's problems.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findTask } from "./mod.ts";
 * const task = findTask("synth_arithmetic");
 * assert.match(task.file, /data\/tasks\/synth_arithmetic\.yaml$/);
 * assert.deepEqual(task.generationKwargs.until, ["\n"]);
 * assert.throws(() => findTask("synth_arithmetc"), /synth_arithmetic/); // did you mean …
 * ```
 */
export function findTask(nameOrPath: string, options: TaskRegistryOptions = {}): TaskConfig {
  if (looksLikePath(nameOrPath)) return taskAtPath(nameOrPath, options);
  const registry = taskRegistry(options);
  const task = registry.tasks.find((t) => t.name === nameOrPath);
  if (task) return task;
  const broken = registry.broken.get(nameOrPath);
  if (broken) throw copyError(broken);
  const members = registry.tags.get(nameOrPath);
  if (members) {
    throw new Error(
      `"${nameOrPath}" is a tag of ${members.length} task(s) (${members.join(", ")}), not one ` +
        `task; pass one of them, or expand the tag with resolveTasks (deno task eval --tasks ` +
        `${nameOrPath} runs them all)`,
    );
  }
  const names = registry.tasks.map((t) => t.name);
  const hint = closestName(nameOrPath, names);
  throw new Error(
    `unknown task "${nameOrPath}"${hint ? `; did you mean "${hint}"?` : ""} ` +
      `Available tasks (${displayPath(registry.dir)}): ${names.join(", ")}. ` +
      `Pass one of these names or a path to a task YAML file.`,
  );
}

/**
 * The tasks that `--tasks` names: each entry is a task name, a tag (expanded to its tasks,
 * sorted by name), or a path to a task YAML file. A task named more than once (directly or
 * through tags) is kept once, at its first place. Throws on an unknown name (with the closest
 * task or tag), on a skipped task (with its file's problems), and on two different files with the
 * same task name.
 *
 * @example
 * ```ts
 * import { resolveTasks } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const tasks = resolveTasks(["synth_qa", "synthetic"]);
 * assert.equal(tasks[0].name, "synth_qa");
 * assert.ok(tasks.some((t) => t.name === "synth_facts"));
 * ```
 */
export function resolveTasks(
  names: readonly string[],
  options: TaskRegistryOptions = {},
): TaskConfig[] {
  let registry: TaskRegistry | undefined;
  const out = new Map<string, TaskConfig>();
  const add = (task: TaskConfig) => {
    const other = out.get(task.name);
    if (other && other.file !== task.file) {
      throw new Error(
        `two different tasks are named "${task.name}": ${displayPath(other.file)} and ` +
          `${displayPath(task.file)}; rename one of them or pass only one`,
      );
    }
    if (!other) out.set(task.name, task);
  };
  for (const name of names) {
    if (looksLikePath(name)) {
      add(taskAtPath(name, options));
      continue;
    }
    registry ??= taskRegistry(options);
    const task = registry.tasks.find((t) => t.name === name);
    if (task) {
      add(task);
      continue;
    }
    const broken = registry.broken.get(name);
    if (broken) throw copyError(broken);
    const members = registry.tags.get(name);
    if (!members) throw unknownNameError(registry, name);
    for (const member of members) {
      const t = registry.tasks.find((x) => x.name === member);
      if (t) {
        add(t);
        continue;
      }
      throw new Error(
        `tag "${name}" includes task ${member}, which could not be loaded:\n` +
          `${registry.broken.get(member)!.message}\n` +
          `Fix that file, or name the tag's other tasks instead: ${
            members.filter((m) => m !== member).join(",")
          }`,
      );
    }
  }
  return [...out.values()];
}

/** A parse of `file`, reused while everything it depended on is unchanged. */
function cachedParse(file: string, options: ParseTaskOptions): Parsed {
  const key = `${file}\0${options.knownMetrics?.join(",") ?? ""}`;
  const hit = parsed.get(key);
  if (hit && hit.stamps.fresh()) return hit;
  const stamps = new FileStamps();
  let entry: Parsed;
  try {
    entry = { stamps, task: deepFreeze(parseTaskFileWith(file, stamps, options)) };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    const { name, tags } = peekTask(file, stamps);
    entry = { stamps, error, peek: { name, tags } };
  }
  parsed.set(key, entry);
  return entry;
}

/** A task file given by path: as written, or relative to the tasks folder. */
function taskAtPath(path: string, options: TaskRegistryOptions): TaskConfig {
  const candidates = [resolve(path), resolve(tasksDirOf(options), path)];
  const found = candidates.find(isFile);
  if (!found) {
    throw new Error(
      `task file ${path} not found (looked in ${candidates.map(displayPath).join(" and ")}); ` +
        `check the path, or pass a task name`,
    );
  }
  const parse = cachedParse(found, options);
  if (parse.error) throw copyError(parse.error);
  return parse.task!;
}

function looksLikePath(name: string): boolean {
  return /\.ya?ml$/i.test(name) || name.includes("/") || name.includes(sep);
}

/** The unknown-name error of {@linkcode resolveTasks}: tasks and tags, and the closest of either. */
function unknownNameError(registry: TaskRegistry, name: string): Error {
  const names = registry.tasks.map((t) => t.name);
  const tags = [...registry.tags.keys()];
  const hint = closestName(name, [...names, ...tags]);
  return new Error(
    `unknown task or tag "${name}"${hint ? `; did you mean "${hint}"?` : ""} ` +
      `Available tasks (${displayPath(registry.dir)}): ${names.join(", ")}. ` +
      `Tags: ${tags.join(", ") || "(none)"}. ` +
      `Pass task names, tags, or paths to task YAML files.`,
  );
}

/** Tag → task names, both sorted, each name once. */
function tagIndex(pairs: [string, string][]): Map<string, string[]> {
  const index = new Map<string, Set<string>>();
  for (const [tag, name] of pairs) index.set(tag, (index.get(tag) ?? new Set()).add(name));
  return new Map(
    [...index.keys()].sort((a, b) => a.localeCompare(b)).map((
      tag,
    ) => [tag, [...index.get(tag)!].sort((a, b) => a.localeCompare(b))]),
  );
}

/** The issues a skipped file is reported with. */
function issuesOf(file: string, error: Error): TaskIssue[] {
  if (error instanceof TaskFileError) return error.issues;
  return [issueAt(file, 1, 1, "", `could not be loaded (${error.message})`)];
}

/** The issue of one of several files defining the same task name, at its `task:` key. */
function duplicateIssue(parse: Parsed, same: TaskConfig[]): TaskIssue {
  const task = parse.task!;
  const others = same.filter((t) => t.file !== task.file).map((t) => displayPath(t.file));
  parse.taskAt ??= peekTask(task.file, parse.stamps).at;
  return issueAt(
    task.file,
    parse.taskAt.line,
    parse.taskAt.col,
    "task",
    `task name "${task.name}" is also defined in ${
      others.join(" and ")
    }; rename one of them (each is skipped until then)`,
  );
}

/** What looking up a task name defined by several files throws. */
function duplicateError(same: TaskConfig[]): Error {
  const files = same.map((t) => displayPath(t.file));
  const where = files.length === 2
    ? `twice: ${files[0]} and ${files[1]}`
    : `${files.length} times: ${files.join(", ")}`;
  return new Error(`task name "${same[0].name}" is defined ${where}; rename one of them`);
}

/** A fresh error with the same problems, so that each lookup throws its own. */
function copyError(error: Error): Error {
  return error instanceof TaskFileError
    ? new TaskFileError(error.issues)
    : new Error(error.message);
}

function tasksDirOf(options: TaskRegistryOptions): string {
  return options.tasksDir !== undefined
    ? resolve(options.tasksDir)
    : join(REPO_ROOT, DEFAULT_TASKS_DIR);
}

/** Task files under `dir`, in path order; `_` and `.` entries are skipped. */
function taskFiles(dir: string): string[] {
  const out: string[] = [];
  for (
    const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name)
    )
  ) {
    if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...taskFiles(full));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Freeze a parsed task and everything in it: cached tasks are shared by every caller. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
