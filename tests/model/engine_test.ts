/**
 * Engine tests on the bundled tiny model: parallel scores equal serial ones, the KV-reusing
 * choice scorers (batched through libllama, and node-llama-cpp's sequences) equal a from-scratch
 * evaluation and each other, greedy generation answers concrete prompts, and bad model files
 * fail with messages that name the fix.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { type ChoiceScores, ContextOverflowError, LlmEngine } from "../../lib/llm/engine.ts";
import { loadModel } from "../../lib/llm/model.ts";
import { singleLogitItemStrategy } from "../../lib/llm/batching.ts";
import { BatchScorer, BatchTooSmallError } from "../../lib/llm/batch_scorer.ts";
import { loadedModelCount } from "../../lib/llm/_libllama.ts";
import { disjointWindow, rollingWindows } from "../../lib/llm/rolling_windows.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";
import { writeRandomLora } from "./_serve_lora.ts";
import { BATCH_TOLERANCE, CHUNKING_TOLERANCE, KERNEL_TOLERANCE, maxDiff } from "./_tolerances.ts";

interface Question {
  context: string;
  choices: string[];
}

function questions(n: number): Question[] {
  const qa = readJsonl<{ context: string; question: string; answers: { text: string[] } }>(
    "data/synthetic/qa/test.jsonl",
  ).slice(0, n / 2);
  const facts = readJsonl<Record<string, string>>("data/synthetic/facts/test.jsonl").slice(
    0,
    n / 2,
  );
  return [
    ...qa.map((d) => ({
      context: `Context: ${d.context}\nQuestion: ${d.question}\nAnswer:`,
      choices: [" " + d.answers.text[0], " Oslo", " a red pet"],
    })),
    ...facts.map((d) => ({
      context: `Question: ${d.question}\nAnswer:`,
      choices: [d.distractor1, d.distractor2, d.distractor3, d.correct_answer].map((c) => " " + c),
    })),
  ];
}

const loaded = await loadModel(TINY_GGUF, { gpu: false });

Deno.test("scoreChoices: 8 parallel sequences give the serial scores, in both batching modes", async () => {
  const qs = questions(40);
  const score = async (sequences: number, batching: "shared" | "single-logit") => {
    const e = await LlmEngine.create(loaded, {
      sequences,
      batching,
      threads: TEST_THREADS,
      scorer: "sequences",
    });
    try {
      return await Promise.all(qs.map((q) => e.scoreChoices(q.context, q.choices)));
    } finally {
      await e.dispose();
    }
  };
  const serial = await score(1, "shared");
  const shared = await score(8, "shared");
  const single = await score(8, "single-logit");
  assert.ok(
    maxDiff(serial, shared) < BATCH_TOLERANCE,
    `shared batching differs by ${maxDiff(serial, shared)}`,
  );
  assert.ok(
    maxDiff(serial, single) < CHUNKING_TOLERANCE,
    `single-logit batching differs by ${maxDiff(serial, single)}`,
  );
  const argmaxes = (xs: ChoiceScores[]) =>
    xs.map((s) => s.logprobs.indexOf(Math.max(...s.logprobs)));
  assert.deepEqual(
    argmaxes(single),
    argmaxes(serial),
    "single-logit batching changed a prediction",
  );
  assert.deepEqual(shared.map((s) => s.tokenCounts), serial.map((s) => s.tokenCounts));
});

for (const scorer of ["batched", "sequences"] as const) {
  Deno.test(`scoreChoices (${scorer}) equals evaluating context + choice from scratch`, async () => {
    await fromScratch(scorer);
  });
}

async function fromScratch(scorer: "batched" | "sequences") {
  const e = await LlmEngine.create(loaded, { sequences: 2, threads: TEST_THREADS, scorer });
  assert.equal(e.scorer, scorer);
  const ctx = await loaded.model.createContext({ contextSize: 512, threads: TEST_THREADS });
  const seq = ctx.getSequence();
  try {
    for (const q of questions(6)) {
      const s = await e.scoreChoices(q.context, q.choices);
      const ctxTokens = e.tokenize(q.context);
      for (let i = 0; i < q.choices.length; i++) {
        const whole = e.tokenize(q.context + q.choices[i]);
        const cont = whole.slice(ctxTokens.length);
        const input = [...ctxTokens, ...cont];
        await seq.clearHistory();
        const out = await seq.controlledEvaluate(
          input.map((t, k) =>
            k >= ctxTokens.length - 1 && k < input.length - 1
              ? [t, { generateNext: { probabilities: true } }] as [Token, object]
              : t
          ),
        );
        let sum = 0;
        cont.forEach((
          t,
          k,
        ) => (sum += Math.log(out[ctxTokens.length - 1 + k]!.next!.probabilities!.get(t) ?? 0)));
        const tolerance = scorer === "batched" ? KERNEL_TOLERANCE : BATCH_TOLERANCE;
        assert.ok(
          Math.abs(sum - s.logprobs[i]) < tolerance,
          `choice ${i}: ${sum} vs ${s.logprobs[i]}`,
        );
        assert.equal(s.tokenCounts[i], cont.length);
      }
    }
  } finally {
    await ctx.dispose();
    await e.dispose();
  }
}

/** Sum of log-probabilities of `tokens[prefix…]`, each evaluated from scratch in a fresh sequence. */
async function scratchLogprob(
  seq: LlamaContextSequence,
  tokens: readonly Token[],
  prefix: number,
): Promise<number> {
  await seq.clearHistory();
  const input = tokens.slice(0, -1);
  const out = await seq.controlledEvaluate(
    input.map((t, k) =>
      k >= prefix - 1 ? [t, { generateNext: { probabilities: true } }] as [Token, object] : t
    ),
  );
  let sum = 0;
  for (let k = prefix; k < tokens.length; k++) {
    sum += Math.log(out[k - 1]!.next!.probabilities!.get(tokens[k]) ?? 0);
  }
  return sum;
}

