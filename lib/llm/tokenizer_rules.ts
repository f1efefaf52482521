/**
 * The model's own tokenization rules — the one policy every tunebook path applies (scoring and
 * generation in lib/llm/engine.ts, the server's prompts, token counts in curation and length
 * buckets, chat renders, the trainer's examples):
 *
 * - **BOS** first exactly when the vocabulary says so: llama.cpp's `llama_vocab_get_add_bos`, which
 *   node-llama-cpp reports as `shouldPrependBosToken` (the GGUF's `tokenizer.ggml.add_bos_token`,
 *   else llama.cpp's default for the tokenizer type and pre-tokenizer: SentencePiece and Llama 3
 *   yes, Qwen2 and GPT-2 no, Gemma 4 always). A text whose special tokens are parsed and that
 *   already starts with BOS (a chat template that writes `{{ bos_token }}`) gets no second one.
 * - **EOS** last exactly when `llama_vocab_get_add_eos` says so (`tokenizer.ggml.add_eos_token`,
 *   else true only for T5-style Unigram vocabularies), for a complete text: a generation prompt.
 *   A scored context is not a complete text (its continuation follows), and a training example
 *   always ends with one EOS, so that the model learns to stop ({@linkcode trainingTokens}).
 * - **Space prefix**: SentencePiece vocabularies put "▁" before the first word of a text, so a
 *   continuation is never tokenized on its own: the whole string is tokenized once and the
 *   continuation's tokens are those past the context's (lm-evaluation-harness's rule, which also
 *   holds for byte-level BPE, where " word" is one token: trailing whitespace of the context
 *   moves to the continuation first, {@linkcode splitTrailingWhitespace}).
 * - **Special-token text** (`<|im_start|>`, `</s>`) is read as those tokens only where the text is
 *   a chat template's own markup (lib/llm/chat.ts); prompts, choices and message contents are
 *   text.
 *
 * node-llama-cpp's `model.tokenize` never adds BOS or EOS itself (it calls llama.cpp with
 * `add_special` false); these functions add them. lib/llm/libllama_vocab.ts is llama.cpp's own
 * tokenizer, the reference this policy is tested against on every vocabulary bundled with
 * llama.cpp's source (tests/model/vocab_rules_test.ts). The Python trainer applies the same rule
 * (python/tunebook/finetune.py: `encode_rows`).
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * import { encodeText, tokenizerRules } from "./tokenizer_rules.ts";
 * const { model } = await loadModel("data/models/tiny/tiny-f32.gguf");
 * console.log(tokenizerRules(model).addBos, encodeText(model, "2 plus 2")); // true [1, …]
 * ```
 * @module
 */
import type { Token } from "node-llama-cpp";
import type { ModelVocabulary } from "./model_vocabulary.ts";

/** A special token of the vocabulary: its id and its text. */
export interface SpecialToken {
  /** Token id. */
  id: Token;
  /** Its text (e.g. "<s>"); "" when the vocabulary gives none. */
  text: string;
}

/** What a model's vocabulary says about BOS and EOS. */
export interface TokenizerRules {
  /** The BOS token, when the vocabulary has one. */
  bos?: SpecialToken;
  /** The EOS token, when the vocabulary has one. */
  eos?: SpecialToken;
  /** Whether a sequence starts with BOS (`llama_vocab_get_add_bos`, and the vocabulary has one). */
  addBos: boolean;
  /** Whether a complete text ends with EOS (`llama_vocab_get_add_eos`, and the vocabulary has one). */
  addEos: boolean;
}

const rulesCache = new WeakMap<ModelVocabulary, TokenizerRules>();

/**
 * The BOS/EOS rules of a loaded model (or vocabulary). `addBos` is node-llama-cpp's
 * `shouldPrependBosToken` (llama.cpp's `llama_vocab_get_add_bos`, per-pre-tokenizer defaults
 * included). `addEos` is read as llama.cpp reads it — `tokenizer.ggml.add_eos_token`, else true for
 * Unigram ("t5") vocabularies only — because node-llama-cpp's `shouldAppendEosToken` is false
 * whenever the vocabulary has no BOS token.
 */
