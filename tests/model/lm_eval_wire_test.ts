/**
 * The wire as lm-evaluation-harness's `local-completions` model uses it
 * (lm_eval/models/openai_completions.py and api_models.py, `tokenizer_backend=remote`,
 * `tokenized_requests` true, `batch_size` 1 or 2), replayed against `deno task serve` on the tiny
 * model and parsed as lm-eval parses it:
 *
 * - the remote tokenizer: `GET /tokenizer_info` must hold `eos_token`; `POST /tokenize
 *   {"prompt", "add_special_tokens": false}` encodes; `bos_token_id` is `encode(bos_token)[0]`;
 * - `loglikelihood`: `_encode_pair` (trailing spaces to the continuation; the continuation's
 *   tokens are the whole's past the context's), `(context + continuation)[-max_length:]` sent as
 *   token ids with `echo: true, max_tokens: 1, logprobs: 1, temperature: 0, seed: 1234`;
 *   `parse_logprobs` sums `token_logprobs[ctxlen:-1]` and is greedy when each equals the largest
 *   of its `top_logprobs`;
 * - `loglikelihood_rolling`: the windows after `prefix_token_id`, one request each;
 * - `generate_until`: token ids with `max_tokens`, `temperature: 0`, `stop` (until + EOS),
 *   `seed`, the reply's `choices[i].text`.
 *
 * lm-eval's remote tokenizer adds no BOS, so its numbers are those of the text without BOS; the
 * test checks them against the in-process scorer on the same token ids, and the rolling score
 * against the in-process engine's (the same windows after BOS).
 */
import assert from "node:assert/strict";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { BatchScorer } from "../../lib/llm/batch_scorer.ts";
import { LlmEngine } from "../../lib/llm/engine.ts";
import { loadModel } from "../../lib/llm/model.ts";
import { disjointWindow, rollingWindows } from "../../lib/llm/rolling_windows.ts";
import { resolveServeConfig } from "../../lib/serve/config.ts";
import { type RunningServer, startServer } from "../../lib/serve/server.ts";
import { TEST_THREADS, TINY_GGUF } from "./_tiny.ts";

/** lm-eval's `max_length` model arg for this server (its context), and its own `- 1`. */
const MAX_LENGTH_ARG = 512;
const MAX_LENGTH = MAX_LENGTH_ARG - 1;
const SEED = 1234;

const server: RunningServer = startServer(
  resolveServeConfig({
    port: 0,
    threads: TEST_THREADS,
    scoreThreads: TEST_THREADS,
    gpu: false,
  }),
  { log: () => {} },
);
await server.ready;
/** lm-eval's `base_url` model arg. */
const BASE_URL = `${server.url}/v1/completions`;
/** RemoteTokenizer's server base: base_url without the API path. */
const TOKENIZER_BASE = BASE_URL.replace("/v1/completions", "").replace(/\/+$/, "");
const loaded = await loadModel(TINY_GGUF, { gpu: false });
const scorer = BatchScorer.open(TINY_GGUF, { threads: TEST_THREADS });

async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer " },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** lm_eval.utils.RemoteTokenizer, as its methods call the server. */
const remote = {
  info: async () => await (await fetch(`${TOKENIZER_BASE}/tokenizer_info`)).json(),
  encode: async (text: string): Promise<number[]> =>
    (await postJson(`${TOKENIZER_BASE}/tokenize`, { prompt: text, add_special_tokens: false }))
      .tokens as number[],
  decode: async (tokens: number[]): Promise<string> =>
    (await postJson(`${TOKENIZER_BASE}/detokenize`, { tokens })).prompt as string,
};

/** TemplateLM._encode_pair. */
async function encodePair(context: string, continuation: string): Promise<[number[], number[]]> {
  const nSpaces = context.length - context.trimEnd().length;
  if (nSpaces > 0) {
    continuation = context.slice(-nSpaces) + continuation;
    context = context.slice(0, -nSpaces);
  }
  const whole = await remote.encode(context + continuation);
  const ctx = await remote.encode(context);
  return [ctx, whole.slice(ctx.length)];
}

