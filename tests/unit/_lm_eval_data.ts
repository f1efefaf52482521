/**
 * Small datasets in the Hub's shapes of the benchmarks the seed workflows use (the columns and
 * types each Hub dataset has; the rows are tunebook's own), placed in a temporary Hugging Face
 * cache so that lm-eval task files naming the Hub ids load offline. Some datasets go in as the
 * Hub's Parquet conversion (`refs/convert/parquet`), some as the repo's own Parquet files on
 * `main` (with a README `configs:` block where the dataset has named configs), as on the Hub.
 */
import { cacheMainSplits, cacheParquetSplits, newHubCache, type SplitRows } from "./_hf_cache.ts";

/**
 * The seed workflows' benchmarks that data/tasks ships as lm-evaluation-harness's own task files
 * (data/tasks/<harness folder>/…), and the metrics each file asks for.
 */
export const HARNESS_TASKS: Readonly<Record<string, readonly string[]>> = {
  sciq: ["acc", "acc_norm"],
  logiqa: ["acc", "acc_norm"],
  boolq: ["acc"],
  arc_easy: ["acc", "acc_norm"],
  hellaswag: ["acc", "acc_norm"],
  piqa: ["acc", "acc_norm"],
  squad_completion: ["contains"],
  mc_taco: ["acc", "f1"],
  wikitext: ["word_perplexity", "byte_perplexity", "bits_per_byte"],
  ...Object.fromEntries(
    ["1dc", "2da", "2dm", "2ds", "3da", "3ds", "4da", "4ds", "5da", "5ds"].map((n) => [
      `arithmetic_${n}`,
      ["acc"],
    ]),
  ),
};

const sciq = (i: number, split: string) => ({
  question: `Which gas do plants take in, case ${split} ${i}?`,
  distractor3: "argon",
  distractor1: "helium",
  distractor2: "neon",
  correct_answer: "carbon dioxide",
  support: `  Plants take in carbon dioxide and give off oxygen (${i}).`,
});

const logiqa = (i: number) => ({
  label: ["a", "b", "c", "d"][i % 4],
  context: `Every cat in the house sleeps by day. Tom is a cat in the house (${i}).`,
  question: "Which must be true?",
  options: ["Tom sleeps by day.", "Tom hunts by day.", "Tom is a dog.", "No cat sleeps."],
});

const arithmetic = (name: string, i: number) => ({
  context: `Q: What is ${i + 2} plus ${i + 3}?\n\nA:`,
  completion: ` ${2 * i + 5}`,
  source: name,
});

