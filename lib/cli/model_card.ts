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
import { CARD_TASK_CHANCE, CARDS, renderModelCard } from "../eval/model_card.ts";
import { DEFAULT_RECIPE_DIR } from "../recipes/run.ts";
import { tunedScores } from "../recipes/table.ts";
import { defineCommand, integerFlag, runCommand, stringFlag } from "./_command.ts";

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
    const tuned = existsSync(summary)
      ? tunedScores(
        JSON.parse(readFileSync(summary, "utf8")),
        name,
        Object.fromEntries(spec.tasks.map((task) => [task, CARD_TASK_CHANCE[task].metric])),
      )
      : undefined;
    const card = renderModelCard({
      name,
      role: spec.role,
      corpus: spec.corpus,
      tuned: tuned && Object.keys(tuned).length ? tuned : undefined,
      training: JSON.parse(readFileSync(join(dir, "training.json"), "utf8")),
      results,
      files,
      hfCheck: existsSync(hfPath) ? JSON.parse(readFileSync(hfPath, "utf8")) : undefined,
      chance: Object.fromEntries(spec.tasks.map((t) => [t, CARD_TASK_CHANCE[t]])),
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

if (import.meta.main) await runCommand(command);
