/**
 * `deno task bench:serve` — load test of tunebook's OpenAI-compatible server against llama.cpp's
 * own `llama-server` (built from node-llama-cpp's bundled source by scripts/build_llama_tools.sh)
 * on the same model, threads, parallel sequences and load: N concurrent streaming clients send M
 * `/v1/completions` requests (greedy, `ignore_eos`, exactly `--max-tokens` tokens each), on
 * loopback, bounded in count and time. Each server runs as its own process; rounds alternate
 * the servers so background load hits both alike. Reports p50/p95 latency, time to first token,
 * tokens/s, the server's memory growth after a warm-up, errors and incomplete responses, and
 * the ratios tunebook / llama-server of tokens/s (target ≥ 1.0), p95 latency (≤ 1.1) and peak
 * memory (≤ 1.2). tunebook runs twice when the native libllama is built: on node-llama-cpp's
 * prebuilt libllama (what `deno install` gives) and on the same llama.cpp source compiled for this
 * CPU as llama-server is (scripts/build_llama_tools.sh, `TUNEBOOK_LIBLLAMA`). Runs
 * on the tiny model (per-call overhead dominates) and on the benchmark model (bench/bench_model.ts:
 * a 512-hidden × 8-layer llama, where compute does) unless `--model` says otherwise. One compute
 * thread by default: the two cores are shared with the load generator (ggml's worker threads
 * spin; oversubscribed, they slow every process down).
 *
 *   deno task bench:serve       # tiny and bench models; 4, 8 and 16 clients; 3 rounds
 *   deno task bench:serve --model tiny --concurrency 8 --requests 32 --rounds 1 --no-llama-server
 *
 * With `--adapter FILE` every server serves the model with that LoRA adapter: tunebook as the only
 * name on its base, so merged into a cached copy of the weights at load (lib/llm/lora_merge.ts)
 * unless `--lora-mode runtime`; llama-server with `--lora FILE` (at runtime, its only way).
 *
 *   deno task bench:serve --model tiny-256 --adapter data/models/tiny-256/chat-lora.gguf --name serve_lora
 *
 * Writes results/bench/serve.json and results/bench/serve.md (`--name` another NAME).
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { median } from "simple-statistics";
import { benchCommandLine, NATIVE_LIBLLAMA, resolveBenchModels } from "./bench_model.ts";
import { findLibllama, LIBLLAMA_ENV } from "../lib/llm/_libllama_path.ts";
import {
  booleanFlag,
  defineCommand,
  enumFlag,
  type FlagValues,
  integerFlag,
  listFlag,
  numberFlag,
  runCommand,
  stringFlag,
  USAGE_ERROR,
} from "../lib/cli/_command.ts";
import {
  type AnswerablePrompts,
  answerablePrompts,
  DEFAULT_LOAD_PROMPTS,
  runStreamingLoad,
  type StreamingLoadReport,
} from "../lib/serve/loadgen.ts";
import {
  type ResidentBreakdown,
  residentBreakdownMb,
  type ServerProcess,
  spawnLlamaServer,
  spawnTunebookServer,
} from "../lib/serve/server_process.ts";

const DEFAULT_LLAMA_SERVER = ".cache/llama-build/bin/llama-server";
/** The issue's targets beside throughput: p95 latency and peak memory as fractions of llama-server's. */
const P95_TARGET = 1.1;
const MEMORY_TARGET = 1.2;
/** Tokens per sequence for both servers (the tiny model's training context). */
const CONTEXT_PER_SEQUENCE = 512;
/** The issue's target: tunebook's throughput as a fraction of llama-server's. */
const TARGET_RATIO = 1.0;
/** Memory growth (MB) between the end of the warm-up and the end of the run still called flat. */
const FLAT_MEMORY_MB = 16;
const MS_PER_SECOND = 1000;
/** Every request's extra fields: greedy, exactly `max_tokens` tokens, no prompt cache reuse. */
const LOAD_BODY = { temperature: 0, ignore_eos: true, cache_prompt: false };
/**
 * Full loads each server answers before the measured one: V8's heap in tunebook's server grows
 * over the first ~400 requests and then stays put (seen with 8 clients: 134 → 154 → 195 → 205 →
 * 200 → 200 → 200 → 201 MB after successive loads of 128 requests), so memory is compared from
 * there on.
 */
const WARMUP_LOADS = 4;

