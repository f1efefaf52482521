/**
 * Tests of lib/eval/openai_backend.ts against a fake OpenAI-compatible server (Deno.serve on
 * 127.0.0.1, a random port, shut down at the end of each test). The fake answers arithmetic
 * questions deterministically (one known item wrong), counts a "token" as one character,
 * honours `stop` (rejecting more than 4, as OpenAI does) and `max_tokens`, and returns `usage`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ContextOverflowError } from "../../lib/llm/engine.ts";
import {
  createOpenAIBackend,
  type OpenAIBackendOptions,
  type OpenAIBackendUsage,
} from "../../lib/eval/openai_backend.ts";
import { type EvalResults, runEval, type Sample } from "../../lib/eval/runner.ts";

const MODEL = "fake-model";
const API_KEY = "sk-test-secret-123";
/** The one test item the fake server gets wrong ("84 minus 5" → 80, not 79). */
const WRONG_QUESTION = "84 minus 5";
const WRONG_ANSWER = 80;
const PRICE_IN = 0.5;
const PRICE_OUT = 2;
const TOKENS_PER_PRICE_UNIT = 1000;
const LIMIT = 5;
/** Fast retries so the 429 / 5xx tests do not wait. */
const FAST_RETRY: Partial<OpenAIBackendOptions> = { retryBaseMs: 1, maxRetryDelayMs: 5 };

interface Seen {
  path: string;
  body: Record<string, unknown>;
  authorization: string | null;
}

type Handler = (body: Record<string, unknown>, path: string, count: number) => Response;

/** Runs `fn` against a fake server answering with `handler`; records every request. */
async function withServer(
  handler: Handler,
  fn: (baseUrl: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const body = await req.json().catch(() => ({}));
      const path = new URL(req.url).pathname;
      seen.push({ path, body, authorization: req.headers.get("authorization") });
      return handler(body, path, seen.length);
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    await server.shutdown();
  }
}

function json(status: number, data: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** What the fake "model" continues a prompt with: the answer, then a next question. */
function continuation(prompt: string): string {
  const qs = [...prompt.matchAll(/What is (\d+) (plus|minus|times) (\d+)\?/g)];
  const q = qs[qs.length - 1];
  if (!q) return " I do not know.";
  const [a, op, b] = [Number(q[1]), q[2], Number(q[3])];
  let answer = op === "plus" ? a + b : op === "minus" ? a - b : a * b;
  if (`${q[1]} ${q[2]} ${q[3]}` === WRONG_QUESTION) answer = WRONG_ANSWER;
  return ` ${answer}\nQuestion: What is 1 plus 1?\nAnswer: 2`;
}

/** An OpenAI-style completion of `raw`, honouring stop (≤ 4) and max_tokens (1 char = 1 token). */
function complete(body: Record<string, unknown>, raw: string, chat: boolean): Response {
  const stop = (body.stop as string[] | undefined) ?? [];
  if (stop.length > 4) {
    return json(400, { error: { message: "stop: at most 4 sequences", type: "invalid_request" } });
  }
  let text = raw;
  let finish = "stop";
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0) text = text.slice(0, i);
  }
  const maxTokens = Number(body.max_tokens);
  if (text.length > maxTokens) {
    text = text.slice(0, maxTokens);
    finish = "length";
  }
  const prompt = chat
    ? (body.messages as { content: string }[]).map((m) => m.content).join("")
    : String(body.prompt);
  return json(200, {
    id: "cmpl-1",
    object: chat ? "chat.completion" : "text_completion",
    model: body.model,
    choices: [
      chat
        ? { index: 0, message: { role: "assistant", content: text }, finish_reason: finish }
        : { index: 0, text, finish_reason: finish },
    ],
    usage: {
      prompt_tokens: prompt.length,
      completion_tokens: text.length,
      total_tokens: prompt.length + text.length,
    },
  });
}

const arithmetic: Handler = (body, path) =>
  path === "/v1/completions"
    ? complete(body, continuation(String(body.prompt)), false)
    : json(404, { error: { message: `no route ${path}` } });

function readSamples(dir: string): Sample[] {
  return Deno.readTextFileSync(join(dir, "samples.jsonl")).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
}

