/**
 * tunebook's batched paths on a libllama compiled for this CPU (scripts/build_llama_tools.sh
 * writes .cache/llama-build/shared/bin/libllama.so; `TUNEBOOK_LIBLLAMA` points the FFI binding at
 * it) beside node-llama-cpp's prebuilt one, loaded in the same process for the tokenizer: the
 * multiple-choice scores and the greedy generations agree with the prebuilt library's on the tiny
 * model (other kernels: log-probabilities within a small tolerance, the same choices and tokens).
 * Ignored, and counted as such, where the native library has not been built (CI builds no llama.cpp).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { LIBLLAMA_ENV } from "../../lib/llm/_libllama_path.ts";
import { TINY_GGUF } from "./_tiny.ts";

const NATIVE = resolve(".cache/llama-build/shared/bin/libllama.so");
/** f32 tiny model, other SIMD kernels and summation orders: nats. */
const TOLERANCE = 1e-3;

/** What a child process computes on one libllama: choice log-probs and greedy tokens. */
const SCRIPT = `
import { loadModel } from "${resolve("lib/llm/model.ts")}";
import { BatchScorer } from "${resolve("lib/llm/batch_scorer.ts")}";
import { BatchGenerator } from "${resolve("lib/llm/batch_generator.ts")}";
import { findLibllama } from "${resolve("lib/llm/_libllama_path.ts")}";
import { encodeText } from "${resolve("lib/llm/tokenizer_rules.ts")}";
const loaded = await loadModel(${JSON.stringify(TINY_GGUF)}, { gpu: false });
const enc = (t) => encodeText(loaded.model, t, { eos: false });
const scorer = BatchScorer.open(${JSON.stringify(TINY_GGUF)}, { threads: 1 });
const questions = ["The capital of Nisel is", "Question: What is 12 plus 7?\\nAnswer:"];
const choices = [" Volesa", " Paris", " 19", " 21"];
const scores = [];
for (const q of questions) {
  const ctx = enc(q);
  const conts = choices.map((c) => enc(q + c).slice(ctx.length));
  scores.push((await scorer.score(ctx, conts)).logprobs);
}
await scorer.dispose();
const gen = BatchGenerator.open(${
  JSON.stringify(TINY_GGUF)
}, { sequences: 2, contextSize: 128, threads: 1 });
const tokens = await Promise.all(questions.map(async (q, slot) => {
  const out = [];
  for await (const t of gen.generate(slot, enc(q), { temperature: 0 })) {
    out.push(t);
    if (out.length === 12) break;
  }
  return out;
}));
await gen.dispose();
console.log(JSON.stringify({ lib: findLibllama(), scores, tokens }));
`;

async function run(env: Record<string, string>): Promise<{
  lib: string;
  scores: number[][];
  tokens: number[][];
}> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", SCRIPT],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr).slice(-2000));
  return JSON.parse(text.trim().split("\n").at(-1)!);
}

Deno.test({
  name: "a native libllama (TUNEBOOK_LIBLLAMA) scores and generates as the prebuilt one",
  ignore: !existsSync(NATIVE),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const prebuilt = await run({});
    const native = await run({ [LIBLLAMA_ENV]: NATIVE });
    assert.equal(native.lib, NATIVE);
    assert.notEqual(prebuilt.lib, NATIVE);
    native.scores.forEach((row, q) =>
      row.forEach((lp, c) => {
        const d = Math.abs(lp - prebuilt.scores[q][c]);
        assert.ok(d < TOLERANCE, `question ${q}, choice ${c}: ${lp} vs ${prebuilt.scores[q][c]}`);
      })
    );
    const argmax = (r: number[]) => r.indexOf(Math.max(...r));
    assert.deepEqual(native.scores.map(argmax), prebuilt.scores.map(argmax));
    assert.deepEqual(native.tokens, prebuilt.tokens);
  },
});
