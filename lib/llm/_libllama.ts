/**
 * Private: tunebook's one binding to llama.cpp's C API through Deno FFI — one `Deno.dlopen`, one
 * symbol table — in the libllama {@linkcode findLibllama} picks (node-llama-cpp's prebuilt CPU
 * library, so both share one loaded copy). Everything in tunebook that calls libllama directly goes
 * through here: the batched scorer (lib/llm/batch_scorer.ts), the batched generator
 * (lib/llm/batch_generator.ts) and quantization (lib/llm/quantize_gguf.ts).
 *
 * The layouts of `llama_context_params`, `llama_model_params`, `llama_batch` and
 * `llama_model_quantize_params` come from `include/llama.h` of the llama.cpp source node-llama-cpp
 * bundles (`.cache/llama.cpp`, the release of the binary), and are checked when the library is
 * opened against its own defaults.
 * @module
 */
import { dirname, resolve } from "node:path";
import { findLibllama, LIBLLAMA_ENV } from "./_libllama_path.ts";
import { padLoraRank } from "./lora_rank_pad.ts";

/** `struct llama_model_params` (llama.h): 80 bytes; tunebook sets only `vocab_only`. */
const MODEL_PARAMS = {
  struct: [
    "pointer", // devices
    "pointer", // tensor_buft_overrides
    "i32", // n_gpu_layers
    "i32", // split_mode
    "i32", // load_mode
    "i32", // lazy_mode
    "i32", // main_gpu (+4 padding)
    "pointer", // tensor_split
    "pointer", // progress_callback
    "pointer", // progress_callback_user_data
    "pointer", // kv_overrides
    "u8", // vocab_only
    "u8", // check_tensors
    "u8", // use_extra_bufts
    "u8", // no_host
    "u8", // no_alloc
    "u8", // load_mtp (+2 padding)
  ],
} as const;

/** Byte offset of `bool vocab_only` in `llama_model_params` (after 2 pointers, 5 int32 + padding, 4 pointers). */
const MODEL_VOCAB_ONLY = 72;

/** `struct llama_context_params` (llama.h): 160 bytes; byte offsets of the fields set here. */
const CTX = {
  nCtx: 0,
  nBatch: 4,
  nUbatch: 8,
  nSeqMax: 12,
  nOutputsMax: 20,
  nOutputsMaxPerSeq: 24,
  nThreads: 28,
  nThreadsBatch: 32,
  kvUnified: 133,
} as const;
const CONTEXT_PARAMS = {
  struct: [
    ...Array(9).fill("u32"), // n_ctx … n_threads_batch
    ...Array(5).fill("i32"), // ctx_type, rope_scaling_type, pooling_type, attention_type, flash_attn_type
    ...Array(6).fill("f32"), // rope_freq_base … yarn_beta_slow
    "u32", // yarn_orig_ctx
    "f32", // defrag_thold
    "pointer", // cb_eval
    "pointer", // cb_eval_user_data
    "i32", // type_k
    "i32", // type_v
    "pointer", // abort_callback
    "pointer", // abort_callback_data
    ...Array(6).fill("u8"), // embeddings … kv_unified (+2 padding)
    "pointer", // samplers
    "usize", // n_samplers
    "pointer", // ctx_other
  ],
} as const;

/** `struct llama_batch` (llama.h): n_tokens, then six arrays. */
const BATCH = {
  struct: ["i32", "pointer", "pointer", "pointer", "pointer", "pointer", "pointer"],
} as const;
const BATCH_FIELD = { token: 8, pos: 24, nSeqId: 32, seqId: 40, logits: 48 } as const;

/**
 * `struct llama_model_quantize_params` (llama.h), x86-64/aarch64 C layout: byte offsets of the
 * fields tunebook sets, and the struct's size.
 */
export const QUANTIZE_PARAMS = {
  /** int32_t nthread */
  nthread: 0,
  /** enum llama_ftype ftype */
  ftype: 4,
  /** bool allow_requantize */
  allowRequantize: 16,
  /** bool quantize_output_tensor */
  quantizeOutputTensor: 17,
  /** size of the struct: 4 × int32, 6 bools (+2 padding), 4 pointers, size_t */
  size: 64,
} as const;

