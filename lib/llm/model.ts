/**
 * Loading GGUF models (and LoRA adapters) with node-llama-cpp (lib/llm is the one module that
 * talks to it). Errors name the file and the fix.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * const m = await loadModel("data/models/tiny/tiny-f32.gguf");
 * console.log(m.info.quantization, m.model.trainContextSize);
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Llama, LlamaModel } from "node-llama-cpp";
import { DEFAULT_HASH_CACHE, fileSha256 } from "../util/file_hash.ts";
import { fileTypeName } from "../util/file_type.ts";
import { GgufReadError, readGgufHeader } from "./gguf_header.ts";

/** The bundled tiny model, the default of every command. */
export const DEFAULT_MODEL = "data/models/tiny/tiny-f32.gguf";

/**
 * The bundled models, by name: `tiny` (hidden 128, the default of every command) and `tiny-256`
 * (hidden 256, pretrained on every synthetic family with recall drills: the base of the recipes
 * that need copying from the context). Each is a Hugging Face folder (what LoRA trains on) and
 * its f32 GGUF; `deno task build:tiny [--model tiny-256]` rebuilds either.
 */
export const BUNDLED_MODELS = {
  tiny: { dir: "data/models/tiny", gguf: DEFAULT_MODEL },
  "tiny-256": { dir: "data/models/tiny-256", gguf: "data/models/tiny-256/tiny-256-f32.gguf" },
} as const;

/** A bundled model's name. */
export type BundledModelName = keyof typeof BUNDLED_MODELS;

/**
 * The bundled chat adapter (`deno task build:chat`): a LoRA on `tiny-256` trained on
 * conversations about the synthetic families, served as `tiny-256+chat` by a plain
 * `deno task serve`.
 */
export const BUNDLED_CHAT = {
  name: "tiny-256+chat",
  base: "tiny-256",
  adapter: "data/models/tiny-256/chat-lora.gguf",
} as const;

/** The bundled models' names, in order. */
export const BUNDLED_MODEL_NAMES = Object.keys(BUNDLED_MODELS) as BundledModelName[];

/** What identifies a model file in results. */
export interface ModelInfo {
  /** Absolute path of the GGUF file. */
  path: string;
  /** SHA-256 of the file. */
  sha256: string;
  /** File size in bytes. */
  bytes: number;
  /** GGUF `general.architecture`. */
  architecture: string;
  /** GGUF `general.name`, if set. */
  name?: string;
  /** Quantization type, from `general.file_type` (e.g. "F32", "Q4_K_M"). */
  quantization: string;
  /** Parameter count, when the runtime reports it. */
  parameters?: number;
  /** Training context length. */
  contextLength: number;
}

/** A loaded model plus its identity. */
export interface LoadedModel {
  llama: Llama;
  /** node-llama-cpp's model: tokenizer, metadata and (unless `vocabOnly`) the weights. */
  model: LlamaModel;
  info: ModelInfo;
  /**
   * node-llama-cpp loaded the vocabulary only: it tokenizes and detokenizes but cannot create a
   * context; generation and scoring go through libllama (lib/llm/batch_generator.ts,
   * batch_scorer.ts), which loads the weights once for both.
   */
  vocabOnly: boolean;
}

/** Options for {@linkcode loadModel}. */
export interface LoadModelOptions {
  /** Use a GPU when one is available ("auto") or never (false). Default: "auto". */
  gpu?: "auto" | false;
  /** Cache file for file hashes (keyed by path, size and mtime). Default: ".cache/hashes.json". */
  hashCache?: string;
  /**
   * Have node-llama-cpp load the vocabulary only (for callers whose generation and scoring all go
   * through libllama, so the weights are not held twice). Default: false.
   */
  vocabOnly?: boolean;
}

let llamaPromise: Promise<Llama> | undefined;
let llamaGpu: "auto" | false | undefined;

/**
 * The process-wide node-llama-cpp runtime (prebuilt binaries only, never a source build).
 * node-llama-cpp itself is imported here, on first use, so a process that never asks for it
 * (the server on CPU: lib/llm/libllama_model.ts) does not load its JavaScript either.
 */
export function getRuntime(gpu: "auto" | false = "auto"): Promise<Llama> {
  if (!llamaPromise || llamaGpu !== gpu) {
    llamaGpu = gpu;
    llamaPromise = import("node-llama-cpp").then(({ getLlama, LlamaLogLevel }) =>
      getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.error })
    );
  }
  return llamaPromise;
}

/** Check that `path` is a readable GGUF model; throws a message naming the file and the fix. */
export async function inspectModelFile(path: string): Promise<Omit<ModelInfo, "sha256">> {
  if (!existsSync(path)) {
    throw new Error(
      `${path}: model file not found. Pass --model with a GGUF path, or run \`deno task build:tiny\` ` +
        `to rebuild the bundled tiny model.`,
    );
  }
  const bytes = statSync(path).size;
  let header;
  try {
    header = await readGgufHeader(path);
  } catch (e) {
    if (!(e instanceof GgufReadError)) throw e;
    throw new Error(
      `${e.message}. Re-download or re-export it ` +
        `(Hugging Face checkpoints convert with \`python3 -m tunebook.export_gguf\`).`,
    );
  }
  const meta = header.metadata as Record<string, Record<string, unknown>>;
  const general = meta.general ?? {};
  const architecture = String(general.architecture ?? "");
  if (general.type === "adapter" || architecture === "") {
    throw new Error(
      `${path}: this GGUF is ${
        general.type === "adapter" ? "a LoRA adapter" : "not a model"
      }, not a base model. ` +
        `Pass it with --lora and give the base model with --model.`,
    );
  }
  const arch = meta[architecture] ?? {};
  return {
    path: resolve(path),
    bytes,
    architecture,
    name: general.name as string | undefined,
    quantization: fileTypeName(general.file_type as number | undefined),
    contextLength: Number(arch.context_length ?? 0),
  };
}

/** Load a GGUF model. Throws clear errors for a missing, corrupt or non-model file. */
export async function loadModel(
  path: string,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const { gpu = "auto", hashCache = DEFAULT_HASH_CACHE, vocabOnly = false } = options;
  const partial = await inspectModelFile(path);
  const llama = await getRuntime(gpu);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: path, vocabOnly });
  } catch (e) {
    throw new Error(`${path}: node-llama-cpp could not load this model (${(e as Error).message}).`);
  }
  const info: ModelInfo = {
    ...partial,
    sha256: await fileSha256(path, hashCache),
    parameters: model.fileInsights?.totalParameters,
  };
  return { llama, model, info, vocabOnly };
}
