/**
 * GGUF quantization with llama.cpp's own `llama_model_quantize`, called through tunebook's one
 * libllama binding (lib/llm/quantize_gguf.ts, in the libllama node-llama-cpp ships prebuilt), so
 * the result is what `llama-quantize` would write, from the same llama.cpp release that later
 * loads it. Each output gets a JSON card next to it (`<out>.json`): source and its SHA-256, type,
 * bytes, bits per weight, seconds, the real mix of tensor types, and every tensor llama.cpp had to
 * give a fallback type.
 *
 * Needs `--allow-ffi` (tasks run with `-A`).
 *
 * @example
 * ```ts ignore
 * import { quantizeModel } from "./quantize.ts";
 * const r = await quantizeModel("data/models/tiny/tiny-f32.gguf", "q8_0", { threads: 2 });
 * console.log(r.path, r.card.bits_per_weight, r.card.fallbacks.length);
 * ```
 * @module
 */
import { existsSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import { LlamaQuantizeError, quantizeGguf } from "../llm/quantize_gguf.ts";
import { DEFAULT_HASH_CACHE, fileSha256 } from "../util/file_hash.ts";
import { prepareOutputDir } from "../util/output_dir.ts";
import { roundTo } from "../util/round.ts";
import { type GgufTypeTotals, inspectGguf } from "./inspect.ts";

/**
 * Quantization types tunebook offers → `llama_ftype` (llama.h). These need no importance matrix;
 * the IQ types, which do, are left out.
 */
export const QUANT_TYPES = {
  f32: 0,
  f16: 1,
  bf16: 32,
  q8_0: 7,
  q6_k: 18,
  q5_k_m: 17,
  q5_k_s: 16,
  q5_1: 9,
  q5_0: 8,
  q4_k_m: 15,
  q4_k_s: 14,
  q4_1: 3,
  q4_0: 2,
  q3_k_l: 13,
  q3_k_m: 12,
  q3_k_s: 11,
  q2_k: 10,
} as const;

/** A name from {@linkcode QUANT_TYPES}, e.g. "q4_k_m". */
export type QuantType = keyof typeof QUANT_TYPES;

/** `llama_ftype` values whose tensors are not quantized (requantizing them loses nothing). */
const UNQUANTIZED_FTYPES = new Set<number>([QUANT_TYPES.f32, QUANT_TYPES.f16, QUANT_TYPES.bf16]);

/**
 * A problem with the request the user can fix: a missing or non-GGUF input, an unsupported type,
 * an existing output, … (llama.cpp failures are plain `Error`s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuantTypes, QuantizeInputError } from "./quantize.ts";
 * assert.throws(() => parseQuantTypes("q4_k_x"), QuantizeInputError);
 * ```
 */
export class QuantizeInputError extends Error {
  /** Same as `Error`'s. */
  constructor(message: string) {
    super(message);
    this.name = "QuantizeInputError";
  }
}

/** Where outputs go when neither `out` nor `outDir` is given. */
export const DEFAULT_QUANT_DIR = "results/models";

/** Bytes in a MiB, for the summary table. */
const MIB = 1024 * 1024;
/** Decimals of the seconds in a card. */
const SECONDS_DECIMALS = 3;
/** Decimals of bits per weight in a card. */
const BPW_DECIMALS = 4;

/**
 * Parse a comma-separated list of quantization types (case-insensitive, e.g. "q8_0,Q4_K_M").
 * Throws naming the bad entry and listing the supported ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuantTypes } from "./quantize.ts";
 * assert.deepEqual(parseQuantTypes("q8_0,Q4_K_M"), ["q8_0", "q4_k_m"]);
 * ```
 */
export function parseQuantTypes(spec: string): QuantType[] {
  const names = spec.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) {
    throw new QuantizeInputError(`no quantization type given; supported: ${supportedList()}`);
  }
  for (const n of names) {
    if (!Object.hasOwn(QUANT_TYPES, n)) {
      throw new QuantizeInputError(
        `unsupported quantization type "${n}"; supported: ${supportedList()} ` +
          "(IQ types need an importance matrix, which tunebook does not compute yet)",
      );
    }
  }
  return [...new Set(names)] as QuantType[];
}

function supportedList(): string {
  return Object.keys(QUANT_TYPES).join(", ");
}

