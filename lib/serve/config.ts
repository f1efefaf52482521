/**
 * The server's config: which model names it serves (a base GGUF plus LoRA adapters each), where
 * it listens, and its limits. Defaults live in {@linkcode SERVE_DEFAULTS}; a YAML file or CLI
 * flags override them; unknown keys and wrong types fail with the field's path.
 *
 * A model name is what clients put in `"model"`: `tiny` for the base model,
 * `tiny+lora-arith` for it with the adapter named `lora-arith` (see {@linkcode addAdapter}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveServeConfig } from "./config.ts";
 * const cfg = resolveServeConfig({
 *   models: { tiny: { model: "data/models/tiny/tiny-f32.gguf" } },
 *   port: 8081,
 * });
 * assert.equal(cfg.host, "127.0.0.1");
 * assert.equal(cfg.port, 8081);
 * assert.equal(cfg.sequences, 4);
 * assert.deepEqual(Object.keys(cfg.models), ["tiny"]);
 * ```
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { LoraAdapter } from "../llm/engine.ts";
import { type NamedLoraSpec, parseNamedLoraSpec } from "../llm/lora_spec.ts";
import { BUNDLED_CHAT, BUNDLED_MODELS, DEFAULT_MODEL } from "../llm/model.ts";

/** One model name the server answers to. */
export interface ServedModel {
  /** The base GGUF model file. */
  model: string;
  /** LoRA adapters (GGUF) applied on top, in order. Default: none. */
  adapters: LoraAdapter[];
  /** A Jinja chat template file that replaces the GGUF's own. Default: none (use the GGUF's). */
  chatTemplate: string | null;
}

/** The server's settings. */
export interface ServeConfig {
  /** Interface to bind. Default: "127.0.0.1" (this machine only; "0.0.0.0" in the container). */
  host: string;
  /** TCP port (0: any free port). Default: 8080. */
  port: number;
  /** Bearer API key that /v1 requests must carry; null: none. Default: null. */
  apiKey: string | null;
  /** Model names → base GGUF + adapters. Default: `{ tiny: { model: DEFAULT_MODEL } }`. */
  models: Record<string, ServedModel>;
  /** Parallel sequences per model context (requests generating at once). Default: 4. */
  sequences: number;
  /** Tokens per sequence; null: the model's training context, at most 4096. Default: null. */
  contextSize: number | null;
  /** Tokens per decode. Default: 512. */
  batchSize: number;
  /** CPU threads per context (0: one fewer than the cores, see defaultThreads in lib/llm/engine.ts). Default: 0. */
  threads: number;
  /** Use a GPU when available ("auto") or never (false). Default: "auto". */
  gpu: "auto" | false;
  /** Requests that may wait for a sequence, per model name, before 429. Default: 64. */
  maxQueue: number;
  /** Model contexts (one per model name in use) kept at once; idle ones are evicted. Default: 4. */
  maxContexts: number;
  /** Largest request body in bytes (413 above). Default: 1048576 (1 MiB). */
  maxBodyBytes: number;
  /** Largest `max_tokens` a request may ask for (400 above). Default: 2048. */
  maxTokens: number;
  /** `max_tokens` of a /v1/completions request that gives none (OpenAI's default). Default: 16. */
  defaultCompletionTokens: number;
  /** Most stop sequences per request (400 above). Default: 16. */
  maxStop: number;
  /**
   * Seconds a request body may go without sending a byte before the server answers 408 and
   * closes the connection. Default: 30.
   */
  bodyTimeoutSeconds: number;
  /**
   * On shutdown (SIGTERM, SIGINT): seconds in-flight requests may still run, with no new ones
   * accepted, before those left are ended (a stream with an `error` event). Default: 10.
   */
  shutdownGraceSeconds: number;
  /** Most prompts in one /v1/completions request (`prompt` as a list; 400 above). Default: 128. */
  maxPrompts: number;
  /** Most alternatives per token (`logprobs`, `top_logprobs`; 400 above), vLLM's default. Default: 20. */
  maxLogprobs: number;
  /**
   * CPU threads of the prompt scorer (echo + logprobs), created on the first such request (0:
   * every core, as `deno task eval`'s batched scorer: its decodes leave JavaScript idle). Default: 0.
   */
  scoreThreads: number;
  /** Tokens per decode of the prompt scorer (as `deno task eval`'s, so both compute alike). Default: 1024. */
  scoreBatchSize: number;
  /**
   * How a model name's LoRA adapters are applied. "auto": merged into a cached copy of the weights
   * at load (lib/llm/lora_merge.ts: no per-decode cost) when no other served name shares that
   * base GGUF and the merge can be done (f32/f16 base up to 2 GiB), else at runtime, so a base is
   * still loaded once for all its names; "runtime": always at runtime (llama.cpp adds B·A in every
   * decode, bit for bit what `deno task eval --lora-mode runtime` computes). Default: "auto".
   */
  loraMode: "auto" | "runtime";
}

