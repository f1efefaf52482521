/**
 * Prompt rendering byte for byte as lm-evaluation-harness renders its sciq, arithmetic, logiqa,
 * code2text, mc_taco and squad templates; render errors name the row, the column and the fix.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import {
  buildPrompt,
  findTask,
  parseTaskFile,
  renderDoc,
  RenderError,
  type TaskConfig,
} from "../../lib/eval/task/mod.ts";
import { errorOf, minimalTask, ROWS, taskDir } from "./_task_fixtures.ts";

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

Deno.test("arithmetic renders the row's context unchanged; lm-eval's target keeps the completion's space", () => {
  const doc = { context: "Question: What is 98 plus 45?\nAnswer:", completion: " 143" };
  const shot = { context: "Question: What is 1 plus 1?\nAnswer:", completion: " 2" };
  // [task, reference, few-shot prompt]: arithmetic_* is lm-eval's file (loglikelihood, target
  // "{{completion}}", so a shot reads "Answer:" + " " + " 2"); synth_arithmetic strips it.
  const cases: [string, string, string][] = [
    ["arithmetic_2da", " 143", "Question: What is 1 plus 1?\nAnswer:  2\n\n"],
    ["synth_arithmetic", "143", "Question: What is 1 plus 1?\nAnswer: 2\n\n"],
  ];
  for (const [name, reference, shotText] of cases) {
    const task = findTask(name);
    const r = renderDoc(task, doc, 0);
    equal(r.text, "Question: What is 98 plus 45?\nAnswer:");
    deepStrictEqual(r.references, [reference]);
    equal(buildPrompt(task, r, []), doc.context);
    equal(buildPrompt(task, r, [renderDoc(task, shot, 1)]), shotText + doc.context);
  }
  equal(findTask("arithmetic_2da").outputType, "loglikelihood");
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
