/**
 * The server's node-llama-cpp-free vocabulary (lib/llm/libllama_model.ts) against node-llama-cpp's
 * own `LlamaModel`, on the bundled tiny model and on vocabulary GGUFs of llama.cpp's source
 * (SentencePiece, byte-level BPE, WordPiece): the same special tokens and texts, the same token
 * ids for plain text, special-token markup and "trimLeadingSpace" continuations, the same
 * detokenized text (byte tokens that split a character included, with and without the tokens
 * before), attributes and end-of-generation tokens, the same tokenizer rules, and the same chat
 * template renders and prompt tokens — what a client of `deno task serve --cpu` gets is what it
 * got when node-llama-cpp tokenized. And a server started with --cpu has no node-llama-cpp
 * library mapped.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import type { LlamaModel, Token } from "node-llama-cpp";
import { encodeChat, modelChatTemplate } from "../../lib/llm/chat.ts";
import { LibllamaModel, loadLibllamaModel } from "../../lib/llm/libllama_model.ts";
import { getRuntime, loadModel } from "../../lib/llm/model.ts";
import type { ModelVocabulary } from "../../lib/llm/model_vocabulary.ts";
import { encodeText, tokenizerRules } from "../../lib/llm/tokenizer_rules.ts";
import { spawnTunebookServer } from "../../lib/serve/server_process.ts";
import { TINY_GGUF } from "./_tiny.ts";

const VOCABS = ["llama-spm", "qwen2", "gpt-2", "phi-3", "bert-bge", "command-r"]
  .map((n) => `.cache/llama.cpp/models/ggml-vocab-${n}.gguf`);

const TEXTS = [
  "Hello world",
  " Hello  world",
  "Question: What is 12 plus 7?\nAnswer:",
  "\n\nnew lines first",
  "  two leading spaces",
  "café naïve 日本語 🤗 emoji",
  "</s> and <s> and <|im_start|>user\nhi<|im_end|>",
  "<|endoftext|><|user|>\nhi<|end|>",
  "### Instruction:\nAdd.\n\n### Response:\n",
  "tabs\tand\r\nreturns",
  "",
];

const MESSAGES = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "What is 2 plus 3?" },
  { role: "assistant", content: "5" },
  { role: "user", content: "And </s> or <|im_end|> literally?" },
];

/** Tokens whose text is part of a character, and the ones in the tests' texts. */
function sampleTokens(n: number): Token[] {
  const out = new Set<number>();
  for (let t = 0; t < Math.min(n, 300); t++) out.add(t);
  for (let t = 300; t < n; t += 97) out.add(t);
  out.add(n - 1);
  return [...out] as Token[];
}

function compare(name: string, ours: ModelVocabulary, theirs: LlamaModel, n: number): void {
  const t = ours.tokens;
  const u = theirs.tokens;
  assert.deepEqual(
    [t.bos, t.eos, t.eot, t.nl, t.bosString, t.eosString, t.eotString, t.nlString],
    [u.bos, u.eos, u.eot, u.nl, u.bosString, u.eosString, u.eotString, u.nlString],
    `${name}: special tokens`,
  );
  assert.equal(t.shouldPrependBosToken, u.shouldPrependBosToken, `${name}: add BOS`);
  assert.deepEqual(tokenizerRules(ours), tokenizerRules(theirs), `${name}: tokenizer rules`);
  for (const text of TEXTS) {
    for (const special of [false, true]) {
      const ids = ours.tokenize(text, special);
      assert.deepEqual(ids, theirs.tokenize(text, special), `${name}: ${JSON.stringify(text)}`);
      assert.deepEqual(
        ours.tokenize(text, special, "trimLeadingSpace"),
        theirs.tokenize(text, special, "trimLeadingSpace"),
        `${name}: trimLeadingSpace ${JSON.stringify(text)} special=${special}`,
      );
      assert.equal(ours.detokenize(ids, special), theirs.detokenize(ids, special), name);
      for (let i = 1; i < ids.length; i++) {
        assert.equal(
          ours.detokenize(ids.slice(i), special, ids.slice(0, i)),
          theirs.detokenize(ids.slice(i), special, ids.slice(0, i)),
          `${name}: ${JSON.stringify(text)} from token ${i}, after the ones before`,
        );
      }
    }
    assert.deepEqual(encodeText(ours, text), encodeText(theirs, text), `${name}: encodeText`);
  }
  for (const token of sampleTokens(n)) {
    for (const special of [false, true]) {
      assert.equal(
        ours.detokenize([token], special),
        theirs.detokenize([token], special),
        `${name}: token ${token}`,
      );
    }
    const a = ours.getTokenAttributes(token);
    const b = theirs.getTokenAttributes(token);
    assert.deepEqual(
      [a.control, a.userDefined, a.unknown],
      [b.control, b.userDefined, b.unknown],
      `${name}: attributes of ${token}`,
    );
    assert.equal(ours.isEogToken(token), theirs.isEogToken(token), `${name}: EOG ${token}`);
  }
  const meta = (m: ModelVocabulary) =>
    (m.fileInfo.metadata as { tokenizer?: { chat_template?: unknown; ggml?: unknown } }).tokenizer;
  const ggml = (m: ModelVocabulary) =>
    meta(m)?.ggml as { model?: unknown; add_eos_token?: unknown } | undefined;
  assert.equal(meta(ours)?.chat_template, meta(theirs)?.chat_template, `${name}: chat template`);
  assert.equal(ggml(ours)?.model, ggml(theirs)?.model, `${name}: tokenizer.ggml.model`);
  assert.equal(ggml(ours)?.add_eos_token, ggml(theirs)?.add_eos_token, `${name}: add_eos_token`);
  const template = modelChatTemplate(ours);
  assert.equal(template === undefined, modelChatTemplate(theirs) === undefined);
  if (template) {
    for (const addGenerationPrompt of [false, true]) {
      const mine = encodeChat(ours, template, MESSAGES, { addGenerationPrompt });
      const node = encodeChat(theirs, modelChatTemplate(theirs)!, MESSAGES, {
        addGenerationPrompt,
      });
      assert.equal(mine.text, node.text, `${name}: chat render`);
      assert.deepEqual(mine.tokens, node.tokens, `${name}: chat prompt tokens`);
    }
  }
}

