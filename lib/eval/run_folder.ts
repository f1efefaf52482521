/**
 * Where an evaluation run is written, and whether it may reuse what a folder holds.
 *
 * - A run name (`--run NAME`) is a folder under `results/eval`; a name that leads outside it
 *   (`../x`, `/abs`) is refused.
 * - Without a name, the run goes to `results/eval/<model>[+<adapter>…]`. If that folder holds
 *   another run (another identity), it is left alone and the run goes to the first of
 *   `<name>-2`, `<name>-3`, … that is free or holds this same run. Repeating a command so
 *   resumes (or, complete, re-reports) its own run, and never overwrites a different one.
 * - With a name, a folder holding another run is an error naming the fields that differ, unless
 *   `resume` is off (`--no-resume`): then its samples and results are discarded.
 * - The folder is locked ({@linkcode lockRunFolder}) for as long as the run writes it, and its
 *   identity ({@linkcode RunIdentity}) is written before the first sample.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkRunName, RunNameError } from "./run_folder.ts";
 * assert.equal(checkRunName("base-lora", "results/eval"), "results/eval/base-lora");
 * assert.throws(() => checkRunName("../../x", "results/eval"), RunNameError);
 * ```
 * @module
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Backend } from "./backend.ts";
import {
  diffRunIdentities,
  formatIdentityDifferences,
  readRunIdentity,
  type RunIdentity,
  sameRunIdentity,
  writeRunIdentity,
} from "./run_identity.ts";
import { lockRunFolder, type RunLock } from "./run_lock.ts";

/** The folder run names live in. */
export const EVAL_RESULTS_ROOT = join("results", "eval");

/** Files of a run folder. */
export const RUN_FILES = { samples: "samples.jsonl", results: "results.json" } as const;

/** A run name that would write outside the results folder, or is empty. */
export class RunNameError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "RunNameError";
  }
}

/** The run folder holds another run, and reusing it would mix the two. */
export class RunMismatchError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "RunMismatchError";
  }
}

/**
 * The folder of run `name` under `root`, or a {@linkcode RunNameError} when the name is empty or
 * leads outside `root`. Subfolders (`exp1/base`) are allowed.
 */
export function checkRunName(name: string, root: string = EVAL_RESULTS_ROOT): string {
  const dir = join(root, name);
  const rel = relative(resolve(root), resolve(dir));
  if (
    !name.trim() || isAbsolute(name) || rel === "" || rel === ".." || rel.startsWith(`..${sep}`)
  ) {
    throw new RunNameError(
      `run name "${name}": ${
        name.trim() ? `leads outside ${root} (to ${resolve(dir)})` : "is empty"
      }; a run name is a folder under ${root}: use a plain name such as base-lora (or exp1/base)`,
    );
  }
  return dir;
}

/**
 * The default run name of a backend: its model file's name without `.gguf`, plus `+<adapter>`
 * per LoRA adapter (the API model's name for an HTTP backend).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultRunName } from "./run_folder.ts";
 * const identity = { model: "data/models/tiny/tiny-f32.gguf", lora: [{ path: "out/lora.gguf" }] };
 * assert.equal(defaultRunName({ identity }), "tiny-f32+lora");
 * ```
 */
export function defaultRunName(backend: Pick<Backend, "identity">): string {
  const base = (p: unknown) => String(p).split(/[\\/]/).pop()!.replace(/\.gguf$/, "");
  const model = base(backend.identity.model ?? "model");
  const adapters = (backend.identity.lora as { path: string }[] | undefined) ?? [];
  return `${model}${adapters.map((a) => "+" + base(a.path)).join("")}`.replace(/[:]/g, "_");
}

/** Options for {@linkcode openRunFolder}. */
export interface OpenRunFolderOptions {
  /** Run name (a folder under `root`). Default: {@linkcode defaultRunName}, made unique. */
  run?: string;
  /** The folder itself, instead of `root/run` (its name is then taken as given). Default: none. */
  outDir?: string;
  /** The default run name (used when neither `run` nor `outDir` is given). Default: "run". */
  defaultName?: string;
  /** Reuse the samples of a folder holding this same run; off: start it over. Default: true. */
  resume?: boolean;
  /**
   * A named folder (`run`, `outDir`) holding another run: `"error"` throws
   * {@linkcode RunMismatchError}, `"replace"` starts it over. Default: `"error"`.
   */
  otherRun?: "error" | "replace";
  /** The folder run names live in. Default: {@linkcode EVAL_RESULTS_ROOT}. */
  root?: string;
  /** Fields written beside the identity in run.json (run name, start time). Default: none. */
  info?: Record<string, unknown>;
  /** Where notes go (a folder skipped, a stale lock taken over). Default: `console.error`. */
  onNote?: (line: string) => void;
}

/** An opened, locked run folder. */
export interface OpenedRun {
  /** The run's name. */
  run: string;
  /** Its folder. */
  dir: string;
  /** Whether the samples already in the folder belong to this run and may be reused. */
  resume: boolean;
  /** The folder's lock; release it when the run ends. */
  lock: RunLock;
}

