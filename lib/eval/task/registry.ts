/**
 * The task registry: every task file under a tasks folder (`data/tasks` by default) and any
 * `includePath` folders (lm-eval's `--include_path`), indexed by task name, by tag and by group,
 * with each file parsed once.
 *
 * - **What is indexed** (lm-evaluation-harness's rules): every `*.yaml` file, in any subfolder. A
 *   file whose `task:` is a name is a task; one whose `task:` is a list is a group
 *   (`group.ts`); one with `class:` defines a Python task class, which is reported and skipped; a
 *   file with no `task:` is a base for `include:` — silently so when its name starts with `_`,
 *   reported otherwise (it is probably a task missing its name).
 * - **Cache.** A parse is kept per absolute path and reused while every file it read (the task
 *   file and its `include:` chain) has the same modification time and size, and every path whose
 *   existence it checked is still there or still missing.
 * - **Names.** `--tasks` entries are task names, tags (`tag:`, or `group:` in a task file: every
 *   task that has it, sorted by name), group names (the group's tasks in its order), globs of task
 *   names (`arithmetic_*`), paths to YAML files (a task or a group) and paths to folders (every
 *   task in them). A task name wins over a tag or group of the same name. A task in an
 *   `includePath` folder wins over a task of the same name in the tasks folder (reported in
 *   {@linkcode TaskRegistry.overridden}).
 * - **Broken files.** A file that does not validate, or a task name defined by two files of the
 *   same folder set, is skipped and reported in {@linkcode TaskRegistry.issues}; it never breaks
 *   the listing or the lookup of other tasks. Looking up the broken task itself throws its error.
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Document } from "yaml";
import { closestName } from "../../util/suggest.ts";
import { globToRegExp } from "../../util/glob.ts";
import { FileStamps } from "./_file_stamps.ts";
import { displayPath } from "./_format.ts";
import {
  type AggregateMetric,
  type GroupConfig,
  isGroupData,
  isPythonClassData,
  memberAt,
  parseGroup,
  pythonClassError,
} from "./group.ts";
import { formatIssue, issueAt, TaskFileError, type TaskIssue } from "./issues.ts";
import { parseTaskFileWith, type ParseTaskOptions } from "./parse.ts";
import type { TaskConfig } from "./schema.ts";
import {
  type MergedTask,
  mergeIncludes,
  peekTask,
  type Position,
  readYaml,
  type YamlSource,
} from "./source.ts";
import { validateTask } from "./validate.ts";

/** Where the registry looks for task files, relative to the repository root. */
const DEFAULT_TASKS_DIR = "data/tasks";

/** The repository root (three folders above this file). */
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Options for {@linkcode findTask}, {@linkcode resolveTasks}, {@linkcode listTasks} and {@linkcode taskRegistry}. */
export interface TaskRegistryOptions extends ParseTaskOptions {
  /** Folder holding task files (searched recursively). Default: `data/tasks` in the repository root. */
  tasksDir?: string;
  /**
   * More folders of task files (lm-eval's `--include_path`), searched recursively; their tasks and
   * groups win over those of the same name in `tasksDir`. Default: none.
   */
  includePath?: readonly string[];
}

/** The tasks of one folder set, as the registry sees them. */
export interface TaskRegistry {
  /** The tasks folder (absolute). */
  dir: string;
  /** Every folder searched: the tasks folder, then the include path (absolute). */
  dirs: string[];
  /** Every task that loaded, sorted by name. */
  tasks: TaskConfig[];
  /**
   * Each tag (`tag:` or `group:` of a task file), sorted, with the names of its tasks, sorted. A
   * skipped task whose tags could be read is listed under them too, so that expanding the tag
   * reports it.
   */
  tags: ReadonlyMap<string, readonly string[]>;
  /** Group files, by group name. */
  groups: ReadonlyMap<string, GroupConfig>;
  /** Problems of the files that were skipped, in file order (`file:line:col`, field, message). */
  issues: TaskIssue[];
  /** For each skipped task or group name, the error that looking it up throws. */
  broken: ReadonlyMap<string, Error>;
  /** Tasks of an include-path folder that replace a task of the same name from an earlier folder. */
  overridden: { name: string; file: string; replaced: string }[];
}

