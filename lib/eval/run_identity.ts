/**
 * What identifies an evaluation run: everything that decides which samples it writes. Two runs
 * with equal identities write the same `samples.jsonl`, so one may resume the other; a run whose
 * identity differs in any field must never reuse the other's samples.
 *
 * The identity is written to `<run folder>/run.json` when the run starts (before its first
 * sample) and checked by every later run in that folder. It holds:
 *
 * - `backend`: what the backend says decides its outputs ({@linkcode Backend.runIdentity}): for a
 *   GGUF model its file's SHA-256, each LoRA adapter's SHA-256 and scale, the scorer and the
 *   context size; for an HTTP endpoint its URL, model name and API.
 * - `tasks`: per task its name, version, a hash of its resolved config (templates, delimiters,
 *   metrics, generation settings…), a hash of the data it evaluates (the rendered items and the
 *   rows that failed to load) and of its few-shot pool, its effective `num_fewshot`, its
 *   few-shot seed and its generation settings.
 * - `limit`, the `num_fewshot` override and the `overflow` setting of the command line.
 *
 * A new field (a filter chain, an endpoint setting) goes into {@linkcode buildRunIdentity} or a
 * backend's `runIdentity`; {@linkcode diffRunIdentities} compares whatever is there, field by
 * field, so nothing else changes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diffRunIdentities, formatIdentityDifferences, type RunIdentity } from "./run_identity.ts";
 * const a: RunIdentity = { format: 1, backend: { model_sha256: "aa" }, tasks: [], limit: null, num_fewshot: null, overflow: "truncate" };
 * const b: RunIdentity = { ...a, num_fewshot: 2 };
 * const diffs = diffRunIdentities(a, b);
 * assert.deepEqual(diffs.map((d) => d.path), ["num_fewshot"]);
 * assert.match(formatIdentityDifferences(diffs), /num_fewshot: null → 2/);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RowError } from "../data/load.ts";
import type { Backend } from "./backend.ts";
import { hookIdentity, isFunctionRef, type RenderedDoc, type TaskConfig } from "./task/mod.ts";

/** The file in a run folder that holds its identity. */
export const RUN_IDENTITY_FILE = "run.json";

/** Version of the identity's layout; a folder written with another one is a different run. */
export const RUN_IDENTITY_FORMAT = 1;

/** What identifies one task within a run. */
export interface TaskIdentity {
  /** The task's name. */
  name: string;
  /** `metadata.version`. */
  version: number | string;
  /** SHA-256 of the resolved task config (includes applied, defaults filled, paths left out). */
  config_sha256: string;
  /** SHA-256 of the items evaluated (rendered) and the rows that failed to load. */
  data_sha256: string;
  /** SHA-256 of the few-shot pool (rendered); null at zero shots. */
  fewshot_sha256: string | null;
  /** Few-shot examples per item (the override, else the task's own). */
  num_fewshot: number;
  /** `fewshot_seed`. */
  fewshot_seed: number;
  /** `generation_kwargs` for generation tasks; null for the log-likelihood output types. */
  generation: Record<string, unknown> | null;
}

/** Everything that decides which samples a run writes. */
export interface RunIdentity {
  /** {@linkcode RUN_IDENTITY_FORMAT}. */
  format: number;
  /** The backend's own identity ({@linkcode Backend.runIdentity}). */
  backend: Record<string, unknown>;
  /** One entry per task, in run order. */
  tasks: TaskIdentity[];
  /** Items per task (`--limit`); null: every item. */
  limit: number | null;
  /** The `--num-fewshot` override; null: each task's own. */
  num_fewshot: number | null;
  /** What is done with a prompt longer than the model's window (`--overflow`). */
  overflow: "truncate" | "skip";
}

/** A task with what it will evaluate, as {@linkcode buildRunIdentity} needs it. */
export interface TaskIdentityInput {
  /** The task. */
  task: TaskConfig;
  /** The items it evaluates (after `limit`). */
  docs: RenderedDoc[];
  /** The few-shot pool (empty at zero shots). */
  pool: RenderedDoc[];
  /** Rows that could not be read or rendered. */
  errors: RowError[];
  /** Few-shot examples per item. */
  numFewshot: number;
}

