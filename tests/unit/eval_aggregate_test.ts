/**
 * Tests of the runner's aggregation (lib/eval/aggregate.ts `aggregateTask`) on hand-made samples of
 * the bundled synth_entailment task: a value computed from part of the items reports that part's
 * n, and accuracy-by-length buckets never split items of one length.
 */
import assert from "node:assert/strict";
import { aggregateTask } from "../../lib/eval/aggregate.ts";
import type { Sample } from "../../lib/eval/runner.ts";
import { findTask } from "../../lib/eval/task/mod.ts";

const OPTIONS = {
  split: "test",
  rowErrors: [],
  seed: 1,
  resamples: 200,
  lengthBuckets: 4,
  wallSeconds: 0,
};

/** An item with gold label `gold`, predicted `predicted`, of `tokens` prompt tokens. */
function sample(i: number, gold: string, predicted: string, tokens: number): Sample {
  const right = gold === predicted ? 1 : 0;
  return {
    task: "synth_entailment",
    doc_id: String(i),
    prompt: `prompt ${i}`,
    prompt_tokens: tokens,
    references: [gold],
    prediction: predicted,
    metrics: { acc: right, acc_norm: right },
  };
}

Deno.test("per-class accuracy: acc_<label> reports the number of items of that label as n", () => {
  const task = findTask("synth_entailment");
  // 79 "yes" items (60 right) and 121 "no" items (100 right), as in a 200-item run.
  const samples = [
    ...Array.from({ length: 79 }, (_, i) => sample(i, "yes", i < 60 ? "yes" : "no", 50)),
    ...Array.from({ length: 121 }, (_, i) => sample(79 + i, "no", i < 100 ? "no" : "yes", 50)),
  ];
  const r = aggregateTask(task, samples, OPTIONS);
  assert.equal(r.n, 200);
  assert.equal(r.metrics.acc.n, 200);
  assert.equal(r.metrics.acc_yes.n, 79);
  assert.equal(r.metrics.acc_no.n, 121);
  assert.ok(Math.abs(r.metrics.acc_yes.value - 60 / 79) < 1e-4);
  assert.ok(Math.abs(r.metrics.acc_no.value - 100 / 121) < 1e-4);
  assert.equal(r.metrics.macro_f1.n, 200, "a value over every item keeps n = all items");
});

Deno.test("length buckets: items of one length share a bucket, so no two buckets overlap", () => {
  const task = findTask("synth_entailment");
  // 30 items of 12 tokens, 25 of 13, 5 of 14: quartile cuts at 15/30/45 would split the ties.
  const lengths = [...Array(30).fill(12), ...Array(25).fill(13), ...Array(5).fill(14)];
  const samples = lengths.map((t, i) => sample(i, "yes", i % 3 ? "yes" : "no", t));
  const buckets = aggregateTask(task, samples, OPTIONS).byLength;
  assert.deepEqual(
    buckets.map((b) => [b.minTokens, b.maxTokens, b.estimate.n]),
    [[12, 12, 30], [13, 13, 25], [14, 14, 5]],
  );
  // Distinct lengths still give four quartiles of equal size.
  const spread = Array.from({ length: 40 }, (_, i) => sample(i, "yes", "yes", 10 + i));
  assert.deepEqual(
    aggregateTask(task, spread, OPTIONS).byLength.map((b) => [b.minTokens, b.maxTokens]),
    [[10, 19], [20, 29], [30, 39], [40, 49]],
  );
});
