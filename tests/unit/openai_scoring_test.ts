/**
 * Log-likelihoods through lib/eval/openai_backend.ts against fake servers shaped like vLLM (no
 * model): the continuation found by character offsets — also when the server counts an added
 * BOS's text in `text_offset`, as vLLM does —, the fallback to `max_tokens: 1` for a server that
 * refuses 0 (its generated token left out), greediness from `top_logprobs`, rolling windows cut
 * from `/tokenize` and `/tokenizer_info`, and a fleet whose endpoints disagree on the model.
 *
 * The fake "model": a text's tokens are its words with their leading spaces (`" Paris"`), BOS
 * `<s>` first; a token's log-probability is −0.1 per character, and a token holding "wrong" is
 * not the most likely one at its position.
 */
import assert from "node:assert/strict";
import { createOpenAIBackend } from "../../lib/eval/openai_backend.ts";

const MODEL = "fake-model";
const BOS = "<s>";

interface FakeOptions {
  /** vLLM's offsets: an added BOS's text counts (3 characters before the prompt). */
  bosInOffsets?: boolean;
  /** Refuse max_tokens 0 (then echo one generated token " X"). */
  needsOneToken?: boolean;
  /** What GET /v1/models says identifies the model. */
  root?: string;
  /** Context length reported by /tokenize. */
  maxModelLen?: number;
  /**
   * Answer as a tunebook server: `/v1/models` has the `tunebook` fingerprint, and
   * `echo_logprobs_from` leaves the tokens that start before it unscored (null).
   */
  tunebook?: boolean;
}

const words = (text: string) => text.match(/\s*\S+|\s+$/g) ?? [];
const lp = (token: string) => -0.1 * [...token].length;

/** A fake vocabulary for token-id prompts: id → word. */
const VOCAB = [BOS, "</s>", ...Array.from({ length: 40 }, (_, i) => ` w${i}`)];

