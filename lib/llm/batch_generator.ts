/**
 * Continuous-batching token generation through llama.cpp's C API (Deno FFI, the libllama
 * node-llama-cpp ships for CPU), as llama-server does it: every step is one `llama_decode` holding
 * one token for each sequence that is generating plus chunks of new prompts, and each sequence's
 * next token is drawn by its own llama.cpp sampler chain (logit bias, top-p, temperature, seeded
 * distribution; greedy at temperature 0) straight from the logits. node-llama-cpp's own
 * generation makes an asynchronous native call, and a promise round trip, per sequence per token;
 * here one asynchronous call per step serves all sequences.
 *
 * Sequences are numbered slots (0 … `sequences` − 1), each with its own KV cache stream of
 * `contextSize` tokens; the caller lends them out (lib/llm/sequence_pool.ts). A slot generates at
 * most a few tokens ahead of its consumer.
 *
 * @example
 * ```ts ignore
 * import { BatchGenerator } from "./batch_generator.ts";
 * const gen = BatchGenerator.open("data/models/tiny/tiny-f32.gguf", { sequences: 4 });
 * for await (const t of gen.generate(0, [1, 15, 27], { temperature: 0 })) console.log(t);
 * await gen.dispose();
 * ```
 * @module
 */
import {
  createLlamaContext,
  freeLlamaContext,
  LlamaBatch,
  type LlamaHandles,
} from "./_libllama.ts";
import { logitsRow, rowDistribution, type TokenLogprob } from "./_logits.ts";
import { TokenPieces } from "./token_pieces.ts";

/**
 * Tokens a slot may generate ahead of its consumer. Generating ahead keeps every slot in every
 * decode (a consumer that has not asked again yet would otherwise miss the step); the bound stops
 * a slow or gone consumer's slot from running on.
 */
const READ_AHEAD = 4;

/**
 * Decodes that took less than this (ms) last time run on the JavaScript thread; longer ones on a
 * worker thread, so the server stays responsive. A worker-thread call costs a thread hop and a
 * promise per step, which for a small model is most of the step: measured on the tiny model with
 * 4 streaming clients (one-off runs of `deno task bench:serve --concurrency 4`), 0.76×
 * llama-server's tokens/s off the thread and 0.82× on it.
 */
const SYNC_DECODE_MS = 2;

/** Options for {@linkcode BatchGenerator.open}. */
export interface BatchGeneratorOptions {
  /** Slots (parallel sequences). Default: 4. */
  sequences?: number;
  /** Tokens of KV cache per slot. Default: 2048. */
  contextSize?: number;
  /** Tokens per decode (prompt chunks and one token per generating slot). Default: 512. */
  batchSize?: number;
  /** llama.cpp threads. Default: 1. */
  threads?: number;
  /** LoRA adapters (GGUF) with scales. Default: none. */
  lora?: { path: string; scale?: number }[];
}

/** How a slot draws its tokens. */
export interface SlotSampling {
  /** 0 or less: greedy. Default: 1. */
  temperature?: number;
  /** Nucleus sampling; 1 turns it off. Default: 1. */
  topP?: number;
  /** Seed of the distribution sampler. Default: 0. */
  seed?: number;
  /** Tokens never drawn (logit bias −∞). Default: none. */
  bannedTokens?: readonly number[];
  /**
   * Report each drawn token's log-probability under the model's distribution (before any
   * sampling setting) with this many alternatives, end-of-generation token included, in the order
   * drawn (a few may come before the consumer takes them). Default: none.
   */
  logprobs?: { top: number; onToken: (token: GeneratedLogprob) => void };
}

/** A drawn token's log-probability and the most likely alternatives at its position. */
export interface GeneratedLogprob extends TokenLogprob {
  /** Whether the token is the arg-max of the distribution. */
  isGreedy: boolean;
  /** The most likely tokens, most likely first. */
  top: TokenLogprob[];
}

interface Slot {
  id: number;
  prompt: readonly number[];
  /** Prompt tokens decoded so far. */
  promptDone: number;
  /** Tokens in the slot's KV cache. */
  nPast: number;
  sampler: Deno.PointerValue;
  logprobs: SlotSampling["logprobs"];
  /** Sampled, not yet fed back into the cache. */
  feed: number | undefined;
  /** Sampled tokens the consumer has not taken (null: end of generation). */
  ready: (number | null)[];
  waiter: { resolve: (t: number | null) => void; reject: (e: Error) => void } | undefined;
  closed: boolean;
}

/** Thrown by {@linkcode BatchGenerator.generate} for a slot that is generating already. */
export class SlotBusyError extends Error {
  constructor(slot: number) {
    super(`slot ${slot} is generating already; wait for its generation to end`);
    this.name = "SlotBusyError";
  }
}

