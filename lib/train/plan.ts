/**
 * What a fine-tuning run will do before anything loads: `deno task finetune --dry-run`.
 *
 * The plan comes from the trainer itself (python/tunebook/plan.py, the same function that writes
 * the run's first event, `plan`), so the dry run and the run cannot disagree: the dtype of each
 * part, 4-bit, gradient checkpointing, micro batch × accumulation, the LoRA's trainable
 * parameters, and an estimate of the peak memory torch allocates, read from the base model's
 * config.json (a folder, or a Hub id already in the Hugging Face cache). It needs Python but not
 * torch, transformers or the model's weights, and it writes nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTrainPlan, type TrainPlan } from "./plan.ts";
 * const plan: TrainPlan = {
 *   backend: "hf",
 *   base_model: "m",
 *   dtypes: { frozen_base: "fp16", lora_weights: "fp32" },
 *   load_in_4bit: false,
 *   gradient_checkpointing: true,
 *   micro_batch: 2,
 *   grad_accum: 8,
 *   effective_batch: 16,
 *   max_seq_len: 1024,
 *   packing: false,
 *   lora: { r: 16, alpha: 32, dropout: 0.05, target_modules: ["q_proj"] },
 *   notes: [],
 *   model: null,
 * };
 * assert.match(formatTrainPlan(plan), /micro batch × accumulation\s+2 × 8 = 16 rows a step/);
 * ```
 * @module
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TrainConfig } from "./config.ts";
import { runPython } from "./python.ts";

/** The resolved plan of a run, as python/tunebook/plan.py's `build_plan` writes it. */
export interface TrainPlan {
  /** "torch" or "hf". */
  backend: string;
  /** The base model as the config names it. */
  base_model: string;
  /** Part → dtype: frozen_base, embeddings_and_lm_head, lora_weights, optimizer_state, activations, loss. */
  dtypes: Record<string, string>;
  /** The frozen base is loaded in 4-bit NF4. */
  load_in_4bit: boolean;
  /** Activations are recomputed in backward. */
  gradient_checkpointing: boolean;
  /** Rows per micro batch. */
  micro_batch: number;
  /** Micro batches per optimizer step. */
  grad_accum: number;
  /** micro_batch × grad_accum. */
  effective_batch: number;
  /** Longest row, in tokens. */
  max_seq_len: number;
  /** Rows are packed. */
  packing: boolean;
  /** LoRA settings, with trainable_params when the model's config is known. */
  lora: {
    r: number;
    alpha: number;
    dropout: number;
    target_modules: string[];
    trainable_params?: number;
  };
  /** What the plan could not do, or warns about. */
  notes: string[];
  /** The model's shape (null: its config.json was not found; then there is no memory estimate). */
  model: {
    model_type: string;
    parameters: number;
    layers: number;
    hidden_size: number;
    vocab_size: number;
  } | null;
  /** Estimated GB by part (weights, lora_and_optimizer, activations, logits) and their sum, peak. */
  memory_gb?: Record<string, number>;
  /** What the estimate assumes. */
  memory_basis?: string;
  /** The GPU memory the estimate was compared with. */
  gpu_memory_gb?: number;
}

/** Options for {@linkcode planTrainRun}. */
export interface PlanTrainRunOptions {
  /** Compare the estimate with a GPU of this many GB (a T4: 15). Default: none (this machine's GPU when it has one is not probed). */
  gpuMemoryGb?: number;
}

/**
 * The plan of a run with `config` (validated by resolveTrainConfig), from the trainer's own
 * planner; loads nothing and writes nothing but a temporary copy of the config.
 *
 * @example
 * ```ts ignore
 * const plan = await planTrainRun(resolveTrainConfig({ preset: "colab-t4", overrides }));
 * console.log(formatTrainPlan(plan));
 * ```
 */
export async function planTrainRun(
  config: TrainConfig,
  options: PlanTrainRunOptions = {},
): Promise<TrainPlan> {
  const staging = mkdtempSync(join(tmpdir(), "tunebook-plan-"));
  try {
    const path = join(staging, "config.json");
    const base = existsSync(config.base_model) ? resolve(config.base_model) : config.base_model;
    writeFileSync(path, JSON.stringify({ ...config, base_model: base }, null, 2) + "\n");
    const args = [path];
    if (options.gpuMemoryGb !== undefined) {
      args.push("--gpu-memory-gb", String(options.gpuMemoryGb));
    }
    const { stdout } = await runPython("plan", args, { modules: ["json"] });
    const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
    if (!line) throw new Error(`python -m tunebook.plan printed no plan:\n${stdout}`);
    const { event: _event, ...plan } = JSON.parse(line);
    return { ...plan, base_model: config.base_model } as TrainPlan;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Part names as the table shows them. */
const PART_NAMES: Record<string, string> = {
  frozen_base: "frozen base",
  embeddings_and_lm_head: "embeddings, lm_head",
  lora_weights: "LoRA weights",
  optimizer_state: "optimizer state",
  activations: "activations",
  loss: "loss",
  weights: "weights",
  lora_and_optimizer: "LoRA + gradients + AdamW",
  logits: "logits (+ fp32 loss copy)",
  peak: "peak (sum)",
};

/** The plan as the two-column table `deno task finetune --dry-run` prints. */
export function formatTrainPlan(plan: TrainPlan): string {
  const rows: [string, string][] = [];
  const m = plan.model;
  rows.push(["backend", plan.backend]);
  rows.push([
    "base model",
    m
      ? `${plan.base_model} (${m.model_type}, ${
        formatCount(m.parameters)
      } parameters, ${m.layers} layers, hidden ${m.hidden_size}, vocab ${m.vocab_size})`
      : plan.base_model,
  ]);
  for (const [part, dtype] of Object.entries(plan.dtypes)) {
    rows.push([`dtype: ${PART_NAMES[part] ?? part}`, dtype]);
  }
  rows.push(["4-bit base (NF4)", plan.load_in_4bit ? "yes (bitsandbytes)" : "no"]);
  rows.push(["gradient checkpointing", plan.gradient_checkpointing ? "on" : "off"]);
  rows.push([
    "micro batch × accumulation",
    `${plan.micro_batch} × ${plan.grad_accum} = ${plan.effective_batch} rows a step`,
  ]);
  rows.push(["max_seq_len", `${plan.max_seq_len} tokens${plan.packing ? " (packed)" : ""}`]);
  const l = plan.lora;
  rows.push([
    "LoRA",
    `r ${l.r}, alpha ${l.alpha}, dropout ${l.dropout} on ${l.target_modules.join(", ")}` +
    (l.trainable_params !== undefined ? ` (${formatCount(l.trainable_params)} trainable)` : ""),
  ]);
  if (plan.memory_gb) {
    for (const [part, gb] of Object.entries(plan.memory_gb)) {
      rows.push([`memory: ${PART_NAMES[part] ?? part}`, `${gb.toFixed(2)} GB`]);
    }
    if (plan.gpu_memory_gb !== undefined) {
      rows.push(["GPU memory (given)", `${plan.gpu_memory_gb.toFixed(2)} GB`]);
    }
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`);
  if (plan.memory_basis) lines.push(`  (${plan.memory_basis})`);
  for (const note of plan.notes) lines.push(`note: ${note}`);
  return [`plan (nothing loaded):`, ...lines].join("\n");
}

/** 1262720 → "1.26M", 7241732096 → "7.24B". */
function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}
