/**
 * Resuming an eval run checks its whole identity (issue 10, "Eval runs"): a folder holding a run
 * that differs in the model, an adapter or its scale, a task's data, config, version or
 * generation settings, the limit, the few-shot count, the backend or the scorer is refused with
 * a message naming each difference and what to do — and its samples are left as they were. The
 * identity is on disk from the first item, so a run killed early is checked too. No model: a
 * deterministic fake backend answers.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EvalOptions, runEval, type Sample } from "../../lib/eval/runner.ts";
import { fakeBackend, type FakeBackendOptions, FakeCrash } from "./_fake_backend.ts";

/** A tasks folder with a generation task (`gen`) and a multiple-choice task (`mc`), 6 rows each. */
function tasksDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-identity-tasks-"));
  mkdirSync(join(dir, "gen"));
  mkdirSync(join(dir, "mc"));
  const gen = Array.from(
    { length: 6 },
    (_, i) => ({ id: `g${i}`, q: `What is ${i} plus 1?`, a: `${i + 1}` }),
  );
  const mc = Array.from(
    { length: 6 },
    (_, i) => ({ id: `m${i}`, q: `Pick ${i}`, c: ["x", `${i}`, "yy"], g: 1 }),
  );
  for (const split of ["test", "train"]) {
    writeFileSync(
      join(dir, "gen", `${split}.jsonl`),
      gen.map((r) => JSON.stringify(r) + "\n").join(""),
    );
    writeFileSync(
      join(dir, "mc", `${split}.jsonl`),
      mc.map((r) => JSON.stringify(r) + "\n").join(""),
    );
  }
  writeFileSync(join(dir, "gen.yaml"), genYaml());
  writeFileSync(
    join(dir, "mc.yaml"),
    [
      "task: mc",
      "dataset_path: mc",
      "output_type: multiple_choice",
      "training_split: train",
      "test_split: test",
      'doc_to_text: "Q: {{q}}\\nA:"',
      'doc_to_choice: "{{c}}"',
      "doc_to_target: g",
      "metadata:",
      "  version: 1",
    ].join("\n") + "\n",
  );
  return dir;
}

function genYaml(overrides: { maxGenToks?: number; version?: number; text?: string } = {}): string {
  return [
    "task: gen",
    "dataset_path: gen",
    "output_type: generate_until",
    "training_split: train",
    "test_split: test",
    `doc_to_text: "${overrides.text ?? "Q: {{q}}\\nA:"}"`,
    'doc_to_target: "{{a}}"',
    "generation_kwargs:",
    '  until: ["\\n"]',
    `  max_gen_toks: ${overrides.maxGenToks ?? 8}`,
    "metadata:",
    `  version: ${overrides.version ?? 1}`,
  ].join("\n") + "\n";
}

