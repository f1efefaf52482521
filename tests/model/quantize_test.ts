/**
 * Quantization of the bundled tiny model with llama.cpp's `llama_model_quantize` (Deno FFI into
 * node-llama-cpp's prebuilt libllama): every type loads in node-llama-cpp and generates, the file
 * type and the card are right, bits per weight are measured from the file, the tensors llama.cpp
 * could not give a k-quant (hidden 128 is not a multiple of 256) are the ones the card lists, q8_0
 * keeps next-token log-probs close to f32, and bad requests fail with the fix.
 */
import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Token } from "node-llama-cpp";
import { findLibllama } from "../../lib/llm/_libllama_path.ts";
import { GGML_TYPES, inspectGguf } from "../../lib/gguf/inspect.ts";
import {
  type QuantizeCard,
  QuantizeInputError,
  quantizeModel,
  type QuantType,
} from "../../lib/gguf/quantize.ts";
import { LlmEngine } from "../../lib/llm/engine.ts";
import { LlamaQuantizeError, quantizeGguf } from "../../lib/llm/quantize_gguf.ts";
import { fileSha256 } from "../../lib/util/file_hash.ts";
import { type LoadedModel, loadModel } from "../../lib/llm/model.ts";
import { TEST_THREADS, TINY_256_GGUF, TINY_GGUF } from "./_tiny.ts";

const QUANT_CLI = fileURLToPath(new URL("../../lib/cli/quantize.ts", import.meta.url));
/** The cards `deno task quantize` wrote for the tiny model (README, "Quantization"). */
const RECORDED_CARDS = fileURLToPath(
  new URL("../../results/bench/quantize.json", import.meta.url),
);
/** Exit status of the CLI for a request the user can fix. */
const USAGE_ERROR = 2;
/** The types issue 4 asks for, with the `general.file_type` name each must carry. */
const TYPES: [QuantType, string][] = [
  ["q8_0", "Q8_0"],
  ["q4_k_m", "Q4_K_M"],
  ["q5_k_m", "Q5_K_M"],
  ["q6_k", "Q6_K"],
  ["f16", "F16"],
];
/** k-quant super-block size (QK_K in ggml): rows of other lengths cannot use a k-quant. */
const QK_K = 256;
/**
 * q8_0 vs f32 on the next-token distribution after each of PROMPTS (llama-perplexity's
 * --kl-divergence measures): the greedy token is the same; KL(f32 ‖ q8_0), averaged over the
 * prompts, is below KL_TOLERANCE nats; no token's probability moves more than PROB_TOLERANCE; the
 * greedy token's log-prob moves less than TOP_LOGPROB_TOLERANCE nats. Measured on the tiny model:
 * mean KL 1.0e-3 (q4_k_m, mostly q5_0 here: 7.5e-3; f16: 1e-6), |Δp| ≤ 0.031, greedy
 * |Δ log-prob| ≤ 0.055. That is more than q8_0 costs a large model: it rounds the weights and, on
 * CPU, the activations they multiply, and 128-wide dot products average little of that away.
 */
const KL_TOLERANCE = 5e-3;
const PROB_TOLERANCE = 0.1;
const TOP_LOGPROB_TOLERANCE = 0.15;
/** Bytes kept of the tiny model to make a truncated file: its header, not all of its tensors. */
const TRUNCATED_BYTES = 1_000_000;
const PROMPTS = [
  "3 plus 4 is",
  "Q: What is 8 plus 1? A:",
  "Context: Anna has a red bike.\nQuestion: What colour is Anna's bike?\nAnswer:",
  "If all cats are animals and Tom is a cat, then Tom is",
  "The capital of",
  "Question: Is a whale a fish?\nAnswer:",
  "12 minus 5 equals",
];

const dir = mkdtempSync(join(tmpdir(), "tunebook-quantize-"));
// node-llama-cpp is loaded before quantizing: llama.cpp's logger must be handed back intact.
const base = await loadModel(TINY_GGUF, { gpu: false });
const cards = new Map<QuantType, QuantizeCard>();
const paths = new Map<QuantType, string>();
for (const [type] of TYPES) {
  const r = await quantizeModel(TINY_GGUF, type, { outDir: dir, threads: TEST_THREADS });
  cards.set(type, r.card);
  paths.set(type, r.path);
}

