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
import { type Backend, createLlamaBackend, type LlamaBackendOptions } from "../eval/backend.ts";
import { type EvalOptions, type EvalResults, runEval } from "../eval/runner.ts";
import { measureThroughputs, type Throughput, type ThroughputOptions } from "../eval/throughput.ts";
import { requirePath } from "./params.ts";

/** Options for {@linkcode evaluateModel}. */
export interface EvaluateModelOptions extends EvalOptions {
  /** Backend settings (LoRA adapters, sequences, threads). Default: createLlamaBackend's. */
  backend?: LlamaBackendOptions;
  /**
   * In `outDir`: resume or return this same run, start another run over (see
   * {@linkcode evaluateModel}). Default: true.
   */
  reuse?: boolean;
}

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
 * With `reuse` (the default) and an `outDir`, a folder holding this same run (the run identity:
 * model and adapter hashes, tasks and their data, limit, few-shot…) resumes it, or, complete, is
 * returned as it is — so notebooks that evaluate the same model twice pay once, and the first
 * evaluation's tokens/s stands; a folder holding another run (a re-run after fine-tuning again,
 * say) is started over, not resumed: its items belong to a different model.
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
  const reusing = reuse && evalOptions.outDir !== undefined;
  return await evaluateBackend(await createLlamaBackend(model, backend), {
    ...(reusing ? { otherRun: "replace" as const, reuseComplete: true } : {}),
    ...evalOptions,
  });
}

/** Options for {@linkcode measureModelThroughputs}. */
export interface ModelThroughputOptions extends ThroughputOptions {
  /** The workload's tasks (the evaluation's own, for a figure beside its scores). Default: runEval's suite. */
  tasks?: string[];
  /** Backend settings (LoRA adapters, sequences, threads), as the evaluation used. Default: createLlamaBackend's. */
  backend?: LlamaBackendOptions;
  /**
   * Load every model at once and let them take turns pass by pass (a change in the machine's
   * load then hits them alike), or measure one model at a time (models that do not fit in
   * memory together). Default: true.
   */
  together?: boolean;
}

/**
 * GGUF models' steady-state throughput, one result each in their order (`measureThroughputs`:
 * untimed warm-up, then timed passes over the first items of `tasks`, median and min–max), each on
 * a backend of its own, disposed after — what the notebooks' throughput tables and figures show,
 * measured the same way for every model they compare. A missing model file fails with what to
 * run first.
 *
 * @example
 * ```ts ignore
 * import { measureModelThroughputs } from "tunebook/notebook/mod.ts";
 * const [base, tuned] = await measureModelThroughputs(
 *   ["data/models/tiny/tiny-f32.gguf", "results/train/nb-tiny/merged/merged.gguf"],
 *   { tasks: ["synth_qa"] },
 * );
 * console.log(base.tokensPerSecond, tuned.tokensPerSecond);
 * ```
 */
export async function measureModelThroughputs(
  models: readonly string[],
  options: ModelThroughputOptions = {},
): Promise<Throughput[]> {
  for (const model of models) {
    requirePath(model, {
      param: "model",
      producer: "`deno task build:tiny` (the bundled model) or the notebook that writes it",
    });
  }
  const { tasks, backend: backendOptions, together = true, ...throughput } = options;
  const groups = together ? [models] : models.map((m) => [m]);
  const out: Throughput[] = [];
  for (const group of groups) {
    const backends: Backend[] = [];
    try {
      for (const m of group) backends.push(await createLlamaBackend(m, backendOptions));
      out.push(...await measureThroughputs(backends, tasks, throughput));
    } finally {
      for (const b of backends) await b.dispose();
    }
  }
  return out;
}
