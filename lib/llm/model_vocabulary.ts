/**
 * What tunebook reads from a loaded model's vocabulary — tokenizing, detokenizing, its special
 * tokens, token attributes and the few metadata keys the tokenizer rules and chat template need.
 * node-llama-cpp's `LlamaModel` has all of it; so has {@linkcode LibllamaModel}
 * (lib/llm/libllama_model.ts), the same calls straight into libllama, for a process that has no
 * use for node-llama-cpp (the server on CPU). The functions that take a model's vocabulary
 * (lib/llm/chat.ts, tokenizer_rules.ts) take this, so they work on either.
 *
 * @example
 * ```ts ignore
 * import type { ModelVocabulary } from "./model_vocabulary.ts";
 * function count(model: ModelVocabulary, text: string): number {
 *   return model.tokenize(text).length;
 * }
 * ```
 * @module
 */
import type { Token } from "node-llama-cpp";

/** A vocabulary's special tokens (null: the vocabulary has none). */
export interface VocabularyTokens {
  /** Beginning of sequence (a control token). */
  readonly bos: Token | null;
  /** End of sequence (a control token). */
  readonly eos: Token | null;
  /** End of turn. */
  readonly eot: Token | null;
  /** Newline. */
  readonly nl: Token | null;
  /** The BOS token's text (`<s>`). */
  readonly bosString: string | null;
  /** The EOS token's text (`</s>`). */
  readonly eosString: string | null;
  /** The end-of-turn token's text. */
  readonly eotString: string | null;
  /** The newline token's text. */
  readonly nlString: string | null;
  /** Whether a prompt starts with BOS (`llama_vocab_get_add_bos`, and the vocabulary has one). */
  readonly shouldPrependBosToken: boolean;
}

/** The attributes of a token that decide how tokenizing treats it. */
export interface VocabularyTokenAttributes {
  /** A control token (BOS, EOS, chat markup). */
  readonly control: boolean;
  /** A token the vocabulary's author added (read as one piece). */
  readonly userDefined: boolean;
  /** The unknown token. */
  readonly unknown: boolean;
}

/** A loaded model's vocabulary, as tunebook uses it. */
export interface ModelVocabulary {
  /** Its special tokens. */
  readonly tokens: VocabularyTokens;
  /**
   * GGUF metadata, nested by the dots of its keys. The keys read through this interface:
   * `tokenizer.chat_template`, `tokenizer.ggml.model`, `tokenizer.ggml.add_eos_token`.
   */
  readonly fileInfo: { readonly metadata: unknown };
  /** The model file's name, when known. */
  readonly filename?: string;
  /** The context length the model was trained with. */
  readonly trainContextSize: number;
  /**
   * Token ids of `text`, no BOS or EOS added; `specialTokens`: read special-token text as those
   * tokens; "trimLeadingSpace": tokenize as text that continues other text (no SentencePiece
   * space in front).
   */
  tokenize(text: string, specialTokens?: boolean, options?: "trimLeadingSpace"): Token[];
  /**
   * The text of `tokens` (`specialTokens`: control tokens as their text); `lastTokens`: the tokens
   * before them, so a leading space is rendered as it would be in the middle of the text.
   */
  detokenize(
    tokens: readonly Token[],
    specialTokens?: boolean,
    lastTokens?: readonly Token[],
  ): string;
  /** A token's attributes. */
  getTokenAttributes(token: Token): VocabularyTokenAttributes;
  /** Whether `token` ends a generation (EOS, EOT, …). */
  isEogToken(token: Token): boolean;
  /** Free it. */
  dispose(): Promise<void>;
}
