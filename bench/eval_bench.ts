/**
 * Multiple-choice scoring throughput (items/s) on the same model and items, four ways:
 *
 * - `tunebook`: {@linkcode LlmEngine.scoreChoices} as `deno task eval` runs it, with the
 *   default batched scorer (lib/llm/batch_scorer.ts): many questions per libllama decode, each
 *   context once with one sequence id per choice (KV cache shared), logits read in place.
 * - `tunebook_sequences`: the same engine with `scorer: "sequences"`: node-llama-cpp's
 *   `controlledEvaluate` on 8 sequences, the context evaluated once and each choice on top of it.
 * - `naive`: one fresh evaluation per choice — clear the sequence, evaluate context + choice with
 *   probabilities at the choice positions only; 1 sequence, no batching.
 * - `llama_perplexity`: `llama-perplexity --multiple-choice` on the same items, with its default
 *   parallelism (`-np 4`: one item per decode) and with `-np 32` (8 items per decode). Its time is
 *   read from its log timestamps, from `there are N tasks in prompt` to `Final result` (reading,
 *   tokenizing and scoring; no model load, warm-up decode or teardown); the process's wall time
 *   is recorded too.
 *
 * Then a LoRA adapter against the same weights merged, on the same items, in the same rounds:
 *
 * - `tunebook_lora`: what `deno task eval --lora` does — the default (batched) scorer on the
 *   model with a random adapter of the trainer's default shape (r 8, alpha 16, every block's
 *   q/k/v/o and gate/up/down weights; tests/model/_random_lora.ts, cached beside the benchmark
 *   model) merged into a copy of its weights at load (lib/llm/lora_merge.ts; the merge's seconds,
 *   written fresh each run, are recorded);
 * - `tunebook_lora_runtime`: the same adapter applied by llama.cpp in every decode (what a
 *   quantized base, or `--lora-mode runtime`, gets);
 * - `tunebook_merged`: the same scorer on the model with that adapter merged by the trainer's
 *   exporter (the reference).
 *
 * Target (issue 14): `tunebook_lora` ≥ 0.9× `tunebook_merged` items/s; the runtime ratio is
 * recorded beside it (`--no-lora` skips all three).
 *
 * And the physical reference: `llama-bench`'s prompt-processing test on the same model and
 * threads (`-p 512 -n 0`, `-b`/`-ub` 512: one 512-token decode per repetition, f16 KV), one
 * process per round (`-r 1`, after its own untimed warm-up run), the methods taking turns. Each
 * tunebook method's prompt tokens/s — the tokens its decodes carried (the engine's
 * `tokensEvaluated`: tokens decoded, as llama-bench counts them, padding to a decode's minimum
 * included, the holes between questions not, since they are not decoded)
 * over the same round's seconds, median of the rounds — is reported as a ratio to llama-bench's
 * median tokens/s (target: tunebook ≥ 0.9×). `--no-llama-bench` leaves it out.
 *
 * Then `generate_until` (below): a task's prompts generated greedily by
 * tunebook's engine (the batched generator) and by llama-server driven with the same prompt
 * tokens at the same concurrency (target: tunebook ≥ 1.0× llama-server's items/s).
 *
 * It runs on the tiny model and on the benchmark model (bench/bench_model.ts: a 512-hidden ×
 * 8-layer llama, where compute dominates) unless `--model` says otherwise; `tunebook_sequences`
 * and `naive` run on the tiny model only (minutes per run on the benchmark model).
 *
 * Every method uses the same thread count (2) and the default f16 KV cache; each measurement is
 * repeated (3 times after one untimed warm-up run, the methods taking turns) and the median is
 * reported. Writes
 * `results/bench/eval.json` and `results/bench/eval.md`. Run by `deno task bench:eval`:
 *
 *   deno run -A bench/eval_bench.ts [--model tiny,bench,FILE.gguf] [--tasks a,b] [--repeats 3]
 *       [--threads 2] [--perplexity PATH] [--llama-bench PATH] [--no-llama-bench]
 *       [--llama-server PATH] [--no-generation] [--all-methods] [--no-lora]
 *       [--out results/bench] [--name eval] [--limit N]
 *
 * Targets (issue): tunebook ≥ 5× naive, ≥ 0.8× llama-perplexity and ≥ 0.9× llama-bench's
 * prompt tokens/s.
 * @module
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { roundTo } from "../lib/util/round.ts";
import { tmpdir } from "node:os";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { median } from "simple-statistics";
import { writeMultipleChoiceTasks } from "../lib/eval/_mc_binary.ts";
import { LlmEngine } from "../lib/llm/engine.ts";
import { BATCHED_CONCURRENCY } from "../lib/eval/backend.ts";
import { type LoadedModel, loadModel } from "../lib/llm/model.ts";
import {
  BENCH_MODEL_DIR,
  benchCommandLine,
  type BenchModel,
  resolveBenchModels,
} from "./bench_model.ts";
import { randomLoraPair } from "../tests/model/_random_lora.ts";
import { mergeLora } from "../lib/llm/lora_merge.ts";
import {
  booleanFlag,
  defineCommand,
  type FlagValues,
  integerFlag,
  listFlag,
  runCommand,
  stringFlag,
} from "../lib/cli/_command.ts";
import {
  BENCH_TASKS,
  BENCH_THREADS,
  type BenchItem,
  loadBenchItems,
  scoreAll,
} from "./crosscheck_perplexity.ts";
import {
  DEFAULT_LLAMA_BENCH,
  DEFAULT_PERPLEXITY,
  LLAMA_BENCH_PROMPT_TOKENS,
  type LlamaBenchRun,
  type PerplexityRun,
  runLlamaBench,
  runLlamaPerplexity,
} from "./_llama_tools.ts";
import { encodeText } from "../lib/llm/tokenizer_rules.ts";
import { findLibllama } from "../lib/llm/_libllama_path.ts";
import { measureOutputLayer, type OutputLayerCost, referenceRate } from "./_output_layer.ts";
import {
  benchGeneration,
  GENERATION_DESCRIPTIONS,
  GENERATION_METHODS,
  GENERATION_TASK,
  GENERATION_THREADS,
  type GenerationResult,
} from "./_eval_generation.ts";

/** Targets from the issue. */
const TARGET_VS_NAIVE = 5;
const TARGET_VS_PERPLEXITY = 0.8;
/** Issue 14: a LoRA adapter applied at runtime ≥ 0.9× the merged model's items/s. */
const TARGET_LORA_VS_MERGED = 0.9;
/** Issue 14: the batched scorer's prompt tokens/s ≥ 0.9× llama-bench's (same model, threads). */
const TARGET_VS_LLAMA_BENCH = 0.9;
/** tunebook configurations: the default (batched) scorer and node-llama-cpp's sequences. */
const TUNEBOOK_CONFIGS = [["tunebook", "batched"], ["tunebook_sequences", "sequences"]] as const;
/** Questions in flight for the batched scorer: what createLlamaBackend keeps in flight. */
const BATCHED_IN_FLIGHT = BATCHED_CONCURRENCY;
/** llama-perplexity configurations: its default parallelism (-np 4) and 8 items per decode. */
const PERPLEXITY_CONFIGS = [["llama_perplexity_np4", 4], ["llama_perplexity_np32", 32]] as const;
/**
 * Methods run on the tiny model only (or with `--all-methods`): on the benchmark model they take
 * minutes per run and measure nothing the tiny model does not show.
 */
