/**
 * Task files: every shipped YAML validates; include/cycle/error reporting; prompt rendering
 * byte for byte as lm-evaluation-harness renders its sciq, arithmetic, logiqa and code2text
 * templates; few-shot sampling; loading the bundled synthetic data.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildPrompt,
  evalSplit,
  findTask,
  KNOWN_METRICS,
  listTasks,
  loadTaskDocs,
  parseTaskFile,
  renderDoc,
  type RenderedDoc,
  RenderError,
  sampleFewshot,
  splitNameOf,
  type TaskConfig,
  TaskFileError,
} from "../../lib/eval/task.ts";

const TASKS_DIR = new URL("../../data/tasks/", import.meta.url).pathname;
const SYNTHETIC_DIR = new URL("../../data/synthetic/", import.meta.url).pathname;

/** Write task files into a fresh folder; returns the folder. */
function taskDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-task-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The message of the error `fn` throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

/** A minimal valid generation task over a local one-row dataset, plus extra lines. */
function minimalTask(extra = ""): string {
  return [
    "task: tiny",
    "dataset_path: ./rows.jsonl",
    "test_split: test",
    'doc_to_text: "Q: {{q}}\\nA:"',
    'doc_to_target: "{{a}}"',
    extra,
  ].join("\n") + "\n";
}

const ROWS = '{"q":"2+2?","a":"4"}\n';

// --- the shipped task files -------------------------------------------------------------------

Deno.test("every task file in data/tasks parses and validates", () => {
  const tasks = listTasks();
  const files = readdirSync(TASKS_DIR).filter((f) => f.endsWith(".yaml") && !f.startsWith("_"));
  equal(tasks.length, files.length);
  const names = tasks.map((t) => t.name);
  for (
    const required of [
      "synth_arithmetic",
      "synth_entailment",
      "synth_entailment_gen",
      "synth_qa",
      "synth_qa_rouge",
      "synth_facts",
      "synth_facts_support",
      "sciq",
      "logiqa",
      "mc_taco",
      "arithmetic_2da",
      "arithmetic_2ds",
      "arithmetic_2dm",
      "arithmetic_3da",
      "arithmetic_3ds",
      "arithmetic_4da",
      "arithmetic_1dc",
      "squad_v1",
      "puzzte",
      "xsum",
      "code2text_python",
    ]
  ) ok(names.includes(required), `missing task ${required}`);
  for (const task of tasks) {
    ok(task.reference, `${task.name} has no reference`);
    for (const m of task.metrics) ok(KNOWN_METRICS.includes(m.metric));
  }
  // Every base file is used by some task.
  const bases = readdirSync(TASKS_DIR).filter((f) => f.startsWith("_") && f.endsWith(".yaml"));
  for (const base of bases) {
    ok(tasks.some((t) => t.includes.some((f) => f.endsWith(base))), `${base} is not included`);
  }
});

Deno.test("each task README line names a shipped task, and every task has a line", () => {
  const readme = readFileSync(join(TASKS_DIR, "README.md"), "utf8");
  for (const task of listTasks()) match(readme, new RegExp(`\\| \`${task.name}\` +\\|`));
});

// --- include ----------------------------------------------------------------------------------

Deno.test("include: the including file's keys override the base's; the rest is inherited", () => {
  const base = findTask("synth_qa");
  const rouge = findTask("synth_qa_rouge");
  deepStrictEqual(rouge.metrics.map((m) => m.metric), [
    "rouge1",
    "rouge2",
    "rougeL",
    "rougeLsum",
    "bleu4",
  ]);
  equal(rouge.docToText, base.docToText);
  equal(rouge.dataset.source, base.dataset.source);
  deepStrictEqual(rouge.includes, [base.file]);
  const a2 = findTask("arithmetic_2da");
  equal(a2.dataset.config, "arithmetic_2da");
  equal(a2.dataset.source, "hf:EleutherAI/arithmetic");
  deepStrictEqual(a2.generationKwargs.until, ["\n"]);
});

