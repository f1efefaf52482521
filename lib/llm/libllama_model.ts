/**
 * A model's vocabulary read straight from libllama (Deno FFI, lib/llm/_libllama.ts) — the same
 * load the batched generator and scorer decode with — behaving as node-llama-cpp's `LlamaModel`
 * does for everything tunebook reads ({@linkcode ModelVocabulary}): `tokenize` (llama.cpp's
 * `llama_tokenize`, no BOS/EOS, with node-llama-cpp's "trimLeadingSpace" rule), `detokenize`
 * (`llama_detokenize`, with its rule for the tokens before), special tokens and their texts,
 * token attributes, end-of-generation tokens and the metadata keys of the tokenizer rules and
 * chat template. A process whose generation all goes through libllama (the server on CPU) then
 * never loads node-llama-cpp: neither its JavaScript, nor its runtime, nor a second copy of the
 * vocabulary (tests/model/libllama_model_test.ts checks it against node-llama-cpp on several
 * vocabularies).
 *
 * @example
 * ```ts ignore
 * import { loadLibllamaModel } from "./libllama_model.ts";
 * const loaded = await loadLibllamaModel("data/models/tiny/tiny-f32.gguf");
 * const tokens = loaded.model.tokenize("Question: 2 plus 2?");
 * console.log(tokens, loaded.model.detokenize(tokens), loaded.info.sha256);
 * await loaded.model.dispose();
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Token } from "node-llama-cpp";
import { DEFAULT_HASH_CACHE, fileSha256 } from "../util/file_hash.ts";
import { fileTypeName } from "../util/file_type.ts";
import {
  type AcquiredLlamaModel,
  acquireLlamaModelAsync,
  cString,
  llamaTokenize,
  loadLlamaVocab,
  openLibllama,
  quietLlamaLog,
} from "./_libllama.ts";
import type { ModelInfo } from "./model.ts";
import type {
  ModelVocabulary,
  VocabularyTokenAttributes,
  VocabularyTokens,
} from "./model_vocabulary.ts";

/** `LLAMA_TOKEN_NULL`. */
const TOKEN_NULL = -1;
/** `enum llama_token_attr` bits (llama.h). */
const ATTR = { unknown: 1 << 0, control: 1 << 3, userDefined: 1 << 4 } as const;
/** Tokens before a detokenized run that decide its leading space (node-llama-cpp's count). */
const RECENT_TOKENS = 3;
/** Bytes a metadata value may take before it is read again with room for all of it. */
const META_BYTES = 256;
const NEWLINE = "\n";

/** A model loaded through libllama alone: its vocabulary and identity (no node-llama-cpp). */
export interface LibllamaLoadedModel {
  /** Never on a GPU: these models run on the batched generator and scorer (CPU). */
  llama: { gpu: false };
  /** Its vocabulary. */
  model: LibllamaModel;
  /** What identifies the file in results. */
  info: ModelInfo;
  /** node-llama-cpp holds nothing of it (it cannot create a node-llama-cpp context). */
  vocabOnly: true;
}

/** Options for {@linkcode loadLibllamaModel}. */
export interface LoadLibllamaModelOptions {
  /** Cache file for file hashes (keyed by path, size and mtime). Default: ".cache/hashes.json". */
  hashCache?: string;
}

/**
 * Load `path` through libllama (its weights too: once per process, shared with every batched
 * generator and scorer on the file). A missing, unreadable or non-model file throws the message
 * lib/llm/model.ts's `inspectModelFile` gives (naming the file and the fix).
 */
export async function loadLibllamaModel(
  path: string,
  options: LoadLibllamaModelOptions = {},
): Promise<LibllamaLoadedModel> {
  const { hashCache = DEFAULT_HASH_CACHE } = options;
  const fail = async (reason: string): Promise<never> => {
    // The precise message (missing file, not a GGUF, a LoRA adapter) comes from the GGUF reader,
    // which loads node-llama-cpp: only on this path, where the process is about to fail anyway.
    const { inspectModelFile } = await import("./model.ts");
    await inspectModelFile(path);
    throw new Error(`${path}: ${reason}.`);
  };
  if (!existsSync(path)) return await fail("model file not found");
  let model: LibllamaModel;
  try {
    model = await LibllamaModel.load(path);
  } catch (e) {
    return await fail((e as Error).message.replace(`${path}: `, ""));
  }
  const meta = (key: string) => model.metadata(key);
  const architecture = meta("general.architecture") ?? "";
  const fileType = meta("general.file_type");
  const info: ModelInfo = {
    path: resolve(path),
    sha256: await fileSha256(path, hashCache),
    bytes: statSync(path).size,
    architecture,
    name: meta("general.name"),
    quantization: fileTypeName(fileType === undefined ? undefined : Number(fileType)),
    parameters: model.parameters,
    contextLength: Number(meta(`${architecture}.context_length`) ?? 0),
  };
  return { llama: { gpu: false }, model, info, vocabOnly: true };
}

