/**
 * `deno task bench:train-dist` — tokens/s of the torch backend fine-tuning the bundled tiny model
 * with one process and with two (torchrun, gloo, DistributedDataParallel), same global batch.
 *
 * Informational: on a 2-core machine two processes share the cores one process uses with 2 threads
 * (each process gets `threads` 1 so the total is the same), so on the tiny model this compares
 * two processes with one thread against one process with one or two threads, not GPUs; several GPUs
 * or machines are where it pays. tiny-cpu preset (batch 16 × 1) on synth_facts_gen, 40 steps,
 * median of 3 alternating runs. Anchor: one process, one thread.
 * Writes results/bench/train_distributed.json and .md.
 * @module
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "simple-statistics";
import { runTrainer } from "../lib/train/bridge.ts";
import { resolveTrainConfig } from "../lib/train/config.ts";
import { taskTrainRows, writeTrainRows } from "../lib/train/data.ts";
import { defineCommand, runCommand } from "../lib/cli/_command.ts";

const STEPS = 40;
const REPEATS = 3;
const SETUPS = [
  { name: "1 process, 1 thread", nproc: 1, threads: 1 },
  { name: "1 process, 2 threads (the preset's)", nproc: 1, threads: 2 },
  { name: "2 processes (torchrun, gloo), 1 thread each", nproc: 2, threads: 1 },
] as const;

/** `deno task bench:train-dist`. */
export const command = defineCommand({
  name: "bench:train-dist",
  summary: "Tokens/s of the torch backend fine-tuning the bundled tiny model with 1 process and " +
    `with 2 (torchrun, gloo, DDP; same global batch): tiny-cpu preset, ${STEPS} steps on ` +
    `synth_facts_gen, median of ${REPEATS} alternating runs. Writes ` +
    "results/bench/train_distributed.json and .md.",
  flags: {},
  run: () => main(),
});

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-bench-dist-"));
  const train = join(dir, "train.jsonl");
  writeTrainRows(train, await taskTrainRows("synth_facts_gen"));
  const runs: { tokens_per_s: number; seconds: number; wall_seconds: number }[][] = SETUPS.map(
    () => [],
  );
  for (let r = 0; r < REPEATS; r++) {
    for (const [i, setup] of SETUPS.entries()) {
      const config = resolveTrainConfig({
        preset: "tiny-cpu",
        overrides: {
          train_file: train,
          output_dir: join(dir, `${setup.nproc}-${r}`),
          max_steps: STEPS,
          save_every: STEPS,
          resume: false,
          nproc: setup.nproc,
          threads: setup.threads,
        },
      });
      const t0 = performance.now();
      const result = await runTrainer(config, { progress: false, notes: false });
      runs[i].push({
        tokens_per_s: Number(result.done.tokens_per_s),
        seconds: Number(result.done.train_seconds),
        wall_seconds: Math.round((performance.now() - t0) / 10) / 100,
      });
    }
  }
  const med = (i: number) => median(runs[i].map((x) => x.tokens_per_s));
  const out = {
    benchmark: "LoRA fine-tuning, torch backend (CPU), 1 vs 2 processes, tiny-cpu preset",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    steps: STEPS,
    repeats: REPEATS,
    setups: SETUPS.map((s, i) => ({
      ...s,
      tokens_per_s_median: med(i),
      runs: runs[i],
      vs_one_process: Math.round((med(i) / med(0)) * 100) / 100,
    })),
  };
  writeFileSync("results/bench/train_distributed.json", JSON.stringify(out, null, 2) + "\n");
  const md = [
    "# LoRA fine-tuning with 1 and 2 processes (torch backend, CPU)",
    "",
    `${out.date} · ${out.machine.model} · ${out.machine.cpus} CPUs · tiny-cpu preset (global batch ` +
    `16 × 1), ${STEPS} steps on synth_facts_gen · median of ${REPEATS} alternating runs. Command: ` +
    "`deno task bench:train-dist`. Informational: every setup shares the same 2 cores (with the " +
    "rest of the machine's load); two processes add DDP's all-reduce and a second copy of the model.",
    "",
    "| setup | tokens/s (median) | runs | wall s (incl. start) | × 1 process, 1 thread |",
    "| --- | ---: | --- | --- | ---: |",
    ...out.setups.map((s) =>
      `| ${s.name} | ${s.tokens_per_s_median} | ${s.runs.map((x) => x.tokens_per_s).join(", ")} | ${
        s.runs.map((x) => x.wall_seconds).join(", ")
      } | ${s.vs_one_process} |`
    ),
    "",
  ].join("\n");
  writeFileSync("results/bench/train_distributed.md", md);
  console.log(md);
  return 0;
}

if (import.meta.main) await runCommand(command);
