/**
 * The served models: each distinct base GGUF is loaded once; each model name gets its own
 * context (with its LoRA adapters) with a pool of parallel sequences, created on first use. A name
 * that alone uses its base and has adapters loads the base with them merged into a cached copy
 * instead (lib/llm/lora_merge.ts; `loraMode` "runtime" turns that off), so its decodes pay no
 * LoRA graph. On
 * CPU the contexts are batched generators on libllama, which holds each file's weights once for
 * all of them, and the tokenizer and chat template come from the same libllama load
 * (lib/llm/libllama_model.ts: no node-llama-cpp in the process with `--cpu`); on a GPU
 * they are node-llama-cpp contexts on its loaded model. At most `maxContexts` contexts live at once; an idle one (no request
 * generating or waiting) is evicted, least recently used first, to make room.
 *
 * @example
 * ```ts ignore
 * import { resolveServeConfig } from "./config.ts";
 * import { ModelRegistry } from "./registry.ts";
 * const registry = new ModelRegistry(resolveServeConfig());
 * await registry.start();
 * const lease = await registry.lease("tiny");
 * try {
 *   const seq = await lease.pool.acquire();
 *   await lease.pool.release(seq);
 * } finally {
 *   lease.done();
 * }
 * ```
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { BatchGenerator } from "../llm/batch_generator.ts";
import { BatchScorer } from "../llm/batch_scorer.ts";
import { ChatTemplate, modelChatTemplate } from "../llm/chat.ts";
import { defaultContextSize } from "../llm/batching.ts";
import { loadLibllamaModel } from "../llm/libllama_model.ts";
import { getRuntime, loadModel } from "../llm/model.ts";
import {
  type PoolModel,
  SequencePool,
  type SequencePoolStats,
  usesBatchedGenerator,
} from "../llm/sequence_pool.ts";
import type { TokenPieces } from "../llm/token_pieces.ts";
import { fileSha256 } from "../util/file_hash.ts";
import { type LoraWeights, loraWeights } from "../llm/lora_merge.ts";
import type { ServeConfig, ServedModel } from "./config.ts";
import { ApiError, HTTP } from "./errors.ts";

/** Where the registry is in its life. */
export type RegistryState = "loading" | "ready" | "failed" | "closed";

/** A model name's context, held while a request uses it (so it is not evicted). */
export interface PoolLease {
  /** The model name. */
  name: string;
  /** Its context's sequence pool. */
  pool: SequencePool;
  /** Its chat template, if the model has one. */
  chatTemplate?: ChatTemplate;
  /**
   * Its prompt scorer (lib/llm/batch_scorer.ts: per-token log-probabilities of whole prompts),
   * created on first use beside the generating context, with the same adapters.
   */
  scorer: () => Promise<BatchScorer>;
  /** Its vocabulary's token texts and offsets (from the generator, else the scorer). */
  pieces: () => Promise<TokenPieces>;
  /** Let the context be evicted again. */
  done: () => void;
}

/** What decides a model name's outputs: its weights and adapters (file hashes), as /v1/models reports it. */
export interface ServedIdentity {
  /** SHA-256 of the base GGUF. */
  model_sha256: string;
  /** Each LoRA adapter's SHA-256 and scale, in order. */
  adapters: { sha256: string; scale: number }[];
  /**
   * How the adapters are applied (present when there are any): merged into a copy of the
   * weights at load, or at runtime — their numbers differ in rounding.
   */
  lora_applied?: "merged" | "runtime";
  /** Tokens per sequence of its context. */
  context_size: number;
}

/** How long {@linkcode ModelRegistry.close} waits for requests to let go. */
const DEFAULT_CLOSE_GRACE_MS = 10_000;
const CLOSE_POLL_MS = 10;

interface Entry {
  pool?: Promise<SequencePool>;
  /** The pool, once created. */
  ready?: SequencePool;
  scorer?: Promise<BatchScorer>;
  pieces?: Promise<TokenPieces>;
  leases: number;
  lastUsed: number;
}

