/**
 * The bridge to the Python trainer: runs python/tunebook/finetune.py as a subprocess with a
 * validated config, streams its JSON-line events into a progress bar and `events.jsonl`, and turns
 * Python failures into messages a user can act on.
 *
 * `results/train/<run>/` gets, once the trainer has accepted the run: config.json (resolved),
 * data/ (the rows it trains on), events.jsonl (this run's events only: see event_log.ts),
 * checkpoints/ (python/tunebook/checkpoint.py) and adapter/ (PEFT); stderr.log keeps the trainer's
 * stderr of every attempt. A resume that does not match the run's checkpoint is refused by the
 * trainer before any of these change.
 *
 * With `nproc` > 1 (or several machines, or launcher accelerate) the trainer runs under torchrun
 * or accelerate launch (launch.ts): rank 0 sends the events; a rank that dies ends the run with an
 * error naming it, its exit code or signal and its last stderr lines (logs/ keeps each rank's).
 * @module
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Progress } from "../util/progress.ts";
import type { TrainConfig } from "./config.ts";
import { TrainEventLog } from "./event_log.ts";
import { formatRankFailure, rankFailure, trainerLaunch } from "./launch.ts";
import { findPython, PYTHON_DIR, runPython } from "./python.ts";

/** One event from the trainer (see ARCHITECTURE.md's bridge protocol). */
export interface TrainEvent {
  event:
    | "start"
    | "resume"
    | "step"
    | "eval"
    | "checkpoint"
    | "done"
    | "error"
    | "warning"
    | "note";
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
  /** Print the trainer's warnings and notes (cleaned-up leftovers, a changed run length) on stderr. Default: true. */
  notes?: boolean;
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
 * Train with `config` (already validated by resolveTrainConfig); resumes from the newest complete
 * checkpoint in `config.output_dir` when `config.resume` is true — bit for bit, and only when the
 * checkpoint was trained with the same settings and data (otherwise the error names what differs);
 * with `resume: false` the run starts over, discarding that folder's checkpoints.
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
  const { onEvent, progress = true, notes = true } = options;
  const modules = options.modules ??
    (config.backend === "hf"
      ? ["torch", "transformers", "peft"]
      : ["torch", "numpy", "sentencepiece"]);
  const python = await findPython({ modules });
  if (config.launcher === "accelerate") {
    await findPython({ python, modules: ["accelerate"] }).catch(() => {
      throw new Error(
        `launcher: accelerate, but ${python} cannot import accelerate: pip install accelerate ` +
          `(on the GPU machine), or set launcher torchrun (--launcher torchrun)`,
      );
    });
  }
  const dir = resolve(config.output_dir);
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
  mkdirSync(dir, { recursive: true });
  // The trainer records config.json in the run folder itself, once it has accepted the run.
  const staging = mkdtempSync(join(tmpdir(), "tunebook-train-"));
  const configPath = join(staging, "config.json");
  writeFileSync(configPath, JSON.stringify(absolute, null, 2) + "\n");
  const log = new TrainEventLog(join(dir, "events.jsonl"));
  const events: TrainEvent[] = [];
  const launch = trainerLaunch(absolute, { python, configPath, runDir: dir });
  if (launch.accelerateConfig) {
    writeFileSync(launch.accelerateConfig.path, launch.accelerateConfig.yaml);
  }
  let status: Deno.CommandStatus;
  let bar: Progress | undefined;
  let stderrTail = ""; // this attempt's stderr, its last 256 KB: a failed rank's report is at its end
  try {
    const child = new Deno.Command(launch.command, {
      args: launch.args,
      cwd: PYTHON_DIR,
      env: { ...launch.env, ...options.env },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const errDecoder = new TextDecoder();
    const stderrDone = child.stderr.pipeTo(
      new WritableStream({
        write(chunk) {
          appendFileSync(join(dir, "stderr.log"), chunk);
          stderrTail = (stderrTail + errDecoder.decode(chunk, { stream: true })).slice(-262144);
        },
      }),
    );
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
        log.add(event, line);
        if (notes && (event.event === "warning" || event.event === "note")) {
          console.error(`${event.event}: ${event.message}`);
        }
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
    status = await child.status;
    await stderrDone;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  bar?.finish();
  const error = events.findLast((e) => e.event === "error");
  if (error) throw new Error(String(error.message));
  const failed = launch.launcher !== "python" && !status.success && !status.signal
    ? rankFailure(stderrTail)
    : undefined;
  if (failed) {
    const last = events.findLast((e) => e.event === "checkpoint");
    throw new Error(
      `the run stopped: ${formatRankFailure(failed, launch.world)}\n` +
        `after step ${
          events.findLast((e) => e.event === "step")?.step ?? 0
        }; run the same command ` +
        `again to resume from ` +
        (last ? `its checkpoint at step ${last.step}` : "the run's latest complete checkpoint") +
        ` (with any --nproc); each rank's stderr is in ${join(dir, "logs")}, the launcher's in ` +
        join(dir, "stderr.log"),
    );
  }
  if (status.signal) {
    const last = events.findLast((e) => e.event === "checkpoint");
    throw new Error(
      `the trainer was killed (${status.signal}) after step ${
        events.findLast((e) => e.event === "step")?.step ?? 0
      } (by kill -9 or the out-of-memory killer?); run the same command again to resume from ` +
        (last ? `its checkpoint at step ${last.step}` : "the run's latest complete checkpoint") +
        `; see ${join(dir, "stderr.log")}`,
    );
  }
  if (!status.success) {
    throw new Error(`the trainer exited with code ${status.code}; see ${join(dir, "stderr.log")}`);
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
 * Convert a PEFT adapter for GGUF runtimes (python/tunebook/export_lora.py). `baseDir` is the
 * base model's folder or its Hub id (looked up in the Hugging Face cache, where training put it).
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
  // A Hub id (not a folder here) goes as it is: the exporter finds it in the Hugging Face cache.
  const args = [resolve(adapterDir), existsSync(baseDir) ? resolve(baseDir) : baseDir];
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
