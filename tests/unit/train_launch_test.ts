/**
 * How the trainer is launched (lib/train/launch.ts) for one process, torchrun on one or several
 * machines and accelerate; the accelerate config tunebook writes; a dead rank named from torchrun's
 * real report; and the config checks that come with several processes.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { resolveTrainConfig, TrainConfigError } from "../../lib/train/config.ts";
import {
  accelerateConfigYaml,
  formatRankFailure,
  rankFailure,
  trainerLaunch,
} from "../../lib/train/launch.ts";

const paths = { train_file: "t.jsonl", output_dir: "out" };
const opts = { python: "/usr/bin/python3", configPath: "/tmp/c.json", runDir: "/runs/r" };

Deno.test("one process on one machine is launched as before: python -m tunebook.finetune", () => {
  const l = trainerLaunch(resolveTrainConfig({ overrides: paths }), opts);
  assert.equal(l.launcher, "python");
  assert.deepEqual(l.args, ["-u", "-m", "tunebook.finetune", "/tmp/c.json"]);
  assert.equal(l.world, 1);
});

Deno.test("--nproc 2: torchrun, standalone, each rank's stderr kept and teed", () => {
  const cfg = resolveTrainConfig({ overrides: { ...paths, nproc: 2 } });
  const l = trainerLaunch(cfg, opts);
  assert.equal(l.launcher, "torchrun");
  assert.deepEqual(l.args, [
    "-u",
    "-m",
    "tunebook.torchrun",
    "--standalone",
    "--nproc_per_node",
    "2",
    "--monitor_interval",
    "1",
    "--log_dir",
    "/runs/r/logs",
    "--tee",
    "2",
    "-m",
    "tunebook.finetune",
    "/tmp/c.json",
  ]);
});

Deno.test("several machines: torchrun with nnodes, node_rank and the master's address", () => {
  const cfg = resolveTrainConfig({
    overrides: {
      ...paths,
      nproc: 4,
      nnodes: 2,
      node_rank: 1,
      master_addr: "10.0.0.1",
      master_port: 29400,
    },
  });
  const args = trainerLaunch(cfg, opts).args;
  const at = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(args.includes("--standalone"), false);
  assert.deepEqual(
    ["--nnodes", "--node_rank", "--master_addr", "--master_port", "--nproc_per_node"].map(at),
    ["2", "1", "10.0.0.1", "29400", "4"],
  );
  assert.equal(trainerLaunch(cfg, opts).world, 8);
});

Deno.test("--launcher accelerate: accelerate launch with a DDP config written from tunebook's", () => {
  const cfg = resolveTrainConfig({
    preset: "gpu",
    overrides: { ...paths, base_model: "m", launcher: "accelerate", nproc: 4 },
  });
  const l = trainerLaunch(cfg, opts);
  assert.equal(l.launcher, "accelerate");
  assert.deepEqual(l.args, [
    "-u",
    "-m",
    "accelerate.commands.launch",
    "--config_file",
    "/runs/r/accelerate_config.yaml",
    "-m",
    "tunebook.finetune",
    "/tmp/c.json",
  ]);
  const yaml = parse(l.accelerateConfig!.yaml);
  assert.equal(l.accelerateConfig!.path, "/runs/r/accelerate_config.yaml");
  assert.deepEqual(
    [yaml.distributed_type, yaml.num_processes, yaml.num_machines, yaml.machine_rank],
    ["MULTI_GPU", 4, 1, 0],
  );
  assert.deepEqual([yaml.mixed_precision, yaml.use_cpu, yaml.compute_environment], [
    "bf16",
    false,
    "LOCAL_MACHINE",
  ]);
  const single = parse(accelerateConfigYaml({ ...cfg, nproc: 1, precision: "fp32" }));
  assert.deepEqual([single.distributed_type, single.mixed_precision], ["NO", "no"]);
});

Deno.test("a killed rank is named from torchrun's own report, with its exit signal", () => {
  const stderr = readFileSync(
    new URL("./fixtures/torchrun_rank_killed.txt", import.meta.url),
    "utf8",
  );
  const f = rankFailure(stderr)!;
  assert.deepEqual([f.rank, f.localRank, f.exitCode, f.host], [1, 1, -9, "localhost"]);
  assert.match(
    formatRankFailure(f, 2),
    /^rank 1 of 2 \(local rank 1 on localhost\) was killed by signal 9 \(SIGKILL: kill -9, or the out-of-memory killer\?\)/,
  );
  // A rank that raised: its own lines (torchrun's [defaultN]: copies), not the other ranks'.
  const raised = "[default0]:ok\n[default1]:Traceback (most recent call last):\n" +
    "[default1]:ValueError: bad shard\nRoot Cause (first observed failure):\n[0]:\n" +
    "  host      : h\n  rank      : 1 (local_rank: 1)\n  exitcode  : 1 (pid: 7)\n";
  const r = rankFailure(raised)!;
  assert.deepEqual(r.lastLines, ["Traceback (most recent call last):", "ValueError: bad shard"]);
  assert.match(formatRankFailure(r, 2), /exited with code 1; its last stderr lines:\n {4}Trace/);
  assert.equal(rankFailure("plain python traceback\n"), undefined);
});

Deno.test("several processes: the config checks node_rank, the launcher and the batch split", () => {
  const bad = (overrides: Record<string, unknown>) =>
    assert.throws(
      () => resolveTrainConfig({ overrides: { ...paths, ...overrides } }),
      TrainConfigError,
    );
  bad({ nnodes: 2, node_rank: 2 });
  bad({ launcher: "accelerate" }); // backend torch
  try {
    resolveTrainConfig({ overrides: { ...paths, nproc: 3 } }); // tiny-cpu: 16 × 1 rows over 3
    assert.fail("expected an error");
  } catch (e) {
    assert.match(
      (e as Error).message,
      /nproc: batch_size × grad_accum = 16 × 1 = 16 rows a step do not split evenly over 3 processes/,
    );
  }
  assert.equal(resolveTrainConfig({ overrides: { ...paths, nproc: 4 } }).nproc, 4);
});