const SLOW_METHODS: readonly Method[] = ["tunebook_sequences", "naive"];
/** Sequences of tunebook's engine in this benchmark (its default). */
const SEQUENCES = 8;

/** The measured methods, in table order. */
const METHODS = [
  "tunebook",
  "tunebook_sequences",
  "naive",
  "llama_perplexity_np4",
  "llama_perplexity_np32",
  "tunebook_lora",
  "tunebook_lora_runtime",
  "tunebook_merged",
] as const;
type Method = typeof METHODS[number];

const DESCRIPTIONS: Record<Method, string> = {
  tunebook: `LlmEngine's default (batched) scorer: many questions per libllama decode, ` +
    `context shared by its choices, ${BATCHED_IN_FLIGHT} questions in flight`,
  tunebook_sequences: `LlmEngine with scorer "sequences": node-llama-cpp controlledEvaluate, ` +
    `${SEQUENCES} sequences, "shared" batching`,
  naive: "fresh evaluation of context + choice per choice, 1 sequence",
  llama_perplexity_np4: "llama-perplexity --multiple-choice -np 4 (its default; 1 item/decode)",
  llama_perplexity_np32: "llama-perplexity --multiple-choice -np 32 (8 items/decode)",
  tunebook_lora: "the tunebook method on the model with a random LoRA adapter (r 8, alpha 16, " +
    "every block's q/k/v/o and gate/up/down weights) as `deno task eval --lora` applies it: " +
    "merged into a copy of the weights at load (lib/llm/lora_merge.ts)",
  tunebook_lora_runtime: "the same adapter applied at runtime by llama.cpp (W·x + s·B·(A·x) " +
    "in every decode)",
  tunebook_merged: "the tunebook method on the model with the same adapter merged into its weights",
};

/** One method on one task. */
interface Measurement {
  method: Method;
  task: string;
  items: number;
  /** Seconds of each timed repeat (llama-perplexity: its scoring time, from log timestamps). */
  seconds: number[];
  medianSeconds: number;
  /** Items per second of the median repeat (the reported figure). */
  itemsPerSecond: number;
  /** Items per second of the fastest repeat (less sensitive to other load on the machine). */
  itemsPerSecondBest: number;
  /** llama-perplexity only: median process wall time, and time to the start of scoring (s). */
  medianWallSeconds?: number;
  medianStartupSeconds?: number;
  /** Tokens evaluated per run (tunebook's counter; naive: context + choice tokens). */
  tokensEvaluated?: number;
  /** Rows of logits those tokens asked for, per run (the batched scorer's counter). */
  outputRows?: number;
  /**
   * The batched scorer's seconds per timed round in llama_decode, reading logits rows in
   * JavaScript and restoring holes (the rest of a round: queueing, tokenizing, the trees).
   */
  split?: { decode: number[]; logits: number[]; holes: number[] };
  /**
   * Tokens evaluated per second: each timed round's tokens over its seconds, median of the
   * rounds (absent for llama-perplexity, which reports no token count).
   */
  promptTokensPerSecond?: number;
}

/** llama-bench's prompt-processing rate on one task's rounds (one process per round). */
interface LlamaBenchMeasurement {
  task: string;
  /** Tokens of its test (-p, -b, -ub). */
  promptTokens: number;
  /** Tokens/s of each round's run. */
  rounds: number[];
  /** Median of the rounds. */
  tokensPerSecond: number;
  /** The command line of the last round. */
  command: string;
  /**
   * The output layer's seconds per row of logits, measured in each round through tunebook's
   * libllama on the same model and threads (bench/_output_layer.ts): the work llama-bench's pp test
   * leaves out and a scorer cannot (a row per scored position).
   */
  outputLayer: { secondsPerRow: number; rounds: number[]; decodes: OutputLayerCost[] };
}

/**
 * The naive scorer: for each choice, a cleared sequence evaluates context + choice tokens with
 * probabilities at the choice positions only. Returns the summed log-probs (for a sanity check).
 */
