/**
 * LoRA adapters merged into a copy of the base at load (lib/llm/lora_merge.ts): every tensor of the
 * copy equals gguf-py's reading of `W + (alpha / r)·B·A` (f32 base: to f32 rounding, against the
 * trainer's own merged model too, within 1e-6; f16 base: at most one f16 step from numpy's
 * rounding), the
 * copy is written once per content, what cannot be merged says why, and `deno task eval`'s backend
 * merges by default, scores as the runtime adapter does and says which it did.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLlamaBackend } from "../../lib/eval/backend.ts";
import { quantizeModel } from "../../lib/gguf/quantize.ts";
import { loraMergeBlocker, mergeLora } from "../../lib/llm/lora_merge.ts";
import { randomLoraPair } from "./_random_lora.ts";
import { ggufPyJson } from "./_gguf_py.ts";
import { BATCH_TOLERANCE } from "./_tolerances.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

/**
 * gguf-py's view of merged vs expected: per tensor of the base, the largest |merged − expected|
 * in f32 and in units of the base type's spacing at that value (expected = W + s·B·A from the
 * adapter, in float64, rounded to the base's type; or another merged file's tensor).
 */
const CHECK = `
import sys, json, numpy as np
sys.path.insert(0, sys.argv[1])
import gguf
def tensors(p):
    r = gguf.GGUFReader(p)
    return r, {t.name: t for t in r.tensors}
_, base = tensors(sys.argv[2])
_, merged = tensors(sys.argv[3])
mode, other = sys.argv[4], sys.argv[5]
if mode == "adapter":
    ar, ad = tensors(other)
    alpha = float(ar.fields["adapter.lora.alpha"].contents())
else:
    _, ref = tensors(other)
out = {}
for name, t in base.items():
    w = np.array(t.data)
    m = np.array(merged[name].data)
    assert m.dtype == w.dtype and m.shape == w.shape, name
    if mode == "adapter":
        if name + ".lora_a" in ad:
            A = np.array(ad[name + ".lora_a"].data, dtype=np.float64)
            B = np.array(ad[name + ".lora_b"].data, dtype=np.float64)
            e = (w.astype(np.float64) + (alpha / A.shape[0]) * (B @ A)).astype(w.dtype)
        else:
            e = w
    else:
        e = np.array(ref[name].data)
    d = np.abs(m.astype(np.float64) - e.astype(np.float64))
    steps = d / np.spacing(np.abs(e)).astype(np.float64)
    out[name] = {"abs": float(d.max()), "steps": float(steps.max()),
                 "changed": bool((m != w).any())}
print(json.dumps(out))
`;

function check(
  base: string,
  merged: string,
  mode: "adapter" | "reference",
  other: string,
): Promise<Record<string, { abs: number; steps: number; changed: boolean }>> {
  return ggufPyJson(CHECK, [base, merged, mode, other]);
}

const dir = mkdtempSync(join(tmpdir(), "tunebook-lora-merge-"));
const pair = await randomLoraPair(TINY_GGUF);
/** Adapted matrices per block: q/k/v/o and gate/up/down. */
const ADAPTED_PER_BLOCK = 7;

Deno.test("an f32 base: W + (alpha/r)·B·A in every adapted matrix, the rest byte-equal, once per content", async () => {
  const cacheDir = join(dir, "f32");
  const first = await mergeLora(TINY_GGUF, [{ path: pair.lora }], { cacheDir });
  assert.ok("path" in first && first.written, JSON.stringify(first));
  const byAdapter = await check(TINY_GGUF, first.path, "adapter", pair.lora);
  const changed = Object.entries(byAdapter).filter(([, v]) => v.changed).map(([k]) => k);
  assert.equal(changed.length % ADAPTED_PER_BLOCK, 0);
  assert.ok(changed.length >= ADAPTED_PER_BLOCK, `changed: ${changed}`);
  for (const [name, v] of Object.entries(byAdapter)) {
    // f32 sums of r products against float64's: a few f32 steps of the terms, not of the result
    assert.ok(v.abs < 1e-6, `${name}: ${v.abs} from numpy's W + s·B·A`);
    if (!changed.includes(name)) assert.equal(v.abs, 0, name);
  }
  // the trainer's exporter (python, f32) wrote the same weights
  const byTrainer = await check(TINY_GGUF, first.path, "reference", pair.merged);
  for (const [name, v] of Object.entries(byTrainer)) assert.ok(v.abs < 1e-6, `${name}: ${v.abs}`);
  const again = await mergeLora(TINY_GGUF, [{ path: pair.lora }], { cacheDir });
  assert.deepEqual(again, { path: first.path, written: false });
  assert.deepEqual(readdirSync(cacheDir), [first.path.split("/").pop()]);
  // another scale is another copy
  const half = await mergeLora(TINY_GGUF, [{ path: pair.lora, scale: 0.5 }], { cacheDir });
  assert.ok("path" in half && half.path !== first.path);
});

