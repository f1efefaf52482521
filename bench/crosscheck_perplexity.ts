/**
 * Cross-check tunebook's multiple-choice scores against llama.cpp's `llama-perplexity
 * --multiple-choice` on the same model and items: for every item, the choice tunebook's engine
 * predicts under llama-perplexity's rule (highest mean log-probability per choice token,
 * {@linkcode meanLogprobPrediction}) must be the choice llama-perplexity predicts.
 *
 * llama-perplexity prints only a running accuracy, not its predictions. To read the predicted
 * index back, each item is written ⌈log2(choices)⌉ times, copy b labelling as "correct" the
 * choices whose index has bit b set: copy b is counted right exactly when bit b of the
 * prediction is 1. A second run with the gold labels checks the accuracy it reports.
 *
 * It needs llama-perplexity (`bash scripts/build_llama_tools.sh`, ~minutes), so it is a
 * benchmark script rather than a CI test; `deno task bench:eval` runs it and writes
 * `results/bench/crosscheck_perplexity.json`.
 *
 *   deno run -A bench/crosscheck_perplexity.ts [--model FILE.gguf | --random VOCAB[:ARCH]]
 *       [--tasks a,b] [--threads 2] [--perplexity PATH] [--out results/bench] [--limit N]
 *
 * `--random qwen2` (or `llama-bpe`, …) checks a random-weight model of a real architecture around
 * that real vocabulary of llama.cpp's (python/tunebook/random_model.py,
 * tests/model/_random_models.ts): the tokenizer rules (BOS or not) of real model families, which
 * the tiny model cannot show; it writes `crosscheck_perplexity_VOCAB.json`. Every item's context
 * tokens are also compared with llama.cpp's own `llama_tokenize(context, add_special)` (what
 * llama-perplexity feeds its model).
 *
 * Defaults: the bundled tiny model; synth_facts and synth_facts_support (test splits) plus
 * `synth_facts:multitoken` (its choices made multi-token, see {@linkcode crosscheckTask}); 2
 * threads; both tools' default f16 KV cache; all test items. Passes when at least 99% of each
 * task's items agree and every disagreeing item is a near-tie (tunebook's margin between its two
 * best choices at most 1e-3 nats per token, where the two tools' batch layouts may order them
 * differently); exits 1 otherwise.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { roundTo } from "../lib/util/round.ts";
import { tmpdir } from "node:os";
import {
  meanLogprobPrediction,
  type MultipleChoiceTask,
  writeMultipleChoiceTasks,
} from "../lib/eval/_mc_binary.ts";
import { buildPrompt, findTask, loadTaskDocs } from "../lib/eval/task/mod.ts";
import { type ChoiceScores, LlmEngine } from "../lib/llm/engine.ts";
import { LibllamaVocab } from "../lib/llm/libllama_vocab.ts";
import { DEFAULT_MODEL, type LoadedModel, loadModel } from "../lib/llm/model.ts";
import { randomModel } from "../tests/model/_random_models.ts";
import {
  DEFAULT_PERPLEXITY,
  type PerplexityRun,
  type PerplexityRunOptions,
  runLlamaPerplexity,
} from "./_llama_tools.ts";
import {
  defineCommand,
  type FlagValues,
  integerFlag,
  listFlag,
  runCommand,
  stringFlag,
} from "../lib/cli/_command.ts";

/** The tasks both bench scripts use. */
export const BENCH_TASKS = ["synth_facts", "synth_facts_support"];
/** Threads for every tool (CI has 2 cores). */
export const BENCH_THREADS = 2;
/** Share of a task's items that must agree. */
export const MIN_AGREEMENT = 0.99;
/** A disagreeing item must be this close to a tie (nats per token between the two best choices). */
export const TIE_MARGIN = 1e-3;
/** The architecture a `--random` vocabulary gets when none is named. */
const RANDOM_ARCH: Record<string, string> = {
  qwen2: "qwen2",
  qwen35: "qwen2",
  "phi-3": "phi3",
  "gemma-4": "gemma",
  "gpt-2": "gpt2",
  "command-r": "command-r",
};

/** One multiple-choice item of a task, as both tools see it. */
export interface BenchItem {
  id: string;
  /** The prompt (lm-eval's context, no few-shot examples). */
  context: string;
  /** Choices without the target delimiter (llama-perplexity inserts the space itself). */
  choices: string[];
  gold: number;
}

