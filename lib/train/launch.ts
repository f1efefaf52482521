/**
 * How the trainer is started: one Python process, or several under torchrun or accelerate launch
 * (the engines the field runs, not a home-made scheme), from the config's `nproc`, `nnodes`,
 * `node_rank`, `master_addr`, `master_port` and `launcher`.
 *
 * - One process (`nproc` 1 on one machine, launcher torchrun): `python -u -m tunebook.finetune
 *   CONFIG`, as always.
 * - torchrun: `python -m tunebook.torchrun` (torch's own `torch.distributed.run`, with a fix that
 *   lets Debian's torch 1.13 start under Python 3.11) `--nproc_per_node N`, `--standalone` on one
 *   machine (it picks a free port) or `--nnodes/--node_rank/--master_addr/--master_port` on several,
 *   each rank's stderr kept in `<run>/logs/` and copied to the console prefixed `[defaultN]:`.
 * - accelerate (backend hf): `python -m accelerate.commands.launch --config_file
 *   <run>/accelerate_config.yaml -m tunebook.finetune CONFIG`, with the DDP config
 *   {@linkcode accelerateConfigYaml} writes from tunebook's config.
 *
 * When a rank dies, {@linkcode rankFailure} reads torchrun's report (which rank, its exit code or
 * signal) and that rank's last stderr lines, for an error that names them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainerLaunch } from "./launch.ts";
 * const l = trainerLaunch(
 *   { nproc: 2, nnodes: 1, node_rank: 0, master_addr: "127.0.0.1", master_port: 29500, launcher: "torchrun", precision: "fp32" },
 *   { python: "python3", configPath: "c.json", runDir: "run" },
 * );
 * assert.equal(l.launcher, "torchrun");
 * assert.deepEqual(l.args.slice(0, 6), ["-u", "-m", "tunebook.torchrun", "--standalone", "--nproc_per_node", "2"]);
 * assert.deepEqual(l.args.slice(-3), ["-m", "tunebook.finetune", "c.json"]);
 * ```
 * @module
 */
import { join } from "node:path";
import type { TrainConfig } from "./config.ts";

/** The config keys that decide how the trainer is launched. */
export type LaunchSettings = Pick<
  TrainConfig,
  "nproc" | "nnodes" | "node_rank" | "master_addr" | "master_port" | "launcher" | "precision"
>;

/** Options for {@linkcode trainerLaunch}. */
export interface TrainerLaunchOptions {
  /** The Python interpreter. Required. */
  python: string;
  /** The trainer config file the processes read. Required. */
  configPath: string;
  /** The run folder: logs/ (per-rank stderr) and accelerate_config.yaml go there. Required. */
  runDir: string;
}

/** A trainer command line. */
export interface TrainerLaunch {
  /** "python" (one process), "torchrun" or "accelerate". */
  launcher: "python" | "torchrun" | "accelerate";
  /** The program: the Python interpreter. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Processes in the whole run (nproc × nnodes). */
  world: number;
  /** Environment for the launcher (unbuffered output, so events arrive as they happen). */
  env: Record<string, string>;
  /** The accelerate config to write before launching (launcher accelerate), with its path. */
  accelerateConfig?: { path: string; yaml: string };
}

/** How many processes a config trains with. */
export function worldSize(config: Pick<TrainConfig, "nproc" | "nnodes">): number {
  return config.nproc * config.nnodes;
}

/** The command line that starts the trainer for `config` (see the module doc). */
export function trainerLaunch(
  config: LaunchSettings,
  options: TrainerLaunchOptions,
): TrainerLaunch {
  const { python, configPath, runDir } = options;
  const world = worldSize(config);
  const trainer = ["-m", "tunebook.finetune", configPath];
  const env = { PYTHONUNBUFFERED: "1" };
  if (config.launcher === "accelerate") {
    const path = join(runDir, "accelerate_config.yaml");
    return {
      launcher: "accelerate",
      command: python,
      args: ["-u", "-m", "accelerate.commands.launch", "--config_file", path, ...trainer],
      world,
      env,
      accelerateConfig: { path, yaml: accelerateConfigYaml(config) },
    };
  }
  if (world === 1) {
    return { launcher: "python", command: python, args: ["-u", ...trainer], world, env };
  }
  const rendezvous = config.nnodes === 1 ? ["--standalone"] : [
    "--nnodes",
    String(config.nnodes),
    "--node_rank",
    String(config.node_rank),
    "--master_addr",
    config.master_addr,
    "--master_port",
    String(config.master_port),
  ];
  return {
    launcher: "torchrun",
    command: python,
    args: [
      "-u",
      "-m",
      "tunebook.torchrun",
      ...rendezvous,
      "--nproc_per_node",
      String(config.nproc),
      "--monitor_interval",
      "1",
      "--log_dir",
      join(runDir, "logs"),
      "--tee",
      "2",
      ...trainer,
    ],
    world,
    env,
  };
}

