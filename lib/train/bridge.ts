/**
 * The bridge to the Python trainer: runs python/tunebook/finetune.py as a subprocess with a
 * validated config, streams its JSON-line events into a progress bar and `events.jsonl`, and turns
 * Python failures into messages a user can act on.
 *
 * `results/train/<run>/` gets: config.json (resolved), events.jsonl, stderr.log, data/ (the
 * training rows and their SHA-256 in run.json), adapter/ (PEFT) and checkpoints/.
 * @module
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Progress } from "../util/progress.ts";
import type { TrainConfig } from "./config.ts";
import { findPython, PYTHON_DIR, runPython } from "./python.ts";

/** One event from the trainer (see ARCHITECTURE.md's bridge protocol). */
export interface TrainEvent {
  event: "start" | "resume" | "step" | "eval" | "checkpoint" | "done" | "error" | "warning";
  step?: number;
  loss?: number;
  val_loss?: number;
  lr?: number;
  tokens_per_s?: number;
  message?: string;
  [key: string]: unknown;
}

/** Options for {@linkcode runTrainer}. */
export interface RunTrainerOptions {
  /** Called with every event as it arrives. Default: none. */
  onEvent?: (event: TrainEvent) => void;
  /** Show a progress bar on stderr. Default: true. */
  progress?: boolean;
  /** Python modules the backend needs. Default: torch, numpy, sentencepiece (+ transformers, peft for "hf"). */
  modules?: string[];
  /** Extra environment variables for the trainer process. Default: none. */
  env?: Record<string, string>;
}

/** What a finished training run left. */
export interface TrainResult {
  /** The run folder (config.output_dir). */
  dir: string;
  /** The PEFT adapter folder. */
  adapterDir: string;
  /** Every event, in order. */
  events: TrainEvent[];
  /** The final `done` event. */
  done: TrainEvent;
}

/**
 * Train with `config` (already validated by resolveTrainConfig); resumes from the newest checkpoint
 * in `config.output_dir` when `config.resume` is true.
 *
 * @example
 * ```ts ignore
 * const result = await runTrainer(resolveTrainConfig({ overrides: { train_file, output_dir } }));
 * console.log(result.done.tokens_per_s);
 * ```
 */
export async function runTrainer(
  config: TrainConfig,
  options: RunTrainerOptions = {},
): Promise<TrainResult> {
  const { onEvent, progress = true } = options;
  const modules = options.modules ??
    (config.backend === "hf"
      ? ["torch", "transformers", "peft"]
      : ["torch", "numpy", "sentencepiece"]);
  const python = await findPython({ modules });
  const dir = resolve(config.output_dir);
  mkdirSync(dir, { recursive: true });
  const absolute = {
    ...config,
    base_model: existsSync(config.base_model) ? resolve(config.base_model) : config.base_model,
    train_file: resolve(config.train_file),
    val_file: config.val_file ? resolve(config.val_file) : null,
    output_dir: dir,
  };
  for (
    const [field, path] of [["train_file", absolute.train_file], [
      "val_file",
      absolute.val_file,
    ]] as const
  ) {
    if (path && !existsSync(path)) throw new Error(`${field}: ${path} not found`);
  }
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify(absolute, null, 2) + "\n");
  const eventsPath = join(dir, "events.jsonl");
  const child = new Deno.Command(python, {
    args: ["-u", "-m", "tunebook.finetune", configPath],
    cwd: PYTHON_DIR,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrDone = child.stderr.pipeTo(
    new WritableStream({
      write(chunk) {
        appendFileSync(join(dir, "stderr.log"), chunk);
      },
    }),
  );
  const events: TrainEvent[] = [];
  let bar: Progress | undefined;
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      let event: TrainEvent;
      try {
        event = JSON.parse(line);
      } catch {
        continue;
      }
      events.push(event);
      appendFileSync(eventsPath, line + "\n");
      if (event.event === "start" && progress) {
        bar = new Progress(
          `train ${config.backend}`,
          Number(event.steps),
          Number(event.start_step ?? 0),
        );
      }
      if (event.event === "step") bar?.tick();
      onEvent?.(event);
    }
  }
  const status = await child.status;
  await stderrDone;
  bar?.finish();
  const error = events.findLast((e) => e.event === "error");
  if (!status.success || error) {
    throw new Error(
      error?.message ??
        `the trainer exited with code ${status.code}; see ${join(dir, "stderr.log")}`,
    );
  }
  const done = events.findLast((e) => e.event === "done");
  if (!done) {
    throw new Error(`the trainer ended without a "done" event; see ${join(dir, "stderr.log")}`);
  }
  return { dir, adapterDir: String(done.adapter_dir), events, done };
}

/** Options for {@linkcode exportAdapter}. */
export interface ExportAdapterOptions {
  /** Write a GGUF LoRA adapter here. Default: none. */
  ggufLora?: string;
  /** Write the merged Hugging Face checkpoint here. Default: none. */
  mergedDir?: string;
  /** Export the merged checkpoint to this GGUF (f32). Default: none. */
  mergedGguf?: string;
}

/**
 * Convert a PEFT adapter for GGUF runtimes (python/tunebook/export_lora.py).
 *
 * @example
 * ```ts ignore
 * await exportAdapter("results/train/run/adapter", "data/models/tiny", { ggufLora: "lora.gguf" });
 * ```
 */
export async function exportAdapter(
  adapterDir: string,
  baseDir: string,
  options: ExportAdapterOptions,
): Promise<Record<string, string>> {
  const args = [resolve(adapterDir), resolve(baseDir)];
  if (options.ggufLora) args.push("--gguf-lora", resolve(options.ggufLora));
  if (options.mergedDir) args.push("--merged-dir", resolve(options.mergedDir));
  if (options.mergedGguf) args.push("--merged-gguf", resolve(options.mergedGguf));
  const { stdout } = await runPython("export_lora", args);
  const done = stdout.trim().split("\n").map((l) => JSON.parse(l)).findLast((e) =>
    e.event === "done"
  );
  const { event: _e, ...paths } = done;
  return paths;
}
