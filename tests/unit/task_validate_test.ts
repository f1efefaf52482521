/**
 * Task validation: every problem in a task file comes back as `file:line:col: field: what; what
 * to do` — malformed YAML, unknown keys (with the closest), unknown metrics, wrong types, missing
 * fields, output types, `!function`, datasets.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { KNOWN_METRICS, parseTaskFile, TaskFileError } from "../../lib/eval/task/mod.ts";
import { errorOf, minimalTask, ROWS, taskDir } from "./_task_fixtures.ts";

// --- errors with positions --------------------------------------------------------------------

Deno.test("malformed YAML: the error has file:line:col from the parser", () => {
  const dir = taskDir({ "bad.yaml": 'task: bad\ndoc_to_text: "unclosed\nmetric_list: [\n' });
  const err = (() => {
    try {
      parseTaskFile(join(dir, "bad.yaml"));
    } catch (e) {
      return e;
    }
  })();
  ok(err instanceof TaskFileError);
  match(err.message, /bad\.yaml:\d+:\d+: invalid YAML \(.+\); fix the syntax at this position/);
  ok(err.issues[0].line >= 2);
});

Deno.test("unknown key: named, positioned, closest known key suggested", () => {
  const dir = taskDir({ "rows.jsonl": ROWS, "t.yaml": minimalTask("num_fewshots: 2\n") });
  const msg = errorOf(() => parseTaskFile(join(dir, "t.yaml")));
  match(msg, /t\.yaml:6:1: num_fewshots: unknown key "num_fewshots"; did you mean "num_fewshot"\?/);
});

Deno.test("unknown nested key (generation_kwargs) and unsupported lm-eval keys say what to do", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": minimalTask(
      "generation_kwargs:\n  untill: ['\\n']\n  num_beams: 10\nprocess_docs: x\n",
    ),
  });
  const msg = errorOf(() => parseTaskFile(join(dir, "t.yaml")));
  match(
    msg,
    /t\.yaml:7:3: generation_kwargs\.untill: unknown key "untill"; did you mean "until"\?/,
  );
  match(msg, /t\.yaml:8:3: generation_kwargs\.num_beams: num_beams is not supported: beam search/);
  match(
    msg,
    /t\.yaml:9:15: process_docs: expected a Python hook, got string "x"; write process_docs: !function utils\.process_docs/,
  );
});

Deno.test("unknown metric: the message lists the known metrics", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": minimalTask("metric_list:\n  - metric: bleu\n"),
  });
  const msg = errorOf(() => parseTaskFile(join(dir, "t.yaml")));
  match(
    msg,
    /t\.yaml:7:13: metric_list\.0\.metric: unknown metric "bleu" \(did you mean "bleu4"\?\)/,
  );
  ok(msg.includes(`known metrics: ${KNOWN_METRICS.join(", ")}`));
});

Deno.test("a metric that does not fit the output type is rejected with the ones that do", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": minimalTask(
      "output_type: multiple_choice\ndoc_to_choice: ['3', '4']\nmetric_list:\n  - metric: em\n",
    ),
  });
  match(
    errorOf(() => parseTaskFile(join(dir, "t.yaml"))),
    /metric_list\.0\.metric: metric "em" does not apply to multiple_choice tasks; use one of exact_match, f1, acc, acc_norm, per_class_accuracy, macro_f1/,
  );
});

Deno.test("wrong types, missing fields, unknown output types, !function: one line each", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": [
      "dataset_path: ./rows.jsonl",
      "test_split: test",
      "num_fewshot: five",
      "output_type: loglikelihood_rolling",
      "doc_to_text: !function utils.doc_to_text",
      "doc_to_target: '{{a}}'",
    ].join("\n"),
    "u.yaml": minimalTask("output_type: generate_text\nnum_fewshot: -1\n"),
  });
  const withHook = errorOf(() => parseTaskFile(join(dir, "t.yaml")));
  ok(!/doc_to_text/.test(withHook), withHook); // a hook is fine there
  const dirF = taskDir({
    "rows.jsonl": ROWS,
    "f.yaml": minimalTask("metric_list:\n  - metric: !function bleu.smoothed_bleu_4\n"),
  });
  match(
    errorOf(() => parseTaskFile(join(dirF, "f.yaml"))),
    /f\.yaml:7:\d+: metric_list\.0\.metric: !function bleu\.smoothed_bleu_4 is not supported here; tunebook runs Python hooks for doc_to_text, doc_to_target, doc_to_choice, process_docs, process_results/,
  );
  const msg = errorOf(() => parseTaskFile(join(dir, "u.yaml")));
  match(
    msg,
    /u\.yaml:6:14: output_type: unknown output type "generate_text"; use one of multiple_choice, generate_until, loglikelihood, loglikelihood_rolling/,
  );
  match(msg, /u\.yaml:7:14: num_fewshot: expected an integer >= 0, got number -1/);
  const dir2 = taskDir({
    "rows.jsonl": ROWS,
    "v.yaml":
      "dataset_path: ./rows.jsonl\ntest_split: test\nnum_fewshot: five\noutput_type: loglikelyhood\n",
  });
  const msg2 = errorOf(() => parseTaskFile(join(dir2, "v.yaml")));
  match(msg2, /v\.yaml:1:1: task: required field is missing; add e\.g\. task: my_task/);
  match(msg2, /v\.yaml:1:1: doc_to_text: required field is missing/);
  match(msg2, /v\.yaml:3:14: num_fewshot: expected an integer >= 0, got string "five"/);
  match(
    msg2,
    /v\.yaml:4:14: output_type: unknown output type "loglikelyhood"; use one of multiple_choice, generate_until, loglikelihood, loglikelihood_rolling/,
  );
});

// --- lm-eval's output types, metric options and filters ----------------------------------------

Deno.test("loglikelihood and loglikelihood_rolling load with lm-eval's default metrics", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "ll.yaml": minimalTask("output_type: loglikelihood\n"),
    "roll.yaml": minimalTask("output_type: loglikelihood_rolling\n").replace(
      "task: tiny",
      "task: roll",
    ),
    "bad.yaml": minimalTask(
      "output_type: loglikelihood_rolling\nmetric_list:\n  - metric: acc\n  - metric: bits_per_byte\n" +
        "    aggregation: bits_per_byte\n  - metric: word_perplexity\n    aggregation: mean\n",
    ).replace("task: tiny", "task: bad"),
  });
  const ll = parseTaskFile(join(dir, "ll.yaml"));
  deepStrictEqual(ll.metrics.map((m) => [m.metric, m.aggregation, m.higherIsBetter]), [
    ["perplexity", "corpus", false],
    ["acc", "mean", true],
  ]);
  const roll = parseTaskFile(join(dir, "roll.yaml"));
  deepStrictEqual(roll.metrics.map((m) => m.metric), [
    "word_perplexity",
    "byte_perplexity",
    "bits_per_byte",
  ]);
  ok(roll.metrics.every((m) => !m.higherIsBetter));
  const msg = errorOf(() => parseTaskFile(join(dir, "bad.yaml")));
  match(msg, /metric_list\.0\.metric: metric "acc" does not apply to loglikelihood_rolling tasks/);
  match(msg, /metric_list\.2\.aggregation: "word_perplexity" is computed over the whole split/);
  ok(!msg.includes("metric_list.1"), "bits_per_byte's own aggregation is accepted");
});

Deno.test("exact_match options as lm-eval writes them; wrong ones are placed at their key", () => {
  const good = [
    "metric_list:",
    "  - metric: exact_match",
    "    aggregation: mean",
    "    higher_is_better: true",
    "    ignore_case: true",
    "    ignore_punctuation: false",
    "    regexes_to_ignore:",
    '      - ","',
    '      - "\\\\$"',
    '      - "(?s).*#### "',
  ].join("\n") + "\n";
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": minimalTask(good),
    "b.yaml": minimalTask(
      "metric_list:\n  - metric: exact_match\n    ignore_cases: true\n    ignore_numbers: yes\n" +
        "    regexes_to_ignore: ['(a']\n  - metric: f1\n    ignore_case: true\n",
    ).replace("task: tiny", "task: b"),
  });
  deepStrictEqual(parseTaskFile(join(dir, "t.yaml")).metrics[0].options, {
    ignore_case: true,
    ignore_punctuation: false,
    regexes_to_ignore: [",", "\\$", "(?s).*#### "],
  });
  const msg = errorOf(() => parseTaskFile(join(dir, "b.yaml")));
  match(
    msg,
    /b\.yaml:8:5: metric_list\.0\.ignore_cases: unknown key "ignore_cases"; did you mean "ignore_case"\?/,
  );
  match(msg, /metric_list\.0\.ignore_numbers: expected true or false, got string "yes"/);
  match(
    msg,
    /metric_list\.0\.regexes_to_ignore\.0: regular expression "\(a" at position \d+: missing \)/,
  );
  match(msg, /metric_list\.1\.ignore_case: unknown key "ignore_case"/);
});

Deno.test("filter_list and repeats load as lm-eval writes them; a broken step is placed at its key", () => {
  const gsm8k = [
    "repeats: 1",
    "filter_list:",
    '  - name: "strict-match"',
    "    filter:",
    '      - function: "regex"',
    '        regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"',
    '      - function: "take_first"',
    '  - name: "flexible-extract"',
    "    filter:",
    '      - function: "regex"',
    "        group_select: -1",
    '        regex_pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)"',
    '      - function: "take_first"',
  ].join("\n") + "\n";
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "g.yaml": minimalTask(gsm8k),
    "b.yaml": minimalTask(
      "filter_list:\n  - name: x\n    filter:\n      - function: regex\n        regex_patern: a\n" +
        "  - name: x\n    filter: [{function: take_first}]\n  - name: y\n    filter:\n" +
        "      - function: regex\n        regex_pattern: '(a'\n",
    ).replace("task: tiny", "task: b"),
    "mc.yaml": minimalTask(
      "output_type: multiple_choice\ndoc_to_choice: ['3', '4']\nfilter_list:\n  - name: x\n" +
        "    filter: [{function: take_first}]\n",
    ).replace("task: tiny", "task: mc"),
    "r.yaml": minimalTask(
      "repeats: 3\nfilter_list:\n  - name: x\n    filter: [{function: lowercase}]\n",
    ).replace("task: tiny", "task: r"),
  });
  const g = parseTaskFile(join(dir, "g.yaml"));
  equal(g.repeats, 1);
  deepStrictEqual(g.filters.map((f) => [f.name, f.steps.map((s) => s.function)]), [
    ["strict-match", ["regex", "take_first"]],
    ["flexible-extract", ["regex", "take_first"]],
  ]);
  deepStrictEqual(g.filters[1].steps[0].options, {
    group_select: -1,
    regex_pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)",
  });
  const msg = errorOf(() => parseTaskFile(join(dir, "b.yaml")));
  match(
    msg,
    /b\.yaml:10:9: filter_list\.0\.filter\.0\.regex_patern: filter regex has no option "regex_patern"/,
  );
  match(msg, /filter_list\.1\.name: pipeline name "x" is used twice/);
  match(msg, /filter_list\.2\.filter\.0\.regex_pattern: .*missing \)/);
  match(
    errorOf(() => parseTaskFile(join(dir, "mc.yaml"))),
    /filter_list: filters extract answers from generated text; multiple_choice tasks have none/,
  );
  match(
    errorOf(() => parseTaskFile(join(dir, "r.yaml"))),
    /filter_list\.0\.filter\.0: pipeline "x" leaves 3 responses per document; .*take_first/,
  );
});

Deno.test("output_type generate is accepted as generate_until; defaults are lm-eval's", () => {
  const dir = taskDir({ "rows.jsonl": ROWS, "t.yaml": minimalTask("output_type: generate\n") });
  const task = parseTaskFile(join(dir, "t.yaml"));
  equal(task.outputType, "generate_until");
  equal(task.targetDelimiter, " ");
  equal(task.fewshotDelimiter, "\n\n");
  equal(task.numFewshot, 0);
  equal(task.fewshotSeed, 1234);
  deepStrictEqual(task.generationKwargs.until, ["\n\n"]);
  deepStrictEqual(task.metrics.map((m) => m.metric), ["exact_match"]);
});

Deno.test("dataset_path: bare owner/name is the Hub, a missing local path is an error", () => {
  const dir = taskDir({
    "hub.yaml": minimalTask().replace("./rows.jsonl", "allenai/sciq"),
    "gone.yaml": minimalTask().replace("./rows.jsonl", "./missing"),
  });
  equal(parseTaskFile(join(dir, "hub.yaml")).dataset.source, "hf:allenai/sciq");
  match(
    errorOf(() => parseTaskFile(join(dir, "gone.yaml"))),
    /gone\.yaml:2:15: dataset_path: local dataset .*missing not found; paths are relative to/,
  );
});
