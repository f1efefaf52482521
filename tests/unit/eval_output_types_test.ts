/**
 * The runner on lm-evaluation-harness's output types and filters, with a model-free backend
 * whose log-likelihoods are known (minus the text's length in characters), so every reported
 * value can be computed by hand: `loglikelihood` (the continuation scored as written, `acc` =
 * greedy, `perplexity`), `loglikelihood_rolling` (only the document scored; word/byte
 * perplexities and bits per byte with lm-eval's counts), `acc_norm` and the other extra metrics
 * only when `metric_list` asks, multiple choice `exact_match`, and `filter_list` pipelines
 * reported as `<metric>,<pipeline>` in results.json, samples.jsonl and the console table.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../../lib/eval/backend.ts";
import { type EvalResults, runEval, type Sample } from "../../lib/eval/runner.ts";
import { formatResultsTable } from "../../lib/eval/table.ts";
import { fakeBackend } from "./_fake_backend.ts";

/** A tasks folder: `<name>.yaml` plus its rows in `<name>/test.jsonl`. */
function tasks(defs: Record<string, { yaml: string[]; rows: Record<string, unknown>[] }>): string {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-output-types-"));
  for (const [name, { yaml, rows }] of Object.entries(defs)) {
    mkdirSync(join(dir, name));
    writeFileSync(
      join(dir, name, "test.jsonl"),
      rows.map((r) => JSON.stringify(r) + "\n").join(""),
    );
    writeFileSync(
      join(dir, `${name}.yaml`),
      [`task: ${name}`, `dataset_path: ${name}`, "test_split: test", ...yaml].join("\n") + "\n",
    );
  }
  return dir;
}

/** The fake backend, recording what it was asked to score and generating what a row says. */
function recordingBackend(): Backend & { calls: unknown[][] } {
  const base = fakeBackend({ concurrency: 1 });
  const calls: unknown[][] = [];
  return {
    ...base,
    calls,
    scoreChoices: (context, choices, options) => {
      calls.push(["choices", context, choices, options]);
      return base.scoreChoices!(context, choices, options);
    },
    scoreRolling: (text) => {
      calls.push(["rolling", text]);
      return base.scoreRolling!(text);
    },
    // The generation is whatever follows "OUT:" in the prompt.
    generate: (prompt) =>
      Promise.resolve({
        text: prompt.split("OUT:")[1] ?? "",
        tokens: 1,
        promptTokens: 1,
        stoppedBy: "stop" as const,
        truncatedTokens: 0,
      }),
  };
}

async function run(dir: string, names: string[], backend: Backend): Promise<{
  results: EvalResults;
  samples: Sample[];
}> {
  const outDir = mkdtempSync(join(tmpdir(), "tunebook-output-types-run-"));
  const results = await runEval(backend, {
    tasks: names,
    tasksDir: dir,
    outDir,
    progress: false,
    onNote: () => {},
  });
  const samples = readFileSync(join(outDir, "samples.jsonl"), "utf8").trim().split("\n")
    .map((l) => JSON.parse(l) as Sample);
  return { results, samples };
}

function close(actual: number, expected: number, label: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), label);
}

Deno.test("loglikelihood: doc_to_target scored as written after the prompt; acc is greedy, perplexity exp(-mean)", async () => {
  const dir = tasks({
    arith: {
      yaml: [
        "output_type: loglikelihood",
        'doc_to_text: "{{context}}"',
        'doc_to_target: "{{completion}}"',
      ],
      rows: [
        { id: "a", context: "Question: What is 7 plus 5?\nAnswer:", completion: " 12" },
        { id: "b", context: "Question: What is 2 plus 2?\nAnswer:", completion: " 4" },
      ],
    },
  });
  const backend = recordingBackend();
  const { results, samples } = await run(dir, ["arith"], backend);
  // No target_delimiter put in between (lm-eval's loglikelihood requests).
  assert.deepEqual(backend.calls[0].slice(1, 3), ["Question: What is 7 plus 5?\nAnswer:", [" 12"]]);
  const t = results.tasks.arith;
  assert.equal(t.outputType, "loglikelihood");
  assert.deepEqual(Object.keys(t.metrics), ["perplexity", "acc"]);
  close(t.metrics.perplexity.value, Math.exp((3 + 2) / 2), "perplexity");
  assert.equal(t.metrics.acc.value, 1);
  assert.equal(samples[0].loglikelihood, -3);
  assert.deepEqual(samples[0].is_greedy, [true]);
  assert.deepEqual(samples[0].metrics, { acc: 1 });
});

Deno.test("loglikelihood_rolling: only the document is scored; lm-eval's word and byte perplexities", async () => {
  const pages = [" = Valkyria = \n", "café  noir", "x"];
  const dir = tasks({
    wiki: {
      yaml: [
        "output_type: loglikelihood_rolling",
        'description: "ignored "',
        'doc_to_text: "ignored too"',
        'doc_to_target: "{{page}}"',
      ],
      rows: pages.map((page, i) => ({ id: `p${i}`, page })),
    },
  });
  const backend = recordingBackend();
  const { results, samples } = await run(dir, ["wiki"], backend);
  assert.deepEqual(backend.calls.map((c) => c.slice(0, 2)), pages.map((p) => ["rolling", p]));
  // ll = -chars; words = len(re.split(r"\s+", page)); bytes = UTF-8 bytes.
  const ll = pages.reduce((a, p) => a + p.length, 0); // 15 + 10 + 1 = 26
  const words = 5 + 2 + 1;
  const bytes = 15 + 11 + 1;
  const t = results.tasks.wiki;
  assert.deepEqual(Object.keys(t.metrics), ["word_perplexity", "byte_perplexity", "bits_per_byte"]);
  close(t.metrics.word_perplexity.value, Math.exp(ll / words), "word_perplexity");
  close(t.metrics.byte_perplexity.value, Math.exp(ll / bytes), "byte_perplexity");
  close(t.metrics.bits_per_byte.value, ll / bytes / Math.LN2, "bits_per_byte");
  assert.equal(t.metrics.word_perplexity.n, 3);
  assert.deepEqual(
    samples.map((s) => [s.prompt, s.loglikelihood, s.words, s.bytes]),
    [["", -15, 5, 15], ["", -10, 2, 11], ["", -1, 1, 1]],
  );
});