/** The struct as Deno FFI describes it (libffi computes the same C padding). */
const QUANTIZE_PARAMS_STRUCT = {
  struct: [
    "i32", // nthread
    "i32", // ftype
    "i32", // output_tensor_type
    "i32", // token_embedding_type
    "u8", // allow_requantize
    "u8", // quantize_output_tensor
    "u8", // only_copy
    "u8", // pure
    "u8", // keep_split
    "u8", // dry_run
    "pointer", // imatrix
    "pointer", // kv_overrides
    "pointer", // tt_overrides
    "pointer", // prune_layers
    "usize", // max_buf_size
  ],
} as const;

/** `ggml_log_callback`: void (*)(enum ggml_log_level level, const char * text, void * user_data). */
const LOG_CALLBACK = {
  parameters: ["i32", "pointer", "pointer"],
  result: "void",
} as const;

/** ggml_log_level values (ggml.h). */
const LOG_LEVEL = { debug: 1, info: 2, warn: 3, error: 4, cont: 5 } as const;

const SYMBOLS = {
  llama_backend_init: { parameters: [], result: "void" },
  // ggml's, found through libllama's dependencies: the backends a GGML_BACKEND_DL build (the
  // prebuilt one) loads from its folder.
  ggml_backend_reg_count: { parameters: [], result: "usize" },
  ggml_backend_load_all_from_path: { parameters: ["buffer"], result: "void" },
  llama_log_get: { parameters: ["buffer", "buffer"], result: "void" },
  llama_log_set: { parameters: ["pointer", "pointer"], result: "void" },
  llama_model_quantize_default_params: { parameters: [], result: QUANTIZE_PARAMS_STRUCT },
  llama_model_quantize: {
    parameters: ["buffer", "buffer", "buffer"],
    result: "u32",
    nonblocking: true,
  },
  llama_model_default_params: { parameters: [], result: MODEL_PARAMS },
  llama_model_load_from_file: { parameters: ["buffer", MODEL_PARAMS], result: "pointer" },
  /** The same function, off the JavaScript thread (a server keeps answering while it loads). */
  llama_model_load_from_file_nonblocking: {
    name: "llama_model_load_from_file",
    parameters: ["buffer", MODEL_PARAMS],
    result: "pointer",
    nonblocking: true,
  },
  llama_model_free: { parameters: ["pointer"], result: "void" },
  llama_model_get_vocab: { parameters: ["pointer"], result: "pointer" },
  llama_vocab_n_tokens: { parameters: ["pointer"], result: "i32" },
  llama_vocab_type: { parameters: ["pointer"], result: "i32" },
  llama_vocab_bos: { parameters: ["pointer"], result: "i32" },
  llama_vocab_eos: { parameters: ["pointer"], result: "i32" },
  llama_vocab_get_add_bos: { parameters: ["pointer"], result: "bool" },
  llama_vocab_get_add_eos: { parameters: ["pointer"], result: "bool" },
  llama_vocab_get_add_sep: { parameters: ["pointer"], result: "bool" },
  llama_tokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },
  llama_context_default_params: { parameters: [], result: CONTEXT_PARAMS },
  llama_init_from_model: { parameters: ["pointer", CONTEXT_PARAMS], result: "pointer" },
  llama_free: { parameters: ["pointer"], result: "void" },
  llama_get_memory: { parameters: ["pointer"], result: "pointer" },
  llama_memory_clear: { parameters: ["pointer", "bool"], result: "void" },
  llama_batch_init: { parameters: ["i32", "i32", "i32"], result: BATCH },
  llama_batch_free: { parameters: [BATCH], result: "void" },
  llama_decode: { parameters: ["pointer", BATCH], result: "i32", nonblocking: true },
  /** The same function, called on the JavaScript thread (blocks it while it runs). */
  llama_decode_sync: { name: "llama_decode", parameters: ["pointer", BATCH], result: "i32" },
  llama_get_logits_ith: { parameters: ["pointer", "i32"], result: "pointer" },
  llama_adapter_lora_init: { parameters: ["pointer", "buffer"], result: "pointer" },
  llama_adapter_lora_free: { parameters: ["pointer"], result: "void" },
  llama_set_adapters_lora: {
    parameters: ["pointer", "buffer", "usize", "buffer"],
    result: "i32",
  },
  llama_memory_seq_rm: { parameters: ["pointer", "i32", "i32", "i32"], result: "bool" },
  llama_state_seq_get_size: { parameters: ["pointer", "i32"], result: "usize" },
  llama_state_seq_get_data: { parameters: ["pointer", "buffer", "usize", "i32"], result: "usize" },
  llama_state_seq_set_data: { parameters: ["pointer", "buffer", "usize", "i32"], result: "usize" },
  llama_model_n_swa: { parameters: ["pointer"], result: "i32" },
  llama_vocab_is_eog: { parameters: ["pointer", "i32"], result: "bool" },
  llama_vocab_is_control: { parameters: ["pointer", "i32"], result: "bool" },
  llama_vocab_get_attr: { parameters: ["pointer", "i32"], result: "i32" },
  llama_vocab_get_text: { parameters: ["pointer", "i32"], result: "pointer" },
  llama_vocab_eot: { parameters: ["pointer"], result: "i32" },
  llama_vocab_nl: { parameters: ["pointer"], result: "i32" },
  llama_detokenize: {
    parameters: ["pointer", "buffer", "i32", "buffer", "i32", "bool", "bool"],
    result: "i32",
  },
  llama_model_n_ctx_train: { parameters: ["pointer"], result: "i32" },
  llama_model_n_params: { parameters: ["pointer"], result: "u64" },
  llama_model_meta_val_str: {
    parameters: ["pointer", "buffer", "buffer", "usize"],
    result: "i32",
  },
  llama_model_chat_template: { parameters: ["pointer", "pointer"], result: "pointer" },
  llama_token_to_piece: {
    parameters: ["pointer", "i32", "buffer", "i32", "i32", "bool"],
    result: "i32",
  },
  llama_sampler_chain_default_params: { parameters: [], result: { struct: ["u8"] } },
  llama_sampler_chain_init: { parameters: [{ struct: ["u8"] }], result: "pointer" },
  llama_sampler_chain_add: { parameters: ["pointer", "pointer"], result: "void" },
  llama_sampler_init_greedy: { parameters: [], result: "pointer" },
  llama_sampler_init_dist: { parameters: ["u32"], result: "pointer" },
  llama_sampler_init_top_p: { parameters: ["f32", "usize"], result: "pointer" },
  llama_sampler_init_temp: { parameters: ["f32"], result: "pointer" },
  llama_sampler_init_logit_bias: { parameters: ["i32", "i32", "buffer"], result: "pointer" },
  llama_sampler_sample: { parameters: ["pointer", "pointer", "i32"], result: "i32" },
  llama_sampler_free: { parameters: ["pointer"], result: "void" },
} as const;

