/**
 * The metric registry: every metric tunebook scores generations with, by name.
 *
 * | name                 | kind   | scale | what                                                                 |
 * | -------------------- | ------ | ----- | -------------------------------------------------------------------- |
 * | `exact_match`        | item   | 0–1   | HF evaluate's exact match, as lm-eval runs it (options: see module)  |
 * | `em`                 | item   | 0–1   | SQuAD v1.1 exact match after `normalize_answer`                      |
 * | `f1`                 | item   | 0–1   | SQuAD v1.1 token F1 after `normalize_answer`                         |
 * | `rouge1` … `rougeLsum` | item | 0–1   | rouge-score F-measures, no stemming                                  |
 * | `bleu4`              | item   | 0–100 | CodeXGLUE code-to-text smoothed sentence BLEU-4                      |
 * | `acc`                | item   | 0–1   | label equals the first reference (trim + lowercase)                  |
 * | `per_class_accuracy` | corpus | 0–1   | `acc_<label>`: recall of each gold label                             |
 * | `macro_f1`           | corpus | 0–1   | scikit-learn macro F1                                                |
 *
 * Item metrics take the best score over an item's references (BLEU instead scores all references
 * together, as its reference script does) and are averaged over items; corpus metrics need the
 * whole split. `exact_match` and `em` differ on purpose: `exact_match` is lm-eval's comparison
 * (Hugging Face evaluate's, untrimmed; what task files and `deno task score` mean by it), `em` is
 * the SQuAD script's forgiving one. An item metric may take options from a task's `metric_list`
 * entry ({@linkcode ItemMetric.options}: `exact_match`'s `ignore_case` …).
 *
 * The log-likelihood metrics of lm-eval's `loglikelihood` / `loglikelihood_rolling` tasks
 * (`perplexity`, `word_perplexity`, `byte_perplexity`, `bits_per_byte`) are computed from
 * log-likelihoods, not from predicted text, and live in `./perplexity.ts`
 * ({@linkcode listLoglikelihoodMetrics}).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, ok } from "node:assert/strict";
 * import { getMetric, scoreCorpus } from "./mod.ts";
 * const predictions = ["Paris", "the Thames"];
 * const references = [["Paris"], ["River Thames", "Thames"]];
 * deepStrictEqual(scoreCorpus(["exact_match", "em", "f1"], predictions, references), {
 *   exact_match: 0.5,
 *   em: 1,
 *   f1: 1,
 * });
 * ok(getMetric("bleu4").description.includes("BLEU"));
 * ```
 * @module
 */
import { mean } from "simple-statistics";
import { bleu4 } from "./bleu.ts";
import { acc, macroF1, perClassAccuracy } from "./classification.ts";
import { exactMatch } from "./exact_match.ts";
import { rouge1, rouge2, rougeL, rougeLsum } from "./rouge.ts";
import { em, f1 } from "./squad.ts";

export {
  bitsPerByte,
  bytePerplexity,
  countBytes,
  countWords,
  getLoglikelihoodMetric,
  listLoglikelihoodMetrics,
  type LoglikelihoodItem,
  type LoglikelihoodMetric,
  perplexity,
  wordPerplexity,
} from "./perplexity.ts";
export { type ExactMatchOptions, exactMatchScore, parseExactMatchOptions } from "./exact_match.ts";
export { binaryF1 } from "./classification.ts";

/** A metric scored per item and averaged (mean) over the corpus. */
export interface ItemMetric {
  /** Discriminant: `"item"`. */
  kind: "item";
  /** Registry name, as task files and the CLI spell it. */
  name: string;
  /** One line: what it measures, its reference implementation and its scale. */
  description: string;
  /** Whether larger values are better. */
  higherIsBetter: boolean;
  /** The score of one prediction given its references (at least one). */
  score(prediction: string, references: string[]): number;
  /**
   * Options a task's `metric_list` entry may set for this metric (lm-eval passes the entry's
   * other keys to the metric as keyword arguments), by name, with the type each takes. Default:
   * none.
   */
  options?: Readonly<Record<string, MetricOptionType>>;
  /**
   * This metric with options applied (names from {@linkcode ItemMetric.options}, values of their
   * types). Throws an `Error` saying which option is wrong.
   */
  withOptions?(options: Readonly<Record<string, unknown>>): ItemMetric;
}

/** The type of a metric option: a boolean, or a list of Python regular expressions. */
export type MetricOptionType = "boolean" | "regex_list";

/** A metric that needs the whole corpus (e.g. macro-F1); may return several named values. */
export interface CorpusMetric {
  /** Discriminant: `"corpus"`. */
  kind: "corpus";
  /** Registry name, as task files and the CLI spell it. */
  name: string;
  /** One line: what it measures, its reference implementation and its scale. */
  description: string;
  /** Whether larger values are better. */
  higherIsBetter: boolean;
  /** Named corpus-level values from all predictions and their references (same length). */
  compute(predictions: string[], references: string[][]): Record<string, number>;
  /**
   * How many items each value of {@linkcode CorpusMetric.compute} is computed from, by the same
   * keys (e.g. the items of one gold label for `acc_<label>`); a key left out is computed from
   * every item. Reported as the value's `n`. Default: every value from every item.
   */
  support?(predictions: string[], references: string[][]): Record<string, number>;
}