for (const scorer of ["batched", "sequences"] as const) {
  Deno.test(`scoreTokens and scoreRolling (${scorer}) equal a from-scratch evaluation of each window`, async () => {
    // node-llama-cpp's smallest window (it rounds contexts up to 256), so a few synthetic
    // passages take several rolling windows.
    const window = 256;
    const e = await LlmEngine.create(loaded, {
      sequences: 2,
      threads: TEST_THREADS,
      scorer,
      contextSize: window,
    });
    const ctx = await loaded.model.createContext({ contextSize: 512, threads: TEST_THREADS });
    const seq = ctx.getSequence();
    try {
      assert.equal(e.contextSize, window);
      const text = readJsonl<{ context: string }>("data/synthetic/qa/test.jsonl").slice(0, 30)
        .map((d) => d.context).join(" ");
      const tokens = e.tokenize(text, { bos: false, eos: false });
      assert.ok(tokens.length > 2 * window, `${tokens.length} tokens`);
      // Window sums over ~256 tokens decoded in other chunks than the scratch evaluation.
      const max = e.maxLength; // lm-eval's max_length: window - 1 in node-llama-cpp
      assert.equal(max, window - 1);
      const windows = rollingWindows(tokens, e.prefixToken, max, 1).map(disjointWindow);
      let expected = 0;
      for (const w of windows) {
        const all = [...w.context, ...w.predicted] as Token[];
        assert.ok(all.length - 1 <= max, "each window fits the context");
        const s = await e.scoreTokens(all, w.context.length);
        const scratch = await scratchLogprob(seq, all, w.context.length);
        assert.ok(
          Math.abs(s.logprob - scratch) < CHUNKING_TOLERANCE,
          `window: ${s.logprob} vs ${scratch}`,
        );
        assert.equal(s.tokens, w.predicted.length);
        expected += scratch;
      }
      // Every token predicted once, the first after BOS (lm-eval's prefix token).
      assert.deepEqual(windows.flatMap((w) => w.predicted), tokens);
      assert.equal(windows[0].context[0], loaded.model.tokens.bos);
      const rolling = await e.scoreRolling(text);
      assert.equal(rolling.tokens, tokens.length);
      assert.equal(rolling.windows, Math.ceil(tokens.length / max));
      assert.ok(
        Math.abs(rolling.logprob - expected) < CHUNKING_TOLERANCE * windows.length,
        `rolling ${rolling.logprob} vs ${expected}`,
      );
      await assert.rejects(e.scoreTokens(tokens.slice(0, max + 2), 1), ContextOverflowError);
    } finally {
      await ctx.dispose();
      await e.dispose();
    }
  });

  Deno.test(`scoreChoices (${scorer}) truncates a long context from the left as lm-eval does`, async () => {
    const window = 256;
    const e = await LlmEngine.create(loaded, {
      sequences: 2,
      threads: TEST_THREADS,
      scorer,
      contextSize: window,
    });
    const ctx = await loaded.model.createContext({ contextSize: 512, threads: TEST_THREADS });
    const seq = ctx.getSequence();
    try {
      const q = questions(2)[0];
      const context = "Volesa is the capital of Nisel. ".repeat(40) + q.context;
      await assert.rejects(e.scoreChoices(context, q.choices), ContextOverflowError);
      const s = await e.scoreChoices(context, q.choices, { overflow: "truncate" });
      const ctxTokens = e.tokenize(context);
      let most = 0;
      for (let i = 0; i < q.choices.length; i++) {
        const cont = e.tokenize(context + q.choices[i]).slice(ctxTokens.length);
        // lm-eval: (context + continuation)[-(max_length + 1):], the continuation kept whole.
        const kept = [...ctxTokens, ...cont].slice(-(e.maxLength + 1));
        most = Math.max(most, ctxTokens.length + cont.length - kept.length);
        const scratch = await scratchLogprob(seq, kept, kept.length - cont.length);
        assert.ok(
          Math.abs(s.logprobs[i] - scratch) < CHUNKING_TOLERANCE,
          `choice ${i}: ${s.logprobs[i]} vs ${scratch}`,
        );
      }
      assert.ok(most > 0);
      assert.equal(s.truncatedTokens, most);
      // A prompt that fits is not cut.
      const fits = await e.scoreChoices(q.context, q.choices, { overflow: "truncate" });
      assert.equal(fits.truncatedTokens, 0);
      // Generation keeps the last (window - max tokens) prompt tokens.
      const gen = await e.generate(context, { maxTokens: 6, overflow: "truncate" });
      assert.equal(gen.promptTokens, e.maxLength - 6);
      assert.equal(gen.truncatedTokens, ctxTokens.length - (e.maxLength - 6));
    } finally {
      await ctx.dispose();
      await e.dispose();
    }
  });
}
Deno.test("the batched scorer's scores do not depend on what shares the decode", async () => {
  const qs = questions(40);
  const e = await LlmEngine.create(loaded, { threads: TEST_THREADS, scorer: "batched" });
  try {
    const alone: ChoiceScores[] = [];
    for (const q of qs) alone.push(await e.scoreChoices(q.context, q.choices));
    const together = await Promise.all(qs.map((q) => e.scoreChoices(q.context, q.choices)));
    const reversed = new Array<ChoiceScores>(qs.length);
    await Promise.all(
      [...qs.keys()].reverse().map(async (i) => {
        reversed[i] = await e.scoreChoices(qs[i].context, qs[i].choices);
      }),
    );
    // Bit for bit: one question per decode, 40 at once, and in the other order.
    assert.deepEqual(together, alone);
    assert.deepEqual(reversed, alone);
  } finally {
    await e.dispose();
  }
});

