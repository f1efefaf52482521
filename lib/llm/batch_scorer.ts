/**
 * Multiple-choice scoring in llama-perplexity's scheme, through llama.cpp's C API in the libllama
 * that node-llama-cpp ships (Deno FFI): many questions go into one `llama_decode`; a question's
 * context tokens are in the batch once, tagged with one sequence id per choice, and each choice's
 * tokens follow under its own id, so the context's KV cache is computed once and shared by its
 * choices; logits are requested only at positions whose next token is scored, and log-softmax is
 * taken from the logits in place. node-llama-cpp's own API turns every scored position into an
 * asynchronous native call that returns the whole vocabulary as a `Map`; this path reads the
 * logits row where llama.cpp wrote it.
 *
 * It serves {@linkcode LlmEngine.scoreChoices} on CPU (the prebuilt libllama node-llama-cpp
 * loads for CPU; the weights are memory-mapped, so their pages are shared with node-llama-cpp's
 * copy). Layouts of `llama_context_params`, `llama_model_params` and `llama_batch` come from
 * `include/llama.h` of the llama.cpp source node-llama-cpp bundles, the release of the binary,
 * and are checked at run time against the library's defaults.
 *
 * @example
 * ```ts ignore
 * import { BatchScorer } from "./batch_scorer.ts";
 * const scorer = BatchScorer.open("data/models/tiny/tiny-f32.gguf", { threads: 1 });
 * const s = await scorer.score([1, 15, 27], [[30, 31], [40]]); // token ids: context, choices
 * console.log(s.logprobs, s.isGreedy);
 * await scorer.dispose();
 * ```
 * @module
 */
import { findLibllama } from "../gguf/_ffi.ts";

/** `struct llama_model_params` (llama.h): 80 bytes; tunebook sets none of its fields. */
const MODEL_PARAMS = {
  struct: [
    "pointer", // devices
    "pointer", // tensor_buft_overrides
    "i32", // n_gpu_layers
    "i32", // split_mode
    "i32", // load_mode
    "i32", // lazy_mode
    "i32", // main_gpu (+4 padding)
    "pointer", // tensor_split
    "pointer", // progress_callback
    "pointer", // progress_callback_user_data
    "pointer", // kv_overrides
    "u8", // vocab_only
    "u8", // check_tensors
    "u8", // use_extra_bufts
    "u8", // no_host
    "u8", // no_alloc
    "u8", // load_mtp (+2 padding)
  ],
} as const;

/** `struct llama_context_params` (llama.h): 160 bytes; byte offsets of the fields set here. */
const CTX = {
  nCtx: 0,
  nBatch: 4,
  nUbatch: 8,
  nSeqMax: 12,
  nThreads: 28,
  nThreadsBatch: 32,
  embeddings: 128,
  kvUnified: 133,
  size: 160,
} as const;
const CONTEXT_PARAMS = {
  struct: [
    ...Array(9).fill("u32"), // n_ctx … n_threads_batch
    ...Array(5).fill("i32"), // ctx_type, rope_scaling_type, pooling_type, attention_type, flash_attn_type
    ...Array(6).fill("f32"), // rope_freq_base … yarn_beta_slow
    "u32", // yarn_orig_ctx
    "f32", // defrag_thold
    "pointer", // cb_eval
    "pointer", // cb_eval_user_data
    "i32", // type_k
    "i32", // type_v
    "pointer", // abort_callback
    "pointer", // abort_callback_data
    ...Array(6).fill("u8"), // embeddings … kv_unified (+2 padding)
    "pointer", // samplers
    "usize", // n_samplers
    "pointer", // ctx_other
  ],
} as const;

/** `struct llama_batch` (llama.h): n_tokens, then six arrays. */
const BATCH = {
  struct: ["i32", "pointer", "pointer", "pointer", "pointer", "pointer", "pointer"],
} as const;
const BATCH_FIELD = { token: 8, pos: 24, nSeqId: 32, seqId: 40, logits: 48 } as const;

