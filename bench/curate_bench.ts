/**
 * `deno task bench:curate` — rows/s of near-duplicate removal (MinHash + LSH + exact Jaccard
 * verification) plus decontamination (13-grams against the bundled tasks' test splits) on
 * 10k, 100k and 1M synthetic rows of ~100 words: rows per wall-clock second and per CPU second
 * (the latter does not depend on what else the machine runs; the load average is recorded),
 * peak memory, and the growth exponent (slope of log CPU time against log rows; 1 is linear,
 * n log n over 10k–1M gives about 1.1). Writes results/bench/curate.json and .md.
 *
 * The rows are made from a seeded Zipf-like vocabulary; 5% are near copies of an earlier plain
 * row (about 2% of words replaced, Jaccard ≈ 0.7–1; the report counts those ≥ 0.8, which should
 * all be removed) and 0.5% carry a benchmark test item of at least `minWords` words (all should
 * be removed), so both stages have real work and their recall is visible. Each size runs in its own process, so its peak RSS (VmHWM) is its own;
 * generating the rows is not timed.
 *
 *   deno task bench:curate [--sizes 10000,100000,1000000]
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { cpuUsage } from "node:process";
import { linearRegression } from "simple-statistics";
import { Rng } from "../lib/util/rng.ts";
import { loadBenchmarks } from "../lib/data/benchmarks.ts";
import { benchmarkTasks } from "../lib/eval/benchmark_items.ts";
import {
  CONTAMINATION_DEFAULTS,
  ContaminationIndex,
  decontaminate,
} from "../lib/data/decontaminate.ts";
import { janitorWords } from "../lib/data/_words.ts";
import { jaccard, shingleSet } from "../lib/data/minhash.ts";
import type { Example } from "../lib/data/examples.ts";
import { dedupNear } from "../lib/data/near_dup.ts";
import { defineCommand, integerFlag, listFlag, runCommand } from "../lib/cli/_command.ts";

const DEFAULT_SIZES = [10_000, 100_000, 1_000_000];
const WORDS_PER_ROW = 100;
const WORDS_JITTER = 20;
const VOCAB = 20_000;
const NEAR_COPY_SHARE = 0.05;
const NEAR_COPY_EDIT = 0.02;
const LEAK_SHARE = 0.005;
const SEED = 1234;
const THRESHOLD = 0.8;
const TARGET_ROWS_PER_S = 20_000;
const TARGET_SIZE = 100_000;
const KIB = 1024;
const MICROS = 1e6;
const MIB = 1024 * 1024;

/** A vocabulary of pronounceable pseudo-words, drawn with a Zipf-like law. */
function makeVocab(rng: Rng): string[] {
  const syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "bo", "da", "fu", "gi"];
  const words = new Set<string>();
  while (words.size < VOCAB) {
    let w = "";
    for (let k = rng.int(1, 4); k > 0; k--) w += rng.pick(syllables);
    words.add(w);
  }
  return [...words];
}

function zipfIndex(rng: Rng): number {
  // inverse-CDF of a 1/x law over [1, VOCAB]
  return Math.min(VOCAB - 1, Math.floor(Math.exp(rng.next() * Math.log(VOCAB))) - 1);
}

interface Rows {
  examples: Example[];
  /** Rows carrying a checkable benchmark item (≥ minWords words). */
  leaks: number;
  /** Near copies, and those at Jaccard ≥ the threshold with their source. */
  copies: number;
  copiesAbove: number;
}

