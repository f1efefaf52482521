/**
 * The seed workflows' benchmarks, run from task files in lm-evaluation-harness's shapes (the
 * harness's own YAML as data/tasks ships it, `!function` hooks, tags) with their data in
 * a local Hugging Face cache (no network), on the bundled tiny model: every task loads unchanged,
 * evaluates its items, and reports the metrics its file names; samples carry the prompts the
 * task's templates and hooks built.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLlamaBackend } from "../../lib/eval/backend.ts";
import { binaryF1 } from "../../lib/eval/metrics/mod.ts";
import { runEval, type Sample } from "../../lib/eval/runner.ts";
import { evalSplit, loadTaskDocs, resolveTasks } from "../../lib/eval/task/mod.ts";
import { HARNESS_TASKS, LM_EVAL_DATASETS, lmEvalHubCache } from "../unit/_lm_eval_data.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

const backend = await createLlamaBackend(TINY_GGUF, {
  sequences: 4,
  threads: TEST_THREADS,
  gpu: false,
});
Deno.test.afterAll(() => backend.dispose());

/** Each benchmark, and the metrics its harness file asks for. */
const BENCHMARKS = HARNESS_TASKS;

Deno.test("the seed benchmarks run from harness task files, data from a local HF cache, on the tiny model", async () => {
  const saved = ["HF_HUB_CACHE", "HF_HUB_OFFLINE", "TUNEBOOK_HOOK_CACHE"].map((k) =>
    [k, Deno.env.get(k)] as const
  );
  const hub = lmEvalHubCache();
  Deno.env.set("HF_HUB_CACHE", hub);
  Deno.env.set("HF_HUB_OFFLINE", "1");
  Deno.env.set("TUNEBOOK_HOOK_CACHE", join(hub, "hooks"));
  try {
    const out = mkdtempSync(join(tmpdir(), "tunebook-lm-eval-"));
    const names = Object.keys(BENCHMARKS);
    const results = await runEval(backend, {
      tasks: names,
      outDir: out,
      progress: false,
    });
    const samples: Sample[] = readFileSync(join(out, "samples.jsonl"), "utf8").trim().split("\n")
      .map((l) => JSON.parse(l));
    for (const task of resolveTasks(names)) {
      const r = results.tasks[task.name];
      const { docs } = await loadTaskDocs(task, evalSplit(task));
      assert.equal(r.n, docs.length, `${task.name}: every item evaluated`);
      assert.deepEqual(r.rowErrors, [], task.name);
      for (const metric of BENCHMARKS[task.name]) {
        const m = r.metrics[metric];
        const perplexity = metric.endsWith("_perplexity");
        assert.ok(
          m && Number.isFinite(m.value) && (perplexity ? m.value >= 1 : m.value >= 0) &&
            (perplexity || metric === "bits_per_byte" || m.value <= 1),
          `${task.name}: ${metric} = ${JSON.stringify(m)}`,
        );
      }
      const mine = samples.filter((s) => s.task === task.name);
      assert.deepEqual(mine.map((s) => s.prompt).sort(), docs.map((d) => d.text).sort(), task.name);
      for (const s of mine) {
        if (task.outputType !== "multiple_choice") continue;
        assert.equal(s.logprobs?.length, s.choices?.length, `${task.name}: one score per choice`);
        const best = s.logprobs!.indexOf(Math.max(...s.logprobs!));
        assert.equal(s.prediction, s.choices![best]);
      }
    }
    // process_results decided squad_completion's score: the stripped gold inside the generation
    for (const s of samples.filter((x) => x.task === "squad_completion")) {
      assert.equal(
        s.metrics.contains,
        s.prediction.toLowerCase().includes(s.references[0].toLowerCase()) ? 1 : 0,
      );
    }
    // mc_taco's f1: lm-eval's binary F1 of the "yes" choice (index 1) over the items
    const taco = samples.filter((x) => x.task === "mc_taco");
    const golds = taco.map((s) => s.gold!);
    const preds = taco.map((s) => s.logprobs!.indexOf(Math.max(...s.logprobs!)));
    assert.equal(results.tasks.mc_taco.metrics.f1.value, binaryF1(golds, preds));
    // wikitext's process_results counted the words and bytes of the raw page (not of the
    // detokenized text scored), and those counts made its perplexities
    const wiki = samples.filter((x) => x.task === "wikitext");
    const pages = LM_EVAL_DATASETS["EleutherAI/wikitext_document_level"].splits
      .find((s) => s.split === "test")!.rows.map((row) => String(row.page));
    assert.equal(wiki.length, pages.length);
    const ll = wiki.reduce((a, s) => a + s.loglikelihood!, 0);
    const words = pages.reduce((a, p) => a + p.split(/\s+/).length, 0);
    const bytes = pages.reduce((a, p) => a + new TextEncoder().encode(p).length, 0);
    const got = results.tasks.wikitext.metrics;
    assert.ok(
      Math.abs(got.word_perplexity.value - Math.exp(-ll / words)) < 1e-6 * Math.exp(-ll / words),
    );
    assert.ok(
      Math.abs(got.byte_perplexity.value - Math.exp(-ll / bytes)) < 1e-6 * Math.exp(-ll / bytes),
    );
    assert.ok(Math.abs(got.bits_per_byte.value - -ll / bytes / Math.LN2) < 1e-6);
    for (const s of wiki) assert.ok(!s.references[0].includes(" @-@ "), "detokenized by the hook");
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});
