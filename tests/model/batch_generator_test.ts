/**
 * The batched generator (llama.cpp's C API, continuous batching) on the bundled tiny model:
 * greedy output equals node-llama-cpp's, concurrent slots equal serial ones, seeds repeat,
 * banned tokens never appear, a stopped generation frees its slot, and misuse is refused.
 */
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { BatchGenerator, SlotBusyError } from "../../lib/llm/batch_generator.ts";
import { LlmEngine } from "../../lib/llm/engine.ts";
import { loadModel } from "../../lib/llm/model.ts";
import { SequencePool } from "../../lib/llm/sequence_pool.ts";
import { streamSampled } from "../../lib/llm/sampled_stream.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

const loaded = await loadModel(TINY_GGUF, { gpu: false });
const PROMPTS = [
  "1 plus 6 is",
  "The capital of",
  "Question: What is the capital of Tushi?\nAnswer:",
  "Context: Mara lives in Oslo.\nQuestion: Where does Mara live?\nAnswer:",
];

async function take(gen: AsyncGenerator<number>, n: number): Promise<number[]> {
  const out: number[] = [];
  for await (const t of gen) {
    out.push(t);
    if (out.length >= n) break;
  }
  return out;
}

Deno.test({
  name: "batched generator: greedy equals node-llama-cpp; concurrent equals serial; seeds repeat",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const engine = await LlmEngine.create(loaded, { sequences: 4, threads: TEST_THREADS });
    const g = BatchGenerator.open(TINY_GGUF, { sequences: 4, threads: TEST_THREADS });
    try {
      const tokens = PROMPTS.map((p) => engine.tokenize(p));
      const parallel = await Promise.all(
        tokens.map((t, i) => take(g.generate(i, t, { temperature: 0 }), 10)),
      );
      const serial = [];
      for (const t of tokens) serial.push(await take(g.generate(0, t, { temperature: 0 }), 10));
      assert.deepEqual(parallel, serial);
      for (let i = 0; i < PROMPTS.length; i++) {
        const ref = await engine.generate(PROMPTS[i], { maxTokens: 10 });
        const text = loaded.model.detokenize(parallel[i] as Token[]);
        assert.ok(
          text.startsWith(ref.text),
          `${JSON.stringify(PROMPTS[i])}: ${JSON.stringify(text)} vs ${JSON.stringify(ref.text)}`,
        );
      }
      const sampled = (seed: number, slot = 1) =>
        take(g.generate(slot, tokens[1], { temperature: 1.5, seed }), 12);
      assert.deepEqual(await sampled(7), await sampled(7), "same seed, same tokens");
      const draws = await Promise.all([1, 2, 3, 4].map((s) => sampled(s, s - 1)));
      assert.ok(new Set(draws.map((d) => d.join())).size > 1, "different seeds differ");
      // Banned tokens never come out, even at a high temperature.
      const banned = [...new Set(draws.flat())].slice(0, 5);
      const out = await take(
        g.generate(2, tokens[1], { temperature: 1.5, seed: 1, bannedTokens: banned }),
        30,
      );
      assert.ok(out.every((t) => !banned.includes(t)));
    } finally {
      await g.dispose();
      await engine.dispose();
    }
  },
});

Deno.test("batched generator: a busy slot, a bad slot and a too-long prompt are refused", async () => {
  const g = BatchGenerator.open(TINY_GGUF, {
    sequences: 2,
    contextSize: 64,
    threads: TEST_THREADS,
  });
  try {
    const a = g.generate(0, [1, 15, 27], { temperature: 0 });
    await a.next();
    await assert.rejects(g.generate(0, [1, 2]).next(), SlotBusyError);
    await assert.rejects(g.generate(5, [1, 2]).next(), RangeError);
    await assert.rejects(g.generate(1, Array(64).fill(5)).next(), /fills the slot's context/);
    await a.return(undefined);
    // Once stopped, the slot is free again.
    assert.equal((await take(g.generate(0, [1, 15, 27], { temperature: 0 }), 3)).length, 3);
  } finally {
    await g.dispose();
  }
});

Deno.test({
  name: "sequence pools: the batched and node-llama-cpp engines stream the same greedy text",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const texts: Record<string, string[]> = {};
    for (const engine of ["batched", "node-llama-cpp"] as const) {
      const pool = await SequencePool.create(loaded, {
        sequences: 2,
        threads: TEST_THREADS,
        engine,
      });
      try {
        texts[engine] = await Promise.all(PROMPTS.map(async (p) => {
          const seq = await pool.acquire();
          try {
            let text = "";
            const prompt = loaded.model.tokenize(p);
            for await (const ev of streamSampled(seq, prompt, { maxTokens: 12, temperature: 0 })) {
              if (ev.type === "text") text += ev.text;
            }
            return text;
          } finally {
            await pool.release(seq);
          }
        }));
      } finally {
        await pool.dispose();
      }
    }
    assert.deepEqual(texts["batched"], texts["node-llama-cpp"]);
  },
});

Deno.test("batched generator: a finished slot is reused while other slots keep generating", async () => {
  const g = BatchGenerator.open(TINY_GGUF, {
    sequences: 2,
    contextSize: 512,
    threads: TEST_THREADS,
  });
  try {
    const eog: number[] = [];
    for (let t = 0; t < 2048; t++) if (g.isEog(t)) eog.push(t);
    let longDone = false;
    const long = take(g.generate(0, [1, 15, 27], { temperature: 0, bannedTokens: eog }), 400)
      .then((t) => {
        longDone = true;
        return t;
      });
    for (let i = 0; i < 3; i++) {
      assert.equal((await take(g.generate(1, [1, 15, 27], { temperature: 0 }), 4)).length, 4);
    }
    assert.ok(!longDone, "short generations on a reused slot waited for the long one");
    assert.equal((await long).length, 400);
  } finally {
    await g.dispose();
  }
});
