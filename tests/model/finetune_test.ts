/**
 * The tiny-cpu preset end to end, as CI runs it: fine-tune the bundled model with LoRA on one
 * synthetic family (Python bridge, torch backend), export a GGUF LoRA adapter and a merged GGUF,
 * and evaluate base vs base+LoRA vs merged on the family's test split. The fine-tuned model must
 * gain at least 20 points with non-overlapping 95% CIs; the adapter applied at runtime and the
 * merged model must give the same greedy outputs.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createLlamaBackend } from "../../lib/eval/backend.ts";
import { runEval } from "../../lib/eval/runner.ts";
import { buildPrompt, findTask, loadTaskDocs } from "../../lib/eval/task.ts";
import { exportAdapter, runTrainer, type TrainEvent } from "../../lib/train/bridge.ts";
import { resolveTrainConfig } from "../../lib/train/config.ts";
import { taskTrainRows, writeTrainRows } from "../../lib/train/data.ts";
import { TEST_THREADS, TINY_DIR, TINY_GGUF } from "./_tiny.ts";

/** The family fine-tuned in CI, and the metric that must improve. */
const TASK = "synth_qa";
const METRIC = "em";
const MIN_GAIN = 0.2;

Deno.test({
  name: `tiny-cpu LoRA on ${TASK}: +${
    MIN_GAIN * 100
  } points, non-overlapping CIs, adapter = merged`,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tunebook-ft-"));
    const train = join(dir, "train.jsonl");
    const val = join(dir, "val.jsonl");
    writeTrainRows(train, await taskTrainRows(TASK, { split: "train" }));
    writeTrainRows(val, await taskTrainRows(TASK, { split: "validation" }));
    const config = resolveTrainConfig({
      preset: "tiny-cpu",
      overrides: {
        base_model: TINY_DIR,
        train_file: train,
        val_file: val,
        output_dir: join(dir, "run"),
      },
    });
    const events: TrainEvent[] = [];
    const result = await runTrainer(config, { progress: false, onEvent: (e) => events.push(e) });
    const losses = events.filter((e) => e.event === "eval").map((e) => e.val_loss!);
    assert.ok(losses.at(-1)! < losses[0], `validation loss did not fall: ${losses}`);
    console.log(
      `trained ${config.max_steps} steps in ${result.done.train_seconds}s, ${result.done.tokens_per_s} tokens/s`,
    );

    const lora = join(dir, "lora.gguf");
    const merged = join(dir, "merged", "merged.gguf");
    await exportAdapter(result.adapterDir, TINY_DIR, {
      ggufLora: lora,
      mergedDir: join(dir, "merged"),
      mergedGguf: merged,
    });
    assert.ok(existsSync(lora) && existsSync(merged));

    const score = async (model: string, adapters: string[]) => {
      const backend = await createLlamaBackend(model, {
        lora: adapters.map((path) => ({ path })),
        threads: TEST_THREADS,
        gpu: false,
      });
      try {
        const r = await runEval(backend, {
          tasks: [TASK],
          outDir: mkdtempSync(join(dir, "eval-")),
          progress: false,
        });
        const task = findTask(TASK);
        const docs = (await loadTaskDocs(task, "test", { limit: 20 })).docs;
        const outs = [];
        for (const d of docs) {
          outs.push(
            (await backend.generate(buildPrompt(task, d, []), { until: ["\n"], maxTokens: 12 }))
              .text,
          );
        }
        return { metric: r.tasks[TASK].metrics[METRIC], outs };
      } finally {
        await backend.dispose();
      }
    };
    const base = await score(TINY_GGUF, []);
    const tuned = await score(TINY_GGUF, [lora]);
    const mergedScore = await score(merged, []);
    console.log(
      `${METRIC}: base ${base.metric.value}, +LoRA ${tuned.metric.value}, merged ${mergedScore.metric.value}`,
    );
    assert.ok(
      tuned.metric.value - base.metric.value >= MIN_GAIN,
      `gain ${tuned.metric.value - base.metric.value}`,
    );
    assert.ok(tuned.metric.ci[0] > base.metric.ci[1], "95% CIs overlap");
    assert.ok(mergedScore.metric.ci[0] > base.metric.ci[1], "merged: 95% CIs overlap");
    assert.deepEqual(
      tuned.outs,
      mergedScore.outs,
      "adapter applied at runtime and merged model disagree",
    );
  },
});
