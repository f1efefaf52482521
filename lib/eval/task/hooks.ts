/**
 * Python hooks of lm-eval task files, `!function module.fn`: `process_docs` (the dataset's rows to
 * the rows rendered), `doc_to_text` / `doc_to_target` / `doc_to_choice` (one value per row) and
 * `process_results` (one row's metrics from the model's results), run through the Python bridge
 * (python/tunebook/lm_eval_hooks.py) as lm-eval runs them: the module is loaded from the task's
 * own folder and `import datasets` gets tunebook's stand-in (python/tunebook/datasets_stand_in.py).
 *
 * **Cache.** `process_docs` and the per-row hooks are cached on disk by content hash: of the rows
 * given, the function's name, every `*.py` file in the module's folder, and tunebook's own Python
 * side. Running a task again with the same data and code starts no Python at all; an edited
 * `utils.py` is run again.
 *
 * **Errors.** A hook that cannot run — its module file is missing, it imports a module that is not
 * installed, it lacks the function — throws a {@linkcode HookError} naming the task file's line,
 * the module and the fix. A hook that raises on one row fails that row only.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { PYTHON_DIR } from "../../util/python.ts";
import { displayPath } from "./_format.ts";
import { type HookAnswer, type HookFailureInfo, HookProcess } from "./_hook_process.ts";
import type { HookResult } from "./render.ts";
import type { FunctionRef, TaskConfig } from "./schema.ts";

/** Version of the request format and of what a cache entry holds; part of every cache key. */
const HOOK_CACHE_VERSION = 1;

/** tunebook's Python side of the hooks: a change to these files invalidates the cache. */
const RUNNER_FILES = ["tunebook/lm_eval_hooks.py", "tunebook/datasets_stand_in.py"];

/** Options for running hooks. */
export interface HookOptions {
  /** Python interpreter. Default: env `TUNEBOOK_PYTHON`, else `/usr/bin/python3`, else `python3`. */
  python?: string;
  /**
   * Folder of the hook cache. Default: env `TUNEBOOK_HOOK_CACHE`, else
   * `$XDG_CACHE_HOME/tunebook/hooks`, else `~/.cache/tunebook/hooks`.
   */
  cacheDir?: string;
  /** Use and fill the cache. Default: true. */
  cache?: boolean;
}

/** A hook that cannot run at all (missing module, missing import, missing function, …). */
export class HookError extends Error {
  /** The hook. */
  readonly ref: FunctionRef;
  /** For a missing import: the module Python could not import. */
  readonly missingModule?: string;
  /** Create the error. */
  constructor(ref: FunctionRef, message: string, missingModule?: string) {
    super(message);
    this.name = "HookError";
    this.ref = ref;
    this.missingModule = missingModule;
  }
}

/**
 * The hook cache folder: `TUNEBOOK_HOOK_CACHE`, else `$XDG_CACHE_HOME/tunebook/hooks`, else
 * `~/.cache/tunebook/hooks`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hookCacheDir } from "./hooks.ts";
 * assert.equal(hookCacheDir({ cacheDir: "/tmp/h" }), "/tmp/h");
 * ```
 */
