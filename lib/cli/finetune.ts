/**
 * `deno task finetune` — LoRA fine-tuning through the Python bridge, then GGUF export.
 *
 *   deno task finetune --task synth_qa                          # tiny-cpu preset on the bundled model
 *   deno task finetune --preset tiny-cpu --train rows.jsonl --val val.jsonl --set max_steps=100
 *   deno task finetune --preset colab-t4 --base mistralai/Mistral-7B-v0.1 --train rows.jsonl --colab
 *   deno task finetune --preset colab-t4 --base DIR --train rows.jsonl --dry-run --gpu-memory-gb 15
 *   deno task finetune --train rows.jsonl --nproc 2                # 2 processes (torchrun, DDP)
 *
 * Writes results/train/<run>/: config.json, run.json, events.jsonl, data/, checkpoints/, adapter/
 * (PEFT), lora.gguf and merged/ (Hugging Face checkpoint + merged.gguf). Rerunning the same command
 * resumes the run; other settings or data are refused (use another --run, or --no-resume). With
 * --colab it writes colab.ipynb instead of training; with --dry-run it prints the resolved plan
 * (lib/train/plan.ts: dtype per part, 4-bit, checkpointing, micro batch × accumulation, estimated
 * peak memory) and exits without loading or writing anything.
 * @module
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { exportAdapter, runTrainer, type TrainEvent } from "../train/bridge.ts";
import { COLAB_QUANT_TYPES, colabNotebook } from "../train/colab.ts";
import { PRESETS, resolveTrainConfig, TrainConfigError, trainConfigKeys } from "../train/config.ts";
import { taskTrainRows, writeTrainRows } from "../train/data.ts";
import { formatTrainPlan, planTrainRun } from "../train/plan.ts";
import {
  booleanFlag,
  defineCommand,
  enumFlag,
  integerFlag,
  numberFlag,
  parseKeyValue,
  repeatedFlag,
  runCommand,
  stringFlag,
  UsageError,
} from "./_command.ts";

const PRESET_NAMES = Object.keys(PRESETS) as (keyof typeof PRESETS)[];
/** Config keys this command fills in itself, and from which flags. */
const FILLED_IN: Record<string, string> = {
  base_model: "--base, else the preset's",
  train_file: "from --task or --train",
  val_file: "from --task or --val (null without)",
  output_dir: "results/train/<--run>",
};

