/**
 * Near-duplicate removal: planted near duplicates at known Jaccard similarities are all found
 * (and only those at or above the threshold), a clean control set loses nothing, results are
 * deterministic, and the MinHash estimate tracks exact Jaccard.
 *
 * Planting: a base text of N distinct words has S = N − k + 1 distinct word k-shingles.
 * Replacing m words that are more than k apart with new words changes m·k shingles, so the
 * copy's exact Jaccard similarity with the base is (S − m·k) / (S + m·k).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Rng } from "../../lib/util/rng.ts";
import type { Example } from "../../lib/data/examples.ts";
import {
  candidateProbability,
  jaccard,
  lshParams,
  MinHasher,
  shingleSet,
} from "../../lib/data/minhash.ts";
import { dedupNear } from "../../lib/data/near_dup.ts";
import type { MatchedRow } from "../../lib/data/dedup.ts";

const K = 5;

function example(index: number, text: string, id = `d${index}`): Example {
  return { index, row: { id, text }, messages: [{ role: "user", content: text }] };
}

/** N words unique to document `doc` (no two documents share a word). */
function baseWords(doc: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `w${doc}x${i}`);
}

/** Replace m words spaced 2k apart, starting in the middle, with fresh words. */
function edit(words: string[], m: number, tag: string): string[] {
  const out = [...words];
  for (let j = 0; j < m; j++) out[K + j * 2 * K] = `new${tag}y${j}`;
  return out;
}

function expectedJaccard(n: number, m: number): number {
  const s = n - K + 1;
  return (s - m * K) / (s + m * K);
}

for (const method of ["oph", "classic"] as const) {
  Deno.test(`near-dup (${method}): planted copies at known Jaccard are found exactly down to the threshold`, () => {
    const n = 104; // S = 100: m=1 → 0.905, m=2 → 0.818, m=3 → 0.739, m=4 → 0.667
    const docs = 150;
    const examples: Example[] = [];
    const plantedAbove = new Map<string, { base: string; j: number }>();
    for (let d = 0; d < docs; d++) {
      const words = baseWords(d, n);
      examples.push(example(examples.length, words.join(" "), `base${d}`));
      for (const m of [1, 2, 3, 4]) {
        const id = `copy${d}m${m}`;
        examples.push(example(examples.length, edit(words, m, `${d}m${m}`).join(" "), id));
        if (expectedJaccard(n, m) >= 0.8) {
          plantedAbove.set(id, { base: `base${d}`, j: expectedJaccard(n, m) });
        }
      }
    }
    const out = dedupNear(examples, { keep: "first", method });
    const removed = new Map(out.rejects.map((r) => [r.row.id as string, r]));
    assertEquals([...removed.keys()].sort(), [...plantedAbove.keys()].sort());
    for (const [id, want] of plantedAbove) {
      const r = removed.get(id)!;
      assertEquals(r.rule, "near_dup");
      const matched = r.matched as MatchedRow;
      assertEquals(matched.row.id, want.base, `${id} should point at its base`);
      assert(Math.abs(matched.jaccard! - want.j) < 1e-12, `${id}: ${matched.jaccard} vs ${want.j}`);
    }
    assertEquals(out.report.clusters, docs);
    assertEquals(out.report.sizes, { "3": docs });
    assertEquals(out.report.largest[0].size, 3);
    assert(out.report.largest[0].members.every((m) => m.jaccard >= 0.8));
  });
}

Deno.test("near-dup: a pair at exactly the threshold is removed, one just below is kept", () => {
  // N = 94 → S = 90; m = 2 → (90 − 10) / (90 + 10) = 0.8 exactly
  const words = baseWords(0, 94);
  const at = edit(words, 2, "a");
  assertEquals(jaccard(shingleSet(words.join(" ")), shingleSet(at.join(" "))), 0.8);
  const out = dedupNear([example(0, words.join(" ")), example(1, at.join(" "))], {
    keep: "first",
  });
  assertEquals(out.rejects.map((r) => r.row.id), ["d1"]);
  const stricter = dedupNear([example(0, words.join(" ")), example(1, at.join(" "))], {
    threshold: 0.81,
  });
  assertEquals(stricter.rejects.length, 0);
});