/**
 * accelerate's config file (what `accelerate config` writes) for this run: DDP over nproc ×
 * nnodes GPUs (MULTI_GPU; NO for a single process), the machines and rendezvous, and the
 * precision. tunebook's trainer keeps its own loop (autocast, GradScaler, DDP): accelerate
 * launch starts the processes and sets RANK/WORLD_SIZE/LOCAL_RANK, as torchrun does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { accelerateConfigYaml } from "./launch.ts";
 * const yaml = accelerateConfigYaml({
 *   nproc: 4, nnodes: 2, node_rank: 1, master_addr: "10.0.0.1", master_port: 29500,
 *   launcher: "accelerate", precision: "bf16",
 * });
 * assert.match(yaml, /^distributed_type: MULTI_GPU$/m);
 * assert.match(yaml, /^num_processes: 8$/m);
 * assert.match(yaml, /^machine_rank: 1$/m);
 * ```
 */
export function accelerateConfigYaml(config: LaunchSettings): string {
  const world = worldSize(config);
  const lines: [string, string | number | boolean][] = [
    ["compute_environment", "LOCAL_MACHINE"],
    ["debug", false],
    ["distributed_type", world > 1 ? "MULTI_GPU" : "NO"],
    ["downcast_bf16", "'no'"],
    ["gpu_ids", "all"],
    ["machine_rank", config.node_rank],
    ["main_process_ip", config.master_addr],
    ["main_process_port", config.master_port],
    ["main_training_function", "main"],
    ["mixed_precision", config.precision === "fp32" ? "'no'" : config.precision],
    ["num_machines", config.nnodes],
    ["num_processes", world],
    ["rdzv_backend", "static"],
    ["same_network", true],
    ["tpu_env", "[]"],
    ["tpu_use_cluster", false],
    ["tpu_use_sudo", false],
    ["use_cpu", false],
  ];
  return "# written by tunebook (lib/train/launch.ts) from the run's config\n" +
    lines.map(([k, v]) => `${k}: ${v}`).join("\n") + "\n";
}

/** What torchrun reported about the first rank that failed. */
export interface RankFailure {
  /** Global rank. */
  rank: number;
  /** Local rank on its machine. */
  localRank: number;
  /** Exit code; negative: killed by that signal. */
  exitCode: number;
  /** Host it ran on. */
  host: string;
  /** Its last stderr lines (on this machine's console copy), without torchrun's prefix. */
  lastLines: string[];
}

/**
 * The failed rank in torchrun's report at the end of `stderr` — the one a signal killed, else
 * torchrun's root cause — with its last `lines` stderr lines (undefined when there is no report).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rankFailure } from "./launch.ts";
 * const stderr = "[default1]:loading\n[default1]:boom\nRoot Cause (first observed failure):\n[0]:\n" +
 *   "  host      : gpu-3\n  rank      : 1 (local_rank: 1)\n  exitcode  : -9 (pid: 42)\n";
 * const f = rankFailure(stderr)!;
 * assert.deepEqual([f.rank, f.exitCode, f.host, f.lastLines], [1, -9, "gpu-3", ["loading", "boom"]]);
 * ```
 */
export function rankFailure(stderr: string, lines = 8): RankFailure | undefined {
  const entries: RankFailure[] = [];
  const re =
    /host\s*:\s*(\S+)\s*\n\s*rank\s*:\s*(\d+)\s*\(local_rank:\s*(\d+)\)\s*\n\s*exitcode\s*:\s*(-?\d+)/g;
  for (const m of stderr.matchAll(re)) {
    entries.push({
      host: m[1],
      rank: Number(m[2]),
      localRank: Number(m[3]),
      exitCode: Number(m[4]),
      lastLines: [],
    });
  }
  if (!entries.length) return undefined;
  // The report lists the other failures first and the root cause last.
  const rootCause = stderr.includes("Root Cause") ? entries.at(-1) : undefined;
  const failure = entries.find((e) => e.exitCode < 0) ?? rootCause ?? entries[0];
  const prefix = `[default${failure.localRank}]:`;
  failure.lastLines = stderr.split("\n").filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length)).filter((l) => l.trim()).slice(-lines);
  return failure;
}

/** Signal names for the exit codes a killed rank reports. */
const SIGNALS: Record<number, string> = {
  6: "SIGABRT",
  9: "SIGKILL: kill -9, or the out-of-memory killer?",
  11: "SIGSEGV",
  15: "SIGTERM",
};

/** "rank 1 of 2 (local rank 1 on gpu-3) was killed by signal 9 (SIGKILL…)" and its stderr lines. */
export function formatRankFailure(failure: RankFailure, world: number): string {
  const how = failure.exitCode < 0
    ? `was killed by signal ${-failure.exitCode}${
      SIGNALS[-failure.exitCode] ? ` (${SIGNALS[-failure.exitCode]})` : ""
    }`
    : `exited with code ${failure.exitCode}`;
  const tail = failure.lastLines.length
    ? `its last stderr lines:\n${failure.lastLines.map((l) => `    ${l}`).join("\n")}`
    : "it wrote nothing to stderr before that";
  return `rank ${failure.rank} of ${world} (local rank ${failure.localRank} on ${failure.host}) ${how}; ${tail}`;
}