/** `deno task finetune`. */
export const command = defineCommand({
  name: "finetune",
  summary: "LoRA fine-tuning through the Python bridge, then GGUF export. Writes " +
    "results/train/<run>/: config.json, run.json, events.jsonl, data/, checkpoints/, adapter/ " +
    "(PEFT), lora.gguf and merged/ (Hugging Face checkpoint + merged.gguf). Running the same " +
    "command again resumes the run from its latest checkpoint; other settings or data are refused " +
    "(use another --run, or --no-resume). With --colab it writes colab.ipynb instead of training.",
  usage: [
    "(--task NAME | --train FILE.jsonl [--val FILE.jsonl]) [--preset NAME] [--set KEY=VALUE]... [options]",
  ],
  flags: {
    preset: enumFlag("settings to start from (the config keys below)", PRESET_NAMES, {
      default: "tiny-cpu",
    }),
    task: stringFlag("train on a task's train split (validation: its validation split)", {
      placeholder: "NAME",
    }),
    train: stringFlag('training rows, JSONL of {"prompt", "completion"}', {
      placeholder: "FILE.jsonl",
    }),
    val: stringFlag("validation rows (with --train)", { placeholder: "FILE.jsonl" }),
    base: stringFlag("base model: a Hugging Face checkpoint folder or Hub id", {
      placeholder: "DIR|HUB_ID",
      defaultText: "the preset's base_model",
    }),
    run: stringFlag("run name: results/train/NAME/", {
      placeholder: "NAME",
      defaultText: "<preset>-<task, or data>",
    }),
    set: repeatedFlag(
      "override a config key (VALUE: JSON, else a string; lora.KEY for LoRA settings)",
      parseKeyValue,
      { placeholder: "KEY=VALUE" },
    ),
    "no-resume": booleanFlag(
      "start the run over: discard its checkpoints instead of resuming from them",
    ),
    "no-export": booleanFlag("skip the GGUF export after training"),
    colab: booleanFlag("write colab.ipynb (to run on a Colab T4) instead of training"),
    "push-to": stringFlag(
      "with --colab: the Hub repo the notebook pushes the run to (created private)",
      { placeholder: "REPO", defaultText: "none (a download instead)" },
    ),
    public: booleanFlag("with --push-to: create the repo public instead of private"),
    quant: enumFlag(
      "with --colab: the quantization the notebook makes of the merged model",
      COLAB_QUANT_TYPES,
      { defaultText: "q4_k_m" },
    ),
    nproc: integerFlag("trainer processes on this machine (torchrun; DDP, same global batch)", {
      min: 1,
      defaultText: "config nproc (1)",
    }),
    nnodes: integerFlag("machines taking part (each runs this command with its --node-rank)", {
      min: 1,
      defaultText: "config nnodes (1)",
    }),
    "node-rank": integerFlag("this machine's index, 0 … nnodes - 1", {
      min: 0,
      defaultText: "config node_rank (0)",
    }),
    "master-addr": stringFlag("address of the node-rank 0 machine (several machines)", {
      placeholder: "HOST",
      defaultText: "config master_addr (127.0.0.1)",
    }),
    "master-port": integerFlag("rendezvous port on --master-addr (several machines)", {
      min: 1,
      max: 65535,
      defaultText: "config master_port (29500)",
    }),
    launcher: enumFlag(
      "what starts the processes (accelerate: backend hf, DDP config written to the run folder)",
      ["torchrun", "accelerate"],
      { defaultText: "config launcher (torchrun)" },
    ),
    "dry-run": booleanFlag(
      "print the resolved plan (dtype per part, 4-bit, checkpointing, micro batch × " +
        "accumulation, estimated peak memory from the base's config.json) and exit; loads and " +
        "writes nothing",
    ),
    "gpu-memory-gb": numberFlag("with --dry-run: compare the estimate with a GPU of this size", {
      placeholder: "GB",
      min: 0,
      defaultText: "none (a T4 has 15)",
    }),
  },
  epilog: configKeysHelp,
  usageErrors: [TrainConfigError],
  run: async ({ values }) => {
    if (!values.task && !values.train) {
      throw new UsageError("give --task NAME or --train FILE.jsonl");
    }
    if (values.task && values.train) {
      throw new UsageError("give --task NAME or --train FILE.jsonl, not both");
    }
    if (values.val && !values.train) throw new UsageError("--val goes with --train");
    if (values["push-to"] !== undefined && !values.colab) {
      throw new UsageError("--push-to goes with --colab");
    }
    if (values.public && values["push-to"] === undefined) {
      throw new UsageError("--public goes with --push-to");
    }
    if (values.quant !== undefined && !values.colab) {
      throw new UsageError("--quant goes with --colab (at home: deno task quantize)");
    }
    if (values["gpu-memory-gb"] !== undefined && !values["dry-run"]) {
      throw new UsageError("--gpu-memory-gb goes with --dry-run");
    }
    if (values["dry-run"] && values.colab) {
      throw new UsageError(
        "--dry-run and --colab: give one (--dry-run prints the plan, --colab writes a notebook)",
      );
    }
    const run = values.run ?? `${values.preset}-${values.task ?? "data"}`;
    const dir = join("results", "train", run);
    // --train/--val: the trainer reads the user's own files (so a bad row is named by its own
    // file:line) and keeps a copy in data/ once it has accepted the run. --task: the task's rows,
    // rendered here, are staged in data/task-*.jsonl and copied the same way.
    const trainFile = values.task ? join(dir, "data", "task-train.jsonl") : resolve(values.train!);
    const valFile = values.task
      ? join(dir, "data", "task-validation.jsonl")
      : values.val
      ? resolve(values.val)
      : null;
    const overrides: Record<string, unknown> = {
      train_file: trainFile,
      val_file: valFile,
      output_dir: dir,
    };
    if (values.base) overrides.base_model = values.base;
    const lora: Record<string, unknown> = {};
    for (const { key, value } of values.set) {
      const [target, name] = key.startsWith("lora.") ? [lora, key.slice(5)] : [overrides, key];
      target[name] = value;
    }
    if (Object.keys(lora).length) overrides.lora = lora;
    if (values["no-resume"]) overrides.resume = false;
    const launchFlags = [
      ["nproc", "nproc"],
      ["nnodes", "nnodes"],
      ["node-rank", "node_rank"],
      ["master-addr", "master_addr"],
      ["master-port", "master_port"],
      ["launcher", "launcher"],
    ] as const;
    for (const [flag, key] of launchFlags) {
      if (values[flag] !== undefined) overrides[key] = values[flag];
    }
    const config = resolveTrainConfig({ preset: values.preset, overrides }); // before any write
    for (const [flag, path] of [["--train", values.train], ["--val", values.val]]) {
      if (path && !existsSync(path)) throw new UsageError(`${flag} ${path}: file not found`);
    }
    if (values["dry-run"]) {
      const plan = await planTrainRun(config, { gpuMemoryGb: values["gpu-memory-gb"] });
      console.log(formatTrainPlan(plan));
      return 0;
    }
    if (values.task) {
      mkdirSync(join(dir, "data"), { recursive: true });
      writeTrainRows(trainFile, await taskTrainRows(values.task, { split: "train" }));
      writeTrainRows(valFile!, await taskTrainRows(values.task, { split: "validation" }));
    }
    if (values.colab) {
      mkdirSync(dir, { recursive: true });
      const pushTo = values["push-to"] ?? "";
      const nb = colabNotebook(config, {
        pushTo,
        private: !values.public,
        quant: values.quant ?? "q4_k_m",
        run,
        task: values.task ?? "",
      });
      writeFileSync(join(dir, "colab.ipynb"), JSON.stringify(nb, null, 1) + "\n");
      console.log(
        `wrote ${join(dir, "colab.ipynb")}: open it in Colab (T4 GPU), add the secret HF_TOKEN, ` +
          `Run all, and upload ${trainFile}` + (valFile ? ` and ${valFile}` : "") + " when asked" +
          (pushTo ? `; then: deno task hub:pull ${pushTo}` : ""),
      );
      return 0;
    }
    const onEvent = (event: TrainEvent) => {
      if (event.event !== "start") return;
      // Accepted by the trainer: record how the run was asked for, and drop the exports of a
      // run this one replaces (it starts from step 0 in a folder that had one).
      writeFileSync(
        join(dir, "run.json"),
        JSON.stringify(
          { preset: values.preset, task: values.task ?? null, data_sha256: event.data_sha256 },
          null,
          2,
        ) + "\n",
      );
      const stale = ["lora.gguf", "merged"].filter((f) => existsSync(join(dir, f)));
      if (event.start_step === 0 && stale.length) {
        for (const f of stale) rmSync(join(dir, f), { recursive: true, force: true });
        console.error(`note: removed ${stale.join(", ")} of the run this one starts over`);
      }
    };
    const result = await runTrainer(config, { onEvent });
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
  },
});

/** The config keys, their types and defaults, from lib/train/config.ts's schema. */
function configKeysHelp(): string {
  const show = (v: unknown) => typeof v === "string" ? v : JSON.stringify(v);
  const rows = trainConfigKeys().map((k) => [
    k.key,
    k.type,
    k.default === undefined ? FILLED_IN[k.key] ?? "" : show(k.default),
    Object.entries(k.presets).map(([p, v]) => `${p}: ${show(v)}`).join(", "),
  ]);
  const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return [
    "Config keys (--set KEY=VALUE): type, default, and the presets that change it",
    ...rows.map(([key, type, def, presets]) =>
      `  ${key.padEnd(w[0])}  ${type.padEnd(w[1])}  ${def}${presets ? `  (${presets})` : ""}`
    ),
  ].join("\n");
}

if (import.meta.main) await runCommand(command);