/** Options for {@linkcode buildRunIdentity}. */
export interface RunIdentityOptions {
  /** Items per task. Default: null (every item). */
  limit?: number | null;
  /** The few-shot override. Default: null (each task's own). */
  numFewshot?: number | null;
  /** A prompt longer than the window: cut from the left, or the item skipped. Default: "truncate". */
  overflow?: "truncate" | "skip";
}

/**
 * The identity of a run of `backend` on `tasks`.
 *
 * @example
 * ```ts ignore
 * const identity = buildRunIdentity(backend, [{ task, docs, pool: [], errors: [], numFewshot: 0 }]);
 * ```
 */
export function buildRunIdentity(
  backend: Pick<Backend, "identity" | "runIdentity">,
  tasks: TaskIdentityInput[],
  options: RunIdentityOptions = {},
): RunIdentity {
  return {
    format: RUN_IDENTITY_FORMAT,
    backend: backend.runIdentity ?? backend.identity,
    tasks: tasks.map(taskIdentity),
    limit: options.limit ?? null,
    num_fewshot: options.numFewshot ?? null,
    overflow: options.overflow ?? "truncate",
  };
}

function taskIdentity(input: TaskIdentityInput): TaskIdentity {
  const { task } = input;
  const g = task.generationKwargs;
  return {
    name: task.name,
    version: task.version,
    config_sha256: sha256(canonicalJson(resolvedConfig(task))),
    data_sha256: sha256(canonicalJson({
      docs: input.docs,
      errors: input.errors.map((e) => e.row),
    })),
    fewshot_sha256: input.numFewshot > 0 ? sha256(canonicalJson(input.pool)) : null,
    num_fewshot: input.numFewshot,
    fewshot_seed: task.fewshotSeed,
    generation: task.outputType !== "generate_until" ? null : {
      until: g.until,
      max_gen_toks: g.maxGenToks,
      temperature: g.temperature,
      do_sample: g.doSample,
    },
  };
}

/**
 * The task config without where it lives (file paths, the raw YAML) or how it is listed (tags,
 * reference): moving a task folder or tagging a task keeps its identity. A Python hook counts as
 * its name and the hash of its folder's Python files; a builder's data files as their names.
 */
function resolvedConfig(task: TaskConfig): Record<string, unknown> {
  const { file: _f, includes: _i, yaml: _y, tags: _t, reference: _r, dataset, ...rest } = task;
  const { baseDir: _b, source: _s, dataFiles, ...data } = dataset;
  const files = dataFiles &&
    Object.fromEntries(
      Object.entries(dataFiles).map(([split, fs]) => [split, fs.map((f) => f.split("/").pop())]),
    );
  return withHookIdentities({
    ...rest,
    dataset: { ...data, ...(files ? { dataFiles: files } : {}) },
  });
}

/** `value` with each Python hook replaced by its path-independent identity. */
function withHookIdentities<T>(value: T): T {
  if (isFunctionRef(value)) return hookIdentity(value) as T;
  if (Array.isArray(value)) return value.map(withHookIdentities) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, withHookIdentities(v)]),
    ) as T;
  }
  return value;
}

/** One field that differs between two identities. */
export interface IdentityDifference {
  /** Dotted path of the field (`backend.adapters`, `tasks.synth_qa.data_sha256`). */
  path: string;
  /** Its value in the folder's run (undefined: absent). */
  was: unknown;
  /** Its value in this run (undefined: absent). */
  now: unknown;
}

/**
 * The fields in which two identities differ, in a stable order. Arrays of objects with a `name`
 * (the tasks) are compared by name; other arrays by position, or whole when their lengths differ.
 */
export function diffRunIdentities(was: RunIdentity, now: RunIdentity): IdentityDifference[] {
  const out: IdentityDifference[] = [];
  diffValue("", was, now, out);
  return out;
}

function diffValue(path: string, was: unknown, now: unknown, out: IdentityDifference[]): void {
  if (canonicalJson(was) === canonicalJson(now)) return;
  const join = (k: string) => (path ? `${path}.${k}` : k);
  if (Array.isArray(was) && Array.isArray(now)) {
    if (named(was) && named(now)) {
      const a = new Map(was.map((x) => [x.name, x]));
      const b = new Map(now.map((x) => [x.name, x]));
      const order = [...a.keys()].join("\u0000") !== [...b.keys()].join("\u0000");
      if (order && a.size === b.size && [...a.keys()].every((k) => b.has(k))) {
        out.push({ path, was: [...a.keys()], now: [...b.keys()] });
      }
      for (const k of new Set([...a.keys(), ...b.keys()])) {
        diffValue(join(k), a.get(k), b.get(k), out);
      }
      return;
    }
    if (was.length !== now.length) {
      out.push({ path, was, now });
      return;
    }
    was.forEach((x, i) => diffValue(join(String(i)), x, now[i], out));
    return;
  }
  if (isRecord(was) && isRecord(now)) {
    for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) {
      diffValue(join(k), was[k], now[k], out);
    }
    return;
  }
  out.push({ path, was, now });
}

