/**
 * Export of models other than the bundled one, checked by llama.cpp itself: random-weight Qwen2
 * (q/k/v biases, NeoX rotary, tied embeddings) and Llama-3 (rope_scaling llama3, sharded) shapes
 * around their real byte-level BPE vocabularies (tokenizer.json only) are exported with
 * python/tunebook/export_gguf.py and loaded in node-llama-cpp, which must tokenize as tunebook's
 * tokenizer does and give the pure-torch model's next-token log-probs (within 1e-3 × their range).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import type { Token } from "node-llama-cpp";
import { loadModel } from "../../lib/llm/model.ts";
import { findPython, runPython } from "../../lib/train/python.ts";

const WRITER = resolve("tests/python/write_real_shape.py");
const PROMPTS = [
  "Question: What is 7 plus 5?\nAnswer:",
  "  double  spaces, digits 12345 and Ünïcödé\n\nnewlines",
];
const TOLERANCE = 1e-3;

interface Reference {
  prompts: { text: string; ids: number[]; logprobs: number[] }[];
}

for (const [shape, shards] of [["qwen2", 1], ["llama3", 2]] as const) {
  Deno.test({
    name: `${shape} shape: the exported GGUF runs in llama.cpp as the torch model does`,
    sanitizeResources: false,
    fn: async () => {
      const dir = mkdtempSync(join(tmpdir(), `tunebook-shape-${shape}-`));
      try {
        const ckpt = join(dir, shape);
        const python = await findPython();
        const w = await new Deno.Command(python, {
          args: [WRITER, ckpt, shape, "--shards", String(shards)],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(w.success, new TextDecoder().decode(w.stderr));
        const gguf = join(dir, `${shape}.gguf`);
        await runPython("export_gguf", [ckpt, gguf, "--name", shape]);
        const ref: Reference = JSON.parse(
          (await runPython("reference_logits", [ckpt, ...PROMPTS])).stdout,
        );
        const { model } = await loadModel(gguf, { gpu: false, hashCache: join(dir, "h.json") });
        const ctx = await model.createContext({ contextSize: 128, threads: 1 });
        const seq = ctx.getSequence();
        try {
          for (const p of ref.prompts) {
            const bos = shape === "llama3" ? [model.tokens.bos as number] : [];
            assert.deepEqual(
              [...bos, ...model.tokenize(p.text, false)],
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
            const range = p.logprobs.reduce((a, b) => Math.max(a, b)) -
              p.logprobs.reduce((a, b) => Math.min(a, b));
            let maxDiff = 0;
            p.logprobs.forEach((lp, token) => {
              const got = probs.get(token as Token);
              if (got !== undefined && got > 0) {
                maxDiff = Math.max(maxDiff, Math.abs(Math.log(got) - lp));
              }
            });
            assert.ok(
              maxDiff <= TOLERANCE * range,
              `${
                JSON.stringify(p.text)
              }: max |Δ log p| = ${maxDiff} > ${TOLERANCE} × range ${range}`,
            );
          }
        } finally {
          await ctx.dispose();
          await model.dispose();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}
