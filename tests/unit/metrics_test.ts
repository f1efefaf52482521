/**
 * Tests of lib/eval/metrics/. Expected values come from running each metric's reference
 * implementation (the SQuAD v1.1 script, rouge-score with NLTK's Porter stemmer, CodeXGLUE's
 * smoothed BLEU, lm-eval's exact_match, scikit-learn); tests/unit/fixtures/metric_vectors.json
 * names the source (repository, path, commit) and library versions of every section, and
 * make_metric_vectors.py beside it regenerates it (tests/python/test_fixture_vectors.py checks).
 */
import assert from "node:assert/strict";
import {
  binaryF1,
  countBytes,
  countWords,
  getLoglikelihoodMetric,
  getMetric,
  type ItemMetric,
  listMetrics,
  scoreCorpus,
} from "../../lib/eval/metrics/mod.ts";
import { porterStem } from "../../lib/eval/metrics/_porter.ts";
import { rougeMetric, rougeTokenize, type RougeType } from "../../lib/eval/metrics/rouge.ts";
import { normalizeAnswer } from "../../lib/eval/metrics/squad.ts";
import vectors from "./fixtures/metric_vectors.json" with { type: "json" };

/** Tolerance for the 0–1 metrics (a handful of float operations away from Python's). */
const TOL = 1e-9;
/** Relative tolerance for BLEU (0–100; sums of logarithms). */
const BLEU_RTOL = 1e-6;
const ROUGE_TYPES: RougeType[] = ["rouge1", "rouge2", "rougeL", "rougeLsum"];

function assertClose(actual: number, expected: number, tol: number, label: string): void {
  const scale = Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tol * scale,
    `${label}: got ${actual}, expected ${expected}`,
  );
}

/** BLEU values span 1e-75 … 100, so compare relatively. */
function assertRelClose(actual: number, expected: number, rtol: number, label: string): void {
  const error = expected === 0
    ? Math.abs(actual)
    : Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(
    error <= rtol,
    `${label}: got ${actual}, expected ${expected} (relative error ${error})`,
  );
}