export function tokenizerRules(model: ModelVocabulary): TokenizerRules {
  const cached = rulesCache.get(model);
  if (cached) return cached;
  const t = model.tokens;
  const ggml = (model.fileInfo.metadata as unknown as {
    tokenizer?: { ggml?: { add_eos_token?: unknown; model?: unknown } };
  }).tokenizer?.ggml ?? {};
  const addEosKey = typeof ggml.add_eos_token === "boolean"
    ? ggml.add_eos_token
    : ggml.model === "t5";
  const rules: TokenizerRules = {
    ...(t.bos !== null ? { bos: { id: t.bos, text: t.bosString ?? "" } } : {}),
    ...(t.eos !== null ? { eos: { id: t.eos, text: t.eosString ?? "" } } : {}),
    addBos: t.bos !== null && t.shouldPrependBosToken,
    addEos: t.eos !== null && addEosKey,
  };
  rulesCache.set(model, rules);
  return rules;
}

/** Options of {@linkcode encodeText}. */
export interface EncodeOptions {
  /**
   * Read special-token text (`</s>`, `<|im_start|>`) as those tokens — for a chat template's
   * own markup only; false reads all text literally. Default: false.
   */
  specialTokens?: boolean;
  /** BOS first when the model's rules say so (false: never). Default: true. */
  bos?: boolean;
  /** EOS last when the model's rules say so (false: never). Default: true. */
  eos?: boolean;
}

/**
 * Token ids of `text` under the model's rules: what llama.cpp's `llama_tokenize(text,
 * add_special, parse_special)` gives, except that a parsed text already starting with BOS (or
 * ending with EOS) gets no second one.
 */
export function encodeText(
  model: ModelVocabulary,
  text: string,
  options: EncodeOptions = {},
): Token[] {
  const { specialTokens = false, bos = true, eos = true } = options;
  const rules = tokenizerRules(model);
  return addSpecialTokens(model.tokenize(text, specialTokens), rules, {
    bos,
    eos,
    dedupe: specialTokens,
  });
}

/**
 * Put BOS/EOS around `tokens` as `rules` say (once, when `dedupe` and they are already there).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Token } from "node-llama-cpp";
 * import { addSpecialTokens } from "./tokenizer_rules.ts";
 * const t = (...ids: number[]) => ids as Token[];
 * const llama = { bos: { id: 1 as Token, text: "<s>" }, addBos: true, addEos: false };
 * const qwen2 = { ...llama, addBos: false };
 * assert.deepEqual(addSpecialTokens(t(5, 6), llama), [1, 5, 6]);
 * assert.deepEqual(addSpecialTokens(t(1, 5, 6), llama), [1, 5, 6]); // never a second BOS
 * assert.deepEqual(addSpecialTokens(t(5, 6), qwen2), [5, 6]);
 * ```
 */
export function addSpecialTokens(
  tokens: readonly Token[],
  rules: TokenizerRules,
  options: { bos?: boolean; eos?: boolean; dedupe?: boolean } = {},
): Token[] {
  const { bos = true, eos = true, dedupe = true } = options;
  const out = [...tokens];
  if (bos && rules.addBos && rules.bos && !(dedupe && out[0] === rules.bos.id)) {
    out.unshift(rules.bos.id);
  }
  if (eos && rules.addEos && rules.eos && !(dedupe && out.at(-1) === rules.eos.id)) {
    out.push(rules.eos.id);
  }
  return out;
}

/** Whitespace as Python's `str.isspace` sees it (JavaScript's `\s` differs: \ufeff, \x1c–\x1f, \x85). */
const PY_WHITESPACE = new Set(
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000",
);
for (let c = 0x2000; c <= 0x200a; c++) PY_WHITESPACE.add(String.fromCharCode(c));

/**
 * A generation prompt's tokens: {@linkcode encodeText} (literal text, BOS/EOS as the model says);
 * an empty prompt of a model that adds no BOS gets lm-eval's prefix token (BOS, else EOS), so
 * there is a position to generate from.
 */
export function encodePrompt(model: ModelVocabulary, text: string): Token[] {
  const tokens = encodeText(model, text);
  return tokens.length ? tokens : prefixToken(model);
}

/** lm-eval's prefix token for an empty context: BOS, else EOS. */
function prefixToken(model: ModelVocabulary): Token[] {
  const rules = tokenizerRules(model);
  const token = rules.bos ?? rules.eos;
  if (!token) {
    throw new Error(
      "the text is empty and this model has neither a BOS nor an EOS token to start from; " +
        "give a non-empty text",
    );
  }
  return [token.id];
}