/** Every default, in one place. */
export const SERVE_DEFAULTS: Readonly<ServeConfig> = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  apiKey: null,
  models: { tiny: { model: DEFAULT_MODEL, adapters: [], chatTemplate: null } },
  sequences: 4,
  contextSize: null,
  batchSize: 512,
  threads: 0,
  gpu: "auto" as const,
  maxQueue: 64,
  maxContexts: 4,
  maxBodyBytes: 1_048_576,
  maxTokens: 2048,
  defaultCompletionTokens: 16,
  maxStop: 16,
  bodyTimeoutSeconds: 30,
  shutdownGraceSeconds: 10,
  maxPrompts: 128,
  maxLogprobs: 20,
  scoreThreads: 0,
  scoreBatchSize: 1024,
  loraMode: "auto" as const,
});

/** Characters allowed in a model name (it appears in URLs and logs). */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:+-]*$/;
/** Suffixes that name a GGUF's quantization, dropped from a file name to get a model name. */
const QUANT_SUFFIX = /[-_.](f32|f16|bf16|q\d\w*|iq\d\w*)$/i;
const MAX_PORT = 65535;

const AdapterSchema = z.object({
  path: z.string().min(1),
  scale: z.number().finite().optional(),
}).strict();

const ServedModelSchema = z.object({
  model: z.string().min(1),
  adapters: z.array(AdapterSchema).default([]),
  chatTemplate: z.string().min(1).nullable().default(null),
}).strict();

const ServeConfigSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(0).max(MAX_PORT),
  apiKey: z.string().min(1).nullable(),
  models: z.record(
    z.string().regex(MODEL_NAME, "letters, digits and . _ : + - only"),
    ServedModelSchema,
  ).refine((m) => Object.keys(m).length > 0, "at least one model"),
  sequences: z.number().int().positive(),
  contextSize: z.number().int().positive().nullable(),
  batchSize: z.number().int().positive(),
  threads: z.number().int().min(0),
  gpu: z.union([z.literal("auto"), z.literal(false)]),
  maxQueue: z.number().int().min(0),
  maxContexts: z.number().int().positive(),
  maxBodyBytes: z.number().int().positive(),
  maxTokens: z.number().int().positive(),
  defaultCompletionTokens: z.number().int().positive(),
  maxStop: z.number().int().min(0),
  bodyTimeoutSeconds: z.number().positive(),
  shutdownGraceSeconds: z.number().min(0),
  maxPrompts: z.number().int().positive(),
  maxLogprobs: z.number().int().min(0),
  scoreThreads: z.number().int().min(0),
  scoreBatchSize: z.number().int().min(3),
  loraMode: z.union([z.literal("auto"), z.literal("runtime")]),
}).strict();

/** A config as a file or caller writes it: every field optional. */
export type ServeConfigInput = Partial<Omit<ServeConfig, "models">> & {
  models?: Record<string, Partial<ServedModel> & { model: string }>;
};

/**
 * Fill in defaults and validate. Throws a message with the field's path and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveServeConfig } from "./config.ts";
 * const cfg = resolveServeConfig({ sequences: 8 });
 * assert.equal(cfg.models.tiny.model, "data/models/tiny/tiny-f32.gguf"); // the bundled model
 * assert.throws(() => resolveServeConfig({ sequences: 0 }), /sequences/);
 * ```
 */
