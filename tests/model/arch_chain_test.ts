/**
 * The fine-tuning chain on the architectures people fine-tune, each a tiny random-weight checkpoint
 * made here around its real vocabulary (tests/python/write_real_shape.py; hidden 256 and
 * feed-forward 512, so every matrix row is a multiple of 256 and k-quants apply without fallback):
 *
 * - llama3: Llama 3 (byte-level BPE llama-bpe vocabulary, rope_scaling llama3, tied embeddings);
 * - qwen2: Qwen2/2.5 (biases on q/k/v, NeoX rotary, tied embeddings);
 * - mistral: Mistral's architecture (untied output, sliding_window key) around a byte-level BPE
 *   vocabulary, as Mistral-Nemo's tekken (Llama 3's stands in: tekken is not bundled).
 *
 * Per architecture: LoRA with the torch backend (4 steps), the GGUF LoRA, the merged checkpoint and
 * GGUF, q4_k_m of the merged model with no tensor falling back; the adapter applied at runtime on
 * the base GGUF equals the merged GGUF (greedy outputs, and choice log-probs within tolerance);
 * q4_k_m loads and generates.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { createLlamaBackend } from "../../lib/eval/backend.ts";
import { quantizeModel } from "../../lib/gguf/quantize.ts";
import { exportAdapter, runTrainer } from "../../lib/train/bridge.ts";
import { resolveTrainConfig } from "../../lib/train/config.ts";
import { findPython, runPython } from "../../lib/train/python.ts";

const WRITER = resolve("tests/python/write_real_shape.py");
/**
 * |log p(adapter at runtime) − log p(merged)| relative to |log p|: both f32, so only the order of
 * the sums differs (W·x + B·(A·x) against (W + B·A)·x), which random weights of this scale amplify.
 */
const TOLERANCE = 2e-4;
const PROMPTS = [
  "Question: What is the capital of Venwa?\nAnswer:",
  "The favorite color of Lider is",
  "def add(a, b):\n    return",
];

function trainRows(n: number): string {
  const rows = Array.from({ length: n }, (_, i) => ({
    prompt: `Question: What is ${i} plus ${i + 3}?\nAnswer:`,
    completion: ` ${2 * i + 3}`,
  }));
  return rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

for (const shape of ["llama3", "qwen2", "mistral"] as const) {
  Deno.test({
    name: `${shape}: LoRA (torch), GGUF LoRA, merge, q4_k_m without fallback; adapter = merged`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const dir = mkdtempSync(join(tmpdir(), `tunebook-chain-${shape}-`));
      try {
        const ckpt = join(dir, "base");
        const python = await findPython();
        const w = await new Deno.Command(python, {
          args: [WRITER, ckpt, shape, "--hidden", "256", "--ff", "512", "--layers", "2"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(w.success, new TextDecoder().decode(w.stderr));
        const train = join(dir, "train.jsonl");
        writeFileSync(train, trainRows(32));
        const config = resolveTrainConfig({
          preset: "tiny-cpu",
          overrides: {
            base_model: ckpt,
            train_file: train,
            val_file: null,
            output_dir: join(dir, "run"),
            max_steps: 4,
            batch_size: 4,
            max_seq_len: 64,
            lr: 2e-2,
            warmup_steps: 0,
            save_every: 4,
          },
        });
        const result = await runTrainer(config, { progress: false });
        const lora = join(dir, "lora.gguf");
        const merged = join(dir, "merged", "merged.gguf");
        await exportAdapter(result.adapterDir, ckpt, {
          ggufLora: lora,
          mergedDir: join(dir, "merged"),
          mergedGguf: merged,
        });
        const base = join(dir, "base.gguf");
        await runPython("export_gguf", [ckpt, base, "--name", shape]);
        const q4 = await quantizeModel(merged, "q4_k_m", { outDir: dir, threads: 1 });
        assert.deepEqual(q4.card.fallbacks, [], "no tensor falls back");
        assert.equal(q4.card.file_type, "Q4_K_M");

        const run = async (model: string, adapters: string[]) => {
          const backend = await createLlamaBackend(model, {
            lora: adapters.map((path) => ({ path })),
            threads: 1,
            gpu: false,
          });
          try {
            const outs: string[] = [];
            const scores: number[][] = [];
            for (const p of PROMPTS) {
              outs.push((await backend.generate(p, { maxTokens: 8 })).text);
              const s = await backend.scoreChoices!(p, [" 7", " blue", " a + b"]);
              scores.push(s.logprobs);
            }
            return { outs, scores };
          } finally {
            await backend.dispose();
          }
        };
        const plain = await run(base, []);
        const adapted = await run(base, [lora]);
        const fused = await run(merged, []);
        assert.deepEqual(adapted.outs, fused.outs, "greedy outputs: adapter at runtime vs merged");
        const rel = (a: number[][], b: number[][]) =>
          Math.max(
            ...a.flatMap((row, i) =>
              row.map((v, j) => Math.abs(v - b[i][j]) / Math.max(1, Math.abs(b[i][j])))
            ),
          );
        const diff = rel(adapted.scores, fused.scores);
        console.log(
          `${shape}: choice log-probs`,
          JSON.stringify(fused.scores),
          `relative Δ ${diff}`,
        );
        assert.ok(diff <= TOLERANCE, `adapter vs merged: relative |Δ log p| = ${diff}`);
        const moved = rel(adapted.scores, plain.scores);
        assert.ok(moved > 10 * TOLERANCE, `the adapter changes the model (relative Δ ${moved})`);
        const quant = await run(q4.path, []);
        assert.ok(quant.outs.every((o) => o.length > 0), "q4_k_m generates");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}
