/**
 * The benchmark model: a random-weight llama of a realistic shape (512 hidden, 8 layers, 8 heads,
 * feed-forward 1536, f16, output tied to the 32,000-token embedding) around llama.cpp's own
 * SentencePiece vocabulary (`.cache/llama.cpp/models/ggml-vocab-llama-spm.gguf`), written by
 * python/tunebook/random_model.py at benchmark time and cached under `.cache/bench-models/` (never
 * committed; a changed writer or shape makes a new file). On it compute dominates, where on the
 * 1.3M-parameter tiny model per-call overhead does, so every `bench:*` with a `--model` flag runs
 * both by default ({@linkcode resolveBenchModels}).
 *
 *   deno task build:bench-model        # writes it (if missing) and prints its path
 *
 * @module
 */
import { resolve } from "node:path";
import { DEFAULT_MODEL } from "../lib/llm/model.ts";
import { defineCommand, runCommand } from "../lib/cli/_command.ts";
import { randomModel } from "../tests/model/_random_models.ts";

/** Where the benchmark model is cached. */
export const BENCH_MODEL_DIR = ".cache/bench-models";

/**
 * The shape, as random_model.py's flags: 8 × (4 × 512² + 3 × 512 × 1536) + 32,000 × 512 ≈ 43.6M
 * stored parameters (≈ 60M counting the tied output projection, which every token computes).
 */
export const BENCH_MODEL_ARGS = [
  "--arch",
  "llama",
  "--hidden",
  "512",
  "--layers",
  "8",
  "--heads",
  "8",
  "--kv-heads",
  "8",
  "--ff",
  "1536",
  "--ctx",
  "4096",
  "--type",
  "f16",
  "--seed",
  "14",
];

/**
 * libllama compiled for this CPU from the bundled llama.cpp source, as the anchors (llama-server,
 * llama-perplexity, llama-bench) are: scripts/build_llama_tools.sh writes it. Benchmarks measure
 * tunebook on it (`TUNEBOOK_LIBLLAMA`) beside node-llama-cpp's prebuilt one when it exists.
 */
export const NATIVE_LIBLLAMA = ".cache/llama-build/shared/bin/libllama.so";

/** The names `--model` accepts besides a GGUF path. */
export const MODEL_ALIASES = ["tiny", "bench"] as const;

/** The benchmark model's path, written first when `.cache/bench-models/` does not hold it. */
export async function benchModel(): Promise<string> {
  return await randomModel({
    vocab: "llama-spm",
    arch: "llama",
    args: BENCH_MODEL_ARGS.slice(2),
    cacheDir: resolve(BENCH_MODEL_DIR),
    name: "bench-llama-512x8-f16",
  });
}

/** A model a benchmark runs on: its label in results and its GGUF path. */
export interface BenchModel {
  /** "tiny", "bench", or the path as given. */
  label: string;
  /** The GGUF file. */
  path: string;
}

/**
 * The models of a `--model` list: `tiny` is the bundled tiny model, `bench` the benchmark model
 * (written when missing), anything else a GGUF path.
 */
export async function resolveBenchModels(models: readonly string[]): Promise<BenchModel[]> {
  const out: BenchModel[] = [];
  for (const m of models) {
    if (m === "tiny") out.push({ label: "tiny", path: DEFAULT_MODEL });
    else if (m === "bench") out.push({ label: "bench", path: await benchModel() });
    else out.push({ label: m, path: m });
  }
  return out;
}

/**
 * The command line a benchmark records: its task and the flags given, as the command layer parsed
 * them (`given`), lists joined by commas and switches bare.
 */
export function benchCommandLine(
  task: string,
  values: Record<string, unknown>,
  given: ReadonlySet<string>,
): string {
  const flags = [...given].map((name) => {
    const v = values[name];
    if (v === true) return `--${name}`;
    return `--${name} ${Array.isArray(v) ? v.join(",") : String(v)}`;
  });
  return ["deno task", task, ...flags].join(" ");
}

/** `deno task build:bench-model`. */
export const command = defineCommand({
  name: "build:bench-model",
  summary: "Write the benchmark model (random-weight llama, 512 hidden × 8 layers, llama.cpp's " +
    "32k SentencePiece vocabulary, f16) into .cache/bench-models/ unless it is there, and " +
    "print its path.",
  flags: {},
  run: async () => {
    console.log(await benchModel());
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
