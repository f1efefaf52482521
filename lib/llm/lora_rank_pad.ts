/**
 * LoRA adapters padded to a rank the CPU matrix kernels take whole.
 *
 * llama.cpp applies an adapter at runtime as `W·x + s·B·(A·x)`. With a rank r that is not a
 * multiple of the matrix kernel's step along the inner dimension (llamafile's sgemm: 16 floats
 * with AVX-512, 8 with AVX2), `B·(A·x)` — inner dimension r — falls back to one r-long dot product
 * per output element, and an r 8 adapter (tunebook's default) cost 20–30% of the items/s on the
 * benchmark model instead of the few percent its arithmetic needs. Zero rows in A and zero columns
 * in B up to the next multiple leave `B·A` as it is; llama.cpp scales by `alpha / rank` with rank
 * read from B's shape, so alpha is scaled by the same factor. The padded copy is written once per
 * adapter content (SHA-256) into a cache folder and reused; the user's file is never touched.
 *
 * Only f32, f16 and bf16 pairs are padded (what tunebook's exporter and gguf-py's random adapters
 * write); an adapter with other types, mixed ranks, or one already a multiple is used as is.
 *
 * @example
 * ```ts ignore
 * import { padLoraRank } from "./lora_rank_pad.ts";
 * const path = padLoraRank("runs/r8/lora.gguf"); // ~/.cache/tunebook/lora/<sha>-r16.gguf
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ELEMENT_BYTES, pairs, parseHeader, readHeader, roundUp, u32, u64 } from "./_gguf_raw.ts";

/** Options for {@linkcode padLoraRank}. */
export interface PadLoraRankOptions {
  /** Ranks are rounded up to a multiple of this. Default: 16 (AVX-512 sgemm's step). */
  multiple?: number;
  /**
   * Folder of the padded copies. Default: `TUNEBOOK_LORA_CACHE`, else
   * `$XDG_CACHE_HOME/tunebook/lora`, else `~/.cache/tunebook/lora`.
   */
  cacheDir?: string;
}

/** What {@linkcode loraRankLayout} found in an adapter's header. */
export interface LoraRankLayout {
  /** The adapter's rank when every A/B pair has the same one, else undefined. */
  rank?: number;
  /** Why the adapter cannot be padded (other tensor types, mixed ranks, not an adapter), if so. */
  unpaddable?: string;
}

/**
 * The rank of the GGUF LoRA adapter at `path` (B's `ne[0]`, A's `ne[1]`), or why it cannot be
 * padded.
 */
export function loraRankLayout(path: string): LoraRankLayout {
  const h = readHeader(path);
  if (!h || h.generalType !== "adapter") return { unpaddable: "not a GGUF adapter" };
  const { pairs: ps, why } = pairs(h);
  if (why) return { unpaddable: why };
  const ranks = new Set<bigint>();
  for (const { a, b } of ps.values()) {
    if (a.dims[1] !== b.dims[0]) return { unpaddable: "A's and B's ranks differ" };
    ranks.add(b.dims[0]);
  }
  if (ranks.size !== 1) return { unpaddable: `mixed ranks ${[...ranks].join(", ")}` };
  return { rank: Number([...ranks][0]) };
}

/** The folder of padded copies (see {@linkcode PadLoraRankOptions.cacheDir}). */
export function loraCacheDir(): string {
  const env = (k: string) => Deno.env.get(k) || undefined;
  return env("TUNEBOOK_LORA_CACHE") ??
    join(env("XDG_CACHE_HOME") ?? join(homedir(), ".cache"), "tunebook", "lora");
}

/**
 * The path to load the GGUF LoRA adapter at `path` from: a copy with its rank rounded up to
 * `multiple` (written into the cache once per content, under a temporary name first), or `path`
 * itself when it needs no padding or cannot be padded (libllama then reports what is wrong with it).
 */
export function padLoraRank(path: string, options: PadLoraRankOptions = {}): string {
  const { multiple = 16, cacheDir = loraCacheDir() } = options;
  if (!Number.isInteger(multiple) || multiple < 1) {
    throw new RangeError(`multiple must be a positive integer, got ${multiple}`);
  }
  const layout = existsSync(path) ? loraRankLayout(path) : { unpaddable: "missing" };
  if (layout.rank === undefined || layout.rank % multiple === 0) return path;
  const bytes = readFileSync(path);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const target = roundUp(layout.rank, multiple);
  const out = join(cacheDir, `${sha.slice(0, 32)}-r${target}.gguf`);
  if (existsSync(out)) return out;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${out}.${Deno.pid}.partial`;
  writeFileSync(partial, paddedAdapter(bytes, target));
  renameSync(partial, out);
  return out;
}

/** `bytes` (a GGUF adapter of one rank, f32/f16/bf16 pairs) with every pair padded to `rank`. */
function paddedAdapter(bytes: Uint8Array, rank: number): Uint8Array {
  const h = parseHeader(bytes)!;
  const { pairs: ps } = pairs(h);
  const from = Number([...ps.values()][0].b.dims[0]);
  // Each tensor's new dims and data, in the file's order.
  const parts = h.tensors.map((t) => {
    const size = ELEMENT_BYTES[t.type];
    const [ne0, ne1] = t.dims.map(Number);
    const src = bytes.subarray(
      h.dataStart + Number(t.offset),
      h.dataStart + Number(t.offset) + ne0 * ne1 * size,
    );
    if (t.name.endsWith(".lora_a")) {
      // ggml [in, r]: r rows of `in` elements; new rows are zeros after the old ones.
      const data = new Uint8Array(ne0 * rank * size);
      data.set(src);
      return { t, dims: [BigInt(ne0), BigInt(rank)], data };
    }
    // ggml [r, out]: `out` rows of r elements; each row gets zeros after its r.
    const data = new Uint8Array(rank * ne1 * size);
    for (let row = 0; row < ne1; row++) {
      data.set(src.subarray(row * ne0 * size, (row + 1) * ne0 * size), row * rank * size);
    }
    return { t, dims: [BigInt(rank), BigInt(ne1)], data };
  });
  const enc = new TextEncoder();
  const table: number[] = [];
  const push = (b: Uint8Array) => table.push(...b);
  let offset = 0;
  const offsets = parts.map((p) => {
    const at = offset;
    offset = roundUp(offset + p.data.length, h.alignment);
    return at;
  });
  parts.forEach((p, i) => {
    const name = enc.encode(p.t.name);
    push(u64(BigInt(name.length)));
    push(name);
    push(u32(p.dims.length));
    for (const d of p.dims) push(u64(d));
    push(u32(p.t.type));
    push(u64(BigInt(offsets[i])));
  });
  const headerEnd = h.kvEnd + table.length;
  const dataStart = roundUp(headerEnd, h.alignment);
  const out = new Uint8Array(dataStart + offset);
  out.set(bytes.subarray(0, h.kvEnd));
  out.set(table, h.kvEnd);
  if (h.alphaAt !== undefined && h.alpha !== 0) {
    // llama.cpp scales by alpha / rank (rank from B's shape): keep the scale.
    new DataView(out.buffer).setFloat32(h.alphaAt, h.alpha * rank / from, true);
  }
  parts.forEach((p, i) => out.set(p.data, dataStart + offsets[i]));
  return out;
}
