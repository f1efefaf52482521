/**
 * One model context (with its LoRA adapters) and its parallel sequences, lent out one request at
 * a time: a bounded wait queue, abortable waits, and sequences cleared on return. On CPU the
 * context is a {@linkcode BatchGenerator} (llama.cpp's C API, continuous batching, one decode per
 * step for every sequence) and a sequence is one of its slots; elsewhere (a GPU, or
 * `engine: "node-llama-cpp"`) it is a node-llama-cpp context whose sequences' tokens share its
 * decodes, with native sampling serialized ({@linkcode serializeNativeSampling}) so concurrent
 * sampled generations stay exact.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * import { SequencePool } from "./sequence_pool.ts";
 * const pool = await SequencePool.create(await loadModel("data/models/tiny/tiny-f32.gguf"));
 * const seq = await pool.acquire();
 * try {
 *   // seq.evaluate(...)
 * } finally {
 *   await pool.release(seq);
 * }
 * ```
 * @module
 */
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import { createSequencesContext, defaultContextSize } from "./batching.ts";
import { defaultThreads, type LoraAdapter } from "./engine.ts";
import { BatchGenerator } from "./batch_generator.ts";
import { type LibllamaLoadedModel, LibllamaModel } from "./libllama_model.ts";
import type { LoadedModel } from "./model.ts";
import type { ModelVocabulary } from "./model_vocabulary.ts";

/**
 * A model a pool generates with: loaded by node-llama-cpp (lib/llm/model.ts), or by libllama alone
 * (lib/llm/libllama_model.ts: the batched generator only).
 */
export type PoolModel = LoadedModel | LibllamaLoadedModel;

/** Options for {@linkcode SequencePool.create}. */
export interface SequencePoolOptions {
  /** Parallel sequences in the context. Default: 4. */
  sequences?: number;
  /** Tokens per sequence. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Tokens per decode. Default: 512. */
  batchSize?: number;
  /** LoRA adapters to apply. Default: none. */
  lora?: LoraAdapter[];
  /** CPU threads for llama.cpp (0 = {@linkcode defaultThreads}). Default: 0. */
  threads?: number;
  /** Requests that may wait for a sequence before {@linkcode QueueFullError}. Default: 64. */
  maxWaiting?: number;
  /**
   * What generates: "batched" ({@linkcode BatchGenerator}), "node-llama-cpp" (its context and
   * sequences), or "auto": "batched" on CPU, else "node-llama-cpp". Default: "auto".
   */
  engine?: "auto" | "batched" | "node-llama-cpp";
}

/**
 * Whether a pool with `engine` on `llama`'s runtime generates with the {@linkcode BatchGenerator}
 * (libllama; then node-llama-cpp needs the model's vocabulary only, loadModel's `vocabOnly`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usesBatchedGenerator } from "./sequence_pool.ts";
 * assert.equal(usesBatchedGenerator({ gpu: false }, "auto"), true);
 * assert.equal(usesBatchedGenerator({ gpu: "cuda" }, "auto"), false);
 * assert.equal(usesBatchedGenerator({ gpu: "cuda" }, "batched"), true);
 * ```
 */
export function usesBatchedGenerator(
  llama: Pick<LoadedModel["llama"], "gpu">,
  engine: SequencePoolOptions["engine"] = "auto",
): boolean {
  return engine === "batched" || (engine === "auto" && llama.gpu === false);
}

/** A slot of a {@linkcode BatchGenerator}, lent out like a sequence. */
export interface GeneratorSlot {
  /** Slot number. */
  readonly slot: number;
  readonly generator: BatchGenerator;
  /** The model's vocabulary (tokenizer, detokenizer). */
  readonly model: ModelVocabulary;
  /** Tokens of KV cache per slot. */
  readonly contextSize: number;
}

/** What {@linkcode SequencePool.acquire} lends: a node-llama-cpp sequence or a generator slot. */
export type PoolSequence = LlamaContextSequence | GeneratorSlot;

/** How busy a pool is. */
export interface SequencePoolStats {
  /** Sequences in the context. */
  sequences: number;
  /** Sequences lent out. */
  busy: number;
  /** Requests waiting for a sequence. */
  waiting: number;
}

/**
 * Thrown by {@linkcode SequencePool.acquire} when the wait queue is full.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueueFullError } from "./sequence_pool.ts";
 * assert.equal(
 *   new QueueFullError(64, 64).message,
 *   "all sequences are busy and 64 requests are already waiting (limit 64); retry later or raise the queue limit",
 * );
 * ```
 */
export class QueueFullError extends Error {
  /** `waiting`: requests already waiting; `limit`: the queue's bound. */
  constructor(readonly waiting: number, readonly limit: number) {
    super(
      `all sequences are busy and ${waiting} requests are already waiting (limit ${limit}); ` +
        `retry later or raise the queue limit`,
    );
    this.name = "QueueFullError";
  }
}

const DEFAULT_SEQUENCES = 4;
const DEFAULT_BATCH = 512;
const DEFAULT_MAX_WAITING = 64;

interface Waiter {
  resolve: (s: PoolSequence) => void;
  reject: (e: unknown) => void;
}

