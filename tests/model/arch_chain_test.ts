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
 * GGUF, q4_k_m of the merged model with no tensor falling back; the adapter on the base GGUF —
 * merged into a copy at load, as eval does, and applied at runtime by llama.cpp, as the server does
 * — equals the merged GGUF (greedy outputs, and choice log-probs within tolerance);
 * q4_k_m loads and generates. Then tunebook's eval (`runEval`, what `deno task eval` runs) on a
 * multiple-choice and a generation task against base+adapter, merged and q4_k_m: each writes its
 * results.json with the metrics, and adapter = merged again (metrics, predictions, log-probs).
 * Last, tunebook's server on the merged GGUF: the chat messages are rendered with the
 * architecture's own chat template (tokenizer_config.json's, carried into the GGUF) exactly as
 * Python's jinja2 renders it (tunebook.chat_template, transformers' environment), its markers are
 * the model's special tokens where the vocabulary has them, /v1/chat/completions evaluates those
 * tokens (the same completion as /v1/completions given them), and replies deterministically.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { createLlamaBackend, type LoraMode } from "../../lib/eval/backend.ts";
import { type EvalResults, runEval, type Sample } from "../../lib/eval/runner.ts";
import { quantizeModel } from "../../lib/gguf/quantize.ts";
import { resolveServeConfig } from "../../lib/serve/config.ts";
import { startServer } from "../../lib/serve/server.ts";
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

/** What the eval runs: one log-likelihood and one generation task, a few items each. */
const EVAL_TASKS = ["synth_facts", "synth_arithmetic"];
const EVAL_LIMIT = 4;
/** Each architecture's chat template: a marker it writes, and whether that is a special token. */
const CHAT_MARKERS = {
  llama3: { marker: "<|start_header_id|>", special: true },
  qwen2: { marker: "<|im_start|>", special: true },
  mistral: { marker: "[INST]", special: false }, // text in the byte-level BPE stand-in vocabulary
} as const;
const MESSAGES = [
  { role: "user", content: "What is 2 plus 3?" },
  { role: "assistant", content: "5" },
  { role: "user", content: "And 4 plus 4?" },
];
/** How many tokens the server writes (ignore_eos: a random model may end at once). */
const REPLY_TOKENS = 6;