async function naiveScore(
  loaded: LoadedModel,
  seq: LlamaContextSequence,
  item: BenchItem,
): Promise<number[]> {
  const model = loaded.model;
  // The model's own rule (BOS only when it adds one), as every tunebook path tokenizes.
  const tokenize = (text: string) => encodeText(model, text, { eos: false });
  const ctx = tokenize(item.context);
  const out: number[] = [];
  for (const choice of item.choices) {
    const cont = tokenize(item.context + " " + choice).slice(ctx.length);
    const input = [...ctx, ...cont];
    await seq.clearHistory();
    const res = await seq.controlledEvaluate(
      input.slice(0, -1).map((t, i) =>
        i >= ctx.length - 1 ? [t, { generateNext: { probabilities: true } }] as [Token, object] : t
      ),
    );
    let sum = 0;
    cont.forEach((t, j) => {
      const p = res[ctx.length - 1 + j]?.next?.probabilities?.get(t);
      sum += Math.log(p ?? 0);
    });
    out.push(sum);
  }
  return out;
}

/** One method, ready to score a task's items. */
interface Runner {
  method: Method;
  /** Score every item once; returns the seconds it took (llama-perplexity: its scoring time). */
  run: () => Promise<number>;
  /** Extra fields for the measurement, from the runs so far. */
  extra: () => Partial<Measurement>;
  /** Summed log-probs of the last run, per item and choice (tunebook and naive). */
  logprobs?: () => number[][];
  dispose?: () => Promise<void>;
}

/** The methods on one task's items (engines and contexts created, not yet run). */
async function createRunners(
  loaded: LoadedModel,
  items: BenchItem[],
  options: {
    threads: number;
    dir: string;
    task: string;
    binary: string;
    slow: boolean;
    /** The adapter and the merged model to compare (absent: skipped). */
    lora?: LoraModels;
  },
): Promise<Runner[]> {
  const { threads, dir, task, binary, slow, lora } = options;
  const runners: Runner[] = [];
  // (i), (ii): tunebook
  for (const [method, scorer] of TUNEBOOK_CONFIGS) {
    if (!slow && SLOW_METHODS.includes(method)) continue;
    runners.push(await engineRunner(method, loaded, items, { threads, scorer, lora: [] }));
  }
  // (iii): naive
  if (slow) runners.push(await naiveRunner(loaded, items, threads));
  // (iv): llama-perplexity
  runners.push(...perplexityRunners(loaded, items, join(dir, `${task}.bin`), { threads, binary }));
  // (v): the adapter at runtime and merged, next to each other in every round
  if (lora) {
    runners.push(
      await engineRunner("tunebook_lora", lora.mergedAtLoad, items, {
        threads,
        scorer: "batched",
        lora: [],
      }),
      await engineRunner("tunebook_lora_runtime", loaded, items, {
        threads,
        scorer: "batched",
        lora: [{ path: lora.lora }],
      }),
      await engineRunner("tunebook_merged", lora.merged, items, {
        threads,
        scorer: "batched",
        lora: [],
      }),
    );
  }
  return runners;
}

/** A LoRA adapter for a benchmark model and the model with it merged (loaded). */
interface LoraModels {
  /** The adapter's GGUF. */
  lora: string;
  /** The merged model (the trainer's exporter), loaded. */
  merged: LoadedModel;
  /** The model with the adapter merged at load as `deno task eval` does, loaded. */
  mergedAtLoad: LoadedModel;
  /** Seconds lib/llm/lora_merge.ts took to write that copy. */
  mergeSeconds: number;
  /** Where the copy was written (removed after the run). */
  mergeDir: string;
}

/** The adapter and merged model of `m` (written once into the benchmark model cache), loaded. */
async function loraModels(m: BenchModel): Promise<LoraModels> {
  let pair;
  try {
    pair = await randomLoraPair(m.path, { cacheDir: resolve(BENCH_MODEL_DIR) });
  } catch (e) {
    throw new Error(
      `${m.path}: no LoRA adapter and merged model for the LoRA measurement ` +
        `(${(e as Error).message.trim()}); pass --no-lora to skip it`,
    );
  }
  // written fresh into a folder of its own, so the merge's seconds are measured every run
  const mergeDir = mkdtempSync(join(tmpdir(), "tunebook-lora-merge-"));
  const t0 = performance.now();
  const atLoad = await mergeLora(m.path, [{ path: pair.lora }], { cacheDir: mergeDir });
  const mergeSeconds = (performance.now() - t0) / 1000;
  if (!("path" in atLoad)) throw new Error(`${m.path}: the adapter was not merged: ${atLoad.why}`);
  return {
    lora: pair.lora,
    merged: await loadModel(pair.merged, { gpu: false }),
    mergedAtLoad: await loadModel(atLoad.path, { gpu: false }),
    mergeSeconds,
    mergeDir,
  };
}

/**
 * tunebook's engine with `scorer` (and `lora` applied) as `method`, with as many questions in
 * flight as `deno task eval` keeps.
 */
