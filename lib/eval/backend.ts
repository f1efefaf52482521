/**
 * Evaluation backends: what the runner needs from a model. The in-process
 * node-llama-cpp backend lives here; HTTP backends implement the same interface.
 * @module
 */
import {
  type ChoiceScores,
  type GenerateOptions,
  type Generation,
  LlmEngine,
  type LoraAdapter,
  type RollingScore,
  type ScoreChoicesOptions,
} from "../llm/engine.ts";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { loraWeights } from "../llm/lora_merge.ts";
import { DEFAULT_MODEL, loadModel } from "../llm/model.ts";
import { fileSha256 } from "../util/file_hash.ts";

/** A model the evaluation runner can query. */
export interface Backend {
  /** What identifies the model in results (path, hash, quantization, adapters, endpoint…). */
  identity: Record<string, unknown>;
  /**
   * What decides this backend's outputs, for the run identity (`run_identity.ts`): two backends
   * with equal values give the same samples. Leave out what does not change outputs (file
   * paths, parallelism, prices). Default: `identity`.
   */
  runIdentity?: Record<string, unknown>;
  /** How many requests the runner should keep in flight. */
  concurrency: number;
  /**
   * Log-likelihood of each choice after a context (`multiple_choice`, and `loglikelihood` with
   * one choice); absent when the backend cannot score prompts.
   */
  scoreChoices?: (
    context: string,
    choices: string[],
    options?: ScoreChoicesOptions,
  ) => Promise<ChoiceScores>;
  /**
   * Log-likelihood of a whole text in lm-eval's rolling windows of the model's context
   * (`loglikelihood_rolling`); absent when the backend cannot score text.
   */
  scoreRolling?: (text: string) => Promise<RollingScore>;
  /**
   * Called by the runner before anything else, with what the run's tasks need: a remote backend
   * checks its endpoints (and, for scoring, that they return prompt log-probabilities) and learns
   * what identifies the model they serve, before `runIdentity` is read. Default: nothing to do.
   */
  prepare?: (needs: BackendNeeds) => Promise<void>;
  /** Greedy generation. */
  generate: (prompt: string, options: GenerateOptions) => Promise<Generation>;
  /** Token count of a text (for length buckets); approximate for HTTP backends. */
  countTokens: (text: string) => number;
  /** Tokens processed so far, for throughput. */
  tokensProcessed: () => number;
  /** Token usage (and cost, when priced) so far; HTTP backends report it in results.json. */
  usage?: () => BackendUsage;
  /** Free resources. */
  dispose: () => Promise<void>;
}

/** What a run's tasks need from a backend ({@linkcode Backend.prepare}). */
export interface BackendNeeds {
  /** Log-likelihoods of given text (multiple_choice, loglikelihood, loglikelihood_rolling). */
  scoring: boolean;
}

/** Token usage of a backend, as recorded in results.json's `usage`. */
export interface BackendUsage {
  /** Prompt tokens sent. */
  promptTokens: number;
  /** Tokens generated. */
  completionTokens: number;
  /** Estimated cost in USD; absent when the backend has no prices. */
  costUsd?: number;
}

/** Options for {@linkcode createLlamaBackend}. */
export interface LlamaBackendOptions {
  /** LoRA adapters (GGUF) on top of the model. Default: none. */
  lora?: LoraAdapter[];
  /** Parallel sequences. Default: 8. */
  sequences?: number;
  /** CPU threads (0 = one fewer than the cores: {@linkcode defaultThreads}). Default: 0. */
  threads?: number;
  /** Use a GPU when available. Default: "auto". */
  gpu?: "auto" | false;
  /**
   * How LoRA adapters are applied: "merge" folds them into a cached copy of the model's weights
   * once (lib/llm/lora_merge.ts; the merged model's speed), "runtime" has llama.cpp add `B·A` in
   * every decode, "auto" merges when it can (an f32/f16 base up to 2 GiB, matrix adapters)
   * and else applies them at runtime. Default: "auto".
   */
  loraMode?: LoraMode;
}

/** How {@linkcode createLlamaBackend} applies LoRA adapters ({@linkcode LlamaBackendOptions.loraMode}). */
export type LoraMode = "auto" | "merge" | "runtime";

/** Questions in flight when the engine scores multiple choice in batches (enough to fill a decode). */
export const BATCHED_CONCURRENCY = 128;

/**
 * The in-process backend: a GGUF model (plus LoRA adapters) in node-llama-cpp.
 *
 * @example
 * ```ts ignore
 * const backend = await createLlamaBackend("data/models/tiny/tiny-f32.gguf");
 * console.log(backend.identity);
 * await backend.dispose();
 * ```
 */
export async function createLlamaBackend(
  modelPath: string = DEFAULT_MODEL,
  options: LlamaBackendOptions = {},
): Promise<Backend> {
  const { lora = [], sequences = 8, threads = 0, gpu = "auto", loraMode = "auto" } = options;
  const adapters = [];
  for (const a of lora) {
    adapters.push({ path: a.path, sha256: await fileSha256(a.path), scale: a.scale ?? 1 });
  }
  const weights = await loraWeights(modelPath, lora, loraMode);
  const merged = weights.merged ? weights.path : undefined;
  const loaded = await loadModel(weights.path, { gpu });
  const engine = await LlmEngine.create(loaded, { sequences, threads, lora: weights.lora });
  // A merged copy keeps the base's header: everything but the file is the base's.
  const model = merged ? resolve(modelPath) : loaded.info.path;
  const sha256 = merged ? await fileSha256(modelPath) : loaded.info.sha256;
  const applied = lora.length === 0 ? {} : { lora_applied: merged ? "merged" : "runtime" };
  return {
    identity: {
      backend: "node-llama-cpp",
      model,
      sha256,
      bytes: merged ? statSync(modelPath).size : loaded.info.bytes,
      quantization: loaded.info.quantization,
      architecture: loaded.info.architecture,
      parameters: loaded.info.parameters,
      lora: adapters,
      ...(merged ? { lora_merged_copy: merged } : {}),
      contextSize: engine.contextSize,
      sequences,
      scorer: engine.scorer,
    },
    runIdentity: {
      backend: "node-llama-cpp",
      model_sha256: sha256,
      adapters: adapters.map((a) => ({ sha256: a.sha256, scale: a.scale })),
      // merged weights are rounded once to the base's type: not bit-equal to runtime adapters
      ...applied,
      scorer: engine.scorer,
      context_size: engine.contextSize,
    },
    // The batched scorer packs many questions into each decode: keep enough of them in flight.
    concurrency: engine.scorer === "batched" ? Math.max(sequences, BATCHED_CONCURRENCY) : sequences,
    scoreChoices: (context, choices, opts) => engine.scoreChoices(context, choices, opts),
    scoreRolling: (text) => engine.scoreRolling(text),
    generate: (prompt, opts) => engine.generate(prompt, opts),
    countTokens: (text) => engine.tokenize(text).length,
    tokensProcessed: () => engine.tokensEvaluated,
    dispose: async () => {
      await engine.dispose();
      await loaded.model.dispose();
    },
  };
}
