/**
 * The fine-tuning config: typed, validated, with documented defaults and named presets.
 * It is what the Python trainer (python/tunebook/finetune.py) reads, after validation here,
 * so a typo fails before any Python starts.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { resolveTrainConfig } from "./config.ts";
 * const cfg = resolveTrainConfig({
 *   preset: "tiny-cpu",
 *   overrides: { train_file: "rows.jsonl", output_dir: "results/train/demo", max_steps: 50 },
 * });
 * strictEqual(cfg.backend, "torch"); // the preset's
 * strictEqual(cfg.lora.r, 8); // the preset's
 * strictEqual(cfg.max_steps, 50); // the override
 * ```
 * @module
 */
import { z } from "zod";
import { closestName } from "../util/suggest.ts";

/** LoRA settings. */
export interface LoraConfig {
  /** Rank. */
  r: number;
  /** Scale numerator: the update is (alpha / r) · B·A. */
  alpha: number;
  /** Dropout on the LoRA input. */
  dropout: number;
  /** Names of the Linear layers to adapt (Llama: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj). */
  target_modules: string[];
}

/** The full trainer config (field names as python/tunebook/finetune.py reads them). */
export interface TrainConfig {
  /** "torch": pure-torch Llama on CPU; "hf": transformers + peft (GPU). */
  backend: "torch" | "hf";
  /** Hugging Face checkpoint directory (or a Hub id for the hf backend). */
  base_model: string;
  /** JSONL of {"prompt", "completion"} rows, or {"messages": [{"role", "content"}, …]} conversations (rendered with the model's chat template; loss on assistant turns). */
  train_file: string;
  /** Validation JSONL (same shape), or null. */
  val_file: string | null;
  /** Where the adapter, checkpoints and events go. */
  output_dir: string;
  /** LoRA settings. */
  lora: LoraConfig;
  /** Peak learning rate. */
  lr: number;
  /** Learning-rate schedule after warmup. */
  schedule: "cosine" | "linear" | "constant";
  /** Linear warmup steps. */
  warmup_steps: number;
  /** Optimizer steps (null: derive from epochs). */
  max_steps: number | null;
  /** Epochs, used when max_steps is null. */
  epochs: number;
  /** Rows per micro-batch. */
  batch_size: number;
  /** Micro-batches per optimizer step (the loss is the mean over every label token of all of them). */
  grad_accum: number;
  /** Rows longer than this (in tokens) are left out and counted (training and validation), never cut. */
  max_seq_len: number;
  /** Concatenate short rows into max_seq_len sequences (each example attends only to itself, positions restart). */
  packing: boolean;
  /** Loss on the completion only (prompt tokens masked; for conversations: the assistant turns). */
  completion_only_loss: boolean;
  seed: number;
  /** Validation loss every N steps. */
  eval_every: number;
  /** Checkpoint every N steps (resume picks up the latest). */
  save_every: number;
  /** Keep this many checkpoints. */
  max_checkpoints: number;
  /** Training precision (hf backend): the frozen base's dtype and autocast's; LoRA weights stay fp32. */
  precision: "fp32" | "fp16" | "bf16";
  /** Load the base in 4-bit NF4 with bitsandbytes (hf backend; an error when bitsandbytes is missing). */
  load_in_4bit: boolean;
  /** Recompute each layer's activations in backward instead of keeping them (hf backend). */
  gradient_checkpointing: boolean;
  /** CPU threads (torch backend). */
  threads: number;
  /** Resume from the latest checkpoint in output_dir. */
  resume: boolean;
  /** Trainer processes on this machine (torchrun's --nproc_per_node; with backend hf, one GPU each). More than one trains under DistributedDataParallel with the same global batch (batch_size × grad_accum rows a step, split over all processes). */
  nproc: number;
  /** Machines taking part (torchrun's --nnodes); each runs the same command with its own node_rank. */
  nnodes: number;
  /** This machine's index among nnodes (0 writes the run folder's events). */
  node_rank: number;
  /** Address of the node_rank 0 machine, which every machine can reach (several machines). */
  master_addr: string;
  /** Port on master_addr for the rendezvous (several machines; one machine picks a free port itself). */
  master_port: number;
  /** What starts several processes: torchrun (python3 -m torch.distributed.run), or accelerate launch with a DDP config written from this one (backend hf; needs accelerate). */
  launcher: "torchrun" | "accelerate";
}