function itemMetric(name: string): ItemMetric {
  const metric = getMetric(name);
  assert.equal(metric.kind, "item", `${name} should be an item metric`);
  return metric as ItemMetric;
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

Deno.test("exact_match is lm-eval's exact_match_hf_evaluate: untrimmed, with its four options", () => {
  const metric = itemMetric("exact_match");
  const cases = vectors.exact_match.cases;
  assert.ok(cases.length >= 25);
  assert.ok(cases.some((c) => Object.keys(c.options).length === 0 && c.expected === 0));
  for (const { prediction, references, options, expected } of cases) {
    // A task's metric_list entry gives the options, as lm-eval passes them (snake_case keys).
    const configured = Object.keys(options).length ? metric.withOptions!(options) : metric;
    assert.equal(
      configured.score(prediction, references),
      expected,
      show({ prediction, references, options }),
    );
  }
  // Trimming is a filter's job now (remove_whitespace), not the metric's.
  assert.equal(metric.score(" 42", ["42"]), 0);
  assert.throws(() => metric.withOptions!({ ignore_cas: true }), /no option "ignore_cas"/);
});

Deno.test("perplexity metrics match lm-eval's aggregations and word/byte counts", () => {
  const { rolling, loglikelihood, count_words } = vectors.perplexity;
  for (const item of rolling.items) {
    assert.equal(countWords(item.text), item.words, show(item.text));
    assert.equal(countBytes(item.text), item.bytes, show(item.text));
  }
  for (const [text, words] of Object.entries(count_words)) {
    assert.equal(countWords(text), words, show(text));
  }
  for (const name of ["word_perplexity", "byte_perplexity", "bits_per_byte"] as const) {
    const metric = getLoglikelihoodMetric(name)!;
    assert.equal(metric.higherIsBetter, false);
    assertRelClose(metric.aggregate(rolling.items), rolling[name], 1e-12, name);
  }
  assertRelClose(
    getLoglikelihoodMetric("perplexity")!.aggregate(
      loglikelihood.items.map((ll) => ({ loglikelihood: ll })),
    ),
    loglikelihood.perplexity,
    1e-12,
    "perplexity",
  );
});

Deno.test("em and f1 match the SQuAD v1.1 script, item by item and over the corpus", () => {
  const em = itemMetric("em");
  const f1 = itemMetric("f1");
  const { cases, corpus } = vectors.squad;
  assert.ok(cases.length >= 8);
  for (const c of cases) {
    const label = show({ prediction: c.prediction, references: c.references });
    assert.equal(normalizeAnswer(c.prediction), c.normalized_prediction, `normalize ${label}`);
    assert.equal(em.score(c.prediction, c.references), c.em, `em ${label}`);
    assertClose(f1.score(c.prediction, c.references), c.f1, TOL, `f1 ${label}`);
  }
  const out = scoreCorpus(
    ["em", "f1"],
    cases.map((c) => c.prediction),
    cases.map((c) => c.references),
  );
  assertClose(out.em, corpus.em, TOL, "corpus em");
  assertClose(out.f1, corpus.f1, TOL, "corpus f1");
});

Deno.test("rouge1/2/L/Lsum match rouge-score's score_multi, with and without stemming", () => {
  const { cases } = vectors.rouge;
  assert.ok(cases.filter((c) => !c.use_stemmer).length >= 8);
  for (const c of cases) {
    for (const type of ROUGE_TYPES) {
      const metric = c.use_stemmer ? rougeMetric(type, { useStemmer: true }) : itemMetric(type);
      const expected = (c.expected as Record<string, number>)[type];
      const label = `${type}${c.use_stemmer ? " (stemmed)" : ""} ${
        show({ prediction: c.prediction, references: c.references })
      }`;
      assertClose(metric.score(c.prediction, c.references), expected, TOL, label);
    }
  }
});

Deno.test("rouge corpus values are the mean of the item F-measures", () => {
  const unstemmed = vectors.rouge.cases.filter((c) => !c.use_stemmer);
  const out = scoreCorpus(
    ROUGE_TYPES,
    unstemmed.map((c) => c.prediction),
    unstemmed.map((c) => c.references),
  );
  for (const type of ROUGE_TYPES) {
    const expected = (vectors.rouge.corpus_unstemmed_mean as Record<string, number>)[type];
    assertClose(out[type], expected, TOL, `corpus ${type}`);
  }
});

Deno.test("rouge tokenizer matches rouge-score's DefaultTokenizer", () => {
  for (const { text, tokens, stemmed } of vectors.rouge.tokenize) {
    assert.deepEqual(rougeTokenize(text), tokens, text);
    assert.deepEqual(rougeTokenize(text, { useStemmer: true }), stemmed, text);
  }
});

Deno.test("porterStem matches NLTK's PorterStemmer() (the stemmer rouge-score uses)", () => {
  const words = Object.entries(vectors.porter.words);
  assert.ok(words.length >= 100);
  for (const [word, stem] of words) assert.equal(porterStem(word), stem, word);
});

Deno.test("bleu4 matches CodeXGLUE's smoothed BLEU, item by item and over the corpus", () => {
  const metric = itemMetric("bleu4");
  const { cases, corpus, corpus_via_files } = vectors.bleu4;
  assert.ok(cases.length >= 8);
  for (const c of cases) {
    const label = show({ prediction: c.prediction, references: c.references });
    assertRelClose(metric.score(c.prediction, c.references), c.expected, BLEU_RTOL, label);
  }
  const all = scoreCorpus(
    ["bleu4"],
    cases.map((c) => c.prediction),
    cases.map((c) => c.references),
  );
  assertRelClose(all.bleu4, corpus.expected, BLEU_RTOL, "corpus bleu4");
  const subset = corpus_via_files.indices.map((i) => cases[i]);
  const viaFiles = scoreCorpus(
    ["bleu4"],
    subset.map((c) => c.prediction),
    subset.map((c) => c.references),
  );
  assertRelClose(viaFiles.bleu4, corpus_via_files.expected, BLEU_RTOL, "corpus bleu4 (TSV files)");
});

Deno.test("bleu4 is on the 0–100 scale; other item metrics on 0–1", () => {
  assert.equal(itemMetric("bleu4").score("a b c d", ["a b c d"]), 100);
  for (const name of ["exact_match", "em", "f1", "rouge1", "rougeLsum", "acc"]) {
    assert.equal(itemMetric(name).score("a b c d", ["a b c d"]), 1, name);
  }
});

Deno.test("acc compares trimmed, lowercased labels with the first reference", () => {
  const metric = itemMetric("acc");
  assert.ok(vectors.acc.cases.length >= 8);
  for (const { prediction, references, expected } of vectors.acc.cases) {
    assert.equal(metric.score(prediction, references), expected, show({ prediction, references }));
  }
});

Deno.test("per_class_accuracy and macro_f1 match scikit-learn", () => {
  const { cases } = vectors.classification;
  assert.ok(cases.length >= 8);
  for (const c of cases) {
    const label = show({ predictions: c.predictions, references: c.references });
    const perClass = scoreCorpus(["per_class_accuracy"], c.predictions, c.references);
    assert.deepEqual(Object.keys(perClass).sort(), Object.keys(c.per_class_accuracy).sort(), label);
    for (const [key, value] of Object.entries(c.per_class_accuracy)) {
      assertClose(perClass[key], value, TOL, `${key} ${label}`);
    }
    const macro = scoreCorpus(["macro_f1"], c.predictions, c.references);
    assertClose(macro.macro_f1, c.macro_f1.macro_f1, TOL, `macro_f1 ${label}`);
  }
});

Deno.test("getMetric names the unknown metric and lists the known ones", () => {
  assert.throws(
    () => getMetric("bleu"),
    (e: Error) => {
      assert.match(e.message, /unknown metric "bleu"/);
      for (const m of listMetrics()) assert.ok(e.message.includes(m.name), m.name);
      return true;
    },
  );
});

Deno.test("listMetrics has every name task files may use, each documented", () => {
  const names = listMetrics().map((m) => m.name);
  for (
    const name of [
      "exact_match",
      "em",
      "f1",
      "rouge1",
      "rouge2",
      "rougeL",
      "rougeLsum",
      "bleu4",
      "acc",
      "per_class_accuracy",
      "macro_f1",
    ]
  ) {
    assert.ok(names.includes(name), name);
  }
  assert.equal(new Set(names).size, names.length, "names are unique");
  for (const m of listMetrics()) {
    assert.ok(m.description.length > 20, `${m.name} has a description`);
    assert.equal(m.higherIsBetter, true, m.name);
  }
});

Deno.test("scoreCorpus merges corpus-metric keys and rejects bad input with a reason", () => {
  const out = scoreCorpus(
    ["acc", "per_class_accuracy", "macro_f1"],
    ["yes", "no", "no"],
    [["yes"], ["yes"], ["no"]],
  );
  assert.deepEqual(Object.keys(out), ["acc", "acc_no", "acc_yes", "macro_f1"]);
  assertClose(out.acc, 2 / 3, TOL, "acc");
  assert.throws(() => scoreCorpus(["em"], ["a"], []), /1 predictions but 0 reference lists/);
  assert.throws(() => scoreCorpus(["em"], [], []), /no items to score/);
  assert.throws(() => scoreCorpus(["em"], ["a", "b"], [["a"], []]), /item 1 has no references/);
  assert.throws(() => scoreCorpus(["em", "em"], ["a"], [["a"]]), /would overwrite the value "em"/);
  assert.throws(() => scoreCorpus(["nope"], ["a"], [["a"]]), /unknown metric "nope"/);
  assert.throws(() => itemMetric("f1").score("a", []), /f1: references is empty/);
});

Deno.test("binaryF1 is scikit-learn's f1_score(golds, preds) with pos_label=1 (lm-eval's multiple-choice f1)", () => {
  // tp = 2 (items 2, 5), fp = 1 (item 1), fn = 1 (item 3): 2·2 / (2·2 + 1 + 1)
  assert.equal(binaryF1([0, 1, 1, 0, 1], [1, 1, 0, 0, 1]), 4 / 6);
  assert.equal(binaryF1([1, 1], [1, 1]), 1);
  assert.equal(binaryF1([1, 0], [0, 1]), 0);
  // no positive gold and no positive prediction: zero_division's default, 0
  assert.equal(binaryF1([0, 0, 0], [0, 0, 0]), 0);
  // only choice index 1 is positive
  assert.equal(binaryF1([1, 2, 1], [1, 1, 2]), 2 / 4);
});
