/**
 * Log-probabilities in the two wire shapes, from what the engine computed (lib/llm: the batched
 * scorer's per-position scores, the batched generator's per-token ones) and the vocabulary's token
 * texts (lib/llm/token_pieces.ts):
 *
 * - the legacy completions shape (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`), as
 *   OpenAI's davinci-era API and vLLM return it: the first token of an echoed prompt has `null`
 *   for its log-probability and its alternatives; `top_logprobs` maps each of the most likely
 *   tokens' text, and the chosen token's, to its log-probability; `text_offset` is where each
 *   token starts in the choice's `text`, in characters (code points);
 * - the chat shape (`content: [{token, logprob, bytes, top_logprobs}]`), for generated tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TokenPieces } from "../llm/token_pieces.ts";
 * import { completionLogprobs } from "./logprobs.ts";
 * // A vocabulary of four tokens in place of a model's (see lib/llm/token_pieces.ts).
 * const vocab = ["<s>", "2", " plus", " is"].map((t) => new TextEncoder().encode(t));
 * const pieces = new TokenPieces({
 *   lib: {
 *     symbols: {
 *       llama_token_to_piece: (_v, token, buf) => (buf.set(vocab[token]), vocab[token].length),
 *       llama_vocab_is_control: (_v, token) => token === 0,
 *     },
 *   },
 *   vocab: null,
 *   nVocab: vocab.length,
 * }, () => [1]);
 * const lp = completionLogprobs(pieces, {
 *   prompt: {
 *     tokens: [0, 1, 2, 3],
 *     scores: [
 *       null, // nothing before the first token
 *       { token: 1, logprob: -2.5, isGreedy: false, top: [{ token: 3, logprob: -1 }] },
 *       { token: 2, logprob: -0.5, isGreedy: true, top: [{ token: 2, logprob: -0.5 }] },
 *       { token: 3, logprob: -1.5, isGreedy: true, top: [{ token: 3, logprob: -1.5 }] },
 *     ],
 *     added: 1, // the server's BOS: not in the text
 *     text: "2 plus is",
 *   },
 * });
 * assert.deepEqual(lp.tokens, ["<s>", "2", " plus", " is"]);
 * assert.deepEqual(lp.token_logprobs, [null, -2.5, -0.5, -1.5]);
 * assert.deepEqual(lp.top_logprobs[1], { " is": -1, "2": -2.5 }); // the chosen token added
 * assert.deepEqual(lp.text_offset, [0, 0, 1, 6]);
 * ```
 * @module
 */
import type { GeneratedLogprob } from "../llm/batch_generator.ts";
import type { ScoredToken, TokenAlternative } from "../llm/batch_scorer.ts";
import { codePoints, type RenderedTokens, type TokenPieces } from "../llm/token_pieces.ts";
import type { ChatLogprobs, CompletionLogprobs } from "./protocol.ts";

/** An echoed prompt: its tokens, their scores (null for the first) and its text. */
export interface EchoedPrompt {
  /** Token ids. */
  tokens: readonly number[];
  /** Per position, from the batched scorer. */
  scores: readonly (ScoredToken | null)[];
  /** Leading tokens the server added (BOS) that are not in `text`. */
  added: number;
  /** The prompt's text as returned in the choice. */
  text: string;
  /** Its tokens rendered with `added` (`pieces.render`), when the caller has them already. */
  rendered?: RenderedTokens;
}

/** A completion: its generated tokens' scores and its text (cut at a stop sequence). */
export interface GeneratedPart {
  /** Each generated token, end-of-generation token included. */
  tokens: readonly GeneratedLogprob[];
  /** The completion's text. */
  text: string;
}

/**
 * The legacy completions `logprobs` of one choice: the echoed prompt's tokens, then the generated
 * ones (offsets after the prompt's text; a token past a stop sequence's cut, or an
 * end-of-generation token, starts at the text's end).
 */
export function completionLogprobs(
  pieces: TokenPieces,
  parts: { prompt?: EchoedPrompt; generated?: GeneratedPart; tokensAsIds?: boolean },
): CompletionLogprobs {
  const name = (id: number, text: string) => parts.tokensAsIds ? `token_id:${id}` : text;
  const alt = (id: number) => name(id, pieces.text(id));
  const out: CompletionLogprobs = {
    tokens: [],
    token_logprobs: [],
    top_logprobs: [],
    text_offset: [],
  };
  let base = 0;
  if (parts.prompt) {
    const p = parts.prompt;
    const length = codePoints(p.text);
    const r = p.rendered ?? pieces.render(p.tokens, { added: p.added });
    p.tokens.forEach((id, i) => {
      const s = p.scores[i] ?? null;
      const chosen = name(id, r.tokens[i]);
      out.tokens.push(chosen);
      out.token_logprobs.push(s ? s.logprob : null);
      out.top_logprobs.push(s ? topMap(alt, s.top, chosen, s.logprob) : null);
      out.text_offset.push(Math.min(r.offsets[i], length));
    });
    base = length;
  }
  if (parts.generated) {
    const g = parts.generated;
    const ids = g.tokens.map((t) => t.token);
    const r = renderLike(pieces, ids, g.text);
    const length = codePoints(g.text);
    g.tokens.forEach((t, i) => {
      const chosen = name(t.token, r.tokens[i]);
      out.tokens.push(chosen);
      out.token_logprobs.push(t.logprob);
      out.top_logprobs.push(topMap(alt, t.top, chosen, t.logprob));
      out.text_offset.push(base + Math.min(r.offsets[i], length));
    });
  }
  return out;
}

/** The chat shape's `logprobs` of generated tokens (a final end-of-generation token left out). */
export function chatLogprobs(
  pieces: TokenPieces,
  tokens: readonly GeneratedLogprob[],
  top: number,
): ChatLogprobs {
  const shown = tokens.length && pieces.isControl(tokens[tokens.length - 1].token)
    ? tokens.slice(0, -1)
    : tokens;
  const entry = (t: TokenAlternative) => ({
    token: pieces.text(t.token),
    logprob: t.logprob,
    bytes: [...pieces.bytes(t.token)],
  });
  return {
    content: shown.map((t) => ({ ...entry(t), top_logprobs: t.top.slice(0, top).map(entry) })),
  };
}

/** Alternatives' text → log-probability, the chosen token's added when it is not among them. */
function topMap(
  name: (token: number) => string,
  top: readonly TokenAlternative[],
  chosenText: string,
  chosenLogprob: number,
): Record<string, number> {
  const map: Record<string, number> = {};
  for (const alt of top) {
    const key = name(alt.token);
    if (!(key in map)) map[key] = alt.logprob;
  }
  if (!(chosenText in map)) map[chosenText] = chosenLogprob;
  return map;
}

/**
 * Generated tokens rendered the way their text was produced: without text before them (the
 * generator's detokenizer drops a SentencePiece first token's leading space), else with it.
 */
function renderLike(pieces: TokenPieces, ids: number[], text: string): RenderedTokens {
  const alone = pieces.render(ids, { controlAsText: false });
  if (alone.text.startsWith(text)) return alone;
  const after = pieces.render(ids, { controlAsText: false, continued: true });
  return after.text.startsWith(text) ? after : alone;
}
