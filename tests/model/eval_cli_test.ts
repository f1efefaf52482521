/**
 * `deno task eval` as a user runs it (issue 10, "Eval runs"): a named run resumed with a LoRA
 * adapter added is refused (it used to report the base model's samples as the adapter's), row
 * errors are printed per task with file:line, a task that scores no item fails the command with
 * its results kept, a fully resumed run says how many items it reused, and usage errors (a bad
 * --limit, --tasks, LoRA scale or run name) exit 2 before any model loads.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRandomLora } from "./_serve_lora.ts";
import { TINY_GGUF } from "./_tiny.ts";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function evalCli(...args: string[]): Promise<Ran> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/eval.ts", "--model", TINY_GGUF, "--threads", "1", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

function runName(): string {
  return `test-evalcli-${crypto.randomUUID().slice(0, 8)}`;
}

function cleanup(run: string): void {
  Deno.removeSync(join("results/eval", run), { recursive: true });
}

Deno.test("--run X, then --run X --lora a.gguf: refused, naming the adapter; the base samples stay", async () => {
  const run = runName();
  const lora = join(mkdtempSync(join(tmpdir(), "tunebook-lora-")), "a.gguf");
  await writeRandomLora(lora, { seed: 3 });
  const base = await evalCli("--run", run, "--tasks", "synth_facts", "--limit", "6");
  assert.equal(base.code, 0, base.stderr);
  const samples = readFileSync(join("results/eval", run, "samples.jsonl"), "utf8");
  const tuned = await evalCli(
    "--run",
    run,
    "--tasks",
    "synth_facts",
    "--limit",
    "6",
    "--lora",
    lora,
  );
  assert.equal(tuned.code, 1, tuned.stdout);
  assert.match(
    tuned.stderr,
    /holds another run[\s\S]*backend\.adapters: \[\] → \[\{"sha256":"[0-9a-f]{12}…","scale":1\}\][\s\S]*--run NEW[\s\S]*--no-resume/,
  );
  assert.doesNotMatch(tuned.stdout, /synth_facts\s+acc/, "no table of the base model's samples");
  assert.equal(readFileSync(join("results/eval", run, "samples.jsonl"), "utf8"), samples);
  cleanup(run);
});

Deno.test("row errors are printed per task with file:line; a fully resumed run says what it reused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-rows-"));
  mkdirSync(join(dir, "data"));
  const good = Array.from(
    { length: 4 },
    (_, i) => JSON.stringify({ q: `What is ${i} plus 1?`, a: `${i + 1}` }),
  );
  // line 5: a truncated JSON line; line 6: a row without the "q" the template reads
  writeFileSync(
    join(dir, "data", "test.jsonl"),
    [...good, '{"q":"What is 9 pl', '{"a":"1"}'].join("\n") + "\n",
  );
  writeFileSync(
    join(dir, "rows.yaml"),
    'task: rows\ndataset_path: data\ntest_split: test\ndoc_to_text: "Q: {{q}}\\nA:"\ndoc_to_target: "{{a}}"\n' +
      'generation_kwargs:\n  until: ["\\n"]\n  max_gen_toks: 4\n',
  );
  const run = runName();
  const first = await evalCli("--run", run, "--tasks", join(dir, "rows.yaml"));
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /rows: 2 rows could not be used \(not evaluated, not counted in n\):/);
  assert.match(first.stderr, /data\/test\.jsonl:5: not valid JSON/);
  assert.match(first.stderr, /data\/test\.jsonl:6: task rows: doc_to_text reads column "q"/);
  assert.match(first.stdout, /4 items evaluated: /);
  const again = await evalCli("--run", run, "--tasks", join(dir, "rows.yaml"));
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stdout,
    /reused all 4 items from results\/eval\/test-evalcli-\w+ .*nothing left to evaluate/,
  );
  assert.doesNotMatch(again.stdout, /0 items\/s/);
  cleanup(run);
});

Deno.test("a task that scores no item fails the command; its results are kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-norows-"));
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "data", "test.jsonl"), '{"a":"1"}\n{"a":"2"}\n');
  writeFileSync(
    join(dir, "none.yaml"),
    'task: none\ndataset_path: data\ntest_split: test\ndoc_to_text: "Q: {{q}}"\ndoc_to_target: "{{a}}"\n',
  );
  const run = runName();
  const r = await evalCli(
    "--run",
    run,
    "--tasks",
    `synth_facts,${join(dir, "none.yaml")}`,
    "--limit",
    "3",
  );
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /none: 2 rows could not be used/);
  assert.match(r.stderr, /eval: none scored no item .*results so far are in results\/eval\//);
  const results = JSON.parse(readFileSync(join("results/eval", run, "results.json"), "utf8"));
  assert.equal(results.tasks.synth_facts.n, 3, "the other task's results are kept");
  assert.equal(results.tasks.none.n, 0);
  cleanup(run);
});

Deno.test("usage errors exit 2 and name the problem: --limit 0, --tasks ',', a LoRA scale, --run outside results/eval; a missing LoRA is 'not found'", async () => {
  const cases: [string[], RegExp][] = [
    [["--limit", "0"], /--limit must be an integer ≥ 1, got "0"/],
    [["--tasks", ","], /--tasks must be a comma-separated list of one or more task names/],
    [["--lora", "a.gguf:abc"], /the scale "abc" is not a number/],
    [["--run", "../../escaped"], /run name "\.\.\/\.\.\/escaped": leads outside results\/eval/],
  ];
  for (const [args, message] of cases) {
    const r = await evalCli(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.ok(!existsSync("../escaped") && !existsSync("escaped"));
  const missing = await evalCli("--lora", "/nonexistent/a.gguf");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\/nonexistent\/a\.gguf: LoRA adapter not found/);
});
