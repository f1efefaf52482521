/**
 * An evaluation backend over OpenAI-compatible HTTP APIs (OpenAI, vLLM, llama.cpp's llama-server,
 * Ollama, tunebook's own server…), on one endpoint or several serving the same model:
 *
 * - **Generation**: greedy, through `/v1/completions`, or `/v1/chat/completions` with the prompt
 *   as one user message (`chat`).
 * - **Log-likelihoods** (`multiple_choice`, `loglikelihood`, `loglikelihood_rolling`) through
 *   `/v1/completions` with `echo: true`, `logprobs: 1` and `max_tokens: 0` (1 for a server that
 *   wants at least one, its token then left out): one request per question with one prompt per
 *   choice (`context + choice`); a choice's tokens are those that start at or after the context's
 *   end in the echoed text (`text_offset`, lib/eval/prompt_logprobs.ts) — the client never
 *   tokenizes. `loglikelihood_rolling` tokenizes the document with the server's `POST /tokenize`
 *   (vLLM's and tunebook's), cuts lm-eval's rolling windows of `max_model_len − 1` tokens after the
 *   BOS (else EOS) token of `GET /tokenizer_info`, and scores each window's tokens (one request
 *   each). Whether the endpoints return prompt log-probabilities is checked before the run's first
 *   item (one small request); one that does not is reported as unsupported
 *   ({@linkcode PromptLogprobsUnsupportedError}), never approximated. Chat APIs give none
 *   (`chat`: these tasks are refused).
 * - **Several endpoints** (`baseUrl` as a list): at most `concurrency` requests in flight on
 *   each, a failed request tried again on another (lib/eval/endpoint_pool.ts), the same results
 *   whatever the number of endpoints or the order of their answers (each request is one item;
 *   tunebook's server scores a request alike whatever else it scores). Before the run, every
 *   endpoint's `GET /v1/models` must list the model and agree on what identifies it (tunebook's
 *   file hashes, vLLM's `root`), which then goes into the run identity — the endpoints
 *   themselves do not, so a run resumes over another set of them.
 *
 * What is approximated: `countTokens` (about {@linkcode APPROX_CHARS_PER_TOKEN} characters per
 * token; it only sorts items into input-length buckets). A prompt is sent whole — the client has
 * no tokenizer to cut it with — so one the server rejects as longer than its context is recorded
 * as skipped ("too_long"), whatever `--overflow` says. OpenAI accepts at most
 * {@linkcode MAX_API_STOP_SEQUENCES} stop sequences: the first ones are sent, and every stop
 * sequence is applied to the returned text on this side. 429 and 5xx replies are retried with
 * exponential backoff (honouring `Retry-After`), a bounded number of times.
 *
 * @example
 * ```ts ignore
 * import { createOpenAIBackend } from "./openai_backend.ts";
 * import { runEval } from "./runner.ts";
 * const backend = createOpenAIBackend({
 *   baseUrl: ["http://10.0.0.1:8000", "http://10.0.0.2:8000"],
 *   model: "Qwen/Qwen2.5-0.5B",
 * });
 * const results = await runEval(backend, { tasks: ["synth_facts"], limit: 200 });
 * console.log(results.tasks.synth_facts.metrics.acc, results.usage);
 * ```
 * @module
 */
import type { ChoiceScores, GenerateOptions, Generation, RollingScore } from "../llm/engine.ts";
import { firstStop } from "../llm/stop_stream.ts";
import { splitTrailingWhitespace } from "../llm/tokenizer_rules.ts";
import { disjointWindow, rollingWindows } from "../llm/rolling_windows.ts";
import type { Backend, BackendNeeds, BackendUsage } from "./backend.ts";
import { AttemptFailure, EndpointPool, type EndpointStats } from "./endpoint_pool.ts";
import { type HttpSettings, OpenAIBackendError, quote, requestJson } from "./openai_http.ts";
import {
  codePoints,
  continuationScore,
  PromptLogprobsUnsupportedError,
  readEchoedLogprobs,
} from "./prompt_logprobs.ts";

export { OpenAIBackendError } from "./openai_http.ts";
export { PromptLogprobsUnsupportedError } from "./prompt_logprobs.ts";

