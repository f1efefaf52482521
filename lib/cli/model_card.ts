/**
 * `deno task card` — evaluate a bundled model (DIR/<name>-f32.gguf, the name being DIR's) on its
 * card's tasks and render its model card (the committed ones are data/models/<name>/README.md),
 * with the tuned scores of the recipe runs on it (results/recipes/summary.json). The card goes to
 * `--out FILE`, or to stdout without it: no invocation without `--out` rewrites a committed file
 * (scripts/build_tiny.sh passes `--out data/models/<name>/README.md`).
 *
 *   deno task card --out data/models/tiny/README.md [--dir data/models/tiny] [--threads N]
 *   deno task card --dir data/models/tiny-256 --out data/models/tiny-256/README.md
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createLlamaBackend } from "../eval/backend.ts";
import { DEFAULT_SUITE, runEval } from "../eval/runner.ts";
import { formatResultsTable } from "../eval/table.ts";
import { renderModelCard } from "../eval/model_card.ts";
import { DEFAULT_RECIPE_DIR } from "../recipes/run.ts";
import type { RecipeSummaryRow } from "../recipes/table.ts";
import { defineCommand, integerFlag, runCommand, stringFlag } from "./_command.ts";

/** Chance level of each task a card can show (its metric, value and why). */
const CHANCE = {
  synth_arithmetic: { metric: "exact_match,remove_whitespace", value: 0, note: "open answer" },
  synth_entailment: { metric: "acc", value: 0.5, note: "2 choices" },
  synth_qa: { metric: "f1", value: 0, note: "open answer" },
  synth_facts: { metric: "acc", value: 0.25, note: "4 choices" },
  synth_qa_rouge: { metric: "rougeL", value: 0, note: "open answer" },
  synth_summary: { metric: "rougeL", value: 0, note: "open answer" },
  synth_code2text: { metric: "bleu4", value: 0, note: "open answer" },
} as const;

/** Per bundled model: the tasks on its card and what the card says it is. */
const CARDS: Record<string, { tasks: (keyof typeof CHANCE)[]; role?: string; corpus?: string }> = {
  tiny: { tasks: ["synth_arithmetic", "synth_entailment", "synth_qa", "synth_facts"] },
  "tiny-256": {
    tasks: [
      "synth_arithmetic",
      "synth_entailment",
      "synth_qa",
      "synth_facts",
      "synth_qa_rouge",
      "synth_summary",
      "synth_code2text",
    ],
    role: "It is the base of the recipes that need copying from the prompt: hidden 256, so\n" +
      "every k-quant applies to every tensor (q4_k_m with no fallback rows), and pretrained on every family.",
    corpus: "Its corpus (`deno task synth --model tiny-256`) has every family — summaries and " +
      "code docstrings too — and recall drills in place of single QA restatements: a context about " +
      "two or three people, then three facts recalled from it, so the model learns to find a name " +
      "in its context and copy what follows it. A second phase (`deno task synth --model tiny-256-copy`) " +
      "continues from the first on denser drills that also repeat context sentences word for word, " +
      "and a list of names said twice in every document, since the first phase alone did not learn to " +
      "copy. It copies names from natural sentences, not strings of random tokens: its loss on the " +
      "second copy of a random token run (the induction figure below) stays above ln 2048 = 7.6.",
  },
};

/** `deno task card`. */
export const command = defineCommand({
  name: "card",
  summary: "Evaluate the bundled model in DIR (DIR/<name>-f32.gguf, where <name> is DIR's name) " +
    `on its card's tasks (tiny: ${DEFAULT_SUITE.join(", ")}; tiny-256: every family; run ` +
    "results/eval/<name>-base) and render its model card from DIR's training.json, file sizes, " +
    "hf_check.json, the scores and the tuned scores of the recipe runs on it. The card goes to " +
    "--out FILE, else to stdout.",
  flags: {
    dir: stringFlag("the model folder", { placeholder: "DIR", default: "data/models/tiny" }),
    out: stringFlag("write the card there (the committed card: data/models/tiny/README.md)", {
      placeholder: "FILE",
      defaultText: "stdout",
    }),
    threads: integerFlag("CPU threads (0: one fewer than the cores)", { min: 0, default: 0 }),
    recipes: stringFlag("recipe runs whose tuned scores the card shows (their summary.json)", {
      placeholder: "DIR",
      default: DEFAULT_RECIPE_DIR,
    }),
  },
  run: async ({ values }) => {
    const dir = values.dir;
    const name = basename(dir.replace(/\/+$/, ""));
    const spec = CARDS[name] ?? CARDS.tiny;
    const backend = await createLlamaBackend(join(dir, `${name}-f32.gguf`), {
      threads: values.threads,
    });
    let results;
    try {
      results = await runEval(backend, {
        tasks: spec.tasks,
        run: `${name}-base`,
        resume: false,
        progress: false,
      });
    } finally {
      await backend.dispose();
    }
    // The table goes to stderr when stdout carries the card.
    (values.out === undefined ? console.error : console.log)(formatResultsTable(results));
    const files = Object.fromEntries(
      readdirSync(dir).filter((f) => f !== "README.md").sort().map((
        f,
      ) => [f, statSync(join(dir, f)).size]),
    );
    const hfPath = join(dir, "hf_check.json");
    const summary = join(values.recipes, "summary.json");
    const tuned = existsSync(summary) ? tunedScores(summary, name) : undefined;
    const card = renderModelCard({
      name,
      role: spec.role,
      corpus: spec.corpus,
      tuned: tuned && Object.keys(tuned).length ? tuned : undefined,
      training: JSON.parse(readFileSync(join(dir, "training.json"), "utf8")),
      results,
      files,
      hfCheck: existsSync(hfPath) ? JSON.parse(readFileSync(hfPath, "utf8")) : undefined,
      chance: Object.fromEntries(spec.tasks.map((t) => [t, CHANCE[t]])),
    });
    if (values.out === undefined) {
      console.log(card);
    } else {
      writeFileSync(values.out, card);
      console.error(`wrote ${values.out}`);
    }
    return 0;
  },
});

/** The tuned headline score of each recipe run on `model` in a recipe summary.json, by task. */
function tunedScores(
  path: string,
  model: string,
): NonNullable<Parameters<typeof renderModelCard>[0]["tuned"]> {
  const rows = JSON.parse(readFileSync(path, "utf8")) as RecipeSummaryRow[];
  const out: NonNullable<Parameters<typeof renderModelCard>[0]["tuned"]> = {};
  for (const row of rows) {
    const tuned = row.scores.tuned;
    if ((row.model ?? "tiny") !== model || !tuned) continue;
    const [task, metric] = row.headline.split(" ");
    out[task] = { metric, value: tuned.value, ci: tuned.ci, recipe: row.recipe };
  }
  return out;
}

if (import.meta.main) await runCommand(command);
