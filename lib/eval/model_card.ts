/**
 * The bundled tiny model's card (data/models/tiny/README.md), rendered from what was
 * measured: training.json (written by pretrain.py), eval results, file sizes and the
 * optional transformers check (hf_check.json, made on a GPU machine).
 * @module
 */
import type { EvalResults } from "./runner.ts";

/** What a model card is made from. */
export interface ModelCardInput {
  /** training.json from python/tunebook/pretrain.py. */
  training: {
    parameters: number;
    config: Record<string, number | boolean>;
    corpus_tokens: number;
    training_tokens: number;
    steps: number;
    batch: number;
    seq: number;
    lr: number;
    seed: number;
    torch: string;
    threads: number;
    train_seconds: number;
    history: { step: number; train_loss: number; val_loss: number }[];
  };
  /** Eval results of the model on the default suite. */
  results: EvalResults;
  /** File name → size in bytes. */
  files: Record<string, number>;
  /** The transformers check, when it was run. */
  hfCheck?: {
    transformers: string;
    device: string;
    logits_match: boolean;
    prompts: {
      prompt: string;
      max_abs_logit_diff: number;
      logit_range: number;
      same_tokens: boolean;
    }[];
    convert_hf_to_gguf?: {
      returncode: number;
      same_tensor_names?: boolean;
      max_abs_tensor_diff?: number;
    };
  };
  /** Chance level per task (e.g. 0.25 for 4 choices). */
  chance: Record<string, { metric: string; value: number; note: string }>;
}

/**
 * Render the card as Markdown.
 *
 * @example
 * ```ts ignore
 * const md = renderModelCard(input);
 * ```
 */
export function renderModelCard(input: ModelCardInput): string {
  const { training: t, results: r, files, hfCheck, chance } = input;
  const total = Object.values(files).reduce((a, b) => a + b, 0);
  const rows = Object.entries(chance).map(([task, c]) => {
    const m = r.tasks[task]?.metrics[c.metric];
    if (!m) return `| ${task} | ${c.metric} | not measured | ${pct(c.value)} (${c.note}) | |`;
    return `| ${task} | ${c.metric} | ${pct(m.value)} [${pct(m.ci[0])}, ${pct(m.ci[1])}] | ${
      pct(c.value)
    } (${c.note}) | ${pct(1 - m.value)} |`;
  });
  const last = t.history.at(-1);
  const hf = hfCheck
    ? [
      `Checked with transformers ${hfCheck.transformers} on ${hfCheck.device}: \`LlamaForCausalLM\` and ` +
      `\`LlamaTokenizer\` load this folder. Given the same token ids, next-token logits ${
        hfCheck.prompts.every((p) => p.max_abs_logit_diff <= 1e-3 * p.logit_range)
          ? "match"
          : "DO NOT match"
      } the pure-torch model on all ${hfCheck.prompts.length} prompts (max |Δ logit| ${
        Math.max(...hfCheck.prompts.map((p) => p.max_abs_logit_diff)).toExponential(1)
      }, limit 1e-3 × the logit range). transformers' tokenizer gives SentencePiece's (and ` +
      `llama.cpp's) token ids on ${
        hfCheck.prompts.filter((p) => p.same_tokens).length
      } of ${hfCheck.prompts.length} prompts${
        hfCheck.prompts.some((p) => !p.same_tokens)
          ? `; it splits ${
            hfCheck.prompts.filter((p) => !p.same_tokens).map((p) => JSON.stringify(p.prompt))
              .join(", ")
          } differently (SentencePiece, tunebook and llama.cpp agree on it), so such text may ` +
            "tokenize differently under transformers"
          : ""
      }.`,
      hfCheck.convert_hf_to_gguf
        ? `llama.cpp's own \`convert_hf_to_gguf.py --outtype f32\` ${
          hfCheck.convert_hf_to_gguf.returncode === 0 ? "converts it" : "FAILED"
        }; its tensors ${
          hfCheck.convert_hf_to_gguf.same_tensor_names
            ? "have the same names as"
            : "differ in names from"
        } tunebook's export (max |Δ| ${hfCheck.convert_hf_to_gguf.max_abs_tensor_diff ?? "n/a"}).`
        : "",
    ].join(" ")
    : "Not run: no GPU machine with transformers was available when this card was written " +
      "(`python3 -m tunebook.check_hf data/models/tiny` runs it).";
  return `# tunebook-tiny

A ${
    (t.parameters / 1e6).toFixed(2)
  }M-parameter Llama-architecture model that tunebook trains itself, on CPU,
on its own synthetic tasks. It is the default model of every command, notebook and test: small enough to
fine-tune, quantize, evaluate and serve in minutes on a laptop, and real enough that those steps mean something.

## How it was made

One command, no network: \`deno task build:tiny\` (scripts/build_tiny.sh). It writes the synthetic corpus
(lib/data/synthetic/, seed ${t.seed}), trains a SentencePiece BPE tokenizer with Llama's settings, pretrains the
pure-torch Llama (python/tunebook/model.py) with AdamW and a cosine schedule, saves a Hugging Face checkpoint,
exports GGUF with llama.cpp's gguf-py, and writes this card from measurements.

| | |
|---|---|
| parameters | ${t.parameters.toLocaleString("en-US")} |
| architecture | hidden ${t.config.hidden_size}, ${t.config.num_hidden_layers} layers, ${t.config.num_attention_heads} heads (${t.config.num_key_value_heads} KV heads, GQA), SwiGLU ${t.config.intermediate_size}, RoPE θ=${t.config.rope_theta}, vocab ${t.config.vocab_size}, context ${t.config.max_position_embeddings} |
| corpus | ${t.corpus_tokens.toLocaleString("en-US")} tokens |
| training tokens | ${
    t.training_tokens.toLocaleString("en-US")
  } (${t.steps} steps × batch ${t.batch} × ${t.seq}) |
| final loss | train ${last?.train_loss}, validation ${last?.val_loss} |
| hardware | CPU, ${t.threads} threads, torch ${t.torch}, ${Math.round(t.train_seconds / 60)} min |

## What it knows, and what it does not

The corpus states facts and skills in prose ("7 plus 5 is 12.", "The capital of Nisel is Volesa.", "All wugs
are daxes. Tom is a wug. So Tom is a dax.") and in quiz styles near, but never equal to, the evaluation
prompts' \`Question: …\\nAnswer:\` format. So the base model knows the material but answers evaluation
prompts poorly where the answer must be generated: the headroom LoRA fine-tuning is for.

Measured by \`deno task eval\` on the test splits (${
    Object.values(r.tasks)[0]?.n ?? 0
  } items per task; 95% CI):

| task | metric | base model | chance | headroom |
|---|---|---|---|---|
${rows.join("\n")}

## Checks

- Logit parity with node-llama-cpp: \`tests/model/parity_test.ts\` (in CI) re-exports the GGUF, requires it to
  be byte-identical to the committed one, and compares next-token log-probabilities with the pure-torch model
  on 5 prompts (max |Δ| ≤ 1e-3 × the logit range).
- Hugging Face transformers: ${hf}

## Files (${(total / 1e6).toFixed(1)} MB)

${Object.entries(files).map(([f, b]) => `- \`${f}\` (${(b / 1e3).toFixed(0)} kB)`).join("\n")}

Chat template: Alpaca-style (\`### Instruction:\` / \`### Response:\`), in tokenizer_config.json and the GGUF.
`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