/**
 * The load on each model unless `--requests` / `--max-tokens` / `--warmup-loads` say otherwise: on
 * the benchmark model a token costs ~40× what it does on the tiny one, so fewer, shorter requests.
 */
const MODEL_LOADS: Record<string, { requests: number; maxTokens: number; warmupLoads: number }> = {
  tiny: { requests: 128, maxTokens: 64, warmupLoads: WARMUP_LOADS },
  bench: { requests: 48, maxTokens: 32, warmupLoads: 2 },
};

/** The servers measured: tunebook on each libllama, and the anchor. */
const SERVERS = ["tunebook", "tunebook-native", "llama-server"] as const;
type Server = typeof SERVERS[number];

interface Run {
  model: string;
  server: Server;
  concurrency: number;
  round: number;
  report: StreamingLoadReport;
  /** Resident memory (MB) at the end of the warm-up load. */
  warmMemoryMb: number;
  /** Resident memory by mapping at the end of the measured load (Linux). */
  resident?: ResidentBreakdown;
}

const flags = {
  concurrency: listFlag(
    "streaming clients (= parallel sequences in each server), one config each",
    {
      of: "integer",
      min: 1,
      default: [4, 8, 16],
    },
  ),
  requests: integerFlag("requests per load", {
    min: 1,
    defaultText: "128 on the tiny model, 48 on the benchmark model",
  }),
  "max-tokens": integerFlag("tokens generated per request (greedy, ignore_eos)", {
    min: 1,
    placeholder: "T",
    defaultText: "64 on the tiny model, 32 on the benchmark model",
  }),
  "warmup-loads": integerFlag("full loads each server answers before the measured one", {
    min: 0,
    defaultText: `${WARMUP_LOADS} on the tiny model, 2 on the benchmark model`,
  }),
  rounds: integerFlag("alternating rounds per config (median reported)", { min: 1, default: 3 }),
  threads: integerFlag("compute threads of each server", { min: 1, default: 1 }),
  model: listFlag(
    "models: `tiny` (the bundled tiny model), `bench` (the benchmark model, " +
      "bench/bench_model.ts) or GGUF paths",
    { item: "model", default: ["tiny", "bench"] },
  ),
  "time-limit-s": numberFlag("seconds one load may take", {
    min: 1,
    placeholder: "S",
    default: 300,
  }),
  "llama-server": stringFlag("llama.cpp's llama-server (bash scripts/build_llama_tools.sh)", {
    placeholder: "PATH",
    default: DEFAULT_LLAMA_SERVER,
  }),
  "no-llama-server": booleanFlag("measure tunebook alone"),
  "native-libllama": stringFlag(
    "libllama compiled for this CPU (bash scripts/build_llama_tools.sh): tunebook is measured on " +
      "it too, as `tunebook-native`, when the file exists",
    { placeholder: "PATH", default: NATIVE_LIBLLAMA },
  ),
  "no-native": booleanFlag("measure tunebook on node-llama-cpp's prebuilt libllama only"),
  adapter: stringFlag(
    "a GGUF LoRA adapter every server applies: tunebook serves it as the only name on its base " +
      "(merged at load unless --lora-mode runtime), llama-server with --lora",
    { placeholder: "FILE.gguf" },
  ),
  "lora-mode": enumFlag("tunebook's --lora-mode with --adapter", ["auto", "runtime"], {
    default: "auto",
  }),
  out: stringFlag("output folder", {
    placeholder: "DIR",
    default: "results/bench",
  }),
  name: stringFlag("output files are DIR/NAME.json and DIR/NAME.md", {
    placeholder: "NAME",
    default: "serve",
  }),
};

/** The config files {@linkcode adapterConfig} wrote, by model and adapter: one each per run. */
const adapterConfigs = new Map<string, string>();

/**
 * A serve config file (in a temporary folder) with one model name, "tiny": `model` plus `adapter`,
 * so tunebook's server has no plain base beside it.
 */
function adapterConfig(model: string, adapter: string): string {
  const key = `${model}\n${adapter}`;
  const known = adapterConfigs.get(key);
  if (known) return known;
  const path = join(Deno.makeTempDirSync({ prefix: "tunebook-servebench-" }), "serve.json");
  adapterConfigs.set(key, path);
  writeFileSync(
    path,
    JSON.stringify({ models: { tiny: { model: resolve(model), adapters: [{ path: adapter }] } } }),
  );
  return path;
}

