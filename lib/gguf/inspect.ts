/**
 * GGUF inspection without loading the model: tensor types, weights, bytes and bits per weight,
 * read from the file's header (lib/llm/gguf_header.ts's {@linkcode readGgufHeader}).
 *
 * Bits per weight follow llama.cpp's definition (`llama_model_loader` prints "N BPW"): the bytes of
 * all tensor data × 8 / the number of weights in all tensors (norms and embeddings included). The
 * file's metadata (tokenizer, chat template) and alignment padding are left out; they are in
 * `fileBitsPerWeight`, which divides the whole file size instead.
 *
 * @example
 * ```ts ignore
 * import { inspectGguf } from "./inspect.ts";
 * const g = await inspectGguf("data/models/tiny/tiny-f32.gguf");
 * console.log(g.quantization, g.weights, g.bitsPerWeight.toFixed(2));
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { GgufReadError, readGgufHeader } from "../llm/gguf_header.ts";
import { fileTypeName } from "../util/file_type.ts";

/** Block size (weights per block) and block bytes of a ggml tensor type. */
export interface GgmlTypeTraits {
  /** ggml's name for the type, e.g. "q4_K". */
  name: string;
  /** Weights per block. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

/**
 * `enum ggml_type` → traits, as libggml-base of the bundled llama.cpp reports them
 * (`ggml_type_name`, `ggml_blck_size`, `ggml_type_size`; the model tests check this table against
 * the library). Removed types (4, 5, 31–33, 36–38) are absent.
 */
export const GGML_TYPES: Readonly<Record<number, GgmlTypeTraits>> = Object.freeze(
  Object.fromEntries(
    ([
      [0, "f32", 1, 4],
      [1, "f16", 1, 2],
      [2, "q4_0", 32, 18],
      [3, "q4_1", 32, 20],
      [6, "q5_0", 32, 22],
      [7, "q5_1", 32, 24],
      [8, "q8_0", 32, 34],
      [9, "q8_1", 32, 36],
      [10, "q2_K", 256, 84],
      [11, "q3_K", 256, 110],
      [12, "q4_K", 256, 144],
      [13, "q5_K", 256, 176],
      [14, "q6_K", 256, 210],
      [15, "q8_K", 256, 292],
      [16, "iq2_xxs", 256, 66],
      [17, "iq2_xs", 256, 74],
      [18, "iq3_xxs", 256, 98],
      [19, "iq1_s", 256, 50],
      [20, "iq4_nl", 32, 18],
      [21, "iq3_s", 256, 110],
      [22, "iq2_s", 256, 82],
      [23, "iq4_xs", 256, 136],
      [24, "i8", 1, 1],
      [25, "i16", 1, 2],
      [26, "i32", 1, 4],
      [27, "i64", 1, 8],
      [28, "f64", 1, 8],
      [29, "iq1_m", 256, 56],
      [30, "bf16", 1, 2],
      [34, "tq1_0", 256, 54],
      [35, "tq2_0", 256, 66],
      [39, "mxfp4", 32, 17],
      [40, "nvfp4", 64, 36],
      [41, "q1_0", 128, 18],
      [42, "q2_0", 64, 18],
    ] as const).map(([id, name, blockSize, typeSize]) => [id, { name, blockSize, typeSize }]),
  ),
);

/**
 * ggml's name of a tensor type (e.g. 12 → "q4_K"); "type-N" when unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ggmlTypeName } from "./inspect.ts";
 * assert.equal(ggmlTypeName(12), "q4_K");
 * assert.equal(ggmlTypeName(999), "type-999");
 * ```
 */
export function ggmlTypeName(type: number): string {
  return GGML_TYPES[type]?.name ?? `type-${type}`;
}

/**
 * Bytes of a tensor's data: rows × (columns / block size) × block bytes, where `dims[0]` is the
 * row length (ggml's `ne[0]`). Throws for an unknown type or a row that is not whole blocks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ggmlTensorBytes } from "./inspect.ts";
 * assert.equal(ggmlTensorBytes(8, [128, 2048]), 278528); // q8_0: 2048 rows × 4 blocks × 34 bytes
 * assert.throws(() => ggmlTensorBytes(8, [100, 1]), /whole blocks|block/);
 * ```
 */
export function ggmlTensorBytes(type: number, dims: readonly number[]): number {
  const t = GGML_TYPES[type];
  if (!t) throw new Error(`ggml tensor type ${type} is unknown to tunebook (lib/gguf/inspect.ts)`);
  const [cols = 1, ...rest] = dims;
  if (cols % t.blockSize !== 0) {
    throw new Error(`a ${t.name} row holds whole blocks of ${t.blockSize}; got ${cols} columns`);
  }
  const rows = rest.reduce((a, b) => a * b, 1);
  return rows * (cols / t.blockSize) * t.typeSize;
}

/** One tensor of a GGUF file. */
export interface GgufTensorSummary {
  /** Tensor name, e.g. "blk.0.attn_q.weight". */
  name: string;
  /** ggml type name, e.g. "q8_0". */
  type: string;
  /** Dimensions, row length first (ggml's `ne`). */
  dims: number[];
  /** Number of weights. */
  weights: number;
  /** Bytes of its data. */
  bytes: number;
}

/** Totals for the tensors of one ggml type. */
export interface GgufTypeTotals {
  /** Number of tensors. */
  tensors: number;
  /** Their weights. */
  weights: number;
  /** Their data bytes. */
  bytes: number;
}

/** What {@linkcode inspectGguf} reports about a GGUF file. */
export interface GgufSummary {
  /** Absolute path. */
  path: string;
  /** File size in bytes. */
  fileBytes: number;
  /** `general.architecture`. */
  architecture: string;
  /** `general.type` ("model", "adapter", …), if set. */
  generalType?: string;
  /** `general.file_type` (a `llama_ftype` value), if set. */
  fileType?: number;
  /** Its name, e.g. "Q4_K_M" ("unknown" when unset). */
  quantization: string;
  /** Every tensor, in file order. */
  tensors: GgufTensorSummary[];
  /** Per ggml type name: tensors, weights, bytes. */
  tensorTypes: Record<string, GgufTypeTotals>;
  /** Weights in all tensors. */
  weights: number;
  /** Bytes of all tensor data. */
  tensorBytes: number;
  /** tensorBytes × 8 / weights (llama.cpp's BPW). */
  bitsPerWeight: number;
  /** fileBytes × 8 / weights (metadata and padding included). */
  fileBitsPerWeight: number;
}

/** Bits in a byte. */
const BITS_PER_BYTE = 8;

/**
 * Read a GGUF file's header and summarise its tensors. Throws, naming the file, when it is missing
 * or not a GGUF file.
 *
 * @example
 * ```ts ignore
 * import { inspectGguf } from "./inspect.ts";
 * const g = await inspectGguf("results/models/tiny-q8_0.gguf");
 * console.log(g.quantization, g.tensorTypes, g.bitsPerWeight);
 * ```
 */
export async function inspectGguf(path: string): Promise<GgufSummary> {
  if (!existsSync(path)) {
    throw new Error(`${path}: file not found. Check the path (a GGUF model file is expected).`);
  }
  let header;
  try {
    header = await readGgufHeader(path, { tensors: true });
  } catch (e) {
    if (!(e instanceof GgufReadError)) throw e;
    throw new Error(
      `${e.message}. Pass a .gguf model ` +
        "(Hugging Face checkpoints convert with `python3 -m tunebook.export_gguf`).",
    );
  }
  const general = (header.metadata.general ?? {}) as Record<string, unknown>;
  const fileType = general.file_type === undefined ? undefined : Number(general.file_type);
  const tensors: GgufTensorSummary[] = (header.tensors ?? []).map((t) => ({
    name: t.name,
    type: ggmlTypeName(t.ggmlType),
    dims: t.dims,
    weights: t.dims.reduce((a, b) => a * b, 1),
    bytes: ggmlTensorBytes(t.ggmlType, t.dims),
  }));
  const tensorTypes: Record<string, GgufTypeTotals> = {};
  for (const t of tensors) {
    const totals = (tensorTypes[t.type] ??= { tensors: 0, weights: 0, bytes: 0 });
    totals.tensors++;
    totals.weights += t.weights;
    totals.bytes += t.bytes;
  }
  const weights = tensors.reduce((a, t) => a + t.weights, 0);
  const tensorBytes = tensors.reduce((a, t) => a + t.bytes, 0);
  const fileBytes = statSync(path).size;
  return {
    path: header.path,
    fileBytes,
    architecture: String(general.architecture ?? ""),
    generalType: general.type === undefined ? undefined : String(general.type),
    fileType,
    quantization: fileTypeName(fileType),
    tensors,
    tensorTypes,
    weights,
    tensorBytes,
    bitsPerWeight: weights ? (tensorBytes * BITS_PER_BYTE) / weights : 0,
    fileBitsPerWeight: weights ? (fileBytes * BITS_PER_BYTE) / weights : 0,
  };
}