Deno.test("include: chains resolve relative to each file, nearest file wins", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "_a.yaml": minimalTask("num_fewshot: 1\ndescription: from a\n"),
    "_b.yaml": "include: _a.yaml\nnum_fewshot: 2\n",
    "c.yaml": "include: _b.yaml\ntask: c\n",
  });
  const task = parseTaskFile(join(dir, "c.yaml"));
  equal(task.name, "c");
  equal(task.numFewshot, 2);
  equal(task.description, "from a");
  equal(task.includes.length, 2);
  equal(task.dataset.source, join(dir, "rows.jsonl"));
});

Deno.test("include: a cycle is reported with the chain and the include's position", () => {
  const dir = taskDir({ "a.yaml": "task: a\ninclude: b.yaml\n", "b.yaml": "include: a.yaml\n" });
  const msg = errorOf(() => parseTaskFile(join(dir, "b.yaml")));
  match(msg, /include cycle: .*b\.yaml -> .*a\.yaml -> .*b\.yaml/);
  match(msg, /a\.yaml:2:10: include: /);
});

Deno.test("include: a missing base file names the resolved path", () => {
  const dir = taskDir({ "a.yaml": "include: nope.yaml\ntask: a\n" });
  match(
    errorOf(() => parseTaskFile(join(dir, "a.yaml"))),
    /a\.yaml:1:10: include: included file .*nope\.yaml not found/,
  );
});

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
  match(msg, /t\.yaml:9:1: process_docs: lm-eval's process_docs is not supported/);
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
    /metric_list\.0\.metric: metric "em" does not apply to multiple_choice tasks; use one of acc, acc_norm, per_class_accuracy, macro_f1/,
  );
});

