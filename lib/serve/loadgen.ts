/**
 * A load generator for OpenAI-compatible servers: N concurrent streaming clients send M
 * `/v1/completions` requests in all, bounded in count and time, and report errors, incomplete
 * responses, latency and time-to-first-token percentiles, tokens/s and (optionally) the
 * server's memory over the run. Used by `bench/serve_bench.ts` against tunebook and llama.cpp's
 * `llama-server`, and by the load test.
 *
 * @example
 * ```ts ignore
 * import { runStreamingLoad } from "./loadgen.ts";
 * const report = await runStreamingLoad("http://127.0.0.1:8080", { concurrency: 8, requests: 64 });
 * console.log(report.tokensPerSecond, report.latencyMs.p95, report.errors);
 * ```
 * @module
 */
import { nearestRank } from "../util/nearest_rank.ts";

/** Options for {@linkcode runStreamingLoad}. */
export interface StreamingLoadOptions {
  /** Clients sending at once. Default: 8. */
  concurrency?: number;
  /** Requests in all. Default: 64. */
  requests?: number;
  /** `max_tokens` of each request. Default: 64. */
  maxTokens?: number;
  /** Prompts, used in turn. Default: a few short prompts. */
  prompts?: readonly string[];
  /** Model name. Default: "tiny". */
  model?: string;
  /**
   * Extra request fields. Default: `{ temperature: 0, ignore_eos: true, cache_prompt: false }`
   * (greedy, exactly `maxTokens` tokens per request, no prompt cache reuse on llama-server).
   */
  body?: Record<string, unknown>;
  /** Bearer API key. Default: none. */
  apiKey?: string;
  /** Requests not started after this many milliseconds are skipped (counted). Default: 300000. */
  timeLimitMs?: number;
  /** Reads the server's memory in MB; sampled before, during and after. Default: none. */
  memoryMb?: () => number;
  /** Milliseconds between memory samples. Default: 250. */
  memoryEveryMs?: number;
}

/** Percentiles of a list of durations, in milliseconds. */
export interface Percentiles {
  p50: number;
  p95: number;
  max: number;
}

/** What {@linkcode runStreamingLoad} measured. */
export interface StreamingLoadReport {
  /** Requests planned. */
  requests: number;
  /** Requests that ended with a finish reason and `[DONE]`, with the expected token count. */
  complete: number;
  /** Requests skipped because the time limit passed. */
  skipped: number;
  /** Requests that failed (HTTP status or network error), with their messages. */
  errors: string[];
  /** Requests that ended early (no `[DONE]`, no finish reason, or fewer tokens than asked). */
  incomplete: number;
  /**
   * Completion tokens received in all, those streamed before a request's error included (the
   * server generated them: llama-server, for one, can fail a stream at its end).
   */
  completionTokens: number;
  /** Wall time of the run, seconds. */
  wallSeconds: number;
  /** Completion tokens per second of wall time, over all clients. */
  tokensPerSecond: number;
  /** Request latency (send → `[DONE]`). */
  latencyMs: Percentiles;
  /** Time to first token. */
  ttftMs: Percentiles;
  /** The server's memory, when `memoryMb` was given. */
  memoryMb?: { start: number; end: number; peak: number };
}

/** The prompts {@linkcode runStreamingLoad} sends unless told otherwise, used in turn. */
export const DEFAULT_LOAD_PROMPTS: readonly string[] = [
  "Question: What is 12 plus 7?\nAnswer:",
  "The favorite color of Torselven is",
  "Context: Mira keeps a red pet named Oslo.\nQuestion: What is the pet's name?\nAnswer:",
  "Once upon a time",
];
const DEFAULTS = {
  concurrency: 8,
  requests: 64,
  maxTokens: 64,
  model: "tiny",
  timeLimitMs: 300_000,
  memoryEveryMs: 250,
};
const MS_PER_SECOND = 1000;
const PERCENT = 100;
const P50 = 50;
const P95 = 95;

/**
 * Nearest-rank percentile of `values` (0 for an empty list): the smallest value with at least
 * p% of the values at or below it, so always an observed latency. The p50/p95 figures in
 * `results/bench/serve.json` use this definition; simple-statistics' `quantile` differs at
 * integer ranks (it gives 2.5 for the first case below), see {@linkcode nearestRank}.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { percentile } from "./loadgen.ts";
 * strictEqual(percentile([1, 2, 3, 4], 50), 2);
 * strictEqual(percentile([1, 2, 3, 4], 95), 4);
 * strictEqual(percentile([], 95), 0);
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  return values.length === 0 ? 0 : nearestRank(values, p / PERCENT);
}

interface One {
  ok: boolean;
  complete: boolean;
  tokens: number;
  latencyMs: number;
  ttftMs?: number;
  error?: string;
}

/**
 * Run the load against `baseUrl` (the server root, e.g. `http://127.0.0.1:8080`).
 *
 * @example
 * ```ts ignore
 * const r = await runStreamingLoad("http://127.0.0.1:8080", { concurrency: 4, requests: 16 });
 * console.log(r.complete, r.errors.length, r.tokensPerSecond);
 * ```
 */