/**
 * Choose, lock and prepare the folder of a run with `identity` (see the module doc for the
 * rules). Throws {@linkcode RunNameError} for a bad name, {@linkcode RunMismatchError} when a
 * named folder holds another run, and `RunLockedError` when another process writes it.
 */
export function openRunFolder(
  identity: RunIdentity,
  options: OpenRunFolderOptions = {},
): OpenedRun {
  const { resume = true, root = EVAL_RESULTS_ROOT, onNote = console.error } = options;
  const replace = options.otherRun === "replace";
  const claim = (run: string, dir: string, explicit: boolean) =>
    claimFolder(dir, identity, { run, resume, explicit, replace, info: options.info, onNote });
  if (options.outDir !== undefined) {
    const run = options.run ?? (options.outDir.split(/[\\/]/).filter(Boolean).pop() ?? "run");
    return claim(run, options.outDir, true)!;
  }
  if (options.run !== undefined) return claim(options.run, checkRunName(options.run, root), true)!;
  const base = options.defaultName ?? "run";
  const skipped: string[] = [];
  for (let k = 1;; k++) {
    const run = k === 1 ? base : `${base}-${k}`;
    const dir = checkRunName(run, root);
    const other = otherRun(dir, identity);
    if (other) {
      skipped.push(`${dir} holds another run (${other})`);
      continue;
    }
    const opened = claim(run, dir, false);
    if (!opened) continue;
    if (skipped.length) {
      const MAX_SHOWN = 2;
      const more = skipped.length > MAX_SHOWN ? `; ${skipped.length - MAX_SHOWN} more` : "";
      onNote(
        `note: ${skipped.slice(0, MAX_SHOWN).join("; ")}${more}; this run goes to ${dir} ` +
          `(--run NAME chooses the folder)`,
      );
    }
    return opened;
  }
}

interface ClaimOptions {
  run: string;
  resume: boolean;
  explicit: boolean;
  replace: boolean;
  info?: Record<string, unknown>;
  onNote: (line: string) => void;
}

/** Lock `dir` and make it this run's; undefined (lock released) when it holds another run. */
function claimFolder(
  dir: string,
  identity: RunIdentity,
  o: ClaimOptions,
): OpenedRun | undefined {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new RunNameError(`${dir} is a file, not a run folder; choose another --run name`);
  }
  mkdirSync(dir, { recursive: true });
  const lock = lockRunFolder(dir, { onNote: o.onNote });
  try {
    const stored = readRunIdentity(dir);
    const same = stored.state === "ok" && sameRunIdentity(stored.identity, identity);
    const empty = stored.state === "none" && !holdsRunData(dir);
    if (!same && !empty) {
      if (!o.explicit) {
        lock.release();
        return undefined;
      }
      if (o.resume && !o.replace) {
        throw new RunMismatchError(mismatchMessage(dir, stored, identity));
      }
    }
    const resume = same && o.resume;
    if (!resume) {
      writeFileSync(join(dir, RUN_FILES.samples), "");
      rmSync(join(dir, RUN_FILES.results), { force: true });
    }
    if (!same) writeRunIdentity(dir, identity, { info: { run: o.run, ...o.info } });
    return { run: o.run, dir, resume, lock };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** Why `dir` cannot hold this run (a short list of what differs), or undefined when it can. */
function otherRun(dir: string, identity: RunIdentity): string | undefined {
  if (!existsSync(dir)) return undefined;
  if (!statSync(dir).isDirectory()) return "a file";
  const stored = readRunIdentity(dir);
  if (stored.state === "none") return holdsRunData(dir) ? "results without a run.json" : undefined;
  if (stored.state === "unreadable") return "an unreadable run.json";
  const diffs = diffRunIdentities(stored.identity, identity);
  if (!diffs.length) return undefined;
  const fields = [
    ...new Set(
      diffs.map((d) => d.path.split(".").slice(0, d.path.startsWith("backend.") ? 2 : 1).join(".")),
    ),
  ];
  const MAX_FIELDS = 4;
  return `it differs in ${fields.slice(0, MAX_FIELDS).join(", ")}` +
    (fields.length > MAX_FIELDS ? ", …" : "");
}

function holdsRunData(dir: string): boolean {
  const samples = join(dir, RUN_FILES.samples);
  return existsSync(join(dir, RUN_FILES.results)) ||
    (existsSync(samples) && statSync(samples).size > 0);
}

function mismatchMessage(
  dir: string,
  stored: ReturnType<typeof readRunIdentity>,
  identity: RunIdentity,
): string {
  const what = stored.state === "ok"
    ? `holds another run; reusing its samples would mix the two. It differs in:\n${
      formatIdentityDifferences(diffRunIdentities(stored.identity, identity))
    }\n`
    : stored.state === "unreadable"
    ? `holds a run whose identity cannot be read (${stored.message}). `
    : `holds results without a run identity (no run.json: an older tunebook wrote them), so ` +
      `they cannot be checked against this run. `;
  return `${dir} ${what}Evaluate into a new folder with --run NEW, or pass --no-resume to ` +
    `discard this folder's samples and results and start over.`;
}
