/**
 * LoRA adapters padded to a rank the CPU matrix kernels take whole (lib/llm/lora_rank_pad.ts): the
 * padded copy holds the same B·A (checked with llama.cpp's own gguf-py reader, not tunebook's
 * parser) and the scale alpha / rank, is written once per content into the cache and reused, and
 * the batched scorer loads it and scores as the model with the adapter merged into its weights.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlmEngine } from "../../lib/llm/engine.ts";
import { loraRankLayout, padLoraRank } from "../../lib/llm/lora_rank_pad.ts";
import { loadModel } from "../../lib/llm/model.ts";
import { writeRandomLora } from "./_serve_lora.ts";
import { BATCH_TOLERANCE, maxDiff } from "./_tolerances.ts";
import { randomLoraPair } from "./_random_lora.ts";
import { ggufPyJson } from "./_gguf_py.ts";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

/** Compare two adapters with gguf-py: per pair, max |B·A − B'·A'| and the two files' alpha and rank. */
const COMPARE = `
import sys, json, numpy as np
sys.path.insert(0, sys.argv[1])
import gguf
def load(p):
    r = gguf.GGUFReader(p)
    t = {x.name: np.array(x.data, dtype=np.float64) for x in r.tensors}
    alpha = float(r.fields["adapter.lora.alpha"].contents())
    return t, alpha
a, alpha_a = load(sys.argv[2]); b, alpha_b = load(sys.argv[3])
out = {"alpha": [alpha_a, alpha_b], "pairs": {}}
for name in sorted(k[:-7] for k in a if k.endswith(".lora_a")):
    A, B = a[name + ".lora_a"], a[name + ".lora_b"]
    A2, B2 = b[name + ".lora_a"], b[name + ".lora_b"]
    ra, rb = A.shape[0], A2.shape[0]
    d = np.abs((alpha_a / ra) * (B @ A) - (alpha_b / rb) * (B2 @ A2)).max()
    extra = float(np.abs(A2[ra:]).max() + np.abs(B2[:, ra:]).max()) if rb > ra else 0.0
    out["pairs"][name] = {"ranks": [ra, rb], "max_delta": float(d), "padding_abs_max": extra,
                          "shapes": [list(A2.shape), list(B2.shape)]}
print(json.dumps(out))
`;

async function compare(original: string, padded: string) {
  return await ggufPyJson<{
    alpha: [number, number];
    pairs: Record<string, {
      ranks: [number, number];
      max_delta: number;
      padding_abs_max: number;
      shapes: number[][];
    }>;
  }>(COMPARE, [original, padded]);
}

const dir = mkdtempSync(join(tmpdir(), "tunebook-lora-pad-"));

Deno.test("an r4 adapter is padded to r16: same B·A and scale, zeros added, the file untouched", async () => {
  const original = join(dir, "r4.gguf");
  await writeRandomLora(original, { rank: 4, std: 0.3 });
  const before = statSync(original).mtimeMs;
  const cacheDir = join(dir, "cache");
  assert.deepEqual(loraRankLayout(original), { rank: 4 });
  const padded = padLoraRank(original, { cacheDir });
  assert.notEqual(padded, original);
  assert.match(padded, /-r16\.gguf$/);
  assert.deepEqual(loraRankLayout(padded), { rank: 16 });
  assert.equal(statSync(original).mtimeMs, before);
  const c = await compare(original, padded);
  assert.deepEqual(c.alpha, [4, 16]); // alpha / rank kept: 4/4 = 16/16
  assert.deepEqual(Object.keys(c.pairs), ["blk.0.attn_q.weight", "output.weight"]);
  for (const [name, p] of Object.entries(c.pairs)) {
    assert.deepEqual(p.ranks, [4, 16], name);
    assert.equal(p.padding_abs_max, 0, `${name}: the added rows/columns are zeros`);
    assert.equal(p.max_delta, 0, `${name}: B·A unchanged`);
  }
  assert.deepEqual(c.pairs["output.weight"].shapes, [[16, 128], [2048, 16]]);
  // Written once: a second call returns the same file without rewriting it.
  const mtime = statSync(padded).mtimeMs;
  assert.equal(padLoraRank(original, { cacheDir }), padded);
  assert.equal(statSync(padded).mtimeMs, mtime);
  assert.deepEqual(readdirSync(cacheDir), [padded.split("/").pop()]); // no partial files left
});

Deno.test("adapters already a multiple, and files that are not adapters, are used as they are", async () => {
  const r16 = join(dir, "r16.gguf");
  await writeRandomLora(r16, { rank: 16 });
  const cacheDir = join(dir, "cache-unused");
  assert.equal(padLoraRank(r16, { cacheDir }), r16);
  assert.equal(padLoraRank(r16, { cacheDir, multiple: 32 }).endsWith("-r32.gguf"), true);
  assert.equal(padLoraRank(TINY_GGUF, { cacheDir }), TINY_GGUF);
  assert.deepEqual(loraRankLayout(TINY_GGUF), { unpaddable: "not a GGUF adapter" });
  assert.equal(padLoraRank("deno.json", { cacheDir }), "deno.json");
  assert.throws(() => padLoraRank(r16, { multiple: 0 }), /multiple must be a positive integer/);
});

Deno.test("the batched scorer loads the padded copy and scores as the merged model does", async () => {
  // r 4 on every block's q/k/v/o and gate/up/down weights, and the same weights merged.
  const pair = await randomLoraPair(TINY_GGUF, { rank: 4, cacheDir: join(dir, "pair") });
  assert.deepEqual(loraRankLayout(pair.lora), { rank: 4 });
  const cacheDir = join(dir, "cache-scorer");
  Deno.env.set("TUNEBOOK_LORA_CACHE", cacheDir);
  const questions = readJsonl<Record<string, string>>("data/synthetic/facts/test.jsonl")
    .slice(0, 20)
    .map((d) => ({
      context: `Question: ${d.question}\nAnswer:`,
      choices: [d.distractor1, d.distractor2, d.distractor3, d.correct_answer].map((c) => " " + c),
    }));
  const score = async (path: string, adapters: { path: string }[]) => {
    const loaded = await loadModel(path, { gpu: false });
    const e = await LlmEngine.create(loaded, { threads: TEST_THREADS, lora: adapters });
    try {
      assert.equal(e.scorer, "batched");
      return await Promise.all(questions.map((q) => e.scoreChoices(q.context, q.choices)));
    } finally {
      await e.dispose();
    }
  };
  try {
    const padded = await score(TINY_GGUF, [{ path: pair.lora }]);
    assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith("-r16.gguf")).length, 1);
    const merged = await score(pair.merged, []);
    const plain = await score(TINY_GGUF, []);
    // The adapter moves the scores far more than the tolerance, so applying none would fail.
    assert.ok(
      maxDiff(padded, plain) > 0.05,
      `the adapter moved scores by ${maxDiff(padded, plain)}`,
    );
    // W·x + B·(A·x) against (W + B·A)·x in f32: rounding only (as r 8 in lora_merged_test.ts).
    assert.ok(maxDiff(padded, merged) < BATCH_TOLERANCE, `vs merged: ${maxDiff(padded, merged)}`);
  } finally {
    Deno.env.delete("TUNEBOOK_LORA_CACHE");
  }
});
