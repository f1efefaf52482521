/**
 * GGUF inspection without a model: tensor byte sizes per ggml type, and bits per weight of a small
 * GGUF file written here byte by byte (so the expected numbers are computed by hand).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGML_TYPES, ggmlTensorBytes, ggmlTypeName, inspectGguf } from "../../lib/gguf/inspect.ts";

/** GGUF value types (gguf.h). */
const GGUF_U32 = 4;
const GGUF_STRING = 8;
/** ggml types used below. */
const F32 = 0;
const Q8_0 = 8;
/** llama_ftype of Q8_0. */
const FTYPE_Q8_0 = 7;
const ALIGNMENT = 32;

/** A minimal GGUF v3 file: `general.architecture`, `general.file_type` and the given tensors. */
function writeGguf(path: string, tensors: { name: string; dims: number[]; type: number }[]) {
  const parts: Uint8Array[] = [];
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    parts.push(b);
  };
  const u64 = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    parts.push(b);
  };
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    u64(b.length);
    parts.push(b);
  };
  parts.push(new TextEncoder().encode("GGUF"));
  u32(3);
  u64(tensors.length);
  u64(2);
  str("general.architecture");
  u32(GGUF_STRING);
  str("llama");
  str("general.file_type");
  u32(GGUF_U32);
  u32(FTYPE_Q8_0);
  let offset = 0;
  const sizes = tensors.map((t) => ggmlTensorBytes(t.type, t.dims));
  tensors.forEach((t, i) => {
    str(t.name);
    u32(t.dims.length);
    t.dims.forEach(u64);
    u32(t.type);
    u64(offset);
    offset += Math.ceil(sizes[i] / ALIGNMENT) * ALIGNMENT;
  });
  const header = parts.reduce((a, p) => a + p.length, 0);
  parts.push(new Uint8Array(Math.ceil(header / ALIGNMENT) * ALIGNMENT - header));
  parts.push(new Uint8Array(offset));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  writeFileSync(path, out);
  return out.length;
}

Deno.test("ggmlTensorBytes: rows × blocks per row × block bytes", () => {
  assert.equal(ggmlTensorBytes(F32, [128]), 512);
  assert.equal(ggmlTensorBytes(Q8_0, [128, 2048]), 2048 * 4 * 34);
  assert.equal(ggmlTensorBytes(12, [256, 10]), 10 * 144); // q4_K
  assert.equal(ggmlTensorBytes(14, [512, 3, 2]), 6 * 2 * 210); // q6_K, 3-D
  assert.throws(() => ggmlTensorBytes(12, [128, 4]), /q4_K row holds whole blocks of 256; got 128/);
  assert.throws(() => ggmlTensorBytes(4, [32]), /type 4 is unknown/);
  assert.equal(ggmlTypeName(6), "q5_0");
  assert.equal(ggmlTypeName(31), "type-31");
  // Bits per weight of each block type, as llama.cpp documents them.
  const bpw = (id: number) => (GGML_TYPES[id].typeSize * 8) / GGML_TYPES[id].blockSize;
  assert.deepEqual([Q8_0, 12, 13, 14, 6].map(bpw), [8.5, 4.5, 5.5, 6.5625, 5.5]);
});

Deno.test("inspectGguf: tensor types, weights and bits per weight of a hand-written GGUF", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "tunebook-gguf-")), "small.gguf");
  const fileBytes = writeGguf(path, [
    { name: "w", dims: [64, 2], type: Q8_0 },
    { name: "norm", dims: [64], type: F32 },
  ]);
  const g = await inspectGguf(path);
  assert.equal(g.architecture, "llama");
  assert.equal(g.fileType, FTYPE_Q8_0);
  assert.equal(g.quantization, "Q8_0");
  assert.equal(g.weights, 192);
  assert.equal(g.tensorBytes, 2 * 2 * 34 + 64 * 4);
  assert.equal(g.bitsPerWeight, (392 * 8) / 192);
  assert.equal(g.fileBytes, fileBytes);
  assert.equal(g.fileBitsPerWeight, (fileBytes * 8) / 192);
  assert.deepEqual(g.tensorTypes, {
    q8_0: { tensors: 1, weights: 128, bytes: 136 },
    f32: { tensors: 1, weights: 64, bytes: 256 },
  });
  assert.deepEqual(g.tensors.map((t) => [t.name, t.type, t.dims]), [
    ["w", "q8_0", [64, 2]],
    ["norm", "f32", [64]],
  ]);
});

Deno.test("inspectGguf: a missing file or a non-GGUF file is named with the fix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-gguf-"));
  await assert.rejects(inspectGguf(join(dir, "nope.gguf")), /nope\.gguf: file not found/);
  const json = join(dir, "config.json");
  writeFileSync(json, '{\n  "hidden_size": 128\n}\n');
  await assert.rejects(
    inspectGguf(json),
    (e: Error) =>
      /config\.json: not a readable GGUF file \(.*\)\. Pass a \.gguf model/.test(e.message) &&
      !e.message.includes("\n"),
  );
});
