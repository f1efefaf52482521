/**
 * `POST /v1/completions` with what a plain generation does not need: `echo`, `logprobs`, several
 * prompts in one request, scoring only (`max_tokens: 0`) — the requests lm-evaluation-harness's
 * `local-completions` model and `deno task eval --endpoint` send for log-likelihoods.
 *
 * - An echoed prompt's log-probabilities come from the model name's batched scorer
 *   (lib/llm/batch_scorer.ts): all the request's prompts in one call, their common prefixes
 *   computed once, so a multiple-choice question's context is evaluated once for all its choices.
 *   The numbers are the in-process scorer's for the same tokens (`deno task eval --model`), and
 *   the same whatever else the server is scoring at the time.
 * - `echo` + `logprobs` with `max_tokens: 1` at temperature 0 (lm-eval's request) takes the greedy
 *   next token from the same call; any other completion is generated on a sequence of the model's
 *   context, one per prompt, with the generated tokens' log-probabilities when asked.
 * - Choices come in prompt order; `usage` sums every prompt.
 *
 * What a request and its reply look like, checked against the in-process scorer, is in
 * tests/model/serve_logprobs_test.ts; `handleScoredCompletion` is what lib/serve/server.ts calls
 * for such a body (the model is needed, so the example does not run here):
 *
 * @example
 * ```ts ignore
 * const request = new Request("http://127.0.0.1:8080/v1/completions", {
 *   method: "POST",
 *   body: JSON.stringify({
 *     model: "tiny",
 *     prompt: ["Q: 2+2?\nA: 4", "Q: 2+2?\nA: 5"],
 *     echo: true,
 *     logprobs: 1,
 *     max_tokens: 0,
 *   }),
 * });
 * const res = await handleScoredCompletion(request, context);
 * ```
 * @module
 */
import type { GeneratedLogprob } from "../llm/batch_generator.ts";
import { BatchGenerator } from "../llm/batch_generator.ts";
import { type PromptScore, PromptTooLongError } from "../llm/batch_scorer.ts";
import { type FinishReason, streamSampled } from "../llm/sampled_stream.ts";
import type { Token } from "../llm/tokenizer.ts";
import { codePoints, type TokenPieces } from "../llm/token_pieces.ts";
import type { ServeConfig } from "./config.ts";
import { ApiError, HTTP } from "./errors.ts";
import { completionPromptTokens } from "./prompt_tokens.ts";
import type { Logger } from "./log.ts";
import { completionLogprobs } from "./logprobs.ts";
import {
  type CompletionChoice,
  completionsResponse,
  type GenerationRequest,
  usageOf,
} from "./protocol.ts";
import type { ModelRegistry, PoolLease } from "./registry.ts";
import { logRequest, type RequestTrace } from "./request_log.ts";

/** What {@linkcode handleScoredCompletion} needs besides the request. */
export interface ScoredCompletionContext {
  /** The served models. */
  registry: ModelRegistry;
  /** The server's config (limits, defaults). */
  config: ServeConfig;
  /** Where the request's log record goes. */
  log: Logger;
  /** The request's id. */
  requestId: string;
  /** The request's log record so far. */
  trace: RequestTrace;
  /** Response headers (the request id). */
  headers: Record<string, string>;
  /** Aborted when the client goes away or the server shuts down. */
  signal: AbortSignal;
}

/** One prompt's completion. */
interface Completion {
  text: string;
  finishReason: FinishReason;
  completionTokens: number;
  tokens: GeneratedLogprob[];
}

const MS_PER_SECOND = 1000;

/** Whether a validated request takes this module's path rather than plain generation. */
export function needsScoring(request: GenerationRequest): boolean {
  return request.endpoint === "completion" &&
    (request.echo || request.logprobs !== null || (request.prompts?.length ?? 0) > 1);
}

/**
 * Answer a completions request that {@linkcode needsScoring}. Throws an {@linkcode ApiError} (or
 * an AbortError when the client went away); the caller turns it into the reply and the log line.
 */
