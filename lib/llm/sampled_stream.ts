/**
 * Sampled generation on one context sequence, streamed as text deltas: temperature, top-p and
 * seed (node-llama-cpp's native sampler), stop sequences that may span tokens, a token budget,
 * banned tokens (e.g. end-of-generation for `ignore_eos`) and an abort signal that ends the
 * generation at the next token. Characters split across tokens are held back until complete.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * import { SequencePool } from "./sequence_pool.ts";
 * import { streamSampled } from "./sampled_stream.ts";
 * const pool = await SequencePool.create(await loadModel("data/models/tiny/tiny-f32.gguf"));
 * const seq = await pool.acquire();
 * const prompt = pool.loaded.model.tokenize("12 plus 3 is");
 * for await (const ev of streamSampled(seq, prompt, { maxTokens: 8, temperature: 0 })) {
 *   if (ev.type === "text") console.log(ev.text);
 * }
 * await pool.release(seq);
 * ```
 * @module
 */
import type { LlamaModel, Token, TokenBias } from "node-llama-cpp";
import type { ModelVocabulary } from "./model_vocabulary.ts";
import type { GeneratedLogprob } from "./batch_generator.ts";
import { ContextOverflowError } from "./engine.ts";
import type { PoolSequence } from "./sequence_pool.ts";
import { StopSequenceStream } from "./stop_stream.ts";

/** Options for {@linkcode streamSampled}. */
export interface SampledStreamOptions {
  /** Maximum new tokens (the sequence's free context also bounds it). Default: 16. */
  maxTokens?: number;
  /** Sampling temperature; 0 is greedy. Default: 1 (OpenAI's default). */
  temperature?: number;
  /** Nucleus sampling: keep the smallest token set with this much probability. Default: 1. */
  topP?: number;
  /** Seed of the sampler's random numbers. Default: a random one per call. */
  seed?: number;
  /** Stop sequences; generation ends before the first one. Default: none. */
  stop?: readonly string[];
  /** Tokens that are never generated (e.g. the end-of-generation tokens). Default: none. */
  bannedTokens?: readonly Token[];
  /** Ends the generation at the next token. Default: none. */
  signal?: AbortSignal;
  /**
   * Report each generated token's log-probability with this many alternatives (in the "end"
   * event). Needs the batched generator (a {@linkcode GeneratorSlot}). Default: none.
   */
  logprobs?: number;
}

/** Why a generation ended, in OpenAI's terms. */
export type FinishReason = "stop" | "length";

/** What {@linkcode streamSampled} yields. */
export type SampledStreamEvent =
  | { type: "text"; text: string }
  | {
    type: "end";
    /** "stop": end of generation or a stop sequence; "length": `maxTokens` or the context's end. */
    finishReason: FinishReason;
    /** Tokens generated (a token cut by a stop sequence counts). */
    completionTokens: number;
    /** Whether `signal` ended it. */
    aborted: boolean;
    /**
     * With `logprobs`: each generated token's log-probability (a token cut by a stop sequence
     * included), then the end-of-generation token's when that ended it.
     */
    tokens?: GeneratedLogprob[];
  };

const DEFAULT_MAX_TOKENS = 16;
const DEFAULT_TEMPERATURE = 1;
const DEFAULT_TOP_P = 1;
/** top-k off: OpenAI's API has no top-k. */
const NO_TOP_K = 0;
/** Most tokens held back while their text ends in a partial UTF-8 character. */
const MAX_PARTIAL_CHAR_TOKENS = 4;
const REPLACEMENT_CHAR = "\uFFFD";
/** Tokens of left context for detokenizing (see {@linkcode context}). */
const DETOKENIZE_CONTEXT = 4;
const UINT32_RANGE = 2 ** 32;

/**
 * Generate from `prompt` on `sequence` (empty history expected), yielding text as soon as it is
 * final and then one "end" event. Throws {@linkcode ContextOverflowError} when the prompt
 * leaves no room for a token.
 *
 * @example
 * ```ts ignore
 * const events = streamSampled(seq, prompt, { temperature: 0.7, seed: 1, stop: ["\n\n"] });
 * for await (const ev of events) {
 *   if (ev.type === "text") console.log(ev.text);
 *   else console.log(ev.finishReason, ev.completionTokens);
 * }
 * ```
 */
