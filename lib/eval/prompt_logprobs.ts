/**
 * Reading prompt log-probabilities from an OpenAI-compatible completions reply — `echo: true`
 * with `logprobs`, the legacy shape (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`)
 * that vLLM and `deno task serve` return — as lm-evaluation-harness's `parse_logprobs` does, but
 * finding the continuation by characters rather than by token counts:
 *
 * - the continuation's tokens are those that start at or after the context's end in the echoed
 *   text (`text_offset` ≥ the context's length in code points), so the client never tokenizes —
 *   the in-process engine's rule (the whole text tokenized once, the continuation being the
 *   tokens past the context's) where the context's tokens are a prefix of the whole's;
 * - offsets are calibrated on the prompt's end: the last token ends where the prompt does. vLLM
 *   counts an added BOS's text (`<s>`) in its offsets although the echoed text does not hold it;
 *   the calibration takes that out;
 * - a token is greedy when its log-probability is the largest among `top_logprobs` (lm-eval's test).
 *
 * A reply that does not hold the prompt's log-probabilities (no `logprobs`, a text that does not
 * start with the prompt, offsets that do not cover it: llama.cpp's llama-server returns the
 * generated token's only) is reported with {@linkcode PromptLogprobsUnsupportedError}, never read
 * as something else.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { continuationScore, readEchoedLogprobs } from "./prompt_logprobs.ts";
 * const choice = {
 *   text: "Answer: 4",
 *   logprobs: {
 *     tokens: ["<s>", "Answer", ":", " 4"],
 *     token_logprobs: [null, -3, -0.5, -1.25],
 *     top_logprobs: [null, { Answer: -3, The: -1 }, { ":": -0.5 }, { " 4": -1.25, " 5": -2 }],
 *     text_offset: [0, 0, 6, 7],
 *   },
 * };
 * const lp = readEchoedLogprobs(choice, "Answer: 4", "http://127.0.0.1:8080/v1/completions");
 * const s = continuationScore(lp, "Answer:".length);
 * strictEqual(s.logprob, -1.25);
 * strictEqual(s.tokens, 1);
 * strictEqual(s.isGreedy, true);
 * ```
 * @module
 */

/** One choice's prompt log-probabilities, checked and calibrated. */
export interface EchoedLogprobs {
  /** The prompt's tokens' texts. */
  tokens: string[];
  /** Their log-probabilities (the first may be null). */
  logprobs: (number | null)[];
  /** The most likely tokens at each position, when the server sent them. */
  top: (Record<string, number> | null)[];
  /** Where each token starts in the prompt, in code points (an added BOS: before 0). */
  offsets: number[];
}

/** The log-likelihood of a continuation, found by {@linkcode continuationScore}. */
export interface ContinuationScore {
  /** Sum of its tokens' log-probabilities. */
  logprob: number;
  /** Its tokens. */
  tokens: number;
  /** Tokens before it (the context, an added BOS included). */
  contextTokens: number;
  /** Whether each of its tokens is the most likely one. */
  isGreedy: boolean;
}

/** The endpoint does not return the prompt's log-probabilities (see the module documentation). */
export class PromptLogprobsUnsupportedError extends Error {
  /** `url`: the endpoint; `detail`: what its reply lacked. */
  constructor(readonly url: string, readonly detail: string) {
    super(
      `${url} does not return prompt log-probabilities (${detail}), which multiple_choice, ` +
        `loglikelihood and loglikelihood_rolling tasks need: a completions request with ` +
        `"echo": true and "logprobs" must give every prompt token's log-probability. vLLM and ` +
        `\`deno task serve\` do; llama.cpp's llama-server does not (llama.cpp issue #27174), nor ` +
        `do chat-only APIs. Evaluate these tasks with a GGUF model (--model) or such a server, ` +
        `or leave them out.`,
    );
    this.name = "PromptLogprobsUnsupportedError";
  }
}

