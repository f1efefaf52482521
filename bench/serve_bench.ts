/**
 * `deno task bench:serve` — load test of tunebook's OpenAI-compatible server against llama.cpp's
 * own `llama-server` (built from node-llama-cpp's bundled source by scripts/build_llama_tools.sh)
 * on the same model, threads, parallel sequences and load: N concurrent streaming clients send M
 * `/v1/completions` requests (greedy, `ignore_eos`, exactly `--max-tokens` tokens each), on
 * loopback, bounded in count and time. Each server runs as its own process; rounds alternate
 * the servers so background load hits both alike. Reports p50/p95 latency, time to first token,
 * tokens/s, the server's memory growth after a warm-up, errors and incomplete responses, and
 * the throughput ratio tunebook / llama-server (target ≥ 0.8). One compute thread by default:
 * the tiny model needs no more, and the two cores are shared with the load generator (ggml's
 * worker threads spin; oversubscribed, they slow every process down).
 *
 *   deno task bench:serve                         # 4, 8 and 16 clients; 128 requests × 64 tokens; 3 rounds
 *   deno task bench:serve --concurrency 8 --requests 32 --rounds 1 --no-llama-server
 *
 * Writes results/bench/serve.json and results/bench/serve.md.
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { median } from "simple-statistics";
import { DEFAULT_MODEL } from "../lib/llm/model.ts";
import {
  booleanFlag,
  defineCommand,
  type FlagValues,
  integerFlag,
  listFlag,
  numberFlag,
  runCommand,
  stringFlag,
  USAGE_ERROR,
} from "../lib/cli/_command.ts";
import { runStreamingLoad, type StreamingLoadReport } from "../lib/serve/loadgen.ts";
import {
  freePort,
  type ServerProcess,
  spawnServer,
  spawnTunebookServer,
} from "../lib/serve/server_process.ts";

const DEFAULT_LLAMA_SERVER = ".cache/llama-build/bin/llama-server";
/** Tokens per sequence for both servers (the tiny model's training context). */
const CONTEXT_PER_SEQUENCE = 512;
/** The issue's target: tunebook's throughput as a fraction of llama-server's. */
const TARGET_RATIO = 0.8;
/** Memory growth (MB) between the end of the warm-up and the end of the run still called flat. */
const FLAT_MEMORY_MB = 16;
const MS_PER_SECOND = 1000;
/**
 * Full loads each server answers before the measured one: V8's heap in tunebook's server grows
 * over the first ~400 requests and then stays put (seen with 8 clients: 134 → 154 → 195 → 205 →
 * 200 → 200 → 200 → 201 MB after successive loads of 128 requests), so memory is compared from
 * there on.
 */
const WARMUP_LOADS = 4;

interface Run {
  server: "tunebook" | "llama-server";
  concurrency: number;
  round: number;
  report: StreamingLoadReport;
  /** Resident memory (MB) at the end of the warm-up load. */
  warmMemoryMb: number;
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
  requests: integerFlag("requests per load", { min: 1, default: 128 }),
  "max-tokens": integerFlag("tokens generated per request (greedy, ignore_eos)", {
    min: 1,
    placeholder: "T",
    default: 64,
  }),
  rounds: integerFlag("alternating rounds per config (median reported)", { min: 1, default: 3 }),
  threads: integerFlag("compute threads of each server", { min: 1, default: 1 }),
  model: stringFlag("GGUF model", { placeholder: "FILE.gguf", default: DEFAULT_MODEL }),
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
  out: stringFlag("writes DIR/serve.json and DIR/serve.md", {
    placeholder: "DIR",
    default: "results/bench",
  }),
};

/** `deno task bench:serve`. */
export const command = defineCommand({
  name: "bench:serve",
  summary: "Load test of tunebook's OpenAI-compatible server against llama.cpp's llama-server on " +
    "the same model, threads, parallel sequences and load. Each server process first answers " +
    "four full warm-up loads, then the measured one; memory growth is its resident memory at " +
    "the end of the measured load minus at the end of the warm-up.",
  flags,
  exitStatus: "Exit status: 0 done and every check passed; 1 errors, incomplete responses or " +
    "memory growth; 2 bad arguments or llama-server missing.",
  run: ({ values }) => main(values),
});