Deno.test("the batched scorer leaves the cells between packed questions as holes, not decoded padding", async () => {
  const scorer = BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS });
  // 70 decoded tokens each (the context; a one-token choice is not decoded): longer than a
  // 64-cell attention tile, so the second starts on cell 128 and 58 cells lie between them.
  const q = (k: number) => ({
    context: [1, ...Array.from({ length: 69 }, (_, i) => 10 + ((i * k) % 200))],
    conts: [[5], [6, 7]],
  });
  const qs = [q(3), q(7)];
  try {
    const alone = [];
    for (const x of qs) alone.push(await scorer.score(x.context, x.conts));
    const before = scorer.tokensEvaluated;
    const together = await Promise.all(qs.map((x) => scorer.score(x.context, x.conts)));
    // One decode of 2 × (70 + 1) tokens: the second choice's first token is decoded too.
    assert.equal(scorer.tokensEvaluated - before, 142);
    assert.deepEqual(together, alone);
  } finally {
    await scorer.dispose();
  }
});

Deno.test("the batched scorer pads where holes would push the minimum decode past the batch", async () => {
  // 14 two-token prompts at once, one cell each, start on cells 0, 16, …, 208: with holes the 50
  // padding tokens that make up the 64-token minimum would need cells 209…258 of 256.
  const scorer = BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS, batchSize: 256 });
  const prompts = Array.from({ length: 14 }, (_, i) => ({ tokens: [1, 20 + i] }));
  try {
    const alone = [];
    for (const p of prompts) alone.push(...await scorer.scorePrompts([p]));
    const together = await Promise.all(prompts.map((p) => scorer.scorePrompts([p])));
    assert.deepEqual(together.flat(), alone);
  } finally {
    await scorer.dispose();
  }
});

