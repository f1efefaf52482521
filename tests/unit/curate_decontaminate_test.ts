/**
 * Decontamination: lm-eval's janitor normalisation, planted benchmark leaks (13-grams from
 * long items, whole short items, leaks from every bundled task's test split) all found and
 * attributed, near misses (12 shared words) and a clean control set left alone, and benchmark
 * sources (tasks, files) loaded with the right text.
 */
import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../../lib/util/rng.ts";
import { janitorWords } from "../../lib/data/_words.ts";
import { loadBenchmarks } from "../../lib/data/benchmarks.ts";
import { benchmarkTasks } from "../../lib/eval/benchmark_items.ts";
import {
  type BenchmarkItem,
  ContaminationIndex,
  type ContaminationMatch,
  decontaminate,
} from "../../lib/data/decontaminate.ts";
import type { Example } from "../../lib/data/examples.ts";

/** Benchmark tasks resolved by lib/eval, as `deno task curate` passes them. */
const tasks = benchmarkTasks();

function example(index: number, text: string): Example {
  return { index, row: { id: `t${index}`, text }, messages: [{ role: "user", content: text }] };
}

const LONG_ITEM =
  "Volesa is the capital of Nisel, a small country on the eastern coast where the river " +
  "Kinli meets the sea and the old harbour still trades salt, wool and copper every spring.";

Deno.test("janitor normalisation: ASCII lowercased, string.punctuation deleted, split on whitespace", () => {
  // what lm_eval/decontamination/janitor.py's normalize_string + split() give for these inputs
  assertEquals(janitorWords("   ,, I'm a very !dirty,, ,,  dirty boy. Clean me daddy. \n\nhe he"), [
    "im",
    "a",
    "very",
    "dirty",
    "dirty",
    "boy",
    "clean",
    "me",
    "daddy",
    "he",
    "he",
  ]);
  // non-ASCII letters keep their case and accents; non-ASCII punctuation stays (as in janitor)
  assertEquals(janitorWords("Ärger «Über» state-of-the-art\u00a0x"), [
    "Ärger",
    "«Über»",
    "stateoftheart",
    "x",
  ]);
});

Deno.test("decontamination: a 13-gram leak is found whatever its case and punctuation; 12 words are not", () => {
  const index = new ContaminationIndex([{ benchmark: "geo", id: "g7", text: LONG_ITEM }]);
  const words = LONG_ITEM.split(" ");
  const leak13 = `Notes: ${words.slice(10, 23).join(" ").toUpperCase()}!!! and more.`;
  const near12 = `Notes: ${words.slice(10, 22).join(" ")} and more words that differ.`;
  const out = decontaminate([example(0, leak13), example(1, near12)], index);
  assertEquals(out.kept.map((e) => e.row.id), ["t1"]);
  const m = out.rejects[0].matched as ContaminationMatch;
  assertEquals(out.rejects[0].rule, "contaminated");
  assertEquals([m.benchmark, m.id], ["geo", "g7"]);
  assertEquals(m.ngram.split(" ").length, 13);
  assertEquals(m.ngram, janitorWords(words.slice(10, 23).join(" ")).join(" "));
  assertEquals(out.report.byBenchmark, { geo: 1 });
});

Deno.test("decontamination: short items match whole; items under minWords are skipped and counted", () => {
  const items: BenchmarkItem[] = [
    { benchmark: "facts", id: "f1", text: "What is the capital of Nisel?" }, // 6 words
    { benchmark: "facts", id: "f2", text: "Who wrote it?" }, // 3 words: skipped
  ];
  const index = new ContaminationIndex(items);
  assertEquals([index.stats.wholeItems, index.stats.skipped], [1, 1]);
  const out = decontaminate([
    example(0, "Quiz time. what is the capital of nisel Answer: Volesa"),
    example(1, "What is the capital of Tushi? Answer: Volesa"),
    example(2, "Who wrote it? Nobody knows."),
  ], index);
  assertEquals(out.rejects.map((r) => r.row.id), ["t0"]);
  assertEquals((out.rejects[0].matched as ContaminationMatch).id, "f1");
});

