/**
 * The synthetic task families (lib/data/synthetic/): deterministic from the seed, splits that
 * share no item, references derivable from their prompts (summary, code), the committed splits
 * and the bundled model's pretraining corpus unchanged byte for byte, and the synth_summary /
 * synth_code2text tasks loading their data and scoring a perfect prediction at the top of the
 * scale.
 */
import { deepStrictEqual, equal, notDeepStrictEqual, ok, throws } from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  codeTokens,
  CORPUS_TINY_256,
  DOCSTRING_VOCABULARY,
  FAMILIES,
  makeChatConversations,
  makePretrainCorpus,
  makeSplits,
  PRETRAIN_FAMILIES,
  SPLITS,
  SUMMARY_FUNCTION_WORDS,
} from "../../lib/data/synthetic/mod.ts";
import { findTask, loadTaskDocs } from "../../lib/eval/task/mod.ts";
import { getMetric } from "../../lib/eval/metrics/mod.ts";
import { SYNTHETIC_DIR } from "./_task_fixtures.ts";

/**
 * sha256 of the committed splits of the families the bundled tiny model was pretrained and
 * measured on (data/synthetic at the commit that built it). They must never change.
 */
const PRETRAINED_SPLITS: Record<string, string> = {
  "arithmetic/train.jsonl": "3d6cae1bf41ce41da17393509437f7daac30ba9cb57fca7b46d68c4b281e405f",
  "arithmetic/validation.jsonl": "e034d91a6f4f63ddc4bcdadbe48ed95db21e943267534b8b766d762cfa7fb078",
  "arithmetic/test.jsonl": "7e18b8aed40b01ae1d7f3b2e388fc48cd8826bbd668a099973b1083631c0fa3e",
  "entailment/train.jsonl": "e8cb1234b83672a89c57a4fff7aba2329d304306e0ab284d9acf9d775e0a36b1",
  "entailment/validation.jsonl": "92becbd7857df290fbb38e4cf4b8ef95a5925190a39c4ef0fddd4843c1a7a1c4",
  "entailment/test.jsonl": "474f243c71730f475c5ffb41905c547ee4a6adf09a5162632e1fa269fd1bae7b",
  "qa/train.jsonl": "711f9fc51cfbaa8f50106eb512aba7314eb6bdede4e70618e8c2774ec7930ff8",
  "qa/validation.jsonl": "05d34e868000a82b5bb4d9a62d581d9ae2f6a2a7dc0dd0ef8d37377650475557",
  "qa/test.jsonl": "c97bfc3359e15da92699f851e8a310e188908e6e3a0b928a3b63ab3aa66b9eb9",
  "facts/train.jsonl": "d9199d720bff13e78ca9eb2af16c29a0684743645579ace96684a54f6d49b792",
  "facts/validation.jsonl": "f40044594facb1b1279307e1ce65d879a523bc5ec4b10c5d5da21630d78c5198",
  "facts/test.jsonl": "882dbcfd9d8fa88065aff54bebd5069abb74f89c5c1e710826a17ceaa1d72125",
};
/** sha256 of the default pretraining corpus (60000 documents, one per line), as the model was built. */
const PRETRAIN_CORPUS = "7724894b740d8ebfec61b84eeb56efd6e9378d7df82e75f998652402a2173ce2";

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

Deno.test("synthetic: the committed splits of the pretrained families never change", () => {
  for (const [file, hash] of Object.entries(PRETRAINED_SPLITS)) {
    equal(sha256(readFileSync(join(SYNTHETIC_DIR, file), "utf8")), hash, file);
  }
});

Deno.test("synthetic: the default pretraining corpus is the one the bundled model was built on", () => {
  deepStrictEqual(PRETRAIN_FAMILIES, ["arithmetic", "entailment", "qa", "facts"]);
  const h = createHash("sha256");
  for (const doc of makePretrainCorpus()) h.update(doc + "\n");
  equal(h.digest("hex"), PRETRAIN_CORPUS);
});

Deno.test("synthetic: `deno task synth --seed 1234` rewrites data/synthetic byte for byte", () => {
  const out = mkdtempSync(join(tmpdir(), "tunebook-synth-"));
  const run = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/synth.ts", "--seed", "1234", "--out", out],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  equal(run.code, 0, new TextDecoder().decode(run.stderr));
  deepStrictEqual(readdirSync(out).sort(), [...FAMILIES].sort());
  deepStrictEqual(readdirSync(SYNTHETIC_DIR).sort(), [...FAMILIES].sort());
  for (const family of FAMILIES) {
    for (const split of SPLITS) {
      const file = `${family}/${split}.jsonl`;
      equal(
        readFileSync(join(out, file), "utf8"),
        readFileSync(join(SYNTHETIC_DIR, file), "utf8"),
        `${file} differs from what deno task synth --seed 1234 writes`,
      );
    }
  }
});