/** Per Hub id: how it is stored, and its splits. */
export const LM_EVAL_DATASETS: Record<string, { layout: "main" | "parquet"; splits: SplitRows[] }> =
  {
    "allenai/sciq": {
      layout: "main",
      splits: ["train", "validation", "test"].map((split) => ({
        split,
        rows: [0, 1, 2, 3].map((i) => sciq(i, split)),
      })),
    },
    "EleutherAI/logiqa": {
      layout: "parquet",
      splits: ["train", "validation", "test"].map((split) => ({
        config: "logiqa",
        split,
        rows: [0, 1, 2, 3].map(logiqa),
      })),
    },
    "CogComp/mc_taco": {
      layout: "parquet",
      splits: ["validation", "test"].map((split) => ({
        config: "plain_text",
        split,
        rows: [
          {
            sentence: 'He said "wait" and left.',
            question: "How long did he wait?",
            answer: "5 minutes",
            label: 1,
            category: 0,
          },
          {
            sentence: 'He said "wait" and left.',
            question: "How long did he wait?",
            answer: "5 years",
            label: 0,
            category: 0,
          },
          {
            sentence: "She baked bread.",
            question: "When did she bake?",
            answer: "at noon",
            label: 1,
            category: 3,
          },
        ],
      })),
    },
    "EleutherAI/arithmetic": {
      layout: "parquet",
      splits: ["1dc", "2da", "2dm", "2ds", "3da", "3ds", "4da", "4ds", "5da", "5ds"].map((n) => ({
        config: `arithmetic_${n}`,
        split: "validation",
        rows: [0, 1, 2].map((i) => arithmetic(n, i)),
      })),
    },
    "hazyresearch/based-squad": {
      layout: "parquet",
      splits: [{
        split: "validation",
        rows: [
          {
            doc_id: 0,
            title: "Denver",
            text: " Denver is the capital of Colorado. The capital of Colorado is",
            value: " Denver ",
          },
          {
            doc_id: 1,
            title: "Volesa",
            text: "Volesa is the capital of Nisel. The capital of Nisel is",
            value: "Volesa",
          },
        ],
      }],
    },
    "aps/super_glue": {
      layout: "parquet",
      splits: ["train", "validation"].map((split) => ({
        config: "boolq",
        split,
        rows: [
          {
            question: "is water wet",
            passage: "Water is a liquid that makes things wet.",
            idx: 0,
            label: 1,
          },
          { question: "is the sun cold", passage: "The sun is a very hot star.", idx: 1, label: 0 },
        ],
      })),
    },
    "allenai/ai2_arc": {
      layout: "main",
      splits: ["train", "validation", "test"].map((split) => ({
        config: "ARC-Easy",
        split,
        rows: [
          {
            id: `${split}-1`,
            question: "Which gas do plants take in?",
            choices: {
              text: ["oxygen", "carbon dioxide", 'it\'s "nitrogen"', "argon"],
              label: ["A", "B", "C", "D"],
            },
            answerKey: "B",
          },
          {
            id: `${split}-2`,
            question: "What melts ice?",
            choices: { text: ["heat", "cold", "dark"], label: ["1", "2", "3"] },
            answerKey: "1",
          },
        ],
      })),
    },
    "Rowan/hellaswag": {
      layout: "parquet",
      splits: ["train", "validation"].map((split) => ({
        split,
        rows: [
          {
            ind: 4,
            activity_label: "Removing ice from car",
            ctx_a: "Then, the man writes over the snow covering the window of a car.",
            ctx_b: "then",
            ctx: "Then, the man writes over the snow covering the window of a car. then",
            endings: [
              ", the man adds wax to the windshield.",
              ", a person board a ski lift.",
              ", the man puts on a christmas coat.",
              ", the man continues removing the snow on his car.",
            ],
            source_id: "activitynet~v_-1IBHYS3L-Y",
            split,
            split_type: "indomain",
            label: "3",
          },
          {
            ind: 5,
            activity_label: "Making a cake",
            ctx_a: "[header] How to bake a cake [title] Mix the flour.",
            ctx_b: "you",
            ctx: "[header] How to bake a cake [title] Mix the flour. you",
            endings: [
              "add [substeps] the eggs.",
              "throw the bowl.",
              "sleep.",
              "sing [step] loudly.",
            ],
            source_id: "wikihow~1",
            split,
            split_type: "indomain",
            label: "0",
          },
        ],
      })),
    },
    piqa: {
      layout: "parquet",
      splits: ["train", "validation"].map((split) => ({
        config: "plain_text",
        split,
        rows: [
          {
            goal: "Open a stuck jar lid",
            sol1: "Run the lid under hot water.",
            sol2: "Put the jar in the freezer.",
            label: 0,
          },
          {
            goal: "Dry wet shoes",
            sol1: "Fill them with water.",
            sol2: "Stuff them with newspaper.",
            label: 1,
          },
        ],
      })),
    },
    "EleutherAI/wikitext_document_level": {
      layout: "parquet",
      splits: ["train", "validation", "test"].map((split) => ({
        config: "wikitext-2-raw-v1",
        split,
        rows: [
          {
            page:
              " = Robert Boulter = \n Robert Boulter is an English film , television and theatre actor . He had a guest @-@ starring role in 2000 . \n",
          },
          {
            page:
              " = Valkyria = \n The game 's story is set in 1 @,@ 000 AD ( a long time ago ) . \n",
          },
        ],
      })),
    },
  };

/** A fresh Hugging Face cache holding {@linkcode LM_EVAL_DATASETS}; returns its folder. */
export function lmEvalHubCache(): string {
  const cache = newHubCache();
  for (const [repo, { layout, splits }] of Object.entries(LM_EVAL_DATASETS)) {
    if (layout === "main") cacheMainSplits(cache, repo, splits);
    else cacheParquetSplits(cache, repo, splits);
  }
  return cache;
}
