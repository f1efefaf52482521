/**
 * The load generator's accounting against a fake streaming server: a stream that ends with an
 * error chunk (as llama-server's can, after its last token) is an error, not a completed request,
 * but the tokens it streamed count towards tokens/s — the server generated them.
 */
import assert from "node:assert/strict";
import { answerablePrompts, runStreamingLoad } from "../../lib/serve/loadgen.ts";

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

Deno.test("answerablePrompts keeps the prompts a server answers in full, drops the others with the error", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const { prompt, max_tokens } = await req.json();
    const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    const lines = Array.from(
      { length: max_tokens },
      (_, i) => chunk({ choices: [{ index: 0, text: `t${i}`, finish_reason: null }] }),
    );
    if (prompt === "bad") lines.push(chunk({ error: { code: 500, message: "parser rejects" } }));
    else if (prompt === "short") lines.splice(1);
    if (prompt !== "bad") {
      lines.push(
        chunk({ choices: [{ index: 0, text: "", finish_reason: "length" }] }),
        "data: [DONE]\n\n",
      );
    }
    return new Response(encoder.encode(lines.join("")), {
      headers: { "content-type": "text/event-stream" },
    });
  });
  try {
    const r = await answerablePrompts(`http://127.0.0.1:${server.addr.port}`, {
      prompts: ["a", "bad", "b", "short"],
      maxTokens: 3,
      body: { temperature: 0, ignore_eos: true },
    });
    assert.deepEqual(r.kept, ["a", "b"]);
    assert.deepEqual(r.dropped.map((d) => d.prompt), ["bad", "short"]);
    assert.match(r.dropped[0].error, /parser rejects/);
    assert.equal(r.dropped[1].error, "incomplete response");
  } finally {
    await server.shutdown();
  }
});