/** The opened library. */
export type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** The opened library and the file it was opened from. */
export interface OpenedLibllama {
  /** Path of the library file. */
  path: string;
  /** Its symbols. */
  lib: Lib;
}

let opened: OpenedLibllama | undefined;

/**
 * Open libllama once per process (never closed: node-llama-cpp shares the same loaded copy),
 * initialise its backend and check that the struct layouts declared here are this library's: its
 * defaults must land where llama.h puts them. Throws, naming the file and the fix, when it cannot
 * be loaded or is from another llama.cpp release.
 */
export function openLibllama(): OpenedLibllama {
  if (opened) return opened;
  const path = findLibllama();
  let lib: Lib;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    throw new Error(
      `${path}: could not load libllama (${(e as Error).message}). Reinstall node-llama-cpp ` +
        `(\`deno install\`), or set ${LIBLLAMA_ENV} to a working libllama.`,
    );
  }
  const layoutError = checkLayouts(lib);
  if (layoutError) {
    lib.close();
    throw new Error(
      `${path}: ${layoutError}; this libllama is from another llama.cpp release than ` +
        "lib/llm/_libllama.ts was written for. Update the layouts there from its llama.h.",
    );
  }
  lib.symbols.llama_backend_init();
  // A build with its backends in separate libraries (node-llama-cpp's prebuilt one: a CPU
  // library per instruction set) has none until they are loaded from its folder, the best one
  // for this CPU first — as node-llama-cpp's runtime does when it is in the process (then they
  // are loaded already).
  if (lib.symbols.ggml_backend_reg_count() === 0n) {
    quietLlamaLog(lib); // node-llama-cpp, which would have set up the log, is not here
    lib.symbols.ggml_backend_load_all_from_path(cString(dirname(path)));
  }
  opened = { path, lib };
  return opened;
}