Deno.test("multiple choice: acc_norm only when metric_list asks; exact_match is the gold choice being greedy", async () => {
  const rows = [
    { id: "a", q: "short?", c: ["xx", "y", "zzz"], g: 1 }, // shortest = gold
    { id: "b", q: "long?", c: ["xx", "y", "zzz"], g: 2 },
  ];
  const mc = (metrics: string[]) => ({
    yaml: [
      "output_type: multiple_choice",
      'doc_to_text: "{{q}}"',
      'doc_to_choice: "{{c}}"',
      "doc_to_target: g",
      "metric_list:",
      ...metrics.map((m) => `  - metric: ${m}`),
    ],
    rows,
  });
  const dir = tasks({ only_acc: mc(["acc"]), with_em: mc(["acc", "acc_norm", "exact_match"]) });
  const { results, samples } = await run(dir, ["only_acc", "with_em"], recordingBackend());
  assert.deepEqual(Object.keys(results.tasks.only_acc.metrics), ["acc"]);
  assert.deepEqual(samples.find((s) => s.task === "only_acc")!.metrics, { acc: 1 });
  const withEm = results.tasks.with_em.metrics;
  assert.deepEqual(Object.keys(withEm), ["acc", "acc_norm", "exact_match"]);
  assert.equal(withEm.exact_match.value, 0.5);
  assert.match(formatResultsTable(results), /only_acc +acc /);
  assert.doesNotMatch(formatResultsTable(results), /only_acc +acc_norm/);
});

Deno.test("filter_list: each pipeline's metrics as <metric>,<name> in results, samples and the table", async () => {
  const dir = tasks({
    gsm: {
      yaml: [
        'doc_to_text: "{{q}} OUT:{{out}}"',
        'doc_to_target: "{{a}}"',
        "filter_list:",
        "  - name: strict-match",
        "    filter:",
        "      - function: regex",
        '        regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"',
        "      - function: take_first",
        "  - name: flexible-extract",
        "    filter:",
        "      - function: regex",
        "        group_select: -1",
        '        regex_pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)"',
        "      - function: take_first",
        "metric_list:",
        "  - metric: exact_match",
        "    ignore_case: true",
        '    regexes_to_ignore: [",", "\\\\$", "(?s).*#### ", "\\\\.$"]',
        "  - metric: f1",
      ],
      rows: [
        { id: "a", q: "one", out: " 3 + 4 = 7\n#### 7", a: "7" },
        { id: "b", q: "two", out: " so it is 1,000.", a: "1000" },
        { id: "c", q: "three", out: " no idea", a: "5" },
      ],
    },
  });
  const { results, samples } = await run(dir, ["gsm"], recordingBackend());
  const m = results.tasks.gsm.metrics;
  assert.deepEqual(Object.keys(m), [
    "exact_match,strict-match",
    "f1,strict-match",
    "exact_match,flexible-extract",
    "f1,flexible-extract",
  ]);
  close(m["exact_match,strict-match"].value, 1 / 3, "strict-match");
  close(m["exact_match,flexible-extract"].value, 2 / 3, "flexible-extract");
  const b = samples.find((s) => s.doc_id === "b")!;
  assert.equal(b.prediction, " so it is 1,000.");
  assert.deepEqual(b.filtered, { "strict-match": "[invalid]", "flexible-extract": "1,000." });
  assert.deepEqual(b.metrics, {
    "exact_match,strict-match": 0,
    "f1,strict-match": 0,
    "exact_match,flexible-extract": 1,
    "f1,flexible-extract": 1, // SQuAD's F1 drops the punctuation
  });
  assert.match(formatResultsTable(results), /gsm +exact_match,flexible-extract +0\.6667/);
});

Deno.test("a backend without log-likelihoods refuses loglikelihood and rolling tasks before any request", async () => {
  const dir = tasks({
    ll: {
      yaml: ["output_type: loglikelihood", 'doc_to_text: "{{q}}"', 'doc_to_target: "{{a}}"'],
      rows: [{ q: "x", a: "y" }],
    },
    roll: {
      yaml: ["output_type: loglikelihood_rolling", 'doc_to_text: ""', 'doc_to_target: "{{a}}"'],
      rows: [{ a: "y" }],
    },
  });
  const { scoreChoices: _s, scoreRolling: _r, ...generationOnly } = fakeBackend();
  await assert.rejects(
    runEval(generationOnly, { tasks: ["ll", "roll"], tasksDir: dir, progress: false }),
    /ll \(loglikelihood\), roll \(loglikelihood_rolling\): loglikelihood, loglikelihood_rolling scoring needs log-probabilities/,
  );
  assert.equal(generationOnly.answered(), 0);
});
