/**
 * Where a task's rows come from, in the shapes lm-eval task files use: Hub ids (`owner/name`, a
 * bare canonical name) read offline from a local Hugging Face cache in the Hub's layout; the local
 * `json`/`csv`/`parquet`/`text` builders with `dataset_kwargs: {data_files: …}` (paths, lists,
 * globs, split mappings); TSV and CSV with quotes inside fields (MC-TACO's TSV); errors at the
 * task file's line.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadRows } from "../../lib/data/load.ts";
import { findTask, loadTaskDocs, parseTaskFile } from "../../lib/eval/task/mod.ts";
import { cacheParquetSplits, newHubCache, parquetBytes } from "./_hf_cache.ts";
import { errorOf, taskDir } from "./_task_fixtures.ts";

/** MC-TACO's dev file shape: tab-separated, no header, quotes inside fields, unbalanced ones too. */
const MC_TACO_TSV = [
  'He said "wait" and left.\tHow long did he wait?\t5 minutes\tyes\tEvent Duration',
  '"Go," she said, and he went.\tWhen did he go?\tright away\tyes\tEvent Ordering',
  "It's 6\" tall.\tHow tall is it?\t6 feet\tno\tStationarity",
].join("\n") + "\n";

const MC_TACO_TASK = [
  "task: mc_taco_local",
  "dataset_path: csv",
  "dataset_kwargs:",
  "  data_files:",
  "    validation: dev_3783.tsv",
  '  sep: "\\t"',
  "  quoting: 3",
  "  column_names: [sentence, question, answer, label, category]",
  "output_type: multiple_choice",
  "validation_split: validation",
  'doc_to_text: "{{sentence}}\\nQuestion: {{question}}\\nAnswer: {{answer}}\\nPlausible:"',
  "doc_to_target: label",
  'doc_to_choice: ["no", "yes"]',
].join("\n") + "\n";

Deno.test("a TSV with quotes inside fields reads as written (MC-TACO's dev file)", async () => {
  const dir = taskDir({ "dev_3783.tsv": MC_TACO_TSV, "mc_taco.yaml": MC_TACO_TASK });
  const { docs, errors } = await loadTaskDocs(findTask(join(dir, "mc_taco.yaml")), "validation");
  assert.deepEqual(errors, []);
  assert.deepEqual(docs.map((d) => d.text.split("\n")[0]), [
    'He said "wait" and left.',
    '"Go," she said, and he went.',
    "It's 6\" tall.",
  ]);
  assert.deepEqual(docs.map((d) => d.gold), [1, 1, 0]);
  // and as a plain .tsv file, whose fields TSV never quotes
  const tsv = join(dir, "rows.tsv");
  writeFileSync(
    tsv,
    "sentence\tlabel\n" +
      MC_TACO_TSV.split("\n").map((l) => l.split("\t")[0] + "\tx").slice(0, 3).join("\n") + "\n",
  );
  assert.deepEqual((await loadRows(tsv)).rows.map((r) => r.sentence), [
    'He said "wait" and left.',
    '"Go," she said, and he went.',
    "It's 6\" tall.",
  ]);
});

Deno.test("a CSV keeps RFC 4180 quoting: commas and doubled quotes inside quoted fields", async () => {
  const dir = taskDir({
    "rows.csv": 'q,a\n"Say ""hi"", then go",1\nplain text with a "quote" inside,2\n',
  });
  assert.deepEqual((await loadRows(join(dir, "rows.csv"))).rows, [
    { q: 'Say "hi", then go', a: 1 },
    { q: 'plain text with a "quote" inside', a: 2 },
  ]);
});

Deno.test("the json builder: data_files as a split mapping, a list, a glob; the json field key", async () => {
  const dir = taskDir({
    "test.jsonl": '{"q": "a?", "a": "1"}\n{"q": "b?", "a": "2"}\n',
    "part-1.jsonl": '{"q": "c?", "a": "3"}\n',
    "part-2.jsonl": '{"q": "d?", "a": "4"}\n',
    "held.json": JSON.stringify({ version: 1, data: [{ q: "e?", a: "5" }] }),
    "map.yaml":
      "task: m\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: test.jsonl\ntest_split: test\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
    "list.yaml":
      "task: l\ndataset_path: json\ndataset_kwargs:\n  data_files: [part-1.jsonl, part-2.jsonl]\ntest_split: train\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
    "glob.yaml":
      "task: g\ndataset_path: json\ndataset_kwargs: {data_files: {validation: 'part-*.jsonl'}}\nvalidation_split: validation\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
    "field.yaml":
      "task: f\ndataset_path: json\ndataset_kwargs: {data_files: {test: held.json}, field: data}\ntest_split: test\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
  });
  const texts = async (file: string, split: "test" | "validation") =>
    (await loadTaskDocs(findTask(join(dir, file)), split)).docs.map((d) => d.text);
  assert.deepEqual(await texts("map.yaml", "test"), ["a?", "b?"]);
  assert.deepEqual(await texts("list.yaml", "test"), ["c?", "d?"]);
  assert.deepEqual(await texts("glob.yaml", "validation"), ["c?", "d?"]);
  assert.deepEqual(await texts("field.yaml", "test"), ["e?"]);
});