function named(xs: unknown[]): xs is { name: string }[] {
  return xs.every((x) => isRecord(x) && typeof x.name === "string");
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * One line per difference: `path: was → now`, hashes shortened, absent values as `(absent)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIdentityDifferences } from "./run_identity.ts";
 * assert.equal(
 *   formatIdentityDifferences([{ path: "tasks.a", was: undefined, now: { name: "a" } }]),
 *   '  tasks.a: (absent) → {"name":"a",…}',
 * );
 * ```
 */
export function formatIdentityDifferences(diffs: IdentityDifference[]): string {
  return diffs.map((d) => `  ${d.path}: ${show(d.was)} → ${show(d.now)}`).join("\n");
}

const SHOWN_HASH_CHARS = 12;
const SHOWN_VALUE_CHARS = 160;

function show(value: unknown): string {
  if (value === undefined) return "(absent)";
  if (isRecord(value) && typeof value.name === "string") {
    return `{"name":${JSON.stringify(value.name)},…}`;
  }
  const text = JSON.stringify(
    value,
    (_k, v) =>
      typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? v.slice(0, SHOWN_HASH_CHARS) + "…" : v,
  );
  return text.length > SHOWN_VALUE_CHARS ? text.slice(0, SHOWN_VALUE_CHARS) + "…" : text;
}

/** What {@linkcode readRunIdentity} found in a folder. */
export type StoredIdentity =
  | { state: "none" }
  | { state: "unreadable"; message: string }
  | { state: "ok"; identity: RunIdentity };

/**
 * The identity stored in a run folder, if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRunIdentity } from "./run_identity.ts";
 * assert.equal(readRunIdentity(Deno.makeTempDirSync()).state, "none");
 * ```
 */
export function readRunIdentity(dir: string): StoredIdentity {
  const path = join(dir, RUN_IDENTITY_FILE);
  if (!existsSync(path)) return { state: "none" };
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8"));
    if (!isRecord(parsed) || !isRecord(parsed.identity)) throw new Error("no identity field");
    return { state: "ok", identity: parsed.identity as unknown as RunIdentity };
  } catch (e) {
    return { state: "unreadable", message: `${path}: ${(e as Error).message}` };
  }
}

/** Options for {@linkcode writeRunIdentity}. */
export interface WriteRunIdentityOptions {
  /** Fields written beside the identity for people to read (run name, start time). Default: none. */
  info?: Record<string, unknown>;
}

/**
 * Write a run's identity to its folder, atomically (a temporary file, then a rename).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRunIdentity, type RunIdentity, writeRunIdentity } from "./run_identity.ts";
 * const dir = Deno.makeTempDirSync();
 * const id: RunIdentity = { format: 1, backend: {}, tasks: [], limit: 5, num_fewshot: null, overflow: "skip" };
 * writeRunIdentity(dir, id, { info: { run: "demo" } });
 * assert.deepEqual(readRunIdentity(dir), { state: "ok", identity: id });
 * ```
 */
export function writeRunIdentity(
  dir: string,
  identity: RunIdentity,
  options: WriteRunIdentityOptions = {},
): void {
  const path = join(dir, RUN_IDENTITY_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...options.info, identity }, null, 2) + "\n");
  renameSync(tmp, path);
}

/**
 * Whether two identities are the same run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RunIdentity, sameRunIdentity } from "./run_identity.ts";
 * const a: RunIdentity = { format: 1, backend: { x: 1, y: 2 }, tasks: [], limit: null, num_fewshot: null, overflow: "truncate" };
 * assert.ok(sameRunIdentity(a, { ...a, backend: { y: 2, x: 1 } }));
 * ```
 */
export function sameRunIdentity(a: RunIdentity, b: RunIdentity): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => isRecord(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  ) ?? "undefined";
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