Deno.test("runEval over the OpenAI backend: synth_arithmetic results, samples, usage and cost", async () => {
  const outDir = Deno.makeTempDirSync();
  try {
    await withServer(arithmetic, async (baseUrl, seen) => {
      const backend = createOpenAIBackend({
        baseUrl,
        model: MODEL,
        apiKey: API_KEY,
        pricePer1kInput: PRICE_IN,
        pricePer1kOutput: PRICE_OUT,
      });
      const results = await runEval(backend, {
        tasks: ["synth_arithmetic"],
        limit: LIMIT,
        progress: false,
        outDir,
      });
      const onDisk: EvalResults = JSON.parse(Deno.readTextFileSync(join(outDir, "results.json")));
      assert.deepEqual(onDisk, JSON.parse(JSON.stringify(results)));
      assert.equal(onDisk.complete, true);
      assert.deepEqual(onDisk.model, {
        backend: "openai-compatible",
        baseUrl,
        endpoints: [baseUrl],
        model: MODEL,
        chat: false,
        prices: { inputPer1k: PRICE_IN, outputPer1k: PRICE_OUT, currency: "USD" },
      });
      const task = onDisk.tasks.synth_arithmetic;
      assert.equal(task.n, LIMIT);
      assert.equal(task.metrics["exact_match,remove_whitespace"].value, (LIMIT - 1) / LIMIT);

      const samples = readSamples(outDir);
      assert.equal(samples.length, LIMIT);
      for (const s of samples) {
        const wrong = s.prompt.includes(WRONG_QUESTION);
        assert.equal(s.prediction.trim(), wrong ? String(WRONG_ANSWER) : s.references[0]);
        assert.equal(s.metrics["exact_match,remove_whitespace"], wrong ? 0 : 1, s.doc_id);
        assert.equal(s.filtered?.remove_whitespace, s.prediction.trimStart());
        assert.ok(!s.prediction.includes("\n"), "stop sequence cut the generation");
      }
      assert.equal(samples.filter((s) => s.prompt.includes(WRONG_QUESTION)).length, 1);

      // What went over the wire: the model list (what identifies the model), then one greedy
      // completion request per item, with the key.
      assert.equal(seen[0].path, "/v1/models");
      assert.equal(seen.length, LIMIT + 1);
      for (const r of seen.slice(1)) {
        assert.equal(r.path, "/v1/completions");
        assert.equal(r.authorization, `Bearer ${API_KEY}`);
        assert.equal(r.body.model, MODEL);
        assert.equal(r.body.temperature, 0);
        assert.equal(r.body.max_tokens, 16);
        assert.deepEqual(r.body.stop, ["\n"]);
      }
      // Usage from the server's counts (1 char = 1 token in the fake), cost from the prices.
      const promptTokens = samples.reduce((n, s) => n + s.prompt.length, 0);
      const completionTokens = samples.reduce((n, s) => n + s.prediction.length, 0);
      const usage = onDisk.usage as OpenAIBackendUsage;
      assert.equal(usage.promptTokens, promptTokens);
      assert.equal(usage.completionTokens, completionTokens);
      assert.equal(usage.requests, LIMIT);
      assert.equal(usage.retries, 0);
      assert.ok(
        Math.abs(
          usage.costUsd! -
            (promptTokens * PRICE_IN + completionTokens * PRICE_OUT) / TOKENS_PER_PRICE_UNIT,
        ) < 1e-12,
      );
      assert.equal(backend.tokensProcessed(), promptTokens + completionTokens);
      assert.ok(onDisk.tokensPerSecond > 0);
      for (const file of ["results.json", "samples.jsonl"]) {
        assert.ok(
          !Deno.readTextFileSync(join(outDir, file)).includes(API_KEY),
          `${file} must not hold the API key`,
        );
      }
      await backend.dispose();
    });
  } finally {
    Deno.removeSync(outDir, { recursive: true });
  }
});

