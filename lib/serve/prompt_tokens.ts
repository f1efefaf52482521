/**
 * A /v1/completions prompt's tokens: text tokenized literally with BOS first when the model wants
 * one (the in-process engine's rule, so the same text gives the same tokens), token ids used as
 * given — checked against the vocabulary, a bad one answered 400 naming `prompt[i][j]`.
 *
 * @example
 * ```ts ignore
 * const { tokens, added } = completionPromptTokens(lease, "2 plus 2 is"); // added: 1 (BOS)
 * ```
 * @module
 */
import { tokenizePrompt } from "../llm/chat.ts";
import type { Token } from "../llm/tokenizer.ts";
import { ApiError } from "./errors.ts";
import type { PromptInput } from "./protocol.ts";
import type { PoolLease } from "./registry.ts";

/**
 * A completions prompt's tokens: text tokenized with BOS as the model wants it (`added`: 1 when BOS
 * was put first), token ids as given — 400 naming `path[j]` for an id outside the vocabulary
 * (`path`: where the prompt is in the body, e.g. `prompt[2]`).
 */
export function completionPromptTokens(
  lease: PoolLease,
  prompt: PromptInput,
  path = "prompt",
): { tokens: Token[]; added: number } {
  const model = lease.pool.loaded.model;
  if (typeof prompt === "string") {
    const tokens = tokenizePrompt(model, prompt);
    const plain = model.tokenize(prompt, false);
    return { tokens, added: tokens.length - plain.length };
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