/** Options for {@linkcode quantizedPath}. */
export interface QuantizedPathOptions {
  /** Folder for the output. Default: {@linkcode DEFAULT_QUANT_DIR} ("results/models"). */
  outDir?: string;
}

/**
 * Default output path: `<outDir>/<stem>-<type>.gguf`, where `<stem>` is the input's name without
 * `.gguf` and without a trailing type tag (`tiny-f32.gguf` → `tiny`), so `tiny-f32.gguf` at q4_k_m
 * becomes `results/models/tiny-q4_k_m.gguf`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantizedPath } from "./quantize.ts";
 * assert.equal(quantizedPath("data/models/tiny/tiny-f32.gguf", "q4_k_m", { outDir: "out" }), "out/tiny-q4_k_m.gguf");
 * ```
 */
export function quantizedPath(
  input: string,
  type: QuantType,
  options: QuantizedPathOptions = {},
): string {
  const { outDir = DEFAULT_QUANT_DIR } = options;
  let stem = basename(input, extname(input));
  const tag = new RegExp(`[-_.](${Object.keys(QUANT_TYPES).join("|")})$`, "i");
  if (tag.test(stem) && stem.replace(tag, "") !== "") stem = stem.replace(tag, "");
  return join(outDir, `${stem}-${type}.gguf`);
}

/** A tensor llama.cpp could not give the type the scheme wanted (its row length does not fit). */
export interface QuantizeFallback {
  /** Tensor name. */
  tensor: string;
  /** Its row length. */
  columns: number;
  /** Block size the wanted type needs. */
  block: number;
  /** ggml type the scheme wanted, e.g. "q4_K". */
  wanted: string;
  /** ggml type it got, e.g. "q5_0". */
  used: string;
}

/** The JSON card written next to each quantized file (`<out>.json`). */
export interface QuantizeCard {
  /** Input path (relative to the working folder when inside it). */
  source: string;
  /** SHA-256 of the input. */
  source_sha256: string;
  /** The input's `general.file_type` name, e.g. "F32". */
  source_type: string;
  /** Input file size. */
  source_bytes: number;
  /** Input bits per weight (tensor data). */
  source_bits_per_weight: number;
  /** Requested type, e.g. "q4_k_m". */
  type: QuantType;
  /** `general.file_type` read back from the output, e.g. "Q4_K_M". */
  file_type: string;
  /** Output path (relative to the working folder when inside it). */
  path: string;
  /** SHA-256 of the output. */
  sha256: string;
  /** Output file size. */
  bytes: number;
  /** Weights in all tensors. */
  weights: number;
  /** Tensor-data bits / weights (llama.cpp's BPW; see lib/gguf/inspect.ts). */
  bits_per_weight: number;
  /** File bits / weights (metadata included). */
  file_bits_per_weight: number;
  /** Wall-clock seconds of `llama_model_quantize`. */
  seconds: number;
  /** Threads passed to llama.cpp (0: all cores). */
  threads: number;
  /** Per ggml type in the output: tensors, weights, bytes. */
  tensor_types: Record<string, GgufTypeTotals>;
  /** Tensors that got a fallback type, as llama.cpp reported them. */
  fallbacks: QuantizeFallback[];
  /** The libllama that quantized, and its llama.cpp release. */
  llama_cpp: { library: string; release?: string };
  /** ISO time the card was written. */
  created: string;
}

/** What {@linkcode quantizeModel} returns. */
export interface QuantizeResult {
  /** Absolute output path. */
  path: string;
  /** Absolute path of its card. */
  cardPath: string;
  /** The card. */
  card: QuantizeCard;
}

/** Options for {@linkcode quantizeModel}. */
export interface QuantizeOptions {
  /** Output path. Default: {@linkcode quantizedPath} of the input under `outDir`. */
  out?: string;
  /** Output folder when `out` is not given. Default: "results/models". */
  outDir?: string;
  /** Threads for llama.cpp; 0 uses every core. Default: 0. */
  threads?: number;
  /** Replace an existing output (and card). Default: false. */
  force?: boolean;
  /** Allow an already-quantized input (quality drops twice). Default: false. */
  allowRequantize?: boolean;
  /** Called with each line llama.cpp logs while quantizing. Default: lines are dropped. */
  onLog?: (line: string, level: "debug" | "info" | "warn" | "error") => void;
  /** Cache file for SHA-256 hashes. Default: ".cache/hashes.json". */
  hashCache?: string;
}