/** LoRA settings. */
const LoraObject = z.object({
  r: z.number().int().positive(),
  alpha: z.number().positive(),
  dropout: z.number().min(0).max(1),
  target_modules: z.array(z.string()).min(1),
}).strict();
const LoraSchema: z.ZodType<LoraConfig> = LoraObject;
const TrainConfigObject = z.object({
  backend: z.enum(["torch", "hf"]),
  base_model: z.string().min(1),
  train_file: z.string().min(1),
  val_file: z.string().nullable(),
  output_dir: z.string().min(1),
  lora: LoraSchema,
  lr: z.number().positive(),
  schedule: z.enum(["cosine", "linear", "constant"]),
  warmup_steps: z.number().int().min(0),
  max_steps: z.number().int().positive().nullable(),
  epochs: z.number().positive(),
  batch_size: z.number().int().positive(),
  grad_accum: z.number().int().positive(),
  max_seq_len: z.number().int().positive(),
  packing: z.boolean(),
  completion_only_loss: z.boolean(),
  seed: z.number().int(),
  eval_every: z.number().int().positive(),
  save_every: z.number().int().positive(),
  max_checkpoints: z.number().int().positive(),
  precision: z.enum(["fp32", "fp16", "bf16"]),
  load_in_4bit: z.boolean(),
  gradient_checkpointing: z.boolean(),
  threads: z.number().int().positive(),
  resume: z.boolean(),
  nproc: z.number().int().positive(),
  nnodes: z.number().int().positive(),
  node_rank: z.number().int().min(0),
  master_addr: z.string().min(1),
  master_port: z.number().int().min(1).max(65535),
  launcher: z.enum(["torchrun", "accelerate"]),
}).strict();
const TrainConfigSchema: z.ZodType<TrainConfig> = TrainConfigObject;

/** Settings every preset starts from. */
export const TRAIN_DEFAULTS: Omit<
  TrainConfig,
  "base_model" | "train_file" | "val_file" | "output_dir"
> = {
  backend: "torch",
  lora: {
    r: 8,
    alpha: 16,
    dropout: 0,
    target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
  },
  lr: 2e-4,
  schedule: "cosine",
  warmup_steps: 10,
  max_steps: null,
  epochs: 1,
  batch_size: 4,
  grad_accum: 4,
  max_seq_len: 1024,
  packing: false,
  completion_only_loss: true,
  seed: 1234,
  eval_every: 50,
  save_every: 100,
  max_checkpoints: 2,
  precision: "fp32",
  load_in_4bit: false,
  gradient_checkpointing: false,
  threads: 2,
  resume: true,
  nproc: 1,
  nnodes: 1,
  node_rank: 0,
  master_addr: "127.0.0.1",
  master_port: 29500,
  launcher: "torchrun",
};

/** Named presets: what differs from {@linkcode TRAIN_DEFAULTS}. */
export const PRESETS = {
  /** The bundled tiny model on CPU (runs in CI, a couple of minutes on 2 cores). */
  "tiny-cpu": {
    backend: "torch",
    base_model: "data/models/tiny",
    lr: 3e-3,
    max_steps: 200,
    batch_size: 16,
    grad_accum: 1,
    max_seq_len: 256,
    eval_every: 50,
    save_every: 50,
  },
  /**
   * A 7B-class model on a Colab T4 (15 GB usable): a 4-bit NF4 base (QLoRA; needs bitsandbytes),
   * fp16 compute, gradient checkpointing, LoRA on all seven projections (as QLoRA, Unsloth and
   * Axolotl do), micro batch 2 × 8 accumulated. `deno task finetune --dry-run` estimates 6–10 GB
   * for Mistral-7B, Llama-3.1-8B and Qwen2.5-7B.
   */
  "colab-t4": {
    backend: "hf",
    precision: "fp16",
    load_in_4bit: true,
    gradient_checkpointing: true,
    lr: 2e-4,
    batch_size: 2,
    grad_accum: 8,
    max_seq_len: 1024,
    lora: {
      r: 16,
      alpha: 32,
      dropout: 0.05,
      target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    },
  },
  /**
   * A bf16 GPU with 24 GB or more (A10G, L4, RTX 3090/4090, A100, H100): a 7–8B base in bf16 (not
   * quantized), gradient checkpointing, micro batch 1 × 16 accumulated at up to 2048 tokens — the
   * `--dry-run` estimate is 16–20 GB for Mistral-7B, Llama-3.1-8B and Qwen2.5-7B. On 40 GB and up,
   * raise batch_size (and lower grad_accum) for speed.
   */
  gpu: {
    backend: "hf",
    precision: "bf16",
    gradient_checkpointing: true,
    lr: 2e-4,
    batch_size: 1,
    grad_accum: 16,
    max_seq_len: 2048,
    lora: {
      r: 16,
      alpha: 32,
      dropout: 0.05,
      target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    },
  },
} as const satisfies Record<string, Partial<Record<keyof TrainConfig, unknown>>>;

/** A preset name. */
export type PresetName = keyof typeof PRESETS;

