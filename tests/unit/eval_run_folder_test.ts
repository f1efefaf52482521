/**
 * Where eval runs go and who may write them (issue 10, "Eval runs"): two evaluations of the same
 * folder at once — the second refuses (a lock with pid and host; a dead process's lock is taken
 * over with a note); a default run name never overwrites a different run; `--run` stays inside
 * results/eval. No model: a fake backend answers.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { checkRunName, RunNameError } from "../../lib/eval/run_folder.ts";
import { lockRunFolder, RUN_LOCK_FILE, RunLockedError } from "../../lib/eval/run_lock.ts";
import { runEval, type Sample } from "../../lib/eval/runner.ts";
import { fakeBackend } from "./_fake_backend.ts";

const TASKS = ["synth_facts", "synth_arithmetic"];

function samples(dir: string): Sample[] {
  return readFileSync(join(dir, "samples.jsonl"), "utf8").split("\n").filter(Boolean).map((l) =>
    JSON.parse(l)
  );
}

Deno.test("two evals of one run folder at once: the second refuses, naming the first; no line is written twice", async () => {
  const outDir = mkdtempSync(join(tmpdir(), "tunebook-lock-"));
  const opts = { tasks: ["synth_arithmetic"], limit: 8, outDir, progress: false };
  const first = runEval(fakeBackend({ delayMs: 40, concurrency: 1 }), opts);
  // Wait until the first holds the folder (its lock file is there), however loaded the machine.
  while (!existsSync(join(outDir, RUN_LOCK_FILE))) await new Promise((r) => setTimeout(r, 5));
  await assert.rejects(
    runEval(fakeBackend(), opts),
    (e: Error) => {
      assert.ok(e instanceof RunLockedError);
      assert.match(
        e.message,
        new RegExp(
          `another evaluation is writing this run folder \\(process ${Deno.pid} on this machine`,
        ),
      );
      assert.match(
        e.message,
        /Wait for it to finish, or evaluate into another folder with --run NEW/,
      );
      return true;
    },
  );
  await first;
  const lines = samples(outDir);
  assert.equal(lines.length, 8);
  assert.equal(new Set(lines.map((s) => s.doc_id)).size, 8, "each item once");
  // The lock went with the first run: the folder can be evaluated again.
  const again = await runEval(fakeBackend(), opts);
  assert.deepEqual(again.items, { evaluated: 0, reused: 8 });
});

Deno.test("a lock left by a process that no longer runs is taken over, with a note", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-stale-"));
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", "0"] }).spawn();
  await child.status; // its pid is now free
  const lock = {
    pid: child.pid,
    host: hostname(),
    started: "2020-01-01T00:00:00.000Z",
    command: [],
  };
  writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify(lock));
  const notes: string[] = [];
  const held = lockRunFolder(dir, { onNote: (l) => notes.push(l) });
  assert.match(
    notes.join("\n"),
    new RegExp(`took over a stale lock of process ${child.pid} .*no longer runs`),
  );
  assert.equal(JSON.parse(readFileSync(join(dir, RUN_LOCK_FILE), "utf8")).pid, Deno.pid);
  held.release();
});

Deno.test("a lock held on another host is respected, and the message says how to clear it", () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-otherhost-"));
  const lock = {
    pid: 1,
    host: "elsewhere.example",
    started: "2020-01-01T00:00:00.000Z",
    command: [],
  };
  writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify(lock));
  assert.throws(
    () => lockRunFolder(dir),
    /process 1 on host elsewhere\.example[\s\S]*if that process no longer runs, delete .*run\.lock/,
  );
});

Deno.test("a default run name never overwrites a different run: a second command with other tasks gets its own folder", async () => {
  const root = mkdtempSync(join(tmpdir(), "tunebook-root-"));
  const notes: string[] = [];
  const opts = {
    resultsDir: root,
    limit: 3,
    progress: false,
    onNote: (l: string) => notes.push(l),
  };
  const all = await runEval(fakeBackend(), { ...opts, tasks: TASKS });
  const one = await runEval(fakeBackend(), { ...opts, tasks: ["synth_facts"] });
  assert.equal(all.run, "fake-model");
  assert.equal(one.run, "fake-model-2");
  const first = JSON.parse(readFileSync(join(root, "fake-model", "results.json"), "utf8"));
  assert.deepEqual(Object.keys(first.tasks), TASKS, "the first run's results are intact");
  assert.equal(samples(join(root, "fake-model")).length, 6);
  assert.match(
    notes.join("\n"),
    /fake-model holds another run \(it differs in tasks\); this run goes to .*fake-model-2/,
  );
  // Repeating either command finds its own folder and reuses it.
  const again = await runEval(fakeBackend(), { ...opts, tasks: ["synth_facts"] });
  assert.equal(again.run, "fake-model-2");
  assert.deepEqual(again.items, { evaluated: 0, reused: 3 });
  const againAll = await runEval(fakeBackend(), { ...opts, tasks: TASKS });
  assert.equal(againAll.run, "fake-model");
  assert.deepEqual(againAll.items, { evaluated: 0, reused: 6 });
});

Deno.test("--no-resume with a default name starts its own run over and leaves other runs alone", async () => {
  const root = mkdtempSync(join(tmpdir(), "tunebook-root-"));
  const opts = { resultsDir: root, limit: 3, progress: false, onNote: () => {} };
  await runEval(fakeBackend(), { ...opts, tasks: TASKS });
  const other = await runEval(fakeBackend(), { ...opts, tasks: ["synth_facts"], resume: false });
  assert.equal(other.run, "fake-model-2");
  assert.equal(samples(join(root, "fake-model")).length, 6, "the other run is untouched");
});

Deno.test("--run stays inside results/eval", async () => {
  for (const name of ["../../x", "../x", "/tmp/x", "a/../../x", "", ".", "a/.."]) {
    assert.throws(() => checkRunName(name, "results/eval"), RunNameError, name);
  }
  assert.equal(checkRunName("exp1/base", "results/eval"), join("results/eval", "exp1/base"));
  const root = mkdtempSync(join(tmpdir(), "tunebook-root-"));
  await assert.rejects(
    runEval(fakeBackend(), {
      resultsDir: root,
      run: "../escaped",
      tasks: ["synth_facts"],
      limit: 1,
      progress: false,
    }),
    new RegExp(
      `run name "\\.\\./escaped": leads outside ${root} \\(to ${resolve(root, "..", "escaped")}\\)`,
    ),
  );
});

Deno.test("notebook mode: a named folder holding another run is started over; a complete same run is returned as it is", async () => {
  const outDir = mkdtempSync(join(tmpdir(), "tunebook-nb-"));
  const opts = {
    outDir,
    limit: 3,
    progress: false,
    otherRun: "replace" as const,
    reuseComplete: true,
  };
  const first = await runEval(fakeBackend(), { ...opts, tasks: TASKS });
  const same = await runEval(fakeBackend(), { ...opts, tasks: TASKS });
  assert.deepEqual(same, first, "the stored results, throughput included");
  const other = await runEval(fakeBackend({ runIdentity: { model_sha256: "e".repeat(64) } }), {
    ...opts,
    tasks: TASKS,
  });
  assert.deepEqual(other.items, { evaluated: 6, reused: 0 });
  assert.equal(samples(outDir).length, 6, "the other model's samples replaced, never mixed");
});
