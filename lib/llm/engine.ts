/**
 * Scoring and greedy generation over a pool of parallel sequences of one
 * node-llama-cpp context.
 *
 * - {@linkcode LlmEngine.scoreChoices} evaluates a question's context once and then each
 *   choice on top of it, erasing the choice's tokens between choices, so the context's
 *   KV cache is reused rather than recomputed (llama-perplexity's multiple-choice scheme).
 *   A context too long for the window is cut from the left as lm-evaluation-harness cuts it,
 *   when asked (`overflow: "truncate"`).
 * - {@linkcode LlmEngine.scoreTokens} scores the tokens after a prefix of a token sequence, and
 *   {@linkcode LlmEngine.scoreRolling} a whole text in lm-eval's rolling windows of the
 *   context (`./rolling_windows.ts`).
 * - {@linkcode LlmEngine.generate} (greedy, until a stop string) runs on CPU through the
 *   {@linkcode BatchGenerator} (continuous batching: one libllama decode per step for every live
 *   generation, as llama-server does), elsewhere on node-llama-cpp's sequences; the greedy text is
 *   the same on both.
 * - Many calls run at once, one per sequence; their prompt tokens share decodes.
 * - Probabilities are requested only at positions whose next token is scored.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * import { LlmEngine } from "./engine.ts";
 * const engine = await LlmEngine.create(await loadModel("data/models/tiny/tiny-f32.gguf"));
 * const s = await engine.scoreChoices("Question: What is 2 plus 2?\nAnswer:", [" 4", " 5"]);
 * console.log(s.logprobs);
 * ```
 * @module
 */
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import { createSequencesContext, defaultContextSize } from "./batching.ts";
import { BatchGenerator } from "./batch_generator.ts";
import { BatchScorer } from "./batch_scorer.ts";
import type { LoadedModel } from "./model.ts";
import { disjointWindow, rollingWindows } from "./rolling_windows.ts";
import { firstStop } from "./stop_stream.ts";
import { type EncodeOptions, encodePrompt, encodeText, scoringTokens } from "./tokenizer_rules.ts";

/** A LoRA adapter (GGUF) applied on top of the base model. */
export interface LoraAdapter {
  /** GGUF LoRA adapter file. */
  path: string;
  /** Scale. Default: 1. */
  scale?: number;
}

/** Options for {@linkcode LlmEngine.create}. */
export interface EngineOptions {
  /** Parallel sequences in the context. Default: 8. */
  sequences?: number;
  /** Tokens per sequence. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Tokens per decode. Default: 512. */
  batchSize?: number;
  /** LoRA adapters to apply. Default: none. */
  lora?: LoraAdapter[];
  /**
   * CPU threads for llama.cpp (0 = {@linkcode defaultThreads} for node-llama-cpp's context, every
   * core for the batched scorer). Default: 0.
   */
  threads?: number;
  /**
   * How sequences share decodes. "shared": any number of sequences' logits per decode, with
   * native sampling serialized (see {@linkcode serializeNativeSampling}); "single-logit": at
   * most one logit-producing sequence per decode ({@linkcode singleLogitItemStrategy}).
   * Default: "shared" (falls back to "single-logit" if the runtime cannot be serialized).
   * Note: llama.cpp's log-probs for the same text depend on how its prompt is split across
   * decodes (seen: up to ~1e-2 nats on the tiny model, even with one sequence), so change
   * `batchSize` or `batching` only between runs you do not compare item by item.
   */
  batching?: "shared" | "single-logit";
  /**
   * How {@linkcode LlmEngine.scoreChoices} runs. "batched": llama-perplexity's scheme through
   * libllama's C API ({@linkcode BatchScorer}: many questions per decode, each context shared by
   * its choices, logits read in place); "sequences": node-llama-cpp's sequences, one question per
   * sequence, probabilities through `controlledEvaluate`. "auto": "batched" on CPU, else
   * "sequences" (the FFI path loads node-llama-cpp's CPU library only). Questions too long for
   * one batched decode take the "sequences" path. Default: "auto".
   */
  scorer?: "auto" | "batched" | "sequences";
  /**
   * How {@linkcode LlmEngine.generate} runs. "batched": the {@linkcode BatchGenerator}
   * (libllama's C API, continuous batching: one decode per step holds a token of every live
   * generation and chunks of new prompts), with `sequences` slots of `contextSize` tokens;
   * "sequences": node-llama-cpp's sequences, one generation per sequence. "auto": "batched" on
   * CPU, else "sequences". Greedy outputs are the same. Default: "auto".
   */
  generator?: "auto" | "batched" | "sequences";
}