async function makeRows(n: number): Promise<Rows> {
  const rng = new Rng(SEED, `rows-${n}`);
  const vocab = makeVocab(rng);
  const items = (await loadBenchmarks([], { tasks: benchmarkTasks() })).items.filter((it) =>
    janitorWords(it.text).length >= CONTAMINATION_DEFAULTS.minWords
  );
  const texts: string[] = [];
  // copies are made of plain rows only, so each planted pair is one copy and its kept source
  const plain: number[] = [];
  let leaks = 0, copies = 0, copiesAbove = 0;
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    let text: string;
    if (plain.length && r < NEAR_COPY_SHARE) {
      const source = texts[plain[rng.int(0, plain.length - 1)]];
      const words = source.split(" ");
      for (let k = 0; k < words.length; k++) {
        if (rng.next() < NEAR_COPY_EDIT) words[k] = vocab[zipfIndex(rng)];
      }
      text = words.join(" ");
      copies++;
      if (jaccard(shingleSet(source), shingleSet(text)) >= THRESHOLD) copiesAbove++;
    } else {
      const len = WORDS_PER_ROW + rng.int(-WORDS_JITTER, WORDS_JITTER);
      const words = Array.from({ length: len }, () => vocab[zipfIndex(rng)]);
      if (r < NEAR_COPY_SHARE + LEAK_SHARE) {
        words.splice(rng.int(0, len), 0, rng.pick(items).text);
        leaks++;
      } else plain.push(i);
      text = words.join(" ");
    }
    texts.push(text);
  }
  const examples = texts.map((text, index): Example => ({
    index,
    row: { id: `r${index}`, text },
    messages: [{ role: "user", content: text }],
  }));
  return { examples, leaks, copies, copiesAbove };
}

function peakRssBytes(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = status.match(/VmHWM:\s+(\d+)\s+kB/);
    if (m) return Number(m[1]) * KIB;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss;
}

interface SizeResult {
  rows: number;
  seconds: { decontaminate: number; near_dup: number; total: number; cpu: number };
  rows_per_s: number;
  /** Rows per second of this process's CPU time (user + system): robust to other load. */
  rows_per_cpu_s: number;
  /** 1-minute load average before and after (2 means both cores busy). */
  load_average: [number, number];
  removed: { contaminated: number; near_dup: number };
  planted: { leaks: number; near_copies: number; near_copies_above_threshold: number };
  near_dup: { bands: number; rows: number; candidates: number; clusters: number };
  peak_rss_mib: number;
}

