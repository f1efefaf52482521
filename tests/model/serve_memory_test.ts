/**
 * The server holds a model's weights once: `deno task serve` on the tiny model with a LoRA variant
 * (two contexts on one base), after both answered, has at most one copy of the GGUF file resident
 * (file-backed pages in /proc/PID/smaps). Before, node-llama-cpp and the batched generator each
 * loaded the weights, two copies. And in one process, the batched generator and the batched
 * scorer on one file share libllama's load of it, and of each LoRA adapter on it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadedAdapterCount, loadedModelCount } from "../../lib/llm/_libllama.ts";
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

Deno.test({
  name:
    "libllama: contexts on one model share each adapter's load (stacked: one per copy), same scores",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await getRuntime(false); // node-llama-cpp loads ggml's backends
    const lora = join(mkdtempSync(join(tmpdir(), "tunebook-shared-lora-")), "lora.gguf");
    await writeRandomLora(lora, { std: 0.1 });
    const context = [1, 15, 27, 30, 41, 52];
    const choices = [[60, 61], [70], [80, 81, 82]];
    const before = loadedAdapterCount();
    const first = BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS, lora: [{ path: lora }] });
    const want = await first.score(context, choices);
    const gen = BatchGenerator.open(TINY_GGUF, {
      sequences: 1,
      threads: TEST_THREADS,
      lora: [{ path: lora, scale: 0.5 }],
    });
    const second = BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS, lora: [{ path: lora }] });
    const stacked = BatchScorer.open(TINY_GGUF, {
      threads: TEST_THREADS,
      lora: [{ path: lora, scale: 0.5 }, { path: lora, scale: 0.5 }],
    });
    const half = BatchScorer.open(TINY_GGUF, {
      threads: TEST_THREADS,
      lora: [{ path: lora, scale: 0.5 }],
    });
    try {
      // One load for every context that lists the file once, a second for the stacked copy.
      assert.equal(loadedAdapterCount(), before + 2);
      await first.dispose();
      assert.deepEqual(await second.score(context, choices), want, "after the first one left");
      // Stacked at 0.5 + 0.5 is the adapter at 1 (up to rounding), not the adapter at 0.5.
      const s = await stacked.score(context, choices);
      const h = await half.score(context, choices);
      const diff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
      assert.ok(
        diff(s.logprobs, want.logprobs) < 1e-3,
        `stacked vs 1: ${s.logprobs} ${want.logprobs}`,
      );
      assert.ok(diff(h.logprobs, want.logprobs) > 1e-2, `0.5 vs 1: ${h.logprobs} ${want.logprobs}`);
    } finally {
      await first.dispose();
      await gen.dispose();
      await second.dispose();
      await stacked.dispose();
      await half.dispose();
    }
    assert.equal(loadedAdapterCount(), before, "every adapter freed");
  },
});
