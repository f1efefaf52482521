/**
 * lib/llm's vocabulary-only tokenizer against node-llama-cpp's own tokenizer on the fully loaded
 * tiny model: the same token ids for every text (plain, special-token text read literally or as
 * tokens, Unicode, empty), the same BOS/EOS, the model's context length and chat template; and a
 * missing file is named with the fix.
 */
import assert from "node:assert/strict";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { loadTokenizer } from "../../lib/llm/tokenizer.ts";
import { TINY_GGUF } from "./_tiny.ts";

const TEXTS = [
  "",
  "Question: What is 2 plus 2?\nAnswer:",
  "  leading spaces,  double  spaces\tand a tab",
  "### Instruction:\nÜber 7 Brücken? 日本語 🙂\n\n### Response:\n",
  "ends with the EOS text</s>",
  "<s> starts with the BOS text",
  "12345678901234567890 digits",
];

Deno.test("loadTokenizer: token ids, BOS/EOS, context and template are the full model's", async () => {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: TINY_GGUF });
  const tok = await loadTokenizer(TINY_GGUF);
  try {
    for (const text of TEXTS) {
      const literal = model.tokenize(text, false);
      assert.deepEqual(tok.tokenize(text), literal, JSON.stringify(text));
      assert.equal(tok.count(text), literal.length, JSON.stringify(text));
      assert.deepEqual(
        tok.tokenize(text, { specialTokens: true }),
        model.tokenize(text, true),
        `${JSON.stringify(text)} with special tokens`,
      );
    }
    // special-token text is one token only when read as special tokens
    assert.deepEqual(tok.tokenize("</s>", { specialTokens: true }), [model.tokens.eos]);
    assert.ok(tok.count("</s>") > 1);
    assert.deepEqual(tok.bos, { id: model.tokens.bos, text: model.tokens.bosString });
    assert.deepEqual(tok.eos, { id: model.tokens.eos, text: model.tokens.eosString });
    assert.deepEqual([tok.bos?.text, tok.eos?.text], ["<s>", "</s>"]);
    assert.equal(tok.contextLength, model.trainContextSize);
    assert.equal(tok.path, TINY_GGUF);
    const messages = [{ role: "user", content: "What is 2 plus 2?" }];
    assert.ok(tok.template, "the tiny GGUF carries a chat template");
    assert.equal(
      tok.template.render(messages),
      "### Instruction:\nWhat is 2 plus 2?\n\n### Response:\n",
    );
  } finally {
    await tok.dispose();
    await model.dispose();
  }
});

Deno.test("loadTokenizer: a missing model file is named with the fix", async () => {
  await assert.rejects(
    loadTokenizer("data/models/tiny/missing-f32.gguf"),
    /missing-f32\.gguf: model file not found\. Pass --model/,
  );
});
