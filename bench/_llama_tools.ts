/**
 * Private to bench/ (not a command): llama.cpp's command-line tools as the benchmarks' anchors,
 * run one way
 * ({@linkcode runLlamaTool}: a missing binary says how to build it, a failed run shows its
 * output): `llama-perplexity --multiple-choice` ({@linkcode runLlamaPerplexity}) and
 * `llama-bench`'s prompt-processing test ({@linkcode runLlamaBench}, its JSON read by
 * {@linkcode parseLlamaBenchJson}). Both binaries come from `bash scripts/build_llama_tools.sh`
 * (the llama.cpp node-llama-cpp bundles). llama-server, a long-running process, is started by
 * lib/serve/server_process.ts's `spawnLlamaServer` instead.
 *
 * @example
 * ```ts ignore
 * import { runLlamaBench } from "./_llama_tools.ts";
 * const pp = await runLlamaBench({ model: "data/models/tiny/tiny-f32.gguf", threads: 2 });
 * console.log(pp.medianTokensPerSecond);
 * ```
 * @module
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "simple-statistics";
import { parsePerplexityOutput, type PerplexityReport } from "../lib/eval/_mc_binary.ts";

/** Where scripts/build_llama_tools.sh puts llama-perplexity. */
export const DEFAULT_PERPLEXITY = ".cache/llama-build/bin/llama-perplexity";
/** Where scripts/build_llama_tools.sh puts llama-bench. */
export const DEFAULT_LLAMA_BENCH = ".cache/llama-build/bin/llama-bench";
/**
 * Prompt tokens of llama-bench's prompt-processing test (`-p`, also its `-b` and `-ub`: one
 * decode, as the batched scorer decodes up to its whole batch at once). Default of
 * {@linkcode LlamaBenchOptions.promptTokens}.
 */
export const LLAMA_BENCH_PROMPT_TOKENS = 512;

/** Options for {@linkcode runLlamaTool}. */
export interface LlamaToolOptions {
  /** The flag that names the binary, for the "not found" message (e.g. "--perplexity"). */
  flag: string;
  /** Keep stdout (else it is discarded). Default: false. */
  stdout?: boolean;
  /** More text for the failure message (e.g. the tail of a log file). Default: none. */
  failureDetail?: () => string;
}

/** A finished run of a llama.cpp tool. */
export interface LlamaToolRun {
  /** Its stdout ("" unless {@linkcode LlamaToolOptions.stdout}). */
  stdout: string;
  /** Wall time of the process, in seconds. */
  wallSeconds: number;
  /** The command line. */
  command: string[];
}

/**
 * Run a llama.cpp tool to completion. Throws when the binary cannot be started (saying how to
 * build it, or which flag points at it) and when it exits non-zero (with its command line and
 * the end of its stderr).
 *
 * @example
 * ```ts ignore
 * const run = await runLlamaTool(DEFAULT_LLAMA_BENCH, ["--help"], { flag: "--llama-bench", stdout: true });
 * ```
 */