export function hookCacheDir(options: Pick<HookOptions, "cacheDir"> = {}): string {
  return options.cacheDir ?? Deno.env.get("TUNEBOOK_HOOK_CACHE") ??
    join(Deno.env.get("XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "tunebook", "hooks");
}

/** What one batch of hook calls for a split asks for. */
export interface DocHookRequest {
  /** `process_docs`, when the task has one. */
  processDocs?: FunctionRef;
  /** Per-row hooks, by field. */
  fields: Partial<Record<"doc_to_text" | "doc_to_target" | "doc_to_choice", FunctionRef>>;
}

/** What {@linkcode runDocHooks} gives back. */
export interface DocHookResults {
  /** The rows after `process_docs` (the input rows when there is none). */
  rows: Record<string, unknown>[];
  /** Per field, one result per row of `rows` (limited to `limit` rows). */
  fields: Partial<Record<"doc_to_text" | "doc_to_target" | "doc_to_choice", HookResult[]>>;
  /** Whether every result came from the cache (no Python was started). */
  cached: boolean;
}

/**
 * Run a task's `process_docs` on a split's rows, then its per-row hooks on (the first `limit` of)
 * the rows that result, in one Python process, with the cache. Throws {@linkcode HookError} for a
 * hook that cannot run, or a `process_docs` that raises.
 *
 * @example
 * ```ts ignore
 * const out = await runDocHooks(task, rows, { processDocs: task.processDocs, fields: {} });
 * ```
 */
export async function runDocHooks(
  task: TaskConfig,
  rows: Record<string, unknown>[],
  request: DocHookRequest,
  options: HookOptions & { limit?: number } = {},
): Promise<DocHookResults> {
  let proc: HookProcess | undefined;
  let cached = true;
  const call = async (ref: FunctionRef, op: string, payload: Record<string, unknown>) => {
    const key = cacheKey(ref, op, payload);
    const hit = options.cache === false ? undefined : readCache(options, key);
    if (hit) return hit;
    cached = false;
    proc ??= await HookProcess.start(options.python);
    const answer = await proc.request({ op, module: ref.module, function: ref.name, ...payload });
    if (!answer.ok) throw hookError(task, ref, answer.error!, proc.python);
    if (options.cache !== false) writeCache(options, key, answer);
    return answer;
  };
  try {
    let processed = rows;
    if (request.processDocs) {
      const answer = await call(request.processDocs, "process_docs", { rows });
      processed = answer.rows as Record<string, unknown>[];
    }
    const limited = options.limit === undefined ? processed : processed.slice(0, options.limit);
    const fields: DocHookResults["fields"] = {};
    for (const [field, ref] of Object.entries(request.fields)) {
      if (!ref) continue;
      const answer = await call(ref, "map_docs", { rows: limited });
      fields[field as keyof DocHookResults["fields"]] = answer.values as HookResult[];
    }
    return { rows: processed, fields, cached };
  } finally {
    await (proc as HookProcess | undefined)?.close();
  }
}

/** A task's `process_results` hook, kept running while a task is evaluated. */
export interface ResultsHook {
  /** The metrics the hook gives one row (its doc and the model's results), or the error it raised. */
  score(doc: Record<string, unknown>, results: unknown[]): Promise<HookResult>;
  /** Stop the Python process. */
  close(): Promise<void>;
}

/**
 * Start a task's `process_results` hook. `results` are what lm-eval passes: for
 * `generate_until` the generations (`[text]`), for `multiple_choice` one `[loglikelihood,
 * is_greedy]` pair per choice, for `loglikelihood` one pair, for `loglikelihood_rolling`
 * `[loglikelihood]`.
 *
 * @example
 * ```ts ignore
 * const hook = await openResultsHook(task);
 * try {
 *   const { value } = await hook.score(doc.row!, ["Denver Broncos"]);
 * } finally {
 *   await hook.close();
 * }
 * ```
 */
export async function openResultsHook(
  task: TaskConfig,
  options: HookOptions = {},
): Promise<ResultsHook> {
  const ref = task.processResults;
  if (!ref) throw new Error(`task ${task.name} has no process_results hook`);
  const proc = await HookProcess.start(options.python);
  return {
    async score(doc, results) {
      const answer: HookAnswer = await proc.request({
        op: "process_results",
        module: ref.module,
        function: ref.name,
        items: [{ doc, results }],
      });
      if (!answer.ok) throw hookError(task, ref, answer.error!, proc.python);
      return answer.values![0] as HookResult;
    },
    close: () => proc.close(),
  };
}

/**
 * The metrics a `process_results` hook returned, one per metric of the task's `metric_list`
 * (lm-eval reports those; other keys are dropped): numbers (`True` counts 1) go to `values`,
 * `(loglikelihood, count)` pairs — wikitext's `(loglikelihood, words)` — to `pairs`, for the
 * perplexity aggregations. A metric the hook did not return, or another kind of value, throws an
 * error saying which.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hookMetrics } from "./hooks.ts";
 * import { findTask } from "./mod.ts";
 * const task = findTask("squad_completion");
 * assert.deepEqual(hookMetrics(task, { contains: true, other: 3 }), { values: { contains: 1 }, pairs: {} });
 * ```
 */
export function hookMetrics(
  task: TaskConfig,
  value: unknown,
): { values: Record<string, number>; pairs: Record<string, [number, number]> } {
  const ref = task.processResults;
  const where = ref
    ? `process_results hook ${ref.spec} (${basename(ref.module)})`
    : "process_results";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`task ${task.name}: ${where} returned ${typeof value}; it must return a dict`);
  }
  const values: Record<string, number> = {};
  const pairs: Record<string, [number, number]> = {};
  const got = value as Record<string, unknown>;
  for (const { metric } of task.metrics) {
    if (!Object.hasOwn(got, metric)) {
      throw new Error(
        `task ${task.name}: ${where} returned no "${metric}" (it returned ${
          Object.keys(got).join(", ") || "nothing"
        }); metric_list names the metrics it must return`,
      );
    }
    const v = got[metric];
    if (typeof v === "number") values[metric] = v;
    else if (typeof v === "boolean") values[metric] = v ? 1 : 0;
    else if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) {
      pairs[metric] = [v[0], v[1]];
    } else {
      throw new Error(
        `task ${task.name}: ${where} returned ${JSON.stringify(v)} for "${metric}"; tunebook ` +
          `aggregates numbers (mean or median over items) and (loglikelihood, count) pairs ` +
          `(word_perplexity, byte_perplexity, bits_per_byte)`,
      );
    }
  }
  return { values, pairs };
}

