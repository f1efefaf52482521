/**
 * The OpenAI-compatible server on the bundled tiny model, driven by the official `openai` npm
 * client (and raw fetch where a client cannot misbehave enough): completions, chat through the
 * GGUF's chat template, streaming, stop sequences, seeds and top_p, adapter selection by model
 * name, concurrency, structured logs, and every error path — after each of which the server
 * still answers.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { createOpenAIBackend } from "../../lib/eval/openai_backend.ts";
import { modelChatTemplate } from "../../lib/llm/chat.ts";
import { LlmEngine } from "../../lib/llm/engine.ts";
import { loadModel } from "../../lib/llm/model.ts";
import { resolveServeConfig } from "../../lib/serve/config.ts";
import type { LogRecord } from "../../lib/serve/log.ts";
import { sseData } from "../../lib/serve/loadgen.ts";
import { type RunningServer, startServer } from "../../lib/serve/server.ts";
import { writeRandomLora } from "./_serve_lora.ts";
import { TINY_GGUF } from "./_tiny.ts";

/**
 * One ggml thread per context: the server, the in-process engine and the client share this
 * process and the machine's 2 cores, and ggml's spinning workers slow everything down by orders of
 * magnitude when oversubscribed.
 */
const THREADS = 1;
const API_KEY = "test-key";
/** How long a freed sequence may take to show as free (it is released at the next token). */
const RELEASE_WITHIN_MS = 2000;
const POLL_MS = 20;
const PROMPTS = [
  "Question: What is 12 plus 7?\nAnswer:",
  "The favorite color of Torselven is",
  "Question: What is 3 times 4?\nAnswer:",
  "Once upon a time",
  "Context: Mira keeps a red pet named Oslo.\nQuestion: What is the pet's name?\nAnswer:",
  "Torselven works as a",
  "Question: What is 40 minus 11?\nAnswer:",
  "The capital of",
];

const dir = mkdtempSync(join(tmpdir(), "tunebook-serve-"));
const lora = join(dir, "arith-lora.gguf");
await writeRandomLora(lora);

const logs: LogRecord[] = [];
const server: RunningServer = startServer(
  resolveServeConfig({
    port: 0,
    threads: THREADS,
    gpu: false,
    sequences: 4,
    models: {
      tiny: { model: TINY_GGUF },
      "tiny+lora-arith": { model: TINY_GGUF, adapters: [{ path: lora, scale: 1 }] },
      "tiny+lora-off": { model: TINY_GGUF, adapters: [{ path: lora, scale: 0 }] },
    },
  }),
  { log: (r) => logs.push(r) },
);
await server.ready;
const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });

// A second server with a key and tight limits, for 401 / 413 / 429.
const strict: RunningServer = startServer(
  resolveServeConfig({
    port: 0,
    threads: THREADS,
    gpu: false,
    apiKey: API_KEY,
    sequences: 1,
    maxQueue: 1,
    maxBodyBytes: 4096,
    models: { tiny: { model: TINY_GGUF } },
  }),
  { log: () => {} },
);
await strict.ready;
const strictClient = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: API_KEY, maxRetries: 0 });

// The in-process engine: what the server must reproduce at temperature 0.
const loaded = await loadModel(TINY_GGUF, { gpu: false });
const engine = await LlmEngine.create(loaded, { sequences: 1, threads: THREADS });

/** Greedy completion text through the API (extra fields such as ignore_eos pass through). */
async function complete(
  model: string,
  prompt: string,
  extra: Record<string, unknown> = {},
): Promise<OpenAI.Completion> {
  return await client.completions.create(
    {
      model,
      prompt,
      max_tokens: 16,
      temperature: 0,
      ...extra,
    } as OpenAI.CompletionCreateParamsNonStreaming,
  );
}

async function busy(s: RunningServer): Promise<number> {
  const health = await (await fetch(`${s.url}/health`)).json();
  return Object.values(health.contexts as Record<string, { busy: number; waiting: number }>)
    .reduce((n, c) => n + c.busy + c.waiting, 0);
}