/** The chat template of a checkpoint rendered by Python's jinja2 (tunebook.chat_template). */
async function renderWithJinja2(
  python: string,
  ckpt: string,
  messages: typeof MESSAGES,
): Promise<string> {
  const code = [
    "import json, sys",
    "from pathlib import Path",
    "from tunebook.chat_template import ChatTemplate, read_chat_template",
    "d = Path(sys.argv[1])",
    'cfg = json.loads((d / "tokenizer_config.json").read_text())',
    'template = ChatTemplate(read_chat_template(d), bos_token=cfg.get("bos_token"), eos_token=cfg.get("eos_token"))',
    "print(json.dumps(template.render(json.loads(sys.argv[2]), add_generation_prompt=True)))",
  ].join("\n");
  const out = await new Deno.Command(python, {
    args: ["-c", code, ckpt, JSON.stringify(messages)],
    env: { PYTHONPATH: resolve("python") },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.equal(res.status, 200, `${url}: ${JSON.stringify(json)}`);
  return json;
}

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

        const run = async (
          model: string,
          adapters: string[],
          evalAs?: string,
          loraMode: LoraMode = "auto",
        ): Promise<Ran> => {
          const backend = await createLlamaBackend(model, {
            lora: adapters.map((path) => ({ path })),
            threads: 1,
            gpu: false,
            loraMode,
          });
          try {
            const outs: string[] = [];
            const scores: number[][] = [];
            for (const p of PROMPTS) {
              outs.push((await backend.generate(p, { maxTokens: 8 })).text);
              const s = await backend.scoreChoices!(p, [" 7", " blue", " a + b"]);
              scores.push(s.logprobs);
            }
            if (!evalAs) return { outs, scores };
            const outDir = join(dir, "eval", evalAs);
            await runEval(backend, {
              tasks: EVAL_TASKS,
              limit: EVAL_LIMIT,
              outDir,
              resamples: 100,
              progress: false,
              onNote: () => {},
            });
            return { outs, scores, ...readEval(outDir) };
          } finally {
            await backend.dispose();
          }
        };
        const plain = await run(base, []);
        const adapted = await run(base, [lora], "adapter");
        const fused = await run(merged, [], "merged");
        assert.deepEqual(
          adapted.outs,
          fused.outs,
          "greedy outputs: adapter merged at load vs merged",
        );
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
        // eval merges the adapter into a copy of the base at load; llama.cpp's runtime adapter
        // (what the server applies) gives the same
        const runtime = await run(base, [lora], undefined, "runtime");
        assert.deepEqual(runtime.outs, fused.outs, "greedy outputs: runtime adapter vs merged");
        const runtimeDiff = rel(runtime.scores, fused.scores);
        assert.ok(runtimeDiff <= TOLERANCE, `runtime adapter vs merged: relative Δ ${runtimeDiff}`);
        const moved = rel(adapted.scores, plain.scores);
        assert.ok(moved > 10 * TOLERANCE, `the adapter changes the model (relative Δ ${moved})`);

        // eval: the same metrics and predictions from the adapter (merged at load) and the merged GGUF
        assert.deepEqual(metricValues(adapted.results!), metricValues(fused.results!));
        assert.deepEqual(predictions(adapted.samples!), predictions(fused.samples!));
        const evalDiff = rel(choiceLogprobs(adapted.samples!), choiceLogprobs(fused.samples!));
        assert.ok(
          evalDiff <= TOLERANCE,
          `eval log-probs, adapter vs merged: relative Δ ${evalDiff}`,
        );
        console.log(`${shape}: eval (merged)`, JSON.stringify(metricValues(fused.results!)));

        const quant = await run(q4.path, [], "q4_k_m");
        assert.ok(quant.outs.every((o) => o.length > 0), "q4_k_m generates");
        assert.deepEqual(
          Object.keys(metricValues(quant.results!)),
          Object.keys(metricValues(fused.results!)),
        );

        // serve the merged GGUF: chat through the architecture's own template
        const expected = await renderWithJinja2(python, join(dir, "merged"), MESSAGES);
        const { marker, special } = CHAT_MARKERS[shape];
        assert.ok(expected.includes(marker), `the ${shape} template writes ${marker}: ${expected}`);
        const server = startServer(
          resolveServeConfig({
            port: 0,
            threads: 1,
            gpu: false,
            sequences: 1,
            models: { [shape]: { model: merged } },
          }),
          { log: () => {} },
        );
        try {
          await server.ready;
          const fed = await post(`${server.url}/tokenize`, {
            model: shape,
            messages: MESSAGES,
            return_token_strs: true,
          });
          const tokens = fed.tokens as number[];
          const text = await post(`${server.url}/detokenize`, { model: shape, tokens });
          assert.equal(text.prompt, expected, "the server renders what jinja2 renders");
          const strs = fed.token_strs as string[];
          assert.equal(
            strs.includes(marker),
            special,
            `${marker} is ${special ? "one special token" : "text"}: ${JSON.stringify(strs)}`,
          );
          const chat = () =>
            post(`${server.url}/v1/chat/completions`, {
              model: shape,
              messages: MESSAGES,
              max_tokens: REPLY_TOKENS,
              temperature: 0,
              ignore_eos: true,
            });
          const first = await chat();
          const again = await chat();
          const reply = (first.choices as { message: { content: string } }[])[0].message.content;
          console.log(`${shape}: chat reply`, JSON.stringify(reply));
          assert.ok(reply.length > 0, "a non-empty reply");
          assert.deepEqual(again.choices, first.choices, "greedy chat is deterministic");
          const usage = first.usage as { prompt_tokens: number; completion_tokens: number };
          assert.equal(usage.prompt_tokens, tokens.length, "chat evaluates the rendered tokens");
          assert.equal(usage.completion_tokens, REPLY_TOKENS);
          const plainCompletion = await post(`${server.url}/v1/completions`, {
            model: shape,
            prompt: tokens,
            max_tokens: REPLY_TOKENS,
            temperature: 0,
            ignore_eos: true,
          });
          assert.equal(
            (plainCompletion.choices as { text: string }[])[0].text,
            reply,
            "/v1/chat/completions continues exactly the template's tokens",
          );
        } finally {
          await server.shutdown({ graceSeconds: 0 });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}

/** One model's outputs in the chain: generations, choice log-probs, and its eval run if any. */
interface Ran {
  outs: string[];
  scores: number[][];
  results?: EvalResults;
  samples?: Sample[];
}

/** results.json and samples.jsonl of an eval run folder; results.json as `runEval` returned it. */
function readEval(outDir: string): { results: EvalResults; samples: Sample[] } {
  const results = JSON.parse(readFileSync(join(outDir, "results.json"), "utf8")) as EvalResults;
  assert.ok(results.complete, `${outDir}/results.json: a complete run`);
  for (const task of EVAL_TASKS) {
    const t = results.tasks[task];
    assert.ok(t, `${outDir}/results.json has ${task}`);
    assert.equal(t.n, EVAL_LIMIT, `${task}: every item scored`);
    assert.ok(Object.keys(t.metrics).length > 0, `${task}: metrics`);
    for (const [name, m] of Object.entries(t.metrics)) {
      assert.ok(m.value >= 0 && m.value <= 1, `${task} ${name} = ${m.value}`);
    }
  }
  const samples = readFileSync(join(outDir, "samples.jsonl"), "utf8").trim().split("\n")
    .map((line) => JSON.parse(line) as Sample);
  assert.equal(samples.length, EVAL_TASKS.length * EVAL_LIMIT);
  return { results, samples };
}

/** `task/metric` → value. */
function metricValues(results: EvalResults): Record<string, number> {
  return Object.fromEntries(
    Object.entries(results.tasks).flatMap(([task, t]) =>
      Object.entries(t.metrics).map(([name, m]) => [`${task}/${name}`, m.value])
    ),
  );
}

/** `task/doc` → prediction (the chosen answer, or the generated text). */
function predictions(samples: Sample[]): Record<string, string> {
  return Object.fromEntries(samples.map((s) => [`${s.task}/${s.doc_id}`, s.prediction]));
}

/** The multiple-choice items' choice log-probs, in doc order. */
function choiceLogprobs(samples: Sample[]): number[][] {
  return samples.filter((s) => s.logprobs).sort((a, b) => a.doc_id.localeCompare(b.doc_id))
    .map((s) => s.logprobs!);
}