// One request at a time: its checks (does the output exist?) and its write must not interleave
// with another's (llama.cpp's logger is process-wide too, so quantizeGguf queues as well).
let queue: Promise<unknown> = Promise.resolve();

/**
 * Quantize a GGUF model to `type` with llama.cpp's `llama_model_quantize`, write a JSON card next
 * to the output and return both. Throws, saying what to do, for a missing or non-GGUF input, a
 * LoRA adapter, an unsupported type, an existing output without `force`, an output equal to the
 * input, an already-quantized input without `allowRequantize`, and any llama.cpp failure (whose
 * message is included). A failed run leaves no output behind.
 *
 * @example
 * ```ts ignore
 * import { quantizeModel } from "./quantize.ts";
 * const { card } = await quantizeModel("data/models/tiny/tiny-f32.gguf", "q4_k_m", {
 *   outDir: "results/models",
 *   threads: 2,
 * });
 * console.log(card.bytes, card.bits_per_weight, card.fallbacks);
 * ```
 */
export function quantizeModel(
  input: string,
  type: string,
  options: QuantizeOptions = {},
): Promise<QuantizeResult> {
  const run = queue.then(() => quantizeOne(input, type, options));
  queue = run.catch(() => undefined);
  return run;
}

async function quantizeOne(
  input: string,
  typeName: string,
  options: QuantizeOptions,
): Promise<QuantizeResult> {
  const {
    outDir = DEFAULT_QUANT_DIR,
    threads = 0,
    force = false,
    allowRequantize = false,
    onLog,
    hashCache = DEFAULT_HASH_CACHE,
  } = options;
  const [type, ...more] = parseQuantTypes(typeName);
  if (more.length) throw new QuantizeInputError(`quantizeModel takes one type; got "${typeName}"`);
  if (!Number.isInteger(threads) || threads < 0) {
    throw new QuantizeInputError(
      `threads ${threads}: expected a whole number ≥ 0 (0 uses every core)`,
    );
  }
  if (!existsSync(input)) {
    throw new QuantizeInputError(
      `${input}: input model not found. Pass the path of a .gguf model file.`,
    );
  }
  let source;
  try {
    source = await inspectGguf(input);
  } catch (e) {
    throw new QuantizeInputError((e as Error).message);
  }
  if (source.generalType === "adapter" || source.architecture === "") {
    const what = source.generalType === "adapter" ? "a LoRA adapter" : "not a model";
    throw new QuantizeInputError(
      `${input}: this GGUF is ${what}; quantize a base model (merge an adapter into its base first).`,
    );
  }
  const requantize = source.fileType !== undefined && !UNQUANTIZED_FTYPES.has(source.fileType);
  if (requantize && !allowRequantize) {
    throw new QuantizeInputError(
      `${input}: already quantized (${source.quantization}); quantizing it again loses quality ` +
        "twice. Quantize the f32/f16/bf16 original, or allow it (--allow-requantize).",
    );
  }
  const out = resolve(options.out ?? quantizedPath(input, type, { outDir }));
  if (out === realpathSync(input) || out === resolve(input)) {
    throw new QuantizeInputError(
      `${out}: the output would overwrite the input; choose another --out`,
    );
  }
  const cardPath = `${out}.json`;
  if (!force && existsSync(out)) {
    throw new QuantizeInputError(
      `${out}: already exists. Pass --force (force: true) to replace it.`,
    );
  }
  // A folder that is a file or read-only fails here, naming it, not as llama.cpp's error on the input.
  prepareOutputDir(dirname(out), { label: options.out ? "the folder of --out" : "--out-dir" });

  const partial = `${out}.part`;
  const fallbacks: QuantizeFallback[] = [];
  let quantized;
  try {
    quantized = await quantizeGguf(input, partial, {
      ftype: QUANT_TYPES[type],
      threads,
      allowRequantize: requantize,
      onLog(line, level) {
        const fb = line.match(FALLBACK_LINE);
        if (fb) {
          fallbacks.push({
            tensor: fb[1],
            columns: Number(fb[2]),
            block: Number(fb[3]),
            wanted: fb[4],
            used: fb[5],
          });
        }
        onLog?.(line, level);
      },
    });
  } catch (e) {
    if (!(e instanceof LlamaQuantizeError)) throw e;
    const why = e.errors.join("; ") || `return code ${e.code}`;
    throw new Error(
      `${input}: llama.cpp could not quantize it to ${type} (${why}). Check that the file is a ` +
        "complete model llama.cpp can load (`deno task eval --model` loads it too).",
    );
  }
  renameSync(partial, out);

  const result = await inspectGguf(out);
  const card: QuantizeCard = {
    source: displayPath(input),
    source_sha256: await fileSha256(input, hashCache),
    source_type: source.quantization,
    source_bytes: source.fileBytes,
    source_bits_per_weight: roundTo(source.bitsPerWeight, BPW_DECIMALS),
    type,
    file_type: result.quantization,
    path: displayPath(out),
    sha256: await fileSha256(out, hashCache),
    bytes: result.fileBytes,
    weights: result.weights,
    bits_per_weight: roundTo(result.bitsPerWeight, BPW_DECIMALS),
    file_bits_per_weight: roundTo(result.fileBitsPerWeight, BPW_DECIMALS),
    seconds: roundTo(quantized.seconds, SECONDS_DECIMALS),
    threads,
    tensor_types: result.tensorTypes,
    fallbacks,
    llama_cpp: { library: displayPath(quantized.library), release: quantized.release },
    created: new Date().toISOString(),
  };
  writeFileSync(cardPath, JSON.stringify(card, null, 2) + "\n");
  return { path: out, cardPath, card };
}

