/**
 * Log-likelihoods through llama.cpp's C API in the libllama that node-llama-cpp ships (Deno FFI),
 * many questions or prompts per `llama_decode`, in llama-perplexity's scheme generalised to a
 * prefix tree: a token that several sequences share at the same position — a multiple-choice
 * question's context under each of its choices, the common start of several prompts — is in the
 * batch once, tagged with each of their sequence ids, so its KV cache is computed once; logits are
 * requested only at positions whose next token is scored, and log-softmax is taken from the logits
 * row in place. node-llama-cpp's own API turns every scored position into an asynchronous native
 * call that returns the whole vocabulary as a `Map`; this path reads the logits row where
 * llama.cpp wrote it.
 *
 * Two ways in: {@linkcode BatchScorer.score} gives the log-likelihood of each choice after a
 * context (multiple choice, {@linkcode LlmEngine.scoreChoices} on CPU), and
 * {@linkcode BatchScorer.scorePrompts} the log-probability of every token of whole prompts, with
 * the greedy token and the most likely alternatives at each position (the server's `echo` +
 * `logprobs`). Both compute a token the same way, so the same tokens get the same numbers.
 *
 * **The same call gets the same numbers, whatever shares its decode.** llama.cpp's CPU attention
 * is not indifferent to where a sequence's cells sit in the KV cache: it visits the cache in tiles
 * of 64 cells and sums in SIMD lane groups, and a decode of fewer than 64 tokens takes another
 * kernel; measured on the tiny model, one choice's log-likelihood moved by up to 7.8e-3 nats with
 * the questions packed beside it. So each call's tree is placed at a cell that starts a lane group
 * and never straddles a tile it could fit in, and small decodes are padded to 64 tokens. The cells
 * between trees are holes, not decoded tokens: before such a decode the cache is refilled with a
 * saved "hole" sequence over the batch's cells (copied, not computed) and the trees' cells are freed, so
 * llama.cpp puts the batch's tokens exactly there and every other cell is masked for them, as a
 * padding token's would be (same numbers, bit for bit, and about a fifth fewer tokens decoded on
 * multiple-choice items; sliding-window models, whose cache may reuse a masked cell, decode
 * padding tokens instead). A question's scores then depend on its tokens only: the engine's scores do
 * not change with concurrency or `--limit`, and a server answering the same request — alone, or
 * beside any others — gives the engine's numbers.
 *
 * It loads the GGUF a second time, beside node-llama-cpp's copy: llama.cpp memory-maps the
 * weights, so their pages are shared, except tensors it repacks for its CPU kernels, which take
 * memory twice. The C API's structs and functions are in lib/llm/_libllama.ts.
 *
 * @example
 * ```ts ignore
 * import { BatchScorer } from "./batch_scorer.ts";
 * const scorer = BatchScorer.open("data/models/tiny/tiny-f32.gguf", { threads: 1 });
 * const s = await scorer.score([1, 15, 27], [[30, 31], [40]]); // token ids: context, choices
 * console.log(s.logprobs, s.isGreedy);
 * const [p] = await scorer.scorePrompts([{ tokens: [1, 15, 27, 30], topLogprobs: 2 }]);
 * console.log(p.positions[3]?.logprob, p.positions[3]?.top);
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
import { logitsRow, rowDistribution, type TokenLogprob } from "./_logits.ts";
import { TokenPieces } from "./token_pieces.ts";

/** Options for {@linkcode BatchScorer.open}. */
export interface BatchScorerOptions {
  /** llama.cpp threads. Default: 1. */
  threads?: number;
  /** Tokens per decode; a question ({@linkcode BatchScorer.score}) must fit in one. Default: 1024. */
  batchSize?: number;
  /**
   * KV cache cells: the most tokens one {@linkcode BatchScorer.scorePrompts} call's tree may hold
   * (decoded over several decodes when more than `batchSize`). Default: `batchSize`.
   */
  contextSize?: number;
  /** Sequences per decode (one per choice or prompt), at most `batchSize`. Default: 128. */
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

/** Thrown by {@linkcode BatchScorer.score} when a question does not fit in one decode. */
export class BatchTooSmallError extends Error {
  /** Tokens the question needs and the batch size. */
  constructor(readonly needed: number, readonly batchSize: number) {
    super(`question needs ${needed} tokens in one decode; the batch holds ${batchSize}`);
    this.name = "BatchTooSmallError";
  }
}

/** One prompt of a {@linkcode BatchScorer.scorePrompts} call. */
export interface ScorePromptInput {
  /** Token ids, as given (nothing is added). At least one. */
  tokens: readonly number[];
  /** First position whose token is scored (≥ 1). Default: 1. */
  from?: number;
  /** Most likely alternatives to return per scored position. Default: 0. */
  topLogprobs?: number;
  /** Also score what follows the last token: the greedy next token. Default: false. */
  next?: boolean;
}

/** A token and its log-probability at one position. */
export type TokenAlternative = TokenLogprob;

/** One scored position: its token, that token's log-probability, and the alternatives. */
export interface ScoredToken extends TokenAlternative {
  /** Whether the token is the arg-max of the distribution (ties: the lowest id). */
  isGreedy: boolean;
  /** The most likely tokens, most likely first (`topLogprobs` of them). */
  top: TokenAlternative[];
}

/** What {@linkcode BatchScorer.scorePrompts} returns for one prompt. */
export interface PromptScore {
  /** Per position: null for the first token (nothing before it) and those before `from`, else its scores. */
  positions: (ScoredToken | null)[];
  /** The greedy next token after the prompt (asked with `next`). */
  next?: ScoredToken;
}

/** Thrown when a call's prompts do not fit the scorer's context. */
export class PromptTooLongError extends Error {
  /** Tokens needed and the scorer's context size. */
  constructor(readonly needed: number, readonly available: number) {
    super(`the prompt needs ${needed} tokens; the scorer's context holds ${available}`);
    this.name = "PromptTooLongError";
  }
}

/** A node of a call's prefix tree: one token at one position, shared by the prompts through it. */
interface Node {
  token: number;
  pos: number;
  seqs: number[];
  children: Map<number, Node>;
  /** It is in the batch: it has children, or a prompt ends here asking for `next`. */
  decode: boolean;
  /** Its logits are read: a prompt through it scores the token after it. */
  logits: boolean;
  topK: number;
  /** Filled once decoded: the distribution of the token after this one. */
  dist?: { logZ: number; argmax: number; top: TokenAlternative[]; child: Map<number, number> };
}

interface Job {
  prompts: ScorePromptInput[];
  out: PromptScore[];
  /** Units not scored yet. */
  pending: number;
  failed: boolean;
  resolve: (s: PromptScore[]) => void;
  reject: (e: Error) => void;
}

/** Part of a call decoded as one block of the batch: a prefix tree of some of its prompts. */
interface Unit {
  job: Job;
  /** Index of its first prompt in the call. */
  first: number;
  tree: PrefixTree;
}

/**
 * Cell alignment that makes a unit's numbers independent of where it sits in the batch. llama.cpp's
 * CPU flash attention (ggml-cpu/ops.cpp, `flash_attn_ext_tiled`) visits the KV cache in tiles of
 * {@linkcode KV_TILE} cells, rescaling its running softmax between tiles, and sums each tile's
 * exponentials in SIMD groups of up to {@linkcode LANE_GROUP} cells (AVX-512). A unit that starts on a
 * group boundary and stays within one tile (or starts on a tile boundary) is computed alike
 * wherever it sits and whatever shares the decode.
 */
const LANE_GROUP = 16;
const KV_TILE = 64;
/**
 * Fewest tokens a decode holds: below this many query rows llama.cpp takes another attention
 * kernel (`flash_attn_ext_f16_one_chunk`, f16 dot products: measured up to 7.8e-3 nats apart from
 * the tiled one on the tiny model), so a small decode is padded up to it.
 */
const MIN_DECODE = 64;
/**
 * Fewest logits rows a decode asks for: with one, llama.cpp computes the output layer as a
 * matrix-vector product (its matrix kernel declines a single column), whose sums round differently.
 */
const MIN_OUTPUTS = 2;
/** Sequence ids the scorer keeps for itself: the padding tokens' and the holes' (see #decodePacked). */
const RESERVED_SEQS = 2;

/**
 * Scores multiple-choice questions (token ids) and whole prompts token by token, many per decode;
 * see the module documentation. Calls made while a decode runs are queued and go into the next one.
 */
export class BatchScorer {
  readonly #h: LlamaHandles;
  readonly #mem: Deno.PointerValue;
  readonly #b: LlamaBatch;
  readonly #batchSize: number;
  readonly #contextSize: number;
  readonly #maxSeqs: number;
  /** Padding target of a decode: {@linkcode MIN_DECODE}, or the batch when it is smaller. */
  readonly #minDecode: number;
  readonly #queue: Unit[] = [];
  /**
   * The hole sequence's saved cache (every cell, masked for every other sequence), restored
   * before a decode whose layout has gaps; undefined until the first such decode, null where
   * this memory cannot take it (a sliding-window model, a failed save or restore): real
   * padding tokens fill the gaps then.
   */
  #holes: Uint8Array<ArrayBuffer> | null | undefined;
  #running: Promise<void> | undefined;
  #disposed = false;
  /** Tokens decoded so far. */
  tokensEvaluated = 0;
  /** Rows of logits those decodes computed (the output layer's work; see {@linkcode MIN_OUTPUTS}). */
  outputRows = 0;
  /**
   * Seconds spent so far in `llama_decode`, reading logits rows (log-partition, arg-max, top
   * tokens, in JavaScript) and restoring holes: where a scoring call's time goes.
   */
  readonly seconds = { decode: 0, logits: 0, holes: 0 };