Deno.test("an f16 base: each merged weight is numpy's f16 rounding of W + s·B·A, or one step from it", async () => {
  const f16 = await quantizeModel(TINY_GGUF, "f16", { outDir: join(dir, "f16-base"), threads: 1 });
  const f16Pair = await randomLoraPair(f16.path, { cacheDir: join(dir, "f16-pair") });
  const merged = await mergeLora(f16.path, [{ path: f16Pair.lora }], {
    cacheDir: join(dir, "f16"),
  });
  assert.ok("path" in merged, JSON.stringify(merged));
  const result = await check(f16.path, merged.path, "adapter", f16Pair.lora);
  const changed = Object.values(result).filter((v) => v.changed).length;
  assert.ok(changed >= ADAPTED_PER_BLOCK);
  // tunebook sums B·A in f32 before the one rounding; numpy in float64: a tie may round apart
  for (const [name, v] of Object.entries(result)) assert.ok(v.steps <= 1, `${name}: ${v.steps}`);
});

Deno.test("what cannot be merged says why: a quantized base, a file that is no adapter, a base over the limit", async () => {
  const q8 = await quantizeModel(TINY_GGUF, "q8_0", { outDir: join(dir, "q8"), threads: 1 });
  assert.match(loraMergeBlocker(q8.path, [{ path: pair.lora }])!, /is ggml type 8, not f32 or f16/);
  assert.match(
    loraMergeBlocker(TINY_GGUF, [{ path: TINY_GGUF }])!,
    /tiny-f32\.gguf is not a GGUF LoRA adapter/,
  );
  assert.match(
    loraMergeBlocker(TINY_GGUF, [{ path: pair.lora }], 1024)!,
    /over the .* merge limit/,
  );
  assert.equal(loraMergeBlocker(TINY_GGUF, [{ path: pair.lora }]), undefined);
  const none = await mergeLora(q8.path, [{ path: pair.lora }], { cacheDir: join(dir, "q8c") });
  assert.ok("why" in none && !existsSync(join(dir, "q8c")));
});

Deno.test("eval's backend merges by default, scores as runtime adapters do, and records which", async () => {
  const items = [
    { context: "Question: What is the capital of Nisel?\nAnswer:", choices: [" Volesa", " Kinli"] },
    { context: "The star Peltuko has the planet", choices: [" Roderwa", " Miro", " Lesadi"] },
  ];
  const scores: Record<string, number[][]> = {};
  for (const loraMode of ["auto", "runtime"] as const) {
    const b = await createLlamaBackend(TINY_GGUF, {
      lora: [{ path: pair.lora }],
      threads: TEST_THREADS,
      gpu: false,
      loraMode,
    });
    try {
      const applied = loraMode === "auto" ? "merged" : "runtime";
      assert.equal(b.runIdentity?.lora_applied, applied);
      assert.equal(b.identity.model, TINY_GGUF); // the base, not the cached copy
      assert.equal((b.runIdentity?.adapters as unknown[]).length, 1);
      scores[loraMode] = await Promise.all(
        items.map(async (q) => (await b.scoreChoices!(q.context, q.choices)).logprobs),
      );
    } finally {
      await b.dispose();
    }
  }
  scores.auto.forEach((row, i) =>
    row.forEach((v, j) =>
      assert.ok(Math.abs(v - scores.runtime[i][j]) < BATCH_TOLERANCE, `${i}/${j}`)
    )
  );
  const q8 = await quantizeModel(TINY_GGUF, "q8_0", { outDir: join(dir, "q8-eval"), threads: 1 });
  await assert.rejects(
    createLlamaBackend(q8.path, { lora: [{ path: pair.lora }], gpu: false, loraMode: "merge" }),
    /cannot merge the LoRA adapters \(the base's .* is ggml type 8/,
  );
  writeFileSync(join(dir, "done"), "");
});

Deno.test("a cache that cannot be written: the reason, a warning, and eval falls back to runtime adapters", async () => {
  const file = join(dir, "a-file");
  writeFileSync(file, "");
  const cacheDir = join(file, "cache"); // under a file: mkdir fails (ENOTDIR), even as root
  const m = await mergeLora(TINY_GGUF, [{ path: pair.lora }], { cacheDir });
  assert.ok("why" in m && m.failed, JSON.stringify(m));
  assert.match(m.why, /could not be written to .*a-file\/cache .*TUNEBOOK_LORA_CACHE/);
  const before = Deno.env.get("TUNEBOOK_LORA_CACHE");
  Deno.env.set("TUNEBOOK_LORA_CACHE", cacheDir);
  const warn = console.warn;
  const warned: string[] = [];
  console.warn = (msg: string) => warned.push(msg);
  try {
    const b = await createLlamaBackend(TINY_GGUF, {
      lora: [{ path: pair.lora }],
      threads: TEST_THREADS,
      gpu: false,
    });
    await b.dispose();
    assert.equal(b.runIdentity?.lora_applied, "runtime");
    assert.ok(
      warned.some((w) => /LoRA adapters at runtime: the merged copy/.test(w)),
      warned.join(),
    );
    await assert.rejects(
      createLlamaBackend(TINY_GGUF, { lora: [{ path: pair.lora }], gpu: false, loraMode: "merge" }),
      /cannot merge the LoRA adapters \(the merged copy could not be written/,
    );
  } finally {
    console.warn = warn;
    if (before === undefined) Deno.env.delete("TUNEBOOK_LORA_CACHE");
    else Deno.env.set("TUNEBOOK_LORA_CACHE", before);
  }
});