Deno.test("dataset_kwargs mistakes are reported at their line with what to do", () => {
  const dir = taskDir({
    "t.yaml": [
      "task: t",
      "dataset_path: json",
      "dataset_kwargs:",
      "  data_files:",
      "    test: missing.jsonl",
      "  streaming: true",
      "test_split: validation",
      "doc_to_text: '{{q}}'",
      "doc_to_target: '{{a}}'",
    ].join("\n") + "\n",
    "nofiles.yaml":
      "task: n\ndataset_path: csv\ntest_split: test\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
  });
  const msg = errorOf(() => parseTaskFile(join(dir, "t.yaml")));
  assert.match(
    msg,
    /t\.yaml:5:11: dataset_kwargs\.data_files\.test: data file missing\.jsonl not found \(looked in /,
  );
  assert.match(msg, /t\.yaml:6:3: dataset_kwargs\.streaming: unknown key "streaming"/);
  assert.match(
    msg,
    /t\.yaml:7:13: test_split: split "validation" is not in dataset_kwargs\.data_files \(it has "test"/,
  );
  assert.match(
    errorOf(() => parseTaskFile(join(dir, "nofiles.yaml"))),
    /nofiles\.yaml:2:15: dataset_path: "csv" reads local files; name them in dataset_kwargs\.data_files/,
  );
});

Deno.test("Hub ids as lm-eval writes them read offline from the Hugging Face cache", async () => {
  const cache = newHubCache();
  cacheParquetSplits(cache, "piqa", [{
    config: "plain_text",
    split: "validation",
    rows: [{ goal: "Open a jar", sol1: "Twist it.", sol2: "Drop it.", label: 0 }],
  }]);
  cacheParquetSplits(cache, "owner/data", [{
    config: "cfg",
    split: "test",
    rows: [{ q: "x?", a: "y", nested: { text: ["t1", "t2"], label: ["A", "B"] } }],
  }]);
  const dir = taskDir({
    "piqa.yaml":
      "task: piqa\ndataset_path: piqa\ndataset_name: null\noutput_type: multiple_choice\nvalidation_split: validation\ndoc_to_text: \"Question: {{goal}}\\nAnswer:\"\ndoc_to_target: label\ndoc_to_choice: '{{[sol1, sol2]}}'\n",
    "owned.yaml":
      "task: owned\ndataset_path: owner/data\ndataset_name: cfg\ntest_split: test\ndoc_to_text: '{{q}} {{nested.text}}'\ndoc_to_target: '{{nested.label.index(\"B\")}}'\n",
  });
  const saved = [Deno.env.get("HF_HUB_CACHE"), Deno.env.get("HF_HUB_OFFLINE")];
  Deno.env.set("HF_HUB_CACHE", cache);
  Deno.env.set("HF_HUB_OFFLINE", "1");
  try {
    const piqa = findTask(join(dir, "piqa.yaml"));
    assert.equal(piqa.dataset.source, "hf:piqa");
    const [doc] = (await loadTaskDocs(piqa, "validation")).docs;
    assert.deepEqual([doc.text, doc.choices, doc.gold], [
      "Question: Open a jar\nAnswer:",
      ["Twist it.", "Drop it."],
      0,
    ]);
    const [owned] = (await loadTaskDocs(findTask(join(dir, "owned.yaml")), "test")).docs;
    assert.deepEqual([owned.text, owned.references], ["x? ['t1', 't2']", ["1"]]);
  } finally {
    saved[0] === undefined
      ? Deno.env.delete("HF_HUB_CACHE")
      : Deno.env.set("HF_HUB_CACHE", saved[0]);
    saved[1] === undefined
      ? Deno.env.delete("HF_HUB_OFFLINE")
      : Deno.env.set("HF_HUB_OFFLINE", saved[1]);
  }
  assert.ok(parquetBytes([{ a: 1 }]).length > 0);
});