function samples(dir: string): Sample[] {
  const text = readFileSync(join(dir, "samples.jsonl"), "utf8");
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

interface Fixture {
  tasksDir: string;
  outDir: string;
  run: (opts?: Partial<EvalOptions>, backend?: FakeBackendOptions) => ReturnType<typeof runEval>;
}

function fixture(): Fixture {
  const dir = tasksDir();
  const outDir = mkdtempSync(join(tmpdir(), "tunebook-identity-run-"));
  return {
    tasksDir: dir,
    outDir,
    run: (opts = {}, backend = {}) =>
      runEval(fakeBackend(backend), {
        tasks: ["gen", "mc"],
        tasksDir: dir,
        outDir,
        progress: false,
        onNote: () => {},
        ...opts,
      }),
  };
}

/**
 * A first run, then a second one that differs: the second is refused with a message naming
 * `field` and both ways out, and the folder's samples are exactly the first run's.
 */
async function assertRefused(
  change: (f: Fixture) => ReturnType<typeof runEval>,
  field: RegExp,
  first: Partial<EvalOptions> = {},
): Promise<void> {
  const f = fixture();
  await f.run(first);
  const before = readFileSync(join(f.outDir, "samples.jsonl"), "utf8");
  await assert.rejects(change(f), (e: Error) => {
    assert.match(e.message, /holds another run; reusing its samples would mix the two/);
    assert.match(e.message, field);
    assert.match(e.message, /--run NEW/);
    assert.match(e.message, /--no-resume/);
    return true;
  });
  assert.equal(readFileSync(join(f.outDir, "samples.jsonl"), "utf8"), before, "samples untouched");
}

Deno.test("resume refuses a run with a LoRA adapter added (the base model's samples are not reused)", async () => {
  await assertRefused(
    (f) => f.run({}, { runIdentity: { adapters: [{ sha256: "a".repeat(64), scale: 1 }] } }),
    /backend\.adapters: \[\] → \[\{"sha256":"aaaaaaaaaaaa…","scale":1\}\]/,
  );
});

Deno.test("resume refuses a run whose adapter has another scale", async () => {
  const adapter = (scale: number) => ({
    runIdentity: { adapters: [{ sha256: "a".repeat(64), scale }] },
  });
  const f = fixture();
  await f.run({}, adapter(1));
  await assert.rejects(f.run({}, adapter(0.5)), /backend\.adapters\.0\.scale: 1 → 0\.5/);
});

Deno.test("resume refuses a run whose adapter file changed (same name and scale, other bytes)", async () => {
  const adapter = (c: string) => ({
    runIdentity: { adapters: [{ sha256: c.repeat(64), scale: 1 }] },
  });
  const f = fixture();
  await f.run({}, adapter("a"));
  await assert.rejects(
    f.run({}, adapter("b")),
    /backend\.adapters\.0\.sha256: "aaaaaaaaaaaa…" → "bbbbbbbbbbbb…"/,
  );
});

Deno.test("resume refuses another model file", async () => {
  await assertRefused(
    (f) => f.run({}, { runIdentity: { model_sha256: "e".repeat(64) } }),
    /backend\.model_sha256: "ffffffffffff…" → "eeeeeeeeeeee…"/,
  );
});

Deno.test("resume refuses another scorer or backend", async () => {
  await assertRefused(
    (f) => f.run({}, { runIdentity: { scorer: "sequences" } }),
    /backend\.scorer: \(absent\) → "sequences"/,
  );
  await assertRefused(
    (f) => f.run({}, { runIdentity: { backend: "other" } }),
    /backend\.backend: "fake" → "other"/,
  );
});

Deno.test("the identity is on disk from the first item: a run killed early, rerun with --num-fewshot 2, is refused, not mixed", async () => {
  const f = fixture();
  await assert.rejects(f.run({}, { failAfter: 3, concurrency: 1 }), FakeCrash);
  assert.ok(existsSync(join(f.outDir, "run.json")), "run.json written when the run started");
  assert.equal(samples(f.outDir).length, 3);
  await assert.rejects(
    f.run({ numFewshot: 2 }),
    /tasks\.gen\.num_fewshot: 0 → 2[\s\S]*num_fewshot: null → 2[\s\S]*--no-resume/,
  );
  assert.equal(samples(f.outDir).length, 3, "no two-shot sample joined the zero-shot ones");
  // The same run resumes: the 3 items are reused, the other 9 evaluated once.
  const done = await f.run();
  assert.deepEqual(done.items, { evaluated: 9, reused: 3 });
  assert.equal(samples(f.outDir).length, 12);
});

Deno.test("resume refuses a task whose data changed", async () => {
  await assertRefused((f) => {
    const file = join(f.tasksDir, "gen", "test.jsonl");
    writeFileSync(file, readFileSync(file, "utf8").replace('"a":"3"', '"a":"three"'));
    return f.run();
  }, /tasks\.gen\.data_sha256: "[0-9a-f]{12}…" → "[0-9a-f]{12}…"/);
});

Deno.test("resume refuses a task whose template changed", async () => {
  await assertRefused((f) => {
    writeFileSync(join(f.tasksDir, "gen.yaml"), genYaml({ text: "Question: {{q}}\\nAnswer:" }));
    return f.run();
  }, /tasks\.gen\.config_sha256:[\s\S]*tasks\.gen\.data_sha256:/);
});

Deno.test("resume refuses a task of another version", async () => {
  await assertRefused((f) => {
    writeFileSync(join(f.tasksDir, "gen.yaml"), genYaml({ version: 2 }));
    return f.run();
  }, /tasks\.gen\.version: 1 → 2/);
});

Deno.test("resume refuses other generation settings", async () => {
  await assertRefused((f) => {
    writeFileSync(join(f.tasksDir, "gen.yaml"), genYaml({ maxGenToks: 32 }));
    return f.run();
  }, /tasks\.gen\.generation\.max_gen_toks: 8 → 32/);
});

Deno.test("resume refuses another limit", async () => {
  await assertRefused((f) => f.run({ limit: 4 }), /limit: 2 → 4/, { limit: 2 });
});

Deno.test("resume refuses another task list", async () => {
  await assertRefused(
    (f) => f.run({ tasks: ["gen"] }),
    /tasks\.mc: \{"name":"mc",…\} → \(absent\)/,
  );
});

Deno.test("resume refuses another overflow setting (skipped items would not be truncated)", async () => {
  await assertRefused((f) => f.run({ overflow: "skip" }), /overflow: "truncate" → "skip"/);
});

Deno.test("resume refuses another few-shot count", async () => {
  await assertRefused((f) => f.run({ numFewshot: 1 }), /tasks\.gen\.num_fewshot: 0 → 1/);
});

Deno.test("--no-resume starts a named folder over with the new identity", async () => {
  const f = fixture();
  await f.run();
  const results = await f.run({ numFewshot: 1, resume: false });
  assert.deepEqual(results.items, { evaluated: 12, reused: 0 });
  const lines = samples(f.outDir);
  assert.equal(lines.length, 12, "the earlier run's samples are gone, each item once");
  assert.ok(
    lines.every((s) => s.task !== "gen" || s.prompt.split("Q:").length === 3),
    "1-shot prompts",
  );
  const stored = JSON.parse(readFileSync(join(f.outDir, "run.json"), "utf8"));
  assert.equal(stored.identity.num_fewshot, 1);
});

Deno.test("a folder with results but no run.json (an older tunebook) is not resumed", async () => {
  const f = fixture();
  await f.run();
  Deno.removeSync(join(f.outDir, "run.json"));
  await assert.rejects(f.run(), /without a run identity[\s\S]*--run NEW[\s\S]*--no-resume/);
});

Deno.test("a fully resumed run reuses every item and evaluates none", async () => {
  const f = fixture();
  await f.run();
  const again = await f.run();
  assert.deepEqual(again.items, { evaluated: 0, reused: 12 });
  assert.equal(samples(f.outDir).length, 12);
});

Deno.test("a last samples line cut before its newline is kept, and the next item starts a line of its own", async () => {
  const f = fixture();
  await assert.rejects(f.run({}, { failAfter: 5, concurrency: 1 }), FakeCrash);
  const path = join(f.outDir, "samples.jsonl");
  const text = readFileSync(path, "utf8");
  writeFileSync(path, text.slice(0, -1)); // the kill came between the line and its "\n"
  const done = await f.run();
  assert.deepEqual(done.items, { evaluated: 7, reused: 5 });
  const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
  assert.equal(lines.length, 12);
  for (const l of lines) JSON.parse(l); // every line whole
});