export async function handleScoredCompletion(
  request: GenerationRequest,
  ctx: ScoredCompletionContext,
): Promise<Response> {
  const { trace } = ctx;
  const lease = await ctx.registry.lease(request.model);
  try {
    const inputs = request.prompts ?? [""];
    const prompts = inputs.map((p, i) =>
      completionPromptTokens(lease, p, {
        path: request.promptPaths?.[i] ?? `prompt[${i}]`,
        scored: request.echo,
      })
    );
    const maxTokens = request.maxTokens ?? ctx.config.defaultCompletionTokens;
    checkLengths(lease, prompts.map((p) => p.tokens), maxTokens, request.promptPaths ?? []);
    trace.promptTokens = prompts.reduce((n, p) => n + p.tokens.length, 0);
    const wantsGeneratedLogprobs = request.logprobs !== null && maxTokens > 0;
    const greedyOne = request.echo && request.logprobs !== null && maxTokens === 1 &&
      request.temperature === 0 && !request.ignoreEos;
    if (wantsGeneratedLogprobs && !greedyOne && !(lease.pool.context instanceof BatchGenerator)) {
      throw ApiError.badRequest(
        "'logprobs' of generated tokens are served by the batched generator (CPU); this model " +
          "runs on node-llama-cpp's sequences (a GPU). Use 'max_tokens': 0 with 'echo' to score " +
          "prompts, or serve the model with --cpu.",
        "logprobs",
      );
    }
    const pieces = await lease.pieces();
    // Each echoed prompt's token texts and offsets, once: for `echo_logprobs_from` and the reply.
    const rendered = request.echo && request.logprobs !== null
      ? prompts.map((p) => pieces.render(p.tokens, { added: p.added }))
      : undefined;
    trace.genStart = performance.now();
    let scores: PromptScore[] | undefined;
    if (request.echo && request.logprobs !== null) {
      const scorer = await lease.scorer();
      try {
        scores = await scorer.scorePrompts(
          prompts.map((p, i) => ({
            tokens: p.tokens,
            from: scoredFrom(request.echoLogprobsFrom, inputs[i], p, rendered![i].offsets),
            topLogprobs: request.logprobs!,
            next: greedyOne,
          })),
        );
      } catch (e) {
        if (e instanceof PromptTooLongError) {
          throw ApiError.badRequest(
            `a prompt needs ${e.needed} tokens of context; this server scores at most ` +
              `${e.available}. Shorten the prompt.`,
            "prompt",
            "context_length_exceeded",
          );
        }
        throw e;
      }
    }
    const completions = await Promise.all(prompts.map(async (p, i): Promise<Completion> => {
      if (maxTokens === 0) {
        return { text: "", finishReason: "length", completionTokens: 0, tokens: [] };
      }
      if (greedyOne) return greedyToken(scores![i], pieces, request.stop);
      trace.ttftMs ??= performance.now() - trace.start;
      return await generate(lease, p.tokens, request, maxTokens, ctx.signal);
    }));
    const choices: CompletionChoice[] = completions.map((c, i) => {
      const promptText = typeof inputs[i] === "string"
        ? inputs[i] as string
        : pieces.render(prompts[i].tokens).text;
      const text = (request.echo ? promptText : "") + c.text;
      const logprobs = request.logprobs === null ? null : completionLogprobs(pieces, {
        prompt: request.echo
          ? {
            tokens: prompts[i].tokens,
            scores: scores![i].positions,
            added: prompts[i].added,
            text: promptText,
            rendered: rendered?.[i],
          }
          : undefined,
        generated: maxTokens > 0 ? { tokens: c.tokens, text: c.text } : undefined,
        tokensAsIds: request.tokensAsIds,
      });
      return { text, logprobs, finish_reason: c.finishReason };
    });
    trace.completionTokens = completions.reduce((n, c) => n + c.completionTokens, 0);
    trace.finishReason = completions.at(-1)?.finishReason;
    trace.ttftMs ??= performance.now() - trace.start;
    logRequest({ ...ctx, endpoint: "completion" }, trace, HTTP.ok, { prompts: prompts.length });
    const head = {
      id: `cmpl-${ctx.requestId}`,
      created: Math.floor(Date.now() / MS_PER_SECOND),
      model: request.model,
    };
    return Response.json(
      completionsResponse(head, choices, usageOf(trace.promptTokens, trace.completionTokens)),
      { headers: ctx.headers },
    );
  } finally {
    lease.done();
  }
}

