/**
 * The server's prompts follow the model's own rules, as llama-server builds them: on a Qwen2
 * model (no BOS) and a Phi-3 model (BOS, and a chat template that writes `{{ bos_token }}`),
 * `usage.prompt_tokens` of /v1/completions is llama.cpp's `llama_tokenize(prompt, add_special)`
 * and of /v1/chat/completions the render (leading BOS text dropped when the model adds BOS)
 * tokenized with `add_special` and `parse_special`; `add_generation_prompt: false` leaves the
 * assistant header out; a bad `add_generation_prompt` is a 400 naming the field. Echo scoring
 * follows the same rules: `deno task eval --endpoint`'s multiple-choice scores through this server
 * equal the in-process engine's on both models (no BOS, and BOS), and the echoed tokens are
 * llama.cpp's.
 */
import assert from "node:assert/strict";
import { createLlamaBackend } from "../../lib/eval/backend.ts";
import { createOpenAIBackend } from "../../lib/eval/openai_backend.ts";
import { LibllamaVocab } from "../../lib/llm/libllama_vocab.ts";
import { resolveServeConfig } from "../../lib/serve/config.ts";
import { type RunningServer, startServer } from "../../lib/serve/server.ts";
import { randomModel } from "./_random_models.ts";

const qwen2 = await randomModel({ vocab: "qwen2", arch: "qwen2" });
const phi3 = await randomModel({ vocab: "phi-3", arch: "phi3" });
const server: RunningServer = startServer(
  resolveServeConfig({
    port: 0,
    threads: 1,
    scoreThreads: 1,
    gpu: false,
    sequences: 1,
    models: { qwen2: { model: qwen2 }, phi3: { model: phi3 } },
  }),
  { log: () => {} },
);
await server.ready;
const vocabs = { qwen2: LibllamaVocab.open(qwen2), phi3: LibllamaVocab.open(phi3) };

const MESSAGES = [
  { role: "system", content: "Answer briefly." },
  { role: "user", content: "What is 12 plus 30?" },
];

async function post(path: string, body: Record<string, unknown>): Promise<Response> {
  return await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ max_tokens: 1, temperature: 0, ...body }),
  });
}

async function promptTokens(path: string, body: Record<string, unknown>): Promise<number> {
  const res = await post(path, body);
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json.usage.prompt_tokens;
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "completions: prompt tokens are llama.cpp's, BOS only where the model adds it",
  ...opts,
  fn: async () => {
    assert.equal(vocabs.qwen2.addBos, false);
    assert.equal(vocabs.phi3.addBos, true);
    for (const model of ["qwen2", "phi3"] as const) {
      for (const prompt of ["Question: What is 12 plus 30?\nAnswer:", "Hello"]) {
        const expected = vocabs[model].tokenize(prompt, { addSpecial: true }).length;
        assert.equal(await promptTokens("/v1/completions", { model, prompt }), expected, model);
      }
    }
  },
});

Deno.test({
  name: "chat: llama-server's tokens, one BOS at most; add_generation_prompt as asked",
  ...opts,
  fn: async () => {
    // qwen2: the template renders its own system turn and the assistant header; no BOS
    const qwenText = "<|im_start|>system\nAnswer briefly.<|im_end|>\n" +
      "<|im_start|>user\nWhat is 12 plus 30?<|im_end|>\n";
    const header = "<|im_start|>assistant\n";
    const qwen = (text: string) =>
      vocabs.qwen2.tokenize(text, { addSpecial: true, parseSpecial: true }).length;
    assert.equal(
      await promptTokens("/v1/chat/completions", { model: "qwen2", messages: MESSAGES }),
      qwen(qwenText + header),
    );
    assert.equal(
      await promptTokens("/v1/chat/completions", {
        model: "qwen2",
        messages: MESSAGES,
        add_generation_prompt: false,
      }),
      qwen(qwenText),
    );
    // phi3: the template writes "<s>" itself; the model adds BOS, so the prompt has one BOS
    const phiText = "<|user|>\nWhat is 12 plus 30?<|end|>\n<|assistant|>\n";
    const phi = vocabs.phi3.tokenize(phiText, { addSpecial: true, parseSpecial: true });
    assert.equal(phi[0], vocabs.phi3.bos);
    assert.equal(phi.filter((t) => t === vocabs.phi3.bos).length, 1);
    assert.equal(
      await promptTokens("/v1/chat/completions", { model: "phi3", messages: MESSAGES.slice(1) }),
      phi.length,
    );
  },
});

Deno.test({
  name: "chat: a non-boolean add_generation_prompt is a 400 naming the field",
  ...opts,
  fn: async () => {
    const res = await post("/v1/chat/completions", {
      model: "qwen2",
      messages: MESSAGES,
      add_generation_prompt: "yes",
    });
    const json = await res.json();
    assert.equal(res.status, 400);
    assert.equal(json.error.param, "add_generation_prompt");
    assert.match(json.error.message, /'add_generation_prompt' must be true or false/);
  },
});

Deno.test({
  name: "echo scoring follows the rules: multiple choice over HTTP equals in-process (qwen2, phi3)",
  ...opts,
  fn: async () => {
    const context = "Question: What is 12 plus 30?\nAnswer:";
    const choices = [" 42", " 41", " forty-two"];
    for (const [model, path] of [["qwen2", qwen2], ["phi3", phi3]] as const) {
      const echo = await (await post("/v1/completions", {
        model,
        prompt: context + choices[0],
        echo: true,
        logprobs: 1,
        max_tokens: 0,
      })).json();
      const lp = echo.choices[0].logprobs;
      const expected = vocabs[model].tokenize(context + choices[0], { addSpecial: true });
      assert.equal(
        lp.tokens.length,
        expected.length,
        `${model}: llama.cpp's tokens, BOS as it says`,
      );
      assert.equal(echo.choices[0].text, context + choices[0]);
      const remote = createOpenAIBackend({ baseUrl: server.url, model, apiKey: "" });
      const local = await createLlamaBackend(path, { threads: 1, gpu: false });
      try {
        const [a, b] = [
          await remote.scoreChoices!(context, choices),
          await local.scoreChoices!(context, choices),
        ];
        assert.deepEqual(a.tokenCounts, b.tokenCounts, model);
        assert.deepEqual(a.isGreedy, b.isGreedy, model);
        a.logprobs.forEach((l, i) =>
          assert.ok(
            Math.abs(l - b.logprobs[i]) < 1e-4,
            `${model} ${choices[i]}: ${l} vs ${b.logprobs[i]}`,
          )
        );
      } finally {
        await local.dispose();
      }
    }
  },
});

Deno.test({
  name: "serve tokens: shut down",
  ...opts,
  fn: async () => {
    vocabs.qwen2.dispose();
    vocabs.phi3.dispose();
    await server.shutdown();
  },
});