const SYMBOLS = {
  llama_model_default_params: { parameters: [], result: MODEL_PARAMS },
  llama_model_load_from_file: { parameters: ["buffer", MODEL_PARAMS], result: "pointer" },
  llama_model_free: { parameters: ["pointer"], result: "void" },
  llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" },
  llama_vocab_n_tokens: { parameters: ["pointer"], result: "i32" },
  llama_context_default_params: { parameters: [], result: CONTEXT_PARAMS },
  llama_init_from_model: { parameters: ["pointer", CONTEXT_PARAMS], result: "pointer" },
  llama_free: { parameters: ["pointer"], result: "void" },
  llama_get_memory: { parameters: ["pointer"], result: "pointer" },
  llama_memory_clear: { parameters: ["pointer", "bool"], result: "void" },
  llama_batch_init: { parameters: ["i32", "i32", "i32"], result: BATCH },
  llama_batch_free: { parameters: [BATCH], result: "void" },
  llama_decode: { parameters: ["pointer", BATCH], result: "i32", nonblocking: true },
  llama_get_logits_ith: { parameters: ["pointer", "i32"], result: "pointer" },
  llama_adapter_lora_init: { parameters: ["pointer", "buffer"], result: "pointer" },
  llama_adapter_lora_free: { parameters: ["pointer"], result: "void" },
  llama_set_adapters_lora: {
    parameters: ["pointer", "buffer", "usize", "buffer"],
    result: "i32",
  },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;
let lib: Lib | undefined;

function open(): Lib {
  if (lib) return lib;
  const path = findLibllama();
  const l = Deno.dlopen(path, SYMBOLS);
  // The declared layouts must be this library's: its defaults land where llama.h puts them.
  const c = new DataView(l.symbols.llama_context_default_params().buffer);
  if (c.getUint32(CTX.nBatch, true) !== 2048 || c.getUint32(CTX.nSeqMax, true) !== 1) {
    l.close();
    throw new Error(
      `${path}: llama_context_params defaults are not where lib/llm/batch_scorer.ts expects ` +
        `them; this libllama is from another llama.cpp release. Update the layouts from its llama.h.`,
    );
  }
  lib = l;
  return l;
}

/** Options for {@linkcode BatchScorer.open}. */
export interface BatchScorerOptions {
  /** llama.cpp threads. Default: 1. */
  threads?: number;
  /** Tokens per decode; also the KV cache size. A question must fit in it. Default: 1024. */
  batchSize?: number;
  /** Sequences per decode (one per choice), at most `batchSize`. Default: 128. */
  maxSequences?: number;
  /** LoRA adapters (GGUF) with scales. Default: none. */
  lora?: { path: string; scale?: number }[];
}

/** What {@linkcode BatchScorer.score} returns for one question. */
export interface BatchScore {
  /** Sum of log-probabilities of each choice's tokens. */
  logprobs: number[];
  /** Whether each choice is the greedy continuation, token by token. */
  isGreedy: boolean[];
}

interface Job {
  context: readonly number[];
  conts: readonly (readonly number[])[];
  resolve: (s: BatchScore) => void;
  reject: (e: Error) => void;
}

/** Thrown by {@linkcode BatchScorer.score} when a question does not fit in one decode. */
export class BatchTooSmallError extends Error {
  /** Tokens the question needs and the batch size. */
  constructor(readonly needed: number, readonly batchSize: number) {
    super(`question needs ${needed} tokens in one decode; the batch holds ${batchSize}`);
    this.name = "BatchTooSmallError";
  }
}

/**
 * Scores multiple-choice questions given as token ids, many per decode. Calls made while a
 * decode runs are queued and go into the next one.
 */
export class BatchScorer {
  readonly #lib: Lib;
  readonly #model: Deno.PointerValue;
  readonly #ctx: Deno.PointerValue;
  readonly #mem: Deno.PointerValue;
  readonly #adapters: Deno.PointerValue[];
  readonly #batch: Uint8Array<ArrayBuffer>;
  readonly #nVocab: number;
  readonly #batchSize: number;
  readonly #maxSeqs: number;
  readonly #token: Int32Array;
  readonly #pos: Int32Array;
  readonly #nSeqId: Int32Array;
  readonly #seqIds: Int32Array[];
  readonly #logits: Int8Array;
  readonly #queue: Job[] = [];
  #running: Promise<void> | undefined;
  #disposed = false;
  /** Tokens decoded so far. */
  tokensEvaluated = 0;

  private constructor(
    l: Lib,
    model: Deno.PointerValue,
    ctx: Deno.PointerValue,
    adapters: Deno.PointerValue[],
    batchSize: number,
    maxSeqs: number,
  ) {
    this.#lib = l;
    this.#model = model;
    this.#ctx = ctx;
    this.#adapters = adapters;
    this.#mem = l.symbols.llama_get_memory(ctx);
    this.#nVocab = l.symbols.llama_vocab_n_tokens(l.symbols.llama_model_get_vocab(model));
    this.#batchSize = batchSize;
    this.#maxSeqs = maxSeqs;
    this.#batch = l.symbols.llama_batch_init(batchSize, 0, maxSeqs) as Uint8Array<ArrayBuffer>;
    const field = (offset: number, bytes: number) => {
      const p = Deno.UnsafePointer.create(
        new DataView(this.#batch.buffer, this.#batch.byteOffset).getBigUint64(offset, true),
      );
      return Deno.UnsafePointerView.getArrayBuffer(p!, bytes);
    };
    this.#token = new Int32Array(field(BATCH_FIELD.token, batchSize * 4));
    this.#pos = new Int32Array(field(BATCH_FIELD.pos, batchSize * 4));
    this.#nSeqId = new Int32Array(field(BATCH_FIELD.nSeqId, batchSize * 4));
    this.#logits = new Int8Array(field(BATCH_FIELD.logits, batchSize));
    const seqPtrs = new BigUint64Array(field(BATCH_FIELD.seqId, batchSize * 8));
    this.#seqIds = [...seqPtrs].map((p) =>
      new Int32Array(
        Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(p)!, maxSeqs * 4),
      )
    );
  }

  /**
   * Load `modelPath` through libllama and create a context for scoring. Throws, naming the file,
   * when the model or an adapter does not load.
   */
  static open(modelPath: string, options: BatchScorerOptions = {}): BatchScorer {
    const { threads = 1, batchSize = 1024, lora = [] } = options;
    // llama.cpp reserves outputs for max(n_outputs, n_seq_max) and asserts that is ≤ n_batch.
    const maxSequences = Math.min(options.maxSequences ?? 128, batchSize);
    const l = open();
    const enc = (s: string) => new TextEncoder().encode(s + "\0");
    const model = l.symbols.llama_model_load_from_file(
      enc(modelPath),
      l.symbols.llama_model_default_params(),
    );
    if (model === null) throw new Error(`${modelPath}: libllama could not load this model`);
    const params = l.symbols.llama_context_default_params() as Uint8Array<ArrayBuffer>;
    const v = new DataView(params.buffer, params.byteOffset);
    v.setUint32(CTX.nCtx, batchSize, true);
    v.setUint32(CTX.nBatch, batchSize, true);
    v.setUint32(CTX.nUbatch, batchSize, true);
    v.setUint32(CTX.nSeqMax, maxSequences, true);
    v.setInt32(CTX.nThreads, threads, true);
    v.setInt32(CTX.nThreadsBatch, threads, true);
    v.setUint8(CTX.kvUnified, 1);
    const ctx = l.symbols.llama_init_from_model(model, params);
    if (ctx === null) {
      l.symbols.llama_model_free(model);
      throw new Error(`${modelPath}: libllama could not create a scoring context`);
    }
    const adapters: Deno.PointerValue[] = [];
    for (const a of lora) {
      const p = l.symbols.llama_adapter_lora_init(model, enc(a.path));
      if (p === null) {
        for (const q of adapters) l.symbols.llama_adapter_lora_free(q);
        l.symbols.llama_free(ctx);
        l.symbols.llama_model_free(model);
        throw new Error(`${a.path}: libllama could not load this LoRA adapter for ${modelPath}`);
      }
      adapters.push(p);
    }
    if (adapters.length) {
      const ptrs = new BigUint64Array(adapters.map((p) => BigInt(Deno.UnsafePointer.value(p))));
      const scales = new Float32Array(lora.map((a) => a.scale ?? 1));
      l.symbols.llama_set_adapters_lora(ctx, ptrs, BigInt(adapters.length), scales);
    }
    return new BatchScorer(l, model, ctx, adapters, batchSize, maxSequences);
  }

  /** Tokens a question takes in a decode: its context once, each choice but its last token. */
  static tokensNeeded(context: readonly number[], conts: readonly (readonly number[])[]): number {
    return context.length + conts.reduce((n, c) => n + Math.max(0, c.length - 1), 0);
  }

  /** Whether a question fits in one decode of this scorer. */
  fits(context: readonly number[], conts: readonly (readonly number[])[]): boolean {
    return BatchScorer.tokensNeeded(context, conts) <= this.#batchSize &&
      conts.length <= this.#maxSeqs && context.length > 0;
  }

  /**
   * Log-likelihood of each continuation (token ids) after the context (token ids, BOS included).
   * Rejects with {@linkcode BatchTooSmallError} when the question does not fit in one decode.
   */
  score(context: readonly number[], conts: readonly (readonly number[])[]): Promise<BatchScore> {
    if (this.#disposed) return Promise.reject(new Error("the scorer was disposed"));
    if (!this.fits(context, conts)) {
      return Promise.reject(
        new BatchTooSmallError(BatchScorer.tokensNeeded(context, conts), this.#batchSize),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ context, conts, resolve, reject });
      // The first caller of a turn starts the loop; the others of the turn queue first.
      this.#running ??= Promise.resolve().then(() => this.#run());
    });
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length && !this.#disposed) {
        const jobs = this.#take();
        try {
          const rows = this.#fill(jobs);
          const rc = await this.#lib.symbols.llama_decode(this.#ctx, this.#batch);
          if (rc !== 0) throw new Error(`llama_decode failed (${rc})`);
          this.#resolve(jobs, rows);
        } catch (e) {
          for (const j of jobs) j.reject(e as Error);
        } finally {
          this.#lib.symbols.llama_memory_clear(this.#mem, false);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  /** The queued questions that fit in one decode, in order. */
  #take(): Job[] {
    const jobs: Job[] = [];
    let tokens = 0, seqs = 0;
    while (this.#queue.length) {
      const j = this.#queue[0];
      const t = BatchScorer.tokensNeeded(j.context, j.conts);
      const s = Math.max(1, j.conts.length);
      if (jobs.length && (tokens + t > this.#batchSize || seqs + s > this.#maxSeqs)) break;
      jobs.push(this.#queue.shift()!);
      tokens += t;
      seqs += s;
    }
    return jobs;
  }

  /** Write the questions into the batch; return, per question, the batch rows of its logits. */
  #fill(jobs: Job[]): { ctxRow: number; contRows: number[][] }[] {
    let n = 0, seq = 0;
    const out = [];
    for (const { context, conts } of jobs) {
      const seqs = Math.max(1, conts.length);
      for (let i = 0; i < context.length; i++) {
        this.#token[n] = context[i];
        this.#pos[n] = i;
        this.#nSeqId[n] = seqs;
        for (let s = 0; s < seqs; s++) this.#seqIds[n][s] = seq + s;
        this.#logits[n] = i === context.length - 1 ? 1 : 0;
        n++;
      }
      const ctxRow = n - 1;
      const contRows = conts.map((cont, c) => {
        const rows: number[] = [];
        for (let k = 0; k < cont.length - 1; k++) {
          this.#token[n] = cont[k];
          this.#pos[n] = context.length + k;
          this.#nSeqId[n] = 1;
          this.#seqIds[n][0] = seq + c;
          this.#logits[n] = 1;
          rows.push(n++);
        }
        return rows;
      });
      seq += seqs;
      out.push({ ctxRow, contRows });
    }
    new DataView(this.#batch.buffer, this.#batch.byteOffset).setInt32(0, n, true);
    this.tokensEvaluated += n;
    return out;
  }

  #resolve(jobs: Job[], rows: { ctxRow: number; contRows: number[][] }[]): void {
    const V = this.#nVocab;
    const row = (i: number) => {
      const p = this.#lib.symbols.llama_get_logits_ith(this.#ctx, i);
      if (p === null) throw new Error(`llama.cpp returned no logits for batch row ${i}`);
      return new Float32Array(Deno.UnsafePointerView.getArrayBuffer(p, V * 4));
    };
    jobs.forEach((job, q) => {
      const first = logSoftmaxOf(row(rows[q].ctxRow));
      const logprobs: number[] = [];
      const isGreedy: boolean[] = [];
      job.conts.forEach((cont, c) => {
        let sum = 0;
        let greedy = true;
        for (let k = 0; k < cont.length; k++) {
          const dist = k === 0 ? first : logSoftmaxOf(row(rows[q].contRows[c][k - 1]));
          sum += dist.logits[cont[k]] - dist.logZ;
          if (dist.argmax !== cont[k]) greedy = false;
        }
        logprobs.push(sum);
        isGreedy.push(greedy);
      });
      job.resolve({ logprobs, isGreedy });
    });
  }

  /** Free the context, adapters and model after the decode in progress. Queued calls reject. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const j of this.#queue.splice(0)) j.reject(new Error("the scorer was disposed"));
    await this.#running;
    const s = this.#lib.symbols;
    s.llama_batch_free(this.#batch);
    s.llama_free(this.#ctx);
    for (const a of this.#adapters) s.llama_adapter_lora_free(a);
    s.llama_model_free(this.#model);
  }
}

/** log Σ exp(logits) and the argmax of a logits row (read in place, not copied). */
function logSoftmaxOf(
  logits: Float32Array,
): { logits: Float32Array; logZ: number; argmax: number } {
  let max = -Infinity, argmax = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > max) {
      max = logits[i];
      argmax = i;
    }
  }
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return { logits, logZ: max + Math.log(sum), argmax };
}