/**
 * The first prompt position to score for `echo_logprobs_from` (`from`, undefined: all): a text
 * prompt's first token that starts at or after that character of its text (offsets as the reply's
 * `text_offset`), a token-id prompt's token at that index; never the first token (nothing precedes
 * it).
 */
function scoredFrom(
  from: number | undefined,
  input: string | readonly number[],
  prompt: { tokens: readonly Token[]; added: number },
  offsets: readonly number[],
): number | undefined {
  if (from === undefined) return undefined;
  if (typeof input !== "string") return Math.max(1, Math.min(from, prompt.tokens.length));
  const length = codePoints(input);
  let i = Math.max(1, prompt.added);
  while (i < offsets.length && Math.min(offsets[i], length) < from) i++;
  return Math.max(1, i);
}

/** 400 when a prompt leaves no room in a sequence for `maxTokens` (or, scoring only, for itself). */
function checkLengths(
  lease: PoolLease,
  prompts: readonly Token[][],
  maxTokens: number,
  paths: readonly string[],
): void {
  const context = lease.pool.contextSize;
  prompts.forEach((tokens, i) => {
    const fits = maxTokens === 0 ? tokens.length <= context : tokens.length < context;
    if (!fits) {
      const param = paths[i] ?? `prompt[${i}]`;
      throw ApiError.badRequest(
        `This model's maximum context length is ${context} tokens, but ${param} has ` +
          `${tokens.length} tokens${
            maxTokens > 0 ? ", which leaves no room for a completion" : ""
          }. ` +
          `Shorten it.`,
        param,
        "context_length_exceeded",
      );
    }
  });
}

/** The greedy next token the scorer found, as a one-token completion (cut at a stop sequence). */
function greedyToken(
  score: PromptScore,
  pieces: TokenPieces,
  stop: readonly string[],
): Completion {
  const next = score.next!;
  const token: GeneratedLogprob = { ...next };
  if (pieces.isControl(next.token)) {
    return { text: "", finishReason: "stop", completionTokens: 0, tokens: [token] };
  }
  let text = pieces.render([next.token]).text;
  let finishReason: FinishReason = "length";
  for (const s of stop) {
    const at = s ? text.indexOf(s) : -1;
    if (at >= 0) {
      text = text.slice(0, at);
      finishReason = "stop";
    }
  }
  return { text, finishReason, completionTokens: 1, tokens: [token] };
}

/** Generate on a sequence of the model's context; the generated tokens' log-probabilities when asked. */
async function generate(
  lease: PoolLease,
  tokens: readonly Token[],
  request: GenerationRequest,
  maxTokens: number,
  signal: AbortSignal,
): Promise<Completion> {
  const sequence = await lease.pool.acquire(signal);
  try {
    let text = "";
    let end: Completion | undefined;
    for await (
      const ev of streamSampled(sequence, tokens, {
        maxTokens,
        temperature: request.temperature,
        topP: request.topP,
        seed: request.seed,
        stop: request.stop,
        bannedTokens: request.ignoreEos ? lease.pool.eogTokens() : [],
        signal,
        ...(request.logprobs !== null ? { logprobs: request.logprobs } : {}),
      })
    ) {
      if (ev.type === "text") text += ev.text;
      else {
        if (ev.aborted) throw new DOMException("client disconnected", "AbortError");
        end = {
          text,
          finishReason: ev.finishReason,
          completionTokens: ev.completionTokens,
          tokens: ev.tokens ?? [],
        };
      }
    }
    return end!;
  } finally {
    try {
      await lease.pool.release(sequence);
    } catch { /* the context is gone (shutdown): nothing to give back */ }
  }
}
