/**
 * An evaluation backend over an OpenAI-compatible HTTP API (OpenAI, llama.cpp's llama-server,
 * vLLM, Ollama, tunebook's own server…): greedy generation through `/v1/completions`, or
 * `/v1/chat/completions` with the prompt as one user message.
 *
 * What it can and cannot do:
 * - Generation tasks only. Such APIs do not return log-probabilities of a given prompt, so
 *   `scoreChoices` and `scoreRolling` are absent and the runner refuses `multiple_choice`,
 *   `loglikelihood` and `loglikelihood_rolling` tasks with a clear error instead of faking
 *   scores (log-likelihoods over HTTP are a later issue).
 * - A prompt is sent whole: the server's tokenizer is not known here, so it cannot be cut to
 *   the window; one the server rejects as too long is skipped (below).
 * - `countTokens` is an estimate (about {@linkcode APPROX_CHARS_PER_TOKEN} characters per
 *   token); it only sorts items into input-length buckets. Token counts in generations and in
 *   {@linkcode OpenAIBackendUsage} come from the server's `usage`.
 * - OpenAI accepts at most {@linkcode MAX_API_STOP_SEQUENCES} stop sequences: the first ones
 *   are sent, and every stop sequence is applied to the returned text on this side.
 * - 429 and 5xx replies are retried with exponential backoff (honouring `Retry-After`), a
 *   bounded number of times; a prompt the server rejects as longer than its context becomes a
 *   {@linkcode ContextOverflowError}, so the runner records the item as skipped ("too_long").
 *
 * @example
 * ```ts ignore
 * import { createOpenAIBackend } from "./openai_backend.ts";
 * import { runEval } from "./runner.ts";
 * const backend = createOpenAIBackend({ baseUrl: "http://127.0.0.1:8080", model: "tiny" });
 * const results = await runEval(backend, { tasks: ["synth_arithmetic"], limit: 20 });
 * console.log(results.tasks.synth_arithmetic.metrics.exact_match, results.usage);
 * ```
 * @module
 */
import { ContextOverflowError, type GenerateOptions, type Generation } from "../llm/engine.ts";
import { firstStop } from "../llm/stop_stream.ts";
import type { Backend, BackendUsage } from "./backend.ts";

/** Characters per token assumed by the backend's approximate `countTokens`. */
export const APPROX_CHARS_PER_TOKEN = 4;
/** Stop sequences an OpenAI request may carry; the rest are applied client-side. */
export const MAX_API_STOP_SEQUENCES = 4;

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_RETRIES = 4;
const DEFAULT_RETRY_BASE_MS = 1_000;
const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
/** Same default as the in-process engine's `generate`. */
const DEFAULT_MAX_TOKENS = 64;
const TOKENS_PER_PRICE_UNIT = 1_000;
const MS_PER_SECOND = 1_000;
/** Characters of an unexpected reply quoted in error messages. */
const QUOTE_CHARS = 200;
const HTTP_BAD_REQUEST = 400;
const HTTP_UNAUTHORIZED = 401;
const HTTP_FORBIDDEN = 403;
const HTTP_NOT_FOUND = 404;
const HTTP_PAYLOAD_TOO_LARGE = 413;
const HTTP_TOO_MANY_REQUESTS = 429;
const HTTP_SERVER_ERROR = 500;

/** Options for {@linkcode createOpenAIBackend}. */
export interface OpenAIBackendOptions {
  /**
   * The server's base URL, with or without a trailing `/v1`
   * (e.g. `http://127.0.0.1:8080` or `https://api.openai.com/v1`). Required.
   */
  baseUrl: string;
  /** Model name sent in every request (`--api-model`). Required. */
  model: string;
  /**
   * Bearer token. Default: the `OPENAI_API_KEY` environment variable; no `Authorization`
   * header when that is unset too (local servers usually need none). Never recorded.
   */
  apiKey?: string;
  /** Requests kept in flight by the runner. Default: 4. */
  concurrency?: number;
  /** Per-request time limit in milliseconds. Default: 120000. */
  timeoutMs?: number;
  /** Retries of a request answered 429 or 5xx (so at most 1 + maxRetries attempts). Default: 4. */
  maxRetries?: number;
  /** First retry delay in milliseconds, doubled on each retry. Default: 1000. */
  retryBaseMs?: number;
  /** Longest wait between retries in milliseconds, `Retry-After` included. Default: 30000. */
  maxRetryDelayMs?: number;
  /**
   * Use `/v1/chat/completions` with the prompt as a single user message (the server applies
   * the model's chat template) instead of `/v1/completions`. Default: false.
   */
  chat?: boolean;
  /** Price in USD per 1000 prompt tokens, for cost reporting. Default: none (no cost). */
  pricePer1kInput?: number;
  /** Price in USD per 1000 completion tokens, for cost reporting. Default: none (no cost). */
  pricePer1kOutput?: number;
}

