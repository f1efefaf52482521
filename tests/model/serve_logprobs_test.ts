/**
 * Log-likelihoods over HTTP on the bundled tiny model: `echo` + `logprobs` on /v1/completions give
 * the in-process scorer's numbers for the same tokens (with and without a LoRA adapter), in the
 * legacy completions shape (`null` first, the chosen token among `top_logprobs`, `text_offset` in
 * characters of the returned text); token-id prompts, several prompts per request, lm-eval's
 * `max_tokens: 1`, generated tokens' log-probabilities (completions and chat), the tokenizer
 * routes, and the 400s of combinations the server does not serve. A request's numbers do not
 * depend on what else the server scores at the time.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { encodeChat, modelChatTemplate } from "../../lib/llm/chat.ts";
import { LlmEngine } from "../../lib/llm/engine.ts";
import { loadModel } from "../../lib/llm/model.ts";
import { encodeText } from "../../lib/llm/tokenizer_rules.ts";
import { resolveServeConfig } from "../../lib/serve/config.ts";
import type { CompletionLogprobs } from "../../lib/serve/protocol.ts";
import { type RunningServer, startServer } from "../../lib/serve/server.ts";
import { writeRandomLora } from "./_serve_lora.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

/** The bound the issue sets; the scorer's layout makes them equal bit for bit. */
const TOLERANCE = 1e-4;

const dir = mkdtempSync(join(tmpdir(), "tunebook-logprobs-"));
const lora = join(dir, "lora.gguf");
await writeRandomLora(lora, { std: 0.1 });

const server: RunningServer = startServer(
  resolveServeConfig({
    port: 0,
    threads: TEST_THREADS,
    scoreThreads: TEST_THREADS,
    gpu: false,
    models: {
      tiny: { model: TINY_GGUF },
      "tiny+lora": { model: TINY_GGUF, adapters: [{ path: lora, scale: 1 }] },
    },
  }),
  { log: () => {} },
);
await server.ready;
const loaded = await loadModel(TINY_GGUF, { gpu: false });

interface Choice {
  index: number;
  text: string;
  logprobs: CompletionLogprobs | null;
  finish_reason: string;
}

async function post(path: string, body: unknown): Promise<Response> {
  return await fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body) });
}

