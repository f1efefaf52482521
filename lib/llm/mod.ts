/**
 * The one module that talks to node-llama-cpp and to libllama (one Deno FFI binding,
 * `_libllama.ts`): load GGUF weights and LoRA adapters once ({@link ./model.ts}; through libllama
 * alone for a process with no use for node-llama-cpp, {@link ./libllama_model.ts}), read GGUF
 * headers and tokenizers without the weights, chat templates, scoring and greedy generation over
 * parallel sequences ({@link ./engine.ts}), the batched scorer and generator on the C API,
 * sampled streaming for the server, LoRA `FILE[:SCALE]` specs, and llama.cpp's quantizer.
 * lib/eval, lib/serve, lib/gguf and lib/data reach llama.cpp only through here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLoraSpec } from "./mod.ts";
 * assert.deepEqual(parseLoraSpec("a.gguf:0.5"), { path: "a.gguf", scale: 0.5 });
 * ```
 * @module
 */
export * from "./model.ts";
export * from "./gguf_header.ts";
export * from "./tokenizer.ts";
export * from "./tokenizer_rules.ts";
export * from "./libllama_vocab.ts";
export * from "./model_vocabulary.ts";
export * from "./libllama_model.ts";
export * from "./quantize_gguf.ts";
export * from "./llama_cpp_source.ts";
export * from "./engine.ts";
export * from "./lora_spec.ts";
export * from "./batching.ts";
export * from "./chat.ts";
export * from "./batch_scorer.ts";
export * from "./token_pieces.ts";
export * from "./batch_generator.ts";
export * from "./sequence_pool.ts";
export * from "./sampled_stream.ts";