/** Characters per token assumed by the backend's approximate `countTokens`. */
export const APPROX_CHARS_PER_TOKEN = 4;
/** Stop sequences an OpenAI request may carry; the rest are applied client-side. */
export const MAX_API_STOP_SEQUENCES = 4;

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_RETRIES = 4;
const DEFAULT_RETRY_BASE_MS = 1_000;
const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
/** Same default as the in-process engine's `generate`. */
const DEFAULT_MAX_TOKENS = 64;
const TOKENS_PER_PRICE_UNIT = 1_000;
/** What the scoring check sends: a context and a continuation any tokenizer splits in two. */
const PROBE_CONTEXT = "The capital of France is";
const PROBE_CHOICE = " Paris";

/** Options for {@linkcode createOpenAIBackend}. */
export interface OpenAIBackendOptions {
  /**
   * The server's base URL, with or without a trailing `/v1` (e.g. `http://127.0.0.1:8080` or
   * `https://api.openai.com/v1`), or several servers that serve the same model. Required.
   */
  baseUrl: string | readonly string[];
  /** Model name sent in every request (`--api-model`). Required. */
  model: string;
  /**
   * Bearer token. Default: the `OPENAI_API_KEY` environment variable; no `Authorization`
   * header when that is unset too (local servers usually need none). Never recorded.
   */
  apiKey?: string;
  /** Requests in flight per endpoint. Default: 4. */
  concurrency?: number;
  /** Per-request time limit in milliseconds. Default: 120000. */
  timeoutMs?: number;
  /**
   * Retries of a failed request (429 / 5xx, or another endpoint after one fails), so at most
   * 1 + maxRetries attempts (at least one per endpoint). Default: 4.
   */
  maxRetries?: number;
  /** First retry delay in milliseconds, doubled on each retry. Default: 1000. */
  retryBaseMs?: number;
  /** Longest wait between retries in milliseconds, `Retry-After` included. Default: 30000. */
  maxRetryDelayMs?: number;
  /**
   * Use `/v1/chat/completions` with the prompt as a single user message (the server applies
   * the model's chat template) instead of `/v1/completions`; no log-likelihoods then. Default:
   * false.
   */
  chat?: boolean;
  /** Price in USD per 1000 prompt tokens, for cost reporting. Default: none (no cost). */
  pricePer1kInput?: number;
  /** Price in USD per 1000 completion tokens, for cost reporting. Default: none (no cost). */
  pricePer1kOutput?: number;
}

/** Token usage and estimated cost of the requests an {@linkcode createOpenAIBackend} made. */
export interface OpenAIBackendUsage extends BackendUsage {
  /** Successful requests. */
  requests: number;
  /** Retried attempts (429 / 5xx, or another endpoint). */
  retries: number;
  /** Replies without `usage`, whose tokens were estimated from text length instead. */
  estimatedReplies: number;
  /** Per endpoint: requests answered and failed attempts (when there are several). */
  endpoints?: EndpointStats[];
}

/** A {@linkcode Backend} over an OpenAI-compatible API, with its usage always available. */
export interface OpenAIBackend extends Backend {
  /** Tokens, requests, retries and (when priced) cost so far. */
  usage: () => OpenAIBackendUsage;
}

/**
 * A {@linkcode Backend} that queries OpenAI-compatible servers; see the module documentation for
 * what it does and what is approximated.
 *
 * @example
 * ```ts ignore
 * import { createOpenAIBackend } from "./openai_backend.ts";
 * const backend = createOpenAIBackend({
 *   baseUrl: "https://api.openai.com/v1",
 *   model: "gpt-4o-mini",
 *   chat: true,
 *   pricePer1kInput: 0.00015,
 *   pricePer1kOutput: 0.0006,
 * });
 * const gen = await backend.generate("Question: What is 2 plus 2?\nAnswer:", { until: ["\n"] });
 * console.log(gen.text, backend.usage());
 * ```
 */
