/**
 * `deno task bench:train` — tokens/s of the trainer's torch (CPU) backend fine-tuning the bundled
 * tiny model with the tiny-cpu preset on synth_facts_gen (the family CI fine-tunes), against the
 * same trainer on Debian's default BLAS in the same run.
 *
 * Anchor: Debian's python3-torch calls the system `libblas.so.3`; with only `libblas3` installed
 * that is the reference BLAS. `scripts/setup.sh` installs OpenBLAS (libopenblas0-pthread), which
 * Debian's alternatives then prefer; the anchor run points the loader back at the reference
 * BLAS (`LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas`). Runs alternate, median of 3 each.
 * Then the accuracy the full tiny-cpu preset buys (what tests/model/finetune_test.ts asserts):
 * 200 steps, GGUF LoRA, merged GGUF and merged q8_0, each evaluated against the base on
 * synth_facts_gen's test split.
 * Writes results/bench/train.json and results/bench/train.md.
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "simple-statistics";
import { runTrainer, type TrainEvent } from "../lib/train/bridge.ts";
import { resolveTrainConfig } from "../lib/train/config.ts";
import { taskTrainRows, writeTrainRows } from "../lib/train/data.ts";
import { exportAdapter } from "../lib/train/bridge.ts";
import { quantizeModel } from "../lib/gguf/quantize.ts";
import { createLlamaBackend } from "../lib/eval/backend.ts";
import { runEval } from "../lib/eval/runner.ts";
import type { MetricResult } from "../lib/eval/runner.ts";
import { defineCommand, runCommand, USAGE_ERROR } from "../lib/cli/_command.ts";

const STEPS = 40;
const REPEATS = 3;
const REFERENCE_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/blas";

/** `deno task bench:train`. */
export const command = defineCommand({
  name: "bench:train",
  summary: "Tokens/s of the trainer's torch (CPU) backend fine-tuning the bundled tiny model " +
    `(tiny-cpu preset, ${STEPS} steps on synth_facts_gen, median of ${REPEATS} alternating runs) ` +
    "against the same trainer on Debian's reference BLAS (libblas3), then the accuracy the full " +
    "preset buys (base, GGUF LoRA, merged, merged q8_0). Writes results/bench/train.json and " +
    "results/bench/train.md. Needs libblas3 (bash scripts/setup.sh installs it).",
  flags: {},
  exitStatus: "Exit status: 0 done; 2 libblas3 missing; 1 other failure.",
  run: () => main(),
});

