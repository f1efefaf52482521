/**
 * lib/eval/endpoint_pool.ts without a network: the bound per endpoint, the spread over endpoints,
 * what each kind of failure leads to (another endpoint, a retry after a backoff, no retry) and
 * the error when every attempt failed.
 */
import assert from "node:assert/strict";
import {
  AllEndpointsFailedError,
  AttemptFailure,
  EndpointPool,
} from "../../lib/eval/endpoint_pool.ts";

const URLS = ["http://a", "http://b", "http://c"];
const FAST = { retryBaseMs: 1, maxRetryDelayMs: 2 };

function tick(ms = 2): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

Deno.test("at most perEndpoint requests in flight on each endpoint, every endpoint used", async () => {
  const pool = new EndpointPool(URLS, { perEndpoint: 2, maxAttempts: 3 });
  assert.equal(pool.capacity, 6);
  const inFlight = new Map<string, number>();
  const most = new Map<string, number>();
  let total = 0, peak = 0;
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    pool.run(async (url) => {
      inFlight.set(url, (inFlight.get(url) ?? 0) + 1);
      total++;
      peak = Math.max(peak, total);
      most.set(url, Math.max(most.get(url) ?? 0, inFlight.get(url)!));
      await tick(1 + (i % 3));
      inFlight.set(url, inFlight.get(url)! - 1);
      total--;
      return i;
    })));
  assert.deepEqual(results, Array.from({ length: 30 }, (_, i) => i), "answers in call order");
  assert.equal(peak, 6);
  for (const url of URLS) assert.equal(most.get(url), 2, url);
  assert.deepEqual(pool.stats().map((s) => s.requests).reduce((a, b) => a + b), 30);
  assert.ok(pool.stats().every((s) => s.requests >= 5), JSON.stringify(pool.stats()));
});

Deno.test("an endpoint failure goes to another endpoint; a request failure is not retried", async () => {
  const retried: string[] = [];
  const pool = new EndpointPool(URLS, {
    perEndpoint: 1,
    maxAttempts: 5,
    onRetry: (url) => retried.push(url),
    ...FAST,
  });
  const tried: string[] = [];
  const got = await pool.run(async (url) => {
    await Promise.resolve();
    tried.push(url);
    if (url !== "http://c") throw new AttemptFailure("endpoint", new Error(`${url} is down`));
    return "ok";
  });
  assert.equal(got, "ok");
  assert.equal(tried.at(-1), "http://c");
  assert.equal(new Set(tried).size, tried.length, "never the same endpoint twice");
  assert.deepEqual(retried, tried.slice(0, -1), "each retry after the endpoint that failed");
  // The request's own fault: thrown at once, as it is.
  const bad = new Error("400: 'prompt' must be a string");
  let calls = 0;
  await assert.rejects(
    pool.run(() => {
      calls++;
      return Promise.reject(new AttemptFailure("request", bad));
    }),
    (e) => e === bad,
  );
  assert.equal(calls, 1);
  // Any other error too.
  await assert.rejects(pool.run(() => Promise.reject(new TypeError("bug"))), TypeError);
});

Deno.test("every endpoint failing: one error naming each endpoint and what it said", async () => {
  const pool = new EndpointPool(URLS, { perEndpoint: 1, maxAttempts: 4, ...FAST });
  await assert.rejects(
    pool.run((url) =>
      Promise.reject(new AttemptFailure("endpoint", new Error(`refused at ${url}`)))
    ),
    (e: Error) => {
      assert.ok(e instanceof AllEndpointsFailedError);
      assert.equal(
        e.attempts.length,
        3,
        "each endpoint once: an endpoint failure is not retried there",
      );
      for (const url of URLS) assert.match(e.message, new RegExp(`${url}: refused at ${url}`));
      assert.match(e.message, /every endpoint/);
      return true;
    },
  );
  // Transient failures are retried, on endpoints already tried too, up to maxAttempts.
  let n = 0;
  await assert.rejects(
    pool.run(() => {
      n++;
      return Promise.reject(new AttemptFailure("transient", new Error("503: overloaded")));
    }),
    (e: Error) => e instanceof AllEndpointsFailedError && e.attempts.length === 4,
  );
  assert.equal(n, 4);
});

Deno.test("one endpoint: transient failures retried after a backoff, then its own error", async () => {
  const pool = new EndpointPool(["http://only"], { perEndpoint: 2, maxAttempts: 3, ...FAST });
  let n = 0;
  const answer = await pool.run(() => {
    n++;
    if (n < 3) return Promise.reject(new AttemptFailure("transient", new Error("429: slow down")));
    return Promise.resolve("answered");
  });
  assert.equal(answer, "answered");
  await assert.rejects(
    pool.run(() => Promise.reject(new AttemptFailure("transient", new Error("503: overloaded")))),
    /503: overloaded, still after 2 retries/,
  );
  // An endpoint failure with nowhere else to go: its error, not retried.
  let m = 0;
  await assert.rejects(
    pool.run(() => {
      m++;
      return Promise.reject(new AttemptFailure("endpoint", new Error("cannot reach http://only")));
    }),
    /^Error: cannot reach http:\/\/only$/,
  );
  assert.equal(m, 1);
});

Deno.test("a failed endpoint is passed over by other requests while it cools down", async () => {
  const pool = new EndpointPool(["http://a", "http://b"], {
    perEndpoint: 4,
    maxAttempts: 3,
    cooldownMs: 60_000,
    ...FAST,
  });
  await pool.run((url) =>
    url === "http://a"
      ? Promise.reject(new AttemptFailure("endpoint", new Error("down")))
      : Promise.resolve(url)
  ).catch(() => undefined);
  const used = await Promise.all(
    Array.from({ length: 4 }, () => pool.run((url) => Promise.resolve(url))),
  );
  assert.deepEqual(used, ["http://b", "http://b", "http://b", "http://b"]);
});
