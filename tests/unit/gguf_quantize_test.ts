/**
 * Quantization without a model: type names, default output paths, the summary table and the request
 * checks that run before llama.cpp does (how libllama is located: llm_libllama_test.ts).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  formatQuantizeTable,
  parseQuantTypes,
  QUANT_TYPES,
  type QuantizeCard,
  quantizedPath,
  QuantizeInputError,
  quantizeModel,
} from "../../lib/gguf/quantize.ts";

Deno.test("parseQuantTypes: case-insensitive lists; an unknown name lists the supported ones", () => {
  assert.deepEqual(parseQuantTypes("q8_0,Q4_K_M, q8_0"), ["q8_0", "q4_k_m"]);
  for (const t of ["q4_k_m", "q5_k_m", "q6_k", "q8_0", "f16"]) assert.ok(t in QUANT_TYPES);
  assert.equal(QUANT_TYPES.q4_k_m, 15); // LLAMA_FTYPE_MOSTLY_Q4_K_M in llama.h
  assert.throws(
    () => parseQuantTypes("q8_0,q4_k_x"),
    (e: Error) =>
      e instanceof QuantizeInputError &&
      /unsupported quantization type "q4_k_x"; supported: f32, f16, .*q4_k_m.*q2_k/.test(e.message),
  );
  assert.throws(() => parseQuantTypes(" , "), /no quantization type given/);
});

Deno.test("quantizedPath: <outDir>/<stem>-<type>.gguf without the input's type tag", () => {
  assert.equal(
    quantizedPath("data/models/tiny/tiny-f32.gguf", "q4_k_m"),
    join("results/models", "tiny-q4_k_m.gguf"),
  );
  assert.equal(
    quantizedPath("/m/Llama-3-8B.F16.gguf", "q8_0", { outDir: "o" }),
    "o/Llama-3-8B-q8_0.gguf",
  );
  assert.equal(quantizedPath("model.gguf", "q6_k", { outDir: "o" }), "o/model-q6_k.gguf");
  assert.equal(quantizedPath("f16.gguf", "q6_k", { outDir: "o" }), "o/f16-q6_k.gguf");
});

Deno.test("formatQuantizeTable: the source row, then type, size, bits/weight, time, fallbacks", () => {
  const card = (over: Partial<QuantizeCard>) =>
    ({
      source: "tiny-f32.gguf",
      source_type: "F32",
      source_bytes: 5 * 1024 * 1024,
      source_bits_per_weight: 32,
      fallbacks: [],
      tensor_types: { f32: { tensors: 9, weights: 1, bytes: 4 }, q8_0: { tensors: 30 } },
      ...over,
    }) as unknown as QuantizeCard;
  const table = formatQuantizeTable([
    card({
      type: "q8_0",
      file_type: "Q8_0",
      bytes: 1024 * 1024,
      bits_per_weight: 8.52,
      seconds: 0.04,
    }),
    card({
      type: "q4_k_m",
      file_type: "Q4_K_M",
      bytes: 512 * 1024,
      bits_per_weight: 6.4,
      seconds: 0.03,
      fallbacks: [
        { tensor: "a", columns: 128, block: 256, wanted: "q4_K", used: "q5_0" },
        { tensor: "b", columns: 128, block: 256, wanted: "q4_K", used: "q5_0" },
      ],
    }),
  ]).split("\n");
  assert.match(table[0], /^type\s+file type\s+size MiB\s+bits\/weight\s+seconds\s+fallbacks$/);
  assert.match(table[2], /^\(F32\)\s+F32\s+5\.00\s+32\.00$/);
  assert.match(table[3], /^q8_0\s+Q8_0\s+1\.00\s+8\.52\s+0\.04\s+0$/);
  assert.match(table[4], /^q4_k_m\s+Q4_K_M\s+0\.50\s+6\.40\s+0\.03\s+2\/39 \(q4_K→q5_0\)$/);
  assert.equal(formatQuantizeTable([]), "");
});

Deno.test("quantizeModel: bad requests fail before llama.cpp runs, naming the fix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-quant-"));
  const missing = join(dir, "missing.gguf");
  await assert.rejects(
    quantizeModel(missing, "q8_0"),
    (e: Error) =>
      e instanceof QuantizeInputError && /missing\.gguf: input model not found/.test(e.message),
  );
  const notGguf = join(dir, "weights.bin");
  writeFileSync(notGguf, new Uint8Array(64).fill(7));
  await assert.rejects(quantizeModel(notGguf, "q8_0"), /weights\.bin: not a readable GGUF file/);
  await assert.rejects(quantizeModel(notGguf, "q9_9"), /unsupported quantization type "q9_9"/);
  await assert.rejects(quantizeModel(notGguf, "q8_0", { threads: -1 }), /threads -1: expected/);
  assert.ok(!existsSync(join(dir, "weights-q8_0.gguf")));
});