/** What is wrong with the declared layouts for `lib`, or undefined when they fit. */
function checkLayouts(lib: Lib): string | undefined {
  const c = new DataView(lib.symbols.llama_context_default_params().buffer);
  if (c.getUint32(CTX.nBatch, true) !== 2048 || c.getUint32(CTX.nSeqMax, true) !== 1) {
    return "llama_context_params defaults are not where expected";
  }
  const m = new DataView(lib.symbols.llama_model_default_params().buffer);
  // n_gpu_layers = -1 and use_extra_bufts = true by default: vocab_only lies two bytes before it.
  if (m.getInt32(16, true) !== -1 || m.getUint8(MODEL_VOCAB_ONLY + 2) !== 1) {
    return "llama_model_params defaults are not where expected";
  }
  const q = lib.symbols.llama_model_quantize_default_params();
  if (q.byteLength !== QUANTIZE_PARAMS.size) {
    return `llama_model_quantize_params is ${q.byteLength} bytes, expected ${QUANTIZE_PARAMS.size}`;
  }
  return undefined;
}

/** Level of a line llama.cpp logs. */
export type LlamaLogLevel = "debug" | "info" | "warn" | "error";

/** What {@linkcode captureLlamaLog} returns. */
export interface LlamaLogCapture {
  /** Restore the previous logger and pass on the last, unterminated line. */
  stop(): void;
}

/**
 * Route llama.cpp's process-wide log into whole lines for `onLine` until `stop()` is called, then
 * restore the logger that was set before. `onLine` runs on the JavaScript thread; an exception
 * from it is dropped there rather than unwinding into C, so it should catch its own.
 */
export function captureLlamaLog(
  lib: Lib,
  onLine: (line: string, level: LlamaLogLevel) => void,
): LlamaLogCapture {
  const prevCallback = new BigUint64Array(1);
  const prevUserData = new BigUint64Array(1);
  lib.symbols.llama_log_get(prevCallback, prevUserData);
  const levels = ["debug", "info", "warn", "error"] as const;
  let pending = "";
  let level: LlamaLogLevel = "info";
  const callback = Deno.UnsafeCallback.threadSafe(LOG_CALLBACK, (lvl, text) => {
    if (lvl !== LOG_LEVEL.cont) level = levels[Math.max(0, lvl - LOG_LEVEL.debug)] ?? "info";
    pending += text === null ? "" : Deno.UnsafePointerView.getCString(text);
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const part of parts) {
      try {
        onLine(part, level);
      } catch { /* must not unwind into C */ }
    }
  });
  lib.symbols.llama_log_set(callback.pointer, null);
  return {
    stop() {
      lib.symbols.llama_log_set(
        Deno.UnsafePointer.create(prevCallback[0]),
        Deno.UnsafePointer.create(prevUserData[0]),
      );
      callback.close();
      if (pending) onLine(pending, level);
    },
  };
}

/** NUL-terminated UTF-8, for C strings. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/**
 * `llama_tokenize` on `vocab`: token ids of `text`, the output buffer grown to what libllama asks
 * for. `addSpecial`: BOS/EOS as the vocabulary adds them; `parseSpecial`: special tokens' texts in
 * `text` become those tokens.
 */