/** What to do with a prompt longer than the context window. */
export type Overflow = "error" | "truncate";

/** Options for {@linkcode LlmEngine.scoreChoices}. */
export interface ScoreChoicesOptions {
  /**
   * A context that does not fit the window with a choice: `"error"` throws
   * {@linkcode ContextOverflowError}; `"truncate"` drops tokens from the context's left as
   * lm-evaluation-harness does (`_loglikelihood_tokens`): for each choice, context + choice is
   * cut to its last `maxLength + 1` tokens (the last one is only scored, never read), so the
   * choice is kept whole. Default: `"error"`.
   */
  overflow?: Overflow;
}

/** The log-likelihood of each choice after a shared context. */
export interface ChoiceScores {
  /** Sum of log-probabilities of each choice's tokens. */
  logprobs: number[];
  /** Number of tokens of each choice. */
  tokenCounts: number[];
  /** Whether each choice is the greedy continuation, token by token. */
  isGreedy: boolean[];
  /** Context tokens (BOS included when the model adds one), before any truncation. */
  contextTokens: number;
  /** Most context tokens dropped from the left for any choice (0 when nothing was cut). */
  truncatedTokens: number;
}

/** The log-likelihood of the tokens after a prefix ({@linkcode LlmEngine.scoreTokens}). */
export interface TokenScore {
  /** Sum of the log-probabilities of the scored tokens. */
  logprob: number;
  /** Whether each scored token is the arg-max after the tokens before it. */
  isGreedy: boolean;
  /** Tokens scored. */
  tokens: number;
}

/** A whole text scored in rolling windows ({@linkcode LlmEngine.scoreRolling}). */
export interface RollingScore {
  /** Sum of the log-probabilities of every token of the text. */
  logprob: number;
  /** Tokens of the text (each scored once). */
  tokens: number;
  /** Windows it took. */
  windows: number;
}

/** A greedy generation. */
export interface Generation {
  /** Generated text, cut before the first stop sequence. */
  text: string;
  /** Tokens generated. */
  tokens: number;
  /** Prompt tokens (BOS and EOS included when the model adds them). */
  promptTokens: number;
  /** Why generation ended. */
  stoppedBy: "stop" | "eos" | "max_tokens" | "context";
  /** Prompt tokens dropped from the left to make room (0 when nothing was cut). */
  truncatedTokens: number;
}

/** Options for {@linkcode LlmEngine.generate}. */
export interface GenerateOptions {
  /** Stop sequences; the text is cut before the first one. Default: none. */
  until?: string[];
  /** Maximum new tokens. Default: 64. */
  maxTokens?: number;
  /**
   * A prompt longer than the window: `"error"` throws {@linkcode ContextOverflowError} when the
   * prompt alone does not fit (one that fits generates until the window is full);
   * `"truncate"` keeps its last `maxLength - maxTokens` tokens whenever it is longer, as
   * lm-evaluation-harness's `generate_until` does (`max_length - max_gen_toks`), so `maxTokens`
   * always fit. Default: `"error"`.
   */
  overflow?: Overflow;
}

/** Thrown when an item does not fit the context window. */
export class ContextOverflowError extends Error {
  /** Tokens the item needs and the window size. */
  constructor(readonly needed: number, readonly available: number) {
    super(`item needs ${needed} tokens but the context window holds ${available}`);
    this.name = "ContextOverflowError";
  }
}

const DEFAULT_SEQUENCES = 8;
const DEFAULT_BATCH = 512;

