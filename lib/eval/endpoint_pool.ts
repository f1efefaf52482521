/**
 * Spreading requests over several endpoints that serve the same model (a vLLM deployment's
 * replicas, several `deno task serve` machines): each endpoint holds at most `perEndpoint`
 * requests at once (a request waits for a free place), a request goes to the endpoint with the
 * fewest in flight (ties: the next in turn), and a failed request is tried again on another one.
 *
 * What a failure is decides what happens next ({@linkcode AttemptFailure}):
 * - `endpoint` (it cannot be reached, timed out, refused the key, has no such model or route, or
 *   answered something that is not the API): the request goes to an endpoint not tried yet; with
 *   none left it fails. Such an endpoint is passed over by other requests for a while.
 * - `transient` (429, 5xx): retried — on an endpoint not tried yet when there is one, else on one
 *   already tried after a backoff (`Retry-After` when the server gave one).
 * - `request` (the request itself is wrong: a 400, a prompt too long): not retried.
 *
 * At most `maxAttempts` attempts per request; when all fail, the error names every endpoint
 * tried and what each said (with one endpoint, its own error, saying how often it was retried).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { AttemptFailure, EndpointPool } from "./endpoint_pool.ts";
 * const pool = new EndpointPool(["http://a", "http://b"], { perEndpoint: 2, maxAttempts: 3 });
 * const got = await pool.run(async (url) => {
 *   if (url === "http://a") throw new AttemptFailure("endpoint", new Error("down"));
 *   return url;
 * });
 * strictEqual(got, "http://b");
 * ```
 * @module
 */

/** Options for {@linkcode EndpointPool}. */
export interface EndpointPoolOptions {
  /** Requests in flight per endpoint. Required. */
  perEndpoint: number;
  /** Attempts per request, over all endpoints. Required. */
  maxAttempts: number;
  /** First backoff before trying an endpoint again, doubled each time. Default: 1000. */
  retryBaseMs?: number;
  /** Longest backoff (`Retry-After` included). Default: 30000. */
  maxRetryDelayMs?: number;
  /** How long an endpoint that failed is passed over by other requests. Default: 5000. */
  cooldownMs?: number;
  /** Called before each retry. Default: nothing. */
  onRetry?: (url: string, failure: AttemptFailure) => void;
}

/** Why one attempt failed, and so what to do next (see the module documentation). */
export class AttemptFailure extends Error {
  /**
   * `kind`: whose fault; `cause`: the error to report; `retryAfterMs`: the server's
   * `Retry-After`, when it gave one.
   */
  constructor(
    readonly kind: "endpoint" | "transient" | "request",
    override readonly cause: Error,
    readonly retryAfterMs?: number,
  ) {
    super(cause.message);
    this.name = "AttemptFailure";
  }
}

/** Thrown when every attempt of a request failed on several endpoints. */
export class AllEndpointsFailedError extends Error {
  /** Each attempt: the endpoint and what it said. */
  constructor(readonly attempts: { url: string; error: Error }[]) {
    const tried = [...new Set(attempts.map((a) => a.url))];
    super(
      `the request failed on ${
        tried.length === 1 ? "the only endpoint tried" : "every endpoint"
      } ` +
        `(${attempts.length} attempts): ` +
        attempts.map((a) => `${a.url}: ${a.error.message}`).join("; ") +
        ". Check that each --endpoint serves the model and is up.",
    );
    this.name = "AllEndpointsFailedError";
  }
}

/** Per endpoint: requests answered and attempts that failed. */
export interface EndpointStats {
  /** The endpoint. */
  url: string;
  /** Requests it answered. */
  requests: number;
  /** Attempts on it that failed. */
  failures: number;
}

interface Slot {
  url: string;
  inFlight: number;
  requests: number;
  failures: number;
  /** Passed over by other requests until then (performance.now()). */
  coolUntil: number;
}

const DEFAULT_RETRY_BASE_MS = 1_000;
const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
const DEFAULT_COOLDOWN_MS = 5_000;