export function llamaTokenize(
  lib: Lib,
  vocab: Deno.PointerValue,
  text: string,
  addSpecial: boolean,
  parseSpecial: boolean,
): number[] {
  const bytes = cString(text);
  const len = bytes.length - 1;
  let room = len + 8;
  for (;;) {
    const out = new Int32Array(room);
    const n = lib.symbols.llama_tokenize(
      vocab,
      bytes,
      len,
      new Uint8Array(out.buffer),
      room,
      addSpecial,
      parseSpecial,
    );
    if (n >= 0) return [...out.subarray(0, n)];
    if (-n <= room) throw new Error(`llama_tokenize failed (${n})`);
    room = -n;
  }
}

/** Settings of {@linkcode createLlamaContext}. */
export interface LlamaContextSettings {
  /** KV cache cells in all. */
  nCtx: number;
  /** Tokens per llama_decode call (and per micro-batch). */
  nBatch: number;
  /** Sequence ids. */
  nSeqMax: number;
  /** CPU threads. */
  threads: number;
  /** One KV buffer for all sequences (needed for tokens shared by several). */
  kvUnified: boolean;
  /**
   * Most rows of logits one micro-batch asks for, and per sequence: llama.cpp sizes the compute
   * buffer's output for these (as llama-server sets them: one per slot). Default: 0 (= `nBatch`,
   * every row; a scorer needs them).
   */
  nOutputsMax?: number;
  /** Default: 0 (= `nOutputsMax`). */
  nOutputsMaxPerSeq?: number;
}

/** A model, a context on it and its LoRA adapters, loaded through the C API. */
export interface LlamaHandles {
  lib: Lib;
  /** The model: one load per file, shared by every context on it ({@linkcode acquireModel}). */
  model: Deno.PointerValue;
  /** The model file, absolute (the key of the shared load). */
  modelPath: string;
  ctx: Deno.PointerValue;
  /** The context's LoRA adapters, in order (shared with every context on the model that uses them). */
  adapters: Deno.PointerValue[];
  /** Their keys in the shared loads ({@linkcode acquireAdapter}). */
  adapterKeys: string[];
  /** Vocabulary size. */
  nVocab: number;
  vocab: Deno.PointerValue;
}

/** Models loaded through the C API, by absolute path, with the number of contexts on each. */
const loadedModels = new Map<string, { model: Deno.PointerValue; contexts: number }>();

/**
 * `modelPath`'s weights, loaded on first use and shared after that: the batched generator, the
 * batched scorer and every further context on one file use one copy of the weights (a second
 * `llama_model_load_from_file` would map and touch the file again, doubling resident memory).
 * Pair each call with {@linkcode releaseModel}. Throws, naming the file, when it cannot be loaded.
 */
function acquireModel(l: Lib, modelPath: string): Deno.PointerValue {
  const key = resolve(modelPath);
  let entry = loadedModels.get(key);
  if (!entry) {
    const model = l.symbols.llama_model_load_from_file(
      cString(modelPath),
      l.symbols.llama_model_default_params(),
    );
    if (model === null) throw new Error(`${modelPath}: libllama could not load this model`);
    entry = { model, contexts: 0 };
    loadedModels.set(key, entry);
  }
  entry.contexts++;
  return entry.model;
}

/** Let go of a model {@linkcode acquireModel} lent; the last one out frees it. */
function releaseModel(l: Lib, modelPath: string): void {
  const key = resolve(modelPath);
  const entry = loadedModels.get(key);
  if (!entry) return;
  if (--entry.contexts > 0) return;
  loadedModels.delete(key);
  l.symbols.llama_model_free(entry.model);
}

/**
 * LoRA adapters loaded through the C API, by model file, adapter file (absolute) and occurrence in
 * a context's list, with the number of contexts using each: the batched scorer and generator on one
 * model, or two model names of a server that share an adapter at different scales, load an
 * adapter's tensors once. A file listed twice for one context (stacked) is loaded twice, as
 * llama.cpp applies one adapter object once per context.
 */
