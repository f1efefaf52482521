/**
 * A bundled model's card (data/models/<name>/README.md), rendered from what was measured:
 * training.json (written by pretrain.py), eval results, file sizes, the recipe runs that
 * fine-tuned it (their tuned headline scores) and the optional transformers check
 * (hf_check.json, made on a GPU machine).
 * @module
 */
import { metricScale } from "./metrics/mod.ts";
import type { EvalResults } from "./runner.ts";

/** Chance level of each task a card can show (its metric, value and why). */
export const CARD_TASK_CHANCE = {
  synth_arithmetic: { metric: "exact_match,remove_whitespace", value: 0, note: "open answer" },
  synth_entailment: { metric: "acc", value: 0.5, note: "2 choices" },
  synth_qa: { metric: "f1", value: 0, note: "open answer" },
  synth_facts: { metric: "acc", value: 0.25, note: "4 choices" },
  synth_facts_support: { metric: "acc", value: 0.25, note: "4 choices" },
  synth_qa_rouge: { metric: "rougeL", value: 0, note: "open answer" },
  synth_summary: { metric: "rougeL", value: 0, note: "open answer" },
  synth_code2text: { metric: "bleu4", value: 0, note: "open answer" },
} as const;

/** Per bundled model: the tasks on its card and what the card says it is. */
export const CARDS: Record<
  string,
  { tasks: (keyof typeof CARD_TASK_CHANCE)[]; role?: string; corpus?: string }
> = {
  tiny: { tasks: ["synth_arithmetic", "synth_entailment", "synth_qa", "synth_facts"] },
  "tiny-256": {
    tasks: [
      "synth_arithmetic",
      "synth_entailment",
      "synth_qa",
      "synth_facts",
      "synth_facts_support",
      "synth_qa_rouge",
      "synth_summary",
      "synth_code2text",
    ],
    role: "It is the base of all five recipes (S0–S4): hidden 256, so every k-quant applies to\n" +
      "every tensor (q4_k_m with no fallback rows), pretrained on every family, and it copies from its prompt.",
    corpus: "Its corpus (`deno task synth --model tiny-256`) has every family — summaries and " +
      "code docstrings too — and recall drills in place of single QA restatements: a context about " +
      "two or three people, then three facts recalled from it, so the model learns to find a name " +
      "in its context and copy what follows it. A second phase (`deno task synth --model tiny-256-copy`) " +
      "continues from the first on denser drills that also repeat context sentences word for word, " +
      "and a list of names said twice in every document, since the first phase alone did not learn to " +
      "copy. A third phase trains on both corpora with half of each batch induction practice " +
      "(`pretrain.py --repeat-rows 0.5`: random token runs said twice after `<s>`, loss on the second " +
      "copy only); from it the model copies from its context (20 random words said again: 13.35 → 0.13 " +
      "nats per token, results/diagnostics/s2_entailment.md) and every recipe gains, at the cost of the " +
      "facts the first phase held: closed-book synth_facts at chance (results/diagnostics/fact_recall.md); " +
      "S0 is scored, as lm-eval scores sciq, with each fact's support passage in the prompt " +
      "(synth_facts_support). The " +
      "induction figure below is pretrain.py's own probe (48 random ids without `<s>`), not that copy measure.",
  },
};

