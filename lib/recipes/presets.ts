/**
 * The five seed workflows as data: one typed preset each (tasks, LoRA rank/alpha/steps, the
 * curation split, quantization type, the "API model" and its price, the figures), which
 * {@linkcode ./run.ts runRecipe} runs end to end on a bundled tiny model (all five on tiny-256).
 *
 * Each preset maps a seed's real benchmark to the synthetic family shaped like it (data/tasks):
 * sciq → synth_facts_support (lm-eval's sciq prompt: the support passage, then the question;
 * the closed-book synth_facts is evaluated beside it), logiqa / mc_taco → synth_entailment, arithmetic → synth_arithmetic, SQuAD →
 * synth_qa, ROUGE-scored QA → synth_qa_rouge, summarization → synth_summary, code-to-text →
 * synth_code2text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findRecipe, RECIPE_NAMES } from "./presets.ts";
 * assert.deepEqual(RECIPE_NAMES, ["S0", "S1", "S2", "S3", "S4"]);
 * assert.equal(findRecipe("S4").lora.r, 32);
 * assert.throws(() => findRecipe("S9"), /unknown recipe "S9".*S0, S1, S2, S3, S4/);
 * ```
 * @module
 */
import type { QuantType } from "../gguf/quantize.ts";
import { BUNDLED_MODELS, type BundledModelName } from "../llm/model.ts";

/** A figure a recipe draws (lib/plots). */
export type RecipeFigure =
  | "accuracy"
  | "deltas"
  | "loss"
  | "by_length"
  | "cost"
  | "quantization"
  | "per_class"
  | "checkpoints";

/** The "API model": a GGUF served by tunebook's own server, evaluated over HTTP, with a price. */
export interface RecipeApiModel {
  /** Name in tables and legends, and the eval run folder's name. */
  label: string;
  /** The GGUF the server loads. */
  model: string;
  /** Tasks it is evaluated on (a subset of the recipe's `evalTasks`). */
  tasks: string[];
  /** USD per 1000 prompt tokens, as an API bills them. */
  pricePer1kInput: number;
  /** USD per 1000 completion tokens. */
  pricePer1kOutput: number;
}

/** The metric a recipe's gain is judged on. */
export interface RecipeHeadline {
  /** Task (one of `evalTasks`). */
  task: string;
  /** Per-item metric of that task in samples.jsonl (e.g. `acc`, `f1`, `rougeL`). */
  metric: string;
}

/** One seed workflow as a preset. */
export interface Recipe {
  /** S0 … S4. */
  name: string;
  /** One line: what the recipe reproduces. */
  title: string;
  /** The seed workflow's own headline result, as the issue that filed it states it. */
  seed: string;
  /** The bundled base model the recipe fine-tunes (lib/llm/model.ts's BUNDLED_MODELS). */
  model: BundledModelName;
  /** Tasks whose train splits are curated into the training rows. */
  trainTasks: string[];
  /** Tasks every local model is evaluated on (the headline task among them). */
  evalTasks: string[];
  /** What the gain verdict is judged on. */
  headline: RecipeHeadline;
  /** LoRA rank and alpha (the seed's rank). */
  lora: { r: number; alpha: number };
  /** Optimizer steps (the tiny-cpu preset's learning rate and batch). */
  steps: number;
  /** Curation split ratios train / validation / test of the training rows. */
  split: [number, number, number];
  /** The quantization type of the merged model. */
  quant: QuantType;
  /** Items per eval task (the first ones of its test split). */
  limit: number;
  /** Evaluate the adapter of every checkpoint (every `steps / checkpoints` steps); 0: none. */
  checkpoints: number;
  /** The API model to compare against, or null. */
  api: RecipeApiModel | null;
  /**
   * USD per 1000 prompt tokens of the self-hosted models (base, tuned, quantized) in the cost
   * figure: an assumed serving cost, stated in the preset so the figure's x axis is explicit.
   */
  selfHostedPricePer1k: number;
  /** Figures written to the run folder. */
  figures: RecipeFigure[];
}

const BASE_FIGURES: RecipeFigure[] = ["accuracy", "deltas", "loss", "quantization"];