async function engineRunner(
  method: Method,
  loaded: LoadedModel,
  items: BenchItem[],
  options: { threads: number; scorer: "batched" | "sequences"; lora: { path: string }[] },
): Promise<Runner> {
  const { threads, scorer, lora } = options;
  const engine = await LlmEngine.create(loaded, { sequences: SEQUENCES, threads, scorer, lora });
  const inFlight = scorer === "batched" ? BATCHED_IN_FLIGHT : SEQUENCES;
  let last: number[][] = [];
  const rates: number[] = [];
  let tokens = 0;
  let outputRows: number | undefined;
  const split: NonNullable<Measurement["split"]> = { decode: [], logits: [], holes: [] };
  return {
    method,
    run: async () => {
      const before = engine.tokensEvaluated;
      const rowsBefore = engine.outputRowsEvaluated;
      const splitBefore = engine.scorerSeconds;
      const t0 = performance.now();
      const s = await scoreAll(engine, items, inFlight);
      const seconds = (performance.now() - t0) / 1000;
      const splitAfter = engine.scorerSeconds;
      if (splitBefore && splitAfter) {
        for (const k of ["decode", "logits", "holes"] as const) {
          split[k].push(roundTo(splitAfter[k] - splitBefore[k], 4));
        }
      }
      tokens = engine.tokensEvaluated - before;
      outputRows = rowsBefore === undefined ? undefined : engine.outputRowsEvaluated! - rowsBefore;
      rates.push(tokens / seconds);
      last = s.map((x) => x.logprobs);
      return seconds;
    },
    extra: () => ({
      tokensEvaluated: tokens,
      outputRows,
      // The first run is the warm-up (and saves the holes once).
      split: split.decode.length
        ? {
          decode: split.decode.slice(1),
          logits: split.logits.slice(1),
          holes: split.holes.slice(1),
        }
        : undefined,
      promptTokensPerSecond: roundTo(median(rates.slice(1)), 1), // the first run is the warm-up
    }),
    logprobs: () => last,
    dispose: () => engine.dispose(),
  };
}

/** The naive scorer on one fresh 1-sequence context. */
async function naiveRunner(
  loaded: LoadedModel,
  items: BenchItem[],
  threads: number,
): Promise<Runner> {
  const context = await loaded.model.createContext({
    sequences: 1,
    contextSize: Math.min(loaded.model.trainContextSize || 4096, 4096),
    batchSize: 512,
    threads,
  });
  const seq = context.getSequence();
  let naive: number[][] = [];
  const rates: number[] = [];
  const naiveTokens = items.reduce(
    (n, it) =>
      n + it.choices.reduce(
        (m, c) => m + encodeText(loaded.model, it.context + " " + c, { eos: false }).length,
        0,
      ),
    0,
  );
  return {
    method: "naive",
    run: async () => {
      const t0 = performance.now();
      const out: number[][] = [];
      for (const it of items) out.push(await naiveScore(loaded, seq, it));
      const seconds = (performance.now() - t0) / 1000;
      naive = out;
      rates.push(naiveTokens / seconds);
      return seconds;
    },
    extra: () => ({
      tokensEvaluated: naiveTokens,
      promptTokensPerSecond: roundTo(median(rates.slice(1)), 1), // the first run is the warm-up
    }),
    logprobs: () => naive,
    dispose: () => context.dispose(),
  };
}

/** llama-perplexity --multiple-choice at each of {@linkcode PERPLEXITY_CONFIGS}. */
function perplexityRunners(
  loaded: LoadedModel,
  items: BenchItem[],
  file: string,
  options: { threads: number; binary: string },
): Runner[] {
  const { threads, binary } = options;
  const runners: Runner[] = [];
  writeMultipleChoiceTasks(file, items);
  for (const [method, parallel] of PERPLEXITY_CONFIGS) {
    const runs: PerplexityRun[] = [];
    const opts = { model: loaded.info.path, binary, threads, parallel };
    runners.push({
      method,
      run: async () => {
        // Its log file was seen (once in ~50 runs) to lack the final lines; such a run is retried.
        let r = await runLlamaPerplexity(file, opts);
        for (
          let retry = 0;
          retry < 2 && (r.scoringMs === undefined || r.correct.length !== items.length);
          retry++
        ) {
          r = await runLlamaPerplexity(file, opts);
        }
        if (r.scoringMs === undefined || r.correct.length !== items.length) {
          throw new Error(
            `llama-perplexity printed no timestamps or ${r.correct.length}/${items.length} ` +
              `task lines; see \`${r.command.join(" ")}\``,
          );
        }
        runs.push(r);
        return r.scoringMs / 1000;
      },
      extra: () => {
        const timed = runs.slice(1); // the first run is the warm-up
        return {
          medianWallSeconds: roundTo(median(timed.map((r) => r.wallSeconds)), 4),
          medianStartupSeconds: roundTo(median(timed.map((r) => r.startupMs! / 1000)), 4),
        };
      },
    });
  }
  return runners;
}

/** Naive and tunebook compute the same log-probs (up to f16 KV-cache batch-layout noise). */
function naiveCheck(task: string, runners: Runner[]): Record<string, unknown> {
  const ours = runners.find((r) => r.method === "tunebook")!.logprobs!();
  const naive = runners.find((r) => r.method === "naive")!.logprobs!();
  let maxDiff = 0;
  let samePred = 0;
  const am = (xs: number[]) => xs.indexOf(Math.max(...xs));
  naive.forEach((row, i) => {
    row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - ours[i][j]))));
    if (am(row) === am(ours[i])) samePred++;
  });
  return {
    task,
    check: "naive vs tunebook summed log-probs (f16 KV: batch layouts differ slightly)",
    maxAbsDiff: roundTo(maxDiff, 6),
    samePrediction: `${samePred}/${naive.length}`,
  };
}

/**
 * The adapter (merged at load, or at runtime) and the exporter's merged model compute the same
 * scores (up to f32/f16 rounding of W + BA).
 */
function loraCheck(
  task: string,
  runners: Runner[],
  method: "tunebook_lora" | "tunebook_lora_runtime",
): Record<string, unknown> {
  const lora = runners.find((r) => r.method === method)!.logprobs!();
  const merged = runners.find((r) => r.method === "tunebook_merged")!.logprobs!();
  let maxDiff = 0;
  let samePred = 0;
  const am = (xs: number[]) => xs.indexOf(Math.max(...xs));
  merged.forEach((row, i) => {
    row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - lora[i][j]))));
    if (am(row) === am(lora[i])) samePred++;
  });
  return {
    task,
    check: `LoRA ${
      method === "tunebook_lora" ? "merged at load" : "at runtime"
    } vs merged summed log-probs (merged weights rounded to their type)`,
    method,
    maxAbsDiff: roundTo(maxDiff, 6),
    samePrediction: `${samePred}/${merged.length}`,
  };
}