Deno.test("wrong types, missing fields, unknown output types, !function: one line each", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": [
      "dataset_path: ./rows.jsonl",
      "test_split: test",
      "num_fewshot: five",
      "output_type: loglikelihood",
      "doc_to_text: !function utils.doc_to_text",
      "doc_to_target: '{{a}}'",
    ].join("\n"),
    "u.yaml": minimalTask("output_type: generate_text\nnum_fewshot: -1\n"),
  });
  match(
    errorOf(() => parseTaskFile(join(dir, "t.yaml"))),
    /t\.yaml:5:1: doc_to_text: `!function` \(Python code from lm-eval\) is not supported; express it as a Jinja template/,
  );
  const dirF = taskDir({
    "rows.jsonl": ROWS,
    "f.yaml": minimalTask("metric_list:\n  - metric: !function bleu.smoothed_bleu_4\n"),
  });
  match(
    errorOf(() => parseTaskFile(join(dirF, "f.yaml"))),
    /f\.yaml:7:5: metric_list\.0\.metric: `!function`/,
  );
  const msg = errorOf(() => parseTaskFile(join(dir, "u.yaml")));
  match(
    msg,
    /u\.yaml:6:14: output_type: unknown output type "generate_text"; use one of multiple_choice, generate_until/,
  );
  match(msg, /u\.yaml:7:14: num_fewshot: expected an integer >= 0, got number -1/);
  const dir2 = taskDir({
    "rows.jsonl": ROWS,
    "v.yaml":
      "dataset_path: ./rows.jsonl\ntest_split: test\nnum_fewshot: five\noutput_type: loglikelihood\n",
  });
  const msg2 = errorOf(() => parseTaskFile(join(dir2, "v.yaml")));
  match(msg2, /v\.yaml:1:1: task: required field is missing; add e\.g\. task: my_task/);
  match(msg2, /v\.yaml:1:1: doc_to_text: required field is missing/);
  match(msg2, /v\.yaml:3:14: num_fewshot: expected an integer >= 0, got string "five"/);
  match(
    msg2,
    /v\.yaml:4:14: output_type: "loglikelihood" is not supported; use generate_until \(with exact_match\) or multiple_choice/,
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

Deno.test("findTask: an unknown name lists the available tasks and the closest", () => {
  const msg = errorOf(() => findTask("synth_arithmetik"));
  match(msg, /unknown task "synth_arithmetik"; did you mean "synth_arithmetic"\?/);
  ok(msg.includes("sciq") && msg.includes("synth_qa_rouge"));
  equal(findTask(join(TASKS_DIR, "sciq.yaml")).name, "sciq");
});

// --- rendering, byte for byte -------------------------------------------------------------------

/** A SciQ row (allenai/sciq test split, first example; support trimmed for brevity). */
const SCIQ_DOC = {
  question:
    "Compounds that are capable of accepting electrons, such as o 2 or f2, are called what?",
  distractor1: "antioxidants",
  distractor2: "Oxygen",
  distractor3: "residues",
  correct_answer: "oxidants",
  support:
    " Oxidants and Reductants Compounds that are capable of accepting electrons, such as O 2 or F 2, are called oxidants (or oxidizing agents) because they can oxidize other compounds.",
};

Deno.test("sciq renders exactly as lm-eval's sciq.yaml: lstrip'd support, question, choices, gold 3", () => {
  const task = findTask("sciq");
  const doc = renderDoc(task, SCIQ_DOC, 0);
  equal(
    doc.text,
    "Oxidants and Reductants Compounds that are capable of accepting electrons, such as O 2 or F 2, are called oxidants (or oxidizing agents) because they can oxidize other compounds.\n" +
      "Question: Compounds that are capable of accepting electrons, such as o 2 or f2, are called what?\n" +
      "Answer:",
  );
  deepStrictEqual(doc.choices, ["antioxidants", "Oxygen", "residues", "oxidants"]);
  equal(doc.gold, 3);
  equal(doc.target, "oxidants");
  // lm-eval scores each choice as the continuation target_delimiter + choice.
  deepStrictEqual(doc.choices!.map((c) => task.targetDelimiter + c), [
    " antioxidants",
    " Oxygen",
    " residues",
    " oxidants",
  ]);
  // One-shot context: text + " " + gold choice + "\n\n", then the row's text.
  const shot = renderDoc(task, {
    ...SCIQ_DOC,
    question: "What do oxidants accept?",
    correct_answer: "electrons",
    support: "\n\nOxidants accept electrons.",
  }, 1);
  equal(
    buildPrompt(task, doc, [shot]),
    "Oxidants accept electrons.\nQuestion: What do oxidants accept?\nAnswer: electrons\n\n" +
      doc.text,
  );
});

Deno.test("arithmetic renders the row's context unchanged; the reference is the trimmed completion", () => {
  const doc = { context: "Question: What is 98 plus 45?\nAnswer:", completion: " 143" };
  for (const name of ["arithmetic_2da", "synth_arithmetic"]) {
    const task = findTask(name);
    const r = renderDoc(task, doc, 0);
    equal(r.text, "Question: What is 98 plus 45?\nAnswer:");
    deepStrictEqual(r.references, ["143"]);
    equal(buildPrompt(task, r, []), doc.context);
    const shot = renderDoc(task, {
      context: "Question: What is 1 plus 1?\nAnswer:",
      completion: " 2",
    }, 1);
    equal(
      buildPrompt(task, r, [shot]),
      "Question: What is 1 plus 1?\nAnswer: 2\n\nQuestion: What is 98 plus 45?\nAnswer:",
    );
  }
});

Deno.test("logiqa's Jinja prompt equals lm-eval's utils_logiqa.doc_to_text/doc_to_target", () => {
  const task = findTask("logiqa");
  const doc = renderDoc(task, {
    label: "c ",
    context: "All birds fly. Tweety is a bird.",
    question: "Which follows?",
    options: ["Tweety swims.", "Tweety is a fish.", "Tweety flies.", "Nothing."],
  }, 0);
  equal(
    doc.text,
    "Passage: All birds fly. Tweety is a bird.\nQuestion: Which follows?\nChoices:\n" +
      "A. Tweety swims.\nB. Tweety is a fish.\nC. Tweety flies.\nD. Nothing.\nAnswer:",
  );
  equal(doc.gold, 2);
});

Deno.test("code2text's Jinja equals lm-eval's utils.doc_to_text/doc_to_target", () => {
  const task = findTask("code2text_python");
  const doc = renderDoc(task, {
    code_tokens: ["def", "add", "(", "a", ",", "b", ")", ":", "return  a\n", "+", "b"],
    docstring_tokens: ["Add", "two\n", "numbers", "."],
  }, 0);
  // " ".join(tokens).replace("\n", " ") then " ".join(s.strip().split())
  equal(doc.text, "def add ( a , b ) : return a + b");
  // " ".join(tokens).replace("\n", "") then " ".join(s.strip().split())
  deepStrictEqual(doc.references, ["Add two numbers ."]);
});

Deno.test("mc_taco: a bare column name as doc_to_target reads the integer label", () => {
  const task = findTask("mc_taco");
  const doc = renderDoc(task, {
    sentence: "He slept.",
    question: "How long?",
    answer: "8 hours",
    label: 1,
  }, 0);
  equal(doc.text, "He slept.\nQuestion: How long?\nAnswer: 8 hours\nPlausible:");
  equal(doc.gold, 1);
  equal(doc.target, "yes");
});

Deno.test("squad_v1: every answer in answers.text is a reference; few-shot shows the first", () => {
  const task = findTask("squad_v1");
  const doc = renderDoc(task, {
    id: "5733be284776f41900661182",
    title: "Notre_Dame",
    context: "It is a replica of the grotto at Lourdes.",
    question: "What is the Grotto a replica of?",
    answers: { text: ["the grotto at Lourdes", "grotto at Lourdes"], answer_start: [20, 24] },
  }, 0);
  equal(doc.id, "5733be284776f41900661182");
  equal(
    doc.text,
    "Title: Notre_Dame\n\nBackground: It is a replica of the grotto at Lourdes.\n\nQuestion: What is the Grotto a replica of?\n\nAnswer:",
  );
  deepStrictEqual(doc.references, ["the grotto at Lourdes", "grotto at Lourdes"]);
  equal(doc.target, "the grotto at Lourdes");
});

Deno.test("a template reading a missing column names the row (1-based), the column and the columns present", () => {
  const task = findTask("synth_qa");
  const err = (() => {
    try {
      renderDoc(task, { id: "x", title: "T", context: "C" }, 4);
    } catch (e) {
      return e;
    }
  })();
  ok(err instanceof RenderError);
  equal(err.row, 5);
  equal(err.field, "doc_to_text");
  match(
    err.message,
    /task synth_qa, row 5: doc_to_text reads column "question", which this row lacks \(columns: id, title, context\)/,
  );
});

Deno.test("multiple choice: gold index out of range, or a target that is not a choice, is an error", () => {
  const facts = findTask("synth_facts");
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": minimalTask("output_type: multiple_choice\ndoc_to_choice: \"['3', '4', '5']\"\n")
      .replace(
        'doc_to_target: "{{a}}"',
        "doc_to_target: a",
      ),
  });
  const text = parseTaskFile(join(dir, "t.yaml"));
  // A Python-literal list in doc_to_choice; the target column's text picks the choice.
  const ok4 = renderDoc(text, { q: "2+2?", a: "4" }, 0);
  deepStrictEqual(ok4.choices, ["3", "4", "5"]);
  equal(ok4.gold, 1);
  match(
    errorOf(() => renderDoc(text, { q: "2+2?", a: "four" }, 2)),
    /row 3: doc_to_target gave string "four", which is neither a choice index nor one of the choices \["3","4","5"\]/,
  );
  const tooFew = { ...facts, docToChoice: "{{[distractor1, correct_answer]}}" } as TaskConfig;
  match(
    errorOf(() => renderDoc(tooFew, { question: "q", distractor1: "a", correct_answer: "b" }, 0)),
    /gold index 3 is out of range for 2 choices/,
  );
});

