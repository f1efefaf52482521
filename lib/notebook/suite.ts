/**
 * The evaluation behind notebooks/04_evaluate.ipynb: base, fine-tuned, quantized and API models
 * on the same tasks and items, one run folder each, then the report manifest that ties them
 * together (which runs, which pairs to compare, which training run) for notebooks/05_report.ipynb
 * and `deno task plots`.
 *
 * @example
 * ```ts ignore
 * import { evaluateSuite } from "./suite.ts";
 * const manifest = await evaluateSuite({
 *   base: "data/models/tiny/tiny-f32.gguf",
 *   tuned: "results/train/nb-tiny/merged/merged.gguf",
 *   quantized: ["results/notebooks/models/merged-q4_k_m.gguf"],
 * }, { tasks: ["synth_qa"], limit: 40 });
 * ```
 * @module
 */
import type { LlamaBackendOptions } from "../eval/backend.ts";
import { createOpenAIBackend, type OpenAIBackendOptions } from "../eval/openai_backend.ts";
import {
  DEFAULT_REPORT,
  readQuantCard,
  type ReportManifest,
  type ReportRun,
  writeReportManifest,
} from "../plots/report.ts";
import {
  evaluateBackend,
  evaluateModel,
  measureModelThroughputs,
  type ModelThroughputOptions,
} from "./evaluate.ts";
import { requirePath } from "./params.ts";

/** An OpenAI-compatible model to evaluate next to the GGUF models. */
export interface ApiModel extends OpenAIBackendOptions {
  /** Name in legends and the run folder's suffix. */
  label: string;
}

/** The models of a suite. */
export interface SuiteModels {
  /** The base GGUF. */
  base: string;
  /** The fine-tuned GGUF (merged), or null. */
  tuned?: string | null;
  /** Quantized GGUFs of the fine-tuned model (each with its `<file>.json` card). Default: none. */
  quantized?: string[];
  /** API models. Default: none. */
  api?: ApiModel[];
}

/** Options for {@linkcode evaluateSuite}. */
export interface SuiteOptions {
  /** Tasks for the GGUF models. Default: runEval's default suite. */
  tasks?: string[];
  /** Tasks for API models (generate_until only: APIs give no log-probabilities of given text). Default: `tasks`. */
  apiTasks?: string[];
  /** Items per task. Default: all. */
  limit?: number;
  /** Run folders are `<prefix>-base`, `-tuned`, `-tuned-<type>`, `-<api label>`. Default: "results/eval/nb". */
  prefix?: string;
  /** The training run folder (events.jsonl) to record, or null. Default: null. */
  train?: string | null;
  /** Where the manifest goes. Default: "results/notebooks/report.json". */
  report?: string;
  /** Backend settings of the GGUF models (threads, sequences). Default: createLlamaBackend's. */
  backend?: LlamaBackendOptions;
  /**
   * Steady-state throughput of the GGUF models after their evaluations
   * (`measureModelThroughputs` on the suite's tasks and backend settings: every model loaded at
   * once, taking turns pass by pass, unless `together: false`), recorded in the manifest for the
   * figures; null to skip it (the figures then show each evaluation's single-pass tokens/s).
   * Default: `{}` (20 items per task, 1 warm-up, 3 timed passes, together).
   */
  throughput?: Pick<ModelThroughputOptions, "items" | "warmup" | "repeats" | "together"> | null;
  /** Called before each model is evaluated. Default: a line on stdout. */
  onModel?: (run: ReportRun) => void;
}

/**
 * Evaluate every model of a suite (reusing run folders that already hold the same model's items),
 * measure each GGUF model's steady-state throughput (fresh on every call: a reused run's
 * single-pass tokens/s is from another time and load), and write the report manifest: runs in
 * order base, tuned, quantized, API; comparisons tuned − base and each quantized − tuned (or −
 * base without a tuned model). Returns the manifest.
 *
 * @example
 * ```ts ignore
 * import { evaluateSuite } from "./suite.ts";
 * await evaluateSuite({ base: "data/models/tiny/tiny-f32.gguf" }, { tasks: ["synth_facts"], limit: 20 });
 * ```
 */
export async function evaluateSuite(
  models: SuiteModels,
  options: SuiteOptions = {},
): Promise<ReportManifest> {
  const {
    tasks,
    limit,
    prefix = "results/eval/nb",
    train = null,
    report = DEFAULT_REPORT,
    throughput = {},
    onModel = (run) => console.log(`evaluating ${run.label} → ${run.dir}`),
  } = options;
  const producers = {
    base: "`deno task build:tiny` (the bundled model)",
    tuned: "notebooks/02_finetune.ipynb",
    quantized: "notebooks/03_quantize.ipynb",
  };
  const plan: { run: ReportRun; model?: string; api?: ApiModel }[] = [];
  plan.push({
    run: { label: "base", kind: "base", dir: `${prefix}-base` },
    model: requirePath(models.base, { param: "base_model", producer: producers.base }),
  });
  let reference = "base";
  if (models.tuned) {
    plan.push({
      run: { label: "tuned", kind: "finetuned", dir: `${prefix}-tuned` },
      model: requirePath(models.tuned, { param: "tuned_model", producer: producers.tuned }),
    });
    reference = "tuned";
  }
  const referenceRun = plan.at(-1)!.run;
  for (const path of models.quantized ?? []) {
    const card = readQuantCard(path);
    referenceRun.quant ??= {
      type: card.source_type.toLowerCase(),
      bits_per_weight: card.source_bits_per_weight,
      bytes: card.source_bytes,
    };
    const label = `${reference}-${card.type}`;
    plan.push({
      run: {
        label,
        kind: "quantized",
        dir: `${prefix}-${label}`,
        quant: { type: card.type, bits_per_weight: card.bits_per_weight, bytes: card.bytes },
      },
      model: path,
    });
  }
  for (const api of models.api ?? []) {
    plan.push({ run: { label: api.label, kind: "api", dir: `${prefix}-${api.label}` }, api });
  }
  const labels = plan.map((p) => p.run.label);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) {
    throw new Error(
      `evaluateSuite: two models are labelled "${dup}"; give API models other labels`,
    );
  }
  for (const { run, model, api } of plan) {
    onModel(run);
    if (model) {
      await evaluateModel(model, { tasks, limit, outDir: run.dir, backend: options.backend });
    } else {
      const { label: _label, ...backend } = api!;
      await evaluateBackend(createOpenAIBackend(backend), {
        tasks: options.apiTasks ?? tasks,
        limit,
        outDir: run.dir,
      });
    }
  }
  const local = plan.filter((p) => p.model !== undefined);
  if (throughput && local.length) {
    const measured = await measureModelThroughputs(local.map((p) => p.model!), {
      ...throughput,
      tasks,
      backend: options.backend,
    });
    local.forEach((p, i) => (p.run.throughput = measured[i]));
  }
  const comparisons = plan.slice(1).filter((p) => p.run.kind !== "api").map((p) => ({
    a: p.run.kind === "finetuned" ? "base" : reference,
    b: p.run.label,
  }));
  const manifest: ReportManifest = {
    created: new Date().toISOString(),
    runs: plan.map((p) => p.run),
    comparisons,
    train,
  };
  writeReportManifest(report, manifest);
  return manifest;
}
