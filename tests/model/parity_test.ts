/**
 * Logit parity: the pure-torch Llama (python/tunebook/model.py) and node-llama-cpp loading an f32
 * GGUF of the same weights give the same next-token distribution for 5 prompts, within
 * 1e-3 × the logit range. The GGUF is exported afresh here (testing the exporter, including the
 * q/k rotary permutation) and must be byte-identical to the committed one.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Token } from "node-llama-cpp";
import { loadModel } from "../../lib/llm/model.ts";
import { fileSha256 } from "../../lib/util/file_hash.ts";
import { runPython } from "../../lib/train/python.ts";
import { TINY_256_DIR, TINY_256_GGUF, TINY_DIR, TINY_GGUF } from "./_tiny.ts";

const PROMPTS = [
  "Question: What is 7 plus 5?\nAnswer:",
  "The capital of",
  "All wugs are daxes. Tom is a wug. So",
  "Context: Mara lives in Oslo. Mara works as a baker.\nQuestion: Where does Mara live?\nAnswer:",
  "  double  spaces, digits 12345 and Ünïcödé\n\nnewlines",
];
const TOLERANCE = 1e-3;

interface Reference {
  prompts: { text: string; ids: number[]; logprobs: number[] }[];
}

for (
  const [name, modelDir, committed] of [
    ["tiny", TINY_DIR, TINY_GGUF],
    ["tiny-256", TINY_256_DIR, TINY_256_GGUF],
  ] as const
) {
  Deno.test(`${name} model: torch and node-llama-cpp (f32 GGUF) agree on next-token log-probs`, () =>
    parity(name, modelDir, committed));
}

async function parity(name: string, modelDir: string, committed: string) {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-parity-"));
  const gguf = join(dir, `${name}-f32.gguf`);
  await runPython("export_gguf", [modelDir, gguf, "--name", `tunebook-${name}`]);
  assert.equal(
    await fileSha256(gguf, join(dir, "hashes.json")),
    await fileSha256(committed, join(dir, "hashes.json")),
    "the committed GGUF is not the export of the committed checkpoint: run " +
      `\`deno task build:tiny${name === "tiny" ? "" : ` --model ${name}`}\``,
  );
  const ref: Reference = JSON.parse(
    (await runPython("reference_logits", [modelDir, ...PROMPTS])).stdout,
  );
  const { model } = await loadModel(gguf, { gpu: false, hashCache: join(dir, "hashes.json") });
  const ctx = await model.createContext({ contextSize: 256, threads: 2 });
  const seq = ctx.getSequence();
  try {
    for (const p of ref.prompts) {
      const ids = model.tokenize(p.text, false);
      assert.deepEqual(
        [model.tokens.bos, ...ids] as number[],
        p.ids,
        `tokenization differs for ${JSON.stringify(p.text)}`,
      );
      await seq.clearHistory();
      const tokens = p.ids as Token[];
      const out = await seq.controlledEvaluate([
        ...tokens.slice(0, -1),
        [tokens.at(-1)!, { generateNext: { probabilities: true } }],
      ]);
      const probs = out.at(-1)!.next!.probabilities!;
      const range = Math.max(...p.logprobs) - Math.min(...p.logprobs);
      let maxDiff = 0;
      p.logprobs.forEach((lp, token) => {
        maxDiff = Math.max(maxDiff, Math.abs(Math.log(probs.get(token as Token) ?? 0) - lp));
      });
      assert.ok(
        maxDiff <= TOLERANCE * range,
        `${JSON.stringify(p.text)}: max |Δ log p| = ${maxDiff} > ${TOLERANCE} × range ${range}`,
      );
    }
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

Deno.test("tiny model: GGUF carries the chat template and Llama tokenizer settings", async () => {
  const { readGgufFileInfo } = await import("node-llama-cpp");
  const info = await readGgufFileInfo(TINY_GGUF, { readTensorInfo: false });
  const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
  assert.equal(meta.general.architecture, "llama");
  const tok = meta.tokenizer as Record<string, Record<string, unknown>>;
  assert.equal(tok.ggml.model, "llama");
  const cfg = JSON.parse(readFileSync(join(TINY_DIR, "tokenizer_config.json"), "utf8"));
  assert.equal(tok.chat_template, cfg.chat_template);
});