/** Token usage and estimated cost of the requests an {@linkcode createOpenAIBackend} made. */
export interface OpenAIBackendUsage extends BackendUsage {
  /** Successful requests. */
  requests: number;
  /** Retried attempts (429 / 5xx). */
  retries: number;
  /** Replies without `usage`, whose tokens were estimated from text length instead. */
  estimatedReplies: number;
}

/** A {@linkcode Backend} over an OpenAI-compatible API, with its usage always available. */
export interface OpenAIBackend extends Backend {
  /** Tokens, requests, retries and (when priced) cost so far. */
  usage: () => OpenAIBackendUsage;
}

/** An HTTP-level failure of the OpenAI-compatible backend, with a message that says what to do. */
export class OpenAIBackendError extends Error {
  /**
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OpenAIBackendError } from "./openai_backend.ts";
   * const e = new OpenAIBackendError("no server", "http://127.0.0.1:1/v1/completions");
   * assert.equal(e.url, "http://127.0.0.1:1/v1/completions");
   * assert.equal(e.status, undefined); // no HTTP response at all
   * ```
   */
  constructor(message: string, readonly url: string, readonly status?: number) {
    super(message);
    this.name = "OpenAIBackendError";
  }
}

/**
 * A {@linkcode Backend} that queries an OpenAI-compatible server. Greedy (`temperature: 0`)
 * generation only; see the module documentation for what is approximated.
 *
 * @example
 * ```ts ignore
 * import { createOpenAIBackend } from "./openai_backend.ts";
 * const backend = createOpenAIBackend({
 *   baseUrl: "https://api.openai.com/v1",
 *   model: "gpt-4o-mini",
 *   chat: true,
 *   pricePer1kInput: 0.00015,
 *   pricePer1kOutput: 0.0006,
 * });
 * const gen = await backend.generate("Question: What is 2 plus 2?\nAnswer:", { until: ["\n"] });
 * console.log(gen.text, backend.usage());
 * ```
 */
export function createOpenAIBackend(options: OpenAIBackendOptions): OpenAIBackend {
  const {
    model,
    concurrency = DEFAULT_CONCURRENCY,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxRetries = DEFAULT_MAX_RETRIES,
    retryBaseMs = DEFAULT_RETRY_BASE_MS,
    maxRetryDelayMs = DEFAULT_MAX_RETRY_DELAY_MS,
    chat = false,
    pricePer1kInput,
    pricePer1kOutput,
  } = options;
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  if (!model) {
    throw new Error("createOpenAIBackend: options.model is empty; name the model (--api-model)");
  }
  checkCount("concurrency", concurrency, 1);
  checkCount("maxRetries", maxRetries, 0);
  for (const [name, v] of Object.entries({ pricePer1kInput, pricePer1kOutput })) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      throw new Error(`createOpenAIBackend: options.${name} must be a number ≥ 0, got ${v}`);
    }
  }
  const apiKey = options.apiKey ?? Deno.env.get("OPENAI_API_KEY") ?? "";
  const url = `${baseUrl}/v1/${chat ? "chat/completions" : "completions"}`;
  const priced = pricePer1kInput !== undefined || pricePer1kOutput !== undefined;
  const totals: OpenAIBackendUsage = {
    promptTokens: 0,
    completionTokens: 0,
    requests: 0,
    retries: 0,
    estimatedReplies: 0,
  };
  const http: HttpSettings = {
    url,
    model,
    apiKey,
    timeoutMs,
    maxRetries,
    retryBaseMs,
    maxRetryDelayMs,
    onRetry: () => totals.retries++,
  };

  async function generate(prompt: string, opts: GenerateOptions): Promise<Generation> {
    const { until = [], maxTokens = DEFAULT_MAX_TOKENS } = opts;
    const stops = until.filter((s) => s.length > 0);
    const body: Record<string, unknown> = {
      model,
      max_tokens: maxTokens,
      temperature: 0,
      ...(chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
      ...(stops.length ? { stop: stops.slice(0, MAX_API_STOP_SEQUENCES) } : {}),
    };
    const reply = await postJson(http, body);
    const choice = (reply.choices as Record<string, unknown>[] | undefined)?.[0];
    const raw = chat
      ? (choice?.message as Record<string, unknown> | undefined)?.content
      : choice?.text;
    if (typeof raw !== "string") {
      throw new OpenAIBackendError(
        `${url}: the reply has no ${chat ? "choices[0].message.content" : "choices[0].text"} ` +
          `(got ${quote(JSON.stringify(reply))}); is this an OpenAI-compatible ` +
          `${chat ? "chat " : ""}completions endpoint?${
            chat ? "" : " If it only serves chat, pass --chat."
          }`,
        url,
      );
    }
    const cut = firstStop(raw, stops);
    const text = cut >= 0 ? raw.slice(0, cut) : raw;
    const usage = reply.usage as Record<string, unknown> | undefined;
    const promptTokens = typeof usage?.prompt_tokens === "number"
      ? usage.prompt_tokens
      : approxTokens(prompt);
    const tokens = typeof usage?.completion_tokens === "number"
      ? usage.completion_tokens
      : approxTokens(raw);
    if (typeof usage?.prompt_tokens !== "number" || typeof usage?.completion_tokens !== "number") {
      totals.estimatedReplies++;
    }
    totals.requests++;
    totals.promptTokens += promptTokens;
    totals.completionTokens += tokens;
    return {
      text,
      tokens,
      promptTokens,
      stoppedBy: stoppedBy(cut >= 0, choice?.finish_reason, choice, stops.length),
      // The server tokenizes; a prompt too long for it is an error (skipped), never cut here.
      truncatedTokens: 0,
    };
  }

  return {
    identity: {
      backend: "openai-compatible",
      baseUrl,
      model,
      chat,
      prices: priced
        ? { inputPer1k: pricePer1kInput ?? 0, outputPer1k: pricePer1kOutput ?? 0, currency: "USD" }
        : null,
    },
    runIdentity: { backend: "openai-compatible", baseUrl, model, chat },
    concurrency,
    generate,
    countTokens: approxTokens,
    tokensProcessed: () => totals.promptTokens + totals.completionTokens,
    usage: () => ({
      ...totals,
      ...(priced
        ? {
          costUsd: (totals.promptTokens * (pricePer1kInput ?? 0) +
            totals.completionTokens * (pricePer1kOutput ?? 0)) / TOKENS_PER_PRICE_UNIT,
        }
        : {}),
    }),
    dispose: () => Promise.resolve(),
  };
}