/** Options for {@linkcode resolveTrainConfig}. */
export interface ResolveOptions {
  /** Preset to start from. Default: "tiny-cpu". */
  preset?: string;
  /** Fields that override the preset (validated; unknown keys are rejected). */
  overrides?: Record<string, unknown>;
}

/** A config that failed validation; the message lists every field path and what to do. */
export class TrainConfigError extends Error {
  /** Create from zod issues. */
  constructor(readonly issues: string[]) {
    super(`fine-tuning config is invalid:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "TrainConfigError";
  }
}

/**
 * What other trainers call tunebook's config keys (transformers' TrainingArguments, peft's
 * LoraConfig, Axolotl), so that "did you mean" finds a key a typo's edit distance cannot:
 * `learning_rate` → `lr`.
 */
export const CONFIG_KEY_ALIASES: Readonly<Record<string, string>> = {
  learning_rate: "lr",
  lr_scheduler_type: "schedule",
  scheduler: "schedule",
  warmup: "warmup_steps",
  num_train_epochs: "epochs",
  num_epochs: "epochs",
  steps: "max_steps",
  per_device_train_batch_size: "batch_size",
  micro_batch_size: "batch_size",
  gradient_accumulation_steps: "grad_accum",
  max_seq_length: "max_seq_len",
  sequence_len: "max_seq_len",
  train_on_inputs: "completion_only_loss",
  eval_steps: "eval_every",
  save_steps: "save_every",
  save_total_limit: "max_checkpoints",
  model_name_or_path: "base_model",
  base_model_name_or_path: "base_model",
  lora_r: "lora.r",
  lora_alpha: "lora.alpha",
  lora_dropout: "lora.dropout",
  lora_target_modules: "lora.target_modules",
  target_modules: "lora.target_modules",
  "lora.rank": "lora.r",
  "lora.lora_alpha": "lora.alpha",
  "lora.lora_dropout": "lora.dropout",
  num_threads: "threads",
  nproc_per_node: "nproc",
  num_processes: "nproc",
  num_machines: "nnodes",
  machine_rank: "node_rank",
  main_process_ip: "master_addr",
  main_process_port: "master_port",
};

/** Every key a config may have, dotted (`lr`, `lora.r`). */
function knownKeys(): string[] {
  return Object.keys(TrainConfigObject.shape).flatMap((k) =>
    k === "lora" ? Object.keys(LoraObject.shape).map((l) => `lora.${l}`) : [k]
  );
}

/** "x: unknown key; did you mean y?" for a key the schema does not have. */
function unknownKeyIssue(key: string): string {
  const known = knownKeys();
  const loraKeys = known.filter((k) => k.startsWith("lora."));
  const scope = key.startsWith("lora.") ? loraKeys : known;
  const alias = closestName(key, Object.keys(CONFIG_KEY_ALIASES));
  const near = CONFIG_KEY_ALIASES[key] ??
    closestName(key, scope) ??
    (key.startsWith("lora.") ? undefined : closestName(key, loraKeys.map((k) => k.slice(5)))) ??
    (alias ? CONFIG_KEY_ALIASES[alias] : undefined);
  const suggestion = near && known.includes(near)
    ? near
    : near && known.includes(`lora.${near}`)
    ? `lora.${near}`
    : undefined;
  return `${key}: unknown key; ` +
    (suggestion
      ? `did you mean ${suggestion}?`
      : `the keys are listed by \`deno task finetune --help\``);
}

/** Defaults ← preset ← overrides, validated. Paths that are still unset become "" and fail validation. */
export function resolveTrainConfig(options: ResolveOptions = {}): TrainConfig {
  const { preset = "tiny-cpu", overrides = {} } = options;
  if (!(preset in PRESETS)) {
    throw new TrainConfigError([
      `preset "${preset}" is unknown; use one of ${Object.keys(PRESETS).join(", ")}`,
    ]);
  }
  const p = PRESETS[preset as PresetName] as Record<string, unknown>;
  const merged: Record<string, unknown> = {
    base_model: "",
    train_file: "",
    val_file: null,
    output_dir: "",
    ...TRAIN_DEFAULTS,
    ...p,
    ...overrides,
    lora: {
      ...TRAIN_DEFAULTS.lora,
      ...(p.lora as object | undefined),
      ...(overrides.lora as object | undefined),
    },
  };
  const parsed = TrainConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new TrainConfigError(parsed.error.issues.flatMap((i) => {
      const path = i.path.join(".");
      if (i.code === "unrecognized_keys") {
        return i.keys.map((k) => unknownKeyIssue(path ? `${path}.${k}` : k));
      }
      return [`${path || "(config)"}: ${i.message}`];
    }));
  }
  const cfg = parsed.data;
  const issues: string[] = [];
  if (cfg.node_rank >= cfg.nnodes) {
    issues.push(
      `node_rank: ${cfg.node_rank} is not below nnodes (${cfg.nnodes}); machines are numbered 0 … nnodes - 1`,
    );
  }
  if (cfg.launcher === "accelerate" && cfg.backend !== "hf") {
    issues.push(
      `launcher: accelerate launches backend hf; backend ${cfg.backend} runs under torchrun (launcher torchrun)`,
    );
  }
  const world = cfg.nproc * cfg.nnodes;
  const rows = cfg.batch_size * cfg.grad_accum;
  if (rows % world) {
    issues.push(
      `nproc: batch_size × grad_accum = ${cfg.batch_size} × ${cfg.grad_accum} = ${rows} rows a step do not split ` +
        `evenly over ${world} processes (nproc ${cfg.nproc} × nnodes ${cfg.nnodes}); make grad_accum or ` +
        `batch_size a multiple of ${world}, or use another process count`,
    );
  }
  if (issues.length) throw new TrainConfigError(issues);
  return cfg;
}