/**
 * Model names → loaded models and contexts.
 *
 * @example
 * ```ts ignore
 * const registry = new ModelRegistry(resolveServeConfig({ maxContexts: 2 }));
 * await registry.start();
 * const lease = await registry.lease("tiny"); // 404 / 503 as ApiError
 * lease.done();
 * console.log(registry.stats());
 * ```
 */
export class ModelRegistry {
  #state: RegistryState = "loading";
  #error?: Error;
  #bases = new Map<string, Promise<PoolModel>>();
  #weights = new Map<string, Promise<LoraWeights>>();
  #templates = new Map<string, ChatTemplate | undefined>();
  #entries = new Map<string, Entry>();
  #clock = 0;
  #identities = new Map<string, Promise<ServedIdentity>>();
  #creating: Promise<unknown> = Promise.resolve();

  /** `config`: the resolved server config. */
  constructor(readonly config: ServeConfig) {}

  /** "loading" until {@linkcode start} finished. */
  get state(): RegistryState {
    return this.#state;
  }

  /** Why loading failed, when `state` is "failed". */
  get error(): Error | undefined {
    return this.#error;
  }

  /** The model names, in config order. */
  names(): string[] {
    return Object.keys(this.config.models);
  }

  /**
   * Check every file, load every base model and create the first model name's context.
   * Throws (and sets state "failed") with a message that names the file and the fix.
   */
  async start(): Promise<void> {
    try {
      for (const [name, m] of Object.entries(this.config.models)) checkFiles(name, m);
      for (const name of Object.keys(this.config.models)) await this.#base(name);
      const first = this.names()[0];
      if (first) await this.#open(first);
      this.#state = "ready";
    } catch (e) {
      this.#state = "failed";
      this.#error = e as Error;
      throw e;
    }
  }

