/**
 * `deno task view`'s server: the viewer's page and JSON API (./api.ts) over a results folder,
 * on 127.0.0.1 unless told otherwise (the results can hold prompts and data not meant for the
 * network).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startViewer } from "./server.ts";
 * const viewer = startViewer({ results: Deno.makeTempDirSync(), port: 0 });
 * const res = await fetch(`${viewer.url}/api/runs`);
 * assert.equal(res.status, 200);
 * await res.body?.cancel();
 * await viewer.shutdown();
 * ```
 * @module
 */
import type { CompareOptions } from "../eval/compare.ts";
import { handleRequest } from "./api.ts";
import { ResultsStore } from "./store.ts";

/** Where the viewer listens unless told otherwise: this machine only. */
export const DEFAULT_VIEW_HOST = "127.0.0.1";
/** Its port unless told otherwise. */
export const DEFAULT_VIEW_PORT = 8090;
/** The results folder it reads unless told otherwise. */
export const DEFAULT_RESULTS = "results";

/** Options for {@linkcode startViewer}. */
export interface ViewerOptions {
  /** The results folder (holding eval/ and train/). Default: {@linkcode DEFAULT_RESULTS}. */
  results?: string;
  /** Interface to listen on. Default: {@linkcode DEFAULT_VIEW_HOST}. */
  host?: string;
  /** TCP port (0: any free port). Default: {@linkcode DEFAULT_VIEW_PORT}. */
  port?: number;
  /** Options of the comparisons it computes. Default: compareRuns' (1000 resamples, seed 0). */
  compare?: CompareOptions;
  /** How often live training streams look for new events, in ms. Default: 250. */
  pollMs?: number;
}

/** A running viewer. */
export interface Viewer {
  /** `http://HOST:PORT`. */
  url: string;
  /** The port it listens on. */
  port: number;
  /** Stop listening; open event streams end. */
  shutdown(): Promise<void>;
}

/** Start the viewer (see the module documentation). */
export function startViewer(options: ViewerOptions = {}): Viewer {
  const {
    results = DEFAULT_RESULTS,
    host = DEFAULT_VIEW_HOST,
    port = DEFAULT_VIEW_PORT,
  } = options;
  const store = new ResultsStore(results, { compare: options.compare });
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: host, port, onListen: () => {} },
    (request) => handleRequest(store, request, { pollMs: options.pollMs, signal: closing.signal }),
  );
  const addr = server.addr as Deno.NetAddr;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown === "0.0.0.0" ? "127.0.0.1" : shown}:${addr.port}`,
    port: addr.port,
    shutdown: () => {
      closing.abort();
      return server.shutdown();
    },
  };
}
