/**
 * LoRA adapters merged into a copy of their base model, for evaluation at the merged model's speed.
 *
 * llama.cpp applies an adapter at runtime as `W·x + s·B·(A·x)` in every adapted matrix of every
 * decode: on a small model those extra graph nodes cost a third of the items/s
 * (results/bench/eval_native.md before 2026-12-02: 0.65–0.93× the merged model). An evaluation
 * applies the same adapters to every token, so tunebook can instead fold them into the weights
 * once — `W' = W + Σ s·B·A` for each adapted matrix, with llama.cpp's scale
 * `s = scale · alpha / rank` (`scale` alone when the adapter has no alpha) — and load that model
 * with no adapter. The copy keeps the base file's header, tensor table and types byte for byte;
 * only the adapted matrices' data changes, rounded once to the base's type (f32 or f16).
 *
 * Each merged copy is written once per (base, adapters, scales) content into a cache folder
 * (`TUNEBOOK_LORA_CACHE`, as for rank padding) and reused; the user's files are never touched.
 * {@linkcode loraMergeBlocker} says why a combination cannot be merged — a quantized base matrix
 * (merging would requantize it) or a bf16 one, an embedding adapter, mismatched shapes, a base over
 * {@linkcode DEFAULT_MERGE_MAX_BYTES} — and the caller then applies the adapters at runtime.
 *
 * A cache that cannot be written is a reason too (`failed: true`): the adapters then run at
 * runtime, slower but the same, and the caller says so once.
 *
 * @example
 * ```ts ignore
 * import { mergeLora } from "./lora_merge.ts";
 * const merged = await mergeLora("base-f32.gguf", [{ path: "lora.gguf" }]);
 * if ("path" in merged) console.log(merged.path); // ~/.cache/tunebook/lora/merged-<key>.gguf
 * else console.log("runtime adapters:", merged.why);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileSha256 } from "../util/file_hash.ts";
import { type Header, pairs, readHeader, type TensorInfo } from "./_gguf_raw.ts";
import { loraCacheDir } from "./lora_rank_pad.ts";

/** An adapter to merge: its file and scale (default 1), as {@linkcode LoraAdapter} has them. */
export interface MergeAdapter {
  /** GGUF LoRA adapter file. */
  path: string;
  /** Scale. Default: 1. */
  scale?: number;
}

/** Options for {@linkcode mergeLora}. */
export interface MergeLoraOptions {
  /** Folder of the merged copies. Default: {@linkcode loraCacheDir}. */
  cacheDir?: string;
  /** A base file larger than this is not merged (disk and time). Default: {@linkcode DEFAULT_MERGE_MAX_BYTES}. */
  maxBytes?: number;
}

/** Bases up to 2 GiB are merged (a 1B model in f16); larger ones keep runtime adapters. */
export const DEFAULT_MERGE_MAX_BYTES = 2 * 1024 ** 3;

/** ggml types whose matrices are merged: f32, f16. */
const MERGEABLE = new Set([0, 1]);

/** One adapted base matrix and the A/B pairs (with their scales) that adapt it. */
interface MergeTarget {
  base: TensorInfo;
  parts: { a: TensorInfo; b: TensorInfo; scale: number; file: number }[];
}

interface Plan {
  base: Header;
  adapters: Header[];
  targets: MergeTarget[];
}

