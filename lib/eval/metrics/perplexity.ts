/**
 * The log-likelihood metrics of lm-evaluation-harness's `loglikelihood` and
 * `loglikelihood_rolling` output types, with its aggregations (`lm_eval/api/metrics.py`) and its
 * word and byte counts (`Task.count_words`, `Task.count_bytes`):
 *
 * | name              | output type             | per item                 | aggregation (lm-eval's name)              |
 * | ----------------- | ----------------------- | ------------------------ | ----------------------------------------- |
 * | `perplexity`      | `loglikelihood`         | log-likelihood `ll`      | `exp(-mean(ll))` (`perplexity`)           |
 * | `word_perplexity` | `loglikelihood_rolling` | `ll`, words of the text  | `exp(-Σll / Σwords)` (`weighted_perplexity`) |
 * | `byte_perplexity` | `loglikelihood_rolling` | `ll`, UTF-8 bytes        | `exp(-Σll / Σbytes)` (`weighted_perplexity`) |
 * | `bits_per_byte`   | `loglikelihood_rolling` | `ll`, UTF-8 bytes        | `-Σll / Σbytes / ln 2` (`bits_per_byte`)  |
 *
 * Log-likelihoods are natural logarithms; lower is better for all four. Words are lm-eval's
 * `len(re.split(r"\s+", text))`: the pieces between runs of whitespace, so leading or trailing
 * whitespace adds an (empty) word, as it does there.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { countWords, getLoglikelihoodMetric } from "./perplexity.ts";
 * const items = [{ loglikelihood: -6, words: 3, bytes: 12 }, { loglikelihood: -2, words: 1, bytes: 4 }];
 * strictEqual(getLoglikelihoodMetric("word_perplexity")!.aggregate(items), Math.exp(8 / 4));
 * strictEqual(countWords("one two  three\n"), 4);
 * ```
 * @module
 */
import { PY_WHITESPACE_CLASS } from "./_text.ts";

/** What one scored item contributes to the log-likelihood metrics. */
export interface LoglikelihoodItem {
  /** Log-likelihood (natural log) of the scored text: a continuation, or a whole document. */
  loglikelihood: number;
  /** Words of the document ({@linkcode countWords}); needed by `word_perplexity`. */
  words?: number;
  /** UTF-8 bytes of the document ({@linkcode countBytes}); needed by the byte metrics. */
  bytes?: number;
}

/** A metric computed from the log-likelihoods of a split's items. */
export interface LoglikelihoodMetric {
  /** Registry name, as task files spell it. */
  name: string;
  /** One line: what it measures and its reference. */
  description: string;
  /** Always false: lower is better. */
  higherIsBetter: boolean;
  /** The output type whose items it is computed from. */
  outputType: "loglikelihood" | "loglikelihood_rolling";
  /** lm-eval's name of its aggregation (what `metric_list[].aggregation` may say). */
  aggregation: "perplexity" | "weighted_perplexity" | "bits_per_byte";
  /** The value over the items (at least one). */
  aggregate(items: readonly LoglikelihoodItem[]): number;
}

const WHITESPACE_RUN = new RegExp(`[${PY_WHITESPACE_CLASS}]+`, "u");
const ENCODER = new TextEncoder();

/**
 * lm-eval's word count of a document: `len(re.split(r"\s+", text))` (Python's Unicode `\s`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { countWords } from "./perplexity.ts";
 * strictEqual(countWords(" = Valkyria = \n"), 5);
 * strictEqual(countWords(""), 1);
 * ```
 */
export function countWords(text: string): number {
  return text.split(WHITESPACE_RUN).length;
}

/**
 * lm-eval's byte count of a document: `len(text.encode("utf-8"))`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { countBytes } from "./perplexity.ts";
 * strictEqual(countBytes("café"), 5);
 * ```
 */
export function countBytes(text: string): number {
  return ENCODER.encode(text).length;
}

