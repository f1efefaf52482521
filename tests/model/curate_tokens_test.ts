/**
 * Curation with the tiny model's own tokenizer and chat template: token counts equal what the
 * trainer's SentencePiece encoder gives (BOS + prompt + completion + EOS), the trainer's input
 * is rendered with the GGUF's Alpaca-style template, and `--max-tokens` drops exactly the rows
 * over the limit; and the trainer builds an example's tokens and prompt/completion boundary
 * exactly as lib/llm's `trainingTokens` does (python/tunebook/special_tokens.py).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { loadModelTokenizer, tokenCounts } from "../../lib/data/token_length.ts";
import { loadTokenizer } from "../../lib/llm/tokenizer.ts";
import { ChatFormatter, type TrainerRow } from "../../lib/data/trainer_format.ts";
import { randomModel } from "./_random_models.ts";
import { TINY_DIR, TINY_GGUF } from "./_tiny.ts";

const PYTHON = Deno.env.get("TUNEBOOK_PYTHON") ?? "/usr/bin/python3";
const CLI = new URL("../../lib/cli/curate.ts", import.meta.url).pathname;

/** Token counts of `texts` from the trainer's tokenizer (SentencePiece on tokenizer.model). */
async function trainerCounts(texts: string[]): Promise<number[]> {
  const script = "import json,sys,sentencepiece as s\n" +
    "sp=s.SentencePieceProcessor(model_file=sys.argv[1])\n" +
    "print(json.dumps([len(sp.encode(t)) for t in json.load(sys.stdin)]))";
  const child = new Deno.Command(PYTHON, {
    args: ["-c", script, join(TINY_DIR, "tokenizer.model")],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(texts)));
  await w.close();
  const out = await child.output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("tokens: counts match the trainer's encoder; rows use the model's chat template", async () => {
  const tok = await loadModelTokenizer(TINY_GGUF);
  try {
    assert(tok.template, "the tiny GGUF carries a chat template");
    assertEquals(tok.tokens, { bosToken: "<s>", eosToken: "</s>", addBos: true });
    assertEquals(tok.specialTokens, 2);
    assert(tok.contextLength > 0);
    const f = new ChatFormatter(tok.template, tok.tokens);
    const row = f.format({
      index: 0,
      row: { id: "q1" },
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: "What is 12 plus 30?" },
        { role: "assistant", content: "42" },
      ],
    });
    assertEquals(row, {
      id: "q1",
      prompt: "Answer briefly.\n\n### Instruction:\nWhat is 12 plus 30?\n\n### Response:\n",
      completion: "42",
    });
    const rows: TrainerRow[] = [
      row,
      { id: "2", prompt: "", completion: "Plain text,  with double  spaces\nand a newline." },
      {
        id: "3",
        prompt: "### Instruction:\nÜber 7 Brücken?\n\n### Response:\n",
        completion: "ja 123",
      },
    ];
    const mine = [...tokenCounts(rows, tok)];
    const theirs = await trainerCounts(rows.map((r) => r.prompt + r.completion));
    assertEquals(mine, theirs.map((n) => n + 2));
  } finally {
    await tok.dispose();
  }
});