/** What a model card is made from. */
export interface ModelCardInput {
  /** The bundled model's name (its folder's name: tiny, tiny-256). Default: "tiny". */
  name?: string;
  /** What the model is for, one sentence. Default: the tiny model's (the default of every command). */
  role?: string;
  /** What its corpus is, one sentence (after the corpus examples). Default: none. */
  corpus?: string;
  /**
   * Tuned scores by task, from recipe runs on this model: the task's metric (as in `chance`),
   * the tuned value and CI, the recipe and its LoRA. Tasks without one show "no recipe".
   */
  tuned?: Record<string, { metric: string; value: number; ci: [number, number]; recipe: string }>;
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
    command?: string;
    /** Earlier pretraining phases (a run continued with `--init`), oldest first. */
    phases?: {
      corpus_tokens: number;
      training_tokens: number;
      steps: number;
      batch: number;
      seq: number;
      train_seconds: number;
    }[];
    history: { step: number; train_loss: number; val_loss: number; induction_loss?: number }[];
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
  const { training: t, results: r, files, hfCheck, chance, tuned } = input;
  const name = input.name ?? "tiny";
  const total = Object.values(files).reduce((a, b) => a + b, 0);
  // BLEU is on 0–100 (CodeXGLUE's scale), every other metric on 0–1.
  const top = metricScale;
  const fmt = (metric: string, x: number) => top(metric) === 100 ? `${x.toFixed(2)} BLEU` : pct(x);
  const tunedCell = (task: string, metric: string) => {
    const x = tuned?.[task];
    return x && x.metric === metric
      ? ` ${fmt(metric, x.value)} [${fmt(metric, x.ci[0])}, ${
        fmt(metric, x.ci[1])
      }] (${x.recipe}) |`
      : " no recipe |";
  };
  const rows = Object.entries(chance).map(([task, c]) => {
    const m = r.tasks[task]?.metrics[c.metric];
    const tail = tuned ? tunedCell(task, c.metric) : "";
    const f = (x: number) => fmt(c.metric, x);
    if (!m) return `| ${task} | ${c.metric} | not measured | ${f(c.value)} (${c.note}) | |${tail}`;
    return `| ${task} | ${c.metric} | ${f(m.value)} [${f(m.ci[0])}, ${f(m.ci[1])}] | ${
      f(c.value)
    } (${c.note}) | ${f(top(c.metric) - m.value)} |${tail}`;
  });
  const induction = t.history.at(-1)?.induction_loss;
  const phases = [...(t.phases ?? []), t];
  const trainingTokens = phases.reduce((n, p) => n + p.training_tokens, 0);
  const trainSeconds = phases.reduce((n, p) => n + p.train_seconds, 0);
  const perPhase = phases.map((p) =>
    `${p.training_tokens.toLocaleString("en-US")} (${p.steps} steps × batch ${p.batch} × ${p.seq})`
  );
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
      `(\`python3 -m tunebook.check_hf data/models/${name}\` runs it).`;
  const role = input.role ??
    "It is the default model of every command, notebook and test: small enough to\nfine-tune, " +
      "quantize, evaluate and serve in minutes on a laptop, and real enough that those steps mean something.";
  return `# tunebook-${name}

A ${
    (t.parameters / 1e6).toFixed(2)
  }M-parameter Llama-architecture model that tunebook trains itself, on CPU,
on its own synthetic tasks. ${role}

## How it was made

One command, no network: \`${
    t.command ?? "deno task build:tiny"
  }\` (scripts/build_tiny.sh). It writes the synthetic corpus
(lib/data/synthetic/, seed ${t.seed}), trains a SentencePiece BPE tokenizer with Llama's settings, pretrains the
pure-torch Llama (python/tunebook/model.py) with AdamW and a cosine schedule, saves a Hugging Face checkpoint,
exports GGUF with llama.cpp's gguf-py, and writes this card from measurements.

| | |
|---|---|
| parameters | ${t.parameters.toLocaleString("en-US")} |
| architecture | hidden ${t.config.hidden_size}, ${t.config.num_hidden_layers} layers, ${t.config.num_attention_heads} heads (${t.config.num_key_value_heads} KV heads, GQA), SwiGLU ${t.config.intermediate_size}, RoPE θ=${t.config.rope_theta}, vocab ${t.config.vocab_size}, context ${t.config.max_position_embeddings} |
| corpus | ${phases.map((p) => p.corpus_tokens.toLocaleString("en-US")).join(" + ")} tokens |
| training tokens | ${
    phases.length === 1
      ? perPhase[0]
      : `${trainingTokens.toLocaleString("en-US")}: ${
        perPhase.map((p, i) => `phase ${i + 1} ${p}`).join("; ")
      }`
  } |
| final loss | train ${last?.train_loss}, validation ${last?.val_loss}${
    induction === undefined ? "" : `; induction (repeated random tokens) ${induction}`
  } |
| hardware | CPU, ${t.threads} threads, torch ${t.torch}, ${Math.round(trainSeconds / 60)} min |

## What it knows, and what it does not

The corpus states facts and skills in prose ("7 plus 5 is 12.", "The capital of Nisel is Volesa.", "All wugs
are daxes. Tom is a wug. So Tom is a dax.") and in quiz styles near, but never equal to, the evaluation
prompts' \`Question: …\\nAnswer:\` format. So the base model knows the material but answers evaluation
prompts poorly where the answer must be generated: the headroom LoRA fine-tuning is for.${
    input.corpus ? `\n${input.corpus}` : ""
  }

Measured by \`deno task eval\` on the test splits (${
    Object.values(r.tasks)[0]?.n ?? 0
  } items per task; 95% CI)${
    tuned
      ? "; tuned: the LoRA of the recipe whose headline is that task, else of the first recipe " +
        "evaluated on it (`deno task recipe …`, results/recipes/summary.json)"
      : ""
  }:

| task | metric | base model | chance | headroom |${tuned ? " tuned (recipe) |" : ""}
|---|---|---|---|---|${tuned ? "---|" : ""}
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