/** `deno task bench:serve`. */
export const command = defineCommand({
  name: "bench:serve",
  summary: "Load test of tunebook's OpenAI-compatible server against llama.cpp's llama-server on " +
    "the same model, threads, parallel sequences and load, on the tiny model and the benchmark " +
    "model. Each server process first answers full warm-up loads, then the measured one; memory " +
    "growth is its resident memory at the end of the measured load minus at the end of the " +
    "warm-up, peak memory the largest resident memory seen during the measured load.",
  flags,
  exitStatus: "Exit status: 0 done and every check passed; 1 errors, incomplete responses or " +
    "memory growth; 2 bad arguments or llama-server missing.",
  run: ({ values, given }) => main(values, given),
});

async function main(
  values: FlagValues<typeof flags>,
  given: ReadonlySet<string>,
): Promise<number> {
  const concurrencies = values.concurrency;
  const rounds = values.rounds;
  const threads = values.threads;
  const timeLimitMs = values["time-limit-s"] * MS_PER_SECOND;
  const llamaServer = values["llama-server"];
  const withLlama = !values["no-llama-server"];
  const nativeLib = values["native-libllama"];
  const adapter = values.adapter ? resolve(values.adapter) : undefined;
  if (adapter && !existsSync(adapter)) {
    console.error(`--adapter ${values.adapter}: not found`);
    return USAGE_ERROR;
  }
  const withNative = !values["no-native"] && existsSync(nativeLib);
  if (!values["no-native"] && !withNative) {
    console.error(
      `${nativeLib} not found: tunebook is measured on node-llama-cpp's prebuilt libllama only ` +
        `(bash scripts/build_llama_tools.sh builds the native one)`,
    );
  }
  if (withLlama && !existsSync(llamaServer)) {
    console.error(
      `${llamaServer} not found: build it with \`bash scripts/build_llama_tools.sh\`, or pass ` +
        `--no-llama-server to measure tunebook alone`,
    );
    return USAGE_ERROR;
  }
  const models = await resolveBenchModels(values.model);
  const loadOf = (label: string) => {
    const d = MODEL_LOADS[label] ?? MODEL_LOADS.tiny;
    return {
      requests: values.requests ?? d.requests,
      maxTokens: values["max-tokens"] ?? d.maxTokens,
      warmupLoads: values["warmup-loads"] ?? d.warmupLoads,
    };
  };

  const start = async (
    model: string,
    server: Server,
    sequences: number,
    requests: number,
  ): Promise<ServerProcess> => {
    if (server !== "llama-server") {
      const env: Record<string, string> = server === "tunebook-native"
        ? { [LIBLLAMA_ENV]: resolve(nativeLib) }
        : {};
      // with an adapter: one name, "tiny", the base plus the adapter (no plain base beside it)
      const served = adapter
        ? ["--config", adapterConfig(model, adapter), "--lora-mode", values["lora-mode"]]
        : ["--model", model, "--name", "tiny"];
      return await spawnTunebookServer([
        ...served,
        "--threads",
        String(threads),
        "--sequences",
        String(sequences),
        "--ctx-size",
        String(CONTEXT_PER_SEQUENCE),
        "--max-queue",
        String(requests),
        "--cpu",
        "--log-level",
        "warn",
      ], { env });
    }
    return await spawnLlamaServer(llamaServer, {
      model,
      alias: "tiny",
      lora: adapter ? [adapter] : [],
      threads,
      sequences,
      contextPerSequence: CONTEXT_PER_SEQUENCE,
    });
  };

  const runs: Run[] = [];
  /**
   * Per model, the prompts every server is driven with: the load's prompts that llama-server
   * answers in full alone (its output parser fails a stream whose text it rejects, which would
   * count as its errors and leave its rows measuring fewer tokens than tunebook's).
   */
  const promptsOf = new Map<string, AnswerablePrompts>();
  for (const m of models) {
    const { requests, maxTokens, warmupLoads } = loadOf(m.label);
    let found: AnswerablePrompts = { kept: [...DEFAULT_LOAD_PROMPTS], dropped: [] };
    if (withLlama) {
      const proc = await start(m.path, "llama-server", 1, 1);
      try {
        found = await answerablePrompts(proc.url, { maxTokens, body: LOAD_BODY });
      } finally {
        await proc.stop();
      }
      if (found.kept.length === 0) {
        console.error(
          `${m.label}: llama-server failed on every load prompt (first: ${
            found.dropped[0]?.error
          })`,
        );
        return 1;
      }
    }
    promptsOf.set(m.label, found);
    const prompts = found.kept;
    for (const concurrency of concurrencies) {
      for (let round = 1; round <= rounds; round++) {
        const measured = SERVERS.filter((s) =>
          (s !== "llama-server" || withLlama) && (s !== "tunebook-native" || withNative)
        );
        const order = measured.map((_, i) => measured[(i + round - 1) % measured.length]);
        for (const server of order) {
          const proc = await start(m.path, server, concurrency, requests);
          try {
            const load = (memoryMb?: () => number) =>
              runStreamingLoad(proc.url, {
                concurrency,
                requests,
                maxTokens,
                prompts,
                body: LOAD_BODY,
                timeLimitMs,
                memoryMb,
              });
            for (let w = 0; w < warmupLoads; w++) await load(); // not measured
            const warmMemoryMb = proc.rssMb();
            const report = await load(proc.rssMb);
            const resident = residentBreakdownMb(proc.pid, [m.path]);
            runs.push({
              model: m.label,
              server,
              concurrency,
              round,
              report,
              warmMemoryMb,
              ...(resident ? { resident } : {}),
            });
            console.error(
              `${m.label}, ${concurrency} clients, round ${round}, ${server}: ` +
                `${report.tokensPerSecond.toFixed(0)} tokens/s, p50 ${
                  report.latencyMs.p50.toFixed(0)
                } ms, p95 ${report.latencyMs.p95.toFixed(0)} ms, peak ${
                  (report.memoryMb?.peak ?? 0).toFixed(0)
                } MB, ${report.complete}/${requests} complete, ${report.errors.length} errors`,
            );
          } finally {
            await proc.stop();
          }
        }
      }
    }
  }

  type Summary = NonNullable<ReturnType<typeof summary>>;
  const summary = (model: string, server: Server, concurrency: number) => {
    const rs = runs.filter((r) =>
      r.model === model && r.server === server && r.concurrency === concurrency
    );
    if (rs.length === 0) return undefined;
    const reports = rs.map((r) => r.report);
    return {
      tokensPerSecond: median(reports.map((r) => r.tokensPerSecond)),
      latencyP50Ms: median(reports.map((r) => r.latencyMs.p50)),
      latencyP95Ms: median(reports.map((r) => r.latencyMs.p95)),
      ttftP50Ms: median(reports.map((r) => r.ttftMs.p50)),
      ttftP95Ms: median(reports.map((r) => r.ttftMs.p95)),
      errors: reports.reduce((n, r) => n + r.errors.length, 0),
      incomplete: reports.reduce((n, r) => n + r.incomplete + r.skipped, 0),
      memoryGrowthMb: Math.max(...rs.map((r) => (r.report.memoryMb?.end ?? 0) - r.warmMemoryMb)),
      memoryPeakMb: Math.max(...reports.map((r) => r.memoryMb?.peak ?? 0)),
      roundsTokensPerSecond: reports.map((r) => Math.round(r.tokensPerSecond)),
    };
  };
  const ratioOf = (a: number, b: number | undefined) =>
    b === undefined || b === 0 ? undefined : Math.round((a / b) * 100) / 100;
  const configs = models.flatMap((m) =>
    concurrencies.map((concurrency) => {
      const tunebook = summary(m.label, "tunebook", concurrency)!;
      const native = summary(m.label, "tunebook-native", concurrency);
      const llamaServer = summary(m.label, "llama-server", concurrency);
      const ratios = (t: Summary | undefined) =>
        t && {
          ratio: ratioOf(t.tokensPerSecond, llamaServer?.tokensPerSecond),
          p95Ratio: ratioOf(t.latencyP95Ms, llamaServer?.latencyP95Ms),
          peakMemoryRatio: ratioOf(t.memoryPeakMb, llamaServer?.memoryPeakMb),
        };
      return {
        model: m.label,
        path: m.path,
        ...loadOf(m.label),
        concurrency,
        sequences: concurrency,
        tunebook,
        tunebookNative: native,
        llamaServer,
        ...ratios(tunebook)!,
        native: ratios(native),
      };
    })
  );
  const tunebooks = configs.flatMap((
    c,
  ) => [c.tunebook, ...(c.tunebookNative ? [c.tunebookNative] : [])]);
  const best = (c: typeof configs[number]) => c.native ?? c;
  const checks = {
    noErrors: tunebooks.every((t) => t.errors === 0),
    everyResponseComplete: tunebooks.every((t) => t.incomplete === 0),
    memoryFlat: tunebooks.every((t) => t.memoryGrowthMb < FLAT_MEMORY_MB),
    throughputTarget: withLlama ? configs.every((c) => (best(c).ratio ?? 0) >= TARGET_RATIO) : null,
    p95Target: withLlama
      ? configs.every((c) => (best(c).p95Ratio ?? Infinity) <= P95_TARGET)
      : null,
    memoryTarget: withLlama
      ? configs.every((c) => (best(c).peakMemoryRatio ?? Infinity) <= MEMORY_TARGET)
      : null,
  };
  const command = benchCommandLine("bench:serve", values, given);
  const result = {
    date: new Date().toISOString(),
    command,
    machine: {
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      deno: Deno.version.deno,
      loadAverageAtEnd: Deno.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    load: { concurrencies, rounds, threads, greedy: true, ignoreEos: true, body: LOAD_BODY },
    adapter: adapter ? { path: adapter, tunebookLoraMode: values["lora-mode"] } : null,
    prompts: Object.fromEntries(promptsOf),
    libllama: { prebuilt: findLibllama(), native: withNative ? resolve(nativeLib) : null },
    targetRatio: TARGET_RATIO,
    p95Target: P95_TARGET,
    memoryTarget: MEMORY_TARGET,
    flatMemoryMb: FLAT_MEMORY_MB,
    configs,
    checks,
    runs,
  };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, `${values.name}.json`), JSON.stringify(result, null, 2) + "\n");
  const fmt = (x: number | undefined) => (x === undefined ? "" : `**${x.toFixed(2)}**`);
  const row = (
    c: { model: string; concurrency: number },
    name: string,
    s: Summary,
    ratios: (number | undefined)[] = [],
  ) =>
    `| ${c.model} | ${c.concurrency} | ${name} | ${s.tokensPerSecond.toFixed(0)} | ` +
    `${s.latencyP50Ms.toFixed(0)} | ${s.latencyP95Ms.toFixed(0)} | ${s.ttftP50Ms.toFixed(0)} | ` +
    `${s.ttftP95Ms.toFixed(0)} | ${s.errors} | ${s.incomplete} | ${s.memoryPeakMb.toFixed(0)} | ` +
    `${s.memoryGrowthMb.toFixed(1)} | ${s.roundsTokensPerSecond.join(", ")} | ` +
    `${ratios.map(fmt).join(" | ")}${ratios.length ? "" : " | |"} |`;
  const md = [
    `# Serving load test`,
    ``,
    `N concurrent streaming clients (N parallel sequences in each server), greedy, ignore_eos, ` +
    `${threads} compute thread(s), ${CONTEXT_PER_SEQUENCE} tokens of context per sequence, ` +
    `loopback; each server is a separate process, warmed up with full loads first; median of ` +
    `${rounds} alternating round(s). \`tunebook\`: node-llama-cpp's prebuilt libllama ` +
    `(\`${result.libllama.prebuilt}\`)${
      withNative
        ? `; \`tunebook-native\`: the same llama.cpp source compiled for this CPU as llama-server ` +
          `is (\`${result.libllama.native}\`, ${LIBLLAMA_ENV})`
        : ""
    }. ${result.machine.cpus} CPUs (${result.machine.cpu}), shared ` +
    `with the load generator (load average at the end ${
      result.machine.loadAverageAtEnd.join("/")
    }); ${result.date}. Command: \`${command}\`.`,
    ``,
    ...(adapter
      ? [
        `Every server applies the LoRA adapter \`${adapter}\`: tunebook ${
          values["lora-mode"] === "auto"
            ? "merged into a cached copy of the weights at load (the only name on its base)"
            : "at runtime (`--lora-mode runtime`)"
        }, llama-server at runtime (\`--lora\`).`,
        ``,
      ]
      : []),
    `Both servers are driven alike: streaming \`POST /v1/completions\` with the same text ` +
    `prompts (used in turn), \`${JSON.stringify(LOAD_BODY)}\`; each server tokenizes them ` +
    `itself. A prompt llama-server fails on when sent alone (its output parser rejects the ` +
    `random model's text) is dropped for every server before the rounds, so no row counts ` +
    `requests its server could not answer.`,
    ``,
    ...models.map((m) => {
      const l = loadOf(m.label);
      const p = promptsOf.get(m.label)!;
      return `- ${m.label}: \`${m.path}\`, ${l.requests} requests × ${l.maxTokens} tokens per ` +
        `load, ${l.warmupLoads} warm-up load(s); ${p.kept.length} prompt(s)${
          p.dropped.length
            ? `, ${p.dropped.length} dropped (${
              p.dropped.map((d) => `${JSON.stringify(d.prompt)}: \`${d.error.slice(0, 160)}\``)
                .join("; ")
            })`
            : ""
        }`;
    }),
    ``,
    `| model | clients | server | tokens/s | p50 latency ms | p95 latency ms | p50 TTFT ms | p95 TTFT ms | errors | incomplete | peak memory MB | memory growth MB | tokens/s per round | tokens/s × llama-server | p95 × llama-server | peak memory × llama-server |`,
    `| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |`,
    ...configs.flatMap((c) => [
      row(c, "tunebook", c.tunebook, [c.ratio, c.p95Ratio, c.peakMemoryRatio]),
      ...(c.tunebookNative && c.native
        ? [row(c, "tunebook-native", c.tunebookNative, [
          c.native.ratio,
          c.native.p95Ratio,
          c.native.peakMemoryRatio,
        ])]
        : []),
      ...(c.llamaServer ? [row(c, "llama-server", c.llamaServer)] : []),
    ]),
    ``,
    `Targets (tunebook-native where measured, else tunebook): ≥ ${TARGET_RATIO}× llama-server's ` +
    `tokens/s, p95 ≤ ${P95_TARGET}×, peak memory ≤ ${MEMORY_TARGET}×. Checks: ${
      Object.entries(checks).map(([k, v]) => `${k} ${v === null ? "n/a" : v ? "✓" : "✗"}`).join(
        ", ",
      )
    }.`,
    ``,
    ...residentTable(runs, models),
    ...llamaServerErrors(runs),
  ].join("\n");
  writeFileSync(join(values.out, `${values.name}.md`), md);
  console.log(md);
  return checks.noErrors && checks.everyResponseComplete && checks.memoryFlat ? 0 : 1;
}

