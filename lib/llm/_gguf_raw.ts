/**
 * A GGUF file's header read byte by byte — metadata keys tunebook's LoRA tools need (the adapter's
 * alpha and its byte offset, the alignment, `general.type`) and the tensor table with each
 * tensor's data offset — for the tools that rewrite tensor data (lib/llm/lora_rank_pad.ts,
 * lib/llm/lora_merge.ts). lib/llm/gguf_header.ts reads the full metadata through node-llama-cpp
 * but not the offsets.
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";

const GGUF_MAGIC = 0x46554747; // "GGUF", little-endian
const DEFAULT_ALIGNMENT = 32;
/** Bytes per element of the tensor types padded: f32, f16, bf16. */
export const ELEMENT_BYTES: Record<number, number> = { 0: 4, 1: 2, 30: 2 };
/** Byte sizes of GGUF's scalar value types (by type id). */
const SCALAR_BYTES: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
const TYPE_STRING = 8;
const TYPE_ARRAY = 9;
const TYPE_F32 = 6;
const TYPE_U32 = 4;
const ALPHA_KEY = "adapter.lora.alpha";

export interface TensorInfo {
  name: string;
  dims: bigint[];
  type: number;
  offset: bigint;
}

export interface Header {
  /** Where the key-value section ends (the tensor table starts). */
  kvEnd: number;
  /** Byte offset of adapter.lora.alpha's f32 value, if present. */
  alphaAt?: number;
  alpha: number;
  alignment: number;
  generalType?: string;
  tensors: TensorInfo[];
  /** Where the tensor data starts. */
  dataStart: number;
}

/** Reads a GGUF header from a byte buffer, throwing RangeError past its end. */
class Cursor {
  at = 0;
  readonly #v: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u32(): number {
    const x = this.#v.getUint32(this.at, true);
    this.at += 4;
    return x;
  }
  u64(): bigint {
    const x = this.#v.getBigUint64(this.at, true);
    this.at += 8;
    return x;
  }
  f32(): number {
    const x = this.#v.getFloat32(this.at, true);
    this.at += 4;
    return x;
  }
  string(): string {
    const n = Number(this.u64());
    if (this.at + n > this.bytes.length) throw new RangeError("string past the end");
    const s = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }
  skip(type: number): void {
    if (type === TYPE_STRING) {
      this.string();
    } else if (type === TYPE_ARRAY) {
      const inner = this.u32();
      const n = Number(this.u64());
      if (inner === TYPE_STRING || inner === TYPE_ARRAY) {
        for (let i = 0; i < n; i++) this.skip(inner);
      } else {
        const size = SCALAR_BYTES[inner];
        if (size === undefined) throw new RangeError(`unknown array type ${inner}`);
        this.at += size * n;
      }
    } else {
      const size = SCALAR_BYTES[type];
      if (size === undefined) throw new RangeError(`unknown value type ${type}`);
      this.at += size;
    }
    if (this.at > this.bytes.length) throw new RangeError("value past the end");
  }
}

/** Parse the header in `bytes`; RangeError when `bytes` ends inside it. */
export function parseHeader(bytes: Uint8Array): Header | undefined {
  const c = new Cursor(bytes);
  if (c.u32() !== GGUF_MAGIC) return undefined;
  const version = c.u32();
  if (version < 2) return undefined;
  const nTensors = Number(c.u64());
  const nKv = Number(c.u64());
  let alphaAt: number | undefined, alpha = 0, alignment = DEFAULT_ALIGNMENT;
  let generalType: string | undefined;
  for (let i = 0; i < nKv; i++) {
    const key = c.string();
    const type = c.u32();
    if (key === ALPHA_KEY && type === TYPE_F32) {
      alphaAt = c.at;
      alpha = c.f32();
    } else if (key === "general.alignment" && type === TYPE_U32) {
      alignment = c.u32();
    } else if (key === "general.type" && type === TYPE_STRING) {
      generalType = c.string();
    } else c.skip(type);
  }
  const kvEnd = c.at;
  const tensors: TensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.string();
    const nDims = c.u32();
    const dims: bigint[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64());
    tensors.push({ name, dims, type: c.u32(), offset: c.u64() });
  }
  const dataStart = roundUp(c.at, alignment);
  return { kvEnd, alphaAt, alpha, alignment, generalType, tensors, dataStart };
}

/** Read the header of the GGUF file at `path`, reading more of the file until it fits. */
export function readHeader(path: string): Header | undefined {
  const fd = openSync(path, "r");
  try {
    for (let size = 1 << 16;; size *= 4) {
      const buf = new Uint8Array(size);
      const n = readSync(fd, buf, 0, size, 0);
      try {
        return parseHeader(buf.subarray(0, n));
      } catch (e) {
        if (!(e instanceof RangeError) || n < size) return undefined;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** The A/B pairs of an adapter's tensor table (by base weight name), or why it has none usable. */
export function pairs(
  h: Header,
): { pairs: Map<string, { a: TensorInfo; b: TensorInfo }>; why?: string } {
  const out = new Map<string, { a?: TensorInfo; b?: TensorInfo }>();
  for (const t of h.tensors) {
    const m = /^(.*)\.lora_([ab])$/.exec(t.name);
    if (!m) return { pairs: new Map(), why: `tensor ${t.name} is not a LoRA A or B` };
    const entry = out.get(m[1]) ?? {};
    entry[m[2] as "a" | "b"] = t;
    out.set(m[1], entry);
  }
  const full = new Map<string, { a: TensorInfo; b: TensorInfo }>();
  for (const [name, { a, b }] of out) {
    if (!a || !b) return { pairs: new Map(), why: `${name} lacks its lora_${a ? "b" : "a"}` };
    if (a.dims.length !== 2 || b.dims.length !== 2) {
      return { pairs: new Map(), why: `${name}'s A or B is not a matrix` };
    }
    if (ELEMENT_BYTES[a.type] === undefined || ELEMENT_BYTES[b.type] === undefined) {
      return { pairs: new Map(), why: `${name} is stored as ggml type ${a.type}/${b.type}` };
    }
    full.set(name, { a, b });
  }
  return { pairs: full };
}

export function u32(x: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x, true);
  return b;
}

export function u64(x: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, x, true);
  return b;
}

export function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}
