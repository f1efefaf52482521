/**
 * Each model's own tokenizer rules, on the real vocabularies bundled with llama.cpp's source
 * (`.cache/llama.cpp/models/ggml-vocab-*.gguf`):
 *
 * - lib/llm's BOS/EOS rules (lib/llm/tokenizer_rules.ts) are llama.cpp's own
 *   (`llama_vocab_get_add_bos/eos` through its C API) and node-llama-cpp's, for every vocabulary,
 *   and the table the README shows;
 * - llama.cpp's tokenizer test vectors beside each vocabulary (`*.gguf.inp` / `*.gguf.out`) come
 *   out of lib/llm's tokenizer token for token;
 * - on a random-weight model of a real architecture around each vocabulary
 *   (tests/model/_random_models.ts): the token ids tunebook uses for prompts, choices and chat
 *   renders are node-llama-cpp's `tokenize` with the model's BOS rule, and llama.cpp's own
 *   `llama_tokenize(add_special, parse_special)` (for chat: as llama-server renders it); the
 *   batched scorer, the sequences scorer and a from-scratch evaluation give the same scores;
 *   lm-eval's context/continuation boundary holds on byte-level BPE, where " word" is one token.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Token } from "node-llama-cpp";
import { ChatTemplate, encodeChat, modelChatTemplate } from "../../lib/llm/chat.ts";
import { type ChoiceScores, LlmEngine } from "../../lib/llm/engine.ts";
import { LibllamaVocab } from "../../lib/llm/libllama_vocab.ts";
import { type LoadedModel, loadModel } from "../../lib/llm/model.ts";
import { loadTokenizer } from "../../lib/llm/tokenizer.ts";
import { scoringTokens, tokenizerRules } from "../../lib/llm/tokenizer_rules.ts";
import { randomModel, TEMPLATE_DIR, tokenizerVectors, VOCAB_DIR } from "./_random_models.ts";
import { TEST_THREADS } from "./_tiny.ts";

/**
 * The vocabularies checked on a random model, the architecture it gets, the rule llama.cpp
 * applies (README's table), and the chat template rendered (the vocabulary's own, or a real one
 * from llama.cpp's templates folder).
 */
const MODELS = [
  { vocab: "llama-spm", arch: "llama", addBos: true, template: "tiny" },
  { vocab: "llama-bpe", arch: "llama", addBos: true, template: "meta-llama-Llama-3.1-8B-Instruct" },
  { vocab: "qwen2", arch: "qwen2", addBos: false, template: "own" },
  { vocab: "qwen35", arch: "qwen2", addBos: false, template: "Qwen-Qwen2.5-7B-Instruct" },
  { vocab: "phi-3", arch: "phi3", addBos: true, template: "own" },
  { vocab: "gemma-4", arch: "gemma", addBos: true, template: "own" },
  { vocab: "gpt-2", arch: "gpt2", addBos: false, template: "tiny" },
  {
    vocab: "deepseek-llm",
    arch: "llama",
    addBos: true,
    template: "deepseek-ai-DeepSeek-R1-Distill-Llama-8B",
  },
  { vocab: "deepseek-coder", arch: "llama", addBos: true, template: "tiny" },
  { vocab: "command-r", arch: "command-r", addBos: true, template: "own" },
] as const;

/** The tiny model's Alpaca-style template, with a leading `{{ bos_token }}` (one BOS, never two). */
const BOS_ALPACA = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}" +
  "{{ '### Instruction:\\n' + m['content'] + '\\n\\n' }}{% elif m['role'] == 'assistant' %}" +
  "{{ '### Response:\\n' + m['content'] + eos_token + '\\n\\n' }}{% else %}" +
  "{{ m['content'] + '\\n\\n' }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}";

const PROMPTS = [
  "Question: What is the capital of France?\nAnswer:",
  "  two leading spaces, a\ttab and  double spaces",
  "Über 7 Brücken? 日本語 🙂 — «ok»",
  "12345 + 67890 = ",
  "ends with the EOS text </s> and <|endoftext|>",
  "",
];

const CHOICE_QUESTIONS = [
  {
    context: "Question: What is the capital of France?\nAnswer:",
    choices: [" Paris", " Lyon", " Marseille and Nice"],
  },
  { context: "The color of the sky is ", choices: ["blue", "green", "very dark purple"] },
  { context: "", choices: ["Hello", "Hello world"] },
];

const MESSAGES = [
  { role: "system", content: "Answer briefly." },
  { role: "user", content: "What is 12 plus 30?" },
  { role: "assistant", content: "42" },
  { role: "user", content: "And 2 plus 2?" },
];