async function completions(body: Record<string, unknown>): Promise<{
  choices: Choice[];
  usage: { prompt_tokens: number; completion_tokens: number };
}> {
  const res = await post("/v1/completions", body);
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

/** The synthetic fact questions as lm-eval renders them: context and choices (delimiter first). */
function facts(n: number): { context: string; choices: string[] }[] {
  return readJsonl<Record<string, string>>("data/synthetic/facts/test.jsonl").slice(0, n).map((
    d,
  ) => ({
    context: `${d.support}\nQuestion: ${d.question}\nAnswer:`,
    choices: [d.distractor1, d.distractor2, d.distractor3, d.correct_answer].map((c) => " " + c),
  }));
}

/** Code points of a string (text_offset's unit). */
function chars(s: string): number {
  return [...s].length;
}

/** Sum of the log-probabilities of the tokens that start at or after `context` ends. */
function continuation(lp: CompletionLogprobs, context: string): number {
  const end = chars(context);
  let sum = 0;
  lp.text_offset.forEach((o, i) => {
    if (o >= end) sum += lp.token_logprobs[i]!;
  });
  return sum;
}

const opts = { sanitizeOps: false, sanitizeResources: false };

for (
  const [model, adapters] of [["tiny", []], ["tiny+lora", [{ path: lora, scale: 1 }]]] as const
) {
  Deno.test({
    name: `echo + logprobs (${model}) equals the in-process scorer's choice log-likelihoods`,
    ...opts,
    fn: async () => {
      const engine = await LlmEngine.create(loaded, {
        threads: TEST_THREADS,
        scorer: "batched",
        lora: [...adapters],
      });
      try {
        let worst = 0;
        const qs = facts(12);
        // Sent all at once: the server packs them, the engine scores them together too.
        const [served, local] = await Promise.all([
          Promise.all(qs.map((q) =>
            completions({
              model,
              prompt: q.choices.map((c) => q.context + c),
              echo: true,
              logprobs: 1,
              max_tokens: 0,
            })
          )),
          Promise.all(qs.map((q) => engine.scoreChoices(q.context, q.choices))),
        ]);
        served.forEach((r, k) => {
          assert.equal(r.choices.length, qs[k].choices.length);
          r.choices.forEach((c, i) => {
            assert.equal(c.index, i);
            assert.equal(c.text, qs[k].context + qs[k].choices[i]);
            assert.equal(c.finish_reason, "length");
            const got = continuation(c.logprobs!, qs[k].context);
            worst = Math.max(worst, Math.abs(got - local[k].logprobs[i]));
          });
        });
        assert.ok(worst < TOLERANCE, `worst difference ${worst}`);
        assert.equal(worst, 0, "the same tokens get the same numbers, bit for bit");
      } finally {
        await engine.dispose();
      }
    },
  });
}

Deno.test({
  name:
    "the legacy logprobs shape: null first, the chosen token in top_logprobs, offsets into the text",
  ...opts,
  fn: async () => {
    const prompt = "Question: What is 12 plus 7?\nAnswer: 19";
    const r = await completions({ model: "tiny", prompt, echo: true, logprobs: 3, max_tokens: 0 });
    const c = r.choices[0];
    const lp = c.logprobs!;
    const tokens = encodeText(loaded.model, prompt, { eos: false });
    assert.equal(r.usage.prompt_tokens, tokens.length);
    assert.equal(r.usage.completion_tokens, 0);
    assert.equal(lp.tokens.length, tokens.length);
    assert.equal(lp.token_logprobs[0], null, "nothing precedes the first token");
    assert.equal(lp.top_logprobs[0], null);
    assert.equal(lp.tokens[0], "<s>", "the BOS the server added is a token, not text");
    assert.equal(lp.text_offset[0], 0);
    const cps = [...c.text];
    for (let i = 1; i < tokens.length; i++) {
      const top = lp.top_logprobs[i]!;
      assert.ok(Object.keys(top).length >= 3 && Object.keys(top).length <= 4, JSON.stringify(top));
      assert.equal(top[lp.tokens[i]], lp.token_logprobs[i], "the chosen token is among them");
      assert.ok(Object.values(top).every((v) => v <= Math.max(...Object.values(top))));
      const at = lp.text_offset[i];
      assert.equal(cps.slice(at, at + chars(lp.tokens[i])).join(""), lp.tokens[i], `token ${i}`);
      assert.ok(at >= lp.text_offset[i - 1]);
    }
    assert.equal(
      lp.text_offset.at(-1)! + chars(lp.tokens.at(-1)!),
      chars(c.text),
      "the last token ends the text",
    );
  },
});

Deno.test({
  name: "token-id prompts score as their text does; several prompts come back in order",
  ...opts,
  fn: async () => {
    const texts = ["The capital of Nisel is Volesa.", "Torselven works as a baker", "2 plus 2"];
    const ids = texts.map((t) => encodeText(loaded.model, t, { eos: false }));
    const byText = await completions({
      model: "tiny",
      prompt: texts,
      echo: true,
      logprobs: 0,
      max_tokens: 0,
    });
    const byIds = await completions({
      model: "tiny",
      prompt: ids,
      echo: true,
      logprobs: 0,
      max_tokens: 0,
    });
    byIds.choices.forEach((c, i) => {
      assert.deepEqual(c.logprobs!.token_logprobs, byText.choices[i].logprobs!.token_logprobs);
      // token ids are echoed as the text they spell (special tokens as their text)
      assert.equal(c.text, "<s>" + (texts[i].startsWith(" ") ? "" : " ") + texts[i]);
    });
    const flat = await completions({
      model: "tiny",
      prompt: ids[0],
      echo: true,
      logprobs: 0,
      max_tokens: 0,
    });
    assert.deepEqual(
      flat.choices[0].logprobs!.token_logprobs,
      byText.choices[0].logprobs!.token_logprobs,
    );
  },
});

Deno.test({
  name: "echo_logprobs_from: tokens before it unscored (null), the rest as the full echo's",
  ...opts,
  fn: async () => {
    const [q] = facts(1);
    const prompts = q.choices.map((c) => q.context + c);
    const body = { model: "tiny", prompt: prompts, echo: true, logprobs: 2, max_tokens: 0 };
    const full = await completions(body);
    const from = chars(q.context);
    const part = await completions({ ...body, echo_logprobs_from: from });
    part.choices.forEach((c, i) => {
      const a = full.choices[i].logprobs!, b = c.logprobs!;
      assert.deepEqual(b.tokens, a.tokens);
      assert.deepEqual(b.text_offset, a.text_offset);
      let scored = 0;
      b.text_offset.forEach((o, k) => {
        if (k === 0 || o < from) {
          assert.equal(b.token_logprobs[k], null, `token ${k} starts before ${from}`);
          assert.equal(b.top_logprobs[k], null);
        } else {
          scored++;
          assert.equal(b.token_logprobs[k], a.token_logprobs[k], `token ${k}`);
          assert.deepEqual(b.top_logprobs[k], a.top_logprobs[k]);
        }
      });
      assert.ok(scored >= 1 && scored < b.tokens.length / 2, `${scored} of ${b.tokens.length}`);
      assert.equal(continuation(b, q.context), continuation(a, q.context));
    });
    // A token-id prompt: the index of the first scored token.
    const ids = encodeText(loaded.model, prompts[0], { eos: false });
    const byIds = await completions({ ...body, prompt: [ids], echo_logprobs_from: 5 });
    const lp = byIds.choices[0].logprobs!;
    assert.deepEqual(lp.token_logprobs.slice(0, 5), [null, null, null, null, null]);
    assert.deepEqual(lp.token_logprobs.slice(5), full.choices[0].logprobs!.token_logprobs.slice(5));
    const res = await post("/v1/completions", { ...body, logprobs: null, echo_logprobs_from: 3 });
    assert.equal(res.status, 400);
    assert.match(
      (await res.json()).error.message,
      /echo_logprobs_from.*'echo': true and 'logprobs'/,
    );
  },
});

Deno.test({
  name: "a request's numbers do not change with what else the server scores",
  ...opts,
  fn: async () => {
    const qs = facts(8);
    const body = (q: { context: string; choices: string[] }) => ({
      model: "tiny",
      prompt: q.choices.map((c) => q.context + c),
      echo: true,
      logprobs: 2,
      max_tokens: 0,
    });
    const alone = JSON.stringify((await completions(body(qs[3]))).choices);
    const crowd = await Promise.all(qs.map((q) => completions(body(q))));
    assert.equal(JSON.stringify(crowd[3].choices), alone);
  },
});

Deno.test({
  name: "lm-eval's max_tokens 1: the greedy next token follows the echoed prompt",
  ...opts,
  fn: async () => {
    const prompt = "Question: What is 3 times 4?\nAnswer:";
    const r = await completions({
      model: "tiny",
      prompt: [encodeText(loaded.model, prompt, { eos: false })],
      echo: true,
      logprobs: 1,
      max_tokens: 1,
      temperature: 0,
      seed: 1234,
    });
    const lp = r.choices[0].logprobs!;
    const n = encodeText(loaded.model, prompt, { eos: false }).length;
    assert.equal(lp.tokens.length, n + 1, "prompt tokens, then one generated token");
    assert.equal(r.usage.completion_tokens, 1);
    const top = lp.top_logprobs[n]!;
    assert.equal(lp.token_logprobs[n], Math.max(...Object.values(top)), "greedy");
    const greedy = await completions({ model: "tiny", prompt, max_tokens: 1, temperature: 0 });
    assert.ok(r.choices[0].text.endsWith(greedy.choices[0].text));
  },
});

/**
 * Generated tokens come from the generator's context, one token per decode (llama.cpp's f16
 * attention kernel for so few rows), the echo from the scorer's (always its tiled kernel): the same
 * tokens, numbers a few thousandths of a nat apart at most.
 */
const KERNEL_TOLERANCE = 5e-2;

Deno.test({
  name: "generated tokens' log-probabilities: completions and chat shapes, greedy at temperature 0",
  ...opts,
  fn: async () => {
    const prompt = "Question: What is 12 plus 7?\nAnswer:";
    const r = await completions({
      model: "tiny",
      prompt,
      max_tokens: 6,
      temperature: 0,
      logprobs: 2,
    });
    const asIds = await completions({
      model: "tiny",
      prompt,
      max_tokens: 6,
      temperature: 0,
      logprobs: 2,
      return_tokens_as_token_ids: true,
    });
    const generatedIds = asIds.choices[0].logprobs!.tokens.map((t) => {
      assert.match(t, /^token_id:\d+$/);
      return Number(t.slice("token_id:".length));
    });
    assert.deepEqual(
      asIds.choices[0].logprobs!.token_logprobs,
      r.choices[0].logprobs!.token_logprobs,
    );
    const c = r.choices[0];
    const lp = c.logprobs!;
    assert.ok(lp.tokens.length >= 1);
    lp.top_logprobs.forEach((top, i) => {
      assert.equal(lp.token_logprobs[i], Math.max(...Object.values(top!)), `token ${i} is greedy`);
      assert.ok(lp.text_offset[i] <= chars(c.text));
    });
    // Scored as part of the prompt (echo), the generated tokens get about the same numbers.
    const ids = encodeText(loaded.model, prompt, { eos: false });
    const generated = r.usage.completion_tokens;
    const echo = await completions({
      model: "tiny",
      prompt: [[...ids, ...generatedIds.slice(0, generated)]],
      echo: true,
      logprobs: 0,
      max_tokens: 0,
    });
    const scored = echo.choices[0].logprobs!.token_logprobs.slice(ids.length);
    assert.equal(scored.length, generated);
    scored.forEach((x, i) => {
      assert.ok(
        Math.abs(x! - lp.token_logprobs[i]!) < KERNEL_TOLERANCE,
        `${x} vs ${lp.token_logprobs[i]}`,
      );
    });
    const chat = await post("/v1/chat/completions", {
      model: "tiny",
      messages: [{ role: "user", content: "What is 12 plus 7?" }],
      max_tokens: 4,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
      ignore_eos: true,
    });
    const json = await chat.json();
    assert.equal(chat.status, 200, JSON.stringify(json));
    const content = json.choices[0].logprobs.content;
    assert.equal(content.length, 4);
    for (const e of content) {
      assert.equal(typeof e.token, "string");
      assert.deepEqual(e.bytes, [...new TextEncoder().encode(e.token)]);
      assert.equal(e.top_logprobs.length, 2);
      assert.ok(e.logprob <= e.top_logprobs[0].logprob);
    }
  },
});

Deno.test({
  name: "tokenizer routes: vLLM's shapes, and what lm-eval's remote tokenizer reads from them",
  ...opts,
  fn: async () => {
    const info = await (await fetch(`${server.url}/tokenizer_info`)).json();
    assert.equal(info.eos_token, "</s>");
    assert.equal(info.bos_token, "<s>");
    assert.equal(info.model_max_length, 512);
    const encode = async (prompt: string, add = false) =>
      (await (await post("/tokenize", { prompt, add_special_tokens: add })).json()).tokens;
    // lm-eval's RemoteTokenizer: bos_token_id = encode(bos_token)[0]
    assert.deepEqual(await encode(info.bos_token), [info.bos_token_id]);
    const text = "Question: What is 2 plus 2?\nAnswer: 4";
    const plain = await encode(text);
    assert.deepEqual(plain, loaded.model.tokenize(text, false));
    assert.deepEqual(await encode(text, true), encodeText(loaded.model, text));
    const full = await (await post("/tokenize", {
      model: "tiny",
      prompt: text,
      return_token_strs: true,
    })).json();
    assert.equal(full.count, full.tokens.length);
    assert.equal(full.max_model_len, 512);
    assert.equal(full.token_strs.length, full.tokens.length);
    const back = await (await post("/detokenize", { tokens: plain })).json();
    assert.equal(back.prompt, text);
    const chat = await (await post("/tokenize", {
      messages: [{ role: "user", content: "hi" }],
    })).json();
    const messages = [{ role: "user" as const, content: "hi" }];
    assert.deepEqual(
      chat.tokens,
      encodeChat(loaded.model, modelChatTemplate(loaded.model)!, messages).tokens,
      "the tokens /v1/chat/completions evaluates",
    );
    assert.equal(chat.tokens[0], info.bos_token_id);
    const bad = await post("/detokenize", { tokens: [1, 99999] });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.param, "tokens[1]");
    const unknown = await post("/tokenize", { model: "nope", prompt: "x" });
    assert.equal(unknown.status, 404);
  },
});

