/**
 * The generation endpoints (`POST /v1/completions`, `POST /v1/chat/completions`): validate,
 * build the prompt (the model's chat template for chat), wait for a sequence of the model's
 * context (bounded queue: 429 when full), generate, and answer as one JSON object or as
 * server-sent events. A client that disconnects, while waiting or generating, frees its
 * place in the queue or its sequence at once (at the next token). Every request ends with one
 * structured log record: request id, model, tokens in/out, queue time, time to first token,
 * latency and tokens/s.
 *
 * @example
 * ```ts ignore
 * import { handleGeneration } from "./generate.ts";
 * const res = await handleGeneration(request, { endpoint: "chat", registry, config, log, requestId: "req_1" });
 * ```
 * @module
 */
import { BatchGenerator, type GeneratedLogprob } from "../llm/batch_generator.ts";
import type { PoolSequence } from "../llm/sequence_pool.ts";
import { encodeChat } from "../llm/chat.ts";
import type { Token } from "../llm/tokenizer.ts";
import { streamSampled } from "../llm/sampled_stream.ts";
import { handleScoredCompletion, needsScoring } from "./completion_scoring.ts";
import { completionPromptTokens } from "./prompt_tokens.ts";
import type { ServeConfig } from "./config.ts";
import { ApiError, errorResponse, HTTP, toApiError } from "./errors.ts";
import { readJsonBody } from "./http.ts";
import type { Logger } from "./log.ts";
import { chatLogprobs } from "./logprobs.ts";
import {
  completionResponse,
  type Endpoint,
  type GenerationRequest,
  parseGenerationRequest,
  type ResponseHead,
  sseTextChunk,
  streamChunk,
  type Usage,
  usageOf,
} from "./protocol.ts";
import type { ModelRegistry, PoolLease } from "./registry.ts";
import { logRequest, type RequestTrace } from "./request_log.ts";

/** What {@linkcode handleGeneration} needs besides the request. */
export interface GenerationContext {
  /** Which endpoint was called. */
  endpoint: Endpoint;
  /** The served models. */
  registry: ModelRegistry;
  /** The server's config (limits, defaults). */
  config: ServeConfig;
  /** Where the request's log record goes. */
  log: Logger;
  /** The request's id (logs, `x-request-id`, response ids). */
  requestId: string;
  /**
   * Aborted when the server ends its in-flight requests (after the shutdown grace period): a
   * stream then ends with an `error` event, a waiting or non-streamed request with a 503.
   * Default: never.
   */
  shutdown?: AbortSignal;
}

/** The abort reason of requests ended by a server shutdown. */
export const SHUTDOWN_REASON = "server shutting down";

function shuttingDown(): ApiError {
  return new ApiError(
    HTTP.unavailable,
    "The server is shutting down and ended this request before it finished (the shutdown " +
      "grace period ran out). Retry against a running server.",
    "server_error",
    "server_shutdown",
  );
}

const MS_PER_SECOND = 1000;
const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "connection": "keep-alive",
  "x-accel-buffering": "no",
};
const encoder = new TextEncoder();

/**
 * Answer one generation request. Never throws: errors become OpenAI-shaped JSON replies
 * (or, once a stream has started, a final `error` event).
 *
 * @example
 * ```ts ignore
 * Deno.serve((req) => handleGeneration(req, { endpoint: "completion", registry, config, log, requestId: "r1" }));
 * ```
 */