function machine(): Record<string, unknown> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1].split(" ") ?? [];
  return {
    nproc: navigator.hardwareConcurrency,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    simd: flags.filter((f) => /^(avx|avx2|avx512f|fma|f16c)$/.test(f)),
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    /** The libllama tunebook's batched paths ran on (node-llama-cpp's prebuilt, or TUNEBOOK_LIBLLAMA). */
    libllama: findLibllama(),
    /** 1/5/15-min load averages when the benchmark ended (other processes skew timings). */
    loadAverage: Deno.loadavg().map((x) => roundTo(x, 2)),
  };
}

const flags = {
  model: listFlag(
    "models: `tiny` (the bundled tiny model), `bench` (the benchmark model, " +
      "bench/bench_model.ts) or GGUF paths",
    { item: "model", default: ["tiny", "bench"] },
  ),
  tasks: listFlag("multiple-choice tasks", { item: "task name", default: BENCH_TASKS }),
  repeats: integerFlag("timed runs of each method (after one untimed warm-up)", {
    min: 1,
    default: 3,
  }),
  threads: integerFlag("threads of every method", { min: 1, default: BENCH_THREADS }),
  perplexity: stringFlag("llama-perplexity binary (bash scripts/build_llama_tools.sh)", {
    placeholder: "PATH",
    default: DEFAULT_PERPLEXITY,
  }),
  "llama-bench": stringFlag("llama-bench binary, the prompt-processing reference", {
    placeholder: "PATH",
    default: DEFAULT_LLAMA_BENCH,
  }),
  "no-llama-bench": booleanFlag("skip the llama-bench prompt-processing reference"),
  "llama-server": stringFlag("llama-server binary, the generate_until anchor", {
    placeholder: "PATH",
    default: ".cache/llama-build/bin/llama-server",
  }),
  "no-generation": booleanFlag(`skip the generate_until measurement (${GENERATION_TASK})`),
  "no-lora": booleanFlag(
    "skip the LoRA adapter vs merged model measurement (tunebook_lora, tunebook_lora_runtime, tunebook_merged)",
  ),
  "all-methods": booleanFlag(
    `run ${SLOW_METHODS.join(" and ")} on every model (default: on the tiny model only)`,
  ),
  out: stringFlag("output folder", { placeholder: "DIR", default: "results/bench" }),
  name: stringFlag("output files are DIR/NAME.json and DIR/NAME.md", {
    placeholder: "NAME",
    default: "eval",
  }),
  limit: integerFlag("items per task (the first ones)", { min: 1, defaultText: "every test item" }),
};

/** `deno task bench:eval`. */
export const command = defineCommand({
  name: "bench:eval",
  summary: "Multiple-choice scoring throughput (items/s) of tunebook's batched scorer, its " +
    "node-llama-cpp sequences scorer, a naive one-evaluation-per-choice loop and " +
    "llama-perplexity --multiple-choice, on the same model and items, on the tiny model and " +
    "the benchmark model, and with a LoRA adapter vs the same weights merged, with " +
    "llama-bench's prompt tokens/s as the physical reference; writes DIR/NAME.json and " +
    "DIR/NAME.md. Targets: tunebook ≥ 5× naive, ≥ 0.8× llama-perplexity and ≥ 0.9× " +
    "llama-bench's prompt tokens/s, LoRA ≥ 0.9× merged.",
  flags,
  run: ({ values, given }) => main(values, given),
});

/** One model's measurements, ratios, targets and checks. */
interface ModelResult {
  label: string;
  model: { path: string; sha256: string; bytes: number; parameters?: number };
  measurements: Measurement[];
  ratios: { task: string; rows: Ratios[] }[];
  targets: Record<string, unknown>[];
  checks: Record<string, unknown>[];
  /** llama-bench's prompt tokens/s on each task's rounds (absent with --no-llama-bench). */
  llamaBench?: LlamaBenchMeasurement[];
  /** The adapter vs the merged model, per task (absent with --no-lora). */
  lora?: {
    adapter: string;
    merged: string;
    /** Seconds the merge at load took (written fresh). */
    mergeSeconds: number;
    tasks: { task: string; ratio: number; runtimeRatio: number }[];
  };
  /** generate_until: every method on the same prompts (absent with --no-generation). */
  generation?: GenerationResult;
}

/** One method's ratios on one task (null where the other method did not run). */
interface Ratios {
  method: Method;
  vsNaive: number | null;
  vsPerplexityNp4: number;
  vsPerplexityBest: number;
  /** Prompt tokens/s over llama-bench's (null without a token count or llama-bench). */
  vsLlamaBench: number | null;
  /**
   * Prompt tokens/s over the rate llama-bench's implies for the same tokens and rows of logits
   * (its pp time plus the measured output layer per row; null where rows are not counted).
   */
  vsLlamaBenchWithOutputLayer: number | null;
}

/**
 * The most `× llama-bench pp` a scorer asking for the measured rows of logits per token could
 * reach if it spent no time outside llama-bench's prompt processing and the output layer.
 */
function ceiling(
  x: { outputRows?: number | null; tokensEvaluated?: number | null } | undefined,
  b: { tokensPerSecond: number; outputLayer: { secondsPerRow: number } },
): string {
  if (!x?.outputRows || !x.tokensEvaluated) return "";
  const most = referenceRate(
    x.tokensEvaluated,
    x.outputRows,
    b.tokensPerSecond,
    b.outputLayer.secondsPerRow,
  ) / b.tokensPerSecond;
  const perToken = x.outputRows / x.tokensEvaluated;
  return ` With tunebook's ${roundTo(perToken, 3)} rows per token, time spent on nothing else ` +
    `would reach at most **${
      roundTo(most, 2)
    }×** llama-bench pp (target ${TARGET_VS_LLAMA_BENCH}).`;
}

