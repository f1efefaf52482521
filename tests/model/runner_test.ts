/**
 * The eval runner on the tiny model: results and samples files, items too long for the context
 * window skipped and counted, rows missing fields reported by number, and resuming after an
 * interruption without re-evaluating or losing items.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createLlamaBackend } from "../../lib/eval/backend.ts";
import { type EvalResults, runEval, type Sample } from "../../lib/eval/runner.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

const backend = await createLlamaBackend(TINY_GGUF, {
  sequences: 4,
  threads: TEST_THREADS,
  gpu: false,
});
// Released once every test in this file has run (a hook, not a test of its own).
Deno.test.afterAll(() => backend.dispose());

function samples(dir: string): Sample[] {
  return readFileSync(join(dir, "samples.jsonl"), "utf8").trim().split("\n").map((l) =>
    JSON.parse(l)
  );
}

function tasksDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-tasks-"));
  const rows = [
    { id: "a", question: "What is the capital of Nisel?", answer: "Volesa" },
    { id: "b", question: "What is 2 plus 2?", answer: "4" },
    { id: "c", question: "word ".repeat(700), answer: "x" },
    { id: "d", answer: "no question field" },
  ];
  mkdirSync(join(dir, "data"));
  writeFileSync(
    join(dir, "data", "test.jsonl"),
    rows.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  writeFileSync(
    join(dir, "mini.yaml"),
    [
      "task: mini",
      "dataset_path: data",
      "test_split: test",
      "output_type: generate_until",
      'doc_to_text: "Question: {{question}}\\nAnswer:"',
      'doc_to_target: "{{answer}}"',
      "generation_kwargs:",
      '  until: ["\\n"]',
      "  max_gen_toks: 8",
      "metric_list:",
      "  - metric: exact_match",
      "  - metric: f1",
    ].join("\n") + "\n",
  );
  return dir;
}

Deno.test("runEval writes results and samples; too-long items are skipped and counted; bad rows reported", async () => {
  const out = mkdtempSync(join(tmpdir(), "tunebook-run-"));
  const results = await runEval(backend, {
    tasks: ["mini"],
    tasksDir: tasksDir(),
    outDir: out,
    progress: false,
  });
  const mini = results.tasks.mini;
  assert.equal(mini.n, 2);
  assert.deepEqual(mini.skipped, { too_long: 1 });
  assert.equal(mini.rowErrors.length, 1);
  assert.equal(mini.rowErrors[0].row, 4);
  assert.equal(mini.rowErrors[0].field, "doc_to_text");
  assert.match(
    mini.rowErrors[0].message,
    /test\.jsonl:4: task mini: doc_to_text reads column "question"/,
  );
  assert.ok(mini.metrics.exact_match && mini.metrics.f1);
  const onDisk: EvalResults = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  assert.equal(onDisk.complete, true);
  assert.equal(onDisk.model.sha256, backend.identity.sha256);
  const lines = samples(out);
  assert.equal(lines.length, 3);
  assert.equal(lines.find((s) => s.doc_id === "c")?.skipped, "too_long");
});

Deno.test("runEval resumes: an interrupted run loses nothing and re-evaluates nothing", async () => {
  const out = mkdtempSync(join(tmpdir(), "tunebook-resume-"));
  const opts = {
    tasks: ["synth_facts", "synth_arithmetic"],
    outDir: out,
    progress: false,
    limit: 10,
  };
  await runEval(backend, opts);
  // Simulate a crash mid-write: 12 complete lines, then a cut-off one.
  const text = readFileSync(join(out, "samples.jsonl"), "utf8").split("\n").slice(0, 12);
  writeFileSync(
    join(out, "samples.jsonl"),
    text.join("\n") + '\n{"task":"synth_facts","doc_id":"facts-9","pro',
  );
  const full = await runEval(backend, opts);
  assert.deepEqual(full.items, { evaluated: 8, reused: 12 });
  const after = samples(out);
  assert.equal(after.length, 20, "each item once");
  assert.equal(new Set(after.map((s) => `${s.task}/${s.doc_id}`)).size, 20);
  assert.equal(full.tasks.synth_facts.n, 10);
  // Same model, same items: a fresh run gives the same per-item results.
  const fresh = await runEval(backend, {
    ...opts,
    outDir: mkdtempSync(join(tmpdir(), "tunebook-fresh-")),
  });
  assert.deepEqual(
    fresh.tasks.synth_facts.metrics.acc.value,
    full.tasks.synth_facts.metrics.acc.value,
  );
});

Deno.test("runEval refuses to resume a folder made by another model or config", async () => {
  const out = mkdtempSync(join(tmpdir(), "tunebook-other-"));
  await runEval(backend, { tasks: ["synth_facts"], limit: 2, outDir: out, progress: false });
  await assert.rejects(
    runEval(backend, {
      tasks: ["synth_facts"],
      limit: 2,
      outDir: out,
      numFewshot: 2,
      progress: false,
    }),
    /holds another run[\s\S]*num_fewshot: null → 2[\s\S]*--no-resume/,
  );
});

Deno.test("a tag in tasks runs each of its tasks, recorded by name", async () => {
  const dir = tasksDir();
  for (const name of ["pair_b", "pair_a"]) {
    writeFileSync(join(dir, `${name}.yaml`), `include: mini.yaml\ntask: ${name}\ntag: pair\n`);
  }
  const results = await runEval(backend, {
    tasks: ["pair", "mini"],
    tasksDir: dir,
    limit: 1,
    outDir: mkdtempSync(join(tmpdir(), "tunebook-tag-")),
    progress: false,
  });
  assert.deepEqual(results.config.tasks, ["pair_a", "pair_b", "mini"]);
  assert.deepEqual(Object.keys(results.tasks), ["pair_a", "pair_b", "mini"]);
  assert.equal(results.tasks.pair_a.n, 1);
});

Deno.test("unknown task names list the known ones", async () => {
  await assert.rejects(
    runEval(backend, { tasks: ["no_such_task"], progress: false }),
    /no_such_task[\s\S]*synth_facts/,
  );
});

Deno.test("deno task eval prints a table and writes results", async () => {
  const run = `test-cli-${crypto.randomUUID().slice(0, 8)}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/eval.ts",
      "--model",
      TINY_GGUF,
      "--tasks",
      "synth_facts",
      "--limit",
      "5",
      "--run",
      run,
      "--threads",
      "2",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /synth_facts\s+acc\s+/);
  const results = JSON.parse(readFileSync(join("results/eval", run, "results.json"), "utf8"));
  assert.equal(results.tasks.synth_facts.n, 5);
  Deno.removeSync(join("results/eval", run), { recursive: true });
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/eval.ts", "--model", "nope.gguf"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(bad.success, false);
  assert.match(new TextDecoder().decode(bad.stderr), /nope\.gguf: model file not found/);
});