export async function handleGeneration(
  req: Request,
  ctx: GenerationContext,
): Promise<Response> {
  const trace: RequestTrace = { start: performance.now() };
  const headers = { "x-request-id": ctx.requestId };
  let lease: PoolLease | undefined;
  let sequence: PoolSequence | undefined;
  const abort = new AbortController();
  const onClientGone = () => abort.abort(new DOMException("client disconnected", "AbortError"));
  const onShutdown = () => abort.abort(new DOMException(SHUTDOWN_REASON, "AbortError"));
  req.signal.addEventListener("abort", onClientGone, { once: true });
  if (ctx.shutdown?.aborted) onShutdown();
  ctx.shutdown?.addEventListener("abort", onShutdown, { once: true });
  const release = async () => {
    req.signal.removeEventListener("abort", onClientGone);
    ctx.shutdown?.removeEventListener("abort", onShutdown);
    try {
      if (sequence && lease) await lease.pool.release(sequence);
    } catch { /* the context is gone (shutdown): nothing to give back */ }
    sequence = undefined;
    lease?.done();
  };
  try {
    const body = await readJsonBody(req, {
      maxBytes: ctx.config.maxBodyBytes,
      idleTimeoutMs: ctx.config.bodyTimeoutSeconds * MS_PER_SECOND,
    });
    const request = parseGenerationRequest(ctx.endpoint, body, ctx.config);
    trace.model = request.model;
    trace.stream = request.stream;
    if (needsScoring(request)) {
      return await handleScoredCompletion(request, {
        ...ctx,
        trace,
        headers,
        signal: abort.signal,
      });
    }
    lease = await ctx.registry.lease(request.model);
    const prompt = promptTokens(lease, request);
    trace.promptTokens = prompt.length;
    const queued = performance.now();
    sequence = await lease.pool.acquire(abort.signal);
    trace.queueMs = performance.now() - queued;
    trace.genStart = performance.now();
    const events = streamSampled(sequence, prompt, {
      maxTokens: request.maxTokens ??
        (ctx.endpoint === "completion" ? ctx.config.defaultCompletionTokens : ctx.config.maxTokens),
      temperature: request.temperature,
      topP: request.topP,
      seed: request.seed,
      stop: request.stop,
      bannedTokens: request.ignoreEos ? lease.pool.eogTokens() : [],
      signal: abort.signal,
      ...(request.logprobs !== null ? { logprobs: request.logprobs } : {}),
    });
    const head: ResponseHead = {
      id: `${ctx.endpoint === "chat" ? "chatcmpl" : "cmpl"}-${ctx.requestId}`,
      created: Math.floor(Date.now() / MS_PER_SECOND),
      model: request.model,
    };
    if (request.stream) {
      return streamResponse(events, { ctx, request, head, trace, release, abort, headers });
    }
    let text = "";
    let usage: Usage | undefined;
    let aborted = false;
    let generated: GeneratedLogprob[] | undefined;
    for await (const ev of events) {
      if (ev.type === "text") {
        trace.ttftMs ??= performance.now() - trace.start;
        text += ev.text;
      } else {
        trace.finishReason = ev.finishReason;
        trace.completionTokens = ev.completionTokens;
        aborted = ev.aborted;
        generated = ev.tokens;
        usage = usageOf(prompt.length, ev.completionTokens);
      }
    }
    await release();
    if (aborted && endedByShutdown(abort.signal)) throw shuttingDown();
    if (aborted) {
      logRequest(ctx, trace, HTTP.clientClosed, { error: "client disconnected" });
      return new Response(null, { status: HTTP.clientClosed, headers });
    }
    logRequest(ctx, trace, HTTP.ok);
    const logprobs = generated && request.logprobs !== null
      ? chatLogprobs(await lease.pieces(), generated, request.logprobs)
      : null;
    const json = completionResponse(
      ctx.endpoint,
      head,
      text,
      trace.finishReason!,
      usage!,
      logprobs,
    );
    return Response.json(json, { headers });
  } catch (e) {
    await release();
    const error = abort.signal.aborted && !(e instanceof ApiError)
      ? (endedByShutdown(abort.signal)
        ? shuttingDown()
        : new ApiError(HTTP.clientClosed, "client disconnected", "invalid_request_error"))
      : toApiError(e);
    logRequest(ctx, trace, error.status, { error: error.message, code: error.code });
    return errorResponse(error, headers);
  }
}