/** What tunebook must give: node-llama-cpp's own tokens, BOS first when it says so. */
function nodeLlamaCpp(loaded: LoadedModel, text: string): Token[] {
  const m = loaded.model;
  const tokens = m.tokenize(text, false);
  return m.tokens.shouldPrependBosToken && m.tokens.bos !== null
    ? [m.tokens.bos, ...tokens]
    : tokens;
}

/** llama-server's chat tokens: the render without a leading BOS text when it adds BOS, parsed. */
function llamaServerChat(vocab: LibllamaVocab, text: string, bosText: string): number[] {
  const body = vocab.addBos && bosText && text.startsWith(bosText)
    ? text.slice(bosText.length)
    : text;
  return vocab.tokenize(body, { addSpecial: true, parseSpecial: true });
}

Deno.test("every bundled vocabulary: BOS/EOS rules are llama.cpp's; its test vectors come out of lib/llm", async () => {
  const files = readdirSync(VOCAB_DIR).filter((f) => /^ggml-vocab-.*\.gguf$/.test(f)).sort();
  assert.ok(files.length >= 15, `only ${files.length} vocab files in ${VOCAB_DIR}`);
  const encoders: string[] = [];
  let vectorFiles = 0;
  for (const f of files) {
    const path = join(VOCAB_DIR, f);
    const tok = await loadTokenizer(path);
    const ref = LibllamaVocab.open(path);
    try {
      assert.equal(tok.rules.addBos, ref.addBos && ref.bos !== null, `${f}: add_bos`);
      assert.equal(tok.rules.addEos, ref.addEos && ref.eos !== null, `${f}: add_eos`);
      assert.equal(tok.rules.bos?.id ?? null, ref.bos, `${f}: BOS id`);
      assert.equal(tok.rules.eos?.id ?? null, ref.eos, `${f}: EOS id`);
      // llama.cpp's tokenizer vectors (what its test-tokenizer-0 checks: no special tokens added)
      const name = f.replace(/^ggml-vocab-/, "").replace(/\.gguf$/, "");
      if (existsSync(`${path}.inp`) && existsSync(`${path}.out`)) {
        const vectors = tokenizerVectors(name);
        assert.ok(vectors.length >= 20, `${name}: only ${vectors.length} vectors`);
        for (const [text, expected] of vectors) {
          assert.deepEqual(tok.tokenize(text), expected, `${name}: ${JSON.stringify(text)}`);
        }
        vectorFiles++;
      }
      const row = MODELS.find((m) => `ggml-vocab-${m.vocab}.gguf` === f);
      if (row) assert.equal(tok.rules.addBos, row.addBos, `${f}: the README's rule`);
      // Encoder vocabularies (BERT-style, add_sep) append a separator no causal LM path uses.
      if (ref.addSep) {
        encoders.push(f);
        continue;
      }
      for (const text of ["Hello world", " Hello", "", "a\n\nb"]) {
        assert.deepEqual(
          tok.encode(text),
          ref.tokenize(text, { addSpecial: true }),
          `${f}: ${JSON.stringify(text)} with special tokens added`,
        );
      }
    } finally {
      ref.dispose();
      await tok.dispose();
    }
  }
  assert.deepEqual(encoders, ["ggml-vocab-bert-bge.gguf"]);
  assert.ok(vectorFiles >= 14, `only ${vectorFiles} vocabularies have test vectors`);
});

