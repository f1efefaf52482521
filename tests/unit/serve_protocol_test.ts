/**
 * The server's pieces that need no model: stop sequences over streamed text, request
 * validation (OpenAI's field names, 400 with the field as `param`), config and flags, error
 * mapping, bodies with size limits, API-key checks and chat template rendering.
 */
import assert from "node:assert/strict";
import { StopSequenceStream } from "../../lib/llm/stop_stream.ts";
import { ChatTemplate, ChatTemplateError } from "../../lib/llm/chat.ts";
import { ContextOverflowError } from "../../lib/llm/engine.ts";
import { QueueFullError } from "../../lib/llm/sequence_pool.ts";
import {
  addAdapter,
  modelNameFromPath,
  parseAdapterFlag,
  resolveServeConfig,
  SERVE_DEFAULTS,
} from "../../lib/serve/config.ts";
import { ApiError, errorResponse, toApiError } from "../../lib/serve/errors.ts";
import { checkApiKey, readJsonBody, requestId } from "../../lib/serve/http.ts";
import { parseGenerationRequest, streamChunk } from "../../lib/serve/protocol.ts";

const config = resolveServeConfig();

/** Feed `parts` through a stop stream; what a client would receive, and whether it stopped. */
function run(stops: string[], parts: string[]): { text: string; stopped: boolean } {
  const s = new StopSequenceStream(stops);
  let text = "";
  for (const p of parts) {
    const step = s.push(p);
    text += step.text;
    if (step.stopped) return { text, stopped: true };
  }
  return { text: text + s.flush(), stopped: false };
}

Deno.test("stop sequences: cut before the first one, even across tokens, and hold back only prefixes", () => {
  assert.deepEqual(run(["\n\n"], ["12", "\n", "\nnext"]), { text: "12", stopped: true });
  assert.deepEqual(run(["###"], ["4 #", "#", "# more"]), { text: "4 ", stopped: true });
  assert.deepEqual(run(["###"], ["4 #", "x"]), { text: "4 #x", stopped: false });
  // the earliest of several wins
  assert.deepEqual(run(["b", "a"], ["xxab"]), { text: "xx", stopped: true });
  // no stops: everything passes at once
  const s = new StopSequenceStream([]);
  assert.deepEqual(s.push("abc"), { text: "abc", stopped: false });
  // text is released as soon as it cannot start a stop sequence
  const t = new StopSequenceStream(["Question:"]);
  assert.equal(t.push("5\nQue").text, "5\n");
  assert.equal(t.push("en").text, "Queen");
});

Deno.test("requests: OpenAI fields become one generation request with OpenAI's defaults", () => {
  const c = parseGenerationRequest("completion", {
    model: "tiny",
    prompt: ["Hi"],
    stop: "\n",
    seed: -1,
    extra_unknown_field: 1,
  }, config);
  assert.equal(c.prompt, "Hi");
  assert.deepEqual(c.stop, ["\n"]);
  assert.equal(c.temperature, 1);
  assert.equal(c.topP, 1);
  assert.equal(c.maxTokens, undefined);
  assert.equal(c.seed, 2 ** 32 - 1, "seeds map into the native sampler's uint32 range");
  assert.equal(c.stream, false);
  const chat = parseGenerationRequest("chat", {
    model: "tiny",
    messages: [
      { role: "developer", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "2 plus " }, { type: "text", text: "3?" }] },
    ],
    max_completion_tokens: 5,
    stream: true,
    stream_options: { include_usage: true },
    ignore_eos: true,
  }, config);
  assert.deepEqual(chat.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "2 plus 3?" },
  ]);
  assert.equal(chat.maxTokens, 5);
  assert.equal(chat.includeUsage, true);
  assert.equal(chat.ignoreEos, true);
});