async function waitIdle(s: RunningServer): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < RELEASE_WITHIN_MS) {
    if (await busy(s) === 0) return performance.now() - start;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`sequences still busy ${RELEASE_WITHIN_MS} ms later: ${await busy(s)}`);
}

async function expectApiError(
  p: Promise<unknown>,
  status: number,
  code?: string,
): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIError, `expected an API error, got ${e}`);
    assert.equal(e.status, status, e.message);
    if (code) assert.equal(e.code, code, e.message);
    return e;
  }
  throw new Error(`expected ${status}, got a success`);
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "GET /v1/models lists every model name; /health says ok",
  ...opts,
  fn: async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ["tiny", "tiny+lora-arith", "tiny+lora-off"]);
    assert.equal((await client.models.retrieve("tiny+lora-arith")).owned_by, "tunebook");
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
  },
});

Deno.test({
  name: "completions at temperature 0 equal the in-process engine's greedy generation",
  ...opts,
  fn: async () => {
    for (const prompt of PROMPTS.slice(0, 4)) {
      const want = await engine.generate(prompt, { maxTokens: 16 });
      const got = await complete("tiny", prompt);
      assert.equal(got.object, "text_completion");
      assert.equal(got.choices[0].text, want.text, prompt);
      assert.equal(got.usage?.prompt_tokens, want.promptTokens);
      assert.equal(got.usage?.completion_tokens, want.tokens);
      // (the engine reports an end-of-sequence stop as "max_tokens": count the tokens instead)
      assert.equal(got.choices[0].finish_reason, want.tokens < 16 ? "stop" : "length");
    }
  },
});

Deno.test({
  name: "tunebook's own eval backend gets the engine's answers through the server",
  ...opts,
  fn: async () => {
    const backend = createOpenAIBackend({ baseUrl: server.url, model: "tiny" });
    for (const prompt of PROMPTS.slice(0, 3)) {
      const until = ["\n"];
      const want = await engine.generate(prompt, { maxTokens: 12, until });
      const got = await backend.generate(prompt, { maxTokens: 12, until });
      assert.equal(got.text, want.text, prompt);
    }
    await backend.dispose();
  },
});

Deno.test({
  name: "sampling: a seed repeats, seeds differ, top_p near 0 is greedy, max_tokens bounds",
  ...opts,
  fn: async () => {
    const prompt = PROMPTS[3];
    const sample = (seed: number) =>
      complete("tiny", prompt, { temperature: 1, seed, max_tokens: 24, ignore_eos: true });
    const a = (await sample(7)).choices[0].text;
    assert.equal((await sample(7)).choices[0].text, a, "same seed, same text");
    const others = await Promise.all(
      [1, 2, 3, 4].map(async (s) => (await sample(s)).choices[0].text),
    );
    assert.ok(others.some((t) => t !== a), "different seeds give different texts");
    const greedy =
      (await complete("tiny", prompt, { max_tokens: 24, ignore_eos: true })).choices[0].text;
    const nucleus = await complete("tiny", prompt, {
      temperature: 1,
      top_p: 1e-6,
      seed: 3,
      max_tokens: 24,
      ignore_eos: true,
    });
    assert.equal(nucleus.choices[0].text, greedy, "top_p keeps only the most likely token");
    const short = await complete("tiny", prompt, { max_tokens: 3, ignore_eos: true });
    assert.equal(short.usage?.completion_tokens, 3);
    assert.equal(short.choices[0].finish_reason, "length");
  },
});