/** The merge plan, or why there is none. */
function plan(basePath: string, adapters: MergeAdapter[], maxBytes: number): Plan | string {
  if (adapters.length === 0) return "no adapters";
  const size = statSync(basePath).size;
  if (size > maxBytes) {
    return `the base is ${(size / 1024 ** 3).toFixed(1)} GiB, over the ${
      (maxBytes / 1024 ** 3).toFixed(1)
    } GiB merge limit`;
  }
  const base = readHeader(basePath);
  if (!base || base.generalType === "adapter") return `${basePath} is not a GGUF model`;
  const byName = new Map(base.tensors.map((t) => [t.name, t]));
  const targets = new Map<string, MergeTarget>();
  const headers: Header[] = [];
  for (const [file, adapter] of adapters.entries()) {
    const h = readHeader(adapter.path);
    if (!h || h.generalType !== "adapter") return `${adapter.path} is not a GGUF LoRA adapter`;
    headers.push(h);
    const { pairs: ps, why } = pairs(h);
    if (why) return `${adapter.path}: ${why}`;
    for (const [name, { a, b }] of ps) {
      const w = byName.get(name);
      if (!w) return `${adapter.path}: ${name} is not a tensor of the base`;
      if (name === "token_embd.weight") return `${adapter.path} adapts the token embeddings`;
      if (!MERGEABLE.has(w.type)) {
        return `the base's ${name} is ggml type ${w.type}, not f32 or f16 (a quantized matrix would be requantized)`;
      }
      if (!MERGEABLE.has(a.type) || !MERGEABLE.has(b.type)) {
        return `${adapter.path}: ${name}'s A/B are ggml types ${a.type}/${b.type}, not f32 or f16`;
      }
      const [inDim, outDim] = w.dims.map(Number);
      const rank = Number(b.dims[0]);
      if (
        w.dims.length !== 2 || Number(a.dims[0]) !== inDim || Number(a.dims[1]) !== rank ||
        Number(b.dims[1]) !== outDim
      ) {
        return `${adapter.path}: ${name}'s A ${a.dims} and B ${b.dims} do not fit the base's ${w.dims}`;
      }
      // llama.cpp: alpha ? scale * alpha / rank : scale (rank from B's shape)
      const s = adapter.scale ?? 1;
      const scale = h.alpha ? s * h.alpha / rank : s;
      const target = targets.get(name) ?? { base: w, parts: [] };
      target.parts.push({ a, b, scale, file });
      targets.set(name, target);
    }
  }
  return { base, adapters: headers, targets: [...targets.values()] };
}

/**
 * Why `adapters` cannot be merged into `basePath` (then they are applied at runtime), or undefined
 * when they can.
 */
export function loraMergeBlocker(
  basePath: string,
  adapters: MergeAdapter[],
  maxBytes: number = DEFAULT_MERGE_MAX_BYTES,
): string | undefined {
  const p = plan(basePath, adapters, maxBytes);
  return typeof p === "string" ? p : undefined;
}

/**
 * `basePath` with `adapters` merged into its weights: the cached copy's path (written now if
 * missing), or why it cannot be merged — including a cache folder that cannot be written, whose
 * error is the reason (the caller then applies the adapters at runtime).
 */
export async function mergeLora(
  basePath: string,
  adapters: MergeAdapter[],
  options: MergeLoraOptions = {},
): Promise<{ path: string; written: boolean } | { why: string; failed?: true }> {
  const { cacheDir = loraCacheDir(), maxBytes = DEFAULT_MERGE_MAX_BYTES } = options;
  const p = plan(basePath, adapters, maxBytes);
  if (typeof p === "string") return { why: p };
  const identity = {
    base: await fileSha256(basePath),
    adapters: await Promise.all(
      adapters.map(async (a) => ({ sha256: await fileSha256(a.path), scale: a.scale ?? 1 })),
    ),
  };
  const key = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 32);
  const out = join(cacheDir, `merged-${key}.gguf`);
  if (existsSync(out)) return { path: out, written: false };
  const unwritable = (e: unknown) => ({
    why: `the merged copy could not be written to ${cacheDir} (${(e as Error).message}); ` +
      `set TUNEBOOK_LORA_CACHE to a writable folder`,
    failed: true as const,
  });
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch (e) {
    return unwritable(e);
  }
  const bytes = mergedBytes(basePath, adapters, p);
  const partial = `${out}.${Deno.pid}.partial`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, out);
  } catch (e) {
    rmSync(partial, { force: true });
    return unwritable(e);
  }
  return { path: out, written: true };
}

/** What {@linkcode loraWeights} chose: the file to load and the adapters still to apply to it. */
export interface LoraWeights {
  /** The GGUF to load: the base, or its merged copy. */
  path: string;
  /** Adapters to apply at runtime (none when merged). */
  lora: MergeAdapter[];
  /** Whether the adapters were merged into `path`. */
  merged: boolean;
}