async function main(): Promise<number> {
  if (!existsSync(join(REFERENCE_BLAS_DIR, "libblas.so.3"))) {
    console.error(
      `bench:train: ${REFERENCE_BLAS_DIR}/libblas.so.3 not found: the anchor needs Debian's ` +
        "reference BLAS. Install it with `apt-get install libblas3` (or `bash scripts/setup.sh`, " +
        "which installs it).",
    );
    return USAGE_ERROR;
  }
  const dir = mkdtempSync(join(tmpdir(), "tunebook-bench-train-"));
  const train = join(dir, "train.jsonl");
  writeTrainRows(train, await taskTrainRows("synth_facts_gen"));
  const setups = {
    tunebook: {},
    reference_blas: { LD_LIBRARY_PATH: REFERENCE_BLAS_DIR },
  } as const;
  type Setup = keyof typeof setups;
  const runs: Record<
    Setup,
    { tokens_per_s: number; seconds: number; median_step_tokens_per_s: number }[]
  > = { tunebook: [], reference_blas: [] };
  for (let r = 0; r < REPEATS; r++) {
    for (const setup of Object.keys(setups) as Setup[]) {
      const events: TrainEvent[] = [];
      const config = resolveTrainConfig({
        preset: "tiny-cpu",
        overrides: {
          train_file: train,
          output_dir: join(dir, `${setup}-${r}`),
          max_steps: STEPS,
          save_every: STEPS,
          resume: false,
        },
      });
      const result = await runTrainer(config, {
        progress: false,
        onEvent: (e) => events.push(e),
        env: { ...setups[setup] },
      });
      const steps = events.filter((e) => e.event === "step").map((e) => e.tokens_per_s!);
      runs[setup].push({
        tokens_per_s: Number(result.done.tokens_per_s),
        seconds: Number(result.done.train_seconds),
        median_step_tokens_per_s: median(steps),
      });
    }
  }
  // The full preset, and what it buys on the test split.
  const TASK = "synth_facts_gen";
  const BASE = "data/models/tiny";
  const val = join(dir, "val.jsonl");
  writeTrainRows(val, await taskTrainRows(TASK, { split: "validation" }));
  const full = await runTrainer(
    resolveTrainConfig({
      preset: "tiny-cpu",
      overrides: { train_file: train, val_file: val, output_dir: join(dir, "full"), resume: false },
    }),
    { progress: false },
  );
  const lora = join(dir, "lora.gguf");
  const merged = join(dir, "merged", "merged.gguf");
  await exportAdapter(full.adapterDir, BASE, {
    ggufLora: lora,
    mergedDir: join(dir, "merged"),
    mergedGguf: merged,
  });
  const q8 = (await quantizeModel(merged, "q8_0", { outDir: join(dir, "merged") })).path;
  const accuracy: Record<string, MetricResult> = {};
  for (
    const [name, model, adapters] of [
      ["base", `${BASE}/tiny-f32.gguf`, []],
      ["base + GGUF LoRA", `${BASE}/tiny-f32.gguf`, [{ path: lora }]],
      ["merged", merged, []],
      ["merged q8_0", q8, []],
    ] as const
  ) {
    const backend = await createLlamaBackend(model, { lora: [...adapters], gpu: false });
    try {
      const r = await runEval(backend, {
        tasks: [TASK],
        outDir: mkdtempSync(join(dir, "eval-")),
        progress: false,
      });
      accuracy[name] = r.tasks[TASK].metrics["exact_match,remove_whitespace"];
    } finally {
      await backend.dispose();
    }
  }

  const med = (s: Setup) => median(runs[s].map((r) => r.tokens_per_s));
  const out = {
    benchmark: "LoRA fine-tuning, torch backend (CPU), tiny-cpu preset, synth_facts_gen",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    steps: STEPS,
    batch_size: 16,
    anchor: "the same trainer on Debian's reference BLAS (libblas3), which python3-torch uses " +
      "unless OpenBLAS is installed",
    runs,
    median_tokens_per_s: { tunebook: med("tunebook"), reference_blas: med("reference_blas") },
    ratio_vs_anchor: Number((med("tunebook") / med("reference_blas")).toFixed(2)),
    full_preset: {
      task: TASK,
      steps: full.done.steps,
      train_seconds: full.done.train_seconds,
      tokens_per_s: full.done.tokens_per_s,
      exact_match: accuracy,
    },
  };
  mkdirSync("results/bench", { recursive: true });
  writeFileSync("results/bench/train.json", JSON.stringify(out, null, 2) + "\n");
  const md = `# LoRA fine-tuning throughput (torch backend, CPU)

${out.date} · ${out.machine.model} · ${out.machine.cpus} CPUs · tiny-cpu preset (batch ${out.batch_size}), ` +
    `${STEPS} steps on synth_facts_gen · median of ${REPEATS} alternating runs. Command: \`deno task bench:train\`.

| setup | tokens/s (median) | runs | × anchor |
| --- | ---: | --- | ---: |
| tunebook (OpenBLAS, one BLAS thread per torch thread) | ${out.median_tokens_per_s.tunebook} | ${
      runs.tunebook.map((r) => r.tokens_per_s).join(", ")
    } | **${out.ratio_vs_anchor}** |
| anchor: Debian's reference BLAS | ${out.median_tokens_per_s.reference_blas} | ${
      runs.reference_blas.map((r) => r.tokens_per_s).join(", ")
    } | 1 |

The full preset (${full.done.steps} steps, ${full.done.train_seconds} s, ${full.done.tokens_per_s} tokens/s) on ${TASK}, exact match on its ${accuracy.base.n} test items:

| model | exact match | 95% CI |
| --- | ---: | --- |
${
      Object.entries(accuracy).map(([name, m]) =>
        `| ${name} | ${pct(m.value)} | [${pct(m.ci[0])}, ${pct(m.ci[1])}] |`
      ).join("\n")
    }
`;
  writeFileSync("results/bench/train.md", md);
  console.log(md);
  return 0;
}

if (import.meta.main) await runCommand(command);

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