  private constructor(h: LlamaHandles, batchSize: number, contextSize: number, maxSeqs: number) {
    this.#h = h;
    this.#mem = h.lib.symbols.llama_get_memory(h.ctx);
    this.#batchSize = batchSize;
    this.#contextSize = contextSize;
    this.#maxSeqs = maxSeqs;
    this.#minDecode = Math.min(MIN_DECODE, batchSize);
    this.#b = new LlamaBatch(h.lib, batchSize, maxSeqs);
  }

  /**
   * Load `modelPath` through libllama and create a context for scoring. Throws, naming the file,
   * when the model or an adapter does not load.
   */
  static open(modelPath: string, options: BatchScorerOptions = {}): BatchScorer {
    const { threads = 1, batchSize = 1024, lora = [] } = options;
    const contextSize = Math.max(options.contextSize ?? batchSize, batchSize);
    // llama.cpp reserves outputs for max(n_outputs, n_seq_max) and asserts that is ≤ n_batch.
    const maxSequences = Math.min(options.maxSequences ?? 128, batchSize);
    if (maxSequences < RESERVED_SEQS + 1) {
      throw new RangeError(
        `the batched scorer needs a batch size and maxSequences of at least ${RESERVED_SEQS + 1} ` +
          `(one sequence id for questions, one for padding, one for holes), got ${maxSequences}`,
      );
    }
    const h = createLlamaContext(modelPath, {
      nCtx: contextSize,
      nBatch: batchSize,
      nSeqMax: maxSequences,
      threads,
      kvUnified: true,
    }, lora);
    return new BatchScorer(h, batchSize, contextSize, maxSequences);
  }