/** A group as selected by `--tasks`: its tasks (recursively, by name) and how it is scored. */
export interface GroupSelection {
  /** The group's name. */
  name: string;
  /** `group_alias`. */
  alias?: string;
  /** The group file. */
  file: string;
  /** Names of the tasks it runs, in order (subgroups' tasks included). */
  tasks: string[];
  /** Its `aggregate_metric_list`. */
  aggregate: AggregateMetric[];
  /** `metadata.version`. */
  version: number | string;
}

/** What {@linkcode resolveTaskSelection} returns. */
export interface TaskSelection {
  /** The tasks to run, each once, in order of first mention. */
  tasks: TaskConfig[];
  /** The groups named (directly or inside other groups), outermost first. */
  groups: GroupSelection[];
}

/** One cached parse: what it depended on, and its result. */
interface Parsed {
  stamps: FileStamps;
  task?: TaskConfig;
  group?: GroupConfig;
  error?: Error;
  /** A base for `include:` (no `task:`), not a task. */
  base?: boolean;
  /** Name and tags of a file that failed, read leniently. */
  peek?: { name: string; tags: string[] };
  /** Where its `task:` key is, once asked for (to report a duplicate name). */
  taskAt?: Position;
}

/** Parses by absolute path and accepted metrics. */
const parsed = new Map<string, Parsed>();

/**
 * Every task under the tasks folder (and the include path), sorted by name. Files that do not
 * load are skipped; see {@linkcode taskRegistry} for their issues.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listTasks } from "./mod.ts";
 * const names = listTasks().map((t) => t.name);
 * assert.equal(names[0], "arc_easy"); // then arithmetic_1dc, …
 * assert.deepEqual(names, [...names].sort());
 * assert.ok(!names.some((n) => n.startsWith("_")));
 * ```
 */
export function listTasks(options: TaskRegistryOptions = {}): TaskConfig[] {
  return taskRegistry(options).tasks;
}

