/**
 * Start an HTTP server as a child process (tunebook's `lib/cli/serve.ts`, llama.cpp's
 * `llama-server`, …), wait until its health endpoint answers 200, read its resident memory, and
 * stop it with SIGTERM (SIGKILL after a grace period). For benchmarks and load tests that must
 * measure the server apart from the client.
 *
 * @example
 * ```ts ignore
 * import { spawnServer } from "./server_process.ts";
 * const s = await spawnServer(Deno.execPath(), {
 *   args: ["run", "-A", "lib/cli/serve.ts", "--port", "8090"],
 *   url: "http://127.0.0.1:8090",
 * });
 * console.log(s.rssMb());
 * await s.stop();
 * ```
 * @module
 */
import { readFileSync } from "node:fs";

/** Options for {@linkcode spawnServer}. */
export interface SpawnServerOptions {
  /** Arguments. Default: none. */
  args?: string[];
  /** The server's base URL. Required. */
  url: string;
  /** Path polled until it answers 200. Default: "/health". */
  healthPath?: string;
  /** Give up (and kill the process) after this many milliseconds. Default: 120000. */
  startTimeoutMs?: number;
  /** Extra environment variables. Default: none. */
  env?: Record<string, string>;
  /** Milliseconds between SIGTERM and SIGKILL in `stop()`. Default: 10000. */
  stopGraceMs?: number;
}

/** A running server process. */
export interface ServerProcess {
  /** Its base URL. */
  url: string;
  /** Its process id. */
  pid: number;
  /** Resident memory (VmRSS) in MB, from /proc (0 where there is no /proc). */
  rssMb: () => number;
  /** What it wrote to stdout and stderr so far (the last 64 KiB). */
  output: () => string;
  /** SIGTERM, then SIGKILL after the grace period; resolves with the exit code. */
  stop: () => Promise<number>;
}

/**
 * The Deno flags tunebook's server runs with — deno.json's `serve` task, the Dockerfile's
 * ENTRYPOINT and {@linkcode spawnTunebookServer} all use these (tests/unit/serve_dockerfile_test.ts
 * checks the first two): aborted requests reject with the abort reason
 * (`--unstable-no-legacy-abort`), and a 1 MB young generation
 * (`--v8-flags=--max-semi-space-size=1`): V8's default lets it grow to 16 MB per semi-space, which
 * the server's small, short-lived allocations (request objects, SSE chunks) fill between
 * scavenges — measured on the benchmark model with 8 clients, peak resident memory 322 → 287 MB
 * with tokens/s unchanged within run-to-run noise (results/bench/serve.md has the load test).
 */
export const SERVE_DENO_FLAGS: readonly string[] = [
  "--unstable-no-legacy-abort",
  "--v8-flags=--max-semi-space-size=1",
];

/** A free TCP port on the loopback interface (the OS picks it; it is released at once). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Start tunebook's own server (`deno task serve`'s command line, in this Deno) on a free
 * loopback port with `flags` (e.g. `--model`, `--sequences`), and wait until it is healthy.
 */
export function spawnTunebookServer(
  flags: string[],
  options: Omit<SpawnServerOptions, "url" | "args"> = {},
): Promise<ServerProcess> {
  const port = freePort();
  const script = new URL("../cli/serve.ts", import.meta.url).pathname;
  return spawnServer(Deno.execPath(), {
    ...options,
    url: `http://127.0.0.1:${port}`,
    args: ["run", "-A", ...SERVE_DENO_FLAGS, script, "--port", String(port), ...flags],
  });
}

/** What {@linkcode spawnLlamaServer} runs llama-server with. */
export interface LlamaServerOptions {
  /** The GGUF model. */
  model: string;
  /** CPU threads for generation and for batches (`-t`, `-tb`). */
  threads: number;
  /** Parallel sequences (`-np`). */
  sequences: number;
  /** Context tokens per sequence (llama-server's `-c` is this × `sequences`). */
  contextPerSequence: number;
  /** The model name it answers to (`-a`). Default: llama-server's own (the file name). */
  alias?: string;
  /** LoRA adapters (GGUF) it applies to every slot (`--lora`). Default: none. */
  lora?: string[];
}

/**
 * Start llama.cpp's `llama-server` (`binary`) on a free loopback port, on CPU (`-ngl 0`), without
 * its log, and wait until it is healthy: the anchor the benchmarks compare tunebook's server with.
 */
export function spawnLlamaServer(binary: string, o: LlamaServerOptions): Promise<ServerProcess> {
  const port = freePort();
  return spawnServer(binary, {
    url: `http://127.0.0.1:${port}`,
    args: [
      "-m",
      o.model,
      ...(o.alias !== undefined ? ["-a", o.alias] : []),
      ...(o.lora ?? []).flatMap((path) => ["--lora", path]),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "-t",
      String(o.threads),
      "-tb",
      String(o.threads),
      "-np",
      String(o.sequences),
      "-c",
      String(o.contextPerSequence * o.sequences),
      "-ngl",
      "0",
      "--log-disable",
    ],
  });
}