/**
 * A context whose sequences are lent to one request at a time.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * const pool = await SequencePool.create(loaded, { sequences: 8, maxWaiting: 16 });
 * const seq = await pool.acquire(request.signal); // waits, or throws QueueFullError
 * await pool.release(seq);
 * assert.deepEqual(pool.stats, { sequences: 8, busy: 0, waiting: 0 });
 * ```
 */
export class SequencePool {
  #free: PoolSequence[] = [];
  #waiters: Waiter[] = [];
  #eog?: Token[];
  /** Tokens per sequence. */
  readonly contextSize: number;
  /** Sequences in the context. */
  readonly sequences: number;

  private constructor(
    readonly loaded: PoolModel,
    /** The node-llama-cpp context, or the batched generator. */
    readonly context: LlamaContext | BatchGenerator,
    readonly maxWaiting: number,
  ) {
    if (context instanceof BatchGenerator) {
      for (let i = context.sequences - 1; i >= 0; i--) {
        this.#free.push({
          slot: i,
          generator: context,
          model: loaded.model,
          contextSize: context.contextSize,
        });
      }
      this.sequences = context.sequences;
    } else {
      for (let i = 0; i < context.totalSequences; i++) this.#free.push(context.getSequence());
      this.sequences = context.totalSequences;
    }
    this.contextSize = context.contextSize;
  }

  /** Create a context with `sequences` parallel sequences on a loaded model (plus LoRA adapters). */
  static async create(
    loaded: PoolModel,
    options: SequencePoolOptions = {},
  ): Promise<SequencePool> {
    const {
      sequences = DEFAULT_SEQUENCES,
      contextSize = defaultContextSize(loaded),
      batchSize = DEFAULT_BATCH,
      lora = [],
      threads = 0,
      maxWaiting = DEFAULT_MAX_WAITING,
      engine = "auto",
    } = options;
    if (usesBatchedGenerator(loaded.llama, engine)) {
      const generator = BatchGenerator.open(loaded.info.path, {
        sequences,
        contextSize,
        batchSize,
        threads: threads || defaultThreads(),
        lora,
      });
      return new SequencePool(loaded, generator, maxWaiting);
    }
    if (isLibllamaLoaded(loaded)) {
      throw new Error(
        `${loaded.info.path}: loaded through libllama alone, which generates with the batched ` +
          `generator only; load it with lib/llm/model.ts's loadModel for node-llama-cpp's engine`,
      );
    }
    const context = await createSequencesContext(loaded, {
      sequences,
      contextSize,
      batchSize,
      threads: threads || defaultThreads(),
      lora,
      batching: "shared",
    });
    return new SequencePool(loaded, context, maxWaiting);
  }

  /** Sequences lent out and requests waiting. */
  get stats(): SequencePoolStats {
    return {
      sequences: this.sequences,
      busy: this.sequences - this.#free.length,
      waiting: this.#waiters.length,
    };
  }

  /**
   * Borrow a sequence, waiting while all are busy. Throws {@linkcode QueueFullError} when
   * `maxWaiting` requests already wait, and `signal.reason` when `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<PoolSequence> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const s = this.#free.pop();
    if (s) return Promise.resolve(s);
    if (this.#waiters.length >= this.maxWaiting) {
      return Promise.reject(new QueueFullError(this.#waiters.length, this.maxWaiting));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (seq) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(seq);
        },
        reject,
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Return a sequence: its history is cleared and the next waiter gets it. */
  async release(sequence: PoolSequence): Promise<void> {
    try {
      // A generator slot's cache is cleared when its generation ends.
      if (!("generator" in sequence)) await sequence.clearHistory();
    } finally {
      const next = this.#waiters.shift();
      if (next) next.resolve(sequence);
      else this.#free.push(sequence);
    }
  }

  /** Tokens in the model's vocabulary. */
  get vocabularySize(): number {
    return vocabularySize(this.loaded);
  }

  /** End-of-generation tokens of the model's vocabulary (EOS, EOT, …), computed once. */
  eogTokens(): Token[] {
    if (!this.#eog) {
      const model = this.loaded.model;
      const n = vocabularySize(this.loaded);
      const eog: Token[] = [];
      for (let t = 0; t < n; t++) if (model.isEogToken(t as Token)) eog.push(t as Token);
      for (const t of [model.tokens.eos, model.tokens.eot]) {
        if (t !== null && !eog.includes(t)) eog.push(t);
      }
      this.#eog = eog;
    }
    return this.#eog;
  }

  /** Free the context; requests still waiting are rejected. */
  async dispose(): Promise<void> {
    for (const w of this.#waiters.splice(0)) {
      w.reject(new Error("the model context was closed while this request waited"));
    }
    await this.context.dispose();
  }
}

/** Whether `loaded` was loaded through libllama alone (lib/llm/libllama_model.ts). */
function isLibllamaLoaded(loaded: PoolModel): loaded is LibllamaLoadedModel {
  return loaded.model instanceof LibllamaModel;
}

function vocabularySize(loaded: PoolModel): number {
  if (isLibllamaLoaded(loaded)) return loaded.model.vocabularySize;
  const meta = loaded.model.fileInfo.metadata as unknown as Record<string, Record<string, unknown>>;
  const tokens = (meta.tokenizer?.ggml as { tokens?: unknown[] } | undefined)?.tokens;
  if (Array.isArray(tokens)) return tokens.length;
  return Number(meta[loaded.info.architecture]?.vocab_size ?? 0);
}