Deno.test("synthetic: summary and code are deterministic from the seed and vary with it", () => {
  for (const family of ["summary", "code"] as const) {
    const a = makeSplits(family, { seed: 7, test: 20, validation: 10, train: 50 });
    const b = makeSplits(family, { seed: 7, test: 20, validation: 10, train: 50 });
    deepStrictEqual(a, b);
    notDeepStrictEqual(a.test, makeSplits(family, { seed: 8, test: 20, validation: 10 }).test);
    equal(a.test.length + a.validation.length + a.train.length, 80);
  }
});

Deno.test("synthetic: no passage, summary, code or docstring is in two splits", () => {
  const keys = {
    summary: (r: Record<string, unknown>) => [r.document, r.summary],
    code: (
      r: Record<string, unknown>,
    ) => [r.code, r.docstring, (r.code_tokens as string[]).join(" ")],
  };
  for (const [family, key] of Object.entries(keys)) {
    const seen = new Map<unknown, string>();
    for (const split of SPLITS) {
      const rows = readFileSync(join(SYNTHETIC_DIR, family, `${split}.jsonl`), "utf8").trim()
        .split("\n").map((l) => JSON.parse(l));
      equal(rows.length, { train: 1000, validation: 100, test: 200 }[split], `${family}/${split}`);
      for (const row of rows) {
        for (const k of key(row)) {
          const other = seen.get(k);
          ok(
            other === undefined || other === `${split}:${row.id}`,
            `${family}: ${k} in ${other} and ${split}`,
          );
          seen.set(k, `${split}:${row.id}`);
        }
      }
    }
  }
});

Deno.test("synthetic summary: every word of a summary is in its passage (or a function word)", () => {
  const { test, validation, train } = makeSplits("summary");
  const kinds = new Set<string>();
  for (const item of [...test, ...validation, ...train]) {
    const passage = new Set(words(item.document));
    const missing = words(item.summary).filter((w) =>
      !passage.has(w) && !SUMMARY_FUNCTION_WORDS.has(w)
    );
    deepStrictEqual(missing, [], `${item.id}: "${item.summary}" / "${item.document}"`);
    // the passage says more than the summary: details or distractors it leaves out
    ok(item.document.split(". ").length >= 3, item.id);
    ok(
      !item.document.includes(item.summary),
      `${item.id}: the summary is not one passage sentence`,
    );
    kinds.add(item.kind);
  }
  equal(kinds.size, 6);
});

Deno.test("synthetic code: the docstring names the arguments and uses only the operation's words", () => {
  const { test, validation, train } = makeSplits("code");
  ok(DOCSTRING_VOCABULARY.size < 60, `${DOCSTRING_VOCABULARY.size} pattern words`);
  const kinds = new Set<string>();
  for (const item of [...test, ...validation, ...train]) {
    deepStrictEqual(item.code_tokens, codeTokens(item.code));
    const identifiers = new Set(item.code_tokens.filter((t) => /^[A-Za-z_]\w*$/.test(t)));
    const args = item.code.slice(item.code.indexOf("(") + 1, item.code.indexOf(")")).split(", ");
    const docWords = item.docstring_tokens.filter((t) => /^\w+$/.test(t));
    for (const arg of args) {
      ok(docWords.includes(arg), `${item.id}: "${item.docstring}" omits ${arg}`);
    }
    const foreign = docWords.filter((w) =>
      !identifiers.has(w) && !DOCSTRING_VOCABULARY.has(w.toLowerCase())
    );
    deepStrictEqual(foreign, [], `${item.id}: ${item.code} / ${item.docstring}`);
    kinds.add(item.kind);
  }
  equal(kinds.size, 24);
});