Deno.test("decontamination: leaks from every bundled task's test split are found and attributed", async () => {
  const { items, sources } = await loadBenchmarks([], { tasks });
  const names = sources.map((s) => s.name);
  for (const t of ["synth_arithmetic", "synth_entailment", "synth_facts", "synth_qa"]) {
    assert(names.includes(t), `${t} missing from ${names}`);
  }
  const index = new ContaminationIndex(items);
  const rng = new Rng(11, "leaks");
  // every 20th checkable item of each benchmark, wrapped in unrelated text
  const checkable = items.filter((it) => it.text.split(/\s+/).length >= index.minWords);
  const planted = checkable.filter((_, i) => i % 20 === 0);
  const filler = () => Array.from({ length: 8 }, () => `zq${rng.int(0, 99999)}`).join(" ");
  const leaks = planted.map((it, i) => example(i, `${filler()} ${it.text} ${filler()}`));
  const out = decontaminate(leaks, index);
  assertEquals(out.kept.length, 0, `missed: ${out.kept.map((e) => e.row.text).join(" | ")}`);
  const byItem = out.rejects.map((r) => (r.matched as ContaminationMatch).benchmark);
  // an identical text shared by two tasks is attributed to the first source that has it
  assert(byItem.every((b) => names.includes(b)));
  assert(new Set(byItem).size >= 4, `benchmarks hit: ${[...new Set(byItem)]}`);
});

Deno.test("decontamination: a clean control set (the synthetic train splits' own style) loses nothing", async () => {
  const { items } = await loadBenchmarks(["synth_qa", "synth_facts", "synth_arithmetic"], {
    tasks,
  });
  const index = new ContaminationIndex(items);
  const rng = new Rng(5, "control");
  const names = ["Alma", "Borin", "Cato", "Dessa", "Elio"];
  const jobs = ["baker", "pilot", "farmer", "judge"];
  // texts in the benchmarks' style and vocabulary, but about entities they never mention
  const control = Array.from({ length: 500 }, (_, i) => {
    const n = `${rng.pick(names)}${i}`;
    return example(
      i,
      `${n} works as a ${rng.pick(jobs)}. ${n} lives in Qq${i}town. What is ${100 + i} plus ${
        rng.int(1000, 9999)
      }? Question: What is the capital of Zz${i}land?`,
    );
  });
  const out = decontaminate(control, index);
  assertEquals(out.rejects.map((r) => r.reason), []);
});

Deno.test("benchmarks: task text is doc_to_decontamination_query or the doc_to_text columns; files need their columns", async () => {
  const { sources } = await loadBenchmarks(["synth_qa", "synth_arithmetic"], { tasks });
  assertEquals(sources.map((s) => [s.name, s.text, s.items]), [
    ["synth_qa", "columns context, question", 200],
    ["synth_arithmetic", "columns context", 200],
  ]);
  const dir = Deno.makeTempDirSync();
  const file = join(dir, "mmlu_like.jsonl");
  Deno.writeTextFileSync(
    file,
    '{"id":"m1","question":"Which planet is largest?","choices":"Jupiter"}\n',
  );
  const custom = await loadBenchmarks([file], { fields: ["question", "choices"] });
  assertEquals(custom.items, [
    { benchmark: "mmlu_like", id: "m1", text: "Which planet is largest? Jupiter" },
  ]);
  await rejects(
    loadBenchmarks([file]),
    (e: Error) => e.message.includes('lacks column "text"') && e.message.includes('"question"'),
  );
  await rejects(loadBenchmarks(["synth_nope"], { tasks }), /unknown task "synth_nope"/);
});

Deno.test("benchmarks: without a task resolver, files still load and task names say what to pass", async () => {
  const dir = Deno.makeTempDirSync();
  const file = join(dir, "gsm.jsonl");
  Deno.writeTextFileSync(file, '{"id":"g1","text":"Natalia sold clips"}\n');
  const { items, sources } = await loadBenchmarks([file]);
  assertEquals(items, [{ benchmark: "gsm", id: "g1", text: "Natalia sold clips" }]);
  assertEquals(sources.map((s) => s.kind), ["file"]);
  await rejects(
    loadBenchmarks(["synth_qa"]),
    /benchmark "synth_qa" is not a data file; .*pass `tasks: benchmarkTasks\(\)`/,
  );
  await rejects(loadBenchmarks([]), /default tasks needs a resolver .*benchmarkTasks\(\)/);
});