function checked(metric: string, items: readonly LoglikelihoodItem[]): void {
  if (items.length === 0) throw new Error(`${metric}: no items; give at least one`);
}

/** Python's `sum(a) / sum(b)` over (log-likelihood, weight) pairs (`weighted_mean`). */
function weightedMean(
  metric: string,
  items: readonly LoglikelihoodItem[],
  weight: "words" | "bytes",
): number {
  checked(metric, items);
  let a = 0, b = 0;
  items.forEach((item, i) => {
    const w = item[weight];
    if (w === undefined) throw new Error(`${metric}: item ${i} has no ${weight} count`);
    a += item.loglikelihood;
    b += w;
  });
  return a / b;
}

/** `perplexity`: `exp(-mean(ll))` over the continuations' log-likelihoods. */
export const perplexity: LoglikelihoodMetric = {
  name: "perplexity",
  description:
    "lm-eval perplexity of the continuations: exp(-mean log-likelihood), lower is better",
  higherIsBetter: false,
  outputType: "loglikelihood",
  aggregation: "perplexity",
  aggregate(items) {
    checked("perplexity", items);
    let sum = 0;
    for (const item of items) sum += item.loglikelihood;
    return Math.exp(-(sum / items.length));
  },
};

/** `word_perplexity`: `exp(-Σll / Σwords)`. */
export const wordPerplexity: LoglikelihoodMetric = {
  name: "word_perplexity",
  description: "lm-eval word perplexity of whole documents: exp(-Σ log-likelihood / Σ words)",
  higherIsBetter: false,
  outputType: "loglikelihood_rolling",
  aggregation: "weighted_perplexity",
  aggregate: (items) => Math.exp(-weightedMean("word_perplexity", items, "words")),
};

/** `byte_perplexity`: `exp(-Σll / Σbytes)`. */
export const bytePerplexity: LoglikelihoodMetric = {
  name: "byte_perplexity",
  description: "lm-eval byte perplexity of whole documents: exp(-Σ log-likelihood / Σ UTF-8 bytes)",
  higherIsBetter: false,
  outputType: "loglikelihood_rolling",
  aggregation: "weighted_perplexity",
  aggregate: (items) => Math.exp(-weightedMean("byte_perplexity", items, "bytes")),
};

/** `bits_per_byte`: `-Σll / Σbytes / ln 2`. */
export const bitsPerByte: LoglikelihoodMetric = {
  name: "bits_per_byte",
  description: "lm-eval bits per byte of whole documents: -Σ log-likelihood / Σ UTF-8 bytes / ln 2",
  higherIsBetter: false,
  outputType: "loglikelihood_rolling",
  aggregation: "bits_per_byte",
  aggregate: (items) => -weightedMean("bits_per_byte", items, "bytes") / Math.log(2),
};

const LOGLIKELIHOOD_METRICS: readonly LoglikelihoodMetric[] = [
  perplexity,
  wordPerplexity,
  bytePerplexity,
  bitsPerByte,
];

/**
 * Every log-likelihood metric, in listing order.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { listLoglikelihoodMetrics } from "./perplexity.ts";
 * deepStrictEqual(listLoglikelihoodMetrics().map((m) => m.name), [
 *   "perplexity",
 *   "word_perplexity",
 *   "byte_perplexity",
 *   "bits_per_byte",
 * ]);
 * ```
 */
export function listLoglikelihoodMetrics(): LoglikelihoodMetric[] {
  return [...LOGLIKELIHOOD_METRICS];
}

/**
 * The log-likelihood metric named `name`, or undefined.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { getLoglikelihoodMetric } from "./perplexity.ts";
 * strictEqual(getLoglikelihoodMetric("bits_per_byte")?.aggregation, "bits_per_byte");
 * ```
 */
export function getLoglikelihoodMetric(name: string): LoglikelihoodMetric | undefined {
  return LOGLIKELIHOOD_METRICS.find((m) => m.name === name);
}