/** The message of a hook that cannot run: where it is named, what is wrong, what to do. */
function hookError(
  task: TaskConfig,
  ref: FunctionRef,
  info: HookFailureInfo,
  python: string,
): HookError {
  const at = `${
    displayPath(ref.file)
  }:${ref.line}:${ref.col}: task ${task.name}: !function ${ref.spec}`;
  const module = displayPath(ref.module);
  switch (info.kind) {
    case "import": {
      const missing = info.module ?? "?";
      const top = missing.split(".")[0];
      const fix = top === "lm_eval"
        ? `it imports lm-evaluation-harness itself, which tunebook does not install (it needs no ` +
          `lm_eval; tunebook's stand-in covers \`datasets\`): install lm-eval into ${python} ` +
          `(pip install lm-eval), or remove that import from ${basename(ref.module)}`
        : `install it into ${python} (Debian: apt-get install python3-${top}; else ` +
          `${python} -m pip install ${top}), or set TUNEBOOK_PYTHON to a Python that has it`;
      return new HookError(
        ref,
        `${at}: ${module} imports "${missing}"${info.where ? ` (${info.where})` : ""}, which ` +
          `${python} cannot import; ${fix}`,
        missing,
      );
    }
    case "no_module_file":
      return new HookError(
        ref,
        `${at}: ${module} not found; !function ${ref.spec} names ${basename(ref.module)} next to ` +
          `${displayPath(ref.file)} (as lm-eval looks it up): add the file or fix the name`,
      );
    case "no_function":
      return new HookError(
        ref,
        `${at}: ${module} has no function ${ref.name}; it has ${
          info.available?.length ? info.available.join(", ") : "no functions"
        }`,
      );
    case "module_error":
      return new HookError(
        ref,
        `${at}: importing ${module} failed: ${info.type}: ${info.message}${
          info.where ? ` (at ${info.where})` : ""
        }; fix ${basename(ref.module)}`,
      );
    case "exception":
      return new HookError(
        ref,
        `${at}: ${ref.name} raised ${info.type}: ${info.message}${
          info.where ? ` (at ${info.where})` : ""
        }; fix ${basename(ref.module)} or the data`,
      );
    default:
      return new HookError(ref, `${at}: ${info.message}`);
  }
}

/**
 * What identifies a hook wherever its folder lives: `module.fn` and the SHA-256 of the Python
 * files next to it (so an edited `utils.py` is a different hook).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hookIdentity } from "./hooks.ts";
 * const ref = { kind: "function" as const, spec: "utils.f", module: "/nowhere/utils.py", name: "f", file: "/nowhere/t.yaml", line: 1, col: 1 };
 * assert.equal(hookIdentity(ref).spec, "utils.f");
 * ```
 */
export function hookIdentity(ref: FunctionRef): { spec: string; sources_sha256: string } {
  return { spec: ref.spec, sources_sha256: moduleFolderHash(ref) };
}

// ---------------------------------------------------------------------------------------------
// Cache
// ---------------------------------------------------------------------------------------------

let runnerHash: string | undefined;

/** SHA-256 of tunebook's Python hook runner and stand-in. */
function runnerFilesHash(): string {
  if (runnerHash === undefined) {
    const h = createHash("sha256");
    for (const f of RUNNER_FILES) h.update(f).update(readFileSync(join(PYTHON_DIR, f)));
    runnerHash = h.digest("hex");
  }
  return runnerHash;
}

/** SHA-256 of every `*.py` file in the hook module's folder (names and contents). */
function moduleFolderHash(ref: FunctionRef): string {
  const dir = dirname(ref.module);
  const h = createHash("sha256");
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".py")).sort();
  } catch {
    // a missing folder: the hook fails when run, and the key still differs from a present one
  }
  for (const n of names) {
    h.update(n).update("\0");
    try {
      h.update(readFileSync(join(dir, n)));
    } catch {
      h.update("unreadable");
    }
  }
  return h.digest("hex");
}

function cacheKey(ref: FunctionRef, op: string, payload: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify({
      v: HOOK_CACHE_VERSION,
      runner: runnerFilesHash(),
      sources: moduleFolderHash(ref),
      module: basename(ref.module),
      fn: ref.name,
      op,
    }))
    .update(JSON.stringify(payload, (_k, v) => typeof v === "bigint" ? v.toString() : v))
    .digest("hex");
}

function readCache(options: HookOptions, key: string): HookAnswer | undefined {
  try {
    const text = readFileSync(join(hookCacheDir(options), key.slice(0, 2), `${key}.json`), "utf8");
    return JSON.parse(
      text,
      (_k, v) =>
        typeof v === "object" && v !== null && "__float__" in v && Object.keys(v).length === 1
          ? (v.__float__ === "nan" ? NaN : v.__float__ === "inf" ? Infinity : -Infinity)
          : v,
    ) as HookAnswer;
  } catch {
    return undefined;
  }
}

function writeCache(options: HookOptions, key: string, answer: HookAnswer): void {
  const dir = join(hookCacheDir(options), key.slice(0, 2));
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${key}.json`);
    const tmp = `${file}.${Deno.pid}.tmp`;
    writeFileSync(
      tmp,
      JSON.stringify(
        answer,
        (_k, v) =>
          typeof v === "number" && !Number.isFinite(v)
            ? { __float__: Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf" }
            : v,
      ),
    );
    renameSync(tmp, file);
  } catch {
    // an unwritable cache only costs time: the hook runs again next time
  }
}
