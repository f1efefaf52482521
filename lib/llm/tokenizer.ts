/**
 * A GGUF model's own tokenizer without its weights: node-llama-cpp loads the vocabulary only, so
 * token counts are the model's at the cost of a few MB. With its context length, its BOS/EOS tokens
 * and rules (lib/llm/tokenizer_rules.ts, the policy every path applies) and the chat template
 * stored in the file — what curation needs to count and format rows (lib/data/token_length.ts).
 *
 * @example
 * ```ts ignore
 * import { loadTokenizer } from "./tokenizer.ts";
 * const tok = await loadTokenizer("data/models/tiny/tiny-f32.gguf");
 * console.log(tok.count("Question: What is 2 plus 2?"), tok.contextLength, tok.bos?.text);
 * await tok.dispose();
 * ```
 * @module
 */
import type { LlamaModel, Token as LlamaToken } from "node-llama-cpp";
import { type ChatTemplate, hasSpecialText, modelChatTemplate } from "./chat.ts";
import { getRuntime, inspectModelFile } from "./model.ts";
import {
  type EncodeOptions,
  encodeText,
  type SpecialToken,
  type TokenizerRules,
  tokenizerRules,
  type TrainingTokens,
  trainingTokens,
} from "./tokenizer_rules.ts";

export type { SpecialToken } from "./tokenizer_rules.ts";

/** A token id of a model's vocabulary (node-llama-cpp's `Token`, a branded number). */
export type Token = LlamaToken;

/** Options of {@linkcode Tokenizer.tokenize}. */
export interface TokenizeOptions {
  /**
   * Read special-token text (e.g. `</s>`) as those tokens; false treats all text literally.
   * Default: false.
   */
  specialTokens?: boolean;
}

/** A model's tokenizer (vocabulary only), its context length and its chat template. */
export interface Tokenizer {
  /** Absolute path of the GGUF file. */
  readonly path: string;
  /** The model's training context length (tokens). */
  readonly contextLength: number;
  /** The chat template stored in the GGUF, if any. */
  readonly template?: ChatTemplate;
  /** The BOS token, when the model has one. */
  readonly bos?: SpecialToken;
  /** The EOS token, when the model has one. */
  readonly eos?: SpecialToken;
  /** Whether the model puts BOS first / EOS last ({@linkcode tokenizerRules}). */
  readonly rules: TokenizerRules;
  /** Token ids of `text`, without BOS or EOS. */
  tokenize(text: string, options?: TokenizeOptions): Token[];
  /** Token ids of `text` with BOS/EOS as the model's rules say ({@linkcode encodeText}). */
  encode(text: string, options?: EncodeOptions): Token[];
  /** A training example's tokens, as the trainer builds them ({@linkcode trainingTokens}). */
  encodeExample(prompt: string, completion: string, options?: TokenizeOptions): TrainingTokens;
  /** Number of tokens of `text` taken literally, without BOS or EOS. */
  count(text: string): number;
  /** Whether `text` holds special-token text of the vocabulary (e.g. `</s>`). */
  hasSpecialText(text: string): boolean;
  /** Free the native vocabulary. */
  dispose(): Promise<void>;
}

/**
 * node-llama-cpp could not read the model's vocabulary (the file itself is a readable GGUF
 * model: {@linkcode inspectModelFile} checked that first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VocabularyLoadError } from "./tokenizer.ts";
 * const e = new VocabularyLoadError("m.gguf", "no tokenizer.ggml.tokens");
 * assert.equal(e.message, "m.gguf: node-llama-cpp could not read this model's vocabulary (no tokenizer.ggml.tokens)");
 * ```
 */
export class VocabularyLoadError extends Error {
  /**
   * @param path The model file.
   * @param reason What node-llama-cpp said.
   */
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: node-llama-cpp could not read this model's vocabulary (${reason})`);
    this.name = "VocabularyLoadError";
  }
}

/**
 * Load a GGUF model's tokenizer (vocabulary only). A missing or unreadable file throws a message
 * naming it and the fix ({@linkcode inspectModelFile}'s); a vocabulary node-llama-cpp cannot read
 * throws {@linkcode VocabularyLoadError}.
 *
 * @example
 * ```ts ignore
 * import { loadTokenizer } from "./tokenizer.ts";
 * const tok = await loadTokenizer("data/models/tiny/tiny-f32.gguf");
 * console.log(tok.tokenize("### Response:\n</s>", { specialTokens: true }));
 * await tok.dispose();
 * ```
 */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  const info = await inspectModelFile(path);
  const llama = await getRuntime();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: info.path, vocabOnly: true });
  } catch (e) {
    throw new VocabularyLoadError(path, (e as Error).message);
  }
  const template = modelChatTemplate(model);
  const rules = tokenizerRules(model);
  return {
    path: info.path,
    contextLength: info.contextLength,
    ...(template ? { template } : {}),
    ...(rules.bos ? { bos: rules.bos } : {}),
    ...(rules.eos ? { eos: rules.eos } : {}),
    rules,
    tokenize: (text, options = {}) => model.tokenize(text, options.specialTokens ?? false),
    encode: (text, options) => encodeText(model, text, options),
    encodeExample: (prompt, completion, options) =>
      trainingTokens(model, prompt, completion, options),
    count: (text) => model.tokenize(text, false).length,
    hasSpecialText: (text) => hasSpecialText(model, text),
    dispose: () => model.dispose(),
  };
}
