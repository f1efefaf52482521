/**
 * A notebook's parameters cell ({@linkcode notebookParams}, overridden by
 * `deno task notebooks --set key=value`) and the checks of the paths it names, whose errors say
 * what to run first ({@linkcode requirePath}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookParams } from "./params.ts";
 * const params = notebookParams({ model: "data/models/tiny/tiny-f32.gguf", limit: 40 }, { env: {} });
 * assert.equal(params.limit, 40);
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";

/** Environment variable with parameter overrides (JSON), set by `deno task notebooks --set`. */
export const PARAMS_ENV = "TUNEBOOK_NB_PARAMS";

/** A parameter or input that is wrong; the message says what to do. */
export class NotebookInputError extends Error {
  /**
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NotebookInputError } from "./params.ts";
   * const e = new NotebookInputError("limit must be a number");
   * assert.equal(e.name, "NotebookInputError");
   * assert.ok(e instanceof Error);
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "NotebookInputError";
  }
}

/** Options for {@linkcode notebookParams}. */
export interface NotebookParamsOptions {
  /** Where overrides come from. Default: `Deno.env` (variable {@linkcode PARAMS_ENV}). */
  env?: Record<string, string | undefined>;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  return Array.isArray(v) ? "array" : typeof v;
}

/**
 * A notebook's parameters: `defaults` (the tiny model), overridden by the JSON object in
 * {@linkcode PARAMS_ENV} when `deno task notebooks --set key=value` runs it. An unknown key or a
 * value of another type than the default's throws, listing the parameters. A default of `null`
 * accepts anything.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookParams } from "./params.ts";
 * const p = notebookParams({ tasks: ["synth_qa"], limit: 40 }, { env: { TUNEBOOK_NB_PARAMS: '{"limit": 100}' } });
 * assert.deepEqual(p, { tasks: ["synth_qa"], limit: 100 });
 * ```
 */
export function notebookParams<T extends Record<string, unknown>>(
  defaults: T,
  options: NotebookParamsOptions = {},
): T {
  const env = options.env ?? Deno.env.toObject();
  const raw = env[PARAMS_ENV];
  if (!raw) return { ...defaults };
  let overrides: Record<string, unknown>;
  try {
    overrides = JSON.parse(raw);
  } catch (e) {
    throw new NotebookInputError(
      `${PARAMS_ENV}: not valid JSON (${(e as Error).message}); pass --set key=value to ` +
        `deno task notebooks`,
    );
  }
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults)) {
      throw new NotebookInputError(
        `parameter "${key}" is not one of this notebook's: ${Object.keys(defaults).join(", ")}`,
      );
    }
    const want = kind(defaults[key]);
    if (want !== "null" && kind(value) !== want) {
      throw new NotebookInputError(
        `parameter "${key}": expected ${want} like ${JSON.stringify(defaults[key])}, got ` +
          `${JSON.stringify(value)}`,
      );
    }
    out[key] = value;
  }
  return out as T;
}

/** Options for {@linkcode requirePath}. */
export interface RequirePathOptions {
  /** The parameter that names the path (quoted in the message). */
  param: string;
  /** What to run to create it, e.g. "notebooks/02_finetune.ipynb" or "`deno task build:tiny`". */
  producer: string;
  /** What the path must be. Default: "file". */
  kind?: "file" | "dir";
}

/**
 * Throw a {@linkcode NotebookInputError} unless `path` exists (as a file or folder); the message
 * names the parameter and what to run first. Returns the path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotebookInputError, requirePath } from "./params.ts";
 * const options = { param: "TRAIN_RUN", producer: "notebooks/02_finetune.ipynb", kind: "dir" as const };
 * assert.throws(() => requirePath("results/train/none", options), NotebookInputError);
 * assert.throws(() => requirePath("results/train/none", options), {
 *   message: 'TRAIN_RUN = "results/train/none": no such folder. Run notebooks/02_finetune.ipynb ' +
 *     "first (it writes it), or set TRAIN_RUN in the parameters cell to an existing folder.",
 * });
 * ```
 */
export function requirePath(path: string, options: RequirePathOptions): string {
  const { param, producer, kind = "file" } = options;
  const ok = existsSync(path) &&
    (kind === "dir" ? statSync(path).isDirectory() : statSync(path).isFile());
  if (!ok) {
    throw new NotebookInputError(
      `${param} = ${JSON.stringify(path)}: no such ${kind === "dir" ? "folder" : "file"}. ` +
        `Run ${producer} first (it writes it), or set ${param} in the parameters cell to an ` +
        `existing ${kind === "dir" ? "folder" : "file"}.`,
    );
  }
  return path;
}