const loadedAdapters = new Map<string, { adapter: Deno.PointerValue; contexts: number }>();

/**
 * The `occurrence`-th (from 0) copy of `adapterPath` loaded on the model of `modelPath` (already
 * acquired), on first use, shared after; with its key for {@linkcode releaseAdapter}. The adapter
 * is null when libllama cannot load it.
 */
function acquireAdapter(
  l: Lib,
  model: Deno.PointerValue,
  modelPath: string,
  adapterPath: string,
  occurrence: number,
): { adapter: Deno.PointerValue; key: string } {
  const key = [resolve(modelPath), resolve(adapterPath), occurrence].join("\0");
  let entry = loadedAdapters.get(key);
  if (!entry) {
    const adapter = l.symbols.llama_adapter_lora_init(model, cString(loadablePath(adapterPath)));
    if (adapter === null) return { adapter, key };
    entry = { adapter, contexts: 0 };
    loadedAdapters.set(key, entry);
  }
  entry.contexts++;
  return { adapter: entry.adapter, key };
}

/**
 * The file to load `adapterPath` from: its rank-padded copy (lib/llm/lora_rank_pad.ts: the same
 * B·A, a rank the matrix kernels take whole), or the file itself when padding is not needed or
 * fails (e.g. an unwritable cache: then only slower, said once on stderr).
 */
function loadablePath(adapterPath: string): string {
  try {
    return padLoraRank(adapterPath);
  } catch (e) {
    if (!warnedPadding) {
      warnedPadding = true;
      console.warn(
        `${adapterPath}: using the adapter unpadded (its rank-padded copy could not be written: ` +
          `${(e as Error).message}); set TUNEBOOK_LORA_CACHE to a writable folder to speed it up`,
      );
    }
    return adapterPath;
  }
}
let warnedPadding = false;

/** Let go of the adapter {@linkcode acquireAdapter} lent under `key`; the last one out frees it. */
function releaseAdapter(l: Lib, key: string): void {
  const entry = loadedAdapters.get(key);
  if (!entry) return;
  if (--entry.contexts > 0) return;
  loadedAdapters.delete(key);
  l.symbols.llama_adapter_lora_free(entry.adapter);
}

/** How many LoRA adapters are loaded through the C API now (each once per model and file). */
export function loadedAdapterCount(): number {
  return loadedAdapters.size;
}

/** How many distinct model files are loaded through the C API now (each once). */
export function loadedModelCount(): number {
  return loadedModels.size;
}

/**
 * Create a context on `modelPath` (its weights loaded once per process, {@linkcode acquireModel})
 * with `settings` and apply `lora` (each adapter loaded once per model, {@linkcode acquireAdapter}).
 * The adapters are set on the context here, once: `llama_set_adapters_lora` marks the context's
 * compute graph for re-reservation whenever the set changes, and a set that never changes costs
 * nothing per decode beyond the adapters' own matmuls. Throws, naming the file, when the model,
 * the context or an adapter fails.
 */
