/**
 * OpenAI-shaped errors: `{"error": {"message", "type", "param", "code"}}` with the HTTP status
 * clients expect (400 bad input, 401 bad key, 404 unknown model or route, 413 body too large,
 * 429 queue full, 503 loading), and the mapping from library errors to them.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { ApiError, errorResponse } from "./errors.ts";
 * const res = errorResponse(ApiError.badRequest("'max_tokens' must be at least 1", "max_tokens"));
 * strictEqual(res.status, 400);
 * deepStrictEqual(await res.json(), {
 *   error: {
 *     message: "'max_tokens' must be at least 1",
 *     type: "invalid_request_error",
 *     param: "max_tokens",
 *     code: "invalid_value",
 *   },
 * });
 * ```
 * @module
 */
import { ContextOverflowError } from "../llm/engine.ts";
import { ChatTemplateError } from "../llm/chat.ts";
import { QueueFullError } from "../llm/sequence_pool.ts";

/** HTTP statuses the server answers with. */
export const HTTP = {
  ok: 200,
  badRequest: 400,
  unauthorized: 401,
  notFound: 404,
  methodNotAllowed: 405,
  requestTimeout: 408,
  payloadTooLarge: 413,
  tooManyRequests: 429,
  /** Not an HTTP status: logged (as nginx does) when the client went away first. */
  clientClosed: 499,
  serverError: 500,
  unavailable: 503,
} as const;

/** Seconds a client should wait before retrying a 429 or 503. */
export const RETRY_AFTER_SECONDS = 1;

/** The body of an OpenAI error reply. */
export interface ApiErrorBody {
  /** What went wrong, where (`param`) and a machine-readable `code`. */
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * An error with its HTTP status and OpenAI error fields.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ApiError } from "./errors.ts";
 * const e = new ApiError(404, "no such model", "invalid_request_error", "model_not_found", "model");
 * deepStrictEqual(e.toJSON(), {
 *   error: {
 *     message: "no such model",
 *     type: "invalid_request_error",
 *     param: "model",
 *     code: "model_not_found",
 *   },
 * });
 * ```
 */
export class ApiError extends Error {
  /** `status`: HTTP status; `type`, `code`, `param`: OpenAI's error fields. */
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** 400: the request is malformed or a field is invalid. */
  static badRequest(
    message: string,
    param: string | null = null,
    code = "invalid_value",
  ): ApiError {
    return new ApiError(HTTP.badRequest, message, "invalid_request_error", code, param);
  }

  /** The JSON body OpenAI clients parse. */
  toJSON(): ApiErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/**
 * Map any error to an {@linkcode ApiError}: queue full → 429, prompt longer than the context or
 * a template that rejects the messages → 400, anything else → 500.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { toApiError } from "./errors.ts";
 * strictEqual(toApiError(new Error("boom")).status, 500);
 * ```
 */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof QueueFullError) {
    return new ApiError(HTTP.tooManyRequests, e.message, "rate_limit_error", "queue_full");
  }
  if (e instanceof ContextOverflowError) {
    return ApiError.badRequest(
      `This model's maximum context length is ${e.available} tokens. However, your prompt needs ` +
        `${e.needed} tokens. Shorten the prompt or the messages.`,
      "messages",
      "context_length_exceeded",
    );
  }
  if (e instanceof ChatTemplateError) {
    return ApiError.badRequest(
      `the model's chat template rejected the messages: ${e.message}`,
      "messages",
    );
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ApiError(
    HTTP.serverError,
    `internal error: ${message}`,
    "server_error",
    "internal_error",
  );
}

/**
 * A JSON error reply (with `Retry-After` on 429 and 503, and `Connection: close` on 408: the rest
 * of a stalled body is never read, so the connection cannot carry another request).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ApiError, errorResponse } from "./errors.ts";
 * const busy = errorResponse(new ApiError(429, "busy", "rate_limit_error"));
 * strictEqual(busy.headers.get("retry-after"), "1");
 * ```
 */
export function errorResponse(error: ApiError, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  if (error.status === HTTP.tooManyRequests || error.status === HTTP.unavailable) {
    h.set("retry-after", String(RETRY_AFTER_SECONDS));
  }
  if (error.status === HTTP.requestTimeout) h.set("connection", "close");
  return new Response(JSON.stringify(error.toJSON()), { status: error.status, headers: h });
}
