/**
 * ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F-measures with the semantics of Google's `rouge-score`
 * package (`rouge_score.rouge_scorer.RougeScorer`, the implementation Hugging Face `evaluate` and
 * lm-evaluation-harness call):
 *
 * - Tokenizer (rouge-score's default): lowercase, replace every run of characters outside
 *   `[a-z0-9]` by a space, split; accented and non-Latin letters are therefore dropped.
 * - `useStemmer` (default `false`, as in `RougeScorer` and HF `evaluate`): stem tokens longer than
 *   3 characters with the Porter stemmer as NLTK's default `PorterStemmer()` runs it.
 * - `rougeN`: clipped n-gram overlap; precision and recall divide by `max(count, 1)`.
 * - `rougeL`: longest common subsequence over the whole text (newlines are ordinary spaces).
 * - `rougeLsum`: summary-level LCS — the texts are split into sentences on `"\n"` (empty lines
 *   dropped) and each reference sentence is scored by the union of its LCS with every predicted
 *   sentence, counting each token at most as often as it occurs on both sides (ROUGE 1.5.5).
 * - Several references: the best F-measure over the references, per ROUGE type (rouge-score's
 *   `score_multi`).
 *
 * Values are F-measures on the 0–1 scale; a corpus value is the plain mean over items (HF
 * `evaluate` with `use_aggregator=True` reports a bootstrap median of means instead, which can
 * differ slightly).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rouge1, rougeL, rougeScore } from "./rouge.ts";
 * const ref = ["The quick brown fox jumps over the lazy dog"];
 * strictEqual(rouge1.score("The quick brown dog jumps on the log.", ref), 0.7058823529411765);
 * strictEqual(rougeL.score("The quick brown dog jumps on the log.", ref), 0.5882352941176471);
 * strictEqual(rougeScore("rouge1", "jumping dogs", ["dog jumps"], { useStemmer: true }), 1);
 * ```
 * @module
 */
import type { ItemMetric } from "./mod.ts";
import { porterStem } from "./_porter.ts";
import { countKeys, maxOverReferences } from "./_text.ts";

/** The ROUGE variants this module computes. */
export type RougeType = "rouge1" | "rouge2" | "rougeL" | "rougeLsum";

/** Options of the ROUGE functions. */
export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters before matching. Default: `false`. */
  useStemmer?: boolean;
}

/** rouge-score stems only tokens longer than this many characters. */
const STEM_MIN_EXCLUSIVE_LENGTH = 3;
/** Sentence separator of `rougeLsum` (rouge-score with `split_summaries=False`). */
const SENTENCE_SEPARATOR = "\n";
const NON_ALPHANUMERIC_RUN = /[^a-z0-9]+/g;
const ALPHANUMERIC_TOKEN = /^[a-z0-9]+$/;

/**
 * rouge-score's default tokenizer: lowercase, keep runs of `[a-z0-9]`, optionally Porter-stem
 * tokens longer than 3 characters.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { rougeTokenize } from "./rouge.ts";
 * deepStrictEqual(rougeTokenize("The cats' naïve running!", { useStemmer: true }), [
 *   "the",
 *   "cat",
 *   "na",
 *   "ve",
 *   "run",
 * ]);
 * ```
 */
export function rougeTokenize(text: string, options: RougeOptions = {}): string[] {
  const useStemmer = options.useStemmer ?? false;
  let tokens = text.toLowerCase().replace(NON_ALPHANUMERIC_RUN, " ").split(" ");
  if (useStemmer) {
    tokens = tokens.map((t) => (t.length > STEM_MIN_EXCLUSIVE_LENGTH ? porterStem(t) : t));
  }
  return tokens.filter((t) => ALPHANUMERIC_TOKEN.test(t));
}

/** F-measure from precision and recall; 0 when both are 0. */
function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const keys: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) keys.push(tokens.slice(i, i + n).join(" "));
  return countKeys(keys);
}

function ngramFmeasure(
  target: readonly string[],
  prediction: readonly string[],
  n: number,
): number {
  const targetNgrams = ngramCounts(target, n);
  const predictionNgrams = ngramCounts(prediction, n);
  let overlap = 0;
  for (const [ngram, count] of targetNgrams) {
    overlap += Math.min(count, predictionNgrams.get(ngram) ?? 0);
  }
  const targetTotal = Math.max(target.length - n + 1, 0);
  const predictionTotal = Math.max(prediction.length - n + 1, 0);
  return fmeasure(overlap / Math.max(predictionTotal, 1), overlap / Math.max(targetTotal, 1));
}

/** The (rows+1)×(cols+1) LCS length table, row-major. */
function lcsTable(ref: readonly string[], can: readonly string[]): Int32Array {
  const cols = can.length + 1;
  const table = new Int32Array((ref.length + 1) * cols);
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      table[i * cols + j] = ref[i - 1] === can[j - 1]
        ? table[(i - 1) * cols + j - 1] + 1
        : Math.max(table[(i - 1) * cols + j], table[i * cols + j - 1]);
    }
  }
  return table;
}

function lcsFmeasure(target: readonly string[], prediction: readonly string[]): number {
  if (target.length === 0 || prediction.length === 0) return 0;
  const lcs =
    lcsTable(target, prediction)[target.length * (prediction.length + 1) + prediction.length];
  return fmeasure(lcs / prediction.length, lcs / target.length);
}