/** Log-probabilities of the next token after `prompt`, every vocabulary entry. */
async function nextTokenLogprobs(m: LoadedModel, prompt: string): Promise<Map<Token, number>> {
  const ctx = await m.model.createContext({ contextSize: 256, threads: TEST_THREADS });
  try {
    const tokens = m.model.tokenize(prompt, true);
    const out = await ctx.getSequence().controlledEvaluate(
      tokens.map((t, i) =>
        i === tokens.length - 1
          ? [t, { generateNext: { probabilities: true } }] as [Token, object]
          : t
      ),
    );
    const probs = out[tokens.length - 1]!.next!.probabilities!;
    return new Map([...probs].map(([t, p]) => [t, Math.log(p)]));
  } finally {
    await ctx.dispose();
  }
}

Deno.test("quantize: each type has its file type, a card on disk and measured bits per weight", async () => {
  const source = await inspectGguf(TINY_GGUF);
  for (const [type, fileType] of TYPES) {
    const card = cards.get(type)!;
    const path = paths.get(type)!;
    assert.equal(path, join(dir, `tiny-${type}.gguf`));
    const onDisk = JSON.parse(readFileSync(`${path}.json`, "utf8"));
    assert.deepEqual(onDisk, card);
    const g = await inspectGguf(path);
    assert.equal(g.quantization, fileType, `${type}: general.file_type`);
    assert.equal(card.file_type, fileType);
    assert.equal(card.bytes, g.fileBytes);
    assert.ok(card.bytes < source.fileBytes, `${type} is smaller than f32`);
    assert.equal(card.weights, source.weights, `${type} keeps every weight`);
    assert.ok(Math.abs(card.bits_per_weight - g.bitsPerWeight) < 1e-3);
    assert.match(card.source_sha256, /^[0-9a-f]{64}$/);
    assert.equal(card.source_type, "F32");
    assert.ok(card.seconds > 0 && card.threads === TEST_THREADS);
    assert.ok(card.llama_cpp.release, "llama.cpp release recorded");
  }
  const bpw = (t: QuantType) => cards.get(t)!.bits_per_weight;
  // 1-D norms stay f32, so each is a little above its block type's nominal bits.
  assert.ok(bpw("f16") > 16 && bpw("f16") < 16.1, `f16 ${bpw("f16")}`);
  assert.ok(bpw("q8_0") > 8.5 && bpw("q8_0") < 8.6, `q8_0 ${bpw("q8_0")}`);
  assert.ok(bpw("q4_k_m") < bpw("q5_k_m") && bpw("q5_k_m") <= bpw("q6_k"));
  assert.ok(bpw("q6_k") <= bpw("q8_0"));
});

Deno.test("quantize: k-quant fallbacks on 128-wide rows are listed and match the file", async () => {
  for (const [type] of TYPES) {
    const card = cards.get(type)!;
    const tensors = new Map((await inspectGguf(paths.get(type)!)).tensors.map((t) => [t.name, t]));
    if (type === "q8_0" || type === "f16") {
      assert.deepEqual(card.fallbacks, [], `${type} needs no fallback`);
      continue;
    }
    // The tiny model's rows are 128 or 352 wide: no 2-D weight can hold 256-blocks.
    assert.ok(card.fallbacks.length > 0, `${type}: fallbacks reported`);
    for (const f of card.fallbacks) {
      const t = tensors.get(f.tensor)!;
      assert.equal(t.type, f.used, `${f.tensor} has the type the card says`);
      assert.equal(t.dims[0], f.columns);
      assert.ok(f.columns % QK_K !== 0 && f.block === QK_K);
    }
    const kQuant = [...tensors.values()].filter((t) => /_K$/.test(t.type));
    assert.deepEqual(
      kQuant.map((t) => t.name),
      [],
      `${type}: no k-quant tensor in a 128-wide model`,
    );
  }
});

