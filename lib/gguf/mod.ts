/**
 * GGUF files: inspection from the header (tensor types, bytes, bits per weight) and
 * quantization with llama.cpp's own quantizer (through lib/llm), with a card per output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuantTypes } from "./mod.ts";
 * assert.deepEqual(parseQuantTypes("q8_0,Q4_K_M"), ["q8_0", "q4_k_m"]);
 * ```
 * @module
 */
export * from "./inspect.ts";
export * from "./quantize.ts";