/**
 * Check one reply choice for `prompt`'s log-probabilities and calibrate its offsets. `generated`:
 * tokens after the prompt to leave out (a server that needs `max_tokens` ≥ 1); `unscoredBefore`:
 * the code point before which tokens may have no log-probability (asked with tunebook's
 * `echo_logprobs_from`). Throws
 * {@linkcode PromptLogprobsUnsupportedError} when the choice does not hold them.
 */
export function readEchoedLogprobs(
  choice: unknown,
  prompt: string,
  url: string,
  generated = 0,
  unscoredBefore = 0,
): EchoedLogprobs {
  const c = (choice ?? {}) as { text?: unknown; logprobs?: unknown };
  if (typeof c.text !== "string" || !c.text.startsWith(prompt)) {
    throw new PromptLogprobsUnsupportedError(url, "its echoed text does not start with the prompt");
  }
  const lp = c.logprobs as Record<string, unknown> | null | undefined;
  const tokens = lp?.tokens, logprobs = lp?.token_logprobs, offsets = lp?.text_offset;
  if (!Array.isArray(tokens) || !Array.isArray(logprobs) || !Array.isArray(offsets)) {
    throw new PromptLogprobsUnsupportedError(
      url,
      "the choice has no logprobs.tokens, token_logprobs and text_offset",
    );
  }
  const n = tokens.length - generated;
  if (n < 1 || logprobs.length !== tokens.length || offsets.length !== tokens.length) {
    throw new PromptLogprobsUnsupportedError(url, "its logprobs arrays do not match the tokens");
  }
  const top = Array.isArray(lp?.top_logprobs) ? lp.top_logprobs as unknown[] : [];
  const chars = codePoints(prompt);
  const last = n - 1;
  const shift = Number(offsets[last]) + codePoints(String(tokens[last])) - chars;
  const out: EchoedLogprobs = { tokens: [], logprobs: [], top: [], offsets: [] };
  for (let i = 0; i < n; i++) {
    const o = Number(offsets[i]) - shift;
    const p = logprobs[i];
    const unscored = i === 0 || o < unscoredBefore;
    const bad = !Number.isFinite(o) || o > chars || (i > 0 && o < out.offsets[i - 1]) ||
      (!unscored && (typeof p !== "number" || !Number.isFinite(p))) ||
      (unscored && p !== null && (typeof p !== "number" || !Number.isFinite(p)));
    if (bad || (i > 0 && o < 0)) {
      throw new PromptLogprobsUnsupportedError(
        url,
        `its logprobs do not cover the prompt (token ${i}: ${JSON.stringify(tokens[i])} at ` +
          `${offsets[i]}, log-probability ${JSON.stringify(p)})`,
      );
    }
    out.tokens.push(String(tokens[i]));
    out.logprobs.push(p as number | null);
    const t = top[i];
    out.top.push(t && typeof t === "object" ? t as Record<string, number> : null);
    out.offsets.push(o);
  }
  return out;
}

/**
 * The continuation after the first `contextChars` code points of the prompt: the tokens that start
 * there or later (none: 0 in 0 tokens). Throws when one has no log-probability (a prompt's first
 * token, when the context is empty and the server adds no BOS).
 */
export function continuationScore(lp: EchoedLogprobs, contextChars: number): ContinuationScore {
  let logprob = 0, tokens = 0, isGreedy = true;
  let contextTokens = 0;
  lp.offsets.forEach((o, i) => {
    if (o < contextChars) {
      contextTokens++;
      return;
    }
    const p = lp.logprobs[i];
    if (p === null) {
      throw new Error(
        "the continuation starts the prompt, so its first token has no log-probability " +
          "(nothing precedes it); give the task a context, or use a server that adds BOS",
      );
    }
    logprob += p;
    tokens++;
    const top = lp.top[i];
    if (!top || p < Math.max(...Object.values(top))) isGreedy = false;
  });
  // No token starts in the continuation (it merged into the context's last token): it scores 0
  // in no tokens, as the in-process engine scores an empty continuation.
  return { logprob, tokens, contextTokens, isGreedy };
}

/** Number of Unicode code points of a string (OpenAI's and vLLM's characters). */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