export function createLlamaContext(
  modelPath: string,
  settings: LlamaContextSettings,
  lora: { path: string; scale?: number }[] = [],
): LlamaHandles {
  const l = openLibllama().lib;
  const model = acquireModel(l, modelPath);
  const params = l.symbols.llama_context_default_params() as Uint8Array<ArrayBuffer>;
  const v = new DataView(params.buffer, params.byteOffset);
  v.setUint32(CTX.nCtx, settings.nCtx, true);
  v.setUint32(CTX.nBatch, settings.nBatch, true);
  v.setUint32(CTX.nUbatch, settings.nBatch, true);
  v.setUint32(CTX.nSeqMax, settings.nSeqMax, true);
  v.setUint32(CTX.nOutputsMax, settings.nOutputsMax ?? 0, true);
  v.setUint32(CTX.nOutputsMaxPerSeq, settings.nOutputsMaxPerSeq ?? 0, true);
  v.setInt32(CTX.nThreads, settings.threads, true);
  v.setInt32(CTX.nThreadsBatch, settings.threads, true);
  v.setUint8(CTX.kvUnified, settings.kvUnified ? 1 : 0);
  const ctx = l.symbols.llama_init_from_model(model, params);
  if (ctx === null) {
    releaseModel(l, modelPath);
    throw new Error(`${modelPath}: libllama could not create a context`);
  }
  const adapters: Deno.PointerValue[] = [];
  const adapterKeys: string[] = [];
  for (const [i, a] of lora.entries()) {
    const before = lora.slice(0, i).filter((b) => resolve(b.path) === resolve(a.path)).length;
    const { adapter, key } = acquireAdapter(l, model, modelPath, a.path, before);
    if (adapter === null) {
      for (const k of adapterKeys) releaseAdapter(l, k);
      l.symbols.llama_free(ctx);
      releaseModel(l, modelPath);
      throw new Error(`${a.path}: libllama could not load this LoRA adapter for ${modelPath}`);
    }
    adapters.push(adapter);
    adapterKeys.push(key);
  }
  if (adapters.length) {
    const ptrs = new BigUint64Array(adapters.map((p) => BigInt(Deno.UnsafePointer.value(p))));
    const scales = new Float32Array(lora.map((a) => a.scale ?? 1));
    l.symbols.llama_set_adapters_lora(ctx, ptrs, BigInt(adapters.length), scales);
  }
  const vocab = l.symbols.llama_model_get_vocab(model);
  return {
    lib: l,
    model,
    modelPath,
    ctx,
    adapters,
    adapterKeys,
    vocab,
    nVocab: l.symbols.llama_vocab_n_tokens(vocab),
  };
}

/**
 * Free what {@linkcode createLlamaContext} made (each adapter and the model once no other context
 * uses it).
 */
export function freeLlamaContext(h: LlamaHandles): void {
  h.lib.symbols.llama_free(h.ctx);
  for (const k of h.adapterKeys) releaseAdapter(h.lib, k);
  releaseModel(h.lib, h.modelPath);
}

/** A model lent by {@linkcode acquireLlamaModel}. */
export interface AcquiredLlamaModel {
  lib: Lib;
  model: Deno.PointerValue;
  vocab: Deno.PointerValue;
  /** Let go of it (once); the last holder out frees the model. */
  release: () => void;
}

/**
 * `modelPath`'s model (weights and vocabulary), the same load the contexts on that file share
 * ({@linkcode createLlamaContext}): a server reads its tokenizer from the copy its generator
 * decodes with. Throws, naming the file, when libllama cannot load it.
 */
export function acquireLlamaModel(modelPath: string): AcquiredLlamaModel {
  const l = openLibllama().lib;
  const model = acquireModel(l, modelPath);
  let released = false;
  return {
    lib: l,
    model,
    vocab: l.symbols.llama_model_get_vocab(model),
    release: () => {
      if (released) return;
      released = true;
      releaseModel(l, modelPath);
    },
  };
}

/** Loads of {@linkcode acquireLlamaModelAsync} in progress, by absolute path. */
const loadingModels = new Map<string, Promise<Deno.PointerValue>>();

/**
 * {@linkcode acquireLlamaModel}, with the load (when the file is not loaded yet) off the
 * JavaScript thread, so a server answers "loading" meanwhile. Throws, naming the file, when
 * libllama cannot load it.
 */
export async function acquireLlamaModelAsync(modelPath: string): Promise<AcquiredLlamaModel> {
  const l = openLibllama().lib;
  const key = resolve(modelPath);
  if (!loadedModels.has(key)) {
    let loading = loadingModels.get(key);
    if (!loading) {
      loading = l.symbols.llama_model_load_from_file_nonblocking(
        cString(modelPath),
        l.symbols.llama_model_default_params(),
      ).then((model) => {
        loadingModels.delete(key);
        if (model === null) return null;
        const entry = loadedModels.get(key);
        if (!entry) {
          loadedModels.set(key, { model, contexts: 0 });
          return model;
        }
        // A context loaded the file on the JavaScript thread meanwhile: keep that one copy.
        l.symbols.llama_model_free(model);
        return entry.model;
      });
      loadingModels.set(key, loading);
    }
    if ((await loading) === null) {
      throw new Error(`${modelPath}: libllama could not load this model`);
    }
  }
  return acquireLlamaModel(modelPath);
}