  /**
   * Tokens a question takes in a decode, at most: its context once, each choice but its last token
   * (choices that start alike share those tokens).
   */
  static tokensNeeded(context: readonly number[], conts: readonly (readonly number[])[]): number {
    return context.length + conts.reduce((n, c) => n + Math.max(0, c.length - 1), 0);
  }

  /** The padding tokens' sequence id (the last); see {@linkcode RESERVED_SEQS}. */
  get #padSeq(): number {
    return this.#maxSeqs - 1;
  }

  /** The holes' sequence id (the one before the padding's). */
  get #holeSeq(): number {
    return this.#maxSeqs - 2;
  }

  /** Whether a question fits in one decode of this scorer. */
  fits(context: readonly number[], conts: readonly (readonly number[])[]): boolean {
    return BatchScorer.tokensNeeded(context, conts) <= this.#batchSize &&
      conts.length <= this.#maxSeqs - RESERVED_SEQS && context.length > 0;
  }

  /**
   * Log-likelihood of each continuation (token ids) after the context (token ids, BOS included).
   * Rejects with {@linkcode BatchTooSmallError} when the question does not fit in one decode.
   */
  async score(
    context: readonly number[],
    conts: readonly (readonly number[])[],
  ): Promise<BatchScore> {
    if (!this.fits(context, conts)) {
      throw new BatchTooSmallError(BatchScorer.tokensNeeded(context, conts), this.#batchSize);
    }
    const scores = await this.scorePrompts(
      conts.map((c) => ({ tokens: [...context, ...c], from: context.length })),
    );
    const logprobs: number[] = [];
    const isGreedy: boolean[] = [];
    for (const s of scores) {
      let sum = 0, greedy = true;
      for (const p of s.positions.slice(context.length)) {
        sum += p!.logprob;
        if (!p!.isGreedy) greedy = false;
      }
      logprobs.push(sum);
      isGreedy.push(greedy);
    }
    return { logprobs, isGreedy };
  }

  /** The most tokens one call's prompts may hold together (their shared prefixes once). */
  get contextSize(): number {
    return this.#contextSize;
  }

  /** Tokens in the vocabulary. */
  get vocabularySize(): number {
    return this.#h.nVocab;
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
   * Score each prompt's tokens. Rejects with {@linkcode PromptTooLongError} when one prompt is
   * longer than the context, with RangeError for a token outside the vocabulary.
   */
  scorePrompts(prompts: readonly ScorePromptInput[]): Promise<PromptScore[]> {
    if (this.#disposed) return Promise.reject(new Error("the scorer was disposed"));
    for (const [i, p] of prompts.entries()) {
      if (p.tokens.length === 0) {
        return Promise.reject(new RangeError(`prompt ${i} has no tokens`));
      }
      const from = p.from ?? 1;
      if (!Number.isInteger(from) || from < 1) {
        return Promise.reject(
          new RangeError(`prompt ${i}: from must be an integer ≥ 1, got ${from}`),
        );
      }
      const needed = p.tokens.length - (p.next ? 0 : 1);
      if (needed > this.#contextSize) {
        return Promise.reject(new PromptTooLongError(needed, this.#contextSize));
      }
      for (const t of p.tokens) {
        if (!Number.isInteger(t) || t < 0 || t >= this.#h.nVocab) {
          return Promise.reject(
            new RangeError(
              `prompt ${i}: token ${t} is not in the vocabulary (0…${this.#h.nVocab - 1})`,
            ),
          );
        }
      }
    }
    if (prompts.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const job: Job = {
        prompts: [...prompts],
        out: new Array(prompts.length),
        pending: 0,
        failed: false,
        resolve,
        reject,
      };
      this.#queue.push(...this.#units(job));
      this.#running ??= Promise.resolve().then(() => this.#run());
    });
  }

  /** A call's prompts as units: prefix trees that fit the sequence ids and the context. */
  #units(job: Job): Unit[] {
    const units: Unit[] = [];
    const seqs = this.#maxSeqs - RESERVED_SEQS;
    let first = 0;
    while (first < job.prompts.length) {
      const tree = new PrefixTree();
      let end = first;
      while (end < job.prompts.length && end - first < seqs) {
        const p = job.prompts[end];
        if (end > first && tree.decoded + tree.cost(p) > this.#contextSize) break;
        tree.add(p);
        end++;
      }
      units.push({ job, first, tree });
      first = end;
    }
    job.pending = units.length;
    return units;
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length && !this.#disposed) {
        const units = this.#take();
        try {
          if (units.length === 1 && units[0].tree.decoded > this.#batchSize) {
            await this.#decodeAlone(units[0]);
          } else await this.#decodePacked(units);
          for (const u of units) this.#done(u);
        } catch (e) {
          for (const u of units) this.#fail(u, e as Error);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  /** The queued units that fit in one decode with their alignment (or one unit too big for any). */
  #take(): Unit[] {
    const first = this.#queue[0];
    if (first.tree.decoded > this.#batchSize) return [this.#queue.shift()!];
    const sizes: number[] = [];
    let seqs = 0;
    for (const u of this.#queue) {
      if (u.tree.decoded > this.#batchSize) break;
      const next = [...sizes, u.tree.decoded];
      const full = layout(next, this.#minDecode).total > this.#batchSize ||
        seqs + u.tree.paths.length > this.#maxSeqs - RESERVED_SEQS;
      if (sizes.length && full) break;
      sizes.push(u.tree.decoded);
      seqs += u.tree.paths.length;
    }
    return this.#queue.splice(0, sizes.length);
  }

  #done(u: Unit): void {
    if (u.job.failed) return;
    u.tree.paths.forEach((path, i) => {
      u.job.out[u.first + i] = collect(u.job.prompts[u.first + i], path);
    });
    if (--u.job.pending === 0) u.job.resolve(u.job.out);
  }

  #fail(u: Unit, e: Error): void {
    if (u.job.failed) return;
    u.job.failed = true;
    u.job.reject(e);
  }

  /**
   * Decode units together, each at its aligned cell. The cells between them are holes — the hole
   * sequence's restored cache, which no unit sees — or, where holes are not available, padding
   * tokens decoded with the units; padding tokens also make up a decode's minimum length.
   */
  async #decodePacked(units: Unit[]): Promise<void> {
    const sizes = units.map((u) => u.tree.decoded);
    const { starts, end, total } = layout(sizes, this.#minDecode);
    const tokens = sizes.reduce((a, x) => a + x, 0);
    const t0 = performance.now();
    // With holes the padding tokens that make up the minimum go after the last unit, so the
    // decode reaches `end` + their count: holes only where that stays within the batch's cells
    // (the hole state's and the cache's), else padding in the gaps as before.
    const holes = end > tokens && end + Math.max(0, this.#minDecode - tokens) <= this.#batchSize &&
      await this.#placeHoles(starts, sizes, end);
    this.seconds.holes += (performance.now() - t0) / 1000;
    const b = this.#b;
    const pad = this.#padSeq;
    let n = 0, padPos = 0, seq = 0;
    const rows: [Node, number][] = [];
    const padTo = (count: number) => {
      for (; n < count; n++) {
        b.token[n] = 0;
        b.pos[n] = padPos++;
        b.nSeqId[n] = 1;
        b.seqIds[n][0] = pad;
        b.logits[n] = 0;
      }
    };
    units.forEach((u, i) => {
      if (!holes) padTo(starts[i]);
      for (const node of u.tree.nodes()) {
        this.#put(n, node, seq);
        if (node.logits) rows.push([node, n]);
        n++;
      }
      seq += u.tree.paths.length;
    });
    // With holes the padding tokens take the cells after the last unit, as they do without.
    padTo(holes ? Math.max(n, this.#minDecode) : total);
    await this.#decode(n, rows);
  }

  /**
   * Fill the cache with the hole sequence's cells, then free the cells the units will take
   * (`sizes[i]` cells from `starts[i]`) and everything from `end`: llama.cpp then puts the batch's
   * tokens, in order, into exactly those free cells. False (the cache left clear) where this
   * memory cannot do it; the caller pads with tokens instead.
   */
  async #placeHoles(
    starts: readonly number[],
    sizes: readonly number[],
    end: number,
  ): Promise<boolean> {
    const l = this.#h.lib.symbols;
    const hole = this.#holeSeq;
    if (this.#holes === undefined) this.#holes = await this.#saveHoles(hole);
    if (this.#holes === null) return false;
    l.llama_memory_clear(this.#mem, false);
    if (
      l.llama_state_seq_set_data(this.#h.ctx, this.#holes, BigInt(this.#holes.length), hole) === 0n
    ) {
      l.llama_memory_clear(this.#mem, false);
      this.#holes = null;
      return false;
    }
    let ok = l.llama_memory_seq_rm(this.#mem, hole, end, -1);
    starts.forEach((start, i) => {
      ok &&= l.llama_memory_seq_rm(this.#mem, hole, start, start + sizes[i]);
    });
    if (!ok) {
      l.llama_memory_clear(this.#mem, false);
      this.#holes = null;
    }
    return ok;
  }

  /**
   * Decode the hole sequence once over the cells a packed decode can reach (the batch size;
   * position = cell) and save its cache — one batch of K/V cells, copied back before each decode
   * with gaps (a memory copy, against the padding tokens' pass through every layer); null for
   * a sliding-window model, whose cache may reuse a cell that its window masks (which would put
   * a unit's token where a hole should stay), or when llama.cpp does not save it.
   */
  async #saveHoles(hole: number): Promise<Uint8Array<ArrayBuffer> | null> {
    const l = this.#h.lib.symbols;
    if (l.llama_model_n_swa(this.#h.model) !== 0) return null;
    const b = this.#b;
    const n = this.#batchSize;
    l.llama_memory_clear(this.#mem, false);
    try {
      for (let i = 0; i < n; i++) {
        b.token[i] = 0;
        b.pos[i] = i;
        b.nSeqId[i] = 1;
        b.seqIds[i][0] = hole;
        b.logits[i] = i === n - 1 ? 1 : 0;
      }
      b.setTokens(n);
      if (await l.llama_decode(this.#h.ctx, b.struct) !== 0) return null;
      const size = Number(l.llama_state_seq_get_size(this.#h.ctx, hole));
      const data = new Uint8Array(size);
      return size > 0 &&
          Number(l.llama_state_seq_get_data(this.#h.ctx, data, BigInt(size), hole)) === size
        ? data
        : null;
    } finally {
      l.llama_memory_clear(this.#mem, false);
    }
  }

  /** Decode one unit too big for a decode in chunks of the batch size, the cache keeping the earlier ones. */
  async #decodeAlone(u: Unit): Promise<void> {
    const nodes = u.tree.nodes();
    try {
      for (let at = 0; at < nodes.length; at += this.#batchSize) {
        const chunk = nodes.slice(at, at + this.#batchSize);
        const rows: [Node, number][] = [];
        chunk.forEach((node, n) => {
          this.#put(n, node, 0);
          if (node.logits) rows.push([node, n]);
        });
        await this.#decode(chunk.length, rows, false);
      }
    } finally {
      this.#h.lib.symbols.llama_memory_clear(this.#mem, false);
    }
  }

  #put(n: number, node: Node, seqBase: number): void {
    const b = this.#b;
    b.token[n] = node.token;
    b.pos[n] = node.pos;
    b.nSeqId[n] = node.seqs.length;
    node.seqs.forEach((s, k) => (b.seqIds[n][k] = seqBase + s));
    b.logits[n] = node.logits ? 1 : 0;
  }

  /** Run the batch's first `n` rows and read the logits of `rows`; clears the cache after unless told not to. */
  async #decode(n: number, rows: [Node, number][], clear = true): Promise<void> {
    const l = this.#h.lib.symbols;
    // A lone output row takes ggml's matrix-vector product instead of its matrix kernel
    // (llamafile_sgemm declines n < 2), which rounds differently: ask for a second row.
    if (rows.length < MIN_OUTPUTS) {
      for (let i = 0, extra = MIN_OUTPUTS - rows.length; i < n && extra > 0; i++) {
        if (this.#b.logits[i] === 0) {
          this.#b.logits[i] = 1;
          extra--;
        }
      }
    }
    try {
      this.#b.setTokens(n);
      this.tokensEvaluated += n;
      this.outputRows += Math.max(rows.length, Math.min(MIN_OUTPUTS, n));
      const t0 = performance.now();
      const rc = await l.llama_decode(this.#h.ctx, this.#b.struct);
      const t1 = performance.now();
      this.seconds.decode += (t1 - t0) / 1000;
      if (rc !== 0) throw new Error(`llama_decode failed (${rc})`);
      for (const [node, row] of rows) node.dist = this.#distribution(row, node);
      this.seconds.logits += (performance.now() - t1) / 1000;
    } finally {
      if (clear) l.llama_memory_clear(this.#mem, false);
    }
  }

  #distribution(row: number, node: Node): NonNullable<Node["dist"]> {
    const logits = logitsRow(this.#h.lib.symbols, this.#h.ctx, row, this.#h.nVocab);
    const { logZ, argmax, top } = rowDistribution(logits, node.topK);
    const child = new Map<number, number>();
    for (const t of node.children.keys()) child.set(t, logits[t] - logZ);
    child.set(argmax, logits[argmax] - logZ);
    return { logZ, argmax, top, child };
  }

  /** Free the context, adapters and model after the call in progress. Queued calls reject. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const u of this.#queue.splice(0)) this.#fail(u, new Error("the scorer was disposed"));
    await this.#running;
    this.#b.free();
    freeLlamaContext(this.#h);
  }
}

/**
 * Where units of `sizes` cells start in a decode (see {@linkcode LANE_GROUP}) and the decode's
 * length, padding included (at least {@linkcode MIN_DECODE}).
 */
function layout(
  sizes: readonly number[],
  minDecode: number,
): { starts: number[]; end: number; total: number } {
  const starts: number[] = [];
  let cursor = 0;
  for (const size of sizes) {
    let start = roundUp(cursor, LANE_GROUP);
    if (
      size > KV_TILE || Math.floor(start / KV_TILE) !== Math.floor((start + size - 1) / KV_TILE)
    ) {
      start = roundUp(cursor, KV_TILE);
    }
    starts.push(start);
    cursor = start + size;
  }
  return { starts, end: cursor, total: Math.max(cursor, minDecode) };
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/**
 * A group's prefix tree: prompts added one by one (each gets the next sequence id), the nodes to
 * decode in order (parents first: only those whose logits are needed, which every node a needed
 * one depends on is) and each prompt's path of nodes.
 */
class PrefixTree {
  readonly #roots = new Map<number, Node>();
  /** Each added prompt's nodes, one per token. */
  readonly paths: Node[][] = [];
  /** Nodes that will be decoded. */
  decoded = 0;

  /** Nodes `prompt` would add to the decoded ones. */
  cost(prompt: ScorePromptInput): number {
    const { tokens, next = false } = prompt;
    let level: Map<number, Node> | undefined = this.#roots;
    let added = 0;
    tokens.forEach((token, pos) => {
      const node: Node | undefined = level?.get(token);
      const needed = pos < tokens.length - 1 || next;
      if (needed && !node?.decode) added++;
      level = node?.children;
    });
    return added;
  }

  /** Add a prompt (sequence id: its index in the tree). */
  add(prompt: ScorePromptInput): void {
    const { tokens, topLogprobs = 0, next = false, from = 1 } = prompt;
    const seq = this.paths.length;
    const path: Node[] = [];
    let level = this.#roots;
    tokens.forEach((token, pos) => {
      let node = level.get(token);
      if (!node) {
        node = {
          token,
          pos,
          seqs: [],
          children: new Map(),
          decode: false,
          logits: false,
          topK: 0,
        };
        level.set(token, node);
      }
      node.seqs.push(seq);
      if (pos < tokens.length - 1 || next) {
        if (!node.decode) this.decoded++;
        node.decode = true;
        if (pos >= from - 1) {
          node.logits = true;
          node.topK = Math.max(node.topK, topLogprobs);
        }
      }
      path.push(node);
      level = node.children;
    });
    this.paths.push(path);
  }

  /** The nodes to decode, parents first (a leaf nobody scores after is left out). */
  nodes(): Node[] {
    const out: Node[] = [];
    const visit = (level: Map<number, Node>) => {
      for (const node of level.values()) {
        if (!node.decode) continue;
        out.push(node);
        visit(node.children);
      }
    };
    visit(this.#roots);
    return out;
  }
}

/** One prompt's scores from its decoded path. */
function collect(prompt: ScorePromptInput, path: Node[]): PromptScore {
  const from = prompt.from ?? 1;
  const positions: (ScoredToken | null)[] = [null];
  for (let i = 1; i < path.length; i++) {
    if (i < from) {
      positions.push(null);
      continue;
    }
    const dist = path[i - 1].dist!;
    const token = prompt.tokens[i];
    positions.push({
      token,
      logprob: dist.child.get(token)!,
      isGreedy: dist.argmax === token,
      top: dist.top.slice(0, prompt.topLogprobs ?? 0),
    });
  }
  const out: PromptScore = { positions };
  if (prompt.next) {
    const dist = path[path.length - 1].dist!;
    out.next = {
      token: dist.argmax,
      logprob: dist.child.get(dist.argmax)!,
      isGreedy: true,
      top: dist.top.slice(0, prompt.topLogprobs ?? 0),
    };
  }
  return out;
}