export async function* streamSampled(
  sequence: PoolSequence,
  prompt: readonly Token[],
  options: SampledStreamOptions = {},
): AsyncGenerator<SampledStreamEvent> {
  const {
    maxTokens = DEFAULT_MAX_TOKENS,
    temperature = DEFAULT_TEMPERATURE,
    topP = DEFAULT_TOP_P,
    seed = Math.floor(Math.random() * UINT32_RANGE),
    stop = [],
    bannedTokens = [],
    signal,
    logprobs,
  } = options;
  const model: ModelVocabulary = sequence.model;
  if (logprobs !== undefined && !("generator" in sequence)) {
    throw new Error(
      "log-probabilities of generated tokens come from the batched generator (llama.cpp's C API " +
        "on CPU); this sequence is node-llama-cpp's",
    );
  }
  const drawn: GeneratedLogprob[] = [];
  const room = sequence.contextSize - prompt.length;
  if (room <= 0) throw new ContextOverflowError(prompt.length + 1, sequence.contextSize);
  const budget = Math.min(maxTokens, room);
  const stops = new StopSequenceStream(stop);
  const out: Token[] = [];
  let done = 0; // tokens of `out` already turned into text
  let finishReason: FinishReason = "length";
  let aborted = false;
  let endOfGeneration = false;
  const gen: AsyncGenerator<Token, unknown, unknown> = "generator" in sequence
    ? sequence.generator.generate(sequence.slot, prompt, {
      temperature,
      topP,
      seed,
      bannedTokens,
      ...(logprobs !== undefined
        ? { logprobs: { top: logprobs, onToken: (t: GeneratedLogprob) => drawn.push(t) } }
        : {}),
    }) as AsyncGenerator<Token, unknown, unknown>
    : sequence.evaluate([...prompt], {
      temperature,
      topP,
      topK: NO_TOP_K,
      seed,
      tokenBias: bannedTokens.length ? await banTokens(sequence.model, bannedTokens) : undefined,
    });
  // The next token is requested before this one's text is handed on, so the context decodes it
  // (on a worker thread) while the caller streams this one: decoding and sending overlap.
  let pending: Promise<IteratorResult<Token>> | undefined = gen.next();
  try {
    while (pending) {
      if (signal?.aborted) {
        aborted = true;
        break;
      }
      const next: IteratorResult<Token> = await pending;
      pending = undefined;
      if (next.done) {
        finishReason = "stop"; // end-of-generation token
        endOfGeneration = true;
        break;
      }
      out.push(next.value);
      if (out.length < budget) pending = gen.next();
      const text = model.detokenize(out.slice(done), false, context(out, done));
      if (text.endsWith(REPLACEMENT_CHAR) && out.length - done < MAX_PARTIAL_CHAR_TOKENS) continue;
      done = out.length;
      const step = stops.push(text);
      if (step.text) yield { type: "text", text: step.text };
      if (step.stopped) {
        finishReason = "stop";
        break;
      }
    }
    if (signal?.aborted) aborted = true;
    if (!stops.stopped && !aborted) {
      const tail = stops.push(model.detokenize(out.slice(done), false, context(out, done)));
      const rest = tail.text + stops.flush();
      if (rest) yield { type: "text", text: rest };
      if (tail.stopped) finishReason = "stop";
    }
  } finally {
    await pending?.catch(() => undefined); // a token decoded ahead and not used
    await gen.return(undefined);
  }
  const end: SampledStreamEvent = {
    type: "end",
    finishReason,
    completionTokens: out.length,
    aborted,
  };
  if (logprobs !== undefined) end.tokens = drawn.slice(0, out.length + (endOfGeneration ? 1 : 0));
  yield end;
}

/**
 * The tokens before `done` that detokenizing the next ones needs as context (for the leading
 * space of SentencePiece pieces): the last few, not all of them (the cost grew with the output).
 */
function context(out: readonly Token[], done: number): Token[] {
  return out.slice(Math.max(0, done - DETOKENIZE_CONTEXT), done);
}

/**
 * A token bias that rules `tokens` out. `TokenBias.set(token, "never")` ignores end-of-generation
 * tokens (node-llama-cpp 3.21.1), which `ignore_eos` needs to ban, so the entries go into its
 * bias map directly (what the runtime reads: token → logit bias, -Infinity = never).
 */
async function banTokens(model: LlamaModel, tokens: readonly Token[]): Promise<TokenBias> {
  // node-llama-cpp is imported here, for its sequences only (the batched generator bans tokens
  // with libllama's own sampler).
  const { TokenBias } = await import("node-llama-cpp");
  const bias = new TokenBias(model.tokenizer);
  const map = (bias as unknown as { _biases?: unknown })._biases;
  if (!(map instanceof Map)) {
    throw new Error(
      "banning tokens (ignore_eos) needs node-llama-cpp 3.21's TokenBias internals; " +
        "this version has none. Drop ignore_eos or pin node-llama-cpp 3.21.1.",
    );
  }
  for (const t of tokens) map.set(t, -Infinity);
  return bias;
}
