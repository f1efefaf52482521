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
import { runEval, type Sample } from "../../lib/eval/runner.ts";
import { evalSplit, loadTaskDocs, resolveTasks } from "../../lib/eval/task/mod.ts";
import { HARNESS_TASKS, lmEvalHubCache } from "../unit/_lm_eval_data.ts";
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
        assert.ok(
          m && m.value >= 0 && m.value <= 1,
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
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});
