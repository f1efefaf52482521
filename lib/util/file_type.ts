/**
 * Names of GGUF `general.file_type` values (llama.cpp's `enum llama_ftype`, llama.h), as
 * `llama-quantize` prints them: what model identities, quantization cards and GGUF inspection
 * report as a file's quantization.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileTypeName } from "./file_type.ts";
 * assert.equal(fileTypeName(15), "Q4_K_M");
 * assert.equal(fileTypeName(undefined), "unknown");
 * ```
 * @module
 */

/** `llama_ftype` values (llama.h) → names as llama-quantize prints them. */
const FILE_TYPES: Readonly<Record<number, string>> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  32: "BF16",
};

/**
 * The name of a GGUF `general.file_type` value (e.g. 15 → "Q4_K_M"); "unknown" when unset,
 * "ftype-N" for a value without a name here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileTypeName } from "./file_type.ts";
 * assert.equal(fileTypeName(0), "F32");
 * assert.equal(fileTypeName(99), "ftype-99");
 * ```
 */
export function fileTypeName(fileType: number | undefined): string {
  if (fileType === undefined) return "unknown";
  return FILE_TYPES[fileType] ?? `ftype-${fileType}`;
}