Deno.test("the batched scorer refuses fewer than 3 sequence ids before loading anything", () => {
  const models = loadedModelCount();
  assert.throws(
    () => BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS, batchSize: 2 }),
    RangeError,
    "at least 3",
  );
  assert.equal(loadedModelCount(), models);
});

Deno.test("the batched scorer gives the sequences scorer's predictions, with and without LoRA", async () => {
  const qs = questions(40);
  const loraPath = join(mkdtempSync(join(tmpdir(), "tunebook-lora-")), "lora.gguf");
  await writeRandomLora(loraPath, { std: 0.1 });
  const lora = [[], [{ path: loraPath, scale: 1 }]];
  for (const adapters of lora) {
    const run = async (scorer: "batched" | "sequences") => {
      const e = await LlmEngine.create(loaded, {
        threads: TEST_THREADS,
        scorer,
        lora: adapters,
      });
      try {
        assert.equal(e.scorer, scorer);
        // All at once: the batched scorer packs many questions into each decode.
        return await Promise.all(qs.map((q) => e.scoreChoices(q.context, q.choices)));
      } finally {
        await e.dispose();
      }
    };
    const batched = await run("batched");
    const sequences = await run("sequences");
    const label = adapters.length ? "with LoRA" : "base";
    // Many questions per decode change llama.cpp's matmul chunking: small numeric differences.
    assert.ok(
      maxDiff(batched, sequences) < CHUNKING_TOLERANCE,
      `${label}: batched differs by ${maxDiff(batched, sequences)}`,
    );
    const argmaxes = (xs: ChoiceScores[]) =>
      xs.map((s) => s.logprobs.indexOf(Math.max(...s.logprobs)));
    assert.deepEqual(argmaxes(batched), argmaxes(sequences), `${label}: a prediction changed`);
    assert.deepEqual(batched.map((s) => s.tokenCounts), sequences.map((s) => s.tokenCounts));
  }
});

Deno.test("the batched scorer rejects a question larger than its batch; the engine falls back", async () => {
  const scorer = BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS, batchSize: 8 });
  try {
    await assert.rejects(
      scorer.score([1, 2, 3, 4, 5, 6, 7], [[8, 9, 10], [11]]),
      BatchTooSmallError,
    );
    const ok = await scorer.score([1, 2, 3], [[4, 5], [6]]);
    assert.equal(ok.logprobs.length, 2);
  } finally {
    await scorer.dispose();
  }
  // The engine's batch holds 1024 tokens; a longer question takes the sequences path.
  const e = await LlmEngine.create(loaded, { threads: TEST_THREADS, contextSize: 2048 });
  try {
    const long = "word ".repeat(550) + "Answer:";
    const s = await e.scoreChoices(long, [" yes", " no"]);
    assert.ok(s.contextTokens > 1024 && s.logprobs.every(Number.isFinite));
  } finally {
    await e.dispose();
  }
});

Deno.test("singleLogitItemStrategy lets one logit-producing item into a batch", () => {
  const item = (n: number, logitAt: number) => ({
    tokens: Array.from({ length: n }, (_, i) => i as Token),
    logits: Array.from({ length: n }, (_, i) => (i === logitAt ? true as const : undefined)),
    evaluationPriority: 5 as const,
  });
  const plan = singleLogitItemStrategy({
    size: 100,
    items: [item(10, 9), item(10, 4), item(5, -1)],
  });
  assert.deepEqual(plan.map((p) => p.processAmount), [10, 4, 5]);
  assert.deepEqual(
    singleLogitItemStrategy({ size: 6, items: [item(10, 9)] }).map((p) => p.processAmount),
    [6],
  );
});