/**
 * The tasks folders indexed: loaded tasks, tags, groups, and the issues of skipped files. Throws
 * only when a folder itself does not exist.
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
  const dirs = [dir, ...(options.includePath ?? []).map((d) => resolve(d))];
  for (const d of dirs) {
    if (!isDirectory(d)) {
      throw new Error(
        d === dir
          ? `tasks folder ${displayPath(d)} does not exist; create it or pass tasksDir`
          : `include path ${displayPath(d)} is not a folder; pass a folder of task YAML files`,
      );
    }
  }
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
  const tasks = new Map<string, TaskConfig>();
  const groups = new Map<string, GroupConfig>();
  const broken = new Map<string, Error>();
  const brokenTags = new Map<string, string[]>();
  const overridden: TaskRegistry["overridden"] = [];
  for (const folder of [...new Set(dirs)]) {
    const files = taskFiles(folder).map((file) => ({ file, parse: cachedParse(file, options) }))
      .filter(({ parse }) => !parse.base);
    const byName = new Map<string, Parsed[]>();
    for (const { parse } of files) {
      const name = parse.task?.name ?? parse.group?.name;
      if (name !== undefined) byName.set(name, [...(byName.get(name) ?? []), parse]);
    }
    const replace = (name: string, file: string) => {
      const old = tasks.get(name)?.file ?? groups.get(name)?.file;
      if (old !== undefined && old !== file) overridden.push({ name, file, replaced: old });
      tasks.delete(name);
      groups.delete(name);
      broken.delete(name);
      brokenTags.delete(name);
    };
    for (const { file, parse } of files) {
      const name = parse.task?.name ?? parse.group?.name;
      if (name !== undefined) {
        const same = byName.get(name)!;
        if (same.length > 1) {
          report([duplicateIssue(parse, same)]);
          continue;
        }
        replace(name, file);
        if (parse.task) tasks.set(name, parse.task);
        else groups.set(name, parse.group!);
        continue;
      }
      report(issuesOf(file, parse.error!));
      const { name: peekName, tags } = parse.peek!;
      if (byName.has(peekName)) continue;
      replace(peekName, file);
      broken.set(peekName, parse.error!);
      brokenTags.set(peekName, tags);
    }
    for (const [name, same] of byName) {
      if (same.length > 1) {
        tasks.delete(name);
        groups.delete(name);
        broken.set(name, duplicateError(same));
      }
    }
  }
  for (const [name, g] of groups) {
    if (tasks.has(name)) {
      report([
        issueAt(
          g.file,
          1,
          1,
          "group",
          `group name "${name}" is also a task (${displayPath(tasks.get(name)!.file)}); the task ` +
            `wins: rename the group`,
        ),
      ]);
      groups.delete(name);
    }
  }
  const tagged: [string, string][] = [];
  for (const t of tasks.values()) {
    tagged.push(...t.tags.map((tag): [string, string] => [tag, t.name]));
  }
  for (const [name, tags] of brokenTags) {
    tagged.push(...tags.map((tag): [string, string] => [tag, name]));
  }
  const sorted = [...tasks.values()].sort((a, b) => a.name.localeCompare(b.name));
  return {
    dir,
    dirs,
    tasks: sorted,
    tags: tagIndex(tagged),
    groups,
    issues,
    broken,
    overridden,
  };
}

/**
 * A task by name (looked up in the tasks folders) or by path to its YAML file. An unknown name
 * throws an error listing the available tasks and the closest match; a tag or group name throws
 * an error listing its tasks (use {@linkcode resolveTasks} to expand it); a task whose file was
 * skipped throws that file's problems.
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
  if (looksLikePath(nameOrPath)) {
    const found = taskAtPath(nameOrPath, options);
    if (found.task) return found.task;
    throw new Error(
      `${displayPath(found.file)} is group ${found.group!.name}, not one task; pass one of its ` +
        `tasks, or run the group with resolveTasks (deno task eval --tasks ${nameOrPath})`,
    );
  }
  const registry = taskRegistry(options);
  const task = registry.tasks.find((t) => t.name === nameOrPath);
  if (task) return task;
  const broken = registry.broken.get(nameOrPath);
  if (broken) throw copyError(broken);
  const members = registry.tags.get(nameOrPath) ??
    registry.groups.get(nameOrPath)?.members.map((m) => m.name);
  if (members) {
    const kind = registry.tags.has(nameOrPath) ? "tag" : "group";
    throw new Error(
      `"${nameOrPath}" is a ${kind} of ${members.length} task(s) (${
        members.join(", ")
      }), not one ` +
        `task; pass one of them, or expand the ${kind} with resolveTasks (deno task eval --tasks ` +
        `${nameOrPath} runs them all)`,
    );
  }
  const names = registry.tasks.map((t) => t.name);
  const hint = closestName(nameOrPath, names);
  throw new Error(
    `unknown task "${nameOrPath}"${hint ? `; did you mean "${hint}"?` : ""} ` +
      `Available tasks (${registry.dirs.map(displayPath).join(", ")}): ${names.join(", ")}. ` +
      `Pass one of these names or a path to a task YAML file.`,
  );
}

/**
 * The tasks that `--tasks` names (see the module doc: names, tags, groups, globs, YAML files,
 * folders). A task named more than once (directly or through tags and groups) is kept once, at its
 * first place. Throws on an unknown name (with the closest task, tag or group), on a skipped task
 * (with its file's problems), and on two different files with the same task name.
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
  return resolveTaskSelection(names, options).tasks;
}

/**
 * {@linkcode resolveTasks}, also giving the groups that were named, so that their scores can be
 * reported (lm-eval's `aggregate_metric_list`).
 *
 * @example
 * ```ts
 * import { resolveTaskSelection } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const { tasks, groups } = resolveTaskSelection(["synth_qa"]);
 * assert.deepEqual([tasks.length, groups.length], [1, 0]);
 * ```
 */