/** Indices into `ref` of one LCS with `can`, read back as rouge-score's `_backtrack_norec` does. */
function lcsIndices(ref: readonly string[], can: readonly string[]): number[] {
  const table = lcsTable(ref, can);
  const cols = can.length + 1;
  const indices: number[] = [];
  let i = ref.length;
  let j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      indices.push(i - 1);
      i--;
      j--;
    } else if (table[i * cols + j - 1] > table[(i - 1) * cols + j]) {
      j--;
    } else {
      i--;
    }
  }
  return indices.reverse();
}

function summaryLcsFmeasure(targetSents: string[][], predictionSents: string[][]): number {
  if (targetSents.length === 0 || predictionSents.length === 0) return 0;
  const m = targetSents.reduce((sum, s) => sum + s.length, 0);
  const n = predictionSents.reduce((sum, s) => sum + s.length, 0);
  if (m === 0 || n === 0) return 0;
  const targetCounts = countKeys(targetSents.flat());
  const predictionCounts = countKeys(predictionSents.flat());
  let hits = 0;
  for (const ref of targetSents) {
    const union = new Set<number>();
    for (const can of predictionSents) for (const i of lcsIndices(ref, can)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const token = ref[i];
      const inPrediction = predictionCounts.get(token) ?? 0;
      const inTarget = targetCounts.get(token) ?? 0;
      if (inPrediction > 0 && inTarget > 0) {
        hits++;
        predictionCounts.set(token, inPrediction - 1);
        targetCounts.set(token, inTarget - 1);
      }
    }
  }
  return fmeasure(hits / n, hits / m);
}

function sentences(text: string, options: RougeOptions): string[][] {
  return text.split(SENTENCE_SEPARATOR).filter((s) => s.length > 0).map((s) =>
    rougeTokenize(s, options)
  );
}

/** ROUGE F-measure of one prediction against one reference text. */
function rougeSingle(
  type: RougeType,
  prediction: string,
  reference: string,
  options: RougeOptions,
): number {
  switch (type) {
    case "rouge1":
      return ngramFmeasure(
        rougeTokenize(reference, options),
        rougeTokenize(prediction, options),
        1,
      );
    case "rouge2":
      return ngramFmeasure(
        rougeTokenize(reference, options),
        rougeTokenize(prediction, options),
        2,
      );
    case "rougeL":
      return lcsFmeasure(rougeTokenize(reference, options), rougeTokenize(prediction, options));
    case "rougeLsum":
      return summaryLcsFmeasure(sentences(reference, options), sentences(prediction, options));
  }
}

/**
 * ROUGE F-measure (0–1) of a prediction: the best over the references, as rouge-score's
 * `RougeScorer([type], use_stemmer).score_multi(references, prediction)[type].fmeasure`.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rougeScore } from "./rouge.ts";
 * strictEqual(rougeScore("rougeLsum", "a b\nc d", ["a b c d"]), 1);
 * strictEqual(rougeScore("rouge2", "a b c", ["x y", "a b c"]), 1);
 * ```
 */
export function rougeScore(
  type: RougeType,
  prediction: string,
  references: readonly string[],
  options: RougeOptions = {},
): number {
  return maxOverReferences(
    type,
    references,
    (reference) => rougeSingle(type, prediction, reference, options),
  );
}

const DESCRIPTIONS: Record<RougeType, string> = {
  rouge1: "ROUGE-1 F-measure (unigram overlap), rouge-score semantics, best over references, 0–1",
  rouge2: "ROUGE-2 F-measure (bigram overlap), rouge-score semantics, best over references, 0–1",
  rougeL: "ROUGE-L F-measure (longest common subsequence), rouge-score semantics, 0–1",
  rougeLsum:
    "ROUGE-Lsum F-measure (summary-level union LCS, sentences split on newlines), rouge-score semantics, 0–1",
};

/**
 * A ROUGE item metric with the given options, for callers who want stemming on.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rougeMetric } from "./rouge.ts";
 * const stemmed = rougeMetric("rouge1", { useStemmer: true });
 * strictEqual(stemmed.name, "rouge1");
 * strictEqual(stemmed.score("cats running", ["cat runs"]), 1);
 * ```
 */
export function rougeMetric(type: RougeType, options: RougeOptions = {}): ItemMetric {
  const stemmed = options.useStemmer ?? false;
  return {
    kind: "item",
    name: type,
    description: DESCRIPTIONS[type] + (stemmed ? " (Porter-stemmed)" : ""),
    higherIsBetter: true,
    score(prediction: string, references: string[]): number {
      return rougeScore(type, prediction, references, options);
    },
  };
}

/**
 * `rouge1`: ROUGE-1 F-measure, no stemming.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rouge1 } from "./rouge.ts";
 * strictEqual(rouge1.score("the cat", ["the cat sat"]), 0.8);
 * ```
 */
export const rouge1: ItemMetric = rougeMetric("rouge1");

/**
 * `rouge2`: ROUGE-2 F-measure, no stemming.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rouge2 } from "./rouge.ts";
 * strictEqual(rouge2.score("the cat", ["the cat sat"]), 0.6666666666666666);
 * ```
 */
export const rouge2: ItemMetric = rougeMetric("rouge2");

/**
 * `rougeL`: ROUGE-L F-measure, no stemming.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rougeL } from "./rouge.ts";
 * strictEqual(rougeL.score("cat the", ["the cat"]), 0.5);
 * ```
 */
export const rougeL: ItemMetric = rougeMetric("rougeL");

/**
 * `rougeLsum`: ROUGE-Lsum F-measure (sentences split on newlines), no stemming.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rougeLsum } from "./rouge.ts";
 * strictEqual(rougeLsum.score("b c\na", ["a\nb c"]), 1);
 * ```
 */
export const rougeLsum: ItemMetric = rougeMetric("rougeLsum");