Deno.test("quantize: tiny-256 (rows of 256 and 768) takes every k-quant with no fallback", async () => {
  const out = mkdtempSync(join(tmpdir(), "tunebook-quantize-256-"));
  const source = await inspectGguf(TINY_256_GGUF);
  for (const type of ["q4_k_m", "q6_k"] as const) {
    const { card, path } = await quantizeModel(TINY_256_GGUF, type, {
      outDir: out,
      threads: TEST_THREADS,
    });
    assert.deepEqual(card.fallbacks, [], `${type}: no fallback rows`);
    const tensors = (await inspectGguf(path)).tensors;
    const matrices = tensors.filter((t) => t.dims.length === 2 && t.dims[1] > 1);
    assert.ok(matrices.length > 0);
    for (const t of matrices) {
      assert.match(t.type, /_K$/, `${type}: ${t.name} is a k-quant (${t.type})`);
    }
    assert.equal(card.weights, source.weights);
    // q4_k_m: q4_K with some q6_K tensors (≈ 4.9 bits per weight on a 7B; more here, where
    // the token embedding is a large share), never the 6.4 of the 128-wide model's fallbacks.
    if (type === "q4_k_m") {
      assert.ok(card.bits_per_weight < 5.6, `q4_k_m ${card.bits_per_weight} bits per weight`);
    }
  }
});

Deno.test("quantize: every output loads in node-llama-cpp and greedy-generates", async () => {
  for (const [type, fileType] of TYPES) {
    const m = await loadModel(paths.get(type)!, { gpu: false });
    const e = await LlmEngine.create(m, { sequences: 1, threads: TEST_THREADS });
    try {
      assert.equal(m.info.quantization, fileType);
      const g = await e.generate("3 plus 4 is", { until: ["\n"], maxTokens: 6 });
      console.log(`${type}: "3 plus 4 is" -> ${JSON.stringify(g.text)}`);
      assert.ok(g.tokens > 0, `${type} generated nothing`);
    } finally {
      await e.dispose();
      await m.model.dispose();
    }
  }
});

Deno.test("quantize: q8_0 keeps next-token log-probs close to f32", async () => {
  const q8 = await loadModel(paths.get("q8_0")!, { gpu: false });
  const q4 = await loadModel(paths.get("q4_k_m")!, { gpu: false });
  try {
    const worst = { meanKl: 0, meanKlQ4: 0, prob: 0, top: 0 };
    for (const prompt of PROMPTS) {
      const ref = await nextTokenLogprobs(base, prompt);
      const a = await nextTokenLogprobs(q8, prompt);
      worst.meanKl += klDivergence(ref, a) / PROMPTS.length;
      worst.meanKlQ4 += klDivergence(ref, await nextTokenLogprobs(q4, prompt)) / PROMPTS.length;
      for (const [t, lp] of ref) {
        worst.prob = Math.max(worst.prob, Math.abs(Math.exp(lp) - Math.exp(a.get(t)!)));
      }
      const top = argmax(ref);
      worst.top = Math.max(worst.top, Math.abs(ref.get(top)! - a.get(top)!));
      assert.equal(argmax(a), top, `q8_0 changed the greedy token after ${JSON.stringify(prompt)}`);
    }
    console.log(`q8_0 vs f32: ${JSON.stringify(worst)}`);
    assert.ok(worst.meanKl < KL_TOLERANCE, `q8_0 mean KL ${worst.meanKl}`);
    assert.ok(worst.prob < PROB_TOLERANCE, `q8_0 probabilities differ by ${worst.prob}`);
    assert.ok(worst.top < TOP_LOGPROB_TOLERANCE, `q8_0 greedy log-prob differs by ${worst.top}`);
    assert.ok(worst.meanKlQ4 > worst.meanKl, "q4_k_m should drift further from f32 than q8_0");
  } finally {
    await q8.model.dispose();
    await q4.model.dispose();
  }
});

/** KL(p ‖ q) in nats, from log-probabilities over the same vocabulary. */
function klDivergence(p: Map<Token, number>, q: Map<Token, number>): number {
  let kl = 0;
  for (const [t, lp] of p) kl += Math.exp(lp) * (lp - q.get(t)!);
  return kl;
}

function argmax(m: Map<Token, number>): Token {
  let best: [Token, number] = [-1 as Token, -Infinity];
  for (const e of m) if (e[1] > best[1]) best = e;
  return best[0];
}

