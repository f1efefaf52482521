/**
 * Token lengths with the target model's own tokenizer (lib/llm/tokenizer.ts: vocabulary only, no
 * weights are loaded), counted exactly as the trainer counts a row under the model's rules
 * (lib/llm/tokenizer_rules.ts `trainingTokens`) — BOS when the model adds one, the tokens of
 * `prompt + completion`, and EOS when it has one — and a filter that drops rows longer than a
 * limit.
 *
 * @example
 * ```ts ignore
 * import { loadModelTokenizer } from "./token_length.ts";
 * const tok = await loadModelTokenizer("data/models/tiny/tiny-f32.gguf");
 * console.log(tok.count("Question: What is 2 plus 2?"), tok.contextLength);
 * await tok.dispose();
 * ```
 * @module
 */
import type { ChatTemplate } from "../llm/chat.ts";
import { loadTokenizer, type Tokenizer, VocabularyLoadError } from "../llm/tokenizer.ts";
import { type Example, exampleWhere, type Reject, type StageResult } from "./examples.ts";
import type { SpecialTokenTexts, TrainerRow } from "./trainer_format.ts";

/** Options of {@linkcode TokenCounter.count}. */
export interface CountOptions {
  /**
   * Read special-token text as those tokens (a chat template's markup, as the trainer's tokenizer
   * reads a formatted row); false counts all text literally. Default: false.
   */
  specialTokens?: boolean;
}

/** Counts tokens the way the trainer encodes a row. */
export interface TokenCounter {
  /** Tokens of `text` alone (no BOS/EOS). */
  count(text: string, options?: CountOptions): number;
  /**
   * Whether `text` holds special-token text of the vocabulary (then a message's content is
   * counted literally, never as markup). Default (absent): no text does.
   */
  hasSpecialText?(text: string): boolean;
  /**
   * Tokens the trainer adds around every row: BOS when the model adds one
   * (`TokenizerRules.addBos`), EOS when it has one (every example ends with it).
   */
  readonly specialTokens: number;
}

/** A model's tokenizer, its context length and its chat template. */
export interface ModelTokenizer extends TokenCounter {
  /** Absolute path of the GGUF file. */
  path: string;
  /** The model's training context length (tokens). */
  contextLength: number;
  /** The chat template stored in the GGUF, if any. */
  template?: ChatTemplate;
  /** The texts of its BOS and EOS tokens. */
  tokens: SpecialTokenTexts;
  /** Free the native vocabulary. */
  dispose(): Promise<void>;
}

/**
 * Load a GGUF model's tokenizer (vocabulary only). A missing or unreadable file throws a message
 * naming it and the fix.
 *
 * @example
 * ```ts ignore
 * import { loadModelTokenizer } from "./token_length.ts";
 * const tok = await loadModelTokenizer("data/models/tiny/tiny-f32.gguf");
 * console.log(tok.template?.source.slice(0, 30));
 * ```
 */
export async function loadModelTokenizer(path: string): Promise<ModelTokenizer> {
  let tok: Tokenizer;
  try {
    tok = await loadTokenizer(path);
  } catch (e) {
    if (!(e instanceof VocabularyLoadError)) throw e;
    throw new Error(`${e.message}; pass another --model, or --model none to skip token lengths`);
  }
  return {
    path: tok.path,
    contextLength: tok.contextLength,
    ...(tok.template ? { template: tok.template } : {}),
    tokens: {
      bosToken: tok.bos?.text ?? "",
      eosToken: tok.eos?.text ?? "",
      addBos: tok.rules.addBos,
    },
    specialTokens: (tok.rules.addBos ? 1 : 0) + (tok.eos ? 1 : 0),
    count: (text, options = {}) =>
      options.specialTokens ? tok.tokenize(text, { specialTokens: true }).length : tok.count(text),
    hasSpecialText: (text) => tok.hasSpecialText(text),
    dispose: () => tok.dispose(),
  };
}

/**
 * Tokens of each trainer row: `prompt + completion` plus the trainer's BOS/EOS
 * (`counter.specialTokens`), as the trainer encodes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenCounts } from "./token_length.ts";
 * const words = { count: (t: string) => t.split(/\s+/).filter(Boolean).length, specialTokens: 2 };
 * const counts = tokenCounts([{ id: "1", prompt: "Q: a b ", completion: "c" }], words);
 * assert.deepEqual(counts, Int32Array.of(6)); // 4 words + BOS + EOS
 * ```
 */
export function tokenCounts(
  rows: readonly TrainerRow[],
  counter: TokenCounter,
  options: TokenCountsOptions = {},
): Int32Array {
  const { markup = [] } = options;
  return Int32Array.from(
    rows,
    (r, i) =>
      counter.count(r.prompt + r.completion, { specialTokens: markup[i] ?? false }) +
      counter.specialTokens,
  );
}

/** Options of {@linkcode tokenCounts}. */
export interface TokenCountsOptions {
  /**
   * Per row: whether its text is a chat template's render whose special-token text is the
   * template's own markup (read as tokens, as the trainer's tokenizer does); other rows are counted
   * literally. Default: none (every row literally).
   */
  markup?: readonly boolean[];
}

/** Options of {@linkcode filterTokenLength}. */
export interface TokenLengthOptions {
  /** Longest row kept, in tokens (BOS and EOS included). Required: the CLI defaults it to the model's context length. */
  maxTokens: number;
}

/**
 * Drop the examples whose token count (aligned with `examples`) exceeds `maxTokens`, as
 * `too_long` rejects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filterTokenLength } from "./token_length.ts";
 * const ex = (i: number) => ({ index: i, row: { i }, messages: [{ role: "user" as const, content: "x" }] });
 * const out = filterTokenLength([ex(0), ex(1)], Int32Array.of(10, 900), { maxTokens: 512 });
 * assert.equal(out.kept.length, 1);
 * assert.deepEqual(out.rejects[0].matched, { tokens: 900, max_tokens: 512 });
 * ```
 */
export function filterTokenLength(
  examples: readonly Example[],
  counts: Int32Array,
  options: TokenLengthOptions,
): StageResult {
  const { maxTokens } = options;
  if (counts.length !== examples.length) {
    throw new Error(
      `token counts (${counts.length}) do not match the examples (${examples.length}); ` +
        `count the formatted rows of these examples`,
    );
  }
  const kept: Example[] = [];
  const rejects: Reject[] = [];
  examples.forEach((ex, i) => {
    if (counts[i] <= maxTokens) {
      kept.push(ex);
      return;
    }
    rejects.push({
      rule: "too_long",
      row: ex.row,
      index: ex.index,
      matched: { tokens: counts[i], max_tokens: maxTokens },
      reason: `${exampleWhere(ex)}: ${counts[i]} tokens > maxTokens=${maxTokens}`,
    });
  });
  return { kept, rejects };
}