/** A libllama model's vocabulary, as node-llama-cpp's `LlamaModel` presents it. */
export class LibllamaModel implements ModelVocabulary {
  readonly #h: AcquiredLlamaModel;
  #disposed = false;
  /** Its special tokens. */
  readonly tokens: VocabularyTokens;
  /** The metadata keys {@linkcode ModelVocabulary} reads (`tokenizer.*`). */
  readonly fileInfo: { readonly metadata: unknown };
  /** The model file's name. */
  readonly filename: string;
  /** The context length the model was trained with (`llama_model_n_ctx_train`). */
  readonly trainContextSize: number;
  /** Tokens in the vocabulary. */
  readonly vocabularySize: number;

  /** Parameters of the model (`llama_model_n_params`; 0 for a vocabulary-only load). */
  readonly parameters: number;

  /** `handles`: a model lent by `acquireLlamaModel` (released by `dispose`). */
  private constructor(handles: AcquiredLlamaModel, path: string) {
    this.#h = handles;
    const s = handles.lib.symbols;
    const v = handles.vocab;
    this.filename = basename(path);
    this.trainContextSize = s.llama_model_n_ctx_train(handles.model);
    this.vocabularySize = s.llama_vocab_n_tokens(v);
    this.parameters = Number(s.llama_model_n_params(handles.model));
    // node-llama-cpp's rules: BOS and EOS only when they are control tokens, EOT and NL unless
    // they are the unknown token.
    const control = (t: number) => t >= 0 && (s.llama_vocab_get_attr(v, t) & ATTR.control) !== 0;
    const known = (t: number) => t >= 0 && (s.llama_vocab_get_attr(v, t) & ATTR.unknown) === 0;
    const pick = (t: number, ok: (t: number) => boolean) =>
      t !== TOKEN_NULL && ok(t) ? t as Token : null;
    const bos = pick(s.llama_vocab_bos(v), control);
    const eos = pick(s.llama_vocab_eos(v), control);
    const eot = pick(s.llama_vocab_eot(v), known);
    const nl = pick(s.llama_vocab_nl(v), known);
    const text = (t: Token | null) => (t === null ? null : this.#tokenText(t));
    this.tokens = {
      bos,
      eos,
      eot,
      nl,
      bosString: text(bos),
      eosString: text(eos),
      eotString: text(eot),
      nlString: text(nl),
      shouldPrependBosToken: bos !== null && s.llama_vocab_get_add_bos(v),
    };
    const template = s.llama_model_chat_template(handles.model, null);
    const addEos = this.metadata("tokenizer.ggml.add_eos_token");
    this.fileInfo = {
      metadata: {
        tokenizer: {
          ...(template !== null
            ? { chat_template: Deno.UnsafePointerView.getCString(template) }
            : {}),
          ggml: {
            model: this.metadata("tokenizer.ggml.model"),
            ...(addEos !== undefined ? { add_eos_token: addEos === "true" } : {}),
          },
        },
      },
    };
  }

  /**
   * `path`'s model, weights included: the load the batched generator and scorer on the file share
   * (off the JavaScript thread when it is not loaded yet). Throws, naming the file, when libllama
   * cannot load it.
   */
  static async load(path: string): Promise<LibllamaModel> {
    quietLlamaLog(openLibllama().lib);
    return new LibllamaModel(await acquireLlamaModelAsync(path), path);
  }

  /**
   * `path`'s vocabulary alone (libllama's `vocab_only` load: no weights, so also for the
   * vocabulary-only GGUFs of llama.cpp's source). Throws, naming the file, when it cannot be loaded.
   */
  static vocabularyOnly(path: string): LibllamaModel {
    quietLlamaLog(openLibllama().lib);
    const h = loadLlamaVocab(path);
    let released = false;
    return new LibllamaModel({
      ...h,
      release: () => {
        if (released) return;
        released = true;
        h.lib.symbols.llama_model_free(h.model);
      },
    }, path);
  }

  /** A metadata value as libllama prints it (`llama_model_meta_val_str`), or undefined when absent. */
  metadata(key: string): string | undefined {
    this.#check();
    const k = cString(key);
    let room = META_BYTES;
    for (;;) {
      const buf = new Uint8Array(room);
      const n = this.#h.lib.symbols.llama_model_meta_val_str(this.#h.model, k, buf, BigInt(room));
      if (n < 0) return undefined;
      if (n < room) return new TextDecoder().decode(buf.subarray(0, n));
      room = n + 1;
    }
  }

  /** Token ids of `text` (no BOS/EOS); see {@linkcode ModelVocabulary.tokenize}. */
  tokenize(text: string, specialTokens = false, options?: "trimLeadingSpace"): Token[] {
    this.#check();
    if (text === "") return [];
    if (options === "trimLeadingSpace") {
      const trimmed = this.#tokenizeContinuing(text, specialTokens);
      if (trimmed) return trimmed;
    }
    return this.#tokenize(text, specialTokens);
  }

  /** The text of `tokens`; see {@linkcode ModelVocabulary.detokenize}. */
  detokenize(
    tokens: readonly Token[],
    specialTokens = false,
    lastTokens?: readonly Token[],
  ): string {
    this.#check();
    if (tokens.length === 0) return "";
    if (!lastTokens || lastTokens.length === 0) return this.#detokenize(tokens, specialTokens);
    const before = lastTokens.slice(-RECENT_TOKENS);
    const beforeText = this.#detokenize(before, specialTokens);
    if (beforeText === "") return this.#detokenize(tokens, specialTokens);
    const text = this.#detokenize([...before, ...tokens], specialTokens);
    if (text.startsWith(beforeText)) return text.slice(beforeText.length);
    return this.#detokenize(tokens, specialTokens);
  }

  /** A token's attributes (`llama_vocab_get_attr`). */
  getTokenAttributes(token: Token): VocabularyTokenAttributes {
    this.#check();
    const a = this.#h.lib.symbols.llama_vocab_get_attr(this.#h.vocab, token);
    return {
      control: (a & ATTR.control) !== 0,
      userDefined: (a & ATTR.userDefined) !== 0,
      unknown: (a & ATTR.unknown) !== 0,
    };
  }

  /** Whether `token` ends a generation: EOS, EOT or what `llama_vocab_is_eog` says. */
  isEogToken(token: Token): boolean {
    this.#check();
    return token === this.tokens.eos || token === this.tokens.eot ||
      this.#h.lib.symbols.llama_vocab_is_eog(this.#h.vocab, token);
  }

  /** Let go of the model (libllama frees it when no generator or scorer uses it either). */
  dispose(): Promise<void> {
    if (!this.#disposed) {
      this.#disposed = true;
      this.#h.release();
    }
    return Promise.resolve();
  }

  #check(): void {
    if (this.#disposed) throw new Error(`${this.filename}: the model was disposed`);
  }

  /** `llama_tokenize` with `add_special` false, as node-llama-cpp's native tokenize calls it. */
  #tokenize(text: string, parseSpecial: boolean): Token[] {
    return llamaTokenize(this.#h.lib, this.#h.vocab, text, false, parseSpecial) as Token[];
  }

  /** `llama_detokenize` with `remove_special` false, decoded as UTF-8 (invalid bytes as U+FFFD). */
  #detokenize(tokens: readonly Token[], unparseSpecial: boolean): string {
    const ids = new Uint8Array(Int32Array.from(tokens).buffer);
    let room = Math.max(16, tokens.length * 8);
    for (;;) {
      const buf = new Uint8Array(room);
      const n = this.#h.lib.symbols.llama_detokenize(
        this.#h.vocab,
        ids,
        tokens.length,
        buf,
        room,
        false,
        unparseSpecial,
      );
      if (n >= 0) return new TextDecoder().decode(buf.subarray(0, n));
      room = -n;
    }
  }

  /** A token's text in the vocabulary (`llama_vocab_get_text`: `<s>`, "▁Hello"). */
  #tokenText(token: Token): string | null {
    const p = this.#h.lib.symbols.llama_vocab_get_text(this.#h.vocab, token);
    return p === null ? null : Deno.UnsafePointerView.getCString(p);
  }

  /**
   * node-llama-cpp's "trimLeadingSpace" tokenization: tokenize the text after a token that ends
   * text (BOS, EOS, NL or EOT with special tokens; a newline otherwise) and drop that token, so
   * the vocabulary does not put its word-start space in front; undefined when that cannot be
   * done (the plain tokenization is used then).
   */
  #tokenizeContinuing(text: string, special: boolean): Token[] | undefined {
    const leadingSpaces = (s: string) => s.length - s.replace(/^ +/, "").length;
    if (special) {
      const t = this.tokens;
      const [token, tokenText] = t.bos !== null && t.bosString !== null
        ? [t.bos, t.bosString]
        : t.eos !== null && t.eosString !== null
        ? [t.eos, t.eosString]
        : t.nl !== null && t.nlString !== null
        ? [t.nl, t.nlString]
        : t.eot !== null && t.eotString !== null
        ? [t.eot, t.eotString]
        : [null, null];
      if (token !== null && tokenText !== null) {
        const tokens = this.#tokenize(tokenText + text, true);
        const at = tokens.indexOf(token);
        if (at >= 0 && at <= 1) {
          tokens.splice(0, at + 1);
          if (leadingSpaces(this.detokenize(tokens, true)) === leadingSpaces(text)) return tokens;
        }
      }
    }
    const newline = this.#tokenize(NEWLINE, special);
    if (text.startsWith(NEWLINE)) {
      const tokens = this.#tokenize(text, special);
      if (this.detokenize(tokens, special).startsWith(NEWLINE)) return tokens;
    }
    const tokens = this.#tokenize(NEWLINE + text, special);
    if (newline.length > 0 && newline.every((t, i) => tokens[i] === t)) {
      tokens.splice(0, newline.length);
      if (!special || leadingSpaces(this.detokenize(tokens, true)) === leadingSpaces(text)) {
        return tokens;
      }
    }
    return undefined;
  }
}
