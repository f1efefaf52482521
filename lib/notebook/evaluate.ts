/**
 * Evaluation from a notebook: a backend run and disposed of ({@linkcode evaluateBackend}), or a
 * GGUF model whose earlier complete run in the same folder is reused ({@linkcode evaluateModel}).
 *
 * @example
 * ```ts ignore
 * import { evaluateModel } from "./evaluate.ts";
 * const results = await evaluateModel("data/models/tiny/tiny-f32.gguf", {
 *   tasks: ["synth_qa"], limit: 40, outDir: "results/eval/nb-base",
 * });
 * ```
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Backend, createLlamaBackend, type LlamaBackendOptions } from "../eval/backend.ts";
import { DEFAULT_SUITE, type EvalOptions, type EvalResults, runEval } from "../eval/runner.ts";
import { findTask } from "../eval/task/mod.ts";
import { fileSha256 } from "../util/file_hash.ts";
import { requirePath } from "./params.ts";

/** Options for {@linkcode evaluateModel}. */
export interface EvaluateModelOptions extends EvalOptions {
  /** Backend settings (LoRA adapters, sequences, threads). Default: createLlamaBackend's. */
  backend?: LlamaBackendOptions;
  /** Return a complete earlier run of the same model and settings in `outDir` as it is. Default: true. */
  reuse?: boolean;
}

/** runEval's default seed (results.json config.seed when none is given). */
const DEFAULT_EVAL_SEED = 1234;

/**
 * Evaluate a backend with `runEval` (no progress bar by default) and dispose of it, also on
 * failure.
 *
 * @example
 * ```ts ignore
 * import { createOpenAIBackend } from "tunebook/mod.ts";
 * import { evaluateBackend } from "tunebook/notebook/mod.ts";
 * const results = await evaluateBackend(createOpenAIBackend({ baseUrl, model: "gpt-4o-mini" }), {
 *   tasks: ["synth_arithmetic"], limit: 50, outDir: "results/eval/nb-gpt-4o-mini",
 * });
 * ```
 */
export async function evaluateBackend(
  backend: Backend,
  options: EvalOptions = {},
): Promise<EvalResults> {
  try {
    return await runEval(backend, { progress: false, ...options });
  } finally {
    await backend.dispose();
  }
}

/**
 * Evaluate a GGUF model (plus LoRA adapters) in-process: `createLlamaBackend` + `runEval`, then
 * dispose. A missing model file fails with what to run first.
 *
 * A run folder whose complete results.json already holds this model (same SHA-256, adapters,
 * tasks, limit, few-shot and seed) is returned as it is — so notebooks that evaluate the same model
 * twice pay once, and the first evaluation's tokens/s stands (a fully resumed run would measure
 * none). Otherwise `runEval` runs, resuming any items already in the folder.
 *
 * @example
 * ```ts ignore
 * import { evaluateModel } from "tunebook/notebook/mod.ts";
 * const results = await evaluateModel("data/models/tiny/tiny-f32.gguf", {
 *   tasks: ["synth_qa"], limit: 40, outDir: "results/eval/nb-base",
 * });
 * ```
 */
export async function evaluateModel(
  model: string,
  options: EvaluateModelOptions = {},
): Promise<EvalResults> {
  requirePath(model, {
    param: "model",
    producer: "`deno task build:tiny` (the bundled model) or the notebook that writes it",
  });
  const { backend, reuse = true, ...evalOptions } = options;
  if (reuse && evalOptions.outDir) {
    const previous = await previousRun(model, evalOptions.outDir, options);
    if (previous.state === "same" && previous.finished) return previous.results;
    // A notebook's run folder left by another model (a re-run after fine-tuning again, say) is
    // replaced, not resumed: its items belong to a different model.
    if (previous.state === "stale") evalOptions.resume = false;
  }
  return await evaluateBackend(await createLlamaBackend(model, backend), evalOptions);
}

/** How a run folder's results.json relates to an evaluation about to run. */
type PreviousRun =
  | { state: "none" }
  /** Unreadable, or another model, adapters, few-shot or seed: its items cannot be resumed. */
  | { state: "stale" }
  /** The same model and settings; `finished` when complete with the same tasks and limit. */
  | { state: "same"; results: EvalResults; finished: boolean };

async function previousRun(
  model: string,
  dir: string,
  options: EvaluateModelOptions,
): Promise<PreviousRun> {
  const file = join(dir, "results.json");
  if (!existsSync(file)) return { state: "none" };
  let r: EvalResults;
  try {
    r = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return { state: "stale" };
  }
  const lora = (options.backend?.lora ?? []).map((a) => ({ path: a.path, scale: a.scale ?? 1 }));
  const sameModel = r.model?.sha256 === await fileSha256(model) &&
    JSON.stringify(r.model?.lora ?? []) === JSON.stringify(lora) &&
    r.config?.numFewshot === (options.numFewshot ?? null) &&
    r.config?.seed === (options.seed ?? DEFAULT_EVAL_SEED);
  if (!sameModel) return { state: "stale" };
  const tasks = (options.tasks ?? DEFAULT_SUITE).map((t) =>
    findTask(t, { tasksDir: options.tasksDir }).name
  );
  const finished = !!r.complete &&
    JSON.stringify(r.config?.tasks) === JSON.stringify(tasks) &&
    r.config?.limit === (options.limit ?? null);
  return { state: "same", results: r, finished };
}