/**
 * Where `basePath` with `adapters` loads from, by `mode`: "runtime" — the base, adapters at
 * runtime; "auto" — the merged copy when {@linkcode mergeLora} can make it, else the base with
 * runtime adapters (a cache that cannot be written is said on stderr, `label` first); "merge" —
 * the merged copy, or an error naming why not.
 */
export async function loraWeights(
  basePath: string,
  adapters: MergeAdapter[],
  mode: "auto" | "merge" | "runtime",
  label = "",
): Promise<LoraWeights> {
  const runtime = { path: basePath, lora: adapters, merged: false };
  if (adapters.length === 0 || mode === "runtime") return runtime;
  const m = await mergeLora(basePath, adapters);
  if ("path" in m) return { path: m.path, lora: [], merged: true };
  if (mode === "merge") {
    throw new Error(`${basePath}: cannot merge the LoRA adapters (${m.why}); use runtime adapters`);
  }
  if ("failed" in m) console.warn(`${label}LoRA adapters at runtime: ${m.why}`);
  return runtime;
}

/** `basePath`'s bytes with the plan's adapters added into its adapted matrices. */
function mergedBytes(basePath: string, adapters: MergeAdapter[], p: Plan): Uint8Array {
  const bytes = readWhole(basePath);
  const files = adapters.map((a) => readWhole(a.path));
  for (const target of p.targets) {
    const parts = target.parts.map((part) => {
      const file = files[part.file];
      const h = p.adapters[part.file];
      return {
        a: floats(file, h.dataStart, part.a),
        b: floats(file, h.dataStart, part.b),
        rank: Number(part.b.dims[0]),
        scale: part.scale,
      };
    });
    addDelta(bytes, p.base.dataStart, target.base, parts);
  }
  return bytes;
}

/** The whole file in a fresh buffer (offset 0, so typed views on aligned tensor data work). */
function readWhole(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const out = new Uint8Array(statSync(path).size);
    for (let at = 0; at < out.length;) {
      const n = readSync(fd, out, at, out.length - at, at);
      if (n === 0) throw new Error(`${path}: ended at byte ${at} of ${out.length}`);
      at += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A tensor's elements as f32 (from f32 or f16 data). */
function floats(file: Uint8Array, dataStart: number, t: TensorInfo): Float32Array {
  const n = t.dims.reduce((x, d) => x * Number(d), 1);
  const at = dataStart + Number(t.offset);
  if (t.type === 0) return new Float32Array(file.buffer.slice(at, at + 4 * n));
  return Float32Array.from(new Float16Array(file.buffer.slice(at, at + 2 * n)));
}

/** Add `Σ scale·B·A` to the base matrix `w` (f32 or f16) in `bytes`, rounding once to its type. */
function addDelta(
  bytes: Uint8Array,
  dataStart: number,
  w: TensorInfo,
  parts: { a: Float32Array; b: Float32Array; rank: number; scale: number }[],
): void {
  const [inDim, outDim] = w.dims.map(Number);
  const at = dataStart + Number(w.offset);
  const n = inDim * outDim;
  // Views into `bytes` (tensor data is aligned to at least 32 bytes from the file's start).
  const f32 = w.type === 0 ? new Float32Array(bytes.buffer, at, n) : undefined;
  const f16 = w.type === 1 ? new Float16Array(bytes.buffer, at, n) : undefined;
  const row = new Float32Array(inDim);
  for (let o = 0; o < outDim; o++) {
    row.fill(0);
    for (const { a, b, rank, scale } of parts) {
      for (let k = 0; k < rank; k++) {
        const coef = scale * b[o * rank + k];
        if (coef === 0) continue;
        const from = k * inDim;
        for (let i = 0; i < inDim; i++) row[i] += coef * a[from + i];
      }
    }
    const base = o * inDim;
    if (f32) {
      for (let i = 0; i < inDim; i++) f32[base + i] += row[i];
    } else if (f16) {
      for (let i = 0; i < inDim; i++) f16[base + i] += row[i]; // one rounding to f16
    }
  }
}
