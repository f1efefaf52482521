/**
 * A LoRA adapter in the batched paths (lib/llm/batch_scorer.ts, lib/llm/batch_generator.ts) on the
 * tiny model, with an adapter of the trainer's default shape (r 8, alpha 16, every block's
 * q/k/v/o and gate/up/down weights; tests/model/_random_lora.ts): the batched scorer's log-probs
 * equal node-llama-cpp's sequences path with the same adapter and the batched scorer's on the
 * model with the adapter merged into its weights, and the batched generator's greedy text equals
 * both as well.
 */
import assert from "node:assert/strict";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { type ChoiceScores, LlmEngine } from "../../lib/llm/engine.ts";
import { loadModel } from "../../lib/llm/model.ts";
import { randomLoraPair } from "./_random_lora.ts";
import { BATCH_TOLERANCE, CHUNKING_TOLERANCE, maxDiff } from "./_tolerances.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

const pair = await randomLoraPair(TINY_GGUF);
const base = await loadModel(TINY_GGUF, { gpu: false });
const merged = await loadModel(pair.merged, { gpu: false });
const adapter = [{ path: pair.lora, scale: 1 }];

/** 20 synthetic-facts questions (four choices each) and their contexts as prompts. */
const questions = readJsonl<Record<string, string>>("data/synthetic/facts/test.jsonl")
  .slice(0, 20)
  .map((d) => ({
    context: `Question: ${d.question}\nAnswer:`,
    choices: [d.distractor1, d.distractor2, d.distractor3, d.correct_answer].map((c) => " " + c),
  }));

function argmaxes(xs: ChoiceScores[]): number[] {
  return xs.map((s) => s.logprobs.indexOf(Math.max(...s.logprobs)));
}

/** Every question at once (the batched scorer packs many into one decode). */
async function scoreAll(
  loaded: typeof base,
  scorer: "batched" | "sequences",
  lora: typeof adapter,
): Promise<ChoiceScores[]> {
  const e = await LlmEngine.create(loaded, { threads: TEST_THREADS, scorer, lora });
  try {
    assert.equal(e.scorer, scorer);
    return await Promise.all(questions.map((q) => e.scoreChoices(q.context, q.choices)));
  } finally {
    await e.dispose();
  }
}

Deno.test("batched scorer with a LoRA adapter = node-llama-cpp with it = the merged model", async () => {
  const withAdapter = await scoreAll(base, "batched", adapter);
  const sequences = await scoreAll(base, "sequences", adapter);
  const mergedScores = await scoreAll(merged, "batched", []);
  const plain = await scoreAll(base, "batched", []);
  // The adapter moves the scores far more than any tolerance below, so applying none would fail.
  assert.ok(
    maxDiff(withAdapter, plain) > 0.5,
    `the adapter moved scores by ${maxDiff(withAdapter, plain)}`,
  );
  // Same decodes, W·x + B·(A·x) against (W + B·A)·x in f32: rounding only.
  assert.ok(
    maxDiff(withAdapter, mergedScores) < BATCH_TOLERANCE,
    `vs merged: ${maxDiff(withAdapter, mergedScores)}`,
  );
  assert.deepEqual(argmaxes(withAdapter), argmaxes(mergedScores));
  // node-llama-cpp splits the prompts into other decodes: llama.cpp's chunking noise.
  assert.ok(
    maxDiff(withAdapter, sequences) < CHUNKING_TOLERANCE,
    `vs node-llama-cpp: ${maxDiff(withAdapter, sequences)}`,
  );
  assert.deepEqual(argmaxes(withAdapter), argmaxes(sequences));
});

Deno.test("batched generator with a LoRA adapter: node-llama-cpp's and the merged model's greedy text", async () => {
  const prompts = [...questions.slice(0, 8).map((q) => q.context), "Once upon a time"];
  const generate = async (
    loaded: typeof base,
    generator: "batched" | "sequences",
    lora: typeof adapter,
  ) => {
    const e = await LlmEngine.create(loaded, {
      sequences: 4,
      contextSize: 512,
      threads: TEST_THREADS,
      generator,
      lora,
    });
    try {
      assert.equal(e.generator, generator);
      // More generations than slots: the adapter's context serves them one after another too.
      return (await Promise.all(
        prompts.map((p) => e.generate(p, { until: ["\n\n"], maxTokens: 16 })),
      )).map((g) => g.text);
    } finally {
      await e.dispose();
    }
  };
  const withAdapter = await generate(base, "batched", adapter);
  assert.notDeepEqual(
    withAdapter,
    await generate(base, "batched", []),
    "the adapter changed nothing",
  );
  assert.deepEqual(withAdapter, await generate(base, "sequences", adapter), "vs node-llama-cpp");
  assert.deepEqual(withAdapter, await generate(merged, "batched", []), "vs the merged model");
});
