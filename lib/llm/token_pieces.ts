/**
 * The text of tokens, byte-exact: each token's bytes as llama.cpp renders it
 * (`llama_token_to_piece`, special tokens as their text), the text a token sequence renders to,
 * and where each token starts in that text, in characters (Unicode code points, as OpenAI's and
 * vLLM's `text_offset` count them). A token that starts inside a character — a byte-level BPE
 * token holding the second half of "é" — starts where that character starts, so it counts as
 * part of whatever holds the character's first byte.
 *
 * Tokens a server added to a text prompt (its BOS) are not in the text: they render as nothing.
 * SentencePiece vocabularies prefix a text with a space ("▁Question" for "Question"); as
 * llama.cpp's detokenizer does, the first token's leading space is dropped when no text comes
 * before it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TokenPieces } from "./token_pieces.ts";
 * // A SentencePiece-like vocabulary of three tokens in place of a model's (libllama's calls).
 * const vocab = ["<s>", " Hello", " world"].map((t) => new TextEncoder().encode(t));
 * const pieces = new TokenPieces({
 *   lib: {
 *     symbols: {
 *       llama_token_to_piece: (_v, token, buf, room) => {
 *         if (vocab[token].length > room) return -vocab[token].length;
 *         buf.set(vocab[token]);
 *         return vocab[token].length;
 *       },
 *       llama_vocab_is_control: (_v, token) => token === 0,
 *     },
 *   },
 *   vocab: null,
 *   nVocab: vocab.length,
 * }, () => [1]); // "a" starts with a space token: the vocabulary prefixes a text with a space
 * const r = pieces.render([0, 1, 2], { added: 1 }); // BOS added by the server: not in the text
 * assert.equal(r.text, "Hello world");
 * assert.deepEqual(r.offsets, [0, 0, 5]);
 * assert.deepEqual(r.tokens, ["<s>", "Hello", " world"]);
 * ```
 * @module
 */

/** The libllama functions {@linkcode TokenPieces} calls (lib/llm/_libllama.ts binds them). */
export interface VocabSymbols {
  /** `llama_token_to_piece(vocab, token, buf, length, lstrip, special)`. */
  llama_token_to_piece: (
    vocab: Deno.PointerValue,
    token: number,
    buf: Uint8Array<ArrayBuffer>,
    length: number,
    lstrip: number,
    special: boolean,
  ) => number;
  /** `llama_vocab_is_control(vocab, token)`. */
  llama_vocab_is_control: (vocab: Deno.PointerValue, token: number) => boolean;
}

/** What {@linkcode TokenPieces} reads the vocabulary through: libllama and a vocabulary handle. */
export interface VocabHandles {
  /** The opened libllama. */
  lib: { symbols: VocabSymbols };
  /** `llama_model_get_vocab` of a loaded model. */
  vocab: Deno.PointerValue;
  /** Tokens in the vocabulary. */
  nVocab: number;
}

/** Options for {@linkcode TokenPieces.render}. */
export interface RenderOptions {
  /** Leading tokens that are not in the text (a BOS the server added). Default: 0. */
  added?: number;
  /**
   * Text comes before these tokens (generated ones after a prompt), so the first token's
   * leading space is text. Default: false.
   */
  continued?: boolean;
  /**
   * Control tokens (`<s>`, `</s>`) are in the text as their text; false: they take no room in it
   * (a generation's end-of-generation token), though each still has its text. Default: true.
   */
  controlAsText?: boolean;
}

/** A rendered token sequence. */
export interface RenderedTokens {
  /** The text the tokens spell (invalid UTF-8 as U+FFFD, as a decoder reads it). */
  text: string;
  /** Where each token starts in `text`, in code points. */
  offsets: number[];
  /** Each token's own text (U+FFFD where its bytes are part of a character; a hidden token's too). */
  tokens: string[];
}

const SPACE = 0x20;
const INITIAL_PIECE_BYTES = 32;

/** Token bytes and text offsets for one model's vocabulary. */
export class TokenPieces {
  readonly #h: VocabHandles;
  readonly #tokenize: (text: string) => readonly number[];
  readonly #bytes = new Map<number, Uint8Array>();
  #spacePrefix: boolean | undefined;

  /**
   * `handles`: the vocabulary; `tokenize`: the model's tokenizer (text → ids, no BOS), used once
   * to learn whether the vocabulary prefixes a text with a space.
   */
  constructor(handles: VocabHandles, tokenize: (text: string) => readonly number[]) {
    this.#h = handles;
    this.#tokenize = tokenize;
  }

  /** Tokens in the vocabulary. */
  get size(): number {
    return this.#h.nVocab;
  }

  /** Whether the vocabulary puts a space before a text's first word (SentencePiece's "▁"). */
  get spacePrefix(): boolean {
    if (this.#spacePrefix === undefined) {
      const first = this.#tokenize("a")[0];
      this.#spacePrefix = first !== undefined && this.bytes(first)[0] === SPACE;
    }
    return this.#spacePrefix;
  }

  /** A token's bytes, special tokens as their text (`<s>`). */
  bytes(token: number): Uint8Array {
    let b = this.#bytes.get(token);
    if (b) return b;
    if (!Number.isInteger(token) || token < 0 || token >= this.#h.nVocab) {
      throw new RangeError(`token ${token} is not in the vocabulary (0…${this.#h.nVocab - 1})`);
    }
    let room = INITIAL_PIECE_BYTES;
    for (;;) {
      const buf = new Uint8Array(room);
      const n = this.#h.lib.symbols.llama_token_to_piece(this.#h.vocab, token, buf, room, 0, true);
      if (n >= 0) {
        b = buf.slice(0, n);
        break;
      }
      room = -n;
    }
    this.#bytes.set(token, b);
    return b;
  }

  /** Whether `token` is a control token (BOS, EOS, chat markup). */
  isControl(token: number): boolean {
    return this.#h.lib.symbols.llama_vocab_is_control(this.#h.vocab, token);
  }

  /** A token's own text (U+FFFD for bytes that are part of a character). */
  text(token: number): string {
    return new TextDecoder().decode(this.bytes(token));
  }

  /** The text `tokens` spell and where each starts in it (see the module documentation). */
  render(tokens: readonly number[], options: RenderOptions = {}): RenderedTokens {
    const { added = 0, continued = false, controlAsText = true } = options;
    const decoder = new TextDecoder();
    const offsets: number[] = [];
    const texts: string[] = [];
    let text = "";
    let chars = 0;
    let bytesSoFar = continued ? 1 : 0;
    tokens.forEach((token, i) => {
      offsets.push(chars);
      const control = this.isControl(token);
      const hidden = i < added || (control && !controlAsText);
      let b = this.bytes(token);
      if (!hidden && bytesSoFar === 0 && b[0] === SPACE && this.spacePrefix && !control) {
        b = b.subarray(1);
      }
      texts.push(new TextDecoder().decode(b));
      if (hidden) b = new Uint8Array(0);
      bytesSoFar += b.length;
      const out = decoder.decode(b, { stream: true });
      text += out;
      chars += codePoints(out);
    });
    text += decoder.decode();
    return { text, offsets, tokens: texts };
  }
}

/** Number of Unicode code points of a string (a surrogate pair is one). */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
