/**
 * llama.cpp's own tokenizer, straight through its C API (Deno FFI, lib/llm/_libllama.ts) on a
 * GGUF's vocabulary alone: `llama_tokenize` with `add_special` / `parse_special`, and
 * `llama_vocab_get_add_bos` / `llama_vocab_get_add_eos` — the rules llama.cpp itself applies, as
 * its tools (llama-perplexity, llama-server) tokenize. tunebook tokenizes through node-llama-cpp
 * under one policy (lib/llm/tokenizer_rules.ts); this is the independent reference that policy is
 * checked against (tests/model/vocab_rules_test.ts) and that bench/crosscheck_perplexity.ts uses to
 * report llama-perplexity's token splits.
 *
 * @example
 * ```ts ignore
 * import { LibllamaVocab } from "./libllama_vocab.ts";
 * const v = LibllamaVocab.open(".cache/llama.cpp/models/ggml-vocab-qwen2.gguf");
 * console.log(v.addBos, v.tokenize("Hello world", { addSpecial: true })); // false [9707, 1879]
 * v.dispose();
 * ```
 * @module
 */
import { llamaTokenize, type LlamaVocabHandles, loadLlamaVocab } from "./_libllama.ts";

/** `LLAMA_TOKEN_NULL`. */
const TOKEN_NULL = -1;

/** llama.h's `enum llama_vocab_type`, by value. */
const VOCAB_TYPES = ["none", "spm", "bpe", "wpm", "ugm", "rwkv", "plamo2"] as const;

/** Options of {@linkcode LibllamaVocab.tokenize}. */
export interface LibllamaTokenizeOptions {
  /** `add_special`: BOS/EOS as the vocabulary's add_bos/add_eos say. Default: false. */
  addSpecial?: boolean;
  /** `parse_special`: read special-token text as those tokens. Default: false. */
  parseSpecial?: boolean;
}

/** A GGUF's vocabulary loaded by libllama (no weights). */
export class LibllamaVocab {
  readonly #h: LlamaVocabHandles;
  #disposed = false;
  /** `llama_vocab_get_add_bos`. */
  readonly addBos: boolean;
  /** `llama_vocab_get_add_eos`. */
  readonly addEos: boolean;
  /** `llama_vocab_get_add_sep` (encoder vocabularies such as BERT's append a separator). */
  readonly addSep: boolean;
  /** `llama_vocab_bos`, or null when the vocabulary has none. */
  readonly bos: number | null;
  /** `llama_vocab_eos`, or null when the vocabulary has none. */
  readonly eos: number | null;
  /** `llama_vocab_type` ("spm", "bpe", …). */
  readonly type: string;

  private constructor(h: LlamaVocabHandles) {
    this.#h = h;
    const s = h.lib.symbols;
    this.addBos = s.llama_vocab_get_add_bos(h.vocab);
    this.addEos = s.llama_vocab_get_add_eos(h.vocab);
    this.addSep = s.llama_vocab_get_add_sep(h.vocab);
    const bos = s.llama_vocab_bos(h.vocab);
    const eos = s.llama_vocab_eos(h.vocab);
    this.bos = bos === TOKEN_NULL ? null : bos;
    this.eos = eos === TOKEN_NULL ? null : eos;
    this.type = VOCAB_TYPES[s.llama_vocab_type(h.vocab)] ?? "unknown";
  }

  /** Load `path`'s vocabulary through libllama; throws, naming the file, when it cannot. */
  static open(path: string): LibllamaVocab {
    return new LibllamaVocab(loadLlamaVocab(path));
  }

  /** Token ids of `text`, as `llama_tokenize` gives them. */
  tokenize(text: string, options: LibllamaTokenizeOptions = {}): number[] {
    if (this.#disposed) throw new Error("the vocabulary was disposed");
    const { addSpecial = false, parseSpecial = false } = options;
    return llamaTokenize(this.#h.lib, this.#h.vocab, text, addSpecial, parseSpecial);
  }

  /** Free the vocabulary. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#h.lib.symbols.llama_model_free(this.#h.model);
  }
}