Deno.test("generate: >4 stop sequences are sent as 4 and all applied here; max_tokens maps to max_tokens", async () => {
  await withServer(
    (body) => complete(body, "hello ### world\n\nmore", false),
    async (baseUrl, seen) => {
      const backend = createOpenAIBackend({ baseUrl: `${baseUrl}/v1/`, model: MODEL, apiKey: "" });
      const until = ["A", "B", "C", "D", "\n\n", "###"];
      const gen = await backend.generate("Say hello", { until, maxTokens: 64 });
      assert.deepEqual(seen[0].body.stop, until.slice(0, 4));
      assert.equal(seen[0].authorization, null, "no key, no Authorization header");
      assert.equal(gen.text, "hello ");
      assert.equal(gen.stoppedBy, "stop");
      assert.equal(gen.promptTokens, "Say hello".length);

      const short = await backend.generate("Say hello", { maxTokens: 3 });
      assert.deepEqual(short, {
        text: "hel",
        tokens: 3,
        promptTokens: 9,
        stoppedBy: "max_tokens",
        truncatedTokens: 0,
      });
      assert.equal(seen[1].body.stop, undefined);
    },
  );
});

Deno.test("chat: the prompt goes to /v1/chat/completions as one user message", async () => {
  await withServer(
    (body) => complete(body, "4\nnext", true),
    async (baseUrl, seen) => {
      const backend = createOpenAIBackend({ baseUrl, model: MODEL, apiKey: "", chat: true });
      const gen = await backend.generate("What is 2 plus 2?", { until: ["\n"], maxTokens: 8 });
      assert.equal(seen[0].path, "/v1/chat/completions");
      assert.deepEqual(seen[0].body.messages, [{ role: "user", content: "What is 2 plus 2?" }]);
      assert.equal(gen.text, "4");
      assert.equal(backend.identity.chat, true);
      assert.equal(backend.usage().costUsd, undefined, "no prices, no cost");
    },
  );
});

Deno.test("log-likelihood tasks on an endpoint without prompt log-probabilities fail before any item", async () => {
  const outDir = Deno.makeTempDirSync();
  try {
    // The fake answers echo requests like llama.cpp's llama-server: no prompt in the text, no
    // log-probabilities of the prompt.
    await withServer(arithmetic, async (baseUrl, seen) => {
      const backend = createOpenAIBackend({ baseUrl, model: MODEL, apiKey: "" });
      await assert.rejects(
        runEval(backend, {
          tasks: ["synth_arithmetic", "synth_entailment"],
          limit: LIMIT,
          progress: false,
          outDir,
        }),
        (e: Error) => {
          assert.match(e.message, new RegExp(`${baseUrl}/v1/completions`));
          assert.match(e.message, /does not return prompt log-probabilities/);
          assert.match(e.message, /echoed text does not start with the prompt/);
          assert.match(e.message, /multiple_choice/);
          assert.match(e.message, /llama-server/);
          assert.match(e.message, /--model/);
          return true;
        },
      );
      // The model list, then one small scoring request: nothing spent on the items.
      assert.deepEqual(seen.map((r) => r.path), ["/v1/models", "/v1/completions"]);
      assert.equal(seen[1].body.echo, true);
      assert.equal(seen[1].body.max_tokens, 0);
    });
  } finally {
    Deno.removeSync(outDir, { recursive: true });
  }
});

Deno.test("chat backends are refused log-likelihood tasks before any request", async () => {
  const outDir = Deno.makeTempDirSync();
  try {
    await withServer(arithmetic, async (baseUrl, seen) => {
      const backend = createOpenAIBackend({ baseUrl, model: MODEL, apiKey: "", chat: true });
      await assert.rejects(
        runEval(backend, { tasks: ["synth_entailment"], limit: LIMIT, progress: false, outDir }),
        (e: Error) => {
          assert.match(e.message, /synth_entailment/);
          assert.match(e.message, /multiple_choice/);
          assert.match(e.message, /log-probabilities/);
          return true;
        },
      );
      assert.equal(seen.length, 0);
    });
  } finally {
    Deno.removeSync(outDir, { recursive: true });
  }
});