/** Requests spread over endpoints; see the module documentation. */
export class EndpointPool {
  readonly #slots: Slot[];
  readonly #options: Required<Omit<EndpointPoolOptions, "onRetry">> & EndpointPoolOptions;
  readonly #waiters: (() => void)[] = [];
  #turn = 0;

  /** `urls`: the endpoints (at least one). */
  constructor(urls: readonly string[], options: EndpointPoolOptions) {
    if (urls.length === 0) throw new Error("EndpointPool: no endpoints");
    this.#slots = urls.map((url) => ({ url, inFlight: 0, requests: 0, failures: 0, coolUntil: 0 }));
    this.#options = {
      retryBaseMs: DEFAULT_RETRY_BASE_MS,
      maxRetryDelayMs: DEFAULT_MAX_RETRY_DELAY_MS,
      cooldownMs: DEFAULT_COOLDOWN_MS,
      ...options,
    };
  }

  /** The endpoints, in the order given. */
  get urls(): string[] {
    return this.#slots.map((s) => s.url);
  }

  /** Requests the pool keeps in flight at most: `perEndpoint` per endpoint. */
  get capacity(): number {
    return this.#slots.length * this.#options.perEndpoint;
  }

  /** Requests answered and failed attempts, per endpoint. */
  stats(): EndpointStats[] {
    return this.#slots.map(({ url, requests, failures }) => ({ url, requests, failures }));
  }

  /**
   * Run `attempt` on an endpoint, and on others after a failure it signals with
   * {@linkcode AttemptFailure}; any other error is thrown as is, not retried.
   */
  async run<T>(attempt: (url: string) => Promise<T>): Promise<T> {
    const tried = new Set<Slot>();
    const failures: { url: string; error: Error; failure: AttemptFailure }[] = [];
    let backoffs = 0;
    for (let n = 0; n < this.#options.maxAttempts; n++) {
      const last = failures.at(-1)?.failure;
      const fresh = this.#slots.filter((s) => !tried.has(s));
      if (last?.kind === "endpoint" && fresh.length === 0) break;
      if (last && fresh.length === 0) {
        // Every endpoint failed this request: wait before trying one again.
        await sleep(this.#delay(backoffs++, last.retryAfterMs));
      }
      if (last) this.#options.onRetry?.(failures.at(-1)!.url, last);
      const slot = await this.#acquire(fresh.length ? fresh : this.#slots);
      tried.add(slot);
      try {
        const value = await attempt(slot.url);
        slot.requests++;
        return value;
      } catch (e) {
        if (!(e instanceof AttemptFailure)) throw e;
        slot.failures++;
        failures.push({ url: slot.url, error: e.cause, failure: e });
        if (e.kind === "request") throw e.cause;
        if (e.kind === "endpoint") slot.coolUntil = performance.now() + this.#options.cooldownMs;
      } finally {
        this.#release(slot);
      }
    }
    const last = failures.at(-1)!;
    if (this.#slots.length === 1) {
      if (last.failure.kind === "transient") {
        last.error.message += `, still after ${failures.length - 1} retries. Lower the ` +
          `concurrency, raise the retries, or try again later.`;
      }
      throw last.error;
    }
    throw new AllEndpointsFailedError(failures.map(({ url, error }) => ({ url, error })));
  }

  /** A place on the least busy of `among` (cooled-down ones last), waiting while all are full. */
  async #acquire(among: Slot[]): Promise<Slot> {
    for (;;) {
      const now = performance.now();
      const open = among.filter((s) => s.inFlight < this.#options.perEndpoint);
      if (open.length) {
        const warm = open.filter((s) => s.coolUntil <= now);
        const pool = warm.length ? warm : open;
        const least = Math.min(...pool.map((s) => s.inFlight));
        const ties = pool.filter((s) => s.inFlight === least);
        const slot = ties[this.#turn++ % ties.length];
        slot.inFlight++;
        return slot;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #release(slot: Slot): void {
    slot.inFlight--;
    // Every waiter looks again: each may want only some of the endpoints.
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #delay(attempt: number, retryAfterMs: number | undefined): number {
    const wanted = retryAfterMs ?? this.#options.retryBaseMs * 2 ** attempt;
    return Math.min(wanted, this.#options.maxRetryDelayMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
