/**
 * Exact dedup (planted duplicates found, keep rules, no false positives among distinct texts)
 * and deterministic, stratified splits.
 */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { dedupExact, type MatchedRow } from "../../lib/data/dedup.ts";
import { type Example, toExamples } from "../../lib/data/examples.ts";
import { splitExamples } from "../../lib/data/split.ts";

const alpaca = { format: "alpaca" as const, instruction: "instruction", output: "output" };

Deno.test("exact dedup: planted duplicates (case and spacing differ) are found; keep rules pick the survivor", () => {
  const rows = [
    { id: "a", instruction: "What is 2+2?", output: "4" },
    { id: "b", instruction: "Name a colour.", output: "Red" },
    { id: "c", instruction: "what  is 2+2?\n", output: "2 + 2 = 4, since two and two make four." },
    { id: "d", instruction: "WHAT IS 2+2?", output: "Four" },
    { id: "e", instruction: "What is 2+3?", output: "5" },
  ];
  const { examples } = toExamples(rows, alpaca);
  const out = dedupExact(examples);
  assertEquals(out.kept.map((e) => e.row.id), ["b", "c", "e"]);
  assertEquals(out.rejects.map((r) => [r.row.id, r.rule, (r.matched as MatchedRow).row.id]), [
    ["a", "exact_dup", "c"],
    ["d", "exact_dup", "c"],
  ]);
  assertEquals(out.report, { removed: 2, groups: 1 });
  assertEquals(dedupExact(examples, { keep: "first" }).kept.map((e) => e.row.id), ["a", "b", "e"]);
  // comparing the whole text: same question, different answers are not duplicates
  assertEquals(dedupExact(examples, { on: "text" }).rejects.length, 0);
});

Deno.test("exact dedup: 5000 distinct texts lose nothing; 500 planted copies are all removed", () => {
  const rows = Array.from({ length: 5000 }, (_, i) => ({ text: `document ${i} says ${i * 7919}` }));
  const copies = Array.from(
    { length: 500 },
    (_, i) => ({ text: `  DOCUMENT ${i * 10} says ${i * 10 * 7919} ` }),
  );
  const mapping = { format: "text" as const, text: "text" };
  assertEquals(dedupExact(toExamples(rows, mapping).examples).rejects.length, 0);
  const out = dedupExact(toExamples([...rows, ...copies], mapping).examples, { keep: "first" });
  assertEquals(out.rejects.length, 500);
  assert(out.rejects.every((r) => r.index! >= 5000));
});

function labelled(n: number, labels: string[]): Example[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    row: { id: `r${i}`, label: labels[i % labels.length] },
    messages: [{ role: "user", content: `item ${i}` }],
  }));
}

Deno.test("split: ratios per label, deterministic, independent of row order, seed-dependent", () => {
  const ex = labelled(300, ["a", "a", "b"]); // 200 a, 100 b
  const s = splitExamples(ex, { ratios: [0.8, 0.1, 0.1], seed: 1 });
  assertEquals(s.report.stratifiedBy, "label");
  assertEquals(s.report.labels, {
    a: { train: 160, validation: 20, test: 20 },
    b: { train: 80, validation: 10, test: 10 },
  });
  const ids = (xs: Example[]) => xs.map((e) => e.row.id as string).sort();
  const all = [...ids(s.train), ...ids(s.validation), ...ids(s.test)];
  assertEquals(new Set(all).size, 300);
  const shuffled = splitExamples([...ex].reverse().map((e, i) => ({ ...e, index: i })), {
    ratios: [0.8, 0.1, 0.1],
    seed: 1,
  });
  assertEquals(ids(shuffled.test), ids(s.test));
  const other = splitExamples(ex, { ratios: [0.8, 0.1, 0.1], seed: 2 });
  assert(JSON.stringify(ids(other.test)) !== JSON.stringify(ids(s.test)));
  // input order is kept within each split
  assert(s.train.every((e, i) => i === 0 || s.train[i - 1].index < e.index));
});

Deno.test("split: no label column means one stratum; bad ratios and labels are explained", () => {
  const ex = labelled(10, ["x"]).map((e) => ({ ...e, row: { id: e.row.id } }));
  const s = splitExamples(ex);
  assertEquals(s.report.stratifiedBy, null);
  assertEquals(s.report.counts, { train: 9, validation: 1, test: 0 });
  throws(() => splitExamples(ex, { ratios: [0.5, 0.2, 0.2] }), /summing to 1/);
  throws(() => splitExamples(ex, { label: "topic" }), /cannot stratify by "topic": row 1/);
});