interface HttpSettings {
  url: string;
  model: string;
  apiKey: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  maxRetryDelayMs: number;
  onRetry: () => void;
}

/** POST a JSON body, retrying 429 / 5xx; returns the parsed reply or throws a clear error. */
async function postJson(
  http: HttpSettings,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { url } = http;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (http.apiKey) headers.authorization = `Bearer ${http.apiKey}`;
  for (let attempt = 0;; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), http.timeoutMs);
    let status: number;
    let text: string;
    let retryAfter: string | null;
    let contentType: string;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      status = res.status;
      retryAfter = res.headers.get("retry-after");
      contentType = res.headers.get("content-type") ?? "no content-type";
      text = await res.text();
    } catch (e) {
      if (controller.signal.aborted) {
        throw new OpenAIBackendError(
          `${url}: no reply within ${http.timeoutMs} ms; the server may be overloaded — ` +
            `lower the concurrency or raise the timeout`,
          url,
        );
      }
      throw new OpenAIBackendError(
        `cannot reach the OpenAI-compatible server at ${url} (${(e as Error).message}). ` +
          `Start the server (e.g. \`llama-server -m model.gguf --port 8080\`) or fix --endpoint.`,
        url,
      );
    } finally {
      clearTimeout(timer);
    }
    const retryable = status === HTTP_TOO_MANY_REQUESTS || status >= HTTP_SERVER_ERROR;
    if (retryable && attempt < http.maxRetries) {
      http.onRetry();
      await sleep(retryDelay(attempt, retryAfter, http));
      continue;
    }
    if (status >= HTTP_BAD_REQUEST) throw httpError(http, status, text, attempt);
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
    } catch {
      // reported below
    }
    throw new OpenAIBackendError(
      `${url} answered ${status} with a reply that is not a JSON object (${contentType}): ` +
        `${quote(text)}. Check that --endpoint is the base URL of an OpenAI-compatible API ` +
        `(e.g. http://127.0.0.1:8080 or https://api.openai.com/v1).`,
      url,
      status,
    );
  }
}