  /**
   * Hold `name`'s context (creating it if needed). Throws 404 for an unknown name, 503 while
   * loading or when every context is busy and none can be evicted.
   */
  async lease(name: string): Promise<PoolLease> {
    const served = this.config.models[name];
    if (!served) {
      throw new ApiError(
        HTTP.notFound,
        `The model '${name}' does not exist. Models served here: ${this.names().join(", ")} ` +
          `(GET /v1/models lists them).`,
        "invalid_request_error",
        "model_not_found",
        "model",
      );
    }
    if (this.#state !== "ready") {
      throw new ApiError(
        HTTP.unavailable,
        this.#state === "loading"
          ? "the server is still loading its models; retry in a moment"
          : `the server cannot serve models (${this.#state}${
            this.#error ? `: ${this.#error.message}` : ""
          })`,
        "server_error",
        this.#state === "loading" ? "model_loading" : "unavailable",
      );
    }
    const entry = this.#entry(name);
    entry.leases++;
    entry.lastUsed = ++this.#clock;
    try {
      if (!entry.pool) {
        // One context creation at a time, so two new names cannot both take the last room.
        const turn = this.#creating.then(async () => {
          if (!entry.pool) await this.#makeRoom(name);
          return this.#open(name);
        });
        this.#creating = turn.catch(() => undefined);
        await turn;
      }
      const pool = await this.#open(name);
      const chatTemplate = this.#templates.get(templateKey(served));
      let released = false;
      return {
        name,
        pool,
        chatTemplate,
        scorer: () => this.#scorer(entry, name, pool),
        pieces: () => this.#pieces(entry, name, pool),
        done: () => {
          if (!released) entry.leases--;
          released = true;
        },
      };
    } catch (e) {
      entry.leases--;
      throw e;
    }
  }

  /**
   * What decides `name`'s outputs (file hashes of its GGUF and adapters, its context size), for
   * clients that check that several servers serve the same model. Only once `state` is "ready".
   */
  identity(name: string): Promise<ServedIdentity> {
    let id = this.#identities.get(name);
    if (!id) {
      const served = this.config.models[name];
      id = (async () => {
        const loaded = await this.#base(name);
        const weights = await this.#weightsOf(name);
        const adapters = [];
        for (const a of served.adapters) {
          adapters.push({ sha256: await fileSha256(a.path), scale: a.scale ?? 1 });
        }
        const contextSize = this.config.contextSize ?? defaultContextSize(loaded);
        const applied: Pick<ServedIdentity, "lora_applied"> = adapters.length
          ? { lora_applied: weights.merged ? "merged" : "runtime" }
          : {};
        return {
          model_sha256: weights.merged ? await fileSha256(served.model) : loaded.info.sha256,
          adapters,
          ...applied,
          context_size: contextSize,
        };
      })();
      this.#identities.set(name, id);
    }
    return id;
  }

  /** Per model name with a live context: its sequences, busy and waiting counts. */
  stats(): Record<string, SequencePoolStats> {
    const out: Record<string, SequencePoolStats> = {};
    for (const [name, entry] of this.#entries) {
      if (entry.ready) out[name] = entry.ready.stats;
    }
    return out;
  }

  /**
   * Free every context and model, after the requests holding a context let go of it (they
   * should be aborted first) or `graceMs` passed.
   */
  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    this.#state = "closed";
    const start = performance.now();
    while (this.#leases() > 0 && performance.now() - start < graceMs) {
      await new Promise((r) => setTimeout(r, CLOSE_POLL_MS));
    }
    for (const entry of this.#entries.values()) await disposeEntry(entry);
    this.#entries.clear();
    for (const base of this.#bases.values()) {
      const loaded = await base.catch(() => undefined);
      await loaded?.model.dispose();
    }
    this.#bases.clear();
  }

  #leases(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.leases;
    return n;
  }

  #entry(name: string): Entry {
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = { leases: 0, lastUsed: 0 };
      this.#entries.set(name, entry);
    }
    return entry;
  }

  /**
   * `name`'s weights: its base GGUF with its adapters at runtime, or — with `loraMode` "auto",
   * when no other served name uses that base and the merge can be done — the base with the
   * adapters merged into a cached copy (lib/llm/lora_merge.ts), loaded instead of the base.
   */
  #weightsOf(name: string): Promise<LoraWeights> {
    let w = this.#weights.get(name);
    if (!w) {
      const m = this.config.models[name];
      const shared = Object.values(this.config.models).filter((x) =>
        x.model === m.model
      ).length > 1;
      w = loraWeights(m.model, m.adapters, shared ? "runtime" : this.config.loraMode, `${name}: `);
      this.#weights.set(name, w);
    }
    return w;
  }

  async #base(name: string): Promise<PoolModel> {
    const m = this.config.models[name];
    const { path } = await this.#weightsOf(name);
    let base = this.#bases.get(path);
    if (!base) {
      // On CPU every context is a batched generator on libllama's one copy of the weights, and
      // the tokenizer, detokenizer and chat template come from that same load: node-llama-cpp is
      // not loaded at all with --cpu, and only to find out whether there is a GPU otherwise.
      const gpu = this.config.gpu;
      base = gpu === false
        ? loadLibllamaModel(path)
        : getRuntime(gpu).then((llama): Promise<PoolModel> =>
          usesBatchedGenerator(llama) ? loadLibllamaModel(path) : loadModel(path, { gpu })
        );
      this.#bases.set(path, base);
    }
    const loaded = await base;
    const key = templateKey(m);
    if (!this.#templates.has(key)) {
      this.#templates.set(
        key,
        m.chatTemplate
          ? new ChatTemplate(readFileSync(m.chatTemplate, "utf8"), {
            bosToken: loaded.model.tokens.bosString ?? "",
            eosToken: loaded.model.tokens.eosString ?? "",
            source: m.chatTemplate,
          })
          : modelChatTemplate(loaded.model),
      );
    }
    return loaded;
  }

  /** `name`'s pool, created when missing (a failed creation is retried by the next request). */
  #open(name: string): Promise<SequencePool> {
    const entry = this.#entry(name);
    if (!entry.pool) {
      const pool = this.#createPool(name).then((p) => {
        if (entry.pool === pool) entry.ready = p;
        return p;
      }, (e) => {
        if (entry.pool === pool) entry.pool = undefined;
        throw e;
      });
      entry.pool = pool;
    }
    return entry.pool;
  }

  async #createPool(name: string): Promise<SequencePool> {
    const loaded = await this.#base(name);
    const { lora } = await this.#weightsOf(name);
    const pool = await SequencePool.create(loaded, {
      sequences: this.config.sequences,
      contextSize: this.config.contextSize ?? undefined,
      batchSize: this.config.batchSize,
      threads: this.config.threads,
      lora,
      maxWaiting: this.config.maxQueue,
    });
    return pool;
  }

  /** `name`'s prompt scorer, created on first use (a failed creation is retried by the next call). */
  #scorer(entry: Entry, name: string, pool: SequencePool): Promise<BatchScorer> {
    if (!entry.scorer) {
      const scorer = (async () => {
        const loaded = await this.#base(name);
        const { lora } = await this.#weightsOf(name);
        return BatchScorer.open(loaded.info.path, {
          threads: this.config.scoreThreads || navigator.hardwareConcurrency || 1,
          batchSize: this.config.scoreBatchSize,
          contextSize: Math.max(pool.contextSize, this.config.scoreBatchSize),
          lora,
        });
      })();
      entry.scorer = scorer;
      scorer.catch(() => {
        if (entry.scorer === scorer) entry.scorer = undefined;
      });
    }
    return entry.scorer;
  }

  #pieces(entry: Entry, name: string, pool: SequencePool): Promise<TokenPieces> {
    entry.pieces ??= (async () => {
      const tokenize = (text: string) => pool.loaded.model.tokenize(text, false);
      if (pool.context instanceof BatchGenerator) return pool.context.pieces(tokenize);
      return (await this.#scorer(entry, name, pool)).pieces(tokenize);
    })();
    return entry.pieces;
  }

  /** Evict the least recently used idle context while `maxContexts` are live. */
  async #makeRoom(forName: string): Promise<void> {
    const live = () => [...this.#entries].filter(([, e]) => e.pool);
    while (live().length >= this.config.maxContexts) {
      const idle = live()
        .filter(([n, e]) => n !== forName && e.leases === 0)
        .sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
      if (!idle) {
        throw new ApiError(
          HTTP.unavailable,
          `all ${this.config.maxContexts} model contexts are in use, so '${forName}' cannot be ` +
            `loaded now; retry in a moment (or raise maxContexts)`,
          "server_error",
          "contexts_busy",
        );
      }
      const [, entry] = idle;
      const gone = { ...entry };
      entry.pool = undefined;
      entry.ready = undefined;
      entry.scorer = undefined;
      entry.pieces = undefined;
      await disposeEntry(gone);
    }
  }
}

/** Free an entry's context and scorer. */
async function disposeEntry(entry: Entry): Promise<void> {
  const pool = await entry.pool?.catch(() => undefined);
  await pool?.dispose();
  const scorer = await entry.scorer?.catch(() => undefined);
  await scorer?.dispose();
}

function templateKey(m: ServedModel): string {
  return `${m.model}\u0000${m.chatTemplate ?? ""}`;
}

function checkFiles(name: string, m: ServedModel): void {
  for (const a of m.adapters) {
    if (!existsSync(a.path)) {
      throw new Error(
        `model '${name}': LoRA adapter file ${a.path} not found. Pass --adapter NAME=FILE.gguf ` +
          `with a GGUF LoRA adapter (export one with lib/gguf), or fix the config's adapters.`,
      );
    }
  }
  if (m.chatTemplate && !existsSync(m.chatTemplate)) {
    throw new Error(`model '${name}': chat template file ${m.chatTemplate} not found`);
  }
}
