/**
 * tunebook's OpenAI-compatible HTTP server on node-llama-cpp (`deno task serve`).
 *
 * Routes: `GET /health` (no key needed; 503 while loading), `GET /v1/models`,
 * `GET /v1/models/{name}`, `POST /v1/completions` (with `echo` and `logprobs`: prompt
 * log-probabilities, lib/serve/completion_scoring.ts), `POST /v1/chat/completions`, and vLLM's
 * tokenizer routes `POST /tokenize`, `POST /detokenize`, `GET /tokenizer_info`
 * (lib/serve/tokenization.ts). A model object carries vLLM's `max_model_len` and, under
 * `tunebook`, the SHA-256 of its GGUF and adapters, so a client spreading requests over several
 * servers can check that they serve the same model. The server listens at once and loads its
 * models in the background, answering 503 until they are ready.
 * Concurrent requests for one model name share its context through parallel sequences.
 *
 * @example
 * ```ts ignore
 * import OpenAI from "openai";
 * import { resolveServeConfig } from "./config.ts";
 * import { startServer } from "./server.ts";
 * const server = startServer(resolveServeConfig({ port: 0 }));
 * await server.ready;
 * const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none" });
 * const r = await client.completions.create({ model: "tiny", prompt: "12 plus 3 is", max_tokens: 4 });
 * console.log(r.choices[0].text);
 * await server.shutdown();
 * ```
 * @module
 */
import type { ServeConfig } from "./config.ts";
import { ApiError, errorResponse, HTTP, toApiError } from "./errors.ts";
import { handleGeneration } from "./generate.ts";
import { checkApiKey, requestId } from "./http.ts";
import { jsonLineLogger, type Logger } from "./log.ts";
import { ModelRegistry } from "./registry.ts";
import { handleTokenization, TOKENIZER_ROUTES, type TokenizerRoute } from "./tokenization.ts";