/** llama.cpp's `tensor_type_fallback` warning (src/llama-quant.cpp), one line once joined. */
const FALLBACK_LINE =
  /warning:\s+(\S+)\s+-\s+ncols\s+(\d+)\s+not divisible by\s+(\d+)\s+\(required for type\s+(\S+)\)\s*(?:\([^)]*\)\s*)?->\s*falling back to\s+(\S+)/;

function displayPath(path: string): string {
  const rel = relative(Deno.cwd(), resolve(path));
  return rel.startsWith("..") || isAbsolute(rel) ? resolve(path) : rel;
}

/**
 * The summary table `deno task quantize` prints: the source, then one row per card with type,
 * file type read back, size in MiB, bits per weight, seconds and fallbacks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatQuantizeTable, type QuantizeCard } from "./quantize.ts";
 * const card = {
 *   source: "tiny-f32.gguf", source_type: "F32", source_bytes: 5_300_000,
 *   source_bits_per_weight: 32, type: "q8_0", file_type: "Q8_0", bytes: 1_400_000,
 *   bits_per_weight: 8.5, seconds: 0.03, fallbacks: [], tensor_types: { f32: { tensors: 9 } },
 * } as unknown as QuantizeCard;
 * assert.equal(formatQuantizeTable([card]), [
 *   "type   file type  size MiB  bits/weight  seconds  fallbacks",
 *   "-----  ---------  --------  -----------  -------  ---------",
 *   "(F32)  F32            5.05        32.00",
 *   "q8_0   Q8_0           1.34         8.50     0.03  0",
 * ].join("\n"));
 * ```
 */
export function formatQuantizeTable(cards: QuantizeCard[]): string {
  if (cards.length === 0) return "";
  const s = cards[0];
  const rows: string[][] = [
    ["type", "file type", "size MiB", "bits/weight", "seconds", "fallbacks"],
    [
      `(${s.source_type})`,
      s.source_type,
      mib(s.source_bytes),
      s.source_bits_per_weight.toFixed(2),
      "",
      "",
    ],
  ];
  for (const c of cards) {
    const tensors = Object.values(c.tensor_types).reduce((a, t) => a + t.tensors, 0);
    const used = [...new Set(c.fallbacks.map((f) => `${f.wanted}→${f.used}`))].join(", ");
    rows.push([
      c.type,
      c.file_type,
      mib(c.bytes),
      c.bits_per_weight.toFixed(2),
      c.seconds.toFixed(2),
      c.fallbacks.length ? `${c.fallbacks.length}/${tensors} (${used})` : "0",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    r.map((cell, i) => (i >= 2 && i <= 4 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ").trimEnd();
  return [fmt(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(fmt)]
    .join("\n");
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(2);
}
