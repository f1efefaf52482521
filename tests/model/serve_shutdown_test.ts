/**
 * The server's failure edges (issue 10, "Curate, quantize, serve"): a request whose body stalls
 * is answered 408 and its connection closed after the body timeout (it used to stay open
 * forever); SIGTERM stops new connections, lets in-flight streams finish within the grace period
 * and ends the rest with an error event that the `openai` npm client raises as an APIError; a
 * port in use or a bad `--host` is one line, not a stack trace.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { resolveServeConfig } from "../../lib/serve/config.ts";
import { startServer } from "../../lib/serve/server.ts";
import { SERVE_DENO_FLAGS } from "../../lib/serve/server_process.ts";
import { TINY_GGUF } from "./_tiny.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const CLI = ["run", "-A", ...SERVE_DENO_FLAGS, "lib/cli/serve.ts"];
const dec = new TextDecoder();

Deno.test({
  name:
    "a stalled request body is answered 408 after the timeout; it holds nothing, does not block shutdown",
  ...opts,
  fn: async () => {
    const server = startServer(
      resolveServeConfig({
        port: 0,
        threads: 1,
        gpu: false,
        bodyTimeoutSeconds: 0.5,
        models: { tiny: { model: TINY_GGUF } },
      }),
      { log: () => {} },
    );
    await server.ready;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      const head =
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        "Content-Length: 200\r\n\r\n";
      await conn.write(new TextEncoder().encode(head + '{"model": "tiny", "prom'));
      const t0 = performance.now();
      let reply = "";
      const buf = new Uint8Array(4096);
      while (!reply.includes('"code":"request_timeout"}}')) {
        const n = await conn.read(buf);
        if (n === null) break;
        reply += dec.decode(buf.subarray(0, n));
      }
      const waited = performance.now() - t0;
      assert.match(reply, /^HTTP\/1\.1 408/);
      assert.match(reply, /\r\nconnection: close\r\n/i);
      assert.match(reply, /The request body stalled: no bytes for 0\.5 s after 23 bytes/);
      assert.ok(waited >= 400 && waited < 8000, `answered after ${waited.toFixed(0)} ms`);
      // Nothing is held for it, and the server still answers.
      const health = await (await fetch(`${server.url}/health`)).json();
      assert.equal(health.in_flight, 1, "only the /health request itself");
      const ok = await fetch(`${server.url}/v1/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", prompt: "Once", max_tokens: 2 }),
      });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
      // Shutdown does not wait for the stalled client's connection.
      const s0 = performance.now();
      await server.shutdown({ graceSeconds: 0.2 });
      assert.ok(
        performance.now() - s0 < 6000,
        "shutdown finished with the stalled connection open",
      );
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name:
    "SIGTERM: no new connections, short streams finish, a long one ends with an error the openai client raises",
  ...opts,
  fn: async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...CLI,
        "--model",
        TINY_GGUF,
        "--port",
        "0",
        "--threads",
        "1",
        "--cpu",
        "--ctx-size",
        "16384",
        "--max-tokens",
        "16000",
        "--shutdown-grace",
        "2",
        "--log-level",
        "warn",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    let url: string | undefined;
    while (!url) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`the server did not start:\n${stderr}`);
      stderr += value;
      url = stderr.match(/tunebook serve: (http:\/\/\S+)\/v1/)?.[1];
    }
    const rest = (async () => {
      for (let r = await lines.read(); !r.done; r = await lines.read()) stderr += r.value;
    })();
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "none", maxRetries: 0 });
    const stream = (max: number) => {
      // ignore_eos: llama.cpp's field, which tunebook's server accepts (the client passes it on).
      const body = { model: "tiny", prompt: "Once upon a time", max_tokens: max, ignore_eos: true };
      return client.completions.create({ ...body, stream: true as const });
    };
    const long = await stream(16000);
    const longIt = long[Symbol.asyncIterator]();
    await longIt.next(); // generating
    const short = await stream(40);
    const shortIt = short[Symbol.asyncIterator]();
    await shortIt.next();

    child.kill("SIGTERM");
    const t0 = performance.now();
    let shortText = "";
    for (let r = await shortIt.next(); !r.done; r = await shortIt.next()) {
      shortText += r.value.choices[0]?.text ?? "";
    }
    assert.ok(shortText.length > 0, "the short stream finished normally within the grace period");
    await new Promise((r) => setTimeout(r, 200));
    const refused = await fetch(`${url}/health`).then(
      (r) => `answered ${r.status}`,
      () => "refused",
    );
    assert.equal(refused, "refused", "no new connection after SIGTERM");

    let chunks = 0;
    const error = await (async () => {
      try {
        for (let r = await longIt.next(); !r.done; r = await longIt.next()) chunks++;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    const ended = performance.now() - t0;
    assert.ok(error instanceof OpenAI.APIError, `the client raised ${error}`);
    assert.match((error as Error).message, /The server is shutting down and ended this request/);
    assert.ok(chunks > 0, "the long stream kept streaming during the grace period");
    assert.ok(ended >= 1500, `ended after ${ended.toFixed(0)} ms, before the 2 s grace`);
    const status = await child.status;
    await rest;
    assert.equal(status.code, 0, stderr);
    assert.match(stderr, /shutting down; in-flight requests have 2 s to finish/);
  },
});

Deno.test({
  name: "a port in use or a bad --host is one line with what to do",
  ...opts,
  fn: async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port;
    try {
      const serve = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [...CLI, "--model", TINY_GGUF, ...args],
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { code: out.code, stderr: dec.decode(out.stderr).trim() };
      };
      const inUse = await serve("--port", String(port));
      assert.equal(inUse.code, 1);
      assert.equal(
        inUse.stderr,
        `serve: cannot listen on 127.0.0.1:${port}: port ${port} is already in use (another ` +
          `server, or an earlier tunebook serve still running); stop it, or choose another port ` +
          `with --port (0: any free port)`,
      );
      for (
        const [host, why] of [
          ["999.1.1.1", "neither an IP address nor a host name that resolves"],
          [
            "10.254.254.254",
            "not an address of this machine",
          ],
        ]
      ) {
        const bad = await serve("--host", host, "--port", "0");
        assert.equal(bad.code, 2, bad.stderr);
        assert.equal(bad.stderr.split("\n").length, 1, bad.stderr);
        assert.match(
          bad.stderr,
          new RegExp(
            `^serve: cannot listen on ${host}:0: --host ${host} is ${why}; use 127\\.0\\.0\\.1`,
          ),
        );
      }
    } finally {
      taken.close();
    }
  },
});