Deno.test("near-dup: a clean control set of unrelated texts loses nothing", () => {
  const rng = new Rng(7, "control");
  const vocab = Array.from({ length: 3000 }, (_, i) => `v${i.toString(36)}`);
  // a shared vocabulary with a skewed law, so texts do share many words and some shingles
  const examples = Array.from({ length: 2000 }, (_, i) => {
    const words = Array.from(
      { length: 60 + rng.int(0, 60) },
      () => vocab[Math.floor(Math.exp(rng.next() * Math.log(vocab.length))) - 1],
    );
    return example(i, words.join(" "));
  });
  const out = dedupNear(examples);
  assertEquals(out.rejects.length, 0);
  assertEquals(out.kept.length, examples.length);
});

Deno.test("near-dup: the keep rule picks the cluster's representative; output is deterministic", () => {
  const words = baseWords(1, 60);
  const short = {
    index: 0,
    row: { id: "short" },
    messages: [
      { role: "user" as const, content: words.join(" ") },
      { role: "assistant" as const, content: "brief" },
    ],
  };
  const long = {
    index: 1,
    row: { id: "long" },
    messages: [
      { role: "user" as const, content: edit(words, 1, "z").join(" ") },
      { role: "assistant" as const, content: "a much longer and more helpful answer" },
    ],
  };
  const byOutput = dedupNear([short, long]); // default: prompt side, keep longest_output
  assertEquals(byOutput.kept.map((e) => e.row.id), ["long"]);
  assertEquals((byOutput.rejects[0].matched as MatchedRow).row.id, "long");
  const first = dedupNear([short, long], { keep: "first" });
  assertEquals(first.kept.map((e) => e.row.id), ["short"]);
  const again = dedupNear([short, long], { keep: "first" });
  assertEquals(JSON.stringify(again), JSON.stringify(first));
});

Deno.test("near-dup: character shingles catch short texts that word shingles cannot", () => {
  const a = "What is the capital city of Nisel?";
  const b = "What's the capital city of Nisel?";
  const exs = [example(0, a), example(1, b)];
  assertEquals(dedupNear(exs).rejects.length, 0); // 5-word shingles: almost nothing shared
  const chars = dedupNear(exs, { shingle: "char", shingleSize: 4, threshold: 0.7 });
  assertEquals(chars.rejects.map((r) => r.row.id), ["d1"]);
});

Deno.test("minhash: both signature methods estimate Jaccard; banding meets its recall target", () => {
  for (const method of ["oph", "classic"] as const) {
    const mh = new MinHasher({ numPerm: 256, seed: 3, method });
    const errors: number[] = [];
    for (let m = 1; m <= 8; m++) {
      const words = baseWords(100 + m, 104);
      const a = shingleSet(words.join(" ")), b = shingleSet(edit(words, m, "e").join(" "));
      errors.push(Math.abs(MinHasher.estimate(mh.signature(a), mh.signature(b)) - jaccard(a, b)));
    }
    const mean = errors.reduce((x, y) => x + y, 0) / errors.length;
    // the standard error of a 256-position estimate is at most 0.5/√256 ≈ 0.031
    assert(mean < 0.04, `${method}: mean absolute error ${mean}`);
    const empty = mh.signature(new Int32Array(0));
    assert(empty.every((v) => v === 0x7fffffff));
    const one = mh.signature(Int32Array.of(12345));
    if (method === "oph") {
      assert(one.every((v) => v === one[0]), "oph: one shingle fills every bin");
    }
  }
  const p = lshParams(0.8, 64);
  assertEquals(p, { bands: 16, rows: 4 });
  assert(candidateProbability(0.8, p) >= 0.999);
  assert(candidateProbability(0.3, p) < 0.15);
  assertEquals(jaccard(new Int32Array(0), new Int32Array(0)), 1);
  assertEquals(shingleSet("").length, 0);
  assertEquals(shingleSet("Two words").length, 1);
});