/** The prompt's tokens; 400 when the model has no chat template or the prompt fills the context. */
function promptTokens(lease: PoolLease, request: GenerationRequest): Token[] {
  const model = lease.pool.loaded.model;
  let tokens: Token[];
  if (request.endpoint === "chat") {
    if (request.logprobs !== null && !(lease.pool.context instanceof BatchGenerator)) {
      throw ApiError.badRequest(
        "'logprobs' of generated tokens are served by the batched generator (CPU); this model " +
          "runs on node-llama-cpp's sequences (a GPU). Drop 'logprobs', or serve it with --cpu.",
        "logprobs",
      );
    }
    if (!lease.chatTemplate) {
      throw ApiError.badRequest(
        `model '${lease.name}' has no chat template (no tokenizer.chat_template in its GGUF); ` +
          `use /v1/completions, or serve it with a chat template file`,
        "messages",
      );
    }
    tokens = encodeChat(model, lease.chatTemplate, request.messages ?? [], {
      addGenerationPrompt: request.addGenerationPrompt,
    }).tokens;
  } else {
    tokens = completionPromptTokens(lease, request.prompts?.[0] ?? "", {
      path: request.promptPaths?.[0],
    }).tokens;
  }
  const context = lease.pool.contextSize;
  if (tokens.length >= context) {
    const param = request.endpoint === "chat" ? "messages" : "prompt";
    throw ApiError.badRequest(
      `This model's maximum context length is ${context} tokens, but the ${param} has ` +
        `${tokens.length} tokens, which leaves no room for a reply. Shorten the ${param}.`,
      param,
      "context_length_exceeded",
    );
  }
  return tokens;
}

interface StreamState {
  ctx: GenerationContext;
  request: GenerationRequest;
  head: ResponseHead;
  trace: RequestTrace;
  release: () => Promise<void>;
  abort: AbortController;
  headers: Record<string, string>;
}

/** Server-sent events: role chunk (chat), text chunks, a finish chunk, usage if asked, [DONE]. */
function streamResponse(
  events: ReturnType<typeof streamSampled>,
  s: StreamState,
): Response {
  const { ctx, request, head, trace } = s;
  let closed = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const write = (event: string) => {
    if (closed) return;
    try {
      controller.enqueue(encoder.encode(event));
    } catch {
      closed = true;
    }
  };
  const send = (data: unknown) => write(`data: ${JSON.stringify(data)}\n\n`);
  const textEvent = sseTextChunk(ctx.endpoint, head);
  const run = async () => {
    let status: number = HTTP.ok;
    let extra: Record<string, unknown> = {};
    try {
      if (ctx.endpoint === "chat") send(streamChunk("chat", head, { role: true, text: "" }));
      for await (const ev of events) {
        if (ev.type === "text") {
          trace.ttftMs ??= performance.now() - trace.start;
          write(textEvent(ev.text));
        } else {
          trace.finishReason = ev.finishReason;
          trace.completionTokens = ev.completionTokens;
          if (ev.aborted && endedByShutdown(s.abort.signal)) {
            // An error event: OpenAI clients raise it (the openai npm client: an APIError).
            const error = shuttingDown();
            status = error.status;
            extra = { error: error.message, code: error.code };
            send(error.toJSON());
            break;
          }
          if (ev.aborted) {
            status = HTTP.clientClosed;
            extra = { error: "client disconnected" };
            break;
          }
          send(streamChunk(ctx.endpoint, head, { finishReason: ev.finishReason }));
          if (request.includeUsage) {
            send(
              streamChunk(ctx.endpoint, head, {
                usage: usageOf(trace.promptTokens ?? 0, ev.completionTokens),
              }),
            );
          }
        }
      }
      if (status === HTTP.ok && !closed) {
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
      }
    } catch (e) {
      const error = toApiError(e);
      status = error.status;
      extra = { error: error.message };
      send(error.toJSON());
    } finally {
      await s.release();
      if (!closed) {
        closed = true;
        try {
          controller.close();
        } catch { /* already cancelled */ }
      }
      logRequest(ctx, trace, status, extra);
    }
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      void run();
    },
    cancel() {
      closed = true;
      s.abort.abort(new DOMException("client disconnected", "AbortError"));
    },
  });
  return new Response(body, { status: HTTP.ok, headers: { ...SSE_HEADERS, ...s.headers } });
}

function endedByShutdown(signal: AbortSignal): boolean {
  return signal.reason instanceof DOMException && signal.reason.message === SHUTDOWN_REASON;
}
