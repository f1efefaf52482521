/**
 * The viewer's JSON API over a {@linkcode ResultsStore}, and the page it serves:
 *
 * | route                                   | gives                                                     |
 * | --------------------------------------- | --------------------------------------------------------- |
 * | `GET /api/runs`                         | every evaluation and training run (the runs index)        |
 * | `GET /api/eval/<run>`                   | a run: per-task metrics, by length, skipped, row errors   |
 * | `GET /api/eval/<run>/samples?…`         | a page of samples: `task outcome min max q offset limit`  |
 * | `GET /api/compare?run=A&run=B…`         | paired Δ per task, McNemar b/c, items per change          |
 * | `GET /api/compare/items?run=A&run=B&…`  | a page of shared items: `task against change q offset limit` |
 * | `GET /api/train/<run>`                  | a training run: events, loss figure, config, artifacts    |
 * | `GET /api/train/<run>/events?from=N`    | server-sent events: new trainer events and the figure     |
 *
 * `/` is the page (a single-page app, ./page/), `/app.js`, `/app.css` and `/plotly.min.js` what
 * it loads — nothing from the network. Errors are JSON `{"error": "…"}` with 400 (a bad
 * request: what was wrong and what to do), 404 (no such run or route) or 500.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handleRequest } from "./api.ts";
 * import { ResultsStore } from "./store.ts";
 * const store = new ResultsStore(Deno.makeTempDirSync());
 * const res = await handleRequest(store, new Request("http://127.0.0.1/api/runs"));
 * assert.deepEqual((await res.json()).eval, []);
 * assert.equal((await handleRequest(store, new Request("http://127.0.0.1/api/eval/x"))).status, 404);
 * ```
 * @module
 */
import { CompareInputError } from "../eval/compare.ts";
import { lossFigure } from "../plots/loss_figure.ts";
import type { TrainEvent } from "../train/bridge.ts";
import { pageCss, pageHtml, pageScript } from "./page_assets.ts";
import { plotlyJs } from "../plots/html.ts";
import { parseCompareQuery, parseSampleQuery } from "./page/query.js";
import { trainRunSummary } from "./runs.ts";
import { type ResultsStore, RunNotFoundError } from "./store.ts";
import { EventTail } from "./train_view.ts";

/** How often a live training stream looks for new events. */
export const EVENTS_POLL_MS = 250;
/** A comment line this often keeps an idle event stream open through proxies. */
export const EVENTS_KEEPALIVE_MS = 15_000;

/** Options for {@linkcode handleRequest}. */
export interface HandleOptions {
  /** Poll interval of live event streams. Default: {@linkcode EVENTS_POLL_MS}. */
  pollMs?: number;
  /** When aborted, open event streams end (the server is shutting down). Default: none. */
  signal?: AbortSignal;
}

/** Answer one request (see the module documentation for the routes). */
export async function handleRequest(
  store: ResultsStore,
  request: Request,
  options: HandleOptions = {},
): Promise<Response> {
  const url = new URL(request.url);
  if (request.method !== "GET" && request.method !== "HEAD") {
    return json({ error: `${request.method} is not supported; the viewer only reads` }, 405);
  }
  try {
    return await route(store, url, options);
  } catch (e) {
    if (e instanceof RunNotFoundError) return json({ error: e.message }, 404);
    if (e instanceof CompareInputError || e instanceof BadRequest) {
      return json({ error: e.message }, 400);
    }
    return json({ error: `viewer error: ${(e as Error).message}` }, 500);
  }
}

class BadRequest extends Error {}

function route(
  store: ResultsStore,
  url: URL,
  options: HandleOptions,
): Response | Promise<Response> {
  const path = url.pathname;
  const params = url.searchParams;
  if (path === "/" || path === "/index.html") return text(pageHtml(), "text/html");
  if (path === "/app.js") return text(pageScript(), "text/javascript");
  if (path === "/app.css") return text(pageCss(), "text/css");
  if (path === "/plotly.min.js") return text(plotlyJs(), "text/javascript", "max-age=3600");
  if (path === "/favicon.ico") return new Response(null, { status: 204 });
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "api") return json({ error: `no page ${path}; open / for the viewer` }, 404);
  const [, kind, id, sub] = parts;
  if (kind === "runs" && parts.length === 2) return json(store.runs());
  if (kind === "eval" && id && parts.length === 3) return json(store.evalRun(id));
  if (kind === "eval" && id && sub === "samples" && parts.length === 4) {
    const { filter, offset, limit } = parseSampleQuery(params);
    return json(store.samples(id, filter, { offset, limit }));
  }
  if (kind === "compare" && parts.length <= 3) {
    const ids = params.getAll("run");
    if (ids.length < 2) {
      throw new BadRequest(
        `compare needs two or more runs: ?run=BASELINE&run=OTHER… (got ${ids.length})`,
      );
    }
    if (parts.length === 2) return json(store.compare(ids));
    if (id === "items") {
      const { filter, offset, limit } = parseCompareQuery(params);
      return json(store.compareItems(ids, filter, { offset, limit }));
    }
  }
  if (kind === "train" && id && parts.length === 3) return json(store.trainRun(id));
  if (kind === "train" && id && sub === "events" && parts.length === 4) {
    return eventStream(store, id, Number(params.get("from") ?? 0) || 0, options);
  }
  return json({ error: `no API route ${path}` }, 404);
}

/**
 * Server-sent events for training run `id`: one `events` message whenever events.jsonl gains
 * complete lines past byte `from` — the new events, the loss figure over all of them, the run's
 * summary and the byte position reached.
 */
function eventStream(
  store: ResultsStore,
  id: string,
  from: number,
  options: HandleOptions,
): Response {
  const path = store.eventsPath(id);
  const pollMs = options.pollMs ?? EVENTS_POLL_MS;
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    clearInterval(timer);
    clearInterval(keepalive);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const tail = new EventTail(path);
      const all: TrainEvent[] = [];
      let sent = from;
      const send = (chunk: string) => {
        try {
          controller.enqueue(encoder.encode(chunk));
        } catch {
          stop(); // the client went away
        }
      };
      const poll = () => {
        const restarts = tail.restarts;
        const fresh = tail.readWithEnds();
        if (tail.restarts !== restarts) (all.length = 0, sent = 0); // replaced: start over
        all.push(...fresh.map((e) => e.event));
        if (tail.position <= sent) return;
        const newEvents = fresh.filter((e) => e.end > sent).map((e) => e.event);
        sent = tail.position;
        const message = {
          events: newEvents,
          position: tail.position,
          figure: lossFigure([{ label: "", events: all }]),
          summary: trainRunSummary(store.root, id),
        };
        send(`event: events\ndata: ${JSON.stringify(message)}\n\n`);
      };
      send(`retry: 1000\n\n`);
      poll();
      timer = setInterval(poll, pollMs);
      keepalive = setInterval(() => send(`: keepalive\n\n`), EVENTS_KEEPALIVE_MS);
      const end = () => {
        stop();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      options.signal?.addEventListener("abort", end);
      if (options.signal?.aborted) end();
    },
    cancel: stop, // the client went away
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function text(body: string, type: string, cache = "no-store"): Response {
  return new Response(body, {
    headers: { "content-type": `${type}; charset=utf-8`, "cache-control": cache },
  });
}