/** Token generation for many slots at once, one decode per step. */
export class BatchGenerator {
  readonly #h: LlamaHandles;
  readonly #mem: Deno.PointerValue;
  readonly #b: LlamaBatch;
  readonly #slots = new Map<number, Slot>();
  #running: Promise<void> | undefined;
  /** The decode running off the JavaScript thread, if any (slots it holds are not freed). */
  #decoding: Promise<number> | undefined;
  #disposed = false;
  /** How long the last decode took (the first one runs off the JavaScript thread). */
  #lastDecodeMs = Infinity;
  /** Slots. */
  readonly sequences: number;
  /** Tokens of KV cache per slot. */
  readonly contextSize: number;
  /** Tokens decoded so far. */
  tokensEvaluated = 0;

  private constructor(h: LlamaHandles, sequences: number, contextSize: number, batchSize: number) {
    this.#h = h;
    this.#mem = h.lib.symbols.llama_get_memory(h.ctx);
    this.sequences = sequences;
    this.contextSize = contextSize;
    this.#b = new LlamaBatch(h.lib, batchSize, 1);
  }

  /** Load `modelPath` through libllama with `sequences` slots. Throws, naming the file, on failure. */
  static open(modelPath: string, options: BatchGeneratorOptions = {}): BatchGenerator {
    const { sequences = 4, contextSize = 2048, threads = 1, lora = [] } = options;
    // llama.cpp reserves max(n_outputs, n_seq_max) outputs and asserts that is ≤ n_batch.
    const batchSize = Math.max(options.batchSize ?? 512, sequences);
    const h = createLlamaContext(modelPath, {
      nCtx: contextSize * sequences,
      nBatch: batchSize,
      nSeqMax: sequences,
      // A step asks for one row of logits per slot (its generated token, or its prompt's last),
      // so the compute buffer holds `sequences` rows, not `batchSize`, as llama-server's does.
      nOutputsMax: sequences,
      nOutputsMaxPerSeq: 1,
      threads,
      kvUnified: false,
    }, lora);
    return new BatchGenerator(h, sequences, contextSize, batchSize);
  }

  /** Whether `token` ends a generation (EOS, EOT, …). */
  isEog(token: number): boolean {
    return this.#h.lib.symbols.llama_vocab_is_eog(this.#h.vocab, token);
  }