Deno.test("requests: prompt lists, token ids, echo and logprobs, as lm-eval and vLLM send them", () => {
  // lm-evaluation-harness's local-completions loglikelihood body (tokenized, batch of 2)
  const lm = parseGenerationRequest("completion", {
    model: "tiny",
    prompt: [[1, 5, 6], [1, 5, 7, 8]],
    temperature: 0,
    max_tokens: 1,
    logprobs: 1,
    seed: 1234,
    echo: true,
  }, config);
  assert.deepEqual(lm.prompts, [[1, 5, 6], [1, 5, 7, 8]]);
  assert.deepEqual(lm.promptPaths, ["prompt[0]", "prompt[1]"]);
  assert.equal(lm.prompt, undefined);
  assert.equal(lm.echo, true);
  assert.equal(lm.logprobs, 1);
  assert.equal(lm.maxTokens, 1);
  // scoring only, one flat token list, and strings
  const flat = parseGenerationRequest(
    "completion",
    { model: "t", prompt: [3, 4], echo: true, max_tokens: 0, logprobs: 0 },
    config,
  );
  assert.deepEqual(flat.prompts, [[3, 4]]);
  assert.deepEqual(flat.promptPaths, ["prompt"]);
  assert.equal(flat.maxTokens, 0);
  assert.equal(flat.logprobs, 0);
  const texts = parseGenerationRequest("completion", { model: "t", prompt: ["a", "b"] }, config);
  assert.deepEqual(texts.prompts, ["a", "b"]);
  assert.equal(texts.echo, false);
  assert.equal(texts.logprobs, null);
  // chat: logprobs true with top_logprobs N; logprobs true alone is 0 alternatives
  const msgs = [{ role: "user", content: "x" }];
  assert.equal(
    parseGenerationRequest(
      "chat",
      { model: "t", messages: msgs, logprobs: true, top_logprobs: 3 },
      config,
    )
      .logprobs,
    3,
  );
  assert.equal(
    parseGenerationRequest("chat", { model: "t", messages: msgs, logprobs: true }, config).logprobs,
    0,
  );
  assert.equal(
    parseGenerationRequest("chat", { model: "t", messages: msgs, logprobs: false }, config)
      .logprobs,
    null,
  );
});

Deno.test("requests: wrong types and values are 400s naming the field", () => {
  const bad: [string, "completion" | "chat", unknown, string | null, RegExp][] = [
    [
      "negative max_tokens",
      "completion",
      { model: "t", prompt: "x", max_tokens: -1 },
      "max_tokens",
      /at least 0/,
    ],
    [
      "max_tokens 0 without echo",
      "completion",
      { model: "t", prompt: "x", max_tokens: 0 },
      "max_tokens",
      /0 only with 'echo'/,
    ],
    [
      "string max_tokens",
      "completion",
      { model: "t", prompt: "x", max_tokens: "5" },
      "max_tokens",
      /integer/,
    ],
    [
      "temperature too high",
      "completion",
      { model: "t", prompt: "x", temperature: 3 },
      "temperature",
      /between 0 and 2/,
    ],
    [
      "top_p zero",
      "chat",
      { model: "t", messages: [{ role: "user", content: "x" }], top_p: 0 },
      "top_p",
      /\(0, 1\]/,
    ],
    ["prompt missing", "completion", { model: "t" }, "prompt", /'prompt'/],
    ["fractional token", "completion", { model: "t", prompt: [1, 2.5] }, "prompt.1", /integers/],
    ["empty prompt list", "completion", { model: "t", prompt: [] }, "prompt", /token ids/],
    ["empty token list", "completion", { model: "t", prompt: [[1], []] }, "prompt.1", /token ids/],
    ["mixed prompt list", "completion", { model: "t", prompt: ["a", [1]] }, "prompt", /strings/],
    [
      "too many prompts",
      "completion",
      { model: "t", prompt: Array(config.maxPrompts + 1).fill("a") },
      "prompt",
      /at most 128/,
    ],
    [
      "model missing",
      "chat",
      { messages: [{ role: "user", content: "x" }] },
      "model",
      /'model' is required/,
    ],
    ["model number", "completion", { model: 5, prompt: "x" }, "model", /string/],
    ["no messages", "chat", { model: "t", messages: [] }, "messages", /at least one/],
    [
      "bad role",
      "chat",
      { model: "t", messages: [{ role: "robot", content: "x" }] },
      "messages.0.role",
      /role/,
    ],
    ["n > 1", "completion", { model: "t", prompt: "x", n: 2 }, "n", /'n' must be 1/],
    ["stop number", "completion", { model: "t", prompt: "x", stop: 5 }, "stop", /'stop'/],
    [
      "stream string",
      "completion",
      { model: "t", prompt: "x", stream: "yes" },
      "stream",
      /boolean/,
    ],
    ["echo string", "completion", { model: "t", prompt: "x", echo: "yes" }, "echo", /boolean/],
    [
      "stream with echo",
      "completion",
      { model: "t", prompt: "x", echo: true, stream: true },
      "stream",
      /'stream' with 'echo' is not supported/,
    ],
    [
      "stream with logprobs",
      "completion",
      { model: "t", prompt: "x", logprobs: 1, stream: true },
      "stream",
      /not supported/,
    ],
    [
      "stream with several prompts",
      "completion",
      { model: "t", prompt: ["x", "y"], stream: true },
      "stream",
      /several prompts/,
    ],
    [
      "logprobs over the limit",
      "completion",
      { model: "t", prompt: "x", logprobs: 21 },
      "logprobs",
      /at most 20/,
    ],
    ["logprobs negative", "completion", { model: "t", prompt: "x", logprobs: -1 }, "logprobs", /0/],
    [
      "chat logprobs as a number",
      "chat",
      { model: "t", messages: [{ role: "user", content: "x" }], logprobs: 2 },
      "logprobs",
      /boolean/,
    ],
    [
      "top_logprobs without logprobs",
      "chat",
      { model: "t", messages: [{ role: "user", content: "x" }], top_logprobs: 2 },
      "top_logprobs",
      /needs 'logprobs': true/,
    ],
    [
      "tools",
      "chat",
      { model: "t", messages: [{ role: "user", content: "x" }], tools: [{}] },
      "tools",
      /not supported/,
    ],
    ["array body", "completion", [1], null, /JSON object/],
  ];
  for (const [what, endpoint, body, param, message] of bad) {
    assert.throws(() => parseGenerationRequest(endpoint, body, config), (e: unknown) => {
      assert.ok(e instanceof ApiError, what);
      assert.equal(e.status, 400, what);
      assert.equal(e.param, param, what);
      assert.match(e.message, message, what);
      return true;
    });
  }
  const tooMany = { model: "t", prompt: "x", max_tokens: config.maxTokens + 1 };
  assert.throws(() => parseGenerationRequest("completion", tooMany, config), /at most 2048/);
  const stops = { model: "t", prompt: "x", stop: Array(config.maxStop + 1).fill("s") };
  assert.throws(() => parseGenerationRequest("completion", stops, config), /at most 16/);
});