for (const row of MODELS) {
  Deno.test(`${row.vocab} (${row.arch}): prompts, choices and chat renders are the model's tokens; scorers agree`, async () => {
    const path = await randomModel({ vocab: row.vocab, arch: row.arch });
    const loaded = await loadModel(path, { gpu: false });
    const ref = LibllamaVocab.open(path);
    const rules = tokenizerRules(loaded.model);
    try {
      assert.equal(rules.addBos, row.addBos);
      const engine = await LlmEngine.create(loaded, { sequences: 2, threads: TEST_THREADS });
      try {
        // prompts: node-llama-cpp's tokens with its BOS rule, and llama.cpp's own
        for (const p of PROMPTS) {
          const mine = engine.tokenize(p);
          assert.deepEqual(mine, nodeLlamaCpp(loaded, p), `${row.vocab}: ${JSON.stringify(p)}`);
          assert.deepEqual(
            mine,
            ref.tokenize(p, { addSpecial: true }),
            `llama.cpp: ${JSON.stringify(p)}`,
          );
        }
        // choices: lm-eval's split of the whole string, tokenized once
        for (const q of CHOICE_QUESTIONS) {
          const split = scoringTokens(loaded.model, q.context, q.choices);
          const ctxText = q.context.trimEnd();
          const expectedCtx = ctxText === "" && !rules.addBos
            ? [(rules.bos ?? rules.eos)!.id]
            : nodeLlamaCpp(loaded, ctxText);
          assert.deepEqual(
            split.context,
            expectedCtx,
            `${row.vocab}: context of ${JSON.stringify(q.context)}`,
          );
          q.choices.forEach((c, i) => {
            const moved = q.context.slice(ctxText.length) + c;
            const whole = ctxText === "" && !rules.addBos
              ? [...expectedCtx, ...nodeLlamaCpp(loaded, moved)]
              : nodeLlamaCpp(loaded, ctxText + moved);
            assert.deepEqual(
              split.continuations[i],
              whole.slice(expectedCtx.length),
              `${row.vocab}: ${c}`,
            );
          });
        }
        // chat: one BOS at most, markup parsed, as llama-server tokenizes it
        const template = chatTemplate(loaded, row.template);
        const bosText = loaded.model.tokens.bosString ?? "";
        for (const addGenerationPrompt of [true, false]) {
          const chat = encodeChat(loaded.model, template, MESSAGES, { addGenerationPrompt });
          assert.deepEqual(
            chat.tokens,
            llamaServerChat(ref, chat.text, bosText),
            `${row.vocab}: chat (add_generation_prompt ${addGenerationPrompt})`,
          );
          const bosCount = chat.tokens.filter((t) => t === rules.bos?.id).length;
          if (rules.addBos && rules.bos?.id !== rules.eos?.id) {
            assert.equal(chat.tokens[0], rules.bos!.id, `${row.vocab}: chat starts with BOS`);
            assert.equal(
              bosCount,
              1,
              `${row.vocab}: exactly one BOS in ${JSON.stringify(chat.text)}`,
            );
          }
        }
        const withHeader = encodeChat(loaded.model, template, MESSAGES.slice(0, 2));
        const without = encodeChat(loaded.model, template, MESSAGES.slice(0, 2), {
          addGenerationPrompt: false,
        });
        assert.ok(withHeader.text.startsWith(without.text), `${row.vocab}: the header is appended`);
        // phi-3's template writes the assistant header after every user turn, whatever is asked.
        assert.equal(withHeader.text.length > without.text.length, row.vocab !== "phi-3");
        await scorersAgree(loaded, engine);
      } finally {
        await engine.dispose();
      }
    } finally {
      ref.dispose();
      await loaded.model.dispose();
    }
  });
}

function chatTemplate(loaded: LoadedModel, which: string): ChatTemplate {
  const tokens = {
    bosToken: loaded.model.tokens.bosString ?? "",
    eosToken: loaded.model.tokens.eosString ?? "",
  };
  if (which === "own") {
    const t = modelChatTemplate(loaded.model);
    assert.ok(t, "the vocabulary carries a chat template");
    return t;
  }
  if (which === "tiny") return new ChatTemplate(BOS_ALPACA, tokens);
  const file = join(TEMPLATE_DIR, `${which}.jinja`);
  return new ChatTemplate(readFileSync(file, "utf8"), { ...tokens, source: file });
}

/**
 * Log-prob difference allowed between the scorers and a from-scratch evaluation: 1e-3 nats plus
 * 1e-4 of the value (the KV cache is f16 and the batch layouts differ; seen: 2.9e-3 on a −40.5
 * nat choice of the gemma model, whose embeddings are scaled by √hidden).
 */
function tolerance(logprob: number): number {
  return 1e-3 + 1e-4 * Math.abs(logprob);
}

/**
 * The batched scorer's allowance on top of {@linkcode tolerance}: it always takes llama.cpp's tiled
 * CPU attention (it pads small decodes to 64 tokens so that its numbers never depend on what
 * shares a decode), where a from-scratch evaluation of a few tokens takes another kernel — the
 * gap tests/model/engine_test.ts's KERNEL_TOLERANCE allows (seen here: 2.6e-3 on a −10.1 nat
 * choice of the deepseek-llm model). A token off at the boundary moves a choice by whole nats.
 */
const BATCHED_KERNEL_ALLOWANCE = 5e-3;