Deno.test("ggml type sizes in lib/gguf/inspect.ts match the bundled libggml-base", () => {
  const bins = dirname(findLibllama());
  const base = readdirSync(bins).find((n) => /^(lib)?ggml-base\.(so|dylib|dll)$/.test(n));
  assert.ok(base, `no ggml-base library in ${bins}`);
  const lib = Deno.dlopen(join(bins, base), {
    ggml_type_size: { parameters: ["i32"], result: "usize" },
    ggml_blck_size: { parameters: ["i32"], result: "i64" },
    ggml_type_name: { parameters: ["i32"], result: "pointer" },
  });
  try {
    for (const [id, t] of Object.entries(GGML_TYPES)) {
      const name = Deno.UnsafePointerView.getCString(lib.symbols.ggml_type_name(Number(id))!);
      assert.deepEqual(
        [
          name,
          Number(lib.symbols.ggml_blck_size(Number(id))),
          Number(lib.symbols.ggml_type_size(Number(id))),
        ],
        [t.name, t.blockSize, t.typeSize],
        `ggml type ${id}`,
      );
    }
  } finally {
    lib.close();
  }
});

Deno.test("quantize: bad requests fail with the fix and leave nothing behind", async () => {
  const out = join(dir, "errors");
  await assert.rejects(
    quantizeModel(join(dir, "missing-f32.gguf"), "q8_0", { outDir: out }),
    /missing-f32\.gguf: input model not found/,
  );
  await assert.rejects(
    quantizeModel(TINY_GGUF, "q4_k_x", { outDir: out }),
    /unsupported quantization type "q4_k_x"; supported: .*q4_k_m/,
  );
  const tokenizer = join(dirname(TINY_GGUF), "tokenizer.model");
  await assert.rejects(
    quantizeModel(tokenizer, "q8_0", { outDir: out }),
    /not a readable GGUF file/,
  );
  // Existing output: refused without force, replaced with it.
  const existing = paths.get("q8_0")!;
  await assert.rejects(
    quantizeModel(TINY_GGUF, "q8_0", { outDir: dir }),
    (e: Error) =>
      e instanceof QuantizeInputError && /already exists\. Pass --force/.test(e.message),
  );
  const again = await quantizeModel(TINY_GGUF, "q8_0", { outDir: dir, force: true, threads: 1 });
  assert.equal(again.card.sha256, cards.get("q8_0")!.sha256, "q8_0 is deterministic");
  // An already-quantized input needs allowRequantize; the output may not be the input.
  await assert.rejects(
    quantizeModel(existing, "q4_0", { outDir: out }),
    /already quantized \(Q8_0\).*--allow-requantize/,
  );
  const copy = join(dir, "copy-f32.gguf");
  copyFileSync(TINY_GGUF, copy);
  await assert.rejects(
    quantizeModel(copy, "q8_0", { out: copy, force: true }),
    /would overwrite the input/,
  );
  // A truncated download: the header reads, llama.cpp refuses, and its reason is passed on.
  const truncated = join(dir, "truncated-f32.gguf");
  writeFileSync(truncated, readFileSync(TINY_GGUF).subarray(0, TRUNCATED_BYTES));
  await assert.rejects(
    quantizeModel(truncated, "q8_0", { outDir: out }),
    (e: Error) =>
      !(e instanceof QuantizeInputError) &&
      /truncated-f32\.gguf: llama\.cpp could not quantize it to q8_0 \(failed to quantize: .+\)/
        .test(e.message),
  );
  const requant = await quantizeModel(existing, "q4_0", { outDir: out, allowRequantize: true });
  assert.equal(requant.card.file_type, "Q4_0");
  assert.deepEqual(readdirSync(out).sort(), ["tiny-q4_0.gguf", "tiny-q4_0.gguf.json"]);
});