/**
 * lm-evaluation-harness's boundary between a context and its continuation: the context's
 * trailing whitespace moves to the start of the continuation (so " Paris" after "Answer:" is
 * scored as the one token byte-level BPE and SentencePiece make of it).
 *
 * Whitespace is Python's (`str.rstrip()`, what lm-eval calls), not JavaScript's `\s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitTrailingWhitespace } from "./tokenizer_rules.ts";
 * assert.deepEqual(splitTrailingWhitespace("Answer: ", "Paris"), ["Answer:", " Paris"]);
 * assert.deepEqual(splitTrailingWhitespace("Q\n\n", "A"), ["Q", "\n\nA"]);
 * ```
 */
export function splitTrailingWhitespace(context: string, continuation: string): [string, string] {
  let end = context.length;
  while (end > 0 && PY_WHITESPACE.has(context[end - 1])) end--;
  const trimmed = context.slice(0, end);
  return [trimmed, context.slice(trimmed.length) + continuation];
}

/** Context and continuation tokens for scoring, from {@linkcode scoringTokens}. */
export interface ScoringTokens {
  /** The context's tokens (BOS first when the model adds it). */
  context: Token[];
  /** Each continuation's tokens: those of `context + continuation` past the context's. */
  continuations: Token[][];
}

/**
 * Tokens for scoring `continuations` after `context`, as lm-evaluation-harness splits them: the
 * context's trailing whitespace moves to the continuations, `context + continuation` is tokenized
 * once (BOS as the model says, no EOS: the text goes on), and a continuation's tokens are those
 * past the context's own. A context with no tokens at all (empty, and a model that adds no BOS)
 * is given lm-eval's prefix token — BOS, else EOS — so the first continuation token has a
 * distribution to be scored under.
 */
export function scoringTokens(
  model: ModelVocabulary,
  context: string,
  continuations: readonly string[],
): ScoringTokens {
  const [ctxText] = splitTrailingWhitespace(context, "");
  let ctx = encodeText(model, ctxText, { eos: false });
  let prefix: Token[] = [];
  if (ctx.length === 0) ctx = prefix = prefixToken(model);
  const conts = continuations.map((c) => {
    const [, cont] = splitTrailingWhitespace(context, c);
    const whole = [...prefix, ...encodeText(model, ctxText + cont, { eos: false })];
    return whole.slice(ctx.length);
  });
  return { context: ctx, continuations: conts };
}

/** A training example's tokens, from {@linkcode trainingTokens}. */
export interface TrainingTokens {
  /** BOS (when the model adds it) + tokens of `prompt + completion` + EOS (when it has one). */
  tokens: Token[];
  /** How many leading tokens are the prompt's (masked under completion-only loss). */
  promptTokens: number;
}

/**
 * A training example's tokens, as the Python trainer builds them (python/tunebook/finetune.py's
 * `encode_rows`): BOS when the model adds it (the rule scoring and serving use, so the model is
 * trained on the prompts it is evaluated and served with), the whole `prompt + completion`
 * tokenized once, and one EOS after it whenever the vocabulary has one, so the model learns to
 * stop. The prompt/completion boundary is lm-eval's ({@linkcode scoringTokens}): the prompt's
 * trailing whitespace belongs to the completion.
 */
export function trainingTokens(
  model: ModelVocabulary,
  prompt: string,
  completion: string,
  options: Pick<EncodeOptions, "specialTokens"> = {},
): TrainingTokens {
  const { specialTokens = false } = options;
  const rules = tokenizerRules(model);
  const [ctx, cont] = splitTrailingWhitespace(prompt, completion);
  const head = ctx === "" ? [] : model.tokenize(ctx, specialTokens);
  const whole = model.tokenize(ctx + cont, specialTokens);
  // A parsed prompt that already starts with BOS (its template wrote it) gets no second one.
  const bos = rules.addBos && rules.bos && !(specialTokens && whole[0] === rules.bos.id)
    ? [rules.bos.id]
    : [];
  const eos = rules.eos ? [rules.eos.id] : [];
  return { tokens: [...bos, ...whole, ...eos], promptTokens: bos.length + head.length };
}
