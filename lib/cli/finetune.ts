/**
 * `deno task finetune` — LoRA fine-tuning through the Python bridge, then GGUF export.
 *
 *   deno task finetune --task synth_qa                          # tiny-cpu preset on the bundled model
 *   deno task finetune --preset tiny-cpu --train rows.jsonl --val val.jsonl --set max_steps=100
 *   deno task finetune --preset colab-t4 --base mistralai/Mistral-7B-v0.1 --train rows.jsonl --colab
 *
 * Writes results/train/<run>/: config.json, events.jsonl, data/, adapter/ (PEFT), lora.gguf and
 * merged/ (Hugging Face checkpoint + merged.gguf). With --colab it writes colab.ipynb instead of training.
 * @module
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportAdapter, runTrainer } from "../train/bridge.ts";
import { colabNotebook } from "../train/colab.ts";
import { PRESETS, resolveTrainConfig } from "../train/config.ts";
import { taskTrainRows, writeTrainRows } from "../train/data.ts";
import { runMain } from "./_main.ts";

const HELP = `usage: deno task finetune [--preset ${
  Object.keys(PRESETS).join("|")
}] (--task NAME | --train FILE.jsonl [--val FILE.jsonl])
                          [--base DIR|HUB_ID] [--run NAME] [--set key=value]... [--no-export] [--colab [--push-to REPO]]`;

function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      preset: { type: "string", default: "tiny-cpu" },
      task: { type: "string" },
      train: { type: "string" },
      val: { type: "string" },
      base: { type: "string" },
      run: { type: "string" },
      set: { type: "string", multiple: true, default: [] },
      "no-export": { type: "boolean", default: false },
      colab: { type: "boolean", default: false },
      "push-to": { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.task && !values.train) {
    throw new Error(`give --task NAME or --train FILE.jsonl\n${HELP}`);
  }
  const run = values.run ?? `${values.preset}-${values.task ?? "data"}`;
  const dir = join("results", "train", run);
  mkdirSync(join(dir, "data"), { recursive: true });
  const trainFile = join(dir, "data", "train.jsonl");
  let valFile: string | null = join(dir, "data", "val.jsonl");
  const hashes: Record<string, string> = {};
  if (values.task) {
    hashes.train = writeTrainRows(trainFile, await taskTrainRows(values.task, { split: "train" }));
    hashes.val = writeTrainRows(valFile, await taskTrainRows(values.task, { split: "validation" }));
  } else {
    copyFileSync(values.train!, trainFile);
    if (values.val) copyFileSync(values.val, valFile);
    else valFile = null;
  }
  const overrides: Record<string, unknown> = {
    train_file: trainFile,
    val_file: valFile,
    output_dir: dir,
  };
  if (values.base) overrides.base_model = values.base;
  for (const kv of values.set) {
    const at = kv.indexOf("=");
    if (at < 0) throw new Error(`--set ${kv}: expected key=value`);
    const key = kv.slice(0, at);
    const value = parseValue(kv.slice(at + 1));
    if (key.startsWith("lora.")) {
      overrides.lora = { ...((overrides.lora as object | undefined) ?? {}), [key.slice(5)]: value };
    } else overrides[key] = value;
  }
  const config = resolveTrainConfig({ preset: values.preset, overrides });
  writeFileSync(
    join(dir, "run.json"),
    JSON.stringify(
      { preset: values.preset, task: values.task ?? null, data_sha256: hashes },
      null,
      2,
    ) + "\n",
  );
  if (values.colab) {
    const nb = colabNotebook(config, { pushTo: values["push-to"] });
    writeFileSync(join(dir, "colab.ipynb"), JSON.stringify(nb, null, 1) + "\n");
    console.log(
      `wrote ${join(dir, "colab.ipynb")}: open it in Colab (T4 GPU) and upload ${trainFile}`,
    );
    return 0;
  }
  const result = await runTrainer(config);
  console.log(
    `adapter: ${result.adapterDir} (${result.done.tokens_per_s} tokens/s, ${result.done.train_seconds}s)`,
  );
  if (!values["no-export"]) {
    const paths = await exportAdapter(result.adapterDir, config.base_model, {
      ggufLora: join(dir, "lora.gguf"),
      mergedDir: join(dir, "merged"),
      mergedGguf: join(dir, "merged", "merged.gguf"),
    });
    for (const [k, v] of Object.entries(paths)) console.log(`${k}: ${v}`);
  }
  return 0;
}

if (import.meta.main) await runMain(main);