/**
 * llama.cpp compute threads when none are given: one core fewer than the machine has (at least
 * one). JavaScript schedules every decode and handles every sampled token on its own thread; with
 * llama.cpp on every core as well, the two take turns on the same cores and a 2-core machine ran
 * node-llama-cpp's scoring path 2.7× slower (results/bench/eval*.md: 2 threads vs 1).
 */
export function defaultThreads(cores: number = navigator.hardwareConcurrency || 1): number {
  return Math.max(1, cores - 1);
}
const DEFAULT_MAX_TOKENS = 64;

/** A context with a pool of sequences, for scoring and greedy generation. */
export class LlmEngine {
  #free: LlamaContextSequence[];
  #waiters: ((s: LlamaContextSequence) => void)[] = [];
  /** Tokens per sequence. */
  readonly contextSize: number;
  #batch: BatchScorer | undefined;
  /** Opens the batched generator (on the first generation, so scoring-only runs hold no KV for it). */
  #openGen: (() => BatchGenerator) | undefined;
  #gen: BatchGenerator | undefined;
  /** The generator's free slots, and generations waiting for one. */
  #freeSlots: number[] = [];
  #slotWaiters: ((slot: number) => void)[] = [];
  #tokens = 0;

  private constructor(
    readonly loaded: LoadedModel,
    readonly context: LlamaContext,
    batch: BatchScorer | undefined,
    openGen: (() => BatchGenerator) | undefined,
  ) {
    this.#free = [];
    for (let i = 0; i < context.totalSequences; i++) this.#free.push(context.getSequence());
    this.contextSize = context.contextSize;
    this.#batch = batch;
    this.#openGen = openGen;
  }

  /**
   * Tokens one evaluation reads at most: lm-evaluation-harness's `max_length` for this engine,
   * the window its truncation and rolling windows are cut to. It is `contextSize - 1`, since
   * node-llama-cpp keeps one cell of every sequence free (a sequence holding `contextSize`
   * tokens shifts its context, which would change the scores).
   */
  get maxLength(): number {
    return this.contextSize - 1;
  }

  /** Tokens evaluated (prompt and generated), for throughput reports. */
  get tokensEvaluated(): number {
    return this.#tokens + (this.#batch?.tokensEvaluated ?? 0);
  }

  /**
   * Rows of logits the batched scorer's decodes computed (undefined on the "sequences" path, which
   * does not count them): with {@linkcode tokensEvaluated}, the share of decoded tokens that paid
   * for the output layer.
   */
  get outputRowsEvaluated(): number | undefined {
    return this.#batch?.outputRows;
  }

  /**
   * The batched scorer's seconds so far in llama_decode, reading logits rows and restoring holes
   * (undefined on the "sequences" path): for benchmarks' breakdowns.
   */
  get scorerSeconds(): Readonly<{ decode: number; logits: number; holes: number }> | undefined {
    return this.#batch ? { ...this.#batch.seconds } : undefined;
  }

  /** Which path {@linkcode LlmEngine.scoreChoices} takes (see {@linkcode EngineOptions.scorer}). */
  get scorer(): "batched" | "sequences" {
    return this.#batch ? "batched" : "sequences";
  }

  /** Which path {@linkcode LlmEngine.generate} takes (see {@linkcode EngineOptions.generator}). */
  get generator(): "batched" | "sequences" {
    return this.#openGen ? "batched" : "sequences";
  }