Deno.test("templates keep a trailing newline; description is rendered per row and comes first", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "t.yaml": minimalTask('description: "Answer {{q}} briefly.\\n\\n"').replace(
      '"Q: {{q}}\\nA:"',
      '"Q: {{q}}\\n"',
    ),
  });
  const task = parseTaskFile(join(dir, "t.yaml"));
  const doc = renderDoc(task, { q: "2+2?", a: "4" }, 0);
  equal(doc.text, "Q: 2+2?\n");
  equal(buildPrompt(task, doc, []), "Answer 2+2? briefly.\n\nQ: 2+2?\n");
});

Deno.test("optional columns: `is defined` and `| default` guard them, as under StrictUndefined", () => {
  const task = {
    ...findTask("synth_qa"),
    docToText:
      "{% if title is defined %}{{title}}: {% endif %}{{question}} {{ hint | default('-') }}",
  };
  equal(renderDoc(task, { question: "Q?", answers: { text: ["a"] } }, 0).text, "Q? -");
  equal(
    renderDoc(task, { title: "T", question: "Q?", hint: "h", answers: { text: ["a"] } }, 0).text,
    "T: Q? h",
  );
  match(
    errorOf(() => renderDoc(task, { title: "T", answers: { text: ["a"] } }, 0)),
    /reads column "question"/,
  );
});

