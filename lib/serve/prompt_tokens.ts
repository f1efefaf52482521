/**
 * A /v1/completions prompt's tokens: text tokenized literally with BOS first when the model wants
 * one (the in-process engine's rule, so the same text gives the same tokens), token ids used as
 * given — checked against the vocabulary, a bad one answered 400 naming `prompt[i][j]`.
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
 *   () => completionPromptTokens(lease, [1, 600], "prompt[2]"),
 *   { status: 400, param: "prompt[2][1]" },
 * );
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
  if (typeof prompt === "string") {
    const model = lease.pool.loaded.model;
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