  /** Create a context on a loaded model (with LoRA adapters, if any). */
  static async create(loaded: LoadedModel, options: EngineOptions = {}): Promise<LlmEngine> {
    const {
      sequences = DEFAULT_SEQUENCES,
      contextSize = defaultContextSize(loaded),
      batchSize = DEFAULT_BATCH,
      lora = [],
      threads = 0,
      batching = "shared",
      scorer = "auto",
      generator = "auto",
    } = options;
    const context = await createSequencesContext(loaded, {
      sequences,
      contextSize,
      batchSize,
      threads: threads || defaultThreads(),
      lora,
      batching,
    });
    let batch: BatchScorer | undefined;
    if (scorer === "batched" || (scorer === "auto" && loaded.llama.gpu === false)) {
      try {
        // Its decodes leave the JavaScript thread idle, so it uses every core by default
        // (results/bench/eval.md before 2026-12-01, idle machine: 2 threads 1.2–1.3× faster
        // than 1 on 2 cores).
        batch = BatchScorer.open(loaded.info.path, {
          threads: threads || navigator.hardwareConcurrency || 1,
          lora,
        });
      } catch (e) {
        if (scorer === "batched") {
          await context.dispose();
          throw e;
        }
      }
    }
    const batchedGenerator = generator === "batched" ||
      (generator === "auto" && loaded.llama.gpu === false);
    // The same slots and window as the node-llama-cpp context, so the same prompts fit.
    const openGen = batchedGenerator
      ? () =>
        BatchGenerator.open(loaded.info.path, {
          sequences,
          contextSize: context.contextSize,
          batchSize,
          threads: threads || defaultThreads(),
          lora,
        })
      : undefined;
    return new LlmEngine(loaded, context, batch, openGen);
  }

  /**
   * Tokenize text (literally) under the model's rules: BOS first and EOS last only when its
   * vocabulary says so ({@linkcode encodeText}); `options` can turn either off.
   */
  tokenize(text: string, options: EncodeOptions = {}): Token[] {
    return encodeText(this.loaded.model, text, options);
  }

