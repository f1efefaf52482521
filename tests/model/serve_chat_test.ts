/**
 * A plain `deno task serve` (no --model, no --config) serves the bundled model as `tiny` and the
 * bundled chat model — tiny-256 with its chat adapter (data/models/tiny-256/chat-lora.gguf) — as
 * `tiny-256+chat`, and the chat model answers chat requests about the task families with an
 * on-topic sentence: questions from the families' test splits, which the adapter never trained on
 * (lib/data/synthetic/chat.ts uses train items only). It answers in the family's sentence form
 * about what was asked; whether the content is right is measured and printed, not asserted — a
 * 3.7M-parameter model gets most of it wrong (README, "Serving").
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import OpenAI from "openai";
import { BUNDLED_CHAT } from "../../lib/llm/model.ts";
import { startServeChild } from "./_serve_child.ts";
import type { FactItem, QaItem } from "../../lib/data/synthetic/mod.ts";

/** Test items asked per family. */
const ASKED = 20;
/** Share of answers that must be on topic: a sentence that names what the question is about. */
const MIN_ON_TOPIC = 0.7; // measured 20/20 (facts) and 15/20 (qa) when the adapter was built

/** Words of four letters or more, lower-cased, a plural "s" dropped. */
function words(text: string): Set<string> {
  return new Set(
    (text.toLowerCase().match(/[a-z]{4,}/g) ?? []).map((w) => w.replace(/s$/, "")),
  );
}

/** A sentence that shares a content word with `about` (its subject, or the context's names). */
function onTopic(answer: string, about: string): boolean {
  const mine = words(answer);
  const stop = new Set(["what", "which", "does", "where", "have", "favorite", "color", "the"]);
  return /[.!?]$/.test(answer.trim()) &&
    [...words(about)].some((w) => !stop.has(w) && mine.has(w));
}

function testItems<T>(family: string): T[] {
  return readFileSync(`data/synthetic/${family}/test.jsonl`, "utf8").trim().split("\n")
    .slice(0, ASKED).map((l) => JSON.parse(l) as T);
}

Deno.test({
  name: "plain `deno task serve` serves tiny-256+chat, which answers the families' test questions",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const task = JSON.parse(readFileSync("deno.json", "utf8")).tasks.serve as string;
    const [, , ...taskArgs] = task.split(/\s+/); // "deno run -A … lib/cli/serve.ts"
    const server = await startServeChild(["run", ...taskArgs, "--threads", "1"]);
    try {
      const base = server.base;
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "none", maxRetries: 0 });
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      assert.deepEqual(ids, ["tiny", BUNDLED_CHAT.name]);
      const ask = async (content: string) => {
        const r = await client.chat.completions.create({
          model: BUNDLED_CHAT.name,
          messages: [{ role: "user", content }],
          max_tokens: 32,
          temperature: 0,
        });
        return r.choices[0].message.content ?? "";
      };
      const tally = { facts: { onTopic: 0, right: 0 }, qa: { onTopic: 0, right: 0 } };
      for (const item of testItems<FactItem>("facts")) {
        const answer = await ask(item.question);
        if (onTopic(answer, item.question)) tally.facts.onTopic++;
        if (answer.includes(item.correct_answer)) tally.facts.right++;
      }
      for (const item of testItems<QaItem>("qa")) {
        const answer = await ask(`${item.context}\n${item.question}`);
        if (onTopic(answer, item.context)) tally.qa.onTopic++;
        if (answer.includes(item.answers.text[0])) tally.qa.right++;
      }
      console.log(`tiny-256+chat on ${ASKED} test items each: ${JSON.stringify(tally)}`);
      for (const [family, t] of Object.entries(tally)) {
        assert.ok(
          t.onTopic >= MIN_ON_TOPIC * ASKED,
          `${family}: ${t.onTopic}/${ASKED} answers are on-topic sentences`,
        );
      }
      // The bundled base model, which has no chat adapter, does not answer on topic.
      const plain = await client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: testItems<FactItem>("facts")[0].question }],
        max_tokens: 32,
        temperature: 0,
      });
      assert.ok(
        !onTopic(plain.choices[0].message.content ?? "", testItems<FactItem>("facts")[0].question),
      );
    } finally {
      const { code, log } = await server.stop();
      assert.equal(code, 0, log);
    }
  },
});
