/**
 * A bounded load test of the server process on the tiny model (loopback only): concurrent
 * streaming clients, more of them than parallel sequences, for two batches of requests. Every
 * response must be complete (finish reason, [DONE], exactly max_tokens tokens), no request may
 * fail, and the server's resident memory must not grow from the first batch to the second.
 * `deno task bench:serve` runs the bigger version and compares with llama.cpp's llama-server.
 */
import assert from "node:assert/strict";
import { runStreamingLoad } from "../../lib/serve/loadgen.ts";
import { spawnTunebookServer } from "../../lib/serve/server_process.ts";
import { TINY_GGUF } from "./_tiny.ts";

/**
 * One ggml thread: the server process shares the 2 cores with this test's client, and ggml's
 * spinning worker threads slow everything down by orders of magnitude when oversubscribed.
 */
const SERVER_THREADS = 1;
const CLIENTS = 6;
const SEQUENCES = 4;
const REQUESTS = 36;
const MAX_TOKENS = 32;
const TIME_LIMIT_MS = 120_000;
/** Growth of resident memory between the two batches still called flat. */
const FLAT_MEMORY_MB = 16;

Deno.test({
  name: "load: concurrent streaming clients, no errors, every response complete, memory flat",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = await spawnTunebookServer([
      "--model",
      TINY_GGUF,
      "--threads",
      String(SERVER_THREADS),
      "--sequences",
      String(SEQUENCES),
      "--cpu",
      "--log-level",
      "warn",
    ]);
    try {
      const load = () =>
        runStreamingLoad(server.url, {
          concurrency: CLIENTS,
          requests: REQUESTS,
          maxTokens: MAX_TOKENS,
          timeLimitMs: TIME_LIMIT_MS,
          memoryMb: server.rssMb,
        });
      const first = await load();
      const second = await load();
      for (const r of [first, second]) {
        assert.deepEqual(r.errors, []);
        assert.equal(r.skipped, 0, "finished within the time limit");
        assert.equal(r.complete, REQUESTS, `${r.incomplete} incomplete responses`);
        assert.equal(r.completionTokens, REQUESTS * MAX_TOKENS);
        assert.ok(r.latencyMs.p95 >= r.latencyMs.p50 && r.latencyMs.p50 > 0);
      }
      const growth = second.memoryMb!.end - first.memoryMb!.end;
      assert.ok(
        growth < FLAT_MEMORY_MB,
        `memory grew ${growth.toFixed(1)} MB (${first.memoryMb!.end.toFixed(1)} → ` +
          `${second.memoryMb!.end.toFixed(1)} MB) over ${REQUESTS} more requests`,
      );
      // Bad input after the load: answered, and the server stays up.
      const bad = await fetch(`${server.url}/v1/completions`, { method: "POST", body: "{oops" });
      assert.equal(bad.status, 400);
      await bad.body?.cancel();
      const ok = await fetch(`${server.url}/v1/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", prompt: "Hi", max_tokens: 2 }),
      });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
  },
});