/** TemplateAPI.batch_loglikelihood_requests for one request. */
function loglikelihoodInput(ctx: number[], cont: number[]): { inp: number[]; ctxlen: number } {
  const all = [...ctx, ...cont];
  const inp = all.slice(-MAX_LENGTH);
  const ctxlen = ctx.length - Math.max(0, ctx.length + cont.length - MAX_LENGTH);
  return { inp, ctxlen };
}

/** LocalCompletionsAPI._create_payload(generate=False). */
function loglikelihoodPayload(messages: number[][]): Record<string, unknown> {
  return {
    model: "tiny",
    prompt: messages,
    temperature: 0,
    max_tokens: 1,
    logprobs: 1,
    seed: SEED,
    echo: true,
  };
}

/** LocalCompletionsAPI.parse_logprobs. */
function parseLogprobs(out: Record<string, unknown>, ctxlens: number[]): [number, boolean][] {
  const choices = [...(out.choices as { index: number; logprobs: Record<string, unknown> }[])]
    .sort((a, b) => a.index - b.index);
  return choices.map((choice, i) => {
    const ctxlen = ctxlens[i];
    assert.ok(ctxlen > 0, "Context length must be greater than 0");
    const tokenLogprobs = (choice.logprobs.token_logprobs as number[]).slice(ctxlen, -1);
    const top = (choice.logprobs.top_logprobs as Record<string, number>[]).slice(ctxlen, -1);
    const logprobs = tokenLogprobs.reduce((a, b) => a + b, 0);
    let isGreedy = true;
    tokenLogprobs.forEach((tok, k) => {
      if (tok !== Math.max(...Object.values(top[k]))) isGreedy = false;
    });
    return [logprobs, isGreedy];
  });
}

/** The in-process scorer on the same token ids: the continuation's sum and greediness. */
async function inProcess(inp: number[], ctxlen: number): Promise<[number, boolean]> {
  const [s] = await scorer.scorePrompts([{ tokens: inp, from: ctxlen }]);
  const scored = s.positions.slice(ctxlen);
  return [scored.reduce((a, p) => a + p!.logprob, 0), scored.every((p) => p!.isGreedy)];
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "the remote tokenizer: tokenizer_info, tokenize, bos_token_id and decode as lm-eval reads them",
  ...opts,
  fn: async () => {
    // lm_eval.utils.check_remote_tokenizer_support
    const info = await remote.info();
    assert.ok(typeof info === "object" && "eos_token" in info);
    assert.ok(Array.isArray(await remote.encode("test")));
    const bos = (await remote.encode(info.bos_token))[0];
    const eos = (await remote.encode(info.eos_token))[0];
    assert.equal(bos, loaded.model.tokens.bos);
    assert.equal(eos, loaded.model.tokens.eos);
    const text = "Question: What is 2 plus 2?\nAnswer: 4";
    assert.equal(await remote.decode(await remote.encode(text)), text);
  },
});

Deno.test({
  name: "loglikelihood requests, batch 1 and 2: parse_logprobs gives the in-process numbers",
  ...opts,
  fn: async () => {
    const facts = readJsonl<Record<string, string>>("data/synthetic/facts/test.jsonl").slice(0, 6);
    const requests: { inp: number[]; ctxlen: number }[] = [];
    for (const f of facts) {
      for (const choice of [f.distractor1, f.correct_answer]) {
        const [ctx, cont] = await encodePair(`Question: ${f.question}\nAnswer:`, ` ${choice}`);
        requests.push(loglikelihoodInput(ctx, cont));
      }
    }
    // batch_size 1: one token list per request; batch_size 2: two.
    for (const batch of [1, 2]) {
      for (let i = 0; i < requests.length; i += batch) {
        const chunk = requests.slice(i, i + batch);
        const out = await postJson(BASE_URL, loglikelihoodPayload(chunk.map((r) => r.inp)));
        const parsed = parseLogprobs(out, chunk.map((r) => r.ctxlen));
        assert.equal(parsed.length, chunk.length);
        for (const [k, r] of chunk.entries()) {
          const [want, greedy] = await inProcess(r.inp, r.ctxlen);
          assert.ok(Math.abs(parsed[k][0] - want) < 1e-4, `${parsed[k][0]} vs ${want}`);
          assert.equal(parsed[k][1], greedy);
        }
      }
    }
    // What parse_logprobs relies on: one token per prompt token, then the generated one.
    const out = await postJson(BASE_URL, loglikelihoodPayload([requests[0].inp]));
    const lp = (out.choices as { logprobs: { tokens: string[] } }[])[0].logprobs;
    assert.equal(lp.tokens.length, requests[0].inp.length + 1);
  },
});