Deno.test({
  name:
    "chat completions apply the GGUF's chat template (same text as completing the rendered prompt)",
  ...opts,
  fn: async () => {
    const messages = [
      { role: "system" as const, content: "Answer with a number." },
      { role: "user" as const, content: "What is 12 plus 7?" },
    ];
    const rendered = modelChatTemplate(loaded.model)!.render(messages);
    assert.match(rendered, /### Instruction:\nWhat is 12 plus 7\?\n\n### Response:\n$/);
    const extra = { ignore_eos: true, max_tokens: 12, temperature: 0 };
    const chat = await client.chat.completions.create(
      { model: "tiny", messages, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming,
    );
    const plain = await complete("tiny", rendered, extra);
    assert.equal(chat.object, "chat.completion");
    assert.equal(chat.choices[0].message.role, "assistant");
    assert.equal(chat.choices[0].message.content, plain.choices[0].text);
    assert.equal(chat.usage?.prompt_tokens, plain.usage?.prompt_tokens);
    assert.equal(chat.usage?.completion_tokens, 12);
  },
});

Deno.test({
  name: "streaming: deltas add up to the non-streamed text; finish reason, usage and [DONE] arrive",
  ...opts,
  fn: async () => {
    const prompt = PROMPTS[1];
    const params = { model: "tiny", prompt, max_tokens: 20, temperature: 0, ignore_eos: true };
    const whole = (await complete("tiny", prompt, params)).choices[0].text;
    const stream = await client.completions.create(
      {
        ...params,
        stream: true,
        stream_options: { include_usage: true },
      } as OpenAI.CompletionCreateParamsStreaming,
    );
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.text;
        finish = c.finish_reason ?? finish;
      }
    }
    assert.equal(text, whole);
    assert.equal(finish, "length");
    assert.equal(usage?.completion_tokens, 20);
    assert.ok(chunks > 5, `text arrives in pieces (${chunks} chunks)`);

    const chat = await client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Tell a story." }],
      max_tokens: 10,
      stream: true,
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const deltas: OpenAI.ChatCompletionChunk.Choice.Delta[] = [];
    let chatFinish: string | null = null;
    for await (const chunk of chat) {
      assert.equal(chunk.object, "chat.completion.chunk");
      for (const c of chunk.choices) {
        deltas.push(c.delta);
        chatFinish = c.finish_reason ?? chatFinish;
      }
    }
    assert.equal(deltas[0].role, "assistant", "the first delta carries the role");
    assert.ok(deltas.map((d) => d.content ?? "").join("").length > 0);
    assert.equal(chatFinish, "length");

    // The raw stream ends with data: [DONE].
    const res = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ ...params, stream: true }),
    });
    assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const events = [];
    for await (const d of sseData(res.body!)) events.push(d);
    assert.equal(events.at(-1), "[DONE]");
  },
});

Deno.test({
  name: "stop sequences cut the text before the first one, streamed or not, even across tokens",
  ...opts,
  fn: async () => {
    const prompt = PROMPTS[1];
    const base = { max_tokens: 24, ignore_eos: true };
    const whole = (await complete("tiny", prompt, base)).choices[0].text;
    // A stop string that spans token boundaries: 4 characters from the middle of the text.
    const at = Math.floor(whole.length / 2);
    const stop = whole.slice(at, at + 4);
    const want = whole.slice(0, whole.indexOf(stop));
    const r = await complete("tiny", prompt, { ...base, stop: [stop, "never-appears"] });
    assert.equal(r.choices[0].text, want);
    assert.equal(r.choices[0].finish_reason, "stop");
    const stream = await client.completions.create(
      {
        model: "tiny",
        prompt,
        temperature: 0,
        ...base,
        stop,
        stream: true,
      } as OpenAI.CompletionCreateParamsStreaming,
    );
    let text = "";
    for await (const chunk of stream) text += chunk.choices.map((c) => c.text).join("");
    assert.equal(text, want);
  },
});

Deno.test({
  name: "adapter selection by model name: the LoRA changes the output; at scale 0 it does not",
  ...opts,
  fn: async () => {
    const prompt = PROMPTS[1];
    const extra = { max_tokens: 12, ignore_eos: true };
    const [base, tuned, off] = await Promise.all(
      ["tiny", "tiny+lora-arith", "tiny+lora-off"].map(async (m) =>
        (await complete(m, prompt, extra)).choices[0].text
      ),
    );
    assert.notEqual(tuned, base);
    assert.equal(off, base);
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.deepEqual(Object.keys(health.contexts).sort(), [
      "tiny",
      "tiny+lora-arith",
      "tiny+lora-off",
    ]);
  },
});