async function main(values: FlagValues<typeof flags>): Promise<number> {
  const concurrencies = values.concurrency;
  const requests = values.requests;
  const maxTokens = values["max-tokens"];
  const rounds = values.rounds;
  const threads = values.threads;
  const timeLimitMs = values["time-limit-s"] * MS_PER_SECOND;
  const model = values.model;
  const llamaServer = values["llama-server"];
  const withLlama = !values["no-llama-server"];
  if (withLlama && !existsSync(llamaServer)) {
    console.error(
      `${llamaServer} not found: build it with \`bash scripts/build_llama_tools.sh\`, or pass ` +
        `--no-llama-server to measure tunebook alone`,
    );
    return USAGE_ERROR;
  }

  const start = async (server: Run["server"], sequences: number): Promise<ServerProcess> => {
    if (server === "tunebook") {
      return await spawnTunebookServer([
        "--model",
        model,
        "--name",
        "tiny",
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
      ]);
    }
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    return await spawnServer(llamaServer, {
      url,
      args: [
        "-m",
        model,
        "-a",
        "tiny",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "-t",
        String(threads),
        "-tb",
        String(threads),
        "-np",
        String(sequences),
        "-c",
        String(CONTEXT_PER_SEQUENCE * sequences),
        "-ngl",
        "0",
        "--log-disable",
      ],
    });
  };

  const runs: Run[] = [];
  for (const concurrency of concurrencies) {
    for (let round = 1; round <= rounds; round++) {
      const order: Run["server"][] = withLlama
        ? (round % 2 ? ["tunebook", "llama-server"] : ["llama-server", "tunebook"])
        : ["tunebook"];
      for (const server of order) {
        const proc = await start(server, concurrency);
        try {
          const load = (memoryMb?: () => number) =>
            runStreamingLoad(proc.url, { concurrency, requests, maxTokens, timeLimitMs, memoryMb });
          for (let w = 0; w < WARMUP_LOADS; w++) await load(); // not measured
          const warmMemoryMb = proc.rssMb();
          const report = await load(proc.rssMb);
          runs.push({ server, concurrency, round, report, warmMemoryMb });
          console.error(
            `${concurrency} clients, round ${round}, ${server}: ` +
              `${report.tokensPerSecond.toFixed(0)} tokens/s, p50 ${
                report.latencyMs.p50.toFixed(0)
              } ms, ` +
              `p95 ${
                report.latencyMs.p95.toFixed(0)
              } ms, ${report.complete}/${requests} complete, ` +
              `${report.errors.length} errors`,
          );
        } finally {
          await proc.stop();
        }
      }
    }
  }

  const summary = (server: Run["server"], concurrency: number) => {
    const rs = runs.filter((r) => r.server === server && r.concurrency === concurrency);
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
    };
  };
  const configs = concurrencies.map((concurrency) => {
    const tunebook = summary("tunebook", concurrency)!;
    const llamaServer = summary("llama-server", concurrency);
    const ratio = llamaServer ? tunebook.tokensPerSecond / llamaServer.tokensPerSecond : undefined;
    return { concurrency, sequences: concurrency, tunebook, llamaServer, ratio };
  });
  const checks = {
    noErrors: configs.every((c) => c.tunebook.errors === 0),
    everyResponseComplete: configs.every((c) => c.tunebook.incomplete === 0),
    memoryFlat: configs.every((c) => c.tunebook.memoryGrowthMb < FLAT_MEMORY_MB),
    throughputTarget: withLlama ? configs.every((c) => (c.ratio ?? 0) >= TARGET_RATIO) : null,
  };
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, deno: Deno.version.deno },
    load: {
      concurrencies,
      requests,
      maxTokens,
      rounds,
      threads,
      model,
      greedy: true,
      ignoreEos: true,
    },
    targetRatio: TARGET_RATIO,
    flatMemoryMb: FLAT_MEMORY_MB,
    configs,
    checks,
    runs,
  };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, "serve.json"), JSON.stringify(result, null, 2) + "\n");
  type Summary = NonNullable<ReturnType<typeof summary>>;
  const row = (clients: number, name: string, s: Summary, ratio?: number) =>
    `| ${clients} | ${name} | ${s.tokensPerSecond.toFixed(0)} | ${s.latencyP50Ms.toFixed(0)} | ` +
    `${s.latencyP95Ms.toFixed(0)} | ${s.ttftP50Ms.toFixed(0)} | ${s.ttftP95Ms.toFixed(0)} | ` +
    `${s.errors} | ${s.incomplete} | ${s.memoryGrowthMb.toFixed(1)} | ` +
    `${ratio === undefined ? "" : `**${ratio.toFixed(2)}**`} |`;
  const md = [
    `# Serving load test`,
    ``,
    `N concurrent streaming clients (N parallel sequences in each server), ${requests} requests × ` +
    `${maxTokens} tokens each (greedy, ignore_eos), ${threads} compute thread(s), model ` +
    `\`${model}\`, loopback; each server is a separate process, warmed up with ${WARMUP_LOADS} full loads ` +
    `first; median of ${rounds} alternating round(s). ${result.machine.cpus} CPUs ` +
    `(${result.machine.cpu}), shared with the load generator; ${result.date}. ` +
    `Command: \`deno task bench:serve\`.`,
    ``,
    `| clients | server | tokens/s | p50 latency ms | p95 latency ms | p50 TTFT ms | p95 TTFT ms | errors | incomplete | memory growth MB | tunebook / llama-server |`,
    `| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...configs.flatMap((c) => [
      row(c.concurrency, "tunebook", c.tunebook, c.ratio),
      ...(c.llamaServer ? [row(c.concurrency, "llama-server", c.llamaServer)] : []),
    ]),
    ``,
    `Target: tunebook ≥ ${TARGET_RATIO}× llama-server's tokens/s. Checks: ${
      Object.entries(checks).map(([k, v]) => `${k} ${v === null ? "n/a" : v ? "✓" : "✗"}`).join(
        ", ",
      )
    }.`,
    ``,
  ].join("\n");
  writeFileSync(join(values.out, "serve.md"), md);
  console.log(md);
  return checks.noErrors && checks.everyResponseComplete && checks.memoryFlat ? 0 : 1;
}

if (import.meta.main) await runCommand(command);
