/**
 * Synthetic task families that mirror the seed workflows' benchmarks, and the
 * pretraining corpus of the bundled tiny model.
 *
 * Six families, each deterministic from a seed, one file each:
 * - `arithmetic` (arithmetic.ts): 1–3 digit plus / minus / times, in lm-evaluation-harness's
 *   arithmetic format (`context` = "Question: What is 7 plus 5?\nAnswer:", `completion` = " 12").
 * - `entailment` (entailment.ts): logical puzzles with yes/no labels (tasksource/puzzte shape:
 *   premise, hypothesis, label).
 * - `qa` (qa.ts): extractive QA over short generated contexts (SQuAD v1.1 shape: context,
 *   question, answers).
 * - `facts` (facts.ts): closed-book multiple-choice fact questions with three distractors (sciq
 *   shape).
 * - `summary` (summary.ts): short news passages with a one-sentence summary built from spans of
 *   the passage (XSum shape: document, summary).
 * - `code` (code.ts): tiny Python functions with a one-sentence docstring naming their arguments
 *   (CodeXGLUE code-to-text shape: code_tokens, docstring_tokens).
 *
 * The names and facts come from one world per seed (world.ts); items.ts makes the splits. The
 * pretraining corpus (corpus.ts) states the facts and skills in prose ("7 plus 5 is 12.",
 * "All wugs are daxes. Tom is a wug. So Tom is a dax.") and in a loose quiz style (style.ts:
 * "Q: ... A: ..."), but never in the evaluation prompts' `Question:` / `Answer:` format: the base
 * model knows the material and learns the format only when fine-tuned. By default it covers the
 * four families the bundled tiny model was pretrained on, byte for byte as it was built.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { makeSplits } from "./mod.ts";
 * const splits = makeSplits("arithmetic", { seed: 1234 });
 * strictEqual(splits.test[0].context, "Question: What is 253 minus 64?\nAnswer:");
 * strictEqual(splits.test[0].completion, " 189");
 * ```
 * @module
 */
export type { ArithmeticItem } from "./arithmetic.ts";
export { type ChatConversation, type ChatOptions, makeChatConversations } from "./chat.ts";
export { type CodeItem, codeTokens, DOCSTRING_VOCABULARY, docstringTokens } from "./code.ts";
export {
  CORPUS_PRESETS,
  CORPUS_TINY_256,
  CORPUS_TINY_256_COPY,
  type CorpusOptions,
  makePretrainCorpus,
  PRETRAIN_FAMILIES,
} from "./corpus.ts";
export type { EntailmentItem } from "./entailment.ts";
export type { FactItem } from "./facts.ts";
export {
  FAMILIES,
  type Family,
  type FamilyItem,
  makeItems,
  makeSplits,
  type Split,
  type SplitOptions,
  SPLITS,
  SYNTHETIC_DEFAULTS,
} from "./items.ts";
export type { QaItem } from "./qa.ts";
export { SUMMARY_FUNCTION_WORDS, SUMMARY_KINDS, type SummaryItem } from "./summary.ts";