Deno.test("synthetic: the corpus forms of summary and code never use the tasks' prompt format", () => {
  const docs = [...makePretrainCorpus({ documents: 3000, families: ["summary", "code"] })];
  ok(docs.some((d) => d.includes("In short: ")) && docs.some((d) => d.includes("def ")));
  for (const d of docs) {
    ok(!d.includes("Short summary:"), d);
    // the task shows code as space-joined tokens ("def f ( x ) :"); the corpus writes Python
    ok(!/def \w+ \(/.test(d), d);
  }
  throws(() => makePretrainCorpus({ families: ["poems" as "qa"] }).next(), /unknown poems/);
});

Deno.test("synthetic: tiny-256's corpus has every family and recall drills, never the eval format", () => {
  const docs = [...makePretrainCorpus({ ...CORPUS_TINY_256, documents: 2000 })];
  deepStrictEqual(docs, [...makePretrainCorpus({ ...CORPUS_TINY_256, documents: 2000 })]);
  notDeepStrictEqual(docs, [...makePretrainCorpus({ documents: 2000 })]);
  for (const d of docs) ok(!d.includes("\nAnswer:") && !d.includes("Short summary:"), d);
  // A recall drill: a context about two or three people, then three facts recalled from it
  // (each a "So …" restatement or a quiz whose answer is in the context).
  const drill =
    /((?:[A-Z]\w+ lives in \w+\.|[A-Z]\w+ works as an? [\w ]+?\.|[A-Z]\w+ has a pet \w+\.|The favorite color of \w+ is \w+\.)(?: |$)){8,12}/;
  const withDrill = docs.filter((d) => drill.test(d));
  ok(withDrill.length > docs.length / 2, `${withDrill.length} of ${docs.length} have a drill`);
  const recalled = withDrill.flatMap((d) => [...d.matchAll(/So (\w+) lives in (\w+)\./g)]);
  ok(recalled.length > 100);
  for (const [, person, city] of recalled.slice(0, 200)) {
    ok(
      withDrill.some((d) => d.includes(`${person} lives in ${city}.`)),
      `${person}: recalled city in its context`,
    );
  }
  throws(() => makePretrainCorpus({ recall: -1 }).next(), /recall -1/);
});

Deno.test("synthetic: chat conversations come from the train splits only, answers in sentences", () => {
  const rows = makeChatConversations({ perFamily: 50 });
  equal(rows.length, 50 * FAMILIES.length);
  deepStrictEqual(rows, makeChatConversations({ perFamily: 50 }));
  for (const r of rows) {
    const [user, assistant] = r.messages;
    equal(user.role, "user");
    equal(assistant.role, "assistant");
    ok(assistant.content.length > 1 && /[.!?]$/.test(assistant.content), assistant.content);
  }
  // Every answer can be checked against its item: the arithmetic is right, QA answers are
  // sentences of the context, entailment answers begin with the label.
  for (const r of rows.filter((r) => r.family === "arithmetic")) {
    const m = /^(-?\d+) (plus|minus|times) (-?\d+) is (-?\d+)\.$/.exec(r.messages[1].content)!;
    ok(m, r.messages[1].content);
    const [a, b, v] = [Number(m[1]), Number(m[3]), Number(m[4])];
    equal(v, m[2] === "plus" ? a + b : m[2] === "minus" ? a - b : a * b);
  }
  for (const r of rows.filter((r) => r.family === "qa")) {
    ok(r.messages[0].content.includes(r.messages[1].content), r.messages[1].content);
  }
  for (const r of rows.filter((r) => r.family === "entailment")) {
    ok(/^(Yes|No)\. /.test(r.messages[1].content));
  }
  // No conversation is about a validation or test item: its question is not one of theirs.
  const heldQuestions = new Set(
    [...makeSplits("facts").validation, ...makeSplits("facts").test].map((x) => x.question),
  );
  for (const r of rows.filter((r) => r.family === "facts")) {
    ok(!heldQuestions.has(r.messages[0].content.replace(/^(Tell me: |Quick question\. )/, "")));
  }
});

Deno.test("synth_summary / synth_code2text: every test row loads; a perfect prediction scores the maximum", async () => {
  const tasks = [
    { name: "synth_summary", metrics: ["rouge1", "rouge2", "rougeL", "rougeLsum"], top: 1 },
    { name: "synth_code2text", metrics: ["bleu4"], top: 100 },
  ];
  for (const { name, metrics, top } of tasks) {
    const task = findTask(name);
    ok(task.tags.includes("synthetic"), name);
    deepStrictEqual(task.metrics.map((m) => m.metric), metrics);
    const { docs, errors } = await loadTaskDocs(task, "test");
    deepStrictEqual(errors, []);
    equal(docs.length, 200);
    for (const metric of metrics) {
      const m = getMetric(metric);
      ok(m.kind === "item");
      const perfect = docs.map((d) => m.score(d.references[0], d.references));
      deepStrictEqual(perfect.filter((v) => Math.abs(v - top) > 1e-9), [], `${name} ${metric}`);
      const wrong = docs.map((d) => m.score("the", d.references));
      ok(wrong.every((v) => v < top * 0.5), `${name} ${metric}: a wrong answer is not perfect`);
    }
  }
  const code = (await loadTaskDocs(findTask("synth_code2text"), "test")).docs[0];
  const row = JSON.parse(
    readFileSync(join(SYNTHETIC_DIR, "code/test.jsonl"), "utf8").split("\n")[0],
  );
  equal(code.text, row.code_tokens.join(" "));
  equal(code.references[0], row.docstring_tokens.join(" "));
  const summary = (await loadTaskDocs(findTask("synth_summary"), "test")).docs[0];
  ok(summary.text.endsWith("\nShort summary:"));
});
