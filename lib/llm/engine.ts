/**
 * Scoring and greedy generation over a pool of parallel sequences of one
 * node-llama-cpp context.
 *
 * - {@linkcode LlmEngine.scoreChoices} evaluates a question's context once and then each
 *   choice on top of it, erasing the choice's tokens between choices, so the context's
 *   KV cache is reused rather than recomputed (llama-perplexity's multiple-choice scheme).
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
import { BatchScorer } from "./batch_scorer.ts";
import type { LoadedModel } from "./model.ts";

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
}

/** The log-likelihood of each choice after a shared context. */
export interface ChoiceScores {
  /** Sum of log-probabilities of each choice's tokens. */
  logprobs: number[];
  /** Number of tokens of each choice. */
  tokenCounts: number[];
  /** Whether each choice is the greedy continuation, token by token. */
  isGreedy: boolean[];
  /** Context tokens (BOS included). */
  contextTokens: number;
}

/** A greedy generation. */
export interface Generation {
  /** Generated text, cut before the first stop sequence. */
  text: string;
  /** Tokens generated. */
  tokens: number;
  /** Prompt tokens (BOS included). */
  promptTokens: number;
  /** Why generation ended. */
  stoppedBy: "stop" | "eos" | "max_tokens" | "context";
}

/** Options for {@linkcode LlmEngine.generate}. */
export interface GenerateOptions {
  /** Stop sequences; the text is cut before the first one. Default: none. */
  until?: string[];
  /** Maximum new tokens. Default: 64. */
  maxTokens?: number;
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
  #tokens = 0;

  private constructor(
    readonly loaded: LoadedModel,
    readonly context: LlamaContext,
    batch: BatchScorer | undefined,
  ) {
    this.#free = [];
    for (let i = 0; i < context.totalSequences; i++) this.#free.push(context.getSequence());
    this.contextSize = context.contextSize;
    this.#batch = batch;
  }

  /** Tokens evaluated (prompt and generated), for throughput reports. */
  get tokensEvaluated(): number {
    return this.#tokens + (this.#batch?.tokensEvaluated ?? 0);
  }

  /** Which path {@linkcode LlmEngine.scoreChoices} takes (see {@linkcode EngineOptions.scorer}). */
  get scorer(): "batched" | "sequences" {
    return this.#batch ? "batched" : "sequences";
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
        // (results/bench/eval.md: 2 threads 1.2–1.3× faster than 1 on 2 cores).
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
    return new LlmEngine(loaded, context, batch);
  }

  /** Tokenize text, with the model's BOS token first when `bos` is true. */
  tokenize(text: string, bos = true): Token[] {
    const model = this.loaded.model;
    const tokens = model.tokenize(text, false);
    const bosToken = model.tokens.bos;
    return bos && bosToken !== null ? [bosToken, ...tokens] : tokens;
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
   * Log-likelihood of each choice after the context, tokenized as lm-evaluation-harness does:
   * trailing spaces of the context move to the continuation, and a choice's tokens are those
   * of `context + choice` past the tokens of `context`.
   */
  async scoreChoices(context: string, choices: string[]): Promise<ChoiceScores> {
    const trimmed = context.replace(/\s+$/, "");
    const moved = context.slice(trimmed.length);
    const ctx = this.tokenize(trimmed);
    const conts = choices.map((c) => this.tokenize(trimmed + moved + c).slice(ctx.length));
    const longest = Math.max(...conts.map((c) => c.length));
    if (ctx.length + longest > this.contextSize) {
      throw new ContextOverflowError(ctx.length + longest, this.contextSize);
    }
    if (this.#batch?.fits(ctx, conts)) {
      const s = await this.#batch.score(ctx, conts);
      return { ...s, tokenCounts: conts.map((c) => c.length), contextTokens: ctx.length };
    }
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
      return {
        logprobs,
        tokenCounts: conts.map((c) => c.length),
        isGreedy,
        contextTokens: ctx.length,
      };
    } finally {
      await this.#release(seq);
    }
  }

  /** Greedy generation until a stop sequence, end of sequence, `maxTokens` or the window's end. */
  async generate(prompt: string, options: GenerateOptions = {}): Promise<Generation> {
    const { until = [], maxTokens = DEFAULT_MAX_TOKENS } = options;
    const model = this.loaded.model;
    const tokens = this.tokenize(prompt);
    if (tokens.length >= this.contextSize) {
      throw new ContextOverflowError(tokens.length + 1, this.contextSize);
    }
    const budget = Math.min(maxTokens, this.contextSize - tokens.length);
    const seq = await this.#acquire();
    const out: Token[] = [];
    let stoppedBy: Generation["stoppedBy"] = budget < maxTokens ? "context" : "max_tokens";
    let text = "";
    try {
      const gen = seq.evaluate(tokens, { temperature: 0 });
      this.#tokens += tokens.length;
      for await (const token of gen) {
        if (model.isEogToken(token)) {
          stoppedBy = "eos";
          break;
        }
        out.push(token);
        this.#tokens++;
        text = model.detokenize(out);
        const cut = firstStop(text, until);
        if (cut >= 0) {
          text = text.slice(0, cut);
          stoppedBy = "stop";
          break;
        }
        if (out.length >= budget) break;
      }
    } finally {
      await this.#release(seq);
    }
    return { text, tokens: out.length, promptTokens: tokens.length, stoppedBy };
  }

  /** Free the context (and the batched scorer's). */
  async dispose(): Promise<void> {
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

function firstStop(text: string, until: string[]): number {
  let cut = -1;
  for (const s of until) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}