Deno.test("LibllamaModel tokenizes, detokenizes and renders chats as node-llama-cpp does: tiny model", async () => {
  const ours = await loadLibllamaModel(TINY_GGUF);
  const theirs = await loadModel(TINY_GGUF, { gpu: false, vocabOnly: true });
  try {
    compare("tiny", ours.model, theirs.model, ours.model.vocabularySize);
    assert.ok(modelChatTemplate(ours.model), "the tiny model has a chat template");
    assert.equal(ours.model.trainContextSize, theirs.info.contextLength);
    assert.deepEqual(
      { ...ours.info, parameters: undefined },
      { ...theirs.info, parameters: undefined },
      "the same identity (path, hash, size, architecture, quantization, context)",
    );
    assert.ok(ours.info.parameters! > 0);
  } finally {
    await ours.model.dispose();
    await theirs.model.dispose();
  }
});

Deno.test("LibllamaModel matches node-llama-cpp on llama.cpp's vocabulary files", async () => {
  const llama = await getRuntime(false);
  let compared = 0;
  for (const path of VOCABS) {
    if (!existsSync(path)) continue;
    const ours = LibllamaModel.vocabularyOnly(path);
    const theirs = await llama.loadModel({ modelPath: path, vocabOnly: true });
    try {
      compare(path, ours, theirs, ours.vocabularySize);
      compared++;
    } finally {
      await ours.dispose();
      await theirs.dispose();
    }
  }
  assert.equal(compared, VOCABS.length, "every vocabulary file is in .cache/llama.cpp/models");
});

Deno.test("a missing or non-model file fails with the message loadModel gives", async () => {
  await assert.rejects(
    () => loadLibllamaModel("/nonexistent/model.gguf"),
    /model\.gguf: model file not found\. Pass --model/,
  );
  await assert.rejects(() => loadLibllamaModel("deno.json"), /deno\.json/);
  const disposed = LibllamaModel.vocabularyOnly(VOCABS[0]);
  await disposed.dispose();
  assert.throws(() => disposed.tokenize("a"), /was disposed/);
});

Deno.test("the server on --cpu maps no node-llama-cpp library and answers", async () => {
  const server = await spawnTunebookServer(["--model", TINY_GGUF, "--cpu", "--log-level", "warn"]);
  try {
    const res = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", prompt: "Question:", max_tokens: 4, temperature: 0 }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).usage.completion_tokens, 4);
    const maps = readFileSync(`/proc/${server.pid}/maps`, "utf8");
    assert.doesNotMatch(maps, /\.node$/m, "no N-API addon (node-llama-cpp's)");
    assert.match(maps, /libllama/, "libllama is loaded (through FFI)");
  } finally {
    await server.stop();
  }
});