async function runSize(n: number): Promise<SizeResult> {
  const { examples, leaks, copies, copiesAbove } = await makeRows(n);
  const { items } = await loadBenchmarks([], { tasks: benchmarkTasks() });
  const load0 = loadavg()[0];
  const cpu0 = cpuUsage();
  const t0 = performance.now();
  const index = new ContaminationIndex(items);
  const d = decontaminate(examples, index);
  const t1 = performance.now();
  const near = dedupNear(d.kept, { on: "text", keep: "first", threshold: THRESHOLD });
  const t2 = performance.now();
  const cpu = cpuUsage(cpu0);
  const total = (t2 - t0) / 1000;
  const cpuSeconds = (cpu.user + cpu.system) / MICROS;
  return {
    rows: n,
    seconds: {
      decontaminate: (t1 - t0) / 1000,
      near_dup: (t2 - t1) / 1000,
      total,
      cpu: cpuSeconds,
    },
    rows_per_s: Math.round(n / total),
    rows_per_cpu_s: Math.round(n / cpuSeconds),
    load_average: [round2(load0), round2(loadavg()[0])],
    removed: { contaminated: d.rejects.length, near_dup: near.rejects.length },
    planted: { leaks, near_copies: copies, near_copies_above_threshold: copiesAbove },
    near_dup: {
      bands: near.report.bands,
      rows: near.report.rows,
      candidates: near.report.candidates,
      clusters: near.report.clusters,
    },
    peak_rss_mib: Math.round(peakRssBytes() / MIB),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Least-squares slope of log(seconds) against log(rows). */
function growthExponent(results: SizeResult[]): number {
  return linearRegression(results.map((r) => [Math.log(r.rows), Math.log(r.seconds.total)])).m;
}

/** `deno task bench:curate`. */
export const command = defineCommand({
  name: "bench:curate",
  summary: "Rows/s of near-duplicate removal (MinHash + LSH + exact Jaccard) plus " +
    "decontamination (13-grams against the bundled tasks' test splits) on synthetic rows of " +
    "~100 words, each size in its own process; writes results/bench/curate.json and .md.",
  flags: {
    sizes: listFlag("row counts to measure", { of: "integer", min: 1, default: DEFAULT_SIZES }),
    child: integerFlag("internal: measure this many rows in this process, print its JSON", {
      min: 1,
      defaultText: "none: each size runs in a child process",
    }),
  },
  run: async ({ values }) => {
    if (values.child !== undefined) {
      console.log(JSON.stringify(await runSize(values.child)));
      return 0;
    }
    await main(values.sizes);
    return 0;
  },
});

async function main(sizes: number[]): Promise<void> {
  const results: SizeResult[] = [];
  for (const n of sizes) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--max-old-space-size=16384",
        new URL(import.meta.url).pathname,
        "--child",
        String(n),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`benchmark at ${n} rows failed (exit ${out.code})`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
    console.log(
      `${n} rows: ${r.rows_per_s} rows/s, ${r.rows_per_cpu_s} rows/CPU-s (decontaminate ` +
        `${r.seconds.decontaminate.toFixed(2)} s, near-dup ${r.seconds.near_dup.toFixed(2)} s), ` +
        `peak ${r.peak_rss_mib} MiB, load ${r.load_average.join("→")}`,
    );
    results.push(r);
  }
  const exponent = results.length > 1 ? growthExponent(results) : null;
  const at = results.find((r) => r.rows === TARGET_SIZE);
  const report = {
    benchmark:
      `near-dup (one-permutation MinHash, ${results[0]?.near_dup.bands}×${
        results[0]?.near_dup.rows
      } LSH ` +
      "bands, word 5-shingles, Jaccard ≥ 0.8 verified exactly) + decontamination (13-grams " +
      "against the bundled tasks' test splits), on rows of ~100 words",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, deno: Deno.version.deno },
    threads: 1,
    results,
    growth_exponent: exponent,
    target: {
      rows_per_s: TARGET_ROWS_PER_S,
      at_rows: TARGET_SIZE,
      met: at ? at.rows_per_s >= TARGET_ROWS_PER_S : null,
      growth: "no faster than n log n (exponent ≤ ~1.1 over 10k–1M)",
    },
  };
  mkdirSync("results/bench", { recursive: true });
  writeFileSync("results/bench/curate.json", JSON.stringify(report, null, 2) + "\n");
  const md = [
    `# Curation benchmark`,
    ``,
    `${report.benchmark}. ${report.machine.cpus} CPUs (${report.machine.model}), one thread, ` +
    `Deno ${report.machine.deno}; ${report.date.slice(0, 10)}.`,
    ``,
    `| rows | rows/s (wall) | rows/CPU-s | decontaminate (s) | near-dup (s) | removed (contaminated / near-dup) | planted (leaks / near copies ≥ 0.8 / all near copies) | LSH candidates | peak RSS (MiB) | load avg |`,
    `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...results.map((r) =>
      `| ${r.rows} | ${r.rows_per_s} | ${r.rows_per_cpu_s} | ${
        r.seconds.decontaminate.toFixed(2)
      } | ${
        r.seconds.near_dup.toFixed(2)
      } | ${r.removed.contaminated} / ${r.removed.near_dup} | ${r.planted.leaks} / ${r.planted.near_copies_above_threshold} / ${r.planted.near_copies} | ${r.near_dup.candidates} | ${r.peak_rss_mib} | ${
        r.load_average.join(" → ")
      } |`
    ),
    ``,
    `Growth exponent (slope of log CPU time vs log rows): ${exponent?.toFixed(3) ?? "n/a"}. ` +
    `Wall-clock rows/s depends on what else runs (load average 2 = both cores busy); ` +
    `rows per CPU-second does not. ` +
    `Target: ≥ ${TARGET_ROWS_PER_S} rows/s at ${TARGET_SIZE} rows — ${
      report.target.met === null ? "not measured" : report.target.met ? "met" : "NOT met"
    }.`,
    ``,
  ].join("\n");
  writeFileSync("results/bench/curate.md", md);
  console.log(md);
}

if (import.meta.main) await runCommand(command);