async function main(
  values: FlagValues<typeof flags>,
  given: ReadonlySet<string>,
): Promise<number> {
  const loadAtStart = Deno.loadavg().map((x) => roundTo(x, 2));
  const models = await resolveBenchModels(values.model);
  const results: ModelResult[] = [];
  for (const m of models) {
    results.push(
      await benchModelScoring(m, values, values["all-methods"] || m.label === "tiny"),
    );
  }
  const result = {
    created: new Date().toISOString(),
    command: benchCommandLine("bench:eval", values, given),
    machine: { ...machine(), loadAverageAtStart: loadAtStart },
    settings: {
      threads: values.threads,
      repeats: values.repeats,
      warmupRuns: 1,
      kv: "f16",
      sequences: SEQUENCES,
      llamaPerplexityTime:
        "its log timestamps from `there are N tasks in prompt` to `Final result` (no load/warm-up)",
      llamaBench: values["no-llama-bench"] ? null : {
        promptTokens: LLAMA_BENCH_PROMPT_TOKENS,
        run: `one process per round: -p ${LLAMA_BENCH_PROMPT_TOKENS} -n 0 -b/-ub ` +
          `${LLAMA_BENCH_PROMPT_TOKENS} -r 1 (after its own warm-up run), f16 KV, -ngl 0`,
        tokensCounted: "tokens decoded (tunebook: the engine's tokensEvaluated, padding to a " +
          "decode's minimum included; holes are not decoded)",
      },
    },
    methods: { ...DESCRIPTIONS, ...GENERATION_DESCRIPTIONS },
    models: results,
  };
  mkdirSync(values.out, { recursive: true });
  const base = resolve(values.out, values.name);
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + "\n");
  writeFileSync(`${base}.md`, markdown(result));
  console.log(`wrote ${base}.json and ${base}.md`);
  return 0;
}