/**
 * The test items of a multiple-choice task, checked to be scorable by llama-perplexity: its
 * target delimiter must be the single space llama-perplexity inserts between context and choice.
 */
export async function loadBenchItems(taskName: string, limit?: number): Promise<BenchItem[]> {
  const task = findTask(taskName);
  if (task.outputType !== "multiple_choice") {
    throw new Error(`task ${taskName} is ${task.outputType}; the benchmarks need multiple_choice`);
  }
  if (task.targetDelimiter !== " ") {
    throw new Error(
      `task ${taskName} has target_delimiter ${JSON.stringify(task.targetDelimiter)}; ` +
        `llama-perplexity always joins context and choice with " ", pick another task`,
    );
  }
  const { docs, errors } = await loadTaskDocs(task, "test", { limit });
  if (errors.length) {
    throw new Error(`task ${taskName}: ${errors.length} rows failed to load: ${errors[0].message}`);
  }
  return docs.map((d) => ({
    id: d.id,
    context: buildPrompt(task, d, []),
    choices: d.choices ?? [],
    gold: d.gold ?? 0,
  }));
}

/** Score items with an engine, `concurrency` at a time (in item order in the result). */
export async function scoreAll(
  engine: LlmEngine,
  items: BenchItem[],
  concurrency: number,
): Promise<ChoiceScores[]> {
  const out: ChoiceScores[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await engine.scoreChoices(items[i].context, items[i].choices.map((c) => " " + c));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** How many copies of an item it takes to read back a prediction among `n` choices. */
function bitsFor(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n)));
}

/** The predicted index of every item, from llama-perplexity with bit-labelled copies. */
async function perplexityPredictions(
  items: BenchItem[],
  dir: string,
  options: PerplexityRunOptions,
): Promise<{ predictions: number[]; run: PerplexityRun }> {
  const tasks: MultipleChoiceTask[] = [];
  for (const it of items) {
    for (let b = 0; b < bitsFor(it.choices.length); b++) {
      tasks.push({
        context: it.context,
        choices: it.choices,
        gold: it.gold,
        labels: it.choices.map((_, j) => (j >> b) & 1),
      });
    }
  }
  const file = join(dir, "bits.bin");
  writeMultipleChoiceTasks(file, tasks);
  const run = await runLlamaPerplexity(file, options);
  if (run.correct.length !== tasks.length) {
    throw new Error(
      `llama-perplexity reported ${run.correct.length} of ${tasks.length} tasks; ` +
        `see \`${run.command.join(" ")}\``,
    );
  }
  let k = 0;
  const predictions = items.map((it) => {
    let pred = 0;
    for (let b = 0; b < bitsFor(it.choices.length); b++) if (run.correct[k++]) pred |= 1 << b;
    return pred;
  });
  return { predictions, run };
}

/**
 * Whether tunebook's token split equals llama-perplexity's for an item: llama-perplexity scores
 * each choice's tokens after the prefix common to all `context + " " + choice` tokenizations;
 * tunebook scores those after the context's own tokens (lm-eval's split).
 */
function sameTokenSplit(engine: LlmEngine, item: BenchItem): boolean {
  const ctx = engine.tokenize(item.context);
  const full = item.choices.map((c) => engine.tokenize(item.context + " " + c));
  let common = 0;
  while (full.every((f) => common < f.length && f[common] === full[0][common])) common++;
  return common === ctx.length && full.every((f) => ctx.every((t, i) => f[i] === t));
}

/** Per-token mean log-probs, best first: the margin of the prediction. */
function margin(s: ChoiceScores): number {
  const means = s.logprobs.map((l, i) => l / Math.max(1, s.tokenCounts[i])).sort((a, b) => b - a);
  return means.length > 1 ? means[0] - means[1] : Infinity;
}