/**
 * Where each server's resident memory is at the end of its measured load (last round), by
 * mapping: what the peak-memory ratio is made of.
 */
function residentTable(runs: Run[], models: { label: string; path: string }[]): string[] {
  const last = new Map<string, Run>();
  for (const r of runs) if (r.resident) last.set(`${r.model} ${r.concurrency} ${r.server}`, r);
  if (last.size === 0) return [];
  const mb = (x: number) => x.toFixed(0);
  return [
    `Resident memory at the end of the measured load, by mapping (MB, last round; ` +
    `/proc/PID/smaps): the model file (one copy, mapped by libllama), the server's own ` +
    `executable (Deno's binary; llama-server's), anonymous memory (KV cache, compute buffers, ` +
    `malloc's heap, V8's heap) and other files (shared libraries).`,
    ``,
    `| model | clients | server | resident | model file | executable | anonymous | other files |`,
    `| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |`,
    ...[...last.values()].map((r) => {
      const b = r.resident!;
      const path = models.find((m) => m.label === r.model)?.path ?? "";
      return `| ${r.model} | ${r.concurrency} | ${r.server} | ${mb(b.totalMb)} | ` +
        `${mb(b.filesMb[path] ?? 0)} | ${mb(b.executableMb)} | ${mb(b.anonymousMb)} | ` +
        `${mb(b.otherFilesMb)} |`;
    }),
    ``,
  ];
}

/** A line per model on which llama-server answered errors (the anchor's own failures). */
function llamaServerErrors(runs: Run[]): string[] {
  const lines: string[] = [];
  for (const model of new Set(runs.map((r) => r.model))) {
    const errors = runs.filter((r) => r.model === model && r.server === "llama-server")
      .flatMap((r) => r.report.errors);
    if (errors.length === 0) continue;
    lines.push(
      `llama-server errors on ${model}: ${errors.length} over all rounds (first: ` +
        `\`${errors[0].slice(0, 200)}\`).`,
      ``,
    );
  }
  return lines;
}

if (import.meta.main) await runCommand(command);