// --- few-shot sampling ----------------------------------------------------------------------------

function pool(n: number): RenderedDoc[] {
  return Array.from(
    { length: n },
    (_, i) => ({ id: `d${i}`, text: `q${i}`, target: `a${i}`, references: [`a${i}`] }),
  );
}

Deno.test("few-shot sampling is deterministic per (seed, doc) and never includes the doc itself", () => {
  const task = findTask("synth_arithmetic");
  for (const size of [4, 50, 1000]) {
    const docs = pool(size);
    for (const doc of docs.slice(0, 20)) {
      const a = sampleFewshot(task, docs, 3, doc.id);
      const b = sampleFewshot(task, [...docs], 3, doc.id);
      deepStrictEqual(a.map((d) => d.id), b.map((d) => d.id));
      equal(a.length, 3);
      equal(new Set(a.map((d) => d.id)).size, 3);
      ok(!a.some((d) => d.id === doc.id));
    }
  }
  const docs = pool(4);
  // n equal to the other rows: all of them, none of the doc.
  deepStrictEqual(sampleFewshot(task, docs, 3, "d2").map((d) => d.id).sort(), ["d0", "d1", "d3"]);
  match(
    errorOf(() => sampleFewshot(task, docs, 4, "d2")),
    /num_fewshot is 4 but the few-shot pool has only 3 other rows/,
  );
  // Another seed draws differently (over many docs at least one differs).
  const other = { ...task, fewshotSeed: 7 };
  const big = pool(1000);
  ok(
    big.slice(0, 10).some((d) =>
      sampleFewshot(task, big, 3, d.id).map((x) => x.id).join() !==
        sampleFewshot(other, big, 3, d.id).map((x) => x.id).join()
    ),
  );
});

// --- loading the bundled synthetic data ------------------------------------------------------------

Deno.test("synthetic tasks load and render every row of data/synthetic", async () => {
  for (const task of listTasks().filter((t) => t.dataset.kind === "local")) {
    ok(task.dataset.source.startsWith(SYNTHETIC_DIR), task.dataset.source);
    const split = evalSplit(task);
    const { docs, errors } = await loadTaskDocs(task, split);
    deepStrictEqual(errors, [], task.name);
    const lines = readFileSync(join(task.dataset.source, `${task.splits[split]}.jsonl`), "utf8")
      .trim().split("\n");
    equal(docs.length, lines.length, task.name);
    const few = await loadTaskDocs(task, "fewshot", { limit: 5 });
    equal(few.docs.length, 5);
    if (task.outputType === "multiple_choice") {
      ok(docs.every((d) => d.choices && d.gold !== undefined));
    } else {ok(docs.every((d) =>
        d.references.length > 0 && d.references.every((r) => r.trim() !== "")
      ));}
  }
});

Deno.test("loadTaskDocs: rows that fail to render come back as errors with row numbers", async () => {
  const dir = taskDir({
    "rows.jsonl": '{"q":"2+2?","a":"4"}\n{"q":"3+3?"}\n{"q":"1+1?","a":"2"}\n',
    "t.yaml": minimalTask(),
  });
  const { docs, errors } = await loadTaskDocs(parseTaskFile(join(dir, "t.yaml")), "test");
  deepStrictEqual(docs.map((d) => d.id), ["test:1", "test:3"]);
  equal(errors.length, 1);
  equal(errors[0].row, 2);
  match(
    errors[0].message,
    /row 2: doc_to_target reads column "a", which this row lacks \(columns: q\)/,
  );
  match(
    errorOf(() => splitNameOf(parseTaskFile(join(dir, "t.yaml")), "validation")),
    /task tiny has no validation split \(validation_split is not set in .*t\.yaml\); use one of: test, or set validation_split/,
  );
});