/** The cross-check of one task. */
export interface CrosscheckResult {
  task: string;
  items: number;
  /** Items whose predicted index is the same in both tools. */
  agree: number;
  agreement: number;
  /** Mean tokens per choice (1 means the mean and the summed log-prob rules coincide). */
  meanChoiceTokens: number;
  /** Items where tunebook's token split differs from llama-perplexity's (rules not identical). */
  splitDiffers: number;
  /** Items whose context tokens differ from llama.cpp's `llama_tokenize(context, add_special)`. */
  contextTokensDiffer: number;
  /** Whether the model's vocabulary adds BOS (llama.cpp's rule, as tunebook applies it). */
  addBos: boolean;
  /** Accuracy of each tool's predictions, and the accuracy llama-perplexity printed (gold run). */
  tunebookAccuracy: number;
  perplexityAccuracy: number;
  perplexityReportedAccuracy?: number;
  /** The items that disagree, with tunebook's margin between its two best choices (nats/token). */
  disagreements: {
    id: string;
    tunebook: number;
    perplexity: number;
    gold: number;
    margin: number;
  }[];
  /** Smallest margin over all items (a near-tie can flip between batch layouts). */
  minMargin: number;
  /** Largest margin among the disagreeing items (0 when none disagree). */
  maxDisagreementMargin: number;
  /** agreement ≥ {@linkcode MIN_AGREEMENT} and every disagreement within {@linkcode TIE_MARGIN}. */
  pass: boolean;
}

/**
 * The `multitoken` variant of an item: each choice `c` becomes `c (lowercase c)`, so choices span
 * several tokens of differing counts (the tasks' own choices are single tokens of the tiny
 * model, where the mean and summed rules coincide) and the engine's multi-token path runs.
 */
function multitoken(item: BenchItem): BenchItem {
  return { ...item, choices: item.choices.map((c) => `${c} (${c.toLowerCase()})`) };
}