function fake(options: FakeOptions = {}) {
  const seen: { path: string; body: Record<string, unknown> }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = req.method === "POST" ? await req.json() : {};
    seen.push({ path, body });
    if (path === "/v1/models") {
      return Response.json({
        data: [{
          id: MODEL,
          root: options.root ?? "/models/fake",
          ...(options.tunebook ? { tunebook: { weights: "sha256:fake" } } : {}),
        }],
      });
    }
    if (path === "/tokenizer_info") {
      return Response.json({ tokenizer_class: "Fake", bos_token: BOS, eos_token: "</s>" });
    }
    if (path === "/tokenize") {
      const text = String(body.prompt);
      const ids = text === BOS ? [0] : words(text).map((w) => VOCAB.indexOf(w));
      return Response.json({
        count: ids.length,
        max_model_len: options.maxModelLen ?? 64,
        tokens: ids,
      });
    }
    if (options.needsOneToken && body.max_tokens === 0) {
      return Response.json({
        error: { message: "max_tokens must be at least 1, got 0.", type: "BadRequestError" },
      }, { status: 400 });
    }
    const prompts = body.prompt as (string | number[])[];
    const choices = prompts.map((p, index) => {
      const tokens = typeof p === "string" ? [BOS, ...words(p)] : p.map((id) => VOCAB[id]);
      const text = typeof p === "string" ? p : tokens.join("");
      if (body.max_tokens === 1) tokens.push(" X");
      const offsets: number[] = [];
      let at = options.bosInOffsets || typeof p !== "string" ? 0 : -BOS.length;
      for (const t of tokens) {
        offsets.push(Math.max(0, at));
        at += t.length;
      }
      const from = options.tunebook ? body.echo_logprobs_from as number | undefined : undefined;
      const unscored = (i: number) => i === 0 || (from !== undefined && offsets[i] < from);
      return {
        index,
        text: text + (body.max_tokens === 1 ? " X" : ""),
        logprobs: {
          tokens,
          token_logprobs: tokens.map((t, i) => (unscored(i) ? null : lp(t))),
          top_logprobs: tokens.map((t, i) =>
            unscored(i) ? null : t.includes("wrong") ? { [t]: lp(t), " best": 0 } : { [t]: lp(t) }
          ),
          text_offset: offsets,
        },
        finish_reason: "length",
      };
    });
    return Response.json({ choices, usage: { prompt_tokens: 1, completion_tokens: 0 } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test("choices scored by offsets, vLLM's BOS-in-offsets calibrated away, max_tokens 1 fallback", async () => {
  for (const options of [{}, { bosInOffsets: true }, { needsOneToken: true, bosInOffsets: true }]) {
    const server = fake(options);
    try {
      const backend = createOpenAIBackend({ baseUrl: server.url, model: MODEL, apiKey: "" });
      await backend.prepare!({ scoring: true });
      const s = await backend.scoreChoices!("Question: where?\nAnswer: ", ["Paris", "wrong town"]);
      // Trailing space moves to the choice: " Paris" (6 chars), " wrong" + " town" (11).
      assert.deepEqual(s.tokenCounts, [1, 2], JSON.stringify(options));
      assert.ok(Math.abs(s.logprobs[0] - lp(" Paris")) < 1e-12);
      assert.ok(Math.abs(s.logprobs[1] - lp(" wrong") - lp(" town")) < 1e-12);
      assert.deepEqual(s.isGreedy, [true, false]);
      const scoring = server.seen.filter((r) => r.path === "/v1/completions");
      const last = scoring.at(-1)!.body;
      assert.deepEqual(last.prompt, [
        "Question: where?\nAnswer: Paris",
        "Question: where?\nAnswer: wrong town",
      ]);
      assert.equal(last.echo, true);
      assert.equal(last.logprobs, 1);
      assert.equal(last.temperature, 0);
      assert.equal(last.max_tokens, options.needsOneToken ? 1 : 0);
    } finally {
      await server.close();
    }
  }
});

Deno.test("loglikelihood_rolling: the server's tokens in lm-eval's windows of max_model_len - 1", async () => {
  const server = fake({ maxModelLen: 4 });
  try {
    const backend = createOpenAIBackend({ baseUrl: server.url, model: MODEL, apiKey: "" });
    const doc = Array.from({ length: 10 }, (_, i) => ` w${i}`).join("");
    const r = await backend.scoreRolling!(doc);
    assert.equal(r.tokens, 10);
    assert.equal(r.windows, 4, "windows of 3 predicted tokens: 3 + 3 + 3 + 1");
    const expected = Array.from({ length: 10 }, (_, i) => lp(` w${i}`)).reduce((a, b) => a + b);
    assert.ok(Math.abs(r.logprob - expected) < 1e-12, `${r.logprob} vs ${expected}`);
    const windows = server.seen.filter((q) => q.path === "/v1/completions").map((q) =>
      (q.body.prompt as number[][])[0]
    );
    // The first window after BOS (from /tokenizer_info's bos_token, through /tokenize).
    assert.deepEqual(windows[0].slice(0, 1), [0]);
    assert.ok(windows.every((w) => w.length <= 4), JSON.stringify(windows));
    assert.equal((await backend.scoreRolling!("")).windows, 0);
  } finally {
    await server.close();
  }
});

Deno.test("endpoints that disagree on the model fail before any item, naming both", async () => {
  const a = fake({ root: "/models/qwen-0.5b" });
  const b = fake({ root: "/models/qwen-1.5b" });
  try {
    const backend = createOpenAIBackend({ baseUrl: [a.url, b.url], model: MODEL, apiKey: "" });
    await assert.rejects(backend.prepare!({ scoring: false }), (e: Error) => {
      assert.match(e.message, /do not serve the same "fake-model"/);
      assert.match(e.message, /qwen-0\.5b/);
      assert.match(e.message, /qwen-1\.5b/);
      return true;
    });
    assert.throws(
      () => createOpenAIBackend({ baseUrl: [a.url, a.url + "/v1"], model: MODEL }),
      /given twice/,
    );
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("the run identity names what is served, not the endpoints", async () => {
  const a = fake(), b = fake();
  try {
    const one = createOpenAIBackend({ baseUrl: a.url, model: MODEL, apiKey: "" });
    const two = createOpenAIBackend({ baseUrl: [b.url, a.url], model: MODEL, apiKey: "" });
    await one.prepare!({ scoring: false });
    await two.prepare!({ scoring: false });
    assert.deepEqual(two.runIdentity, one.runIdentity);
    assert.deepEqual(one.runIdentity, {
      backend: "openai-compatible",
      model: MODEL,
      chat: false,
      served: { root: "/models/fake" },
    });
    assert.deepEqual(two.identity.endpoints, [b.url, a.url]);
    assert.equal(two.concurrency, 8, "4 per endpoint");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("a tunebook endpoint is asked for the continuation's log-probabilities only; others never", async () => {
  const scores = [];
  for (const tunebook of [false, true]) {
    const server = fake({ tunebook });
    try {
      const backend = createOpenAIBackend({ baseUrl: server.url, model: MODEL, apiKey: "" });
      await backend.prepare!({ scoring: true });
      const context = "Question: where?\nAnswer: ";
      scores.push(await backend.scoreChoices!(context, ["Paris", "wrong town"]));
      const sent = server.seen.filter((r) => r.path === "/v1/completions").map((r) => r.body);
      assert.ok(sent.length >= 2, "the probe and the question");
      for (const body of sent) {
        if (tunebook) assert.equal(typeof body.echo_logprobs_from, "number");
        else assert.ok(!("echo_logprobs_from" in body), JSON.stringify(body));
      }
      if (tunebook) {
        // The trimmed context's end, in code points: the choices start there.
        assert.equal(sent.at(-1)!.echo_logprobs_from, [...context.trimEnd()].length);
      }
    } finally {
      await server.close();
    }
  }
  assert.deepEqual(scores[1], scores[0], "the same scores either way");
});