  async #acquire(): Promise<LlamaContextSequence> {
    const s = this.#free.pop();
    if (s) return s;
    return await new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #release(s: LlamaContextSequence): Promise<void> {
    await s.clearHistory();
    const next = this.#waiters.shift();
    if (next) next(s);
    else this.#free.push(s);
  }

  /**
   * Log-likelihood of each choice after the context, tokenized as lm-evaluation-harness does
   * ({@linkcode scoringTokens}): trailing whitespace of the context moves to the continuation, a
   * choice's tokens are those of `context + choice` past the tokens of `context`, and BOS comes
   * first only when the model adds one. The model reads context + choice but
   * the choice's last token, which must fit the window; see {@linkcode ScoreChoicesOptions.overflow}
   * for a context that does not.
   */
  async scoreChoices(
    context: string,
    choices: string[],
    options: ScoreChoicesOptions = {},
  ): Promise<ChoiceScores> {
    const { context: ctx, continuations: conts } = scoringTokens(
      this.loaded.model,
      context,
      choices,
    );
    const tokenCounts = conts.map((c) => c.length);
    const window = this.maxLength;
    const longest = Math.max(0, ...tokenCounts);
    if (ctx.length + longest - 1 <= window) {
      const s = await this.#score(ctx, conts);
      return { ...s, tokenCounts, contextTokens: ctx.length, truncatedTokens: 0 };
    }
    if (options.overflow !== "truncate") {
      throw new ContextOverflowError(ctx.length + longest - 1, window);
    }
    // lm-eval cuts each request (context + one choice) to its last window + 1 tokens.
    const parts = conts.map((cont) => {
      if (cont.length > window) throw new ContextOverflowError(cont.length, window);
      const keep = Math.min(ctx.length, window + 1 - cont.length);
      return { ctx: ctx.slice(ctx.length - keep), cont, dropped: ctx.length - keep };
    });
    const scored = await Promise.all(parts.map((p) => this.#score(p.ctx, [p.cont])));
    return {
      logprobs: scored.map((s) => s.logprobs[0]),
      isGreedy: scored.map((s) => s.isGreedy[0]),
      tokenCounts,
      contextTokens: ctx.length,
      truncatedTokens: Math.max(...parts.map((p) => p.dropped)),
    };
  }

  /**
   * Log-likelihood of `tokens[prefixLength…]` after the tokens before them (token ids as given:
   * nothing is added). The model reads every token but the last, at most
   * {@linkcode LlmEngine.maxLength} (else {@linkcode ContextOverflowError}); `prefixLength` is
   * at least 1.
   */
  async scoreTokens(tokens: readonly Token[], prefixLength: number): Promise<TokenScore> {
    if (!(Number.isInteger(prefixLength) && prefixLength >= 1 && prefixLength < tokens.length)) {
      throw new RangeError(
        `scoreTokens: prefixLength must be an integer in [1, ${tokens.length - 1}], got ` +
          `${prefixLength}`,
      );
    }
    if (tokens.length - 1 > this.maxLength) {
      throw new ContextOverflowError(tokens.length - 1, this.maxLength);
    }
    const s = await this.#score(tokens.slice(0, prefixLength), [tokens.slice(prefixLength)]);
    return {
      logprob: s.logprobs[0],
      isGreedy: s.isGreedy[0],
      tokens: tokens.length - prefixLength,
    };
  }

  /**
   * The token lm-eval puts before a document scored in rolling windows (`prefix_token_id`):
   * the model's BOS, else its EOS.
   */
  get prefixToken(): Token {
    const { bos, eos } = this.loaded.model.tokens;
    const token = bos ?? eos;
    if (token === null) {
      throw new Error(
        `${this.loaded.info.path}: the model has neither a BOS nor an EOS token to start a ` +
          `rolling window with`,
      );
    }
    return token;
  }

  /**
   * Log-likelihood of a whole text, as lm-evaluation-harness's `loglikelihood_rolling` scores it:
   * the text's tokens (no BOS added) in disjoint rolling windows of the context
   * (`rollingWindows(tokens, prefixToken, maxLength, 1)`), each token predicted once, the
   * first after {@linkcode LlmEngine.prefixToken}, every later window after the token before it
   * and as much of the text before that as fits. An empty text scores 0 in no windows.
   */
  async scoreRolling(text: string): Promise<RollingScore> {
    const tokens = this.tokenize(text, { bos: false, eos: false });
    if (tokens.length === 0) return { logprob: 0, tokens: 0, windows: 0 };
    const windows = rollingWindows(tokens, this.prefixToken, this.maxLength, 1)
      .map(disjointWindow);
    const scores = await Promise.all(
      windows.map((w) =>
        this.scoreTokens([...w.context, ...w.predicted] as Token[], w.context.length)
      ),
    );
    let logprob = 0;
    for (const s of scores) logprob += s.logprob;
    return { logprob, tokens: tokens.length, windows: windows.length };
  }

  /** Sum of log-probabilities (and greediness) of each continuation after a token context. */
  async #score(
    ctx: readonly Token[],
    conts: readonly (readonly Token[])[],
  ): Promise<{ logprobs: number[]; isGreedy: boolean[] }> {
    if (this.#batch?.fits(ctx, conts)) return await this.#batch.score(ctx, conts);
    const seq = await this.#acquire();
    try {
      const last = ctx.length - 1;
      const head = await seq.controlledEvaluate([
        ...ctx.slice(0, last),
        [ctx[last], { generateNext: { probabilities: true } }],
      ]);
      const first = head[last]?.next?.probabilities;
      if (!first) throw new Error("node-llama-cpp returned no probabilities for the context");
      this.#tokens += ctx.length;
      const logprobs: number[] = [];
      const isGreedy: boolean[] = [];
      for (const cont of conts) {
        if (cont.length === 0) {
          logprobs.push(0);
          isGreedy.push(true);
          continue;
        }
        const dists = [first];
        if (cont.length > 1) {
          const out = await seq.controlledEvaluate(
            cont.slice(0, -1).map((t) =>
              [t, { generateNext: { probabilities: true } }] as [Token, object]
            ),
          );
          for (let i = 0; i < cont.length - 1; i++) {
            const p = out[i]?.next?.probabilities;
            if (!p) throw new Error("node-llama-cpp returned no probabilities for a choice token");
            dists.push(p);
          }
          await seq.eraseContextTokenRanges([{
            start: ctx.length,
            end: ctx.length + cont.length - 1,
          }]);
          this.#tokens += cont.length - 1;
        }
        let sum = 0;
        let greedy = true;
        cont.forEach((t, i) => {
          sum += Math.log(dists[i].get(t) ?? 0);
          if (argmax(dists[i]) !== t) greedy = false;
        });
        logprobs.push(sum);
        isGreedy.push(greedy);
      }
      return { logprobs, isGreedy };
    } finally {
      await this.#release(seq);
    }
  }

  /** Greedy generation until a stop sequence, end of sequence, `maxTokens` or the window's end. */
  async generate(prompt: string, options: GenerateOptions = {}): Promise<Generation> {
    const { until = [], maxTokens = DEFAULT_MAX_TOKENS, overflow = "error" } = options;
    const model = this.loaded.model;
    let tokens = encodePrompt(model, prompt);
    let truncatedTokens = 0;
    if (overflow === "truncate") {
      const room = this.maxLength - maxTokens;
      if (room <= 0) {
        throw new Error(
          `generation asks for up to ${maxTokens} new tokens but the context window reads ` +
            `${this.maxLength}, leaving no room for the prompt; lower max_gen_toks ` +
            `(generation_kwargs.max_gen_toks in the task file)`,
        );
      }
      if (tokens.length > room) {
        truncatedTokens = tokens.length - room;
        tokens = tokens.slice(truncatedTokens);
      }
    }
    if (tokens.length >= this.contextSize) {
      throw new ContextOverflowError(tokens.length + 1, this.contextSize);
    }
    const budget = Math.min(maxTokens, this.contextSize - tokens.length);
    const out: Token[] = [];
    let stoppedBy: Generation["stoppedBy"] = budget < maxTokens ? "context" : "max_tokens";
    let text = "";
    /** Take one generated token; false once generation is over. */
    const take = (token: Token): boolean => {
      if (model.isEogToken(token)) {
        stoppedBy = "eos";
        return false;
      }
      out.push(token);
      this.#tokens++;
      text = model.detokenize(out);
      const cut = firstStop(text, until);
      if (cut >= 0) {
        text = text.slice(0, cut);
        stoppedBy = "stop";
        return false;
      }
      return out.length < budget;
    };
    /**
     * Run `tokens` through a generator; both end without yielding at an end-of-generation token
     * (node-llama-cpp's `evaluate` as well), so a generator that ends early ended on one.
     */
    const consume = async (gen: AsyncIterable<number>) => {
      for await (const token of gen) if (!take(token as Token)) return;
      stoppedBy = "eos";
    };
    this.#tokens += tokens.length;
    const batched = this.#generatorOpen();
    if (batched) {
      const slot = await this.#acquireSlot();
      try {
        await consume(batched.generate(slot, tokens, { temperature: 0 }));
      } finally {
        this.#releaseSlot(slot);
      }
    } else {
      const seq = await this.#acquire();
      try {
        await consume(seq.evaluate(tokens, { temperature: 0 }));
      } finally {
        await this.#release(seq);
      }
    }
    return { text, tokens: out.length, promptTokens: tokens.length, stoppedBy, truncatedTokens };
  }

  /** The batched generator, opened on first use; undefined on the "sequences" path. */
  #generatorOpen(): BatchGenerator | undefined {
    if (!this.#gen && this.#openGen) {
      this.#gen = this.#openGen();
      for (let i = this.#gen.sequences - 1; i >= 0; i--) this.#freeSlots.push(i);
    }
    return this.#gen;
  }

  async #acquireSlot(): Promise<number> {
    const s = this.#freeSlots.pop();
    if (s !== undefined) return s;
    return await new Promise((resolve) => this.#slotWaiters.push(resolve));
  }

  #releaseSlot(slot: number): void {
    const next = this.#slotWaiters.shift();
    if (next) next(slot);
    else this.#freeSlots.push(slot);
  }

  /** Free the context (and the batched scorer's and generator's). */
  async dispose(): Promise<void> {
    await this.#gen?.dispose();
    await this.#batch?.dispose();
    await this.context.dispose();
  }
}

function argmax(dist: Map<Token, number>): Token | undefined {
  let best: Token | undefined;
  let bestP = -1;
  for (const [t, p] of dist) {
    if (p > bestP) {
      bestP = p;
      best = t;
    }
  }
  return best;
}
