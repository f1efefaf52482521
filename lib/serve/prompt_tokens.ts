/**
 * A /v1/completions prompt's tokens: text under the model's tokenization rules
 * (lib/llm/tokenizer_rules.ts, the in-process engine's, so the same text gives the same tokens):
 * read literally, BOS first when the vocabulary says so, EOS last when it says so for a prompt to
 * generate from and never for one that is scored (`echo`); token ids used as given — checked
 * against the vocabulary, a bad one answered 400 naming `prompt[i][j]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { completionPromptTokens } from "./prompt_tokens.ts";
 * import type { PoolLease } from "./registry.ts";
 * // Token-id prompts need only the vocabulary's size (a text prompt needs the loaded model).
 * const lease = { name: "tiny", pool: { vocabularySize: 512 } } as unknown as PoolLease;
 * assert.deepEqual(completionPromptTokens(lease, [1, 15, 27]), { tokens: [1, 15, 27], added: 0 });
 * assert.throws(
 *   () => completionPromptTokens(lease, [1, 600], { path: "prompt[2]" }),
 *   { status: 400, param: "prompt[2][1]" },
 * );
 * ```
 * @module
 */
import { encodePrompt, encodeText, tokenizerRules } from "../llm/tokenizer_rules.ts";
import type { Token } from "../llm/tokenizer.ts";
import { ApiError } from "./errors.ts";
import type { PromptInput } from "./protocol.ts";
import type { PoolLease } from "./registry.ts";

/** Options for {@linkcode completionPromptTokens}. */
export interface CompletionPromptOptions {
  /** Where the prompt is in the body (e.g. `prompt[2]`), named in the 400. Default: "prompt". */
  path?: string;
  /**
   * The prompt is scored (`echo`): a text that is not complete, so no EOS. Default: false (a
   * prompt to generate from: `encodePrompt`, an empty one starting from BOS, else EOS).
   */
  scored?: boolean;
}

/**
 * A completions prompt's tokens: text under the model's rules (`added`: leading tokens that are
 * not in the text — BOS, or an empty prompt's start token), token ids as given (`added` 0) — 400
 * naming `path[j]` for an id outside the vocabulary.
 */
export function completionPromptTokens(
  lease: PoolLease,
  prompt: PromptInput,
  options: CompletionPromptOptions = {},
): { tokens: Token[]; added: number } {
  const { path = "prompt", scored = false } = options;
  if (typeof prompt === "string") {
    const model = lease.pool.loaded.model;
    const text = scored ? encodeText(model, prompt, { eos: false }) : [];
    const tokens = text.length ? text : encodePrompt(model, prompt);
    // The text is read literally, so a BOS in front is the one the rules put there.
    const bos = tokenizerRules(model).bos?.id;
    const added = prompt === "" ? tokens.length : bos !== undefined && tokens[0] === bos ? 1 : 0;
    return { tokens, added };
  }
  const vocab = lease.pool.vocabularySize;
  const bad = prompt.findIndex((t) => t >= vocab);
  if (bad >= 0) {
    const param = `${path}[${bad}]`;
    throw ApiError.badRequest(
      `${param} is token ${prompt[bad]}; model '${lease.name}' has ${vocab} tokens (0…${
        vocab - 1
      })`,
      param,
    );
  }
  return { tokens: [...prompt] as Token[], added: 0 };
}