export async function runStreamingLoad(
  baseUrl: string,
  options: StreamingLoadOptions = {},
): Promise<StreamingLoadReport> {
  const {
    concurrency = DEFAULTS.concurrency,
    requests = DEFAULTS.requests,
    maxTokens = DEFAULTS.maxTokens,
    prompts = DEFAULT_LOAD_PROMPTS,
    model = DEFAULTS.model,
    body = { temperature: 0, ignore_eos: true, cache_prompt: false },
    apiKey,
    timeLimitMs = DEFAULTS.timeLimitMs,
    memoryMb,
    memoryEveryMs = DEFAULTS.memoryEveryMs,
  } = options;
  const url = `${baseUrl.replace(/\/+$/, "")}/v1/completions`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const expectExact = body.ignore_eos === true;
  const memory = memoryMb ? [memoryMb()] : [];
  const sampler = memoryMb ? setInterval(() => memory.push(memoryMb()), memoryEveryMs) : undefined;
  const results: One[] = [];
  let next = 0;
  let skipped = 0;
  const start = performance.now();
  const deadline = start + timeLimitMs;

  const one = async (i: number): Promise<One> => {
    const t0 = performance.now();
    let ttftMs: number | undefined;
    let tokens = 0;
    let usageTokens: number | undefined;
    let finished = false;
    let done = false;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model,
          prompt: prompts[i % prompts.length],
          max_tokens: maxTokens,
          stream: true,
          stream_options: { include_usage: true },
          ...body,
        }),
        signal: AbortSignal.timeout(Math.max(1, deadline - t0)),
      });
      if (!res.ok || !res.body) {
        const text = await res.text();
        return { ok: false, complete: false, tokens, latencyMs: 0, error: `${res.status} ${text}` };
      }
      for await (const data of sseData(res.body)) {
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(JSON.stringify(chunk.error));
        const choice = chunk.choices?.[0];
        if (choice?.text) {
          ttftMs ??= performance.now() - t0;
          tokens++;
        }
        if (choice?.finish_reason) finished = true;
        if (chunk.usage?.completion_tokens !== undefined) {
          usageTokens = chunk.usage.completion_tokens;
        }
      }
    } catch (e) {
      return {
        ok: false,
        complete: false,
        tokens,
        latencyMs: performance.now() - t0,
        error: (e as Error).message,
      };
    }
    const counted = usageTokens ?? tokens;
    return {
      ok: true,
      complete: done && finished && (!expectExact || counted === maxTokens),
      tokens: counted,
      latencyMs: performance.now() - t0,
      ttftMs,
    };
  };

  const client = async () => {
    while (next < requests) {
      const i = next++;
      if (performance.now() > deadline) {
        skipped++;
        continue;
      }
      results.push(await one(i));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, client));
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
  }
  const wallSeconds = (performance.now() - start) / MS_PER_SECOND;
  if (memoryMb) memory.push(memoryMb());
  const ok = results.filter((r) => r.ok);
  const latencies = ok.map((r) => r.latencyMs);
  const ttfts = ok.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs]));
  const completionTokens = results.reduce((s, r) => s + r.tokens, 0);
  return {
    requests,
    complete: ok.filter((r) => r.complete).length,
    skipped,
    errors: results.flatMap((r) => (r.error ? [r.error] : [])),
    incomplete: ok.filter((r) => !r.complete).length,
    completionTokens,
    wallSeconds,
    tokensPerSecond: completionTokens / wallSeconds,
    latencyMs: {
      p50: percentile(latencies, P50),
      p95: percentile(latencies, P95),
      max: Math.max(0, ...latencies),
    },
    ttftMs: {
      p50: percentile(ttfts, P50),
      p95: percentile(ttfts, P95),
      max: Math.max(0, ...ttfts),
    },
    ...(memoryMb
      ? {
        memoryMb: {
          start: memory[0],
          end: memory[memory.length - 1],
          peak: Math.max(...memory),
        },
      }
      : {}),
  };
}

/** What {@linkcode answerablePrompts} found. */
export interface AnswerablePrompts {
  /** The prompts the server answered in full, in the order given. */
  kept: string[];
  /** The prompts it failed on, with its error. */
  dropped: { prompt: string; error: string }[];
}

/**
 * Send each of `prompts` once, alone, as {@linkcode runStreamingLoad} would send it (same
 * `maxTokens`, model and `body`), and split them into those the server answers in full and those it
 * fails on. A load test that compares two servers drives both with the `kept` prompts, so neither
 * one's rows count requests the other could not answer at all (llama-server, for one, fails a
 * stream whose text its output parser rejects — a random-weight model's invalid UTF-8).
 *
 * @example
 * ```ts ignore
 * import { answerablePrompts, runStreamingLoad } from "./loadgen.ts";
 * const { kept, dropped } = await answerablePrompts("http://127.0.0.1:8080", { maxTokens: 32 });
 * console.log(dropped.map((d) => d.error));
 * await runStreamingLoad("http://127.0.0.1:8080", { prompts: kept });
 * ```
 */
export async function answerablePrompts(
  baseUrl: string,
  options: Pick<StreamingLoadOptions, "prompts" | "maxTokens" | "model" | "body" | "apiKey"> = {},
): Promise<AnswerablePrompts> {
  const { prompts = DEFAULT_LOAD_PROMPTS, ...rest } = options;
  const kept: string[] = [];
  const dropped: { prompt: string; error: string }[] = [];
  for (const prompt of prompts) {
    const r = await runStreamingLoad(baseUrl, {
      ...rest,
      prompts: [prompt],
      concurrency: 1,
      requests: 1,
    });
    if (r.complete === 1) kept.push(prompt);
    else dropped.push({ prompt, error: r.errors[0] ?? "incomplete response" });
  }
  return { kept, dropped };
}

/**
 * The `data:` payloads of a server-sent-events body, one per event.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { sseData } from "./loadgen.ts";
 * const body = new Response("data: {\"a\":1}\n\ndata: [DONE]\n\n").body!;
 * deepStrictEqual(await Array.fromAsync(sseData(body)), ['{"a":1}', "[DONE]"]);
 * ```
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const data = event.split(/\r?\n/).filter((l) => l.startsWith("data:"))
        .map((l) => l.slice("data:".length).trimStart()).join("\n");
      if (data) yield data;
    }
  }
}