Deno.test("401: says whether a key was sent and how to set one; not retried", async () => {
  await withServer(
    () => json(401, { error: { message: "Incorrect API key provided", code: "invalid_api_key" } }),
    async (baseUrl, seen) => {
      for (const apiKey of ["wrong", ""]) {
        const backend = createOpenAIBackend({ baseUrl, model: MODEL, apiKey, ...FAST_RETRY });
        await assert.rejects(backend.generate("hi", {}), (e: Error) => {
          assert.match(e.message, /401/);
          assert.match(e.message, /Incorrect API key provided/);
          assert.match(e.message, /OPENAI_API_KEY/);
          assert.match(e.message, /--api-key/);
          assert.match(e.message, apiKey ? /API key rejected/ : /no API key sent/);
          assert.ok(!e.message.includes("wrong"), "the key is not echoed");
          return true;
        });
      }
      assert.equal(seen.length, 2);
    },
  );
});

Deno.test("connection refused: names the URL and says to start the server", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const backend = createOpenAIBackend({ baseUrl: `http://127.0.0.1:${port}`, model: MODEL });
  await assert.rejects(backend.generate("hi", {}), (e: Error) => {
    assert.match(e.message, new RegExp(`http://127\\.0\\.0\\.1:${port}/v1/completions`));
    assert.match(e.message, /cannot reach/);
    assert.match(e.message, /Start the server/);
    assert.match(e.message, /--endpoint/);
    return true;
  });
});

Deno.test("429 once: retried after Retry-After, then answered", async () => {
  await withServer(
    (body, _path, count) =>
      count === 1
        ? json(429, { error: { message: "Rate limit reached" } }, { "retry-after": "0" })
        : complete(body, " 42\n", false),
    async (baseUrl, seen) => {
      const backend = createOpenAIBackend({ baseUrl, model: MODEL, apiKey: "", ...FAST_RETRY });
      const gen = await backend.generate("Question: 6 times 7?\nAnswer:", { until: ["\n"] });
      assert.equal(gen.text, " 42");
      assert.equal(seen.length, 2);
      assert.equal(backend.usage().retries, 1);
      assert.equal(backend.usage().requests, 1);
    },
  );
});

Deno.test("5xx every time: bounded retries, then an error that says so", async () => {
  await withServer(
    () => json(503, { error: { message: "overloaded" } }),
    async (baseUrl, seen) => {
      const maxRetries = 2;
      const backend = createOpenAIBackend({
        baseUrl,
        model: MODEL,
        apiKey: "",
        maxRetries,
        ...FAST_RETRY,
      });
      await assert.rejects(backend.generate("hi", {}), /503: overloaded, still after 2 retries/);
      assert.equal(seen.length, 1 + maxRetries);
    },
  );
});

Deno.test("404 model, non-JSON reply and a too-long prompt give clear errors", async () => {
  await withServer(
    (_body, _path, count) => {
      if (count === 1) {
        return json(404, {
          error: { message: "The model `nope` does not exist", code: "model_not_found" },
        });
      }
      if (count === 2) {
        return new Response("<html>It works!</html>", { headers: { "content-type": "text/html" } });
      }
      return json(400, {
        error: {
          message: "This model's maximum context length is 2048 tokens. However, you " +
            "requested 3000 tokens (2990 in your prompt; 10 for the completion).",
          code: "context_length_exceeded",
        },
      });
    },
    async (baseUrl) => {
      const backend = createOpenAIBackend({ baseUrl, model: "nope", apiKey: "" });
      await assert.rejects(backend.generate("hi", {}), (e: Error) => {
        assert.match(e.message, /404: model "nope" not found/);
        assert.match(e.message, /--api-model/);
        assert.match(e.message, /\/v1\/models/);
        return true;
      });
      await assert.rejects(backend.generate("hi", {}), (e: Error) => {
        assert.match(e.message, /not a JSON object \(text\/html\)/);
        assert.match(e.message, /It works!/);
        assert.match(e.message, /--endpoint/);
        return true;
      });
      await assert.rejects(backend.generate("hi", {}), (e: Error) => {
        assert.ok(e instanceof ContextOverflowError, "runner records it as skipped: too_long");
        assert.equal(e.needed, 3000);
        assert.equal(e.available, 2048);
        return true;
      });
    },
  );
});

Deno.test("createOpenAIBackend rejects a base URL that is not http(s)", () => {
  assert.throws(
    () => createOpenAIBackend({ baseUrl: "localhost:8080", model: MODEL }),
    /not an http\(s\) URL.*--endpoint http:\/\/127\.0\.0\.1:8080/,
  );
});
