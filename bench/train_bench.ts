/**
 * `deno task bench:train` — tokens/s of the trainer's torch (CPU) backend fine-tuning the bundled
 * tiny model with the tiny-cpu preset on synth_facts_gen (the family CI fine-tunes), against the
 * same trainer on Debian's default BLAS in the same run.
 *
 * Anchor: Debian's python3-torch calls the system `libblas.so.3`; with only `libblas3` installed
 * that is the reference BLAS. `scripts/setup.sh` installs OpenBLAS (libopenblas0-pthread), which
 * Debian's alternatives then prefer; the anchor run points the loader back at the reference
 * BLAS (`LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas`). Runs alternate, median of 3 each.
 * Writes results/bench/train.json and results/bench/train.md.
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { runTrainer, type TrainEvent } from "../lib/train/bridge.ts";
import { resolveTrainConfig } from "../lib/train/config.ts";
import { taskTrainRows, writeTrainRows } from "../lib/train/data.ts";

const STEPS = 40;
const REPEATS = 3;
const dir = mkdtempSync(join(tmpdir(), "tunebook-bench-train-"));
const train = join(dir, "train.jsonl");
writeTrainRows(train, await taskTrainRows("synth_facts_gen"));
const REFERENCE_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/blas";
const setups = {
  tunebook: {},
  reference_blas: { LD_LIBRARY_PATH: REFERENCE_BLAS_DIR },
} as const;
type Setup = keyof typeof setups;
const runs: Record<
  Setup,
  { tokens_per_s: number; seconds: number; median_step_tokens_per_s: number }[]
> = { tunebook: [], reference_blas: [] };
if (!existsSync(join(REFERENCE_BLAS_DIR, "libblas.so.3"))) {
  console.error(`${REFERENCE_BLAS_DIR}/libblas.so.3 not found: the anchor needs Debian's libblas3`);
  Deno.exit(2);
}
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
`;
writeFileSync("results/bench/train.md", md);
console.log(md);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