/** Options for {@linkcode startServer}. */
export interface StartServerOptions {
  /** Where structured logs go. Default: JSON lines on standard error. */
  log?: Logger;
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080` (the `/v1` API is under it). */
  url: string;
  /** The port it listens on (useful with `port: 0`). */
  port: number;
  /** Resolves when the models are loaded; rejects with the loading error. */
  ready: Promise<void>;
  /** The served models. */
  registry: ModelRegistry;
  /** Requests being handled (a stream counts until its headers are sent). */
  inFlight: () => number;
  /**
   * Stop: accept no new connection, let in-flight requests finish for the grace period, then
   * end those left (a stream gets an `error` event, others a 503), and free the models. Calling
   * it again with `graceSeconds: 0` ends the grace period at once.
   */
  shutdown: (options?: ShutdownOptions) => Promise<void>;
}

/** Options for {@linkcode RunningServer.shutdown}. */
export interface ShutdownOptions {
  /** Seconds in-flight requests may still run. Default: the config's `shutdownGraceSeconds`. */
  graceSeconds?: number;
}

const MS_PER_SECOND = 1000;
/** After the grace period, how long ended requests may take to close their connections. */
const CLOSE_WAIT_MS = 2000;
const OWNER = "tunebook";

/**
 * Start listening and loading models. The returned server answers 503 until `ready` resolves.
 *
 * @example
 * ```ts ignore
 * const server = startServer(resolveServeConfig({ port: 0, apiKey: "secret" }), { log: console.log });
 * await server.ready;
 * console.log(server.url);
 * await server.shutdown();
 * ```
 */
export function startServer(config: ServeConfig, options: StartServerOptions = {}): RunningServer {
  const { log = jsonLineLogger() } = options;
  const registry = new ModelRegistry(config);
  const closing = new AbortController();
  const created = Math.floor(Date.now() / MS_PER_SECOND);
  let inFlight = 0;

  const route = async (req: Request, id: string): Promise<Response> => {
    const { pathname } = new URL(req.url);
    const path = pathname.replace(/\/+$/, "") || "/";
    const headers = { "x-request-id": id };
    if (path === "/health") {
      allow(req, "GET");
      const state = registry.state;
      return Response.json({
        status: state === "ready" ? "ok" : state,
        ...(registry.error ? { error: registry.error.message } : {}),
        models: registry.names(),
        contexts: registry.stats(),
        in_flight: inFlight,
      }, { status: state === "ready" ? HTTP.ok : HTTP.unavailable, headers });
    }
    if ((TOKENIZER_ROUTES as readonly string[]).includes(path)) {
      checkApiKey(req, config.apiKey);
      allow(req, path === "/tokenizer_info" ? "GET" : "POST");
      return await handleTokenization(req, path as TokenizerRoute, { registry, config, headers });
    }
    if (!path.startsWith("/v1/")) throw notFound(req, path);
    checkApiKey(req, config.apiKey);
    if (path === "/v1/models") {
      allow(req, "GET");
      const data = [];
      for (const name of registry.names()) data.push(await modelObject(name, created, registry));
      return Response.json({ object: "list", data }, { headers });
    }
    if (path.startsWith("/v1/models/")) {
      allow(req, "GET");
      const name = decodeURIComponent(path.slice("/v1/models/".length));
      if (!registry.names().includes(name)) {
        throw new ApiError(
          HTTP.notFound,
          `The model '${name}' does not exist. Models served here: ${registry.names().join(", ")}`,
          "invalid_request_error",
          "model_not_found",
          "model",
        );
      }
      return Response.json(await modelObject(name, created, registry), { headers });
    }
    const endpoint = path === "/v1/completions"
      ? "completion"
      : path === "/v1/chat/completions"
      ? "chat"
      : undefined;
    if (!endpoint) throw notFound(req, path);
    allow(req, "POST");
    return await handleGeneration(req, {
      endpoint,
      registry,
      config,
      log,
      requestId: id,
      shutdown: closing.signal,
    });
  };

  const handler = async (req: Request): Promise<Response> => {
    const id = requestId(req);
    const start = performance.now();
    inFlight++;
    try {
      return await route(req, id);
    } catch (e) {
      const error = toApiError(e);
      log({
        level: error.status >= HTTP.serverError ? "error" : "info",
        event: "request",
        request_id: id,
        method: req.method,
        path: new URL(req.url).pathname,
        status: error.status,
        latency_ms: Number((performance.now() - start).toFixed(1)),
        error: error.message,
        code: error.code,
      });
      return errorResponse(error, { "x-request-id": id });
    } finally {
      inFlight--;
    }
  };

  let resolveListening!: (port: number) => void;
  const listening = new Promise<number>((r) => (resolveListening = r));
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: ({ port }) => resolveListening(port),
    }, handler);
  } catch (e) {
    throw listenError(e as Error, config);
  }
  const addr = server.addr as Deno.NetAddr;
  const url = `http://${
    addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname
  }:${addr.port}`;
  void listening.then(() =>
    log({ level: "info", event: "listening", url, models: registry.names() })
  );

  const loadStart = performance.now();
  const ready = registry.start().then(() => {
    log({
      level: "info",
      event: "models_loaded",
      models: registry.names(),
      load_ms: Number((performance.now() - loadStart).toFixed(1)),
    });
  }, (e: Error) => {
    log({ level: "error", event: "load_failed", error: e.message });
    throw e;
  });
  ready.catch(() => {}); // observed through `ready` by the caller

  let stopped: Promise<void> | undefined;
  let endGrace: (() => void) | undefined;
  const endInFlight = () => {
    if (closing.signal.aborted) return;
    log({ level: "warn", event: "shutdown_ending_requests", in_flight: inFlight });
    closing.abort();
  };
  const shutdown = (opts: ShutdownOptions = {}) => {
    const graceMs = (opts.graceSeconds ?? config.shutdownGraceSeconds) * MS_PER_SECOND;
    if (stopped) {
      if (graceMs === 0) endGrace?.();
      return stopped;
    }
    stopped = (async () => {
      log({ level: "info", event: "shutting_down", in_flight: inFlight, grace_ms: graceMs });
      // Closes the listener at once; resolves when every in-flight response has finished.
      const drained = server.shutdown();
      const grace = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        endGrace = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      let drainedNow = false;
      void drained.then(() => {
        drainedNow = true;
        endGrace?.();
      });
      await grace;
      if (!drainedNow) endInFlight();
      // Ended streams finish at their next token. A connection whose request body stalled stays
      // open as long as its client holds it (Deno 2.9's HTTP server cannot drop a connection
      // while a body read is pending; it was answered 408): stop waiting for it.
      const closed = await Promise.race([
        drained.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), CLOSE_WAIT_MS)),
      ]);
      if (closed) await server.finished;
      else {
        log({ level: "warn", event: "shutdown_connections_left_open" });
        server.unref();
      }
      await ready.catch(() => {});
      await registry.close();
      log({ level: "info", event: "stopped" });
    })();
    return stopped;
  };

  return { url, port: addr.port, ready, registry, inFlight: () => inFlight, shutdown };
}

/** The server could not listen where it was told to; `badAddress`: the host is the problem. */
export class ListenError extends Error {
  /** True when `host` is not an address of this machine or not a name that resolves. */
  badAddress: boolean;
  /** Create the error. */
  constructor(message: string, badAddress: boolean) {
    super(message);
    this.name = "ListenError";
    this.badAddress = badAddress;
  }
}

function listenError(e: Error, config: ServeConfig): ListenError {
  const where = `${config.host}:${config.port}`;
  if (e instanceof Deno.errors.AddrInUse) {
    return new ListenError(
      `cannot listen on ${where}: port ${config.port} is already in use (another server, or an ` +
        `earlier tunebook serve still running); stop it, or choose another port with --port ` +
        `(0: any free port)`,
      false,
    );
  }
  if (e instanceof Deno.errors.AddrNotAvailable || /lookup address/i.test(e.message)) {
    const why = e instanceof Deno.errors.AddrNotAvailable
      ? "not an address of this machine"
      : "neither an IP address nor a host name that resolves";
    return new ListenError(
      `cannot listen on ${where}: --host ${config.host} is ${why}; use 127.0.0.1 (this machine ` +
        `only), 0.0.0.0 (every interface) or one of this machine's addresses`,
      true,
    );
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new ListenError(
      `cannot listen on ${where}: permission denied (ports below 1024 need privileges); choose ` +
        `a port above 1024 with --port`,
      false,
    );
  }
  return new ListenError(`cannot listen on ${where}: ${e.message}`, false);
}

async function modelObject(
  name: string,
  created: number,
  registry: ModelRegistry,
): Promise<Record<string, unknown>> {
  const base = { id: name, object: "model", created, owned_by: OWNER };
  if (registry.state !== "ready") return base;
  const identity = await registry.identity(name);
  return { ...base, max_model_len: identity.context_size, tunebook: identity };
}

function allow(req: Request, method: string): void {
  if (req.method !== method) {
    throw new ApiError(
      HTTP.methodNotAllowed,
      `${req.method} is not allowed on ${new URL(req.url).pathname}; use ${method}`,
      "invalid_request_error",
      "method_not_allowed",
    );
  }
}

function notFound(req: Request, path: string): ApiError {
  return new ApiError(
    HTTP.notFound,
    `Unknown route ${req.method} ${path}. Routes: GET /health, GET /v1/models, ` +
      `POST /v1/completions, POST /v1/chat/completions, POST /tokenize, POST /detokenize, ` +
      `GET /tokenizer_info.`,
    "invalid_request_error",
    "unknown_route",
  );
}