export function resolveServeConfig(input: unknown = {}, source = "serve config"): ServeConfig {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new Error(`${source}: expected a mapping of settings, got ${JSON.stringify(input)}`);
  }
  const merged = { ...SERVE_DEFAULTS, ...input as Record<string, unknown> };
  const parsed = ServeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(
      `${source}: invalid settings:\n${lines.join("\n")}\n` +
        `Known settings: ${Object.keys(SERVE_DEFAULTS).join(", ")}.`,
    );
  }
  return parsed.data as ServeConfig;
}

/**
 * Read a YAML (or JSON) config file and resolve it.
 *
 * @example
 * ```ts ignore
 * const cfg = loadServeConfigFile("serve.yaml");
 * ```
 */
export function loadServeConfigFile(path: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read the serve config (${(e as Error).message})`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new Error(`${path}: not valid YAML (${(e as Error).message})`);
  }
  return resolveServeConfig(data ?? {}, path);
}

/**
 * The model name for a GGUF file: its file name without `.gguf` and a quantization suffix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { modelNameFromPath } from "./config.ts";
 * assert.equal(modelNameFromPath("data/models/tiny/tiny-f32.gguf"), "tiny");
 * assert.equal(modelNameFromPath("out/qwen2.5-0.5b-Q4_K_M.gguf"), "qwen2.5-0.5b");
 * ```
 */
export function modelNameFromPath(path: string): string {
  const stem = basename(path).replace(/\.gguf$/i, "");
  const name = stem.replace(QUANT_SUFFIX, "") || stem;
  return name.replace(/[^A-Za-z0-9._:+-]/g, "-");
}

/** A parsed `--adapter name=path[:scale]` flag (lib/llm/lora_spec.ts's named spec). */
export type AdapterFlag = NamedLoraSpec;

/**
 * Parse `name=path[:scale]` (the `--adapter` flag) by {@linkcode parseNamedLoraSpec}'s rules:
 * a scale that is not a number (`a.gguf:abc`) is an error, not part of the file name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAdapterFlag } from "./config.ts";
 * assert.deepEqual(parseAdapterFlag("lora-arith=out/arith.gguf:0.5"), {
 *   name: "lora-arith",
 *   path: "out/arith.gguf",
 *   scale: 0.5,
 * });
 * ```
 */
export function parseAdapterFlag(flag: string): AdapterFlag {
  return parseNamedLoraSpec(flag);
}

/**
 * Add `<base>+<name>` to a config's models: the base model's GGUF with the adapter on top
 * (a name given twice stacks its adapters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addAdapter, resolveServeConfig } from "./config.ts";
 * const cfg = addAdapter(resolveServeConfig(), "tiny", { name: "arith", path: "a.gguf", scale: 1 });
 * assert.deepEqual(Object.keys(cfg.models), ["tiny", "tiny+arith"]);
 * ```
 */
export function addAdapter(config: ServeConfig, base: string, adapter: AdapterFlag): ServeConfig {
  const baseModel = config.models[base];
  if (!baseModel) {
    throw new Error(
      `--adapter ${adapter.name}: no base model "${base}" to put it on (models: ` +
        `${Object.keys(config.models).join(", ")})`,
    );
  }
  const name = `${base}+${adapter.name}`;
  const existing = config.models[name];
  const adapters = [...(existing?.adapters ?? baseModel.adapters), {
    path: adapter.path,
    scale: adapter.scale,
  }];
  return {
    ...config,
    models: { ...config.models, [name]: { ...baseModel, ...existing, adapters } },
  };
}

/**
 * The config with the bundled chat model added as `tiny-256+chat` (tiny-256's GGUF with its chat
 * adapter, lib/llm/model.ts's `BUNDLED_CHAT`) when the adapter file exists — what a plain
 * `deno task serve` serves beside the bundled model; unchanged otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveServeConfig, withBundledChat } from "./config.ts";
 * const cfg = withBundledChat(resolveServeConfig());
 * assert.equal(cfg.models.tiny.model, "data/models/tiny/tiny-f32.gguf");
 * ```
 */
export function withBundledChat(config: ServeConfig): ServeConfig {
  if (!existsSync(BUNDLED_CHAT.adapter)) return config;
  const chat: ServedModel = {
    model: BUNDLED_MODELS[BUNDLED_CHAT.base].gguf,
    adapters: [{ path: BUNDLED_CHAT.adapter, scale: 1 }],
    chatTemplate: null,
  };
  return { ...config, models: { ...config.models, [BUNDLED_CHAT.name]: chat } };
}
