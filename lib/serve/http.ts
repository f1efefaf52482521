/**
 * HTTP plumbing of the server: request ids, bearer-key checks, and JSON bodies read with a size
 * limit (413) and strict parsing (400).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { readJsonBody } from "./http.ts";
 * const req = new Request("http://x/v1/completions", { method: "POST", body: '{"a": 1}' });
 * deepStrictEqual(await readJsonBody(req, { maxBytes: 1024 }), { a: 1 });
 * ```
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { ApiError, HTTP } from "./errors.ts";

/** A client-supplied `x-request-id` is kept when it looks like this. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Hex digits of a generated request id. */
const REQUEST_ID_HEX = 16;
/**
 * An oversized body is still read (and discarded) up to this many bytes so that the client,
 * which may still be sending, receives the 413 instead of a reset connection.
 */
export const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * The request's id: its `x-request-id` header when well-formed, else a new `req_…` id.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { requestId } from "./http.ts";
 * const req = new Request("http://x/", { headers: { "x-request-id": "abc-1" } });
 * strictEqual(requestId(req), "abc-1");
 * ```
 */
export function requestId(req: Request): string {
  const given = req.headers.get("x-request-id");
  if (given && CLIENT_REQUEST_ID.test(given)) return given;
  return "req_" + crypto.randomUUID().replaceAll("-", "").slice(0, REQUEST_ID_HEX);
}

/**
 * Throw a 401 {@linkcode ApiError} unless the request carries `Authorization: Bearer <apiKey>`.
 * Does nothing when `apiKey` is null.
 *
 * @example
 * ```ts
 * import { checkApiKey } from "./http.ts";
 * checkApiKey(new Request("http://x/", { headers: { authorization: "Bearer k" } }), "k");
 * ```
 */
export function checkApiKey(req: Request, apiKey: string | null): void {
  if (apiKey === null) return;
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match) {
    throw new ApiError(
      HTTP.unauthorized,
      "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY' " +
        "(the openai client's apiKey option).",
      "invalid_request_error",
      "missing_api_key",
    );
  }
  const given = new TextEncoder().encode(match[1]);
  const wanted = new TextEncoder().encode(apiKey);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new ApiError(
      HTTP.unauthorized,
      "Incorrect API key provided. Use the key the server was started with (--api-key or " +
        "TUNEBOOK_API_KEY).",
      "invalid_request_error",
      "invalid_api_key",
    );
  }
}

/** Options for {@linkcode readJsonBody}. */
export interface ReadJsonBodyOptions {
  /** Largest body accepted, in bytes (413 above). Required. */
  maxBytes: number;
  /** Longest wait for the next bytes of the body, in ms (408 after it). Default: no limit. */
  idleTimeoutMs?: number;
}

/**
 * Read and parse a JSON body: 413 when it is larger than `maxBytes`, 408 when it stalls (no
 * bytes for `idleTimeoutMs`; the body is cancelled, so the connection closes), 400 when it is not
 * UTF-8 JSON.
 *
 * @example
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { readJsonBody } from "./http.ts";
 * const req = new Request("http://x/", { method: "POST", body: "{bad" });
 * await rejects(readJsonBody(req, { maxBytes: 100 }), { status: 400 });
 * ```
 */
export async function readJsonBody(req: Request, options: ReadJsonBodyOptions): Promise<unknown> {
  const { maxBytes, idleTimeoutMs } = options;
  const tooLarge = (size: string) =>
    new ApiError(
      HTTP.payloadTooLarge,
      `The request body is ${size}; this server accepts at most ${maxBytes} bytes. ` +
        `Send a shorter prompt.`,
      "invalid_request_error",
      "request_too_large",
    );
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await drain(req.body, 0);
    throw tooLarge(`${declared} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (req.body) {
    const reader = req.body.getReader();
    while (true) {
      const { done, value } = await readWithin(reader, idleTimeoutMs, total);
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        reader.releaseLock();
        await drain(req.body, total);
        throw tooLarge(`over ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw ApiError.badRequest("The request body is not valid UTF-8.", null, "invalid_json");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw ApiError.badRequest(
      `We could not parse the JSON body of your request (${(e as Error).message}). ` +
        `Send a JSON object, e.g. {"model": "tiny", "prompt": "Hello"}.`,
      null,
      "invalid_json",
    );
  }
}

const MS_PER_SECOND = 1000;

/** The next chunk, or a 408 {@linkcode ApiError} (body cancelled) when none comes in time. */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timeoutMs: number | undefined,
  received: number,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (timeoutMs === undefined) return await reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<"stalled">((
    r,
  ) => (timer = setTimeout(() => r("stalled"), timeoutMs)));
  try {
    const got = await Promise.race([reader.read(), stalled]);
    if (got !== "stalled") return got;
  } finally {
    clearTimeout(timer);
  }
  await reader.cancel().catch(() => {});
  throw new ApiError(
    HTTP.requestTimeout,
    `The request body stalled: no bytes for ${timeoutMs / MS_PER_SECOND} s after ${received} ` +
      `bytes, so the server closed the request. Send the whole body at once (check ` +
      `Content-Length).`,
    "invalid_request_error",
    "request_timeout",
  );
}

/** Read and discard the rest of a body, up to {@linkcode MAX_DRAIN_BYTES}. */
async function drain(body: ReadableStream<Uint8Array> | null, already: number): Promise<void> {
  if (!body || body.locked) return;
  const reader = body.getReader();
  let total = already;
  try {
    while (total < MAX_DRAIN_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.length;
    }
    await reader.cancel();
  } catch { /* the client went away: nothing to answer */ }
}