/** The five presets, by name. */
export const RECIPES: Readonly<Record<string, Recipe>> = Object.freeze(
  {
    S0: {
      name: "S0",
      model: "tiny-256",
      title: "LogicGPT: an instruction mix LoRA r16 → q4_k_m, reasoning tasks + code-to-text BLEU",
      seed: "Open-Platypus LoRA (r16) on Mistral with q4_k_m, evaluated on sciq / logiqa / " +
        "mc_taco / arithmetic and code-to-text BLEU",
      trainTasks: [
        "synth_facts_support",
        "synth_entailment",
        "synth_arithmetic",
        "synth_code2text",
      ],
      evalTasks: [
        "synth_facts_support",
        "synth_facts",
        "synth_entailment",
        "synth_arithmetic",
        "synth_code2text",
      ],
      headline: { task: "synth_facts_support", metric: "acc" },
      lora: { r: 16, alpha: 32 },
      steps: 200,
      split: [0.9, 0.1, 0],
      quant: "q4_k_m",
      limit: 200,
      checkpoints: 0,
      api: null,
      selfHostedPricePer1k: 0.0001,
      figures: [...BASE_FIGURES],
    },
    S1: {
      name: "S1",
      model: "tiny-256",
      title: "QA fine-tune scored with ROUGE at every checkpoint",
      seed: "a QA fine-tune scored with ROUGE per checkpoint",
      trainTasks: ["synth_qa_rouge"],
      evalTasks: ["synth_qa_rouge"],
      headline: { task: "synth_qa_rouge", metric: "rougeL" },
      lora: { r: 8, alpha: 16 },
      steps: 200,
      split: [0.9, 0.1, 0],
      quant: "q4_k_m",
      limit: 200,
      checkpoints: 4,
      api: null,
      selfHostedPricePer1k: 0.0001,
      figures: [...BASE_FIGURES, "checkpoints"],
    },
    S2: {
      name: "S2",
      model: "tiny-256",
      title: "Logical entailment: per-class accuracy against an API model",
      seed: "logical entailment scored by per-class accuracy against GPT-3.5",
      trainTasks: ["synth_entailment"],
      evalTasks: ["synth_entailment"],
      headline: { task: "synth_entailment", metric: "acc" },
      lora: { r: 8, alpha: 16 },
      steps: 200,
      split: [0.9, 0.1, 0],
      quant: "q4_k_m",
      limit: 200,
      checkpoints: 0,
      api: {
        label: "api",
        model: BUNDLED_MODELS["tiny-256"].gguf,
        tasks: ["synth_entailment"],
        pricePer1kInput: 0.0005,
        pricePer1kOutput: 0.0015,
      },
      selfHostedPricePer1k: 0.0001,
      figures: [...BASE_FIGURES, "per_class", "cost"],
    },
    S3: {
      name: "S3",
      model: "tiny-256",
      title: "Summarization LoRA scored with ROUGE",
      seed: "T5 LoRA summarization scored with ROUGE",
      trainTasks: ["synth_summary"],
      evalTasks: ["synth_summary"],
      headline: { task: "synth_summary", metric: "rougeL" },
      lora: { r: 8, alpha: 16 },
      steps: 200,
      split: [0.9, 0.1, 0],
      quant: "q4_k_m",
      limit: 200,
      checkpoints: 0,
      api: null,
      selfHostedPricePer1k: 0.0001,
      figures: [...BASE_FIGURES],
    },
    S4: {
      name: "S4",
      model: "tiny-256",
      title: "SQuAD-style EM/F1 of a LoRA r32 against an API model, by input length and cost",
      seed: "SQuAD EM/F1 of a LoRA (r32) Llama against GPT-3.5/4, with accuracy by input length " +
        "and cost against accuracy",
      trainTasks: ["synth_qa"],
      evalTasks: ["synth_qa"],
      headline: { task: "synth_qa", metric: "f1" },
      lora: { r: 32, alpha: 64 },
      steps: 200,
      split: [0.9, 0.1, 0],
      quant: "q4_k_m",
      limit: 200,
      checkpoints: 0,
      api: {
        label: "api",
        model: BUNDLED_MODELS["tiny-256"].gguf,
        tasks: ["synth_qa"],
        pricePer1kInput: 0.0005,
        pricePer1kOutput: 0.0015,
      },
      selfHostedPricePer1k: 0.0001,
      figures: [...BASE_FIGURES, "by_length", "cost"],
    },
  } satisfies Record<string, Recipe>,
);

/** The preset names, in order. */
export const RECIPE_NAMES: readonly string[] = Object.keys(RECIPES);

/** A recipe name that is not a preset (a usage error in the CLI). */
export class RecipeInputError extends Error {
  /**
   * @example
   * ```ts
   * import { strictEqual } from "node:assert/strict";
   * import { RecipeInputError } from "./presets.ts";
   * strictEqual(new RecipeInputError("x").name, "RecipeInputError");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "RecipeInputError";
  }
}

/**
 * The preset named `name` (case-insensitive); throws a {@linkcode RecipeInputError} listing the
 * presets for any other name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findRecipe } from "./presets.ts";
 * assert.equal(findRecipe("s2").headline.task, "synth_entailment");
 * ```
 */
export function findRecipe(name: string): Recipe {
  const recipe = RECIPES[name.toUpperCase()];
  if (!recipe) {
    throw new RecipeInputError(
      `unknown recipe "${name}"; the presets are ${RECIPE_NAMES.join(", ")} ` +
        `(\`deno task recipe --list\` describes them)`,
    );
  }
  return structuredClone(recipe);
}