export function createOpenAIBackend(options: OpenAIBackendOptions): OpenAIBackend {
  const {
    model,
    concurrency = DEFAULT_CONCURRENCY,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxRetries = DEFAULT_MAX_RETRIES,
    retryBaseMs = DEFAULT_RETRY_BASE_MS,
    maxRetryDelayMs = DEFAULT_MAX_RETRY_DELAY_MS,
    chat = false,
    pricePer1kInput,
    pricePer1kOutput,
  } = options;
  const endpoints = endpointList(options.baseUrl);
  if (!model) {
    throw new Error("createOpenAIBackend: options.model is empty; name the model (--api-model)");
  }
  checkCount("concurrency", concurrency, 1);
  checkCount("maxRetries", maxRetries, 0);
  for (const [name, v] of Object.entries({ pricePer1kInput, pricePer1kOutput })) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      throw new Error(`createOpenAIBackend: options.${name} must be a number ≥ 0, got ${v}`);
    }
  }
  const apiKey = options.apiKey ?? Deno.env.get("OPENAI_API_KEY") ?? "";
  const path = `/v1/${chat ? "chat/completions" : "completions"}`;
  const priced = pricePer1kInput !== undefined || pricePer1kOutput !== undefined;
  const totals: OpenAIBackendUsage = {
    promptTokens: 0,
    completionTokens: 0,
    requests: 0,
    retries: 0,
    estimatedReplies: 0,
  };
  const http: HttpSettings = { apiKey, timeoutMs, model };
  const pool = new EndpointPool(endpoints, {
    perEndpoint: concurrency,
    maxAttempts: Math.max(1 + maxRetries, endpoints.length),
    retryBaseMs,
    maxRetryDelayMs,
    onRetry: () => totals.retries++,
  });
  /** What the endpoints say identifies the model (prepare), for the run identity. */
  let served: unknown = null;
  /**
   * Every endpoint is a tunebook server: a choice's request asks (`echo_logprobs_from`) for the
   * log-probabilities of the continuation only, not of the context every choice repeats.
   */
  let partialEcho = false;
  /** `max_tokens` a scoring request carries: 0, or 1 for a server that refuses 0. */
  let scoringMaxTokens: 0 | 1 = 0;
  let tokenizerInfo: Promise<{ prefix: number; maxLength: number }> | undefined;

  /** POST `body` to `path` on an endpoint of the pool; the reply and the endpoint's URL. */
  function post(
    route: string,
    body: Record<string, unknown>,
  ): Promise<{ reply: Record<string, unknown>; url: string }> {
    return pool.run(async (base) => {
      const url = base + route;
      return { reply: await requestJson(url, body, http), url };
    });
  }

  function count(reply: Record<string, unknown>, prompt: () => number, completion: () => number) {
    const usage = reply.usage as Record<string, unknown> | undefined;
    const p = typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : prompt();
    const c = typeof usage?.completion_tokens === "number" ? usage.completion_tokens : completion();
    if (typeof usage?.prompt_tokens !== "number" || typeof usage?.completion_tokens !== "number") {
      totals.estimatedReplies++;
    }
    totals.requests++;
    totals.promptTokens += p;
    totals.completionTokens += c;
    return { promptTokens: p, completionTokens: c };
  }

  async function generate(prompt: string, opts: GenerateOptions): Promise<Generation> {
    const { until = [], maxTokens = DEFAULT_MAX_TOKENS } = opts;
    const stops = until.filter((s) => s.length > 0);
    const body: Record<string, unknown> = {
      model,
      max_tokens: maxTokens,
      temperature: 0,
      ...(chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
      ...(stops.length ? { stop: stops.slice(0, MAX_API_STOP_SEQUENCES) } : {}),
    };
    const { reply, url } = await post(path, body);
    const choice = (reply.choices as Record<string, unknown>[] | undefined)?.[0];
    const raw = chat
      ? (choice?.message as Record<string, unknown> | undefined)?.content
      : choice?.text;
    if (typeof raw !== "string") {
      throw new OpenAIBackendError(
        `${url}: the reply has no ${chat ? "choices[0].message.content" : "choices[0].text"} ` +
          `(got ${quote(JSON.stringify(reply))}); is this an OpenAI-compatible ` +
          `${chat ? "chat " : ""}completions endpoint?${
            chat ? "" : " If it only serves chat, pass --chat."
          }`,
        url,
      );
    }
    const cut = firstStop(raw, stops);
    const text = cut >= 0 ? raw.slice(0, cut) : raw;
    const used = count(reply, () => approxTokens(prompt), () => approxTokens(raw));
    return {
      text,
      tokens: used.completionTokens,
      promptTokens: used.promptTokens,
      stoppedBy: stoppedBy(cut >= 0, choice?.finish_reason, choice, stops.length),
      // The server tokenizes; a prompt too long for it is an error (skipped), never cut here.
      truncatedTokens: 0,
    };
  }

  /**
   * Echo-score `prompts` in one request: each choice's reply, checked to hold its prompt's
   * log-probabilities. Falls back to `max_tokens: 1` for a server that refuses 0.
   */
  async function echo(
    prompts: (string | number[])[],
    texts: (string | undefined)[],
    from?: number,
  ): Promise<{ choices: Record<string, unknown>[]; url: string; generated: number }> {
    for (;;) {
      const body = {
        model,
        prompt: prompts,
        echo: true,
        logprobs: 1,
        max_tokens: scoringMaxTokens,
        temperature: 0,
        ...(from !== undefined ? { echo_logprobs_from: from } : {}),
      };
      let answer;
      try {
        answer = await post("/v1/completions", body);
      } catch (e) {
        if (e instanceof OpenAIBackendError && e.status === 400) {
          if (scoringMaxTokens === 0 && /max_tokens/i.test(e.message)) {
            scoringMaxTokens = 1;
            continue;
          }
          if (/echo|logprobs/i.test(e.message)) {
            throw new PromptLogprobsUnsupportedError(e.url, `it answered: ${e.message}`);
          }
        }
        throw e;
      }
      const { reply, url } = answer;
      const list = (reply.choices as Record<string, unknown>[] | undefined) ?? [];
      const choices = [...list].sort((a, b) => Number(a.index ?? 0) - Number(b.index ?? 0));
      if (choices.length !== prompts.length) {
        throw new PromptLogprobsUnsupportedError(
          url,
          `${prompts.length} prompts in one request got ${choices.length} choices back`,
        );
      }
      const generated = scoringMaxTokens;
      count(
        reply,
        () => texts.reduce((n, t) => n + approxTokens(t ?? ""), 0),
        () => generated * prompts.length,
      );
      return { choices, url, generated };
    }
  }

  async function scoreChoices(context: string, choices: string[]): Promise<ChoiceScores> {
    // The in-process engine's split (lm-eval's): trailing whitespace of the context moves to the
    // choice, so the choice's tokens start at or after the trimmed context's end.
    const [trimmed] = splitTrailingWhitespace(context, "");
    const end = codePoints(trimmed);
    const prompts = choices.map((c) => context + c);
    const from = partialEcho ? end : undefined;
    const { choices: out, url, generated } = await echo(prompts, prompts, from);
    const scores = out.map((choice, i) =>
      continuationScore(readEchoedLogprobs(choice, prompts[i], url, generated, from), end)
    );
    return {
      logprobs: scores.map((s) => s.logprob),
      tokenCounts: scores.map((s) => s.tokens),
      isGreedy: scores.map((s) => s.isGreedy),
      contextTokens: Math.min(...scores.map((s) => s.contextTokens)),
      truncatedTokens: 0,
    };
  }

  /** The server's tokens of `text` (no BOS), through vLLM's `POST /tokenize`. */
  async function tokenize(text: string, addSpecial = false): Promise<number[]> {
    const { reply, url } = await post("/tokenize", {
      model,
      prompt: text,
      add_special_tokens: addSpecial,
    });
    const tokens = reply.tokens;
    if (!Array.isArray(tokens) || !tokens.every((t) => Number.isInteger(t))) {
      throw new PromptLogprobsUnsupportedError(
        url,
        `POST /tokenize, which loglikelihood_rolling needs, gave no token ids (${
          quote(JSON.stringify(reply))
        })`,
      );
    }
    return tokens;
  }

  /** lm-eval's prefix token (BOS, else EOS) and window (max_model_len − 1), from the server. */
  function rollingSettings(): Promise<{ prefix: number; maxLength: number }> {
    tokenizerInfo ??= (async () => {
      const { reply: info, url } = await pool.run(async (base) => {
        const url = `${base}/tokenizer_info`;
        return { reply: await requestJson(url, undefined, http), url };
      });
      const { reply } = await post("/tokenize", { model, prompt: "a", add_special_tokens: false });
      const maxModelLen = Number(reply.max_model_len ?? info.model_max_length);
      if (!Number.isInteger(maxModelLen) || maxModelLen < 2) {
        throw new PromptLogprobsUnsupportedError(
          url,
          "neither POST /tokenize nor GET /tokenizer_info says the model's context length " +
            "(max_model_len), which the rolling windows are cut to",
        );
      }
      const id = (key: "bos" | "eos") => {
        const v = info[`${key}_token_id`];
        if (Number.isInteger(v)) return Promise.resolve(v as number);
        const t = info[`${key}_token`];
        return typeof t === "string" && t ? tokenize(t).then((ids) => ids[0]) : undefined;
      };
      const prefix = await (id("bos") ?? id("eos"));
      if (prefix === undefined) {
        throw new PromptLogprobsUnsupportedError(
          url,
          "GET /tokenizer_info names neither a BOS nor an EOS token to start a rolling window",
        );
      }
      return { prefix, maxLength: maxModelLen - 1 };
    })();
    tokenizerInfo.catch(() => (tokenizerInfo = undefined));
    return tokenizerInfo;
  }

  async function scoreRolling(text: string): Promise<RollingScore> {
    const { prefix, maxLength } = await rollingSettings();
    const tokens = await tokenize(text);
    if (tokens.length === 0) return { logprob: 0, tokens: 0, windows: 0 };
    const windows = rollingWindows(tokens, prefix, maxLength, 1).map(disjointWindow);
    // One request per window: the server scores it as the in-process engine scores it.
    const sums = await Promise.all(windows.map(async (w) => {
      const ids = [...w.context, ...w.predicted];
      const { choices: [choice], url, generated } = await echo([ids], [undefined]);
      const lp = (choice?.logprobs ?? {}) as { token_logprobs?: unknown };
      const scores = Array.isArray(lp.token_logprobs) ? lp.token_logprobs : [];
      if (scores.length !== ids.length + generated) {
        throw new PromptLogprobsUnsupportedError(
          url,
          `a prompt of ${ids.length} token ids came back with ${scores.length} log-probabilities`,
        );
      }
      let sum = 0;
      for (let i = w.context.length; i < ids.length; i++) {
        if (typeof scores[i] !== "number") {
          throw new PromptLogprobsUnsupportedError(url, `token ${i} has no log-probability`);
        }
        sum += scores[i];
      }
      return sum;
    }));
    return {
      logprob: sums.reduce((a, b) => a + b, 0),
      tokens: tokens.length,
      windows: windows.length,
    };
  }

  /** Every endpoint lists the model and agrees on what identifies it; scoring works when needed. */
  async function prepare(needs: BackendNeeds): Promise<void> {
    const seen = await Promise.all(endpoints.map((base) => modelEntry(base, model, http)));
    const known = seen.filter((s) => s.fingerprint !== null);
    const first = known[0];
    for (const s of known) {
      if (JSON.stringify(s.fingerprint) !== JSON.stringify(first.fingerprint)) {
        throw new Error(
          `the endpoints do not serve the same "${model}": ${first.base} reports ` +
            `${JSON.stringify(first.fingerprint)}, ${s.base} ${JSON.stringify(s.fingerprint)}. ` +
            `Give --endpoint only servers of one model (same weights and adapters).`,
        );
      }
    }
    served = first?.fingerprint ?? null;
    partialEcho = seen.length > 0 && seen.every((s) => s.tunebook);
    if (needs.scoring && !chat) await scoreChoices(PROBE_CONTEXT, [PROBE_CHOICE]);
  }

  const backend: OpenAIBackend = {
    identity: {
      backend: "openai-compatible",
      baseUrl: endpoints[0],
      endpoints,
      model,
      chat,
      prices: priced
        ? { inputPer1k: pricePer1kInput ?? 0, outputPer1k: pricePer1kOutput ?? 0, currency: "USD" }
        : null,
    },
    get runIdentity() {
      // What the endpoints serve, not which endpoints: a run resumes over another set of them.
      return { backend: "openai-compatible", model, chat, served };
    },
    concurrency: pool.capacity,
    prepare,
    generate,
    countTokens: approxTokens,
    tokensProcessed: () => totals.promptTokens + totals.completionTokens,
    usage: () => ({
      ...totals,
      ...(endpoints.length > 1 ? { endpoints: pool.stats() } : {}),
      ...(priced
        ? {
          costUsd: (totals.promptTokens * (pricePer1kInput ?? 0) +
            totals.completionTokens * (pricePer1kOutput ?? 0)) / TOKENS_PER_PRICE_UNIT,
        }
        : {}),
    }),
    dispose: () => Promise.resolve(),
  };
  if (!chat) {
    backend.scoreChoices = scoreChoices;
    backend.scoreRolling = scoreRolling;
  }
  return backend;
}