Deno.test({
  name: "unsupported combinations and limits are OpenAI-shaped 400s naming the field",
  ...opts,
  fn: async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ prompt: "x", echo: true, logprobs: 1, stream: true }, "stream", /not supported/],
      [{ prompt: "x", logprobs: 21 }, "logprobs", /at most 20/],
      [{ prompt: "x", max_tokens: 0 }, "max_tokens", /only with 'echo'/],
      [{ prompt: [[1, 2048]], echo: true, logprobs: 1, max_tokens: 0 }, "prompt[0][1]", /2048/],
      [
        { prompt: "word ".repeat(600), echo: true, logprobs: 1, max_tokens: 0 },
        "prompt",
        /maximum context length is 512/,
      ],
    ];
    for (const [body, param, message] of cases) {
      const res = await post("/v1/completions", { model: "tiny", ...body });
      const json = await res.json();
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(json.error.type, "invalid_request_error");
      assert.equal(json.error.param, param, JSON.stringify(json));
      assert.match(json.error.message, message);
    }
    // and the server still answers
    const ok = await completions({ model: "tiny", prompt: "hi", echo: true, max_tokens: 0 });
    assert.equal(ok.choices[0].text, "hi");
  },
});

Deno.test({
  name: "/v1/models reports the context and the file hashes that identify each model name",
  ...opts,
  fn: async () => {
    const models = await (await fetch(`${server.url}/v1/models`)).json();
    const [tiny, withLora] = models.data;
    assert.equal(tiny.max_model_len, 512);
    assert.equal(tiny.tunebook.model_sha256, loaded.info.sha256);
    assert.deepEqual(tiny.tunebook.adapters, []);
    assert.equal(withLora.tunebook.adapters.length, 1);
    assert.equal(withLora.tunebook.adapters[0].scale, 1);
  },
});

Deno.test({
  name: "shutdown",
  ...opts,
  fn: async () => {
    await server.shutdown();
    await loaded.model.dispose();
  },
});
