/**
 * The server holds a model's weights once: `deno task serve` on the tiny model with a LoRA variant
 * (two contexts on one base), after both answered, has at most one copy of the GGUF file resident
 * (file-backed pages in /proc/PID/smaps). Before, node-llama-cpp and the batched generator each
 * loaded the weights, two copies. And in one process, the batched generator and the batched
 * scorer on one file share libllama's load of it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadedModelCount } from "../../lib/llm/_libllama.ts";
import { BatchGenerator } from "../../lib/llm/batch_generator.ts";
import { BatchScorer } from "../../lib/llm/batch_scorer.ts";
import { getRuntime } from "../../lib/llm/model.ts";
import { spawnTunebookServer } from "../../lib/serve/server_process.ts";
import { writeRandomLora } from "./_serve_lora.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

/** Resident kB of the mappings of `file` in process `pid`. */
function residentKb(pid: number, file: string): { kb: number; mappings: number } {
  let current = false;
  let kb = 0;
  let mappings = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      current = line.endsWith(file);
      if (current) mappings++;
    } else if (current && line.startsWith("Rss:")) kb += Number(line.split(/\s+/)[1]);
  }
  return { kb, mappings };
}

Deno.test({
  name: "serve: the weights are resident once for a base and its LoRA variant",
  ignore: Deno.build.os !== "linux",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tunebook-serve-memory-"));
    const lora = join(dir, "lora.gguf");
    await writeRandomLora(lora);
    const server = await spawnTunebookServer([
      "--model",
      TINY_GGUF,
      "--name",
      "tiny",
      "--adapter",
      `a=${lora}`,
      "--threads",
      String(TEST_THREADS),
      "--sequences",
      "2",
      "--cpu",
      "--log-level",
      "warn",
    ]);
    try {
      for (const model of ["tiny", "tiny+a"]) {
        const r = await fetch(`${server.url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, prompt: "1 plus 6 is", max_tokens: 4, temperature: 0 }),
        });
        assert.equal(r.status, 200, await r.text());
      }
      const file = resolve(TINY_GGUF);
      const { kb, mappings } = residentKb(server.pid, file);
      const fileKb = statSync(file).size / 1024;
      assert.ok(kb > 0.5 * fileKb, `the weights should be resident (${kb} kB of ${fileKb} kB)`);
      assert.ok(
        kb <= 1.05 * fileKb,
        `${kb} kB of ${file} resident in ${mappings} mapping(s): more than one copy of a ` +
          `${fileKb.toFixed(0)} kB file`,
      );
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "libllama: a generator and a scorer on one file share one load; the last out frees it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await getRuntime(false); // node-llama-cpp loads ggml's backends
    const before = loadedModelCount();
    const g = BatchGenerator.open(TINY_GGUF, { sequences: 2, threads: TEST_THREADS });
    const s = BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS });
    const g2 = BatchGenerator.open(TINY_GGUF, { sequences: 1, threads: TEST_THREADS });
    try {
      assert.equal(loadedModelCount(), before + 1);
      // Both still work on the shared weights.
      const out: number[] = [];
      for await (const t of g2.generate(0, [1, 15, 27], { temperature: 0 })) {
        out.push(t);
        if (out.length >= 3) break;
      }
      assert.equal(out.length, 3);
    } finally {
      await g.dispose();
      assert.equal(loadedModelCount(), before + 1, "freed while a scorer and a generator use it");
      await s.dispose();
      await g2.dispose();
    }
    assert.equal(loadedModelCount(), before);
  },
});
