/**
 * Chat conversations for the bundled chat adapter: one user question and one assistant answer in
 * a full sentence, about the synthetic families' train items (facts, arithmetic, entailment, a
 * context's people, a passage to summarize, a function to describe). Only train splits are used,
 * so the adapter never sees a validation or test item; the rows are the trainer's `{"messages"}`
 * conversations (rendered with the model's chat template, loss on the assistant turn).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeChatConversations } from "./chat.ts";
 * const rows = makeChatConversations({ perFamily: 2 });
 * assert.equal(rows.length, 12);
 * assert.deepEqual(rows[0].messages.map((m) => m.role), ["user", "assistant"]);
 * ```
 * @module
 */
import { Rng } from "../../util/rng.ts";
import { type ArithmeticItem, arithmeticValue } from "./arithmetic.ts";
import type { CodeItem } from "./code.ts";
import type { EntailmentItem } from "./entailment.ts";
import { factAnswer, type FactItem } from "./facts.ts";
import { FAMILIES, makeSplits, SYNTHETIC_DEFAULTS } from "./items.ts";
import { answerSentence, type QaItem } from "./qa.ts";
import type { SummaryItem } from "./summary.ts";

/** One conversation: a user turn and the assistant's answer. */
export interface ChatConversation {
  /** Which family's train item it is about. */
  family: string;
  /** The turns. */
  messages: { role: "user" | "assistant"; content: string }[];
}

/** Options for {@linkcode makeChatConversations}. */
export interface ChatOptions {
  /** The world seed (the splits'). Default: 1234. */
  seed?: number;
  /** Conversations per family (at most its train split's size). Default: 300. */
  perFamily?: number;
}

function facts(x: FactItem, rng: Rng): [string, string] {
  const ask = rng.pick(["", "Tell me: ", "Quick question. "]);
  return [`${ask}${x.question}`, factAnswer(x)];
}

function arithmetic(x: ArithmeticItem, rng: Rng): [string, string] {
  const value = arithmeticValue(x.op, x.a, x.b);
  const ask = rng.pick([
    `What is ${x.a} ${x.op} ${x.b}?`,
    `Can you work out ${x.a} ${x.op} ${x.b}?`,
  ]);
  return [ask, `${x.a} ${x.op} ${x.b} is ${value}.`];
}

function entailment(x: EntailmentItem): [string, string] {
  const h = x.hypothesis.replace(/\.$/, "");
  const question = `${x.premise} Does it follow that ${h}?`;
  const answer = x.label === "yes"
    ? `Yes. ${x.hypothesis}`
    : x.kind === "converse"
    ? `No. We cannot tell if ${h}.`
    : `No. It does not follow that ${h}.`;
  return [question, answer];
}

function qa(x: QaItem): [string, string] {
  const answer = x.answers.text[0];
  const sentence = answerSentence(x.context, x.title, answer);
  return [`${x.context}\n${x.question}`, sentence ?? `${answer}.`];
}

function summary(x: SummaryItem, rng: Rng): [string, string] {
  const ask = rng.pick(["Summarize this in one sentence:", "What is this news about?"]);
  return [`${ask}\n${x.document}`, x.summary];
}

function code(x: CodeItem, rng: Rng): [string, string] {
  const ask = rng.pick(["What does this function do?", "Explain this Python function."]);
  return [`${ask}\n${x.code}`, x.docstring];
}

/**
 * `perFamily` conversations per family, from the first train items of each family's split
 * (deterministic from the seed), families interleaved.
 */
export function makeChatConversations(options: ChatOptions = {}): ChatConversation[] {
  const { seed = SYNTHETIC_DEFAULTS.seed, perFamily = 300 } = options;
  const rng = new Rng(seed, "chat");
  const perItem: [string, string][][] = [];
  for (const family of FAMILIES) {
    const train = makeSplits(family, { seed }).train.slice(0, perFamily);
    perItem.push(train.map((item) => {
      switch (family) {
        case "facts":
          return facts(item as FactItem, rng);
        case "arithmetic":
          return arithmetic(item as ArithmeticItem, rng);
        case "entailment":
          return entailment(item as EntailmentItem);
        case "qa":
          return qa(item as QaItem);
        case "summary":
          return summary(item as SummaryItem, rng);
        default:
          return code(item as CodeItem, rng);
      }
    }));
  }
  const rows: ChatConversation[] = [];
  const longest = Math.max(...perItem.map((p) => p.length));
  for (let i = 0; i < longest; i++) {
    perItem.forEach((pairs, f) => {
      if (i >= pairs.length) return;
      const [user, assistant] = pairs[i];
      rows.push({
        family: FAMILIES[f],
        messages: [{ role: "user", content: user }, { role: "assistant", content: assistant }],
      });
    });
  }
  return rows;
}