Deno.test("greedy generation under Deno answers concrete arithmetic prompts", async () => {
  const e = await LlmEngine.create(loaded, { sequences: 4, threads: TEST_THREADS });
  try {
    // Items the bundled model answers in its pretraining prose (it gets 100 of 600 single-digit
    // plus/minus/times prompts right, in prose or in the eval format); none of them is trivial.
    const prompts: [string, string][] = [
      ["1 plus 6 is", "7"],
      ["3 plus 2 is", "5"],
      ["4 plus 3 is", "7"],
      ["6 plus 2 is", "8"],
      ["8 plus 1 is", "9"],
      ["8 minus 6 is", "2"],
      ["2 times 6 is", "12"],
      ["Question: What is 1 times 4?\nAnswer:", "4"],
    ];
    const outs = await Promise.all(
      prompts.map(([p]) => e.generate(p, { until: [".", "\n"], maxTokens: 6 })),
    );
    const right = prompts.filter(([, want], i) => outs[i].text.trim() === want);
    console.log(
      prompts.map(([p], i) => `${JSON.stringify(p)} -> ${JSON.stringify(outs[i].text)}`).join("\n"),
    );
    assert.ok(
      right.length >= 6,
      `only ${right.length} of ${prompts.length} arithmetic prompts answered right`,
    );
    for (const o of outs) {
      assert.ok(o.tokens <= 6 && ["stop", "eos", "max_tokens"].includes(o.stoppedBy));
    }
    // Parallel generations equal serial ones.
    const serial = [];
    for (const [p] of prompts) {
      serial.push((await e.generate(p, { until: [".", "\n"], maxTokens: 6 })).text);
    }
    assert.deepEqual(outs.map((o) => o.text), serial);
  } finally {
    await e.dispose();
  }
});

Deno.test("generate: the batched generator's greedy outputs equal node-llama-cpp's, with and without LoRA", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-engine-gen-"));
  const lora = join(dir, "lora.gguf");
  await writeRandomLora(lora, { std: 0.3 });
  const prompts = [
    ...questions(12).map((q) => q.context),
    "Once upon a time",
    "The capital of",
    "Volesa is the capital of Nisel. ".repeat(90) + "Question: What is 2 plus 2?\nAnswer:",
  ];
  for (const adapters of [[], [{ path: lora, scale: 1 }]]) {
    const make = (generator: "batched" | "sequences") =>
      LlmEngine.create(loaded, {
        sequences: 4,
        threads: TEST_THREADS,
        contextSize: 512,
        lora: adapters,
        generator,
      });
    const batched = await make("batched");
    const sequences = await make("sequences");
    try {
      assert.equal(batched.generator, "batched");
      assert.equal(sequences.generator, "sequences");
      // More generations than slots at once: the extra ones wait for a slot.
      const run = (e: LlmEngine) =>
        Promise.all(
          prompts.map((p) =>
            e.generate(p, { until: ["\n\n", "."], maxTokens: 24, overflow: "truncate" })
          ),
        );
      const [a, b] = [await run(batched), await run(sequences)];
      assert.deepEqual(a, b, `LoRA: ${adapters.length > 0}`);
      assert.ok(
        a.some((g) => g.stoppedBy === "stop") && a.some((g) => g.truncatedTokens > 0),
        JSON.stringify(a.map((g) => [g.stoppedBy, g.truncatedTokens, g.text])),
      );
    } finally {
      await batched.dispose();
      await sequences.dispose();
    }
  }
});

Deno.test("bad model files fail with messages naming the file and the fix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-bad-"));
  await assert.rejects(loadModel(join(dir, "missing.gguf")), /model file not found.*build:tiny/s);
  const corrupt = join(dir, "corrupt.gguf");
  writeFileSync(corrupt, new Uint8Array(4096).map((_, i) => (i * 7919) % 251));
  await assert.rejects(loadModel(corrupt), /corrupt\.gguf: not a readable GGUF file/);
  const vocabOnly = ".cache/llama.cpp/models/ggml-vocab-llama-spm.gguf";
  await assert.rejects(loadModel(vocabOnly), /ggml-vocab-llama-spm\.gguf/);
});