export async function runLlamaTool(
  binary: string,
  args: string[],
  options: LlamaToolOptions,
): Promise<LlamaToolRun> {
  const t0 = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(binary, {
      args,
      stdout: options.stdout ? "piped" : "null",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new Error(
      `could not run ${binary} (${(e as Error).message}); build it with ` +
        `\`bash scripts/build_llama_tools.sh\` or pass its path with ${options.flag}`,
    );
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  if (!out.success) {
    throw new Error(
      `${binary} ${args.join(" ")} exited with ${out.code}:\n` +
        `${new TextDecoder().decode(out.stderr).slice(-2000)}\n` +
        (options.failureDetail?.() ?? ""),
    );
  }
  const stdout = options.stdout ? new TextDecoder().decode(out.stdout) : "";
  return { stdout, wallSeconds, command: [binary, ...args] };
}

/** Options for {@linkcode runLlamaPerplexity}. */
export interface PerplexityRunOptions {
  /** GGUF model. */
  model: string;
  /** llama-perplexity binary. Default: {@linkcode DEFAULT_PERPLEXITY}. */
  binary?: string;
  /** Threads (-t and -tb). Required: every method of a benchmark runs the same number. */
  threads: number;
  /** Parallel sequences (-np; ≥ the choices per item; 4 × tasks per decode). Default: 32. */
  parallel?: number;
  /** Tokens per sequence (-c; the context is parallel × this). Default: 512. */
  ctxPerSequence?: number;
  /** KV cache type (-ctk/-ctv). Default: "f16" (llama.cpp's default). */
  kv?: "f16" | "f32";
}

/** A finished llama-perplexity run. */
export interface PerplexityRun extends PerplexityReport {
  /** Wall time of the process, in seconds. */
  wallSeconds: number;
  /** The command line. */
  command: string[];
}

/** Run `llama-perplexity --multiple-choice` on a task file; throws with its output on failure. */
export async function runLlamaPerplexity(
  taskFile: string,
  options: PerplexityRunOptions,
): Promise<PerplexityRun> {
  const {
    model,
    binary = DEFAULT_PERPLEXITY,
    threads,
    parallel = 32,
    ctxPerSequence = 512,
    kv = "f16",
  } = options;
  // Its log goes to a file: through Deno's (non-blocking) pipes, llama.cpp's stdio logging was
  // seen to drop or repeat the last task lines.
  const logDir = mkdtempSync(join(tmpdir(), "tunebook-perplexity-"));
  const logFile = join(logDir, "log.txt");
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const args = [
    "-m",
    model,
    "--multiple-choice",
    "-bf",
    taskFile,
    "-t",
    String(threads),
    "-tb",
    String(threads),
    "-np",
    String(parallel),
    "-c",
    String(ctxPerSequence),
    "-ctk",
    kv,
    "-ctv",
    kv,
    "-ngl",
    "0",
    "--log-file",
    logFile,
  ];
  try {
    const run = await runLlamaTool(binary, args, {
      flag: "--perplexity",
      failureDetail: () => readLog().slice(-2000),
    });
    return {
      ...parsePerplexityOutput(readLog()),
      wallSeconds: run.wallSeconds,
      command: run.command,
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** One test of llama-bench's JSON output (`-o json`), the fields the benchmarks read. */
export interface LlamaBenchTest {
  /** Prompt tokens (`n_prompt`); 0 for a generation-only test. */
  promptTokens: number;
  /** Generated tokens (`n_gen`); 0 for a prompt-processing test. */
  generatedTokens: number;
  /** Threads (`n_threads`). */
  threads: number;
  /** Logical and physical batch sizes (`n_batch`, `n_ubatch`). */
  batch: number;
  ubatch: number;
  /** KV cache types (`type_k`, `type_v`). */
  typeK: string;
  typeV: string;
  /** The model file and its parameter count (`model_filename`, `model_n_params`). */
  modelFilename: string;
  modelParameters: number;
  /** llama.cpp's commit (`build_commit`). */
  buildCommit: string;
  /** Mean tokens/s over the repetitions and its standard deviation (`avg_ts`, `stddev_ts`). */
  avgTokensPerSecond: number;
  stddevTokensPerSecond: number;
  /** Tokens/s of each repetition (`samples_ts`). */
  samplesTokensPerSecond: number[];
  /** Seconds of each repetition (`samples_ns` / 1e9). */
  samplesSeconds: number[];
}

/**
 * Read llama-bench's `-o json` output: an array of tests. Throws, naming the test and the field,
 * when the text is not that (another `-o` format, a truncated run, a llama-bench that renamed a
 * field).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLlamaBenchJson } from "./_llama_tools.ts";
 * const [t] = parseLlamaBenchJson(JSON.stringify([{
 *   n_prompt: 512, n_gen: 0, n_threads: 2, n_batch: 512, n_ubatch: 512, type_k: "f16",
 *   type_v: "f16", model_filename: "m.gguf", model_n_params: 1e6, build_commit: "abc",
 *   avg_ts: 1000, stddev_ts: 10, samples_ts: [990, 1010], samples_ns: [517171717, 506930693],
 * }]));
 * assert.equal(t.avgTokensPerSecond, 1000);
 * assert.deepEqual(t.samplesTokensPerSecond, [990, 1010]);
 * ```
 */
export function parseLlamaBenchJson(text: string, source = "llama-bench output"): LlamaBenchTest[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${source} is not JSON (${(e as Error).message}; it starts ${
        JSON.stringify(text.slice(0, 80))
      }); run llama-bench with -o json`,
    );
  }
  if (!Array.isArray(data) || data.length === 0) {
    throw new Error(`${source}: expected a non-empty array of tests (llama-bench -o json)`);
  }
  return data.map((raw, i) => {
    const where = `${source}: test ${i}`;
    if (typeof raw !== "object" || raw === null) throw new Error(`${where} is not an object`);
    const t = raw as Record<string, unknown>;
    const num = (key: string): number => {
      const v = t[key];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new Error(`${where}: "${key}" is ${JSON.stringify(v)}, expected a number`);
      }
      return v;
    };
    const str = (key: string): string => {
      const v = t[key];
      if (typeof v !== "string") {
        throw new Error(`${where}: "${key}" is ${JSON.stringify(v)}, expected a string`);
      }
      return v;
    };
    const nums = (key: string): number[] => {
      const v = t[key];
      if (!Array.isArray(v) || !v.length || v.some((x) => typeof x !== "number")) {
        throw new Error(`${where}: "${key}" is ${JSON.stringify(v)}, expected numbers`);
      }
      return v as number[];
    };
    return {
      promptTokens: num("n_prompt"),
      generatedTokens: num("n_gen"),
      threads: num("n_threads"),
      batch: num("n_batch"),
      ubatch: num("n_ubatch"),
      typeK: str("type_k"),
      typeV: str("type_v"),
      modelFilename: str("model_filename"),
      modelParameters: num("model_n_params"),
      buildCommit: str("build_commit"),
      avgTokensPerSecond: num("avg_ts"),
      stddevTokensPerSecond: num("stddev_ts"),
      samplesTokensPerSecond: nums("samples_ts"),
      samplesSeconds: nums("samples_ns").map((ns) => ns / 1e9),
    };
  });
}

/** Options for {@linkcode runLlamaBench}. */
export interface LlamaBenchOptions {
  /** GGUF model. */
  model: string;
  /** llama-bench binary. Default: {@linkcode DEFAULT_LLAMA_BENCH}. */
  binary?: string;
  /** Threads (-t). Required: every method of a benchmark runs the same number. */
  threads: number;
  /** Prompt tokens of the test (-p, -b, -ub). Default: {@linkcode LLAMA_BENCH_PROMPT_TOKENS}. */
  promptTokens?: number;
  /** Timed repetitions (-r), after llama-bench's own untimed warm-up run. Default: 1. */
  repetitions?: number;
  /** KV cache type (-ctk/-ctv). Default: "f16" (llama.cpp's default). */
  kv?: "f16" | "f32";
}

/** A finished llama-bench prompt-processing run. */
export interface LlamaBenchRun {
  /** Its one test (prompt processing, no generation). */
  test: LlamaBenchTest;
  /** Median of the repetitions' tokens/s. */
  medianTokensPerSecond: number;
  /** Wall time of the process (model load included), in seconds. */
  wallSeconds: number;
  /** The command line. */
  command: string[];
}

/**
 * Run llama-bench's prompt-processing test on CPU (`-p N -n 0`, one decode of N tokens per
 * repetition) and read its tokens/s. Throws when it fails or reports anything but that one test.
 */
export async function runLlamaBench(options: LlamaBenchOptions): Promise<LlamaBenchRun> {
  const {
    model,
    binary = DEFAULT_LLAMA_BENCH,
    threads,
    promptTokens = LLAMA_BENCH_PROMPT_TOKENS,
    repetitions = 1,
    kv = "f16",
  } = options;
  const p = String(promptTokens);
  const args = [
    "-m",
    model,
    "-p",
    p,
    "-n",
    "0",
    "-b",
    p,
    "-ub",
    p,
    "-t",
    String(threads),
    "-r",
    String(repetitions),
    "-ctk",
    kv,
    "-ctv",
    kv,
    "-ngl",
    "0",
    "-o",
    "json",
  ];
  const run = await runLlamaTool(binary, args, { flag: "--llama-bench", stdout: true });
  const tests = parseLlamaBenchJson(run.stdout, `\`${run.command.join(" ")}\``);
  if (tests.length !== 1 || tests[0].promptTokens !== promptTokens || tests[0].generatedTokens) {
    throw new Error(
      `\`${run.command.join(" ")}\` reported ${tests.length} test(s) ` +
        `(${tests.map((t) => `pp${t.promptTokens}+tg${t.generatedTokens}`).join(", ")}); ` +
        `expected one prompt-processing test of ${promptTokens} tokens`,
    );
  }
  return {
    test: tests[0],
    medianTokensPerSecond: median(tests[0].samplesTokensPerSecond),
    wallSeconds: run.wallSeconds,
    command: run.command,
  };
}
