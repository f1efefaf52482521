/**
 * `deno task serve`'s entry point, started exactly as the Dockerfile's ENTRYPOINT starts it (same
 * Deno permission flags), with arguments appended the way `docker run IMAGE ARGS…` appends them:
 * it serves the tiny model and an adapter given by flag, takes its API key from the environment,
 * logs JSON lines, and exits 0 on SIGTERM. Also: bad flags exit 2 with the usage.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { writeRandomLora } from "./_serve_lora.ts";
import { TINY_GGUF } from "./_tiny.ts";
import { startServeChild } from "./_serve_child.ts";

/** One ggml thread: the server process shares the 2 cores with this test process. */
const SERVER_THREADS = 1;
const KEY = "cli-key";

/** The Dockerfile's exec-form ENTRYPOINT. */
function dockerEntrypoint(): string[] {
  const line = readFileSync("Dockerfile", "utf8").match(/^ENTRYPOINT (\[.*\])$/m)?.[1];
  assert.ok(line, "the Dockerfile has a one-line exec-form ENTRYPOINT");
  return JSON.parse(line);
}

Deno.test({
  name: "the Dockerfile's command line serves the model and an adapter, then stops on SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tunebook-cli-"));
    const lora = join(dir, "a.gguf");
    await writeRandomLora(lora);
    const [deno, ...args] = dockerEntrypoint();
    assert.equal(deno, "deno");
    const server = await startServeChild([
      ...args,
      "--model",
      TINY_GGUF,
      "--adapter",
      `arith=${lora}:0.5`,
      "--host",
      "127.0.0.1",
      "--threads",
      String(SERVER_THREADS),
    ], { TUNEBOOK_API_KEY: KEY });
    let stopped: { code: number; log: string } | undefined;
    try {
      const base = server.base;
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      assert.deepEqual(ids, ["tiny", "tiny+arith"]);
      const r = await client.completions.create({
        model: "tiny+arith",
        prompt: "The favorite color of Torselven is",
        max_tokens: 4,
      });
      assert.equal(r.choices.length, 1);
      const unauthorized = await fetch(`${base}/v1/models`);
      assert.equal(unauthorized.status, 401);
      await unauthorized.body?.cancel();
    } finally {
      stopped = await server.stop();
    }
    const { code, log } = stopped;
    assert.equal(code, 0, log);
    const events = log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).event);
    assert.deepEqual(
      events.filter((e) => e !== "request"),
      ["listening", "models_loaded", "shutting_down", "stopped"],
    );
    assert.ok(events.includes("request"));
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("bad flags exit 2 with the usage", async () => {
  for (const args of [["--port", "x"], ["--adapter", "no-equals-sign"], ["--bogus"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "lib/cli/serve.ts", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2, args.join(" "));
    assert.match(new TextDecoder().decode(out.stderr), /--port|--adapter|usage/, args.join(" "));
  }
});