Deno.test({
  name: "loglikelihood_rolling: lm-eval's windows, one request each, scored as in-process",
  ...opts,
  fn: async () => {
    const info = await remote.info();
    const prefix = (await remote.encode(info.bos_token))[0] ??
      (await remote.encode(info.eos_token))[0];
    const page = readJsonl<Record<string, string>>("data/synthetic/facts/test.jsonl").slice(0, 120)
      .map((f) => f.support).join(" ");
    const tokens = await remote.encode(page);
    // TemplateAPI.loglikelihood_rolling: max_seq_len = self.max_length - 1 ("1 for context").
    const windows = rollingWindows(tokens, prefix, MAX_LENGTH - 1, 1).map(disjointWindow);
    assert.ok(windows.length > 1, `${tokens.length} tokens in ${windows.length} windows`);
    assert.deepEqual(windows.flatMap((w) => w.predicted), tokens, "each token predicted once");
    let total = 0, want = 0;
    for (const w of windows) {
      const { inp, ctxlen } = loglikelihoodInput(w.context, w.predicted);
      assert.equal(inp.length, w.context.length + w.predicted.length, "nothing cut");
      const out = await postJson(BASE_URL, loglikelihoodPayload([inp]));
      total += parseLogprobs(out, [ctxlen])[0][0];
      want += (await inProcess(inp, ctxlen))[0];
    }
    assert.ok(Math.abs(total - want) < 1e-4 * windows.length, `${total} vs ${want}`);
    // tunebook's own client cuts windows of max_model_len - 1, as the in-process engine does.
    const engine = await LlmEngine.create(loaded, { threads: TEST_THREADS, scorer: "batched" });
    try {
      assert.equal(engine.maxLength, MAX_LENGTH);
    } finally {
      await engine.dispose();
    }
  },
});

Deno.test({
  name: "generate_until: token ids, max_tokens, stop with EOS, seed; parse_generations reads text",
  ...opts,
  fn: async () => {
    const info = await remote.info();
    const context = "Question: What is 12 plus 7?\nAnswer:";
    const ids = await remote.encode(context);
    const until = ["\n"];
    // handle_stop_sequences(until, eos): the EOS string is added to the stop sequences.
    const stop = until.includes(info.eos_token) ? until : [...until, info.eos_token];
    const out = await postJson(BASE_URL, {
      prompt: [ids],
      model: "tiny",
      max_tokens: 16,
      temperature: 0,
      stop,
      seed: SEED,
    });
    const choices = out.choices as { index: number; text: string }[];
    const res: string[] = new Array(choices.length);
    for (const c of choices) res[c.index] = c.text;
    assert.equal(res.length, 1);
    assert.equal(typeof res[0], "string");
    assert.ok(!res[0].includes("\n"), "cut at the stop sequence");
    // The same tokens after BOS generate what the text prompt does (the server adds BOS to text).
    const withBos = await postJson(BASE_URL, {
      prompt: [[loaded.model.tokens.bos, ...ids]],
      model: "tiny",
      max_tokens: 16,
      temperature: 0,
      stop,
    });
    const text = await postJson(BASE_URL, {
      prompt: context,
      model: "tiny",
      max_tokens: 16,
      temperature: 0,
      stop,
    });
    assert.equal(
      (withBos.choices as { text: string }[])[0].text,
      (text.choices as { text: string }[])[0].text,
    );
  },
});

Deno.test({
  name: "shutdown",
  ...opts,
  fn: async () => {
    await scorer.dispose();
    await server.shutdown();
    await loaded.model.dispose();
  },
});