/**
 * From now on, llama.cpp's process-wide log goes to stderr at error level only (its model-loading
 * and context-creation lines are dropped), as node-llama-cpp's runtime sets it up (lib/llm/model.ts,
 * `LlamaLogLevel.error`) — for processes that open libllama without node-llama-cpp. Once per
 * process; {@linkcode captureLlamaLog} still takes the log over for a while and restores this.
 */
export function quietLlamaLog(lib: Lib): void {
  if (quieted) return;
  quieted = true;
  let pending = "";
  let level = 0;
  const callback = Deno.UnsafeCallback.threadSafe(LOG_CALLBACK, (lvl, text) => {
    if (lvl !== LOG_LEVEL.cont) level = lvl;
    if (level < LOG_LEVEL.error) return;
    pending += text === null ? "" : Deno.UnsafePointerView.getCString(text);
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) console.error(line);
  });
  callback.unref(); // the logger must not keep the process alive
  lib.symbols.llama_log_set(callback.pointer, null);
}
let quieted = false;

/** A model loaded with its vocabulary only (no weights), through the C API. */
export interface LlamaVocabHandles {
  lib: Lib;
  model: Deno.PointerValue;
  vocab: Deno.PointerValue;
}

/** Load `modelPath`'s vocabulary only (`vocab_only`); throws, naming the file, when it fails. */
export function loadLlamaVocab(modelPath: string): LlamaVocabHandles {
  const l = openLibllama().lib;
  const params = l.symbols.llama_model_default_params() as Uint8Array<ArrayBuffer>;
  new DataView(params.buffer, params.byteOffset).setUint8(MODEL_VOCAB_ONLY, 1);
  const model = l.symbols.llama_model_load_from_file(cString(modelPath), params);
  if (model === null) throw new Error(`${modelPath}: libllama could not load this vocabulary`);
  return { lib: l, model, vocab: l.symbols.llama_model_get_vocab(model) };
}

/** A `llama_batch` from llama_batch_init, with typed views of its arrays. */
export class LlamaBatch {
  /** The struct, passed by value to llama_decode. */
  readonly struct: Uint8Array<ArrayBuffer>;
  readonly token: Int32Array;
  readonly pos: Int32Array;
  readonly nSeqId: Int32Array;
  /** Each row's sequence ids (`nSeqMax` slots). */
  readonly seqIds: Int32Array[];
  readonly logits: Int8Array;

  constructor(readonly lib: Lib, readonly size: number, nSeqMax: number) {
    this.struct = lib.symbols.llama_batch_init(size, 0, nSeqMax) as Uint8Array<ArrayBuffer>;
    const view = new DataView(this.struct.buffer, this.struct.byteOffset);
    const field = (offset: number, bytes: number) =>
      Deno.UnsafePointerView.getArrayBuffer(
        Deno.UnsafePointer.create(view.getBigUint64(offset, true))!,
        bytes,
      );
    this.token = new Int32Array(field(BATCH_FIELD.token, size * 4));
    this.pos = new Int32Array(field(BATCH_FIELD.pos, size * 4));
    this.nSeqId = new Int32Array(field(BATCH_FIELD.nSeqId, size * 4));
    this.logits = new Int8Array(field(BATCH_FIELD.logits, size));
    const seqPtrs = new BigUint64Array(field(BATCH_FIELD.seqId, size * 8));
    this.seqIds = [...seqPtrs].map((p) =>
      new Int32Array(
        Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(p)!, nSeqMax * 4),
      )
    );
  }

  /** Set the number of rows the next decode reads. */
  setTokens(n: number): void {
    new DataView(this.struct.buffer, this.struct.byteOffset).setInt32(0, n, true);
  }

  /** Free the arrays. */
  free(): void {
    this.lib.symbols.llama_batch_free(this.struct);
  }
}
