/**
 * The load generator's accounting against a fake streaming server: a stream that ends with an
 * error chunk (as llama-server's can, after its last token) is an error, not a completed request,
 * but the tokens it streamed count towards tokens/s — the server generated them.
 */
import assert from "node:assert/strict";
import { runStreamingLoad } from "../../lib/serve/loadgen.ts";

const encoder = new TextEncoder();

Deno.test("tokens streamed before a stream's error count; the request is an error", async () => {
  let n = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    const failing = n++ % 2 === 1;
    const lines = [1, 2, 3].map((i) =>
      `data: ${JSON.stringify({ choices: [{ index: 0, text: `t${i}`, finish_reason: null }] })}\n\n`
    );
    if (failing) {
      lines.push(`data: ${JSON.stringify({ error: { code: 500, message: "parse" } })}\n\n`);
    } else {
      lines.push(
        `data: ${
          JSON.stringify({ choices: [{ index: 0, text: "", finish_reason: "length" }] })
        }\n\n`,
      );
      lines.push("data: [DONE]\n\n");
    }
    return new Response(encoder.encode(lines.join("")), {
      headers: { "content-type": "text/event-stream" },
    });
  });
  try {
    const r = await runStreamingLoad(`http://127.0.0.1:${server.addr.port}`, {
      concurrency: 1,
      requests: 4,
      maxTokens: 3,
    });
    assert.equal(r.errors.length, 2);
    assert.match(r.errors[0], /parse/);
    assert.equal(r.complete, 2);
    assert.equal(r.completionTokens, 12, "3 tokens from each of the 4 streams");
  } finally {
    await server.shutdown();
  }
});