/**
 * The model's entry in an endpoint's `GET /v1/models`, and what identifies it: tunebook's file
 * hashes, vLLM's `root`, else null. An endpoint without the route (or the list) tells nothing;
 * one that lists other models only is an error.
 */
async function modelEntry(
  base: string,
  model: string,
  http: HttpSettings,
): Promise<{ base: string; fingerprint: unknown; tunebook: boolean }> {
  let reply: Record<string, unknown>;
  try {
    reply = await requestJson(`${base}/v1/models`, undefined, http);
  } catch (e) {
    const failure = e as AttemptFailure;
    const status = (failure.cause as OpenAIBackendError | undefined)?.status;
    // No model list here (404), or not allowed to read it: nothing to check.
    if (failure instanceof AttemptFailure && status !== undefined && status >= 400) {
      return { base, fingerprint: null, tunebook: false };
    }
    throw failure instanceof AttemptFailure ? failure.cause : e;
  }
  const data = Array.isArray(reply.data) ? reply.data as Record<string, unknown>[] : undefined;
  if (!data) return { base, fingerprint: null, tunebook: false };
  const entry = data.find((m) => m.id === model);
  if (!entry) {
    const names = data.map((m) => String(m.id)).join(", ") || "none";
    throw new OpenAIBackendError(
      `${base}/v1/models does not list model "${model}" (it serves: ${names}); check --api-model`,
      `${base}/v1/models`,
    );
  }
  const fingerprint = entry.tunebook ??
    (typeof entry.root === "string" ? { root: entry.root } : null);
  return { base, fingerprint, tunebook: entry.tunebook !== undefined };
}