const DEFAULT_START_TIMEOUT_MS = 120_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
const POLL_MS = 100;
const KEEP_OUTPUT_CHARS = 65_536;
const KB_PER_MB = 1024;

/**
 * Start `command` and wait for its health endpoint; throws with its output if it never answers.
 *
 * @example
 * ```ts ignore
 * const s = await spawnServer(".cache/llama-build/bin/llama-server", {
 *   args: ["-m", "data/models/tiny/tiny-f32.gguf", "--port", "8091"],
 *   url: "http://127.0.0.1:8091",
 * });
 * await s.stop();
 * ```
 */
export async function spawnServer(
  command: string,
  options: SpawnServerOptions,
): Promise<ServerProcess> {
  const {
    args = [],
    url,
    healthPath = "/health",
    startTimeoutMs = DEFAULT_START_TIMEOUT_MS,
    env = {},
    stopGraceMs = DEFAULT_STOP_GRACE_MS,
  } = options;
  const child = new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .spawn();
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output = (output + text).slice(-KEEP_OUTPUT_CHARS);
    }
  };
  const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let exited: number | undefined;
  const status = child.status.then((s) => (exited = s.code));
  const stop = async () => {
    if (exited === undefined) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, stopGraceMs);
      await status;
      clearTimeout(timer);
    }
    await collecting;
    return exited ?? -1;
  };
  const start = performance.now();
  while (true) {
    if (exited !== undefined) {
      await collecting;
      throw new Error(`${command} exited with code ${exited} before answering:\n${output}`);
    }
    const ok = await fetch(url + healthPath).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }, () => false);
    if (ok) break;
    if (performance.now() - start > startTimeoutMs) {
      await stop();
      throw new Error(
        `${command} did not answer ${url + healthPath} within ${startTimeoutMs} ms:\n${output}`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return {
    url,
    pid: child.pid,
    rssMb: () => rssMb(child.pid),
    output: () => output,
    stop,
  };
}

/**
 * Resident memory of a process in MB (Linux /proc; 0 elsewhere).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { rssMb } from "./server_process.ts";
 * ok(rssMb(Deno.pid) > 0); // this process's resident memory, MB
 * ```
 */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1] ?? 0);
    return kb / KB_PER_MB;
  } catch {
    return 0;
  }
}

/** What {@linkcode residentBreakdownMb} reads: a process's resident memory by what is mapped. */
export interface ResidentBreakdown {
  /** Resident memory in all (MB, the sum of the mappings' Rss). */
  totalMb: number;
  /** Pages of the process's own executable (its binary: Deno, llama-server). */
  executableMb: number;
  /** Pages of each file in `files`, by path (a GGUF model). */
  filesMb: Record<string, number>;
  /**
   * Anonymous memory: malloc's heap, stacks and anonymous mappings (KV caches, compute buffers, a
   * JavaScript engine's heap).
   */
  anonymousMb: number;
  /** Pages of every other file (shared libraries, caches). */
  otherFilesMb: number;
}

/**
 * Resident memory of process `pid` split by mapping, from /proc/PID/smaps (Linux; undefined
 * elsewhere or when the process is gone): its executable, each of `files`, anonymous memory, and
 * other files.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { residentBreakdownMb, rssMb } from "./server_process.ts";
 * const b = residentBreakdownMb(Deno.pid);
 * if (b) {
 *   ok(b.executableMb > 0 && b.anonymousMb > 0); // Deno's binary, V8's heap
 *   const parts = b.executableMb + b.anonymousMb + b.otherFilesMb;
 *   ok(Math.abs(parts - b.totalMb) < 0.01);
 *   ok(Math.abs(b.totalMb - rssMb(Deno.pid)) < 16); // VmRSS, read a moment later
 * }
 * ```
 */
export function residentBreakdownMb(
  pid: number,
  files: readonly string[] = [],
): ResidentBreakdown | undefined {
  let smaps: string;
  let exe: string;
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, "utf8");
    exe = Deno.realPathSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
  const wanted = new Map(files.map((f) => [Deno.realPathSync(f), f]));
  const out: ResidentBreakdown = {
    totalMb: 0,
    executableMb: 0,
    filesMb: Object.fromEntries(files.map((f) => [f, 0])),
    anonymousMb: 0,
    otherFilesMb: 0,
  };
  let name = "";
  for (const line of smaps.split("\n")) {
    const head = line.match(/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/);
    if (head) {
      name = head[1];
      continue;
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/);
    if (!rss) continue;
    const mb = Number(rss[1]) / KB_PER_MB;
    out.totalMb += mb;
    if (name === exe) out.executableMb += mb;
    else if (wanted.has(name)) out.filesMb[wanted.get(name)!] += mb;
    else if (name === "" || name.startsWith("[")) out.anonymousMb += mb;
    else out.otherFilesMb += mb;
  }
  return out;
}
