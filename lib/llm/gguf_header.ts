/**
 * A GGUF file's header — its metadata and, when asked, its tensor table — read with
 * node-llama-cpp's `readGgufFileInfo`, without loading any weights. lib/gguf/inspect.ts (types,
 * bits per weight) and {@linkcode inspectModelFile} build on it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readGgufHeader } from "./gguf_header.ts";
 * const h = await readGgufHeader("data/models/tiny/tiny-f32.gguf", { tensors: true });
 * const general = h.metadata.general as Record<string, unknown>;
 * assert.equal(general.architecture, "llama");
 * assert.equal(h.tensors?.find((t) => t.name === "token_embd.weight")?.ggmlType, 0); // f32
 * ```
 * @module
 */
import { resolve } from "node:path";

/** One entry of a GGUF file's tensor table. */
export interface GgufTensorInfo {
  /** Tensor name, e.g. "blk.0.attn_q.weight". */
  name: string;
  /** Its `enum ggml_type` value (0 f32, 1 f16, 8 q8_0, 12 q4_K, …). */
  ggmlType: number;
  /** Dimensions, row length first (ggml's `ne`). */
  dims: number[];
}

/** What {@linkcode readGgufHeader} reads. */
export interface GgufHeader {
  /** Absolute path of the file. */
  path: string;
  /**
   * The metadata, nested by the dots of its keys: `general.architecture` is
   * `metadata.general.architecture`.
   */
  metadata: Record<string, unknown>;
  /** The tensor table (every part of a split model), when `tensors: true` was asked for. */
  tensors?: GgufTensorInfo[];
}

/** Options of {@linkcode readGgufHeader}. */
export interface ReadGgufHeaderOptions {
  /** Read the tensor table too. Default: false (metadata only). */
  tensors?: boolean;
}

/**
 * The file could not be read as GGUF: missing, truncated in its header, or another format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GgufReadError, readGgufHeader } from "./gguf_header.ts";
 * await assert.rejects(
 *   readGgufHeader("deno.json"),
 *   (e) => e instanceof GgufReadError && /^deno\.json: not a readable GGUF file \(/.test(e.message),
 * );
 * ```
 */
export class GgufReadError extends Error {
  /**
   * @param path The file.
   * @param reason What node-llama-cpp's reader said, on one line.
   */
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: not a readable GGUF file (${reason})`);
    this.name = "GgufReadError";
  }
}

/**
 * Read a GGUF file's metadata (and its tensor table with `tensors: true`). Throws
 * {@linkcode GgufReadError}, naming the file, when it is not a readable GGUF file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readGgufHeader } from "./gguf_header.ts";
 * const h = await readGgufHeader("data/models/tiny/tiny-f32.gguf");
 * assert.equal(h.tensors, undefined);
 * assert.ok(typeof (h.metadata.tokenizer as Record<string, unknown>).chat_template === "string");
 * ```
 */
export async function readGgufHeader(
  path: string,
  options: ReadGgufHeaderOptions = {},
): Promise<GgufHeader> {
  const { tensors = false } = options;
  // Imported on first use: a process that never reads a GGUF header this way (the server on
  // CPU) does not load node-llama-cpp's JavaScript.
  const { readGgufFileInfo } = await import("node-llama-cpp");
  let info;
  try {
    info = await readGgufFileInfo(path, { readTensorInfo: tensors });
  } catch (e) {
    throw new GgufReadError(path, (e as Error).message.replace(/\s+/g, " ").trim());
  }
  const header: GgufHeader = {
    path: resolve(path),
    metadata: info.metadata as unknown as Record<string, unknown>,
  };
  if (tensors) {
    header.tensors = (info.fullTensorInfo ?? info.tensorInfo ?? []).map((t) => ({
      name: t.name,
      ggmlType: Number(t.ggmlType),
      dims: t.dimensions.map(Number),
    }));
  }
  return header;
}