Deno.test("responses: stream chunks have OpenAI's shapes", () => {
  const head = { id: "chatcmpl-1", created: 1, model: "tiny" };
  assert.deepEqual(streamChunk("chat", head, { role: true, text: "" }).choices, [
    { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
  ]);
  assert.deepEqual(streamChunk("chat", head, { finishReason: "length" }).choices, [
    { index: 0, delta: {}, logprobs: null, finish_reason: "length" },
  ]);
  const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
  const u = streamChunk("completion", head, { usage });
  assert.equal(u.object, "text_completion");
  assert.deepEqual(u.choices, []);
  assert.deepEqual(u.usage, usage);
});

Deno.test("config: defaults, overrides, unknown keys and adapter flags", () => {
  assert.equal(config.host, "127.0.0.1", "binds to this machine only by default");
  assert.deepEqual(Object.keys(config.models), ["tiny"]);
  assert.throws(() => resolveServeConfig({ prot: 1 }), /prot.*Known settings/s);
  assert.throws(() => resolveServeConfig({ sequences: 0 }), /sequences/);
  assert.throws(
    () => resolveServeConfig({ models: { "bad name": { model: "m.gguf" } } }),
    /models\.bad name/,
  );
  assert.equal(modelNameFromPath("data/models/tiny/tiny-f32.gguf"), "tiny");
  assert.equal(modelNameFromPath("x/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"), "Qwen2.5-0.5B-Instruct");
  assert.deepEqual(parseAdapterFlag("lora-arith=a/b.gguf:0.5"), {
    name: "lora-arith",
    path: "a/b.gguf",
    scale: 0.5,
  });
  assert.deepEqual(parseAdapterFlag("x=C:/a.gguf"), { name: "x", path: "C:/a.gguf", scale: 1 });
  assert.throws(() => parseAdapterFlag("a.gguf"), /NAME=FILE/);
  let c = addAdapter(config, "tiny", { name: "arith", path: "a.gguf", scale: 1 });
  c = addAdapter(c, "tiny", { name: "arith", path: "b.gguf", scale: 0.5 });
  assert.deepEqual(c.models["tiny+arith"].adapters, [
    { path: "a.gguf", scale: 1 },
    { path: "b.gguf", scale: 0.5 },
  ]);
  assert.equal(c.models["tiny+arith"].model, SERVE_DEFAULTS.models.tiny.model);
  assert.throws(() => addAdapter(config, "nope", { name: "a", path: "a", scale: 1 }), /no base/);
});

Deno.test("errors: library errors map to OpenAI statuses and bodies", async () => {
  assert.equal(toApiError(new QueueFullError(64, 64)).status, 429);
  const overflow = toApiError(new ContextOverflowError(600, 512));
  assert.equal(overflow.status, 400);
  assert.equal(overflow.code, "context_length_exceeded");
  assert.equal(toApiError(new ChatTemplateError("roles must alternate")).status, 400);
  assert.equal(toApiError(new Error("boom")).status, 500);
  const res = errorResponse(toApiError(new QueueFullError(1, 1)));
  assert.equal(res.headers.get("retry-after"), "1");
  const body = await res.json();
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
});

Deno.test("http: body size limit (413), bad JSON (400), API keys (401), request ids", async () => {
  const post = (body: BodyInit, headers: HeadersInit = {}) =>
    new Request("http://127.0.0.1/v1/completions", { method: "POST", body, headers });
  assert.deepEqual(await readJsonBody(post('{"a":[1]}'), { maxBytes: 100 }), { a: [1] });
  const status = (p: Promise<unknown>) => p.then(() => 200, (e: ApiError) => e.status);
  assert.equal(await status(readJsonBody(post("x".repeat(101)), { maxBytes: 100 })), 413);
  // a chunked body without content-length is counted while it streams
  const chunked = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(40).fill(32));
      c.close();
    },
  });
  assert.equal(await status(readJsonBody(post(chunked), { maxBytes: 100 })), 413);
  assert.equal(await status(readJsonBody(post("{bad"), { maxBytes: 100 })), 400);
  assert.equal(
    await status(readJsonBody(post(new Uint8Array([0xff, 0xfe])), { maxBytes: 100 })),
    400,
  );

  const code = (f: () => void) => {
    try {
      f();
      return "ok";
    } catch (e) {
      return `${(e as ApiError).status} ${(e as ApiError).code}`;
    }
  };
  assert.equal(code(() => checkApiKey(post(""), null)), "ok");
  assert.equal(code(() => checkApiKey(post(""), "k1")), "401 missing_api_key");
  assert.equal(
    code(() => checkApiKey(post("", { authorization: "Bearer k2" }), "k1")),
    "401 invalid_api_key",
  );
  assert.equal(code(() => checkApiKey(post("", { authorization: "Bearer k1" }), "k1")), "ok");

  assert.equal(requestId(post("", { "x-request-id": "client-7" })), "client-7");
  assert.match(requestId(post("", { "x-request-id": "bad id with spaces" })), /^req_[0-9a-f]{16}$/);
});

