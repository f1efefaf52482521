/**
 * One HTTP attempt against an OpenAI-compatible server, for lib/eval/openai_backend.ts: a JSON
 * request with the bearer key and a time limit, the reply parsed, and every failure turned into an
 * error that says what to do — classified for lib/eval/endpoint_pool.ts as the endpoint's fault
 * (unreachable, timed out, key refused, no such model or route, not an API), transient (429,
 * 5xx: retried, `Retry-After` honoured) or the request's (a 400, a prompt longer than the
 * model's context: a {@linkcode ContextOverflowError}, so the runner records the item as
 * skipped).
 *
 * @example
 * ```ts ignore
 * import { requestJson } from "./openai_http.ts";
 * const reply = await requestJson("http://127.0.0.1:8080/v1/completions", { model: "tiny", prompt: "hi" }, {
 *   apiKey: "",
 *   timeoutMs: 120_000,
 *   model: "tiny",
 * });
 * ```
 * @module
 */
import { ContextOverflowError } from "../llm/engine.ts";
import { AttemptFailure } from "./endpoint_pool.ts";

/** An HTTP-level failure of the OpenAI-compatible backend, with a message that says what to do. */
export class OpenAIBackendError extends Error {
  /**
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { OpenAIBackendError } from "./openai_http.ts";
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

/** What every attempt needs. */
export interface HttpSettings {
  /** Bearer key; "" sends no `Authorization` header. */
  apiKey: string;
  /** Per-attempt time limit in milliseconds. */
  timeoutMs: number;
  /** The model name (for error messages). */
  model: string;
}

/** Characters of an unexpected reply quoted in error messages. */
const QUOTE_CHARS = 200;
const MS_PER_SECOND = 1_000;
const HTTP_BAD_REQUEST = 400;
const HTTP_UNAUTHORIZED = 401;
const HTTP_FORBIDDEN = 403;
const HTTP_NOT_FOUND = 404;
const HTTP_PAYLOAD_TOO_LARGE = 413;
const HTTP_TOO_MANY_REQUESTS = 429;
const HTTP_SERVER_ERROR = 500;

/**
 * One attempt: POST `body` as JSON to `url` (GET when `body` is undefined) and return the reply
 * object. Throws an {@linkcode AttemptFailure} whose `cause` is the error to report.
 */
export async function requestJson(
  url: string,
  body: Record<string, unknown> | undefined,
  http: HttpSettings,
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (http.apiKey) headers.authorization = `Bearer ${http.apiKey}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), http.timeoutMs);
  let status: number;
  let text: string;
  let retryAfter: string | null;
  let contentType: string;
  try {
    const res = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
    status = res.status;
    retryAfter = res.headers.get("retry-after");
    contentType = res.headers.get("content-type") ?? "no content-type";
    text = await res.text();
  } catch (e) {
    if (controller.signal.aborted) {
      throw new AttemptFailure(
        "endpoint",
        new OpenAIBackendError(
          `${url}: no reply within ${http.timeoutMs} ms; the server may be overloaded — ` +
            `lower the concurrency or raise the timeout`,
          url,
        ),
      );
    }
    throw new AttemptFailure(
      "endpoint",
      new OpenAIBackendError(
        `cannot reach the OpenAI-compatible server at ${url} (${(e as Error).message}). ` +
          `Start the server (e.g. \`llama-server -m model.gguf --port 8080\`) or fix --endpoint.`,
        url,
      ),
    );
  } finally {
    clearTimeout(timer);
  }
  if (status === HTTP_TOO_MANY_REQUESTS || status >= HTTP_SERVER_ERROR) {
    const seconds = retryAfter === null ? NaN : Number(retryAfter);
    const { message } = serverMessage(text);
    throw new AttemptFailure(
      "transient",
      new OpenAIBackendError(
        `${url} answered ${status}${message ? `: ${message}` : ` (${quote(text)})`}`,
        url,
        status,
      ),
      Number.isFinite(seconds) && seconds >= 0 ? seconds * MS_PER_SECOND : undefined,
    );
  }
  if (status >= HTTP_BAD_REQUEST) {
    const error = httpError(url, http, status, text);
    const endpointFault = status === HTTP_UNAUTHORIZED || status === HTTP_FORBIDDEN ||
      status === HTTP_NOT_FOUND;
    throw new AttemptFailure(endpointFault ? "endpoint" : "request", error);
  }
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // reported below
  }
  throw new AttemptFailure(
    "endpoint",
    new OpenAIBackendError(
      `${url} answered ${status} with a reply that is not a JSON object (${contentType}): ` +
        `${quote(text)}. Check that --endpoint is the base URL of an OpenAI-compatible API ` +
        `(e.g. http://127.0.0.1:8080 or https://api.openai.com/v1).`,
      url,
      status,
    ),
  );
}

/** The error for a 4xx reply, or a ContextOverflowError for a too-long prompt. */
function httpError(url: string, http: HttpSettings, status: number, text: string): Error {
  const { model } = http;
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

/** `text`, trimmed and cut to a few hundred characters, as a JSON string. */
export function quote(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > QUOTE_CHARS ? t.slice(0, QUOTE_CHARS) + "…" : t);
}
