/**
 * `deno task finetune --dry-run`: the resolved plan before anything loads — dtype per part, 4-bit,
 * checkpointing, micro batch × accumulation and the estimated peak memory from the base model's
 * config.json alone (no weights, no torch) — and nothing written.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CLI = new URL("../../lib/cli/finetune.ts", import.meta.url).pathname;

/** Mistral-7B-v0.1's config.json (the weights are not needed for a plan). */
const MISTRAL_7B = {
  architectures: ["MistralForCausalLM"],
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: "mistral",
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  vocab_size: 32000,
};

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-dryrun-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

async function finetune(cwd: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The value column of a table row. */
function row(table: string, key: string): string {
  const line = table.split("\n").find((l) => l.trimStart().startsWith(key + "  "));
  assert.ok(line, `no "${key}" row in:\n${table}`);
  return line.trim().slice(key.length).trim();
}

Deno.test("finetune --dry-run: colab-t4 on a 7B config prints the plan and writes nothing", async () => {
  using tmp = tempDir();
  const model = join(tmp.dir, "mistral-7b");
  Deno.mkdirSync(model);
  writeFileSync(join(model, "config.json"), JSON.stringify(MISTRAL_7B));
  const rows = join(tmp.dir, "rows.jsonl");
  writeFileSync(rows, JSON.stringify({ prompt: "Q: 1+1?\nA:", completion: " 2" }) + "\n");
  const r = await finetune(tmp.dir, [
    "--preset",
    "colab-t4",
    "--base",
    model,
    "--train",
    rows,
    "--dry-run",
    "--gpu-memory-gb",
    "15",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const t = r.stdout;
  assert.match(row(t, "base model"), /mistral, 7\.24B parameters, 32 layers/);
  assert.match(row(t, "dtype: frozen base"), /^nf4 .*computes in fp16/);
  assert.equal(row(t, "dtype: LoRA weights"), "fp32");
  assert.equal(row(t, "dtype: activations"), "fp16 (autocast)");
  assert.match(row(t, "4-bit base (NF4)"), /^yes/);
  assert.equal(row(t, "gradient checkpointing"), "on");
  assert.equal(row(t, "micro batch × accumulation"), "2 × 8 = 16 rows a step");
  assert.match(row(t, "LoRA"), /q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/);
  const peak = Number(row(t, "memory: peak (sum)").replace(" GB", ""));
  assert.ok(peak > 4 && peak < 15, `a 4-bit 7B plan on a T4 should fit: ${peak} GB`);
  assert.doesNotMatch(t, /above this GPU/);
  assert.deepEqual(readdirSync(tmp.dir).sort(), ["mistral-7b", "rows.jsonl"]); // no results/
});

Deno.test("finetune --dry-run: a 7B base in fp16 without 4-bit is flagged as too big for a T4", async () => {
  using tmp = tempDir();
  const model = join(tmp.dir, "m");
  Deno.mkdirSync(model);
  writeFileSync(join(model, "config.json"), JSON.stringify(MISTRAL_7B));
  const rows = join(tmp.dir, "rows.jsonl");
  writeFileSync(rows, JSON.stringify({ prompt: "a", completion: " b" }) + "\n");
  const r = await finetune(tmp.dir, [
    "--preset",
    "colab-t4",
    "--base",
    model,
    "--train",
    rows,
    "--set",
    "load_in_4bit=false",
    "--dry-run",
    "--gpu-memory-gb",
    "15",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(row(r.stdout, "dtype: frozen base"), "fp16");
  assert.match(r.stdout, /note: the estimated peak \([\d.]+ GB\) is above this GPU's 15\.0 GB/);
});

Deno.test("finetune --dry-run: a base whose config.json is not here says so, still exit 0", async () => {
  using tmp = tempDir();
  const rows = join(tmp.dir, "rows.jsonl");
  writeFileSync(rows, JSON.stringify({ prompt: "a", completion: " b" }) + "\n");
  const r = await finetune(tmp.dir, [
    "--preset",
    "gpu",
    "--base",
    "nobody/not-cached-model",
    "--train",
    rows,
    "--dry-run",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(row(r.stdout, "micro batch × accumulation"), "1 × 16 = 16 rows a step");
  assert.equal(row(r.stdout, "dtype: frozen base"), "bf16");
  assert.match(
    r.stdout,
    /note: memory not estimated: base model nobody\/not-cached-model: not a folder/,
  );
  assert.equal(existsSync(join(tmp.dir, "results")), false);
});

Deno.test("finetune --gpu-memory-gb without --dry-run is a usage error", async () => {
  using tmp = tempDir();
  const rows = join(tmp.dir, "rows.jsonl");
  writeFileSync(rows, "{}\n");
  const r = await finetune(tmp.dir, ["--train", rows, "--gpu-memory-gb", "15"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--gpu-memory-gb goes with --dry-run/);
});
