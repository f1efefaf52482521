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
 * loads for CPU). It loads the GGUF a second time, beside node-llama-cpp's copy: llama.cpp
 * memory-maps the weights, so their pages are shared, except tensors it repacks for its CPU
 * kernels, which take memory twice. The C API's structs and functions are in lib/llm/_libllama.ts.
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
import {
  createLlamaContext,
  freeLlamaContext,
  LlamaBatch,
  type LlamaHandles,
} from "./_libllama.ts";

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
  readonly #h: LlamaHandles;
  readonly #mem: Deno.PointerValue;
  readonly #b: LlamaBatch;
  readonly #batchSize: number;
  readonly #maxSeqs: number;
  readonly #queue: Job[] = [];
  #running: Promise<void> | undefined;
  #disposed = false;
  /** Tokens decoded so far. */
  tokensEvaluated = 0;

  private constructor(h: LlamaHandles, batchSize: number, maxSeqs: number) {
    this.#h = h;
    this.#mem = h.lib.symbols.llama_get_memory(h.ctx);
    this.#batchSize = batchSize;
    this.#maxSeqs = maxSeqs;
    this.#b = new LlamaBatch(h.lib, batchSize, maxSeqs);
  }

  /**
   * Load `modelPath` through libllama and create a context for scoring. Throws, naming the file,
   * when the model or an adapter does not load.
   */
  static open(modelPath: string, options: BatchScorerOptions = {}): BatchScorer {
    const { threads = 1, batchSize = 1024, lora = [] } = options;
    // llama.cpp reserves outputs for max(n_outputs, n_seq_max) and asserts that is ≤ n_batch.
    const maxSequences = Math.min(options.maxSequences ?? 128, batchSize);
    const h = createLlamaContext(modelPath, {
      nCtx: batchSize,
      nBatch: batchSize,
      nSeqMax: maxSequences,
      threads,
      kvUnified: true,
    }, lora);
    return new BatchScorer(h, batchSize, maxSequences);
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
          const rc = await this.#h.lib.symbols.llama_decode(this.#h.ctx, this.#b.struct);
          if (rc !== 0) throw new Error(`llama_decode failed (${rc})`);
          this.#resolve(jobs, rows);
        } catch (e) {
          for (const j of jobs) j.reject(e as Error);
        } finally {
          this.#h.lib.symbols.llama_memory_clear(this.#mem, false);
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
        this.#b.token[n] = context[i];
        this.#b.pos[n] = i;
        this.#b.nSeqId[n] = seqs;
        for (let s = 0; s < seqs; s++) this.#b.seqIds[n][s] = seq + s;
        this.#b.logits[n] = i === context.length - 1 ? 1 : 0;
        n++;
      }
      const ctxRow = n - 1;
      const contRows = conts.map((cont, c) => {
        const rows: number[] = [];
        for (let k = 0; k < cont.length - 1; k++) {
          this.#b.token[n] = cont[k];
          this.#b.pos[n] = context.length + k;
          this.#b.nSeqId[n] = 1;
          this.#b.seqIds[n][0] = seq + c;
          this.#b.logits[n] = 1;
          rows.push(n++);
        }
        return rows;
      });
      seq += seqs;
      out.push({ ctxRow, contRows });
    }
    this.#b.setTokens(n);
    this.tokensEvaluated += n;
    return out;
  }

  #resolve(jobs: Job[], rows: { ctxRow: number; contRows: number[][] }[]): void {
    const V = this.#h.nVocab;
    const row = (i: number) => {
      const p = this.#h.lib.symbols.llama_get_logits_ith(this.#h.ctx, i);
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
    this.#b.free();
    freeLlamaContext(this.#h);
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
