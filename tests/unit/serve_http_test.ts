/** The server's body reader without a model: a body that stops sending is a 408 after the idle timeout. */
import assert from "node:assert/strict";
import { ApiError } from "../../lib/serve/errors.ts";
import { readJsonBody } from "../../lib/serve/http.ts";

Deno.test("readJsonBody: a body that stalls is a 408 after idleTimeoutMs, naming the bytes received", async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"model":'));
    },
    cancel() {
      cancelled = true;
    },
  });
  const req = new Request(
    "http://x/v1/completions",
    { method: "POST", body, duplex: "half" } as RequestInit,
  );
  const t0 = performance.now();
  await assert.rejects(readJsonBody(req, { maxBytes: 1024, idleTimeoutMs: 100 }), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 408);
    assert.equal(e.code, "request_timeout");
    assert.match(e.message, /no bytes for 0\.1 s after 9 bytes/);
    return true;
  });
  assert.ok(performance.now() - t0 >= 90);
  assert.ok(cancelled, "the body is cancelled");
  // A body that keeps coming is read whole.
  const ok = new Request("http://x/", { method: "POST", body: '{"a": 1}' });
  assert.deepEqual(await readJsonBody(ok, { maxBytes: 1024, idleTimeoutMs: 100 }), { a: 1 });
});