/** Maps the API's finish_reason (and a client-side cut) to the engine's stop reasons. */
function stoppedBy(
  cutHere: boolean,
  finishReason: unknown,
  choice: Record<string, unknown> | undefined,
  stopCount: number,
): Generation["stoppedBy"] {
  if (cutHere) return "stop";
  if (finishReason === "length") return "max_tokens";
  // OpenAI's "stop" covers both end of sequence and a stop sequence; vLLM says which in
  // stop_reason (null = end of sequence). Without stop sequences it can only be the end.
  if (finishReason === "stop") {
    return stopCount === 0 || (choice && "stop_reason" in choice && choice.stop_reason === null)
      ? "eos"
      : "stop";
  }
  return "eos";
}

/** The endpoints as base URLs (no trailing `/v1`), each once. */
function endpointList(raw: string | readonly string[]): string[] {
  const list = typeof raw === "string" ? [raw] : [...raw];
  if (list.length === 0) {
    throw new Error("createOpenAIBackend: no endpoint; pass --endpoint URL (one or more)");
  }
  const out = list.map(normalizeBaseUrl);
  const twice = out.find((u, i) => out.indexOf(u) !== i);
  if (twice) {
    throw new Error(
      `createOpenAIBackend: endpoint ${twice} is given twice; give each server once ` +
        `(--concurrency sets the requests in flight per endpoint)`,
    );
  }
  return out;
}

function normalizeBaseUrl(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    parsed = new URL("invalid:");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(
      `createOpenAIBackend: baseUrl ${JSON.stringify(raw)} is not an http(s) URL; ` +
        `pass e.g. --endpoint http://127.0.0.1:8080`,
    );
  }
  return parsed.href.replace(/\/+$/, "").replace(/\/v1$/, "");
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new Error(`createOpenAIBackend: options.${name} must be an integer ≥ ${min}, got ${v}`);
  }
}

function approxTokens(text: string): number {
  return Math.ceil(text.length / APPROX_CHARS_PER_TOKEN);
}