Deno.test({
  name: "concurrent requests (more than the sequences) give the serial answers",
  ...opts,
  fn: async () => {
    const extra = { max_tokens: 16, ignore_eos: true };
    const serial = [];
    for (const p of PROMPTS) serial.push((await complete("tiny", p, extra)).choices[0].text);
    const parallel = await Promise.all(
      PROMPTS.map(async (p) => (await complete("tiny", p, extra)).choices[0].text),
    );
    assert.deepEqual(parallel, serial);
  },
});

Deno.test({
  name:
    "requests with and without the adapter, interleaved and concurrent, give the serial answers",
  ...opts,
  fn: async () => {
    const extra = { max_tokens: 12 };
    // Every prompt on each model, alternating, more at once than either context has sequences.
    const mix = PROMPTS.flatMap((p) => [["tiny", p], ["tiny+lora-arith", p]] as const);
    const serial: string[] = [];
    for (const [m, p] of mix) serial.push((await complete(m, p, extra)).choices[0].text);
    const parallel = await Promise.all(
      mix.map(async ([m, p]) => (await complete(m, p, extra)).choices[0].text),
    );
    assert.deepEqual(parallel, serial);
    // The adapter changes the answers, so a request served by the other model would show.
    const differs = PROMPTS.filter((_, i) => serial[2 * i] !== serial[2 * i + 1]).length;
    assert.ok(differs >= PROMPTS.length / 2, `the adapter changed ${differs} of ${PROMPTS.length}`);
    // And the answers without it are the in-process engine's.
    for (const [i, p] of PROMPTS.entries()) {
      assert.equal(serial[2 * i], (await engine.generate(p, { maxTokens: 12 })).text, p);
    }
  },
});

Deno.test({
  name: "structured logs: one record per request with its id, tokens in/out and latency",
  ...opts,
  fn: async () => {
    const res = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "x-request-id": "log-check-1" },
      body: JSON.stringify({ model: "tiny", prompt: PROMPTS[0], max_tokens: 5, ignore_eos: true }),
    });
    assert.equal(res.headers.get("x-request-id"), "log-check-1");
    const body = await res.json();
    assert.equal(body.id, "cmpl-log-check-1");
    const rec = logs.find((r) => r.request_id === "log-check-1");
    assert.ok(rec, "a log record with the request id");
    assert.equal(rec.event, "request");
    assert.equal(rec.status, 200);
    assert.equal(rec.model, "tiny");
    assert.equal(rec.prompt_tokens, body.usage.prompt_tokens);
    assert.equal(rec.completion_tokens, 5);
    assert.equal(typeof rec.latency_ms, "number");
    assert.equal(typeof rec.tokens_per_s, "number");
  },
});