/** Any registered metric. */
export type Metric = ItemMetric | CorpusMetric;

/** Every registered metric, in listing order. */
const METRICS: readonly Metric[] = [
  exactMatch,
  em,
  f1,
  rouge1,
  rouge2,
  rougeL,
  rougeLsum,
  bleu4,
  acc,
  perClassAccuracy,
  macroF1,
];
const BY_NAME: ReadonlyMap<string, Metric> = new Map(METRICS.map((m) => [m.name, m]));

/**
 * Every registered metric, in a stable order.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { listMetrics } from "./mod.ts";
 * ok(listMetrics().some((m) => m.name === "rougeL"));
 * ```
 */
export function listMetrics(): Metric[] {
  return [...METRICS];
}

/**
 * The metric registered under `name`. Throws an `Error` naming the unknown metric and listing the
 * known ones.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { getMetric } from "./mod.ts";
 * const metric = getMetric("f1");
 * strictEqual(metric.kind, "item");
 * if (metric.kind === "item") strictEqual(metric.score("a red car", ["the red car"]), 1);
 * ```
 */
export function getMetric(name: string): Metric {
  const metric = BY_NAME.get(name);
  if (!metric) {
    throw new Error(
      `unknown metric "${name}"; known metrics: ${METRICS.map((m) => m.name).join(", ")}`,
    );
  }
  return metric;
}

/** Metrics reported on 0–100 (CodeXGLUE's smoothed BLEU, sacrebleu's BLEU, chrF, TER). */
const PERCENT_SCALE = /^(bleu|sacrebleu|chrf|ter)/;

/**
 * The full scale of a metric: 100 for the BLEU family (reported on 0–100, as CodeXGLUE and
 * sacrebleu do), else 1. Means over tasks and figures that put several tasks on one axis divide
 * by it, so a BLEU of 18.5 counts as 0.185 beside an accuracy of 0.53.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricScale } from "./mod.ts";
 * assert.deepEqual([metricScale("bleu4"), metricScale("acc"), metricScale("exact_match,strict-match")], [100, 1, 1]);
 * ```
 */
export function metricScale(metric: string): number {
  return PERCENT_SCALE.test(metric.split(",")[0]) ? 100 : 1;
}

/**
 * Checks that predictions and references line up and every item has a reference; throws an
 * `Error` saying which item is wrong otherwise.
 */
function checkCorpus(predictions: string[], references: string[][]): void {
  if (predictions.length !== references.length) {
    throw new Error(
      `scoreCorpus: ${predictions.length} predictions but ${references.length} reference lists; give one reference list per prediction`,
    );
  }
  if (predictions.length === 0) {
    throw new Error("scoreCorpus: no items to score; give at least one prediction");
  }
  references.forEach((refs, i) => {
    if (refs.length === 0) {
      throw new Error(`scoreCorpus: item ${i} has no references; give at least one per item`);
    }
  });
}

/**
 * Corpus-level values of the named metrics, computed with `metrics` (by default the registry,
 * {@linkcode getMetric}). An item metric contributes its name and the mean of its per-item
 * scores; a corpus metric contributes the keys {@linkcode CorpusMetric.compute} returns. Throws on
 * an unknown name, on mismatched lengths, on an empty corpus, on an item without references, and
 * when two metrics would write the same key.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { scoreCorpus } from "./mod.ts";
 * const out = scoreCorpus(["acc", "per_class_accuracy"], ["yes", "no"], [["yes"], ["yes"]]);
 * deepStrictEqual(out, { acc: 0.5, acc_yes: 0.5 });
 * ```
 */
export function scoreCorpus(
  names: string[],
  predictions: string[],
  references: string[][],
  metrics: (name: string) => Metric = getMetric,
): Record<string, number> {
  const resolved = names.map((name) => [name, metrics(name)] as const);
  checkCorpus(predictions, references);
  const out: Record<string, number> = {};
  const put = (key: string, value: number, from: string) => {
    if (key in out) {
      throw new Error(
        `scoreCorpus: metric "${from}" would overwrite the value "${key}"; list each metric once`,
      );
    }
    out[key] = value;
  };
  for (const [name, metric] of resolved) {
    if (metric.kind === "item") {
      put(
        name,
        mean(predictions.map((prediction, i) => metric.score(prediction, references[i]))),
        name,
      );
    } else {
      for (const [key, value] of Object.entries(metric.compute(predictions, references))) {
        put(key, value, name);
      }
    }
  }
  return out;
}