Deno.test("chat templates render like transformers (trim_blocks, lstrip_blocks) and report failures", () => {
  const alpaca = "{% for message in messages %}{% if message['role'] == 'system' %}" +
    "{{ message['content'] + '\\n\\n' }}{% elif message['role'] == 'user' %}" +
    "{{ '### Instruction:\\n' + message['content'] + '\\n\\n' }}" +
    "{% elif message['role'] == 'assistant' %}" +
    "{{ '### Response:\\n' + message['content'] + eos_token + '\\n\\n' }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}";
  const t = new ChatTemplate(alpaca, { bosToken: "<s>", eosToken: "</s>" });
  assert.equal(
    t.render([
      { role: "user", content: "2 plus 3?" },
      { role: "assistant", content: "5" },
      { role: "user", content: "and 4?" },
    ]),
    "### Instruction:\n2 plus 3?\n\n### Response:\n5</s>\n\n### Instruction:\nand 4?\n\n### Response:\n",
  );
  const strict = new ChatTemplate(
    "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be user') }}{% endif %}ok",
  );
  assert.throws(() => strict.render([{ role: "assistant", content: "x" }]), (e: unknown) => {
    assert.ok(e instanceof ChatTemplateError);
    assert.match((e as Error).message, /first message must be user/);
    return true;
  });
  assert.throws(
    () => new ChatTemplate("{% for %}", { source: "m.gguf" }),
    /m\.gguf.*does not parse/,
  );
});