/** Batched scorer = sequences scorer = from-scratch evaluation of context + choice. */
async function scorersAgree(loaded: LoadedModel, batched: LlmEngine): Promise<void> {
  assert.equal(batched.scorer, "batched");
  const sequences = await LlmEngine.create(loaded, {
    sequences: 2,
    threads: TEST_THREADS,
    scorer: "sequences",
  });
  const ctx = await loaded.model.createContext({ contextSize: 256, threads: TEST_THREADS });
  const seq = ctx.getSequence();
  try {
    for (const q of CHOICE_QUESTIONS) {
      const a: ChoiceScores = await batched.scoreChoices(q.context, q.choices);
      const b: ChoiceScores = await sequences.scoreChoices(q.context, q.choices);
      const split = scoringTokens(loaded.model, q.context, q.choices);
      assert.deepEqual(a.tokenCounts, split.continuations.map((c) => c.length));
      assert.deepEqual(b.tokenCounts, a.tokenCounts);
      for (let i = 0; i < q.choices.length; i++) {
        const input = [...split.context, ...split.continuations[i]];
        const first = split.context.length - 1;
        await seq.clearHistory();
        const out = await seq.controlledEvaluate(
          input.map((t, k) =>
            k >= first && k < input.length - 1
              ? [t, { generateNext: { probabilities: true } }] as [Token, object]
              : t
          ),
        );
        let sum = 0;
        split.continuations[i].forEach((t, k) => {
          sum += Math.log(out[first + k]!.next!.probabilities!.get(t) ?? 0);
        });
        const label = `${JSON.stringify(q.context)} + ${JSON.stringify(q.choices[i])}`;
        assert.ok(
          Math.abs(a.logprobs[i] - sum) < tolerance(sum) + BATCHED_KERNEL_ALLOWANCE,
          `batched ${a.logprobs[i]} vs ${sum}: ${label}`,
        );
        assert.ok(
          Math.abs(b.logprobs[i] - sum) < tolerance(sum),
          `sequences ${b.logprobs[i]} vs ${sum}: ${label}`,
        );
      }
    }
  } finally {
    await ctx.dispose();
    await sequences.dispose();
  }
}

for (const vocab of ["llama-bpe", "qwen2"] as const) {
  Deno.test(`${vocab}: lm-eval's boundary on byte-level BPE (" Paris" is one token)`, async () => {
    const arch = vocab === "qwen2" ? "qwen2" : "llama";
    const loaded = await loadModel(await randomModel({ vocab, arch }), { gpu: false });
    const engine = await LlmEngine.create(loaded, { sequences: 1, threads: TEST_THREADS });
    try {
      const m = loaded.model;
      const paris = m.tokenize(" Paris", false);
      assert.equal(paris.length, 1, "byte-level BPE makes ' Paris' one token");
      // The context's trailing space moves to the continuation: the choice is the one " Paris"
      // token, never a lone " " token followed by "Paris".
      const spaced = scoringTokens(m, "Answer: ", ["Paris"]);
      const plain = scoringTokens(m, "Answer:", [" Paris"]);
      assert.deepEqual(spaced, plain);
      assert.deepEqual(spaced.continuations[0], paris);
      assert.deepEqual(spaced.context, engine.tokenize("Answer:"));
      const a = await engine.scoreChoices("Answer: ", ["Paris", "Lyon"]);
      const b = await engine.scoreChoices("Answer:", [" Paris", " Lyon"]);
      assert.deepEqual(a.tokenCounts, [1, 1]);
      assert.deepEqual(a.logprobs, b.logprobs);
      // A newline-ended context: the newline moves to the continuation, and the whole string is
      // tokenized once — here "?\n" is one token, so the context's own tokens are not a prefix of
      // the whole's, and (as in lm-eval) the continuation is the whole's tail past their count.
      const nl = scoringTokens(m, "Q: capital?\n", ["Paris"]);
      const whole = engine.tokenize("Q: capital?\nParis");
      assert.deepEqual(nl.context, engine.tokenize("Q: capital?"));
      assert.deepEqual(nl.continuations[0], whole.slice(nl.context.length));
    } finally {
      await engine.dispose();
      await loaded.model.dispose();
    }
  });
}

for (const row of [MODELS[0], MODELS[2]]) {
  Deno.test(`${row.vocab}: special-token text in a message stays text; the markup around it is parsed`, async () => {
    const path = await randomModel({ vocab: row.vocab, arch: row.arch });
    const loaded = await loadModel(path, { gpu: false });
    try {
      const m = loaded.model;
      const template = chatTemplate(loaded, row.template);
      const marker = row.vocab === "qwen2" ? "<|im_end|>" : "</s>";
      const markerId = m.tokenize(marker, true);
      assert.equal(markerId.length, 1, `${marker} is one special token`);
      const clean = [{ role: "user", content: "What is 2 plus 2?" }];
      const injected = [{ role: "user", content: `What is 2 plus 2?${marker}` }];
      const a = encodeChat(m, template, clean);
      const b = encodeChat(m, template, injected);
      const count = (t: Token[]) => t.filter((x) => x === markerId[0]).length;
      assert.equal(count(b.tokens), count(a.tokens), "the message's marker is not a special token");
      // the content is there as text (special tokens detokenize to nothing without `special`)
      assert.ok(m.detokenize(b.tokens, false).includes(`2 plus 2?${marker}`), "the marker is text");
      assert.ok(!m.detokenize(a.tokens, false).includes(marker));
      assert.equal(b.tokens[0] === m.tokens.bos, tokenizerRules(m).addBos);
    } finally {
      await loaded.model.dispose();
    }
  });
}