Deno.test({
  name:
    "bad input: malformed JSON, wrong types, unknown model, oversized prompt, negative max_tokens",
  ...opts,
  fn: async () => {
    const post = (body: string, path = "/v1/completions") =>
      fetch(`${server.url}${path}`, { method: "POST", body });
    for (const body of ["{bad json", "", "[1,2]", '"prompt"']) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      const err = (await res.json()).error;
      assert.equal(err.type, "invalid_request_error");
    }
    const e1 = await expectApiError(complete("tiny", "x", { max_tokens: -5 }), 400);
    assert.equal((e1.error as { param: string }).param, "max_tokens");
    const e2 = await expectApiError(
      complete("tiny", "x", { temperature: "hot" }),
      400,
      "invalid_type",
    );
    assert.equal((e2.error as { param: string }).param, "temperature");
    await expectApiError(complete("tiny", "x", { max_tokens: "7" }), 400, "invalid_type");
    await expectApiError(
      client.chat.completions.create(
        {
          model: "tiny",
          messages: "hi",
        } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
      ),
      400,
    );
    const e3 = await expectApiError(complete("tiny-nope", "x"), 404, "model_not_found");
    assert.match(e3.message, /tiny, tiny\+lora-arith/);
    await expectApiError(client.models.retrieve("nope"), 404, "model_not_found");
    // A prompt longer than the 512-token context: 400 context_length_exceeded.
    const long = "Question: What is 12 plus 7? ".repeat(200);
    await expectApiError(complete("tiny", long), 400, "context_length_exceeded");
    const chatLong = client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: long }],
    });
    await expectApiError(chatLong, 400, "context_length_exceeded");
    const route = await post("{}", "/v1/embeddings");
    assert.equal(route.status, 404);
    assert.equal((await route.json()).error.code, "unknown_route");
    const method = await fetch(`${server.url}/v1/completions`);
    assert.equal(method.status, 405);
    await method.body?.cancel();
    // Still answering.
    assert.equal((await complete("tiny", PROMPTS[0], { max_tokens: 2 })).choices.length, 1);
  },
});

