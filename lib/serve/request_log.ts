/**
 * The one structured log record every /v1/completions and /v1/chat/completions request ends with:
 * request id, endpoint, status, model, tokens in/out, queue time, time to first token, latency and
 * tokens/s, filled in as the request goes ({@linkcode RequestTrace}).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { logRequest } from "./request_log.ts";
 * const records: Record<string, unknown>[] = [];
 * logRequest(
 *   { log: (r) => records.push(r), requestId: "req_1", endpoint: "completion" },
 *   { start: performance.now(), model: "tiny", promptTokens: 9 },
 *   200,
 * );
 * strictEqual(records[0].prompt_tokens, 9);
 * ```
 * @module
 */
import type { FinishReason } from "../llm/sampled_stream.ts";
import { HTTP } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { Endpoint } from "./protocol.ts";

/** Fields of a request's log record, filled in as it goes. */
export interface RequestTrace {
  /** `performance.now()` when the request arrived. */
  start: number;
  /** Model name. */
  model?: string;
  /** Whether it streams. */
  stream?: boolean;
  /** Prompt tokens (all prompts). */
  promptTokens?: number;
  /** Generated tokens (all choices). */
  completionTokens?: number;
  /** Milliseconds waiting for a sequence. */
  queueMs?: number;
  /** Milliseconds to the first text. */
  ttftMs?: number;
  /** `performance.now()` when generating (or scoring) began. */
  genStart?: number;
  /** Why the (last) choice ended. */
  finishReason?: FinishReason;
}

/** Where a record goes and what it is about. */
export interface RequestLogContext {
  /** The logger. */
  log: Logger;
  /** The request's id. */
  requestId: string;
  /** The endpoint called. */
  endpoint: Endpoint;
}

const MS_PER_SECOND = 1000;

/** Write the request's record: `status`, the trace, and `extra` fields (an error message…). */
export function logRequest(
  ctx: RequestLogContext,
  trace: RequestTrace,
  status: number,
  extra: Record<string, unknown> = {},
): void {
  const now = performance.now();
  const genSeconds = trace.genStart === undefined ? 0 : (now - trace.genStart) / MS_PER_SECOND;
  ctx.log({
    level: status >= HTTP.serverError && status !== HTTP.unavailable ? "error" : "info",
    event: "request",
    request_id: ctx.requestId,
    endpoint: ctx.endpoint,
    status,
    model: trace.model,
    stream: trace.stream,
    prompt_tokens: trace.promptTokens,
    completion_tokens: trace.completionTokens,
    finish_reason: trace.finishReason,
    queue_ms: round(trace.queueMs),
    ttft_ms: round(trace.ttftMs),
    latency_ms: round(now - trace.start),
    tokens_per_s: trace.completionTokens && genSeconds > 0
      ? round(trace.completionTokens / genSeconds)
      : undefined,
    ...extra,
  });
}

function round(x: number | undefined): number | undefined {
  return x === undefined ? undefined : Number(x.toFixed(1));
}