/** Every method on every task for one model, methods taking turns within each round. */
async function benchModelScoring(
  m: BenchModel,
  values: FlagValues<typeof flags>,
  slow: boolean,
): Promise<ModelResult> {
  const { repeats, threads } = values;
  const loaded = await loadModel(m.path, { gpu: false });
  const measurements: Measurement[] = [];
  const checks: Record<string, unknown>[] = [];
  const dir = mkdtempSync(join(tmpdir(), "tunebook-evalbench-"));
  let generation: GenerationResult | undefined;
  const llamaBench: LlamaBenchMeasurement[] = [];
  const lora = values["no-lora"] ? undefined : await loraModels(m);
  const record = (
    r: Omit<Measurement, "medianSeconds" | "itemsPerSecond" | "itemsPerSecondBest">,
  ) => {
    const med = median(r.seconds);
    const full = {
      ...r,
      medianSeconds: roundTo(med, 4),
      itemsPerSecond: roundTo(r.items / med, 1),
      itemsPerSecondBest: roundTo(r.items / Math.min(...r.seconds), 1),
    };
    full.seconds = full.seconds.map((s) => roundTo(s, 4));
    measurements.push(full);
    console.log(
      `${m.label} ${r.task} ${r.method}: ${full.itemsPerSecond} items/s ` +
        `(median ${full.medianSeconds} s)`,
    );
  };
  try {
    for (const task of values.tasks) {
      const items = await loadBenchItems(task, values.limit);
      const runners = await createRunners(loaded, items, {
        threads,
        dir,
        task,
        binary: values.perplexity,
        slow,
        lora,
      });
      try {
        // One untimed warm-up each, then the repeats round-robin, so that a slow spell of the
        // machine hits every method alike.
        for (const r of runners) await r.run();
        const seconds = new Map<Method, number[]>(runners.map((r) => [r.method, []]));
        const pp: LlamaBenchRun[] = [];
        const outputLayer: OutputLayerCost[] = [];
        for (let rep = 0; rep < repeats; rep++) {
          for (const r of runners) seconds.get(r.method)!.push(await r.run());
          if (!values["no-llama-bench"]) {
            pp.push(
              await runLlamaBench({
                model: loaded.info.path,
                binary: values["llama-bench"],
                threads,
              }),
            );
            outputLayer.push(await measureOutputLayer(loaded.info.path, threads));
          }
        }
        if (pp.length) {
          const m: LlamaBenchMeasurement = {
            task,
            promptTokens: pp[0].test.promptTokens,
            rounds: pp.map((r) => roundTo(r.medianTokensPerSecond, 1)),
            tokensPerSecond: roundTo(median(pp.map((r) => r.medianTokensPerSecond)), 1),
            command: pp.at(-1)!.command.join(" "),
            outputLayer: {
              secondsPerRow: median(outputLayer.map((o) => o.secondsPerRow)),
              rounds: outputLayer.map((o) => o.secondsPerRow),
              decodes: outputLayer,
            },
          };
          llamaBench.push(m);
          console.log(`${m.task} llama-bench pp${m.promptTokens}: ${m.tokensPerSecond} tokens/s`);
        }
        for (const r of runners) {
          record({
            method: r.method,
            task,
            items: items.length,
            seconds: seconds.get(r.method)!,
            ...r.extra(),
          });
        }
        if (slow) checks.push(naiveCheck(task, runners));
        if (lora) {
          checks.push(loraCheck(task, runners, "tunebook_lora"));
          checks.push(loraCheck(task, runners, "tunebook_lora_runtime"));
        }
      } finally {
        for (const r of runners) await r.dispose?.();
      }
    }
    if (!values["no-generation"]) {
      generation = await benchGeneration(loaded, {
        limit: values.limit,
        repeats: values.repeats,
        llamaServer: values["llama-server"],
      }, slow);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await loaded.model.dispose();
    await lora?.merged.model.dispose();
    await lora?.mergedAtLoad.model.dispose();
    if (lora) rmSync(lora.mergeDir, { recursive: true, force: true });
  }

  const speed = (task: string, method: Method) =>
    measurements.find((x) => x.task === task && x.method === method)?.itemsPerSecond;
  const promptRate = (task: string, method: Method) =>
    measurements.find((x) => x.task === task && x.method === method)?.promptTokensPerSecond;
  const ratios = values.tasks.map((task) => {
    const np4 = speed(task, "llama_perplexity_np4")!;
    const best = Math.max(np4, speed(task, "llama_perplexity_np32")!);
    const naive = speed(task, "naive");
    const bench = llamaBench.find((x) => x.task === task);
    const pp = bench?.tokensPerSecond;
    const withOutput = (method: Method) => {
      const x = measurements.find((y) => y.task === task && y.method === method);
      if (!bench || !x?.outputRows || !x.tokensEvaluated || !x.promptTokensPerSecond) return null;
      const ref = referenceRate(
        x.tokensEvaluated,
        x.outputRows,
        bench.tokensPerSecond,
        bench.outputLayer.secondsPerRow,
      );
      return roundTo(x.promptTokensPerSecond / ref, 2);
    };
    const rows = METHODS.filter((method) => speed(task, method) !== undefined).map(
      (method): Ratios => ({
        method,
        vsNaive: naive === undefined ? null : roundTo(speed(task, method)! / naive, 2),
        vsPerplexityNp4: roundTo(speed(task, method)! / np4, 2),
        vsPerplexityBest: roundTo(speed(task, method)! / best, 2),
        vsLlamaBench: pp === undefined || promptRate(task, method) === undefined
          ? null
          : roundTo(promptRate(task, method)! / pp, 2),
        vsLlamaBenchWithOutputLayer: withOutput(method),
      }),
    );
    return { task, rows };
  });
  const loraRatio = (task: string, method: Method = "tunebook_lora") =>
    roundTo(speed(task, method)! / speed(task, "tunebook_merged")!, 2);
  const targets = values.tasks.map((task) => {
    const r = ratios.find((x) => x.task === task)!.rows.find((x) => x.method === "tunebook")!;
    const target = (ratio: number | null, goal: number) =>
      ratio === null ? null : { ratio, target: goal, met: ratio >= goal };
    return {
      task,
      vsNaive: target(r.vsNaive, TARGET_VS_NAIVE),
      vsPerplexityBest: target(r.vsPerplexityBest, TARGET_VS_PERPLEXITY),
      vsPerplexityNp4: target(r.vsPerplexityNp4, TARGET_VS_PERPLEXITY),
      vsLlamaBench: target(r.vsLlamaBench, TARGET_VS_LLAMA_BENCH),
      vsLlamaBenchWithOutputLayer: target(r.vsLlamaBenchWithOutputLayer, TARGET_VS_LLAMA_BENCH),
      loraVsMerged: lora ? target(loraRatio(task), TARGET_LORA_VS_MERGED) : null,
    };
  });
  return {
    label: m.label,
    model: {
      path: loaded.info.path,
      sha256: loaded.info.sha256,
      bytes: loaded.info.bytes,
      parameters: loaded.info.parameters,
    },
    measurements,
    ratios,
    targets,
    checks,
    llamaBench: values["no-llama-bench"] ? undefined : llamaBench,
    lora: lora && {
      adapter: lora.lora,
      merged: lora.merged.info.path,
      mergeSeconds: roundTo(lora.mergeSeconds, 3),
      tasks: values.tasks.map((task) => ({
        task,
        ratio: loraRatio(task),
        runtimeRatio: loraRatio(task, "tunebook_lora_runtime"),
      })),
    },
    generation,
  };
}

function markdown(
  r: {
    created: string;
    command: string;
    machine: Record<string, unknown>;
    settings: { threads: number; repeats: number };
    models: ModelResult[];
  },
): string {
  const lines = [
    "# Multiple-choice scoring throughput",
    "",
    `${r.created} · ${r.machine.cpuModel} · nproc ${r.machine.nproc} · ${r.settings.threads} threads · ` +
    `median of ${r.settings.repeats} alternating rounds (after 1 warm-up) · load average ` +
    `${(r.machine.loadAverageAtStart as number[]).join("/")} at start, ` +
    `${(r.machine.loadAverage as number[]).join("/")} at end · tunebook's libllama ` +
    `\`${r.machine.libllama}\` · command \`${r.command}\``,
    "",
  ];
  for (const m of r.models) {
    lines.push(
      `## ${m.label} (\`${m.model.path.split("/").pop()}\`, ${
        m.model.parameters ? `${(m.model.parameters / 1e6).toFixed(1)}M parameters, ` : ""
      }sha256 ${m.model.sha256.slice(0, 12)})`,
      "",
      "| task | method | items/s (median) | items/s (best) | × naive | × llama-perplexity -np 4 | × llama-perplexity best | prompt tokens/s | × llama-bench pp | logits rows / token | × llama-bench pp + output layer | rounds (s) |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    );
    for (const { task, rows } of m.ratios) {
      for (const row of rows) {
        const x = m.measurements.find((y) => y.task === task && y.method === row.method)!;
        lines.push(
          `| ${task} | ${row.method} | ${x.itemsPerSecond} | ${x.itemsPerSecondBest} | ${
            row.vsNaive ?? "—"
          } | ${row.vsPerplexityNp4} | ${row.vsPerplexityBest} | ${
            x.promptTokensPerSecond ?? "—"
          } | ${row.vsLlamaBench ?? "—"} | ${
            x.outputRows && x.tokensEvaluated ? roundTo(x.outputRows / x.tokensEvaluated, 3) : "—"
          } | ${row.vsLlamaBenchWithOutputLayer ?? "—"} | ${x.seconds.join(", ")} |`,
        );
      }
    }
    lines.push("");
    for (const b of m.llamaBench ?? []) {
      lines.push(
        `llama-bench on ${b.task}'s rounds (pp${b.promptTokens}, ${r.settings.threads} ` +
          `threads, one process per round): median **${b.tokensPerSecond}** tokens/s, rounds ` +
          `${b.rounds.join(", ")} (\`${b.command}\`). Output layer, same rounds: ` +
          `**${roundTo(b.outputLayer.secondsPerRow * 1e6, 1)} µs** per row of logits (median; ` +
          `rounds ${
            b.outputLayer.rounds.map((x) => roundTo(x * 1e6, 1)).join(", ")
          } µs), against ` +
          `${roundTo((1 / b.tokensPerSecond) * 1e6, 1)} µs per token of llama-bench's pp.` +
          ceiling(m.measurements.find((x) => x.task === b.task && x.method === "tunebook"), b),
        "",
      );
    }
    const splits = m.measurements.filter((x) => x.method === "tunebook" && x.split);
    if (splits.length) {
      lines.push(
        "Where the `tunebook` rounds' time goes (medians over the rounds, seconds): " +
          splits.map((x) => {
            const d = median(x.split!.decode), g = median(x.split!.logits);
            const h = median(x.split!.holes), t = x.medianSeconds;
            const pc = (v: number) => `${roundTo((100 * v) / t, 0)}%`;
            return `${x.task}: ${t} per round — llama_decode ${roundTo(d, 3)} (${pc(d)}), ` +
              `reading logits rows in JavaScript ${roundTo(g, 3)} (${pc(g)}), holes ` +
              `${roundTo(h, 3)} (${pc(h)}), the rest ${roundTo(Math.max(0, t - d - g - h), 3)}`;
          }).join("; ") + ".",
        "",
      );
    }
    if (m.lora) {
      lines.push(
        `LoRA adapter (r 8, every block's q/k/v/o and gate/up/down weights) as \`deno task eval ` +
          `--lora\` applies it — merged into a copy of the weights at load, ` +
          `${m.lora.mergeSeconds} s once — / the same weights merged by the exporter, items/s: ${
            m.lora.tasks.map((t) => `${t.task} **${t.ratio}**`).join(", ")
          } (target ≥ ${TARGET_LORA_VS_MERGED}); applied at runtime instead (quantized bases, ` +
          `\`--lora-mode runtime\`): ${
            m.lora.tasks.map((t) => `${t.task} ${t.runtimeRatio}`).join(", ")
          }. ${
            m.checks.filter((c) => String(c.check).startsWith("LoRA")).map((c) =>
              `${c.task} (${
                c.method === "tunebook_lora" ? "merged at load" : "runtime"
              }): same prediction on ${c.samePrediction}, scores within ${c.maxAbsDiff}`
            ).join("; ")
          }.`,
        "",
      );
    }
    const g = m.generation;
    if (g) {
      lines.push(
        `generate_until (\`${g.task}\`, ${g.sequences} parallel sequences, every item in ` +
          `flight, ${GENERATION_THREADS} compute thread): tunebook / llama-server items/s **${g.ratioVsLlamaServer}**; greedy texts ` +
          `equal to llama-server's on ${g.sameTextAsLlamaServer} items${
            g.sameTextAsSequences
              ? `, to node-llama-cpp sequences' on ${g.sameTextAsSequences}`
              : ""
          }. Failed items count in items/s: llama-server generates them, then its output ` +
          `parser answers 500.`,
        "",
        "| method | items/s (median) | generated tokens/s | rounds (s) | failed items (all rounds) |",
        "|---|---:|---:|---|---:|",
        ...g.measurements.map((x) =>
          `| ${x.method} | ${x.itemsPerSecond} | ${x.tokensPerSecond} | ${
            x.seconds.join(", ")
          } | ${x.failedItems}${x.firstError ? ` (\`${x.firstError}\`)` : ""} |`
        ),
        "",
      );
    }
  }
  lines.push(
    "llama-perplexity: time from its log timestamps, `there are N tasks in prompt` to " +
      "`Final result` (task reading, tokenization, scoring; no model load or warm-up). " +
      `${SLOW_METHODS.join(" and ")} run on the tiny model only (minutes per run on the ` +
      "benchmark model); `—`: not run. Prompt tokens/s: tokens decoded (tunebook: the engine's " +
      "`tokensEvaluated`, padding to a decode's minimum included, holes not decoded; naive: " +
      "context + choice tokens per choice) " +
      "over the round's seconds, median of the rounds; × llama-bench pp: over llama-bench's " +
      `prompt-processing tokens/s (-p ${LLAMA_BENCH_PROMPT_TOKENS} -n 0, same model and threads), ` +
      "which computes one row of logits per decode; logits rows / token: the scorer's rows of " +
      "logits (one per scored position, at least 2 per decode) over its decoded tokens; × " +
      "llama-bench pp + output layer: over the rate llama-bench's implies for the same tokens " +
      "and rows — tokens / (tokens / its pp tokens/s + rows × the output layer's seconds per " +
      "row), that cost measured each round through tunebook's libllama (bench/_output_layer.ts: " +
      "a 512-token decode asking for every row against the same decode asking for 2).",
    "Methods: " + METHODS.map((m) => `\`${m}\`: ${DESCRIPTIONS[m]}`).join("; ") + "; " +
      GENERATION_METHODS.map((m) => `\`${m}\`: ${GENERATION_DESCRIPTIONS[m]}`).join("; ") + ".",
    "",
  );
  return lines.join("\n");
}

if (import.meta.main) await runCommand(command);
