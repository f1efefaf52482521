/**
 * Column mapping (Alpaca, ShareGPT, OpenAI, text; detection and errors) and cleaning (each rule
 * does what it says, can be turned off, and is counted; fields other than text are untouched).
 */
import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { cleanExamples } from "../../lib/data/clean.ts";
import {
  type ColumnMapping,
  detectColumns,
  outputText,
  promptText,
  toExamples,
} from "../../lib/data/examples.ts";

Deno.test("columns: each format is detected and mapped to chat turns", () => {
  const alpaca = detectColumns(["id", "instruction", "input", "output"]);
  assertEquals(alpaca, {
    format: "alpaca",
    instruction: "instruction",
    output: "output",
    input: "input",
  });
  const { examples } = toExamples(
    [{ id: 1, instruction: "Translate.", input: "bonjour", output: "hello" }],
    alpaca,
  );
  assertEquals(examples[0].messages, [
    { role: "user", content: "Translate.\n\nbonjour" },
    { role: "assistant", content: "hello" },
  ]);
  assertEquals([promptText(examples[0]), outputText(examples[0])], [
    "Translate.\n\nbonjour",
    "hello",
  ]);

  const sharegpt = detectColumns(["conversations"]);
  const sg = toExamples([{
    conversations: [
      { from: "system", value: "Be kind." },
      { from: "human", value: "Hi" },
      { from: "gpt", value: "Hello" },
    ],
  }], sharegpt).examples[0];
  assertEquals(sg.messages.map((m) => m.role), ["system", "user", "assistant"]);
  assertEquals(promptText(sg), "Be kind.\nHi");

  const openai = detectColumns(["messages", "source"]);
  assertEquals(openai, { format: "openai", messages: "messages" });
  assertEquals(detectColumns(["text", "meta"]), { format: "text", text: "text" });
  assertEquals(detectColumns(["question", "answer"]).format, "alpaca");
});

Deno.test("columns: unmappable data and missing named columns say which columns exist", () => {
  throws(
    () => detectColumns(["title", "body"]),
    (e: Error) => e.message.includes('"title", "body"') && e.message.includes("--text-col"),
  );
  throws(
    () => detectColumns(["q", "a"], { instruction: "q", output: "answer" }),
    (e: Error) => e.message.includes('lacks column "answer"') && e.message.includes('"q", "a"'),
  );
  throws(
    () => detectColumns(["instruction", "output"], { input: "context" }),
    /lacks column "context"/,
  );
});

Deno.test("columns: rows of the wrong shape become malformed rejects naming the row", () => {
  const mapping: ColumnMapping = { format: "openai", messages: "messages" };
  const { examples, rejects } = toExamples([
    { messages: [{ role: "user", content: "ok" }] },
    { messages: "not a list" },
    { messages: [{ role: "wizard", content: "?" }] },
  ], mapping);
  assertEquals(examples.length, 1);
  assertEquals(rejects.map((r) => r.rule), ["malformed", "malformed"]);
  assert(rejects[0].reason.startsWith("row 2:"), rejects[0].reason);
  assert(rejects[1].reason.includes("system/user/assistant"), rejects[1].reason);
});

Deno.test("clean: editing rules change only text columns and are counted per rule", () => {
  const mapping = detectColumns(["id", "instruction", "output", "meta"]);
  const { examples } = toExamples([
    {
      id: "keep-me ",
      instruction: "Cafe\u0301  order\r\n\r\n\r\n\r\nnow  \u0007",
      output: "  def f():\n    return 1   \n",
      meta: "  untouched  ",
    },
  ], mapping);
  const out = cleanExamples(examples, mapping);
  const row = out.kept[0].row;
  assertEquals(row.instruction, "Caf\u00e9  order\n\nnow");
  assertEquals(row.output, "def f():\n    return 1"); // indentation inside the text is kept
  assertEquals([row.id, row.meta], ["keep-me ", "  untouched  "]);
  assertEquals(out.report.changed, { unicode: 1, control: 1, whitespace: 1 });
  const off = cleanExamples(examples, mapping, {
    unicode: false,
    stripControl: false,
    whitespace: false,
  });
  assertEquals(off.kept[0].row, examples[0].row);
  assertEquals(off.report.changed, {});
  const collapsed = cleanExamples(examples, mapping, { whitespace: "collapse" });
  assertEquals(collapsed.kept[0].row.output, "def f(): return 1");
});

Deno.test("clean: empty, too-short and badly decoded rows are dropped with their rule", () => {
  const mapping = detectColumns(["instruction", "output"]);
  const { examples } = toExamples([
    { instruction: "Name a colour.", output: "Red" },
    { instruction: "   ", output: "orphan" },
    { instruction: "Say something", output: "" },
    { instruction: "Hi", output: "yo" },
    { instruction: "Caf\uFFFD menu", output: "soup" },
    { instruction: "你好吗", output: "很好" }, // 5 characters: kept (no spaces needed)
  ], mapping);
  const out = cleanExamples(examples, mapping);
  assertEquals(out.rejects.map((r) => [r.index, r.rule]), [
    [1, "empty"],
    [2, "empty"],
    [3, "too_short"],
    [4, "bad_encoding"],
  ]);
  assertEquals(out.report.removed, { empty: 2, too_short: 1, bad_encoding: 1 });
  assertEquals(out.kept.map((e) => e.index), [0, 5]);
  const lenient = cleanExamples(examples, mapping, {
    dropEmpty: false,
    minChars: 0,
    dropBadEncoding: false,
  });
  assertEquals(lenient.rejects.length, 0);
});