  /** The vocabulary's token texts and offsets (`tokenize`: the model's tokenizer, no BOS). */
  pieces(tokenize: (text: string) => readonly number[]): TokenPieces {
    return new TokenPieces(this.#h, tokenize);
  }

  /**
   * Generate from `prompt` (token ids, BOS included) in slot `slot`, whose cache must be empty.
   * Yields tokens until an end-of-generation token (not yielded) or until the caller stops;
   * the slot's cache is cleared when the generator ends.
   */
  async *generate(
    slot: number,
    prompt: readonly number[],
    sampling: SlotSampling = {},
  ): AsyncGenerator<number> {
    if (this.#disposed) throw new Error("the generator was disposed");
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.sequences) {
      throw new RangeError(`slot ${slot} is not one of 0…${this.sequences - 1}`);
    }
    // A slot whose last generation ended while a decode held it is freed once that decode is done.
    const previous = this.#slots.get(slot);
    if (previous?.closed) {
      await this.#decoding?.catch(() => undefined);
      this.#free(previous);
    }
    if (this.#slots.has(slot)) throw new SlotBusyError(slot);
    if (prompt.length === 0) throw new Error("the prompt has no tokens");
    if (prompt.length >= this.contextSize) {
      throw new RangeError(`the prompt (${prompt.length} tokens) fills the slot's context`);
    }
    const s: Slot = {
      id: slot,
      prompt,
      promptDone: 0,
      nPast: 0,
      sampler: this.#sampler(sampling),
      logprobs: sampling.logprobs,
      feed: undefined,
      ready: [],
      waiter: undefined,
      closed: false,
    };
    this.#slots.set(slot, s);
    try {
      while (true) {
        let t: number | null;
        if (s.ready.length) {
          t = s.ready.shift()!;
          this.#kick(); // room again under READ_AHEAD
        } else t = await this.#next(s);
        if (t === null) return;
        yield t;
      }
    } finally {
      s.closed = true;
      // A decode in flight may still hold this slot; then it is freed after that decode.
      if (!this.#decoding) this.#free(s);
    }
  }

  #next(s: Slot): Promise<number | null> {
    return new Promise((resolve, reject) => {
      s.waiter = { resolve, reject };
      this.#kick();
    });
  }

  /** Start the decode loop unless it runs. */
  #kick(): void {
    this.#running ??= Promise.resolve().then(() => this.#loop());
  }

  #sampler(o: SlotSampling): Deno.PointerValue {
    const l = this.#h.lib.symbols;
    const chain = l.llama_sampler_chain_init(l.llama_sampler_chain_default_params());
    const banned = o.bannedTokens ?? [];
    if (banned.length) {
      const biases = new DataView(new ArrayBuffer(banned.length * 8));
      banned.forEach((t, i) => {
        biases.setInt32(i * 8, t, true);
        biases.setFloat32(i * 8 + 4, -Infinity, true);
      });
      l.llama_sampler_chain_add(
        chain,
        l.llama_sampler_init_logit_bias(
          this.#h.nVocab,
          banned.length,
          new Uint8Array(biases.buffer),
        ),
      );
    }
    const temperature = o.temperature ?? 1;
    if (temperature <= 0) {
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_greedy());
    } else {
      const topP = o.topP ?? 1;
      if (topP < 1) l.llama_sampler_chain_add(chain, l.llama_sampler_init_top_p(topP, 1n));
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_temp(temperature));
      l.llama_sampler_chain_add(chain, l.llama_sampler_init_dist((o.seed ?? 0) >>> 0));
    }
    return chain;
  }

  #free(s: Slot): void {
    if (this.#slots.get(s.id) !== s) return;
    this.#slots.delete(s.id);
    this.#h.lib.symbols.llama_memory_seq_rm(this.#mem, s.id, -1, -1);
    this.#h.lib.symbols.llama_sampler_free(s.sampler);
  }

  async #loop(): Promise<void> {
    try {
      while (!this.#disposed) {
        const rows = this.#fill();
        if (!rows.length) break;
        try {
          const started = performance.now();
          const sync = this.#lastDecodeMs < SYNC_DECODE_MS;
          let rc: number;
          if (sync) rc = this.#h.lib.symbols.llama_decode_sync(this.#h.ctx, this.#b.struct);
          else {
            this.#decoding = this.#h.lib.symbols.llama_decode(this.#h.ctx, this.#b.struct);
            try {
              rc = await this.#decoding;
            } finally {
              this.#decoding = undefined;
            }
          }
          this.#lastDecodeMs = performance.now() - started;
          if (rc !== 0) throw new Error(`llama_decode failed (${rc})`);
          this.#sample(rows);
        } catch (e) {
          for (const [s] of rows) {
            s.waiter?.reject(e as Error);
            s.waiter = undefined;
          }
        }
        for (const s of [...this.#slots.values()]) if (s.closed) this.#free(s);
        // Let the event loop run (responses flush, requests arrive) before the next step.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.#running = undefined;
      for (const s of [...this.#slots.values()]) if (s.closed) this.#free(s);
    }
  }

  /** Fill the batch: generating slots' next tokens first, then prompt chunks. */
  #fill(): [Slot, number][] {
    const b = this.#b;
    let n = 0;
    const rows: [Slot, number][] = [];
    const add = (s: Slot, token: number, logits: boolean) => {
      b.token[n] = token;
      b.pos[n] = s.nPast++;
      b.nSeqId[n] = 1;
      b.seqIds[n][0] = s.id;
      b.logits[n] = logits ? 1 : 0;
      if (logits) rows.push([s, n]);
      n++;
    };
    // In slot order: llama.cpp splits a batch over the sequences' KV cache streams, and one whose
    // sequence ids come out of order takes the slow path — measured on the benchmark model with 8
    // slots, every decode of a load whose requests got the slots in reverse order took 23 ms
    // instead of 12 (lib/serve's pool lends the last freed slot first).
    const slots = [...this.#slots.values()].sort((a, b) => a.id - b.id);
    for (const s of slots) {
      if (s.closed || s.feed === undefined || s.ready.length >= READ_AHEAD) continue;
      add(s, s.feed, true);
      s.feed = undefined;
    }
    for (const s of slots) {
      if (s.closed || s.promptDone >= s.prompt.length) continue;
      while (n < b.size && s.promptDone < s.prompt.length) {
        const last = s.promptDone === s.prompt.length - 1;
        add(s, s.prompt[s.promptDone++], last);
      }
      if (n >= b.size) break;
    }
    b.setTokens(n);
    this.tokensEvaluated += n;
    return n ? rows : [];
  }

  #sample(rows: [Slot, number][]): void {
    const l = this.#h.lib.symbols;
    for (const [s, row] of rows) {
      if (s.closed) continue;
      const t = l.llama_sampler_sample(s.sampler, this.#h.ctx, row);
      if (s.logprobs) {
        const logits = logitsRow(l, this.#h.ctx, row, this.#h.nVocab);
        const d = rowDistribution(logits, s.logprobs.top);
        s.logprobs.onToken({
          token: t,
          logprob: logits[t] - d.logZ,
          isGreedy: d.argmax === t,
          top: d.top,
        });
      }
      const end = this.isEog(t) || s.nPast >= this.contextSize;
      if (!end) s.feed = t;
      const value = this.isEog(t) ? null : t;
      if (s.waiter) {
        s.waiter.resolve(value);
        s.waiter = undefined;
      } else s.ready.push(value);
      if (end && value !== null) s.ready.push(null);
    }
  }

  /** Free the context and model after the step in progress. Generations in progress fail. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#running;
    for (const s of [...this.#slots.values()]) {
      s.waiter?.reject(new Error("the generator was disposed"));
      s.closed = true;
      this.#free(s);
    }
    this.#b.free();
    freeLlamaContext(this.#h);
  }
}