/** One config key, as `deno task finetune --help` lists it. */
export interface TrainConfigKey {
  /** Dotted path: `lr`, `lora.r`. */
  key: string;
  /** What the schema accepts: `integer > 0`, `cosine|linear|constant`, `string or null`, …. */
  type: string;
  /** The value in {@linkcode TRAIN_DEFAULTS}; undefined for the paths a run fills in. */
  default: unknown;
  /** Presets whose value differs from the default, with that value. */
  presets: Record<string, unknown>;
}

/**
 * Every config key with its type (read from the schema that validates configs, so the two
 * cannot drift), default and the presets that change it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainConfigKeys } from "./config.ts";
 * const lr = trainConfigKeys().find((k) => k.key === "lr")!;
 * assert.deepEqual(lr, { key: "lr", type: "number > 0", default: 2e-4, presets: { "tiny-cpu": 3e-3 } });
 * const r = trainConfigKeys().find((k) => k.key === "lora.r")!;
 * assert.equal(r.type, "integer > 0");
 * ```
 */
export function trainConfigKeys(): TrainConfigKey[] {
  const defaults = TRAIN_DEFAULTS as Record<string, unknown>;
  const presets = PRESETS as Record<string, Record<string, unknown>>;
  const row = (key: string, schema: z.ZodTypeAny, value: unknown, pick: PresetPick) => {
    const changed: Record<string, unknown> = {};
    for (const [name, preset] of Object.entries(presets)) {
      const v = pick(preset);
      if (v !== undefined && JSON.stringify(v) !== JSON.stringify(value)) changed[name] = v;
    }
    return { key, type: describeSchema(schema), default: value, presets: changed };
  };
  return Object.entries(TrainConfigObject.shape).flatMap(([key, schema]) =>
    key === "lora"
      ? Object.entries(LoraObject.shape).map(([sub, subSchema]) =>
        row(
          `lora.${sub}`,
          subSchema,
          (TRAIN_DEFAULTS.lora as unknown as Record<string, unknown>)[sub],
          (p) => (p.lora as Record<string, unknown> | undefined)?.[sub],
        )
      )
      : [row(key, schema, defaults[key], (p) => p[key])]
  );
}

/** A preset's value of one key (undefined: the preset keeps the default). */
type PresetPick = (preset: Record<string, unknown>) => unknown;

/** What a zod schema accepts, in words: `integer > 0`, `fp32|fp16|bf16`, `string or null`. */
function describeSchema(schema: z.ZodTypeAny): string {
  if (schema instanceof z.ZodNullable) return `${describeSchema(schema.unwrap())} or null`;
  if (schema instanceof z.ZodEnum) return (schema.options as string[]).join("|");
  if (schema instanceof z.ZodBoolean) return "true|false";
  if (schema instanceof z.ZodString) return "string";
  if (schema instanceof z.ZodArray) {
    const min = schema._def.minLength?.value;
    return `${min ? "non-empty " : ""}list of ${describeSchema(schema.element)}s`;
  }
  if (schema instanceof z.ZodNumber) {
    const checks = schema._def.checks;
    const [lo, hi] = [checks.find((c) => c.kind === "min"), checks.find((c) => c.kind === "max")];
    if (lo?.kind === "min" && hi?.kind === "max" && lo.inclusive && hi.inclusive) {
      return `${schema.isInt ? "integer" : "number"} from ${lo.value} to ${hi.value}`;
    }
    const bounds = checks.flatMap((c) =>
      c.kind === "min"
        ? [`${c.inclusive ? "≥" : ">"} ${c.value}`]
        : c.kind === "max"
        ? [`${c.inclusive ? "≤" : "<"} ${c.value}`]
        : []
    );
    return [schema.isInt ? "integer" : "number", bounds.join(", ")].filter(Boolean).join(" ");
  }
  return schema._def.typeName ?? "value";
}