/** Cross-check one task (`name` or `name:multitoken`). */
export async function crosscheckTask(
  loaded: LoadedModel,
  taskName: string,
  options: { binary?: string; threads?: number; limit?: number } = {},
): Promise<CrosscheckResult> {
  const { binary, threads = BENCH_THREADS, limit } = options;
  const [base, variant] = taskName.split(":");
  let items = await loadBenchItems(base, limit);
  if (variant === "multitoken") items = items.map(multitoken);
  else if (variant !== undefined) {
    throw new Error(
      `task ${taskName}: unknown variant "${variant}"; the one variant is multitoken`,
    );
  }
  const engine = await LlmEngine.create(loaded, { sequences: 8, threads });
  const vocab = LibllamaVocab.open(loaded.info.path);
  let scores: ChoiceScores[];
  let splitDiffers = 0;
  let contextTokensDiffer = 0;
  let meanChoiceTokens = 0;
  try {
    scores = await scoreAll(engine, items, 8);
    splitDiffers = items.filter((it) => !sameTokenSplit(engine, it)).length;
    contextTokensDiffer = items.filter((it) => {
      const mine = engine.tokenize(it.context);
      const theirs = vocab.tokenize(it.context, { addSpecial: true });
      return mine.length !== theirs.length || mine.some((t, i) => t !== theirs[i]);
    }).length;
    meanChoiceTokens = scores.reduce((n, s) => n + s.tokenCounts.reduce((a, b) => a + b, 0), 0) /
      scores.reduce((n, s) => n + s.tokenCounts.length, 0);
  } finally {
    vocab.dispose();
    await engine.dispose();
  }
  const ours = scores.map(meanLogprobPrediction);
  const dir = mkdtempSync(join(tmpdir(), "tunebook-crosscheck-"));
  try {
    const ppl = { model: loaded.info.path, binary, threads };
    const { predictions } = await perplexityPredictions(items, dir, ppl);
    const goldFile = join(dir, "gold.bin");
    writeMultipleChoiceTasks(goldFile, items);
    const gold = await runLlamaPerplexity(goldFile, ppl);
    const disagreements = items.flatMap((it, i) =>
      ours[i] === predictions[i] ? [] : [{
        id: it.id,
        tunebook: ours[i],
        perplexity: predictions[i],
        gold: it.gold,
        margin: roundTo(margin(scores[i]), 6),
      }]
    );
    const acc = (p: number[]) => p.filter((x, i) => x === items[i].gold).length / items.length;
    const agreement = 1 - disagreements.length / items.length;
    const maxDisagreementMargin = Math.max(0, ...disagreements.map((d) => d.margin));
    return {
      task: taskName,
      items: items.length,
      meanChoiceTokens: roundTo(meanChoiceTokens, 3),
      agree: items.length - disagreements.length,
      agreement: roundTo(agreement, 4),
      splitDiffers,
      contextTokensDiffer,
      addBos: loaded.model.tokens.shouldPrependBosToken,
      tunebookAccuracy: roundTo(acc(ours), 4),
      perplexityAccuracy: roundTo(acc(predictions), 4),
      perplexityReportedAccuracy: gold.accuracy,
      disagreements,
      minMargin: roundTo(Math.min(...scores.map(margin)), 6),
      maxDisagreementMargin,
      pass: agreement >= MIN_AGREEMENT && maxDisagreementMargin <= TIE_MARGIN,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const flags = {
  model: stringFlag("GGUF model", { placeholder: "FILE.gguf", default: DEFAULT_MODEL }),
  random: stringFlag(
    "instead of --model: a random-weight model around llama.cpp's ggml-vocab-VOCAB.gguf " +
      "(ARCH default: qwen2 for qwen2/qwen35, phi3, gemma, gpt2, command-r by name, else llama)",
    { placeholder: "VOCAB[:ARCH]" },
  ),
  tasks: listFlag("multiple-choice tasks (NAME or NAME:multitoken)", {
    item: "task name",
    default: [...BENCH_TASKS, "synth_facts:multitoken"],
  }),
  threads: integerFlag("threads of both tools", { min: 1, default: BENCH_THREADS }),
  perplexity: stringFlag("llama-perplexity binary (bash scripts/build_llama_tools.sh)", {
    placeholder: "PATH",
    default: DEFAULT_PERPLEXITY,
  }),
  out: stringFlag("writes DIR/crosscheck_perplexity.json", {
    placeholder: "DIR",
    default: "results/bench",
  }),
  limit: integerFlag("items per task (the first ones)", { min: 1, defaultText: "every test item" }),
};

/** `deno run -A bench/crosscheck_perplexity.ts`. */
export const command = defineCommand({
  name: "crosscheck_perplexity",
  invocation: "deno run -A bench/crosscheck_perplexity.ts",
  summary: "Check that tunebook's engine predicts, for every multiple-choice item, the choice " +
    "llama-perplexity --multiple-choice predicts (highest mean log-probability per choice " +
    "token), on the same model and items. Exits 1 when under 99% agree or a disagreement is " +
    "not a near-tie (margin over 1e-3 nats/token).",
  flags,
  exitStatus: "Exit status: 0 every task passes; 1 a task fails or a tool failed; " +
    "2 bad arguments.",
  run: ({ values }) => main(values),
});

async function main(values: FlagValues<typeof flags>): Promise<number> {
  let modelPath = values.model;
  let random: { vocab: string; arch: string } | undefined;
  if (values.random) {
    const [vocab, arch = RANDOM_ARCH[vocab] ?? "llama"] = values.random.split(":");
    random = { vocab, arch };
    modelPath = await randomModel(random);
  }
  const loaded = await loadModel(modelPath, { gpu: false });
  const results: CrosscheckResult[] = [];
  try {
    for (const task of values.tasks) {
      const r = await crosscheckTask(loaded, task, {
        binary: values.perplexity,
        threads: values.threads,
        limit: values.limit,
      });
      results.push(r);
      console.log(
        `${task}: ${r.agree}/${r.items} agree (${(100 * r.agreement).toFixed(1)}%), ` +
          `acc tunebook ${r.tunebookAccuracy} llama-perplexity ${r.perplexityAccuracy} ` +
          `(printed ${r.perplexityReportedAccuracy}), split differs on ${r.splitDiffers}, ` +
          `context tokens differ from llama.cpp's on ${r.contextTokensDiffer}, add BOS ${r.addBos}, ` +
          `min margin ${r.minMargin}, ${r.meanChoiceTokens} tokens/choice` +
          (r.pass ? "" : " — FAIL"),
      );
      for (const d of r.disagreements) console.log("  disagree", JSON.stringify(d));
    }
  } finally {
    await loaded.model.dispose();
  }
  mkdirSync(values.out, { recursive: true });
  const file = resolve(
    values.out,
    random ? `crosscheck_perplexity_${random.vocab}.json` : "crosscheck_perplexity.json",
  );
  writeFileSync(
    file,
    JSON.stringify(
      {
        created: new Date().toISOString(),
        model: {
          path: loaded.info.path,
          sha256: loaded.info.sha256,
          architecture: loaded.info.architecture,
          ...(random
            ? { random: { ...random, writer: "python/tunebook/random_model.py (defaults)" } }
            : {}),
        },
        rule: "mean log-prob per choice token (llama-perplexity's); predictions compared per item",
        criterion:
          `agreement >= ${MIN_AGREEMENT}, every disagreement margin <= ${TIE_MARGIN} nats/token`,
        results,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`wrote ${file}`);
  return results.every((r) => r.pass) ? 0 : 1;
}

if (import.meta.main) await runCommand(command);