/** The error for a 4xx/5xx reply (after retries), or a ContextOverflowError for a too-long prompt. */
function httpError(http: HttpSettings, status: number, text: string, retries: number): Error {
  const { url, model } = http;
  const { message, detail } = serverMessage(text);
  const says = message ? `: ${message}` : ` (${quote(text)})`;
  if (status === HTTP_UNAUTHORIZED || status === HTTP_FORBIDDEN) {
    return new OpenAIBackendError(
      `${url} answered ${status} (${
        http.apiKey ? "API key rejected" : "no API key sent"
      })${says}. ` +
        `Set OPENAI_API_KEY or pass --api-key with a key this server accepts.`,
      url,
      status,
    );
  }
  if (status === HTTP_NOT_FOUND) {
    return new OpenAIBackendError(
      /model/i.test(message)
        ? `${url} answered 404: model "${model}" not found${says}. Check --api-model against ` +
          `the names GET ${url.replace(/\/(chat\/)?completions$/, "/models")} lists.`
        : `${url} answered 404${says}. The server has no such endpoint or no model ` +
          `"${model}": check --endpoint and --api-model; a chat-only server needs --chat.`,
      url,
      status,
    );
  }
  if (status === HTTP_BAD_REQUEST || status === HTTP_PAYLOAD_TOO_LARGE) {
    const overflow = contextOverflow(message, detail);
    if (overflow) return overflow;
  }
  if (status === HTTP_TOO_MANY_REQUESTS || status >= HTTP_SERVER_ERROR) {
    return new OpenAIBackendError(
      `${url} answered ${status}${says}, still after ${retries} retries. Lower the concurrency, ` +
        `raise maxRetries, or try again later.`,
      url,
      status,
    );
  }
  return new OpenAIBackendError(`${url} answered ${status}${says}`, url, status);
}

/** `error.message` (OpenAI, vLLM, llama-server) or `message`/`detail` of an error reply. */
function serverMessage(text: string): { message: string; detail: Record<string, unknown> } {
  try {
    const parsed = JSON.parse(text);
    const err = parsed?.error;
    if (err && typeof err === "object") {
      return { message: String(err.message ?? err.code ?? ""), detail: err };
    }
    if (typeof err === "string") return { message: err, detail: parsed };
    const m = parsed?.message ?? parsed?.detail;
    return { message: typeof m === "string" ? m : "", detail: parsed ?? {} };
  } catch {
    return { message: "", detail: {} };
  }
}

/** A ContextOverflowError when a 400 reply says the prompt exceeds the model's context. */
function contextOverflow(
  message: string,
  detail: Record<string, unknown>,
): ContextOverflowError | undefined {
  const code = `${detail.code ?? ""} ${detail.type ?? ""}`;
  const isOverflow = /context_length_exceeded|exceed_context_size/i.test(code) ||
    /maximum context length|context (length|size|window)|too many tokens/i.test(message);
  if (!isOverflow) return undefined;
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  const available = num(detail.n_ctx) ??
    Number(message.match(/maximum context length is (\d+)/i)?.[1] ?? NaN);
  const needed = num(detail.n_prompt_tokens) ??
    Number(message.match(/requested (\d+)/i)?.[1] ?? NaN);
  const error = new ContextOverflowError(needed, available);
  if (!Number.isFinite(needed) || !Number.isFinite(available)) {
    error.message = `the server rejected the prompt as longer than the model's context: ${message}`;
  }
  return error;
}

function retryDelay(attempt: number, retryAfter: string | null, http: HttpSettings): number {
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  const wanted = Number.isFinite(seconds) && seconds >= 0
    ? seconds * MS_PER_SECOND
    : http.retryBaseMs * 2 ** attempt;
  return Math.min(wanted, http.maxRetryDelayMs);
}

/** Maps the API's finish_reason (and a client-side cut) to the engine's stop reasons. */
function stoppedBy(
  cutHere: boolean,
  finishReason: unknown,
  choice: Record<string, unknown> | undefined,
  stopCount: number,
): Generation["stoppedBy"] {
  if (cutHere) return "stop";
  if (finishReason === "length") return "max_tokens";
  // OpenAI's "stop" covers both end of sequence and a stop sequence; vLLM says which in
  // stop_reason (null = end of sequence). Without stop sequences it can only be the end.
  if (finishReason === "stop") {
    return stopCount === 0 || (choice && "stop_reason" in choice && choice.stop_reason === null)
      ? "eos"
      : "stop";
  }
  return "eos";
}

function normalizeBaseUrl(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    parsed = new URL("invalid:");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(
      `createOpenAIBackend: baseUrl ${JSON.stringify(raw)} is not an http(s) URL; ` +
        `pass e.g. --endpoint http://127.0.0.1:8080`,
    );
  }
  return parsed.href.replace(/\/+$/, "").replace(/\/v1$/, "");
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new Error(`createOpenAIBackend: options.${name} must be an integer ≥ ${min}, got ${v}`);
  }
}

function approxTokens(text: string): number {
  return Math.ceil(text.length / APPROX_CHARS_PER_TOKEN);
}

function quote(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > QUOTE_CHARS ? t.slice(0, QUOTE_CHARS) + "…" : t);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
