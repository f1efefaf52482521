/**
 * The eval runner on the tiny model: results and samples files, prompts too long for the context
 * window cut from the left and counted (or, with overflow "skip", skipped and counted), rows
 * missing fields reported by number, lm-eval's loglikelihood and loglikelihood_rolling types
 * end to end, and resuming after an interruption without re-evaluating or losing items.
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

Deno.test("runEval writes results and samples; too-long prompts are cut from the left and counted; bad rows reported", async () => {
  const out = mkdtempSync(join(tmpdir(), "tunebook-run-"));
  const dir = tasksDir();
  const results = await runEval(backend, {
    tasks: ["mini"],
    tasksDir: dir,
    outDir: out,
    progress: false,
  });
  const mini = results.tasks.mini;
  assert.equal(mini.n, 3);
  assert.deepEqual(mini.skipped, {});
  assert.equal(mini.truncated, 1);
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
  // lm-eval's generate_until keeps the last (max_length - max_gen_toks) prompt tokens; max_length
  // is the window less the cell node-llama-cpp keeps free.
  const c = lines.find((s) => s.doc_id === "c")!;
  assert.equal(c.skipped, undefined);
  assert.equal(c.truncated, c.prompt_tokens - (Number(backend.identity.contextSize) - 1 - 8));
  assert.equal(lines.filter((s) => s.truncated).length, 1);

  // Skipping is still there: the same item is then skipped and counted as before.
  const skipped = await runEval(backend, {
    tasks: ["mini"],
    tasksDir: dir,
    outDir: mkdtempSync(join(tmpdir(), "tunebook-run-skip-")),
    progress: false,
    overflow: "skip",
  });
  assert.equal(skipped.tasks.mini.n, 2);
  assert.deepEqual(skipped.tasks.mini.skipped, { too_long: 1 });
  assert.equal(skipped.tasks.mini.truncated, 0);
});

Deno.test("multiple choice and loglikelihood prompts longer than the window are cut, the answer kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-long-"));
  mkdirSync(join(dir, "data"));
  const long = "Context: " + "Volesa is the capital of Nisel. ".repeat(90);
  const rows = [
    {
      id: "long",
      text: long + "\nQuestion: What is the capital of Nisel?\nAnswer:",
      c: ["Kinli", "Volesa"],
      g: 1,
    },
    {
      id: "short",
      text: "Question: What is the capital of Nisel?\nAnswer:",
      c: ["Kinli", "Volesa"],
      g: 1,
    },
  ];
  writeFileSync(
    join(dir, "data", "test.jsonl"),
    rows.map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  const base = ["dataset_path: data", "test_split: test", 'doc_to_text: "{{text}}"'];
  writeFileSync(
    join(dir, "mc.yaml"),
    [
      "task: mc",
      ...base,
      "output_type: multiple_choice",
      'doc_to_choice: "{{c}}"',
      "doc_to_target: g",
    ]
      .join("\n") + "\n",
  );
  writeFileSync(
    join(dir, "ll.yaml"),
    ["task: ll", ...base, "output_type: loglikelihood", 'doc_to_target: " {{c[g]}}"'].join("\n") +
      "\n",
  );
  const results = await runEval(backend, {
    tasks: ["mc", "ll"],
    tasksDir: dir,
    outDir: mkdtempSync(join(tmpdir(), "tunebook-long-run-")),
    progress: false,
  });
  for (const t of ["mc", "ll"]) {
    assert.equal(results.tasks[t].n, 2, t);
    assert.equal(results.tasks[t].truncated, 1, t);
    assert.deepEqual(results.tasks[t].skipped, {}, t);
  }
  // Defaults as lm-eval's: acc + acc_norm for multiple choice, perplexity + acc for loglikelihood.
  assert.deepEqual(Object.keys(results.tasks.mc.metrics), ["acc", "acc_norm"]);
  assert.deepEqual(Object.keys(results.tasks.ll.metrics), ["perplexity", "acc"]);
  assert.ok(results.tasks.ll.metrics.perplexity.value > 1);
});

Deno.test("loglikelihood_rolling on the tiny model: documents longer than the window take several windows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-rolling-"));
  mkdirSync(join(dir, "data"));
  const facts = readFileSync("data/synthetic/facts/test.jsonl", "utf8").trim().split("\n")
    .map((l) => JSON.parse(l).support as string);
  const pages = [facts.slice(0, 150).join(" "), facts[150], ""];
  writeFileSync(
    join(dir, "data", "test.jsonl"),
    pages.map((page, i) => JSON.stringify({ id: `p${i}`, page })).join("\n") + "\n",
  );
  writeFileSync(
    join(dir, "wiki.yaml"),
    [
      "task: wiki",
      "dataset_path: data",
      "test_split: test",
      "output_type: loglikelihood_rolling",
      'doc_to_text: ""',
      'doc_to_target: "{{page}}"',
    ].join("\n") + "\n",
  );
  const out = mkdtempSync(join(tmpdir(), "tunebook-rolling-run-"));
  const results = await runEval(backend, {
    tasks: ["wiki"],
    tasksDir: dir,
    outDir: out,
    progress: false,
  });
  const lines = samples(out);
  const window = Number(backend.identity.contextSize) - 1; // lm-eval's max_length here
  const long = lines.find((s) => s.doc_id === "p0")!;
  assert.ok(
    long.tokens! > window,
    `${long.tokens} tokens should exceed the ${window}-token window`,
  );
  assert.equal(long.windows, Math.ceil(long.tokens! / window));
  assert.equal(lines.find((s) => s.doc_id === "p1")!.windows, 1);
  assert.deepEqual(
    [
      lines.find((s) => s.doc_id === "p2")!.loglikelihood,
      lines.find((s) => s.doc_id === "p2")!.windows,
    ],
    [0, 0],
  );
  const ll = lines.reduce((a, s) => a + s.loglikelihood!, 0);
  const words = lines.reduce((a, s) => a + s.words!, 0);
  const bytes = lines.reduce((a, s) => a + s.bytes!, 0);
  const m = results.tasks.wiki.metrics;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  assert.ok(close(m.word_perplexity.value, Math.exp(-ll / words)), "word_perplexity");
  assert.ok(close(m.byte_perplexity.value, Math.exp(-ll / bytes)), "byte_perplexity");
  assert.ok(close(m.bits_per_byte.value, -ll / bytes / Math.LN2), "bits_per_byte");
  // A model trained on this kind of text is far better than uniform over its 2048 tokens.
  assert.ok(m.bits_per_byte.value < Math.log2(2048), `bits_per_byte ${m.bits_per_byte.value}`);
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