Deno.test({
  name:
    "401 without or with a wrong key, 413 for a body over the limit, 429 when the queue is full",
  ...opts,
  fn: async () => {
    const noKey = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expectApiError(noKey.models.list(), 401, "invalid_api_key");
    const bare = await fetch(`${strict.url}/v1/models`);
    assert.equal(bare.status, 401);
    assert.equal((await bare.json()).error.code, "missing_api_key");
    assert.equal((await fetch(`${strict.url}/health`).then((r) => r.json())).status, "ok");

    const big = strictClient.completions.create({ model: "tiny", prompt: "x".repeat(5000) });
    await expectApiError(big, 413, "request_too_large");

    // One sequence and one queue place: two long streams take both, the third is refused.
    const long = { model: "tiny", prompt: PROMPTS[3], max_tokens: 400, ignore_eos: true };
    const controllers = [new AbortController(), new AbortController()];
    const streams = controllers.map((c) =>
      fetch(`${strict.url}/v1/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({ ...long, stream: true }),
        signal: c.signal,
      })
    );
    const first = await streams[0];
    await first.body!.getReader().read(); // generating
    const start = performance.now();
    while ((await busy(strict)) < 2) await new Promise((r) => setTimeout(r, POLL_MS));
    const e = await expectApiError(strictClient.completions.create(long), 429, "queue_full");
    assert.ok(performance.now() - start < RELEASE_WITHIN_MS, "refused at once, not after waiting");
    assert.equal(e.headers?.get("retry-after"), "1");
    // Disconnecting frees the running sequence and the queued place.
    for (const c of controllers) c.abort();
    await Promise.allSettled(streams);
    await waitIdle(strict);
    const after = await strictClient.completions.create({
      model: "tiny",
      prompt: "Hi",
      max_tokens: 2,
    });
    assert.equal(after.choices.length, 1);
  },
});

Deno.test({
  name:
    "a client that disconnects mid-stream frees its sequence at once; the next request is answered",
  ...opts,
  fn: async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "x-request-id": "disconnect-1" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "Tell a long story." }],
        max_tokens: 480,
        ignore_eos: true,
        stream: true,
      }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    assert.ok(await busy(server) >= 1, "generating");
    controller.abort();
    const ms = await waitIdle(server);
    const rec = logs.find((r) => r.request_id === "disconnect-1");
    assert.equal(rec?.status, 499, "logged as closed by the client");
    assert.ok((rec?.completion_tokens as number) < 480, `stopped early after ${ms} ms`);
    const next = await complete("tiny", PROMPTS[0], { max_tokens: 4 });
    assert.equal(next.choices.length, 1);
  },
});

Deno.test({
  name: "503 while the models load (health too), then ready",
  ...opts,
  fn: async () => {
    // Copies of the model, loaded one after the other (the file the other servers here use is
    // loaded in this process already, shared, and would be ready before a request arrives).
    const models: Record<string, { model: string }> = {};
    for (let i = 0; i < 8; i++) {
      const copy = join(dir, `late-tiny-${i}.gguf`);
      copyFileSync(TINY_GGUF, copy);
      models[i === 0 ? "tiny" : `tiny-${i}`] = { model: copy };
    }
    const late = startServer(
      resolveServeConfig({ port: 0, threads: THREADS, gpu: false, models }),
      { log: () => {} },
    );
    try {
      const [health, completion] = await Promise.all([
        fetch(`${late.url}/health`),
        fetch(`${late.url}/v1/completions`, {
          method: "POST",
          body: JSON.stringify({ model: "tiny", prompt: "x" }),
        }),
      ]);
      assert.equal(health.status, 503);
      assert.equal((await health.json()).status, "loading");
      assert.equal(completion.status, 503);
      assert.equal((await completion.json()).error.code, "model_loading");
      assert.equal(completion.headers.get("retry-after"), "1");
      await late.ready;
      assert.equal((await fetch(`${late.url}/health`)).status, 200);
    } finally {
      await late.shutdown();
    }
  },
});

Deno.test({
  name: "contexts are bounded: the least recently used idle one is evicted; 503 when all are busy",
  ...opts,
  fn: async () => {
    const lru = startServer(
      resolveServeConfig({
        port: 0,
        threads: THREADS,
        gpu: false,
        maxContexts: 2,
        models: {
          tiny: { model: TINY_GGUF },
          "tiny+a": { model: TINY_GGUF, adapters: [{ path: lora, scale: 1 }] },
          "tiny+b": { model: TINY_GGUF, adapters: [{ path: lora, scale: 0.5 }] },
        },
      }),
      { log: () => {} },
    );
    try {
      await lru.ready;
      const c = new OpenAI({ baseURL: `${lru.url}/v1`, apiKey: "x", maxRetries: 0 });
      const live = async () =>
        Object.keys((await (await fetch(`${lru.url}/health`)).json()).contexts).sort();
      const ask = (model: string) =>
        c.completions.create({ model, prompt: "Hi", max_tokens: 2, temperature: 0 });
      await ask("tiny+a");
      assert.deepEqual(await live(), ["tiny", "tiny+a"]);
      await ask("tiny+b");
      assert.deepEqual(await live(), ["tiny+a", "tiny+b"], "tiny was the least recently used");
      const before = (await ask("tiny+a")).choices[0].text;
      await ask("tiny");
      assert.deepEqual(await live(), ["tiny", "tiny+a"]);
      assert.equal(
        (await ask("tiny+a")).choices[0].text,
        before,
        "a reloaded context answers alike",
      );
      // Both live contexts busy: a third model name cannot be loaded now.
      const controllers = ["tiny", "tiny+a"].map(() => new AbortController());
      const streams = await Promise.all(
        ["tiny", "tiny+a"].map((model, i) =>
          fetch(`${lru.url}/v1/completions`, {
            method: "POST",
            body: JSON.stringify({
              model,
              prompt: "Hi",
              max_tokens: 400,
              ignore_eos: true,
              stream: true,
            }),
            signal: controllers[i].signal,
          })
        ),
      );
      for (const s of streams) await s.body!.getReader().read();
      await expectApiError(ask("tiny+b"), 503, "contexts_busy");
      for (const ctl of controllers) ctl.abort();
      await waitIdle(lru);
      assert.equal((await ask("tiny+b")).choices.length, 1);
    } finally {
      await lru.shutdown();
    }
  },
});

Deno.test({
  name: "shutdown frees everything",
  ...opts,
  fn: async () => {
    await Promise.all([server.shutdown(), strict.shutdown()]);
    await engine.dispose();
    await loaded.model.dispose();
    await Deno.remove(dir, { recursive: true });
    const refused = await fetch(`${server.url}/health`).then(() => "answered", () => "refused");
    assert.equal(refused, "refused");
  },
});
