/**
 * Fine-tuning runs through `deno task finetune` and the bridge, as a user meets them: a bad row is
 * named by the user's own file and line (not the copy under results/train); a rerun with another
 * learning rate is refused, naming it, with the run folder untouched; `--no-resume` starts over;
 * a trainer killed mid-run resumes, and events.jsonl then holds each step once. (The trainer's own
 * resume, fault-injection and identity cases are in tests/python/test_finetune_*.py.)
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTrainer, type TrainEvent } from "../../lib/train/bridge.ts";
import { resolveTrainConfig } from "../../lib/train/config.ts";
import { TINY_DIR } from "./_tiny.ts";

const CLI = new URL("../../lib/cli/finetune.ts", import.meta.url).pathname;
/** A short run: 4 steps of 4 rows, a checkpoint every 2. */
const SHORT = ["max_steps=4", "save_every=2", "batch_size=4", "threads=1"].flatMap((s) => [
  "--set",
  s,
]);

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-ftruns-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function rows(n: number): string {
  return Array.from(
    { length: n },
    (_, i) =>
      JSON.stringify({
        prompt: `Question ${i}: what is ${i} plus 1?\nAnswer:`,
        completion: ` ${i + 1}`,
      }),
  ).join("\n") + "\n";
}

/** `deno task finetune ARGS` with the working directory `cwd` (its results/ is the test's own). */
async function finetune(cwd: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--base", TINY_DIR, "--no-export", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function read(path: string): string {
  return readFileSync(path, "utf8");
}

function stepsLogged(dir: string): number[] {
  return read(join(dir, "events.jsonl")).trim().split("\n").map((l) => JSON.parse(l))
    .filter((e) => e.event === "step").map((e) => e.step);
}

Deno.test({
  name: "finetune CLI: a bad row is named by the user's own file, line and field",
  sanitizeResources: false,
  fn: async () => {
    using tmp = tempDir();
    const mine = join(tmp.dir, "mine.jsonl");
    writeFileSync(mine, rows(3) + JSON.stringify({ prompt: 123, completion: " x" }) + "\n");
    const r = await finetune(tmp.dir, ["--train", mine, "--run", "bad", ...SHORT]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`${mine}:4: field "prompt" is a number \\(123\\); expected a string`),
    );
    assert.doesNotMatch(r.stderr, /results\/train\/bad\/data/);
  },
});

Deno.test({
  name:
    "finetune CLI: another --set lr on a run is refused, naming it, and the run is untouched; --no-resume starts over",
  sanitizeResources: false,
  fn: async () => {
    using tmp = tempDir();
    const mine = join(tmp.dir, "rows.jsonl");
    writeFileSync(mine, rows(16));
    const run = join(tmp.dir, "results", "train", "r");
    const first = await finetune(tmp.dir, ["--train", mine, "--run", "r", ...SHORT]);
    assert.equal(first.code, 0, first.stderr);
    const record = ["config.json", "run.json", "events.jsonl", "data/train.jsonl"].map((f) =>
      read(join(run, f))
    );
    assert.equal(read(join(run, "data", "train.jsonl")), read(mine), "the run keeps its rows");

    const other = await finetune(tmp.dir, [
      "--train",
      mine,
      "--run",
      "r",
      ...SHORT,
      "--set",
      "lr=0.03",
    ]);
    assert.equal(other.code, 1, other.stderr);
    assert.match(other.stderr, /its checkpoint at step 4 was trained with other settings/);
    assert.match(other.stderr, /\n {2}lr: 0\.003 → 0\.03\n/);
    assert.match(other.stderr, /--run NEW_NAME/);
    assert.match(other.stderr, /--no-resume/);
    assert.deepEqual(
      ["config.json", "run.json", "events.jsonl", "data/train.jsonl"].map((f) =>
        read(join(run, f))
      ),
      record,
      "a refused resume changed the run's record",
    );

    const over = await finetune(tmp.dir, [
      "--train",
      mine,
      "--run",
      "r",
      ...SHORT,
      "--set",
      "lr=0.03",
      "--no-resume",
    ]);
    assert.equal(over.code, 0, over.stderr);
    assert.match(over.stderr, /discarded the checkpoints of the previous run/);
    assert.equal(JSON.parse(read(join(run, "config.json"))).lr, 0.03);
    assert.deepEqual(stepsLogged(run), [1, 2, 3, 4], "events.jsonl mixes the two runs");
  },
});

Deno.test({
  name: "bridge: a trainer killed mid-run says how to resume; the rerun logs each step once",
  sanitizeResources: false,
  fn: async () => {
    using tmp = tempDir();
    const train = join(tmp.dir, "rows.jsonl");
    writeFileSync(train, rows(16));
    const config = resolveTrainConfig({
      overrides: {
        base_model: TINY_DIR,
        train_file: train,
        output_dir: join(tmp.dir, "run"),
        max_steps: 6,
        save_every: 2,
        batch_size: 4,
        threads: 1,
      },
    });
    // SIGKILLed while saving the checkpoint of step 4 (python/tunebook/faults.py).
    await assert.rejects(
      runTrainer(config, {
        progress: false,
        notes: false,
        env: { TUNEBOOK_FAULT: "checkpoint.state@4" },
      }),
      /the trainer was killed \(SIGKILL\) after step 4 .*run the same command again to resume from its checkpoint at step 2/,
    );
    assert.deepEqual(stepsLogged(config.output_dir), [1, 2, 3, 4]);
    const events: TrainEvent[] = [];
    const done = await runTrainer(config, {
      progress: false,
      notes: false,
      onEvent: (e) => events.push(e),
    });
    assert.equal(events.find((e) => e.event === "resume")?.step, 2);
    assert.deepEqual(stepsLogged(config.output_dir), [1, 2, 3, 4, 5, 6]);
    assert.ok(existsSync(join(done.adapterDir, "adapter_model.safetensors")));
  },
});