Deno.test("quantize: the files and cards are the ones recorded in results/bench/quantize.json", () => {
  const recorded = new Map(
    (JSON.parse(readFileSync(RECORDED_CARDS, "utf8")) as QuantizeCard[]).map((c) => [c.type, c]),
  );
  for (const [type] of TYPES) {
    const card = cards.get(type)!;
    const then = recorded.get(type);
    assert.ok(then, `${RECORDED_CARDS} has no ${type} card`);
    assert.equal(
      then.source_sha256,
      card.source_sha256,
      `${RECORDED_CARDS} was recorded for another tiny model; rerun its command (README)`,
    );
    assert.equal(then.llama_cpp.release, card.llama_cpp.release, "same llama.cpp release");
    const same = (c: QuantizeCard) => ({
      sha256: c.sha256,
      file_type: c.file_type,
      bytes: c.bytes,
      bits_per_weight: c.bits_per_weight,
      tensor_types: c.tensor_types,
      fallbacks: c.fallbacks,
    });
    assert.deepEqual(same(card), same(then), `${type}: file and card as recorded`);
  }
});

Deno.test("quantizeGguf: lib/llm's call writes the same file, logs through onLog, fails cleanly", async () => {
  const out = join(dir, "direct");
  mkdirSync(out, { recursive: true });
  const q8 = join(out, "tiny-q8_0.gguf");
  const lines: string[] = [];
  const r = await quantizeGguf(TINY_GGUF, q8, {
    ftype: 7, // LLAMA_FTYPE_MOSTLY_Q8_0
    threads: TEST_THREADS,
    onLog: (line) => lines.push(line),
  });
  assert.equal(await fileSha256(q8, join(out, "hashes.json")), cards.get("q8_0")!.sha256);
  assert.ok(
    lines.some((l) => l.includes("llama_model_quantize_impl")),
    lines.slice(0, 5).join("\n"),
  );
  assert.ok(r.seconds > 0 && r.release === cards.get("q8_0")!.llama_cpp.release);
  assert.equal(r.library, findLibllama());
  // An onLog that throws does not unwind into llama.cpp: the run finishes and says so on failure.
  const truncated = join(out, "truncated-f32.gguf");
  writeFileSync(truncated, readFileSync(TINY_GGUF).subarray(0, TRUNCATED_BYTES));
  const failed = join(out, "truncated-q8_0.gguf");
  await assert.rejects(
    quantizeGguf(truncated, failed, {
      ftype: 7,
      threads: TEST_THREADS,
      onLog() {
        throw new Error("listener broke");
      },
    }),
    (e: Error) =>
      e instanceof LlamaQuantizeError && e.code !== 0 &&
      e.errors.some((m) => m.startsWith("failed to quantize")) &&
      e.errors.includes("onLog threw: listener broke"),
  );
  assert.ok(!existsSync(failed), "a failed run leaves no output");
});

Deno.test("deno task quantize: several types, a summary table, exit 2 on an existing output", async () => {
  const out = join(dir, "cli");
  const run = async (args: string[]) => {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", QUANT_CLI, TINY_GGUF, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
  };
  const ok = await run([
    "--type",
    "q8_0,Q4_K_M",
    "--out-dir",
    out,
    "--threads",
    String(TEST_THREADS),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const lines = ok.stdout.trim().split("\n");
  assert.match(lines[0], /^type\s+file type\s+size MiB\s+bits\/weight\s+seconds\s+fallbacks/);
  assert.match(lines[2], /^\(F32\)\s+F32/);
  assert.match(lines[3], /^q8_0\s+Q8_0\s+[\d.]+\s+8\.5\d\s+[\d.]+\s+0$/);
  assert.match(lines[4], /^q4_k_m\s+Q4_K_M\s+.*\d+\/\d+ \(q4_K→q5_0, q6_K→q8_0\)$/);
  assert.ok(
    existsSync(join(out, "tiny-q8_0.gguf.json")) && existsSync(join(out, "tiny-q4_k_m.gguf")),
  );
  const exists = await run(["--type", "q5_k_m,q8_0", "--out-dir", out]);
  assert.equal(exists.code, USAGE_ERROR);
  assert.match(exists.stderr, /tiny-q8_0\.gguf: already exists\. Pass --force/);
  assert.ok(!existsSync(join(out, "tiny-q5_k_m.gguf")), "nothing written before the check");
  const bad = await run(["--type", "q4_k_m", "--out", join(out, "x.gguf"), "--type", "iq2_xxs"]);
  assert.equal(bad.code, USAGE_ERROR);
  assert.match(bad.stderr, /unsupported quantization type "iq2_xxs"; supported: f32/);
});
