/**
 * Run an async function over items with at most `concurrency` calls in flight, items taken in
 * order (each worker takes the next one when its call ends).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runPool } from "./run_pool.ts";
 * let inFlight = 0, most = 0;
 * const seen: number[] = [];
 * await runPool([1, 2, 3, 4, 5], 2, async (x) => {
 *   most = Math.max(most, ++inFlight);
 *   await new Promise((r) => setTimeout(r, 1));
 *   seen.push(x);
 *   inFlight--;
 * });
 * assert.equal(most, 2);
 * assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5]);
 * ```
 * @module
 */

/** Call `fn` on every item, at most `concurrency` (at least 1) at a time; rejects on the first failure. */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from(
    { length: Math.max(1, Math.min(concurrency, items.length)) },
    async () => {
      while (next < items.length) await fn(items[next++]);
    },
  );
  await Promise.all(workers);
}
