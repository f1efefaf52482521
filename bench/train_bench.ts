/**
 * `deno task bench:train` — tokens/s of the trainer's torch (CPU) backend fine-tuning the bundled
 * tiny model with the tiny-cpu preset on synth_qa. Writes results/bench/train.json.
 * @module
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { runTrainer, type TrainEvent } from "../lib/train/bridge.ts";
import { resolveTrainConfig } from "../lib/train/config.ts";
import { taskTrainRows, writeTrainRows } from "../lib/train/data.ts";

const STEPS = 40;
const REPEATS = 3;
const dir = mkdtempSync(join(tmpdir(), "tunebook-bench-train-"));
const train = join(dir, "train.jsonl");
writeTrainRows(train, await taskTrainRows("synth_qa"));
const runs = [];
for (let r = 0; r < REPEATS; r++) {
  const events: TrainEvent[] = [];
  const config = resolveTrainConfig({
    preset: "tiny-cpu",
    overrides: {
      train_file: train,
      output_dir: join(dir, `run-${r}`),
      max_steps: STEPS,
      save_every: STEPS,
      resume: false,
    },
  });
  const result = await runTrainer(config, { progress: false, onEvent: (e) => events.push(e) });
  const steps = events.filter((e) => e.event === "step").map((e) => e.tokens_per_s!);
  runs.push({
    tokens_per_s: Number(result.done.tokens_per_s),
    seconds: Number(result.done.train_seconds),
    median_step_tokens_per_s: median(steps),
  });
}
const out = {
  benchmark: "LoRA fine-tuning, torch backend (CPU), tiny-cpu preset, synth_qa",
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  steps: STEPS,
  batch_size: 16,
  runs,
  median_tokens_per_s: median(runs.map((r) => r.tokens_per_s)),
};
mkdirSync("results/bench", { recursive: true });
writeFileSync("results/bench/train.json", JSON.stringify(out, null, 2) + "\n");
console.log(JSON.stringify(out, null, 2));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