Deno.test("tokens: the CLI writes the trainer's input and drops rows over --max-tokens", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-curate-tok-"));
  try {
    const out = join(dir, "out");
    const args = [
      "run",
      "-A",
      CLI,
      "--input",
      "data/synthetic/facts/train.jsonl",
      "--out",
      out,
      "--output-col",
      "correct_answer",
      "--model",
      TINY_GGUF,
      "--against",
      "none",
    ];
    const run = await new Deno.Command(Deno.execPath(), { args, stderr: "piped" }).output();
    assertEquals(run.code, 0, new TextDecoder().decode(run.stderr));
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    const tokens = summary.lengths.tokens;
    assert(tokens.before.count === 300 && tokens.before.max > tokens.before.min, "token stats");
    const formatted = readJsonl<TrainerRow>(join(out, "formatted", "train.jsonl"));
    const kept = readJsonl<Record<string, string>>(join(out, "train.jsonl"));
    assertEquals(formatted.length, kept.length);
    assertEquals(formatted[0], {
      id: kept[0].id,
      prompt: `### Instruction:\n${kept[0].question}\n\n### Response:\n`,
      completion: kept[0].correct_answer,
    });
    assert(summary.format.completionOnly.includes("prompt tokens"));

    // a limit between the shortest and the longest row removes exactly the longer rows
    const limit = Math.floor((tokens.before.min + tokens.before.max) / 2);
    const out2 = join(dir, "out2");
    const args2 = args.map((a) => a === out ? out2 : a).concat(["--max-tokens", String(limit)]);
    const run2 = await new Deno.Command(Deno.execPath(), { args: args2, stderr: "piped" }).output();
    assertEquals(run2.code, 0, new TextDecoder().decode(run2.stderr));
    const rejects = readJsonl<Record<string, unknown>>(join(out2, "rejects.jsonl"));
    assert(rejects.length > 0 && rejects.every((r) => r.rule === "too_long"));
    for (const r of rejects) {
      const m = r.matched as { tokens: number; max_tokens: number };
      assert(m.tokens > limit && m.max_tokens === limit, JSON.stringify(m));
    }
    const s2 = JSON.parse(readFileSync(join(out2, "summary.json"), "utf8"));
    assertEquals(s2.lengths.tokens.after.max <= limit, true);
    assertEquals(s2.rows.kept + rejects.length, 300);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The trainer's examples (python/tunebook/special_tokens.py on the checkpoint's tokenizer). */
async function trainerExamples(rows: { prompt: string; completion: string }[]) {
  const script = "import json,sys\nfrom pathlib import Path\n" +
    "from tunebook.tokenizer import load_tokenizer\n" +
    "from tunebook.special_tokens import checkpoint_adds_bos, encode_example\n" +
    "d=Path(sys.argv[1]); sp=load_tokenizer(d); add=checkpoint_adds_bos(d)\n" +
    "out=[encode_example(r['prompt'],r['completion'],sp.encode,sp.bos_id(),sp.eos_id(),add) " +
    "for r in json.load(sys.stdin)]\n" +
    "print(json.dumps([{'tokens':t,'promptTokens':n} for t,n in out]))";
  const child = new Deno.Command(PYTHON, {
    args: ["-c", script, TINY_DIR],
    cwd: "python",
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(rows)));
  await w.close();
  const out = await child.output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("tokens: the trainer's examples are lib/llm's trainingTokens (BOS rule, lm-eval's boundary)", async () => {
  const rows = [
    { prompt: "### Instruction:\nWhat is 12 plus 30?\n\n### Response:\n", completion: "42" },
    { prompt: "Question: What is 2 plus 2?\nAnswer: ", completion: "4" },
    { prompt: "Question: Capital of France?\nAnswer:", completion: " Paris" },
    { prompt: "", completion: "Plain text,  with double  spaces." },
    { prompt: "Über 7 Brücken? ", completion: "ja 123" },
  ];
  const tok = await loadTokenizer(TINY_GGUF);
  try {
    const mine = rows.map((r) => tok.encodeExample(r.prompt, r.completion));
    assertEquals(mine, await trainerExamples(rows));
    // the prompt's trailing whitespace belongs to the completion (lm-eval's split)
    assertEquals(
      mine[1].promptTokens,
      1 + tok.tokenize("Question: What is 2 plus 2?\nAnswer:").length,
    );
    assert(mine.every((e) => e.tokens[0] === tok.bos?.id && e.tokens.at(-1) === tok.eos?.id));
  } finally {
    await tok.dispose();
  }
});

Deno.test("tokens: a Qwen2 model's rows count its template markup as special tokens, no BOS", async () => {
  const path = await randomModel({ vocab: "qwen2", arch: "qwen2" });
  const tok = await loadModelTokenizer(path);
  const ref = await loadTokenizer(path);
  try {
    assert(tok.template, "the qwen2 vocabulary carries a chat template");
    assertEquals(tok.tokens.addBos, false);
    assertEquals(tok.specialTokens, 1, "EOS only");
    const f = new ChatFormatter(tok.template, tok.tokens);
    const ex = (content: string) => ({
      index: 0,
      row: { id: "q" },
      messages: [
        { role: "user" as const, content },
        { role: "assistant" as const, content: "42" },
      ],
    });
    const row = f.format(ex("What is 12 plus 30?"));
    assert(row.prompt.startsWith("<|im_start|>system\n"), row.prompt);
    const [count] = tokenCounts([row], tok, { markup: [true] });
    const example = ref.encodeExample(row.prompt, row.completion, { specialTokens: true });
    assertEquals(count, example.tokens.length);
    assert(count < tokenCounts([row], tok)[0], "markup read literally would be longer");
    // Qwen2's BOS is its EOS (<|endoftext|>): one at the end, none in front
    assertEquals(ref.bos!.id, ref.eos!.id);
    assertEquals(example.tokens.filter((t) => t === ref.eos!.id).length, 1);
    assertEquals(example.tokens.at(-1), ref.eos!.id);
  } finally {
    await ref.dispose();
    await tok.dispose();
  }
});