export function resolveTaskSelection(
  names: readonly string[],
  options: TaskRegistryOptions = {},
): TaskSelection {
  let registry: TaskRegistry | undefined;
  const out = new Map<string, TaskConfig>();
  const groups: GroupSelection[] = [];
  const add = (task: TaskConfig): string => {
    const other = out.get(task.name);
    if (other && other.file !== task.file) {
      throw new Error(
        `two different tasks are named "${task.name}": ${displayPath(other.file)} and ` +
          `${displayPath(task.file)}; rename one of them or pass only one`,
      );
    }
    if (!other) out.set(task.name, task);
    return task.name;
  };
  const expandGroup = (reg: TaskRegistry, group: GroupConfig, stack: string[]): string[] => {
    if (stack.includes(group.name)) {
      throw new Error(
        `group ${group.name} includes itself (${[...stack, group.name].join(" -> ")}); fix ` +
          `${displayPath(group.file)}`,
      );
    }
    const selection: GroupSelection = {
      name: group.name,
      file: group.file,
      tasks: [],
      aggregate: group.aggregate,
      version: group.version,
      ...(group.alias !== undefined ? { alias: group.alias } : {}),
    };
    groups.push(selection);
    for (const member of group.members) {
      if (member.kind === "name") {
        try {
          selection.tasks.push(...resolveName(reg, member.name, [...stack, group.name]));
        } catch (e) {
          throw new Error(
            `${memberAt(group, member)}: group ${group.name} lists "${member.name}": ${
              (e as Error).message
            }`,
          );
        }
      } else selection.tasks.push(add(inlineTask(reg, group, member, options)));
    }
    return selection.tasks;
  };
  const resolveName = (reg: TaskRegistry, name: string, stack: string[]): string[] => {
    const task = reg.tasks.find((t) => t.name === name);
    if (task) return [add(task)];
    const broken = reg.broken.get(name);
    if (broken) throw copyError(broken);
    const group = reg.groups.get(name);
    if (group) return expandGroup(reg, group, stack);
    const members = reg.tags.get(name);
    if (members) {
      return members.map((member) => {
        const t = reg.tasks.find((x) => x.name === member);
        if (t) return add(t);
        throw new Error(
          `tag "${name}" includes task ${member}, which could not be loaded:\n` +
            `${reg.broken.get(member)!.message}\n` +
            `Fix that file, or name the tag's other tasks instead: ${
              members.filter((m) => m !== member).join(",")
            }`,
        );
      });
    }
    if (/[*?[]/.test(name)) {
      const re = globToRegExp(name);
      const hits = reg.tasks.filter((t) => re.test(t.name));
      if (hits.length) return hits.map(add);
      throw new Error(
        `"${name}" matches no task name; the tasks are ${reg.tasks.map((t) => t.name).join(", ")}`,
      );
    }
    throw unknownNameError(reg, name);
  };
  for (const name of names) {
    if (looksLikePath(name)) {
      const path = [resolve(name), resolve(tasksDirOf(options), name)].find(isDirectory);
      if (path) {
        const reg = taskRegistry({ ...options, tasksDir: path, includePath: [] });
        if (reg.issues.length) {
          // the folder is the selection: running its other tasks silently would hide the problem
          throw new Error(
            `folder ${displayPath(path)}: ${reg.broken.size || reg.issues.length} task file(s) ` +
              `could not be loaded:\n${reg.issues.map(formatIssue).join("\n")}\nFix them, or ` +
              `name the folder's other tasks instead: ${reg.tasks.map((t) => t.name).join(",")}`,
          );
        }
        if (!reg.tasks.length) {
          throw new Error(`folder ${displayPath(path)} holds no task YAML files`);
        }
        reg.tasks.forEach(add);
        continue;
      }
      const found = taskAtPath(name, options);
      if (found.task) add(found.task);
      else {
        const reg = taskRegistry({
          ...options,
          includePath: [...(options.includePath ?? []), dirname(found.file)],
        });
        expandGroup(reg, found.group!, []);
      }
      continue;
    }
    registry ??= taskRegistry(options);
    resolveName(registry, name, []);
  }
  return { tasks: [...out.values()], groups };
}

/** A group's `- task: name` entry with keys of its own: the named task changed, or a new task. */
function inlineTask(
  reg: TaskRegistry,
  group: GroupConfig,
  member: Extract<GroupConfig["members"][number], { kind: "inline" }>,
  options: TaskRegistryOptions,
): TaskConfig {
  const base = reg.tasks.find((t) => t.name === member.name);
  const entry = entrySource(group, member.path, member.data);
  const stamps = new FileStamps();
  const merged: MergedTask = base
    ? mergeIncludes(base.file, stamps)
    : { file: group.file, top: entry, data: {}, owners: new Map(), includes: [] };
  if (!base && reg.broken.has(member.name)) throw copyError(reg.broken.get(member.name)!);
  for (const [k, v] of Object.entries(member.data)) {
    if (base && k === "task") continue;
    merged.data[k] = v;
    merged.owners.set(k, entry);
  }
  return validateTask(merged, stamps, options);
}

/** A view of one mapping inside a group file, so that its keys are positioned where they are. */
function entrySource(
  group: GroupConfig,
  path: (string | number)[],
  data: Record<string, unknown>,
): YamlSource {
  let node: unknown = group.source.doc.contents;
  for (const seg of path) {
    node = (node as { get(k: unknown, keep: boolean): unknown }).get(seg, true);
  }
  const doc = new Document();
  doc.contents = node as Document["contents"];
  return { file: group.file, doc, lines: group.source.lines, data };
}

/** A parse of `file`, reused while everything it depended on is unchanged. */
function cachedParse(file: string, options: ParseTaskOptions): Parsed {
  const key = `${file}\0${options.knownMetrics?.join(",") ?? ""}`;
  const hit = parsed.get(key);
  if (hit && hit.stamps.fresh()) return hit;
  const stamps = new FileStamps();
  let entry: Parsed;
  const underscore = basename(file).startsWith("_");
  let src: YamlSource | undefined;
  try {
    src = readYaml(file, stamps);
  } catch {
    if (underscore) {
      entry = { stamps, base: true };
      parsed.set(key, entry);
      return entry;
    }
  }
  try {
    if (src && isGroupData(src.data)) entry = { stamps, group: deepFreezeGroup(parseGroup(src)) };
    else if (src && isPythonClassData(src.data)) throw pythonClassError(src);
    else if (underscore && src && src.data.task === undefined) entry = { stamps, base: true };
    else entry = { stamps, task: deepFreeze(parseTaskFileWith(file, stamps, options)) };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    const { name, tags } = peekTask(file, stamps);
    entry = { stamps, error, peek: { name, tags } };
  }
  parsed.set(key, entry);
  return entry;
}

/** A task or group file given by path: as written, or relative to the tasks folder. */
function taskAtPath(
  path: string,
  options: TaskRegistryOptions,
): { file: string; task?: TaskConfig; group?: GroupConfig } {
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
  if (parse.base) {
    throw new TaskFileError([
      issueAt(
        found,
        1,
        1,
        "task",
        "this file has no task: key (a base for include:); add task: my_task",
      ),
    ]);
  }
  return { file: found, task: parse.task, group: parse.group };
}

function looksLikePath(name: string): boolean {
  return /\.ya?ml$/i.test(name) || name.includes("/") || name.includes(sep);
}

/** The unknown-name error of {@linkcode resolveTasks}: tasks, tags, groups, and the closest. */
function unknownNameError(registry: TaskRegistry, name: string): Error {
  const names = registry.tasks.map((t) => t.name);
  const tags = [...registry.tags.keys()];
  const groups = [...registry.groups.keys()].sort((a, b) => a.localeCompare(b));
  const hint = closestName(name, [...names, ...tags, ...groups]);
  return new Error(
    `unknown task or tag "${name}"${hint ? `; did you mean "${hint}"?` : ""} ` +
      `Available tasks (${registry.dirs.map(displayPath).join(", ")}): ${names.join(", ")}. ` +
      `Tags: ${tags.join(", ") || "(none)"}. ` +
      (groups.length ? `Groups: ${groups.join(", ")}. ` : "") +
      `Pass task names, tags, groups, or paths to task YAML files or folders.`,
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

/** The file a parse is of. */
function fileOf(parse: Parsed): string {
  return parse.task?.file ?? parse.group!.file;
}

/** The issue of one of several files defining the same name, at its `task:` key. */
function duplicateIssue(parse: Parsed, same: Parsed[]): TaskIssue {
  const file = fileOf(parse);
  const name = parse.task?.name ?? parse.group!.name;
  const others = same.filter((t) => fileOf(t) !== file).map((t) => displayPath(fileOf(t)));
  parse.taskAt ??= peekTask(file, parse.stamps).at;
  return issueAt(
    file,
    parse.taskAt.line,
    parse.taskAt.col,
    parse.task ? "task" : "group",
    `${parse.task ? "task" : "group"} name "${name}" is also defined in ${
      others.join(" and ")
    }; rename one of them (each is skipped until then)`,
  );
}

/** What looking up a name defined by several files throws. */
function duplicateError(same: Parsed[]): Error {
  const files = same.map((t) => displayPath(fileOf(t)));
  const name = same[0].task?.name ?? same[0].group!.name;
  const where = files.length === 2
    ? `twice: ${files[0]} and ${files[1]}`
    : `${files.length} times: ${files.join(", ")}`;
  return new Error(
    `${same[0].task ? "task" : "group"} name "${name}" is defined ${where}; rename one of them`,
  );
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

/** Task files under `dir`, in path order; `.` entries are skipped. */
function taskFiles(dir: string): string[] {
  const out: string[] = [];
  for (
    const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name)
    )
  ) {
    if (entry.name.startsWith(".")) continue;
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

/** Freeze a group's own fields (its parsed YAML document stays mutable: yaml needs it to be). */
function deepFreezeGroup(group: GroupConfig): GroupConfig {
  deepFreeze(group.members);
  deepFreeze(group.aggregate);
  return Object.freeze(group);
}
