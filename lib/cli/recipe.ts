/**
 * `deno task recipe` — run one seed workflow end to end on its bundled tiny model (tiny-256 for all
 * five presets; `--model` picks the other): curate →
 * LoRA with the seed's rank → merge → quantize → evaluate base, tuned, quantized (and an "API
 * model" served by tunebook's own server) → gain verdict → figures, all under
 * `results/recipes/<recipe>/<run-id>/` with a `recipe.json` manifest.
 *
 *   deno task recipe --list
 *   deno task recipe S4
 *   deno task recipe S1 --steps 100 --limit 100 --out /tmp/recipes
 *
 * The logic lives in `lib/recipes/`; this file only parses arguments and reports.
 * @module
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { OutputDirError } from "../util/output_dir.ts";
import { RunLockedError } from "../eval/run_lock.ts";
import { DEFAULT_RECIPE_DIR, RECIPE_MANIFEST, runRecipe } from "../recipes/run.ts";
import { recipeSummaryRows, recipeTable } from "../recipes/table.ts";
import { findRecipe, RECIPE_NAMES, RecipeInputError, RECIPES } from "../recipes/presets.ts";
import { BUNDLED_MODEL_NAMES } from "../llm/model.ts";
import {
  booleanFlag,
  defineCommand,
  enumFlag,
  integerFlag,
  runCommand,
  stringFlag,
  UsageError,
} from "./_command.ts";

/** `deno task recipe`. */
export const command = defineCommand({
  name: "recipe",
  summary:
    `Runs a seed workflow's preset end to end on its bundled tiny model (tiny-256 for all five;
--model picks another): curate its tasks' train splits, train a LoRA with the seed's rank,
merge, quantize (q4_k_m), evaluate base, tuned and quantized on the same items (and, for S2/S4,
an "API model" served by tunebook's own server, priced per 1000 tokens), judge the gain (tuned
beats base with a paired test p < 0.01, and q4_k_m inside the tuned model's 95% CI) and draw the
seed's figures. A repeated command finds its run folder again and continues after the last
finished step.`,
  usage: ["<S0|S1|S2|S3|S4> [options]", "--list", "--table [--out DIR]"],
  positionals: {
    usage: "[RECIPE]",
    expected: "one recipe name",
    min: 0,
    max: 1,
    help: `RECIPE              one of ${RECIPE_NAMES.join(", ")}`,
  },
  flags: {
    list: booleanFlag("list the recipes (seed workflow, tasks, LoRA, headline metric) and exit"),
    table: booleanFlag(
      "write <out>/summary.md (the README's table) and <out>/summary.json from the newest " +
        "finished run of each recipe under --out, print the table and exit",
    ),
    out: stringFlag("folder the runs go in: <out>/<recipe>/<run-id>/", {
      placeholder: "DIR",
      default: DEFAULT_RECIPE_DIR,
    }),
    run: stringFlag("run id (a folder name); another run's folder is refused", {
      placeholder: "ID",
      defaultText: "a hash of the recipe's settings and base model",
    }),
    steps: integerFlag("optimizer steps", { min: 1, defaultText: "the preset's (200)" }),
    limit: integerFlag("items per eval task", { min: 1, defaultText: "the preset's (200)" }),
    model: enumFlag("the bundled base model to fine-tune", BUNDLED_MODEL_NAMES, {
      defaultText: "the preset's",
    }),
    threads: integerFlag("llama.cpp threads of the evaluations; 0 = one fewer than the cores", {
      min: 0,
      default: 1,
    }),
  },
  usageErrors: [RecipeInputError, OutputDirError, RunLockedError],
  run: async ({ values, positionals }) => {
    if (values.list) {
      for (const r of Object.values(RECIPES)) {
        console.log(
          `${r.name}  ${r.title}\n    seed: ${r.seed}\n    train: ${r.trainTasks.join(", ")}; ` +
            `eval: ${
              r.evalTasks.join(", ")
            }; base ${r.model}; LoRA r${r.lora.r}/α${r.lora.alpha}, ${r.steps} ` +
            `steps; ${r.quant}; headline ${r.headline.task} ${r.headline.metric}` +
            (r.api
              ? `; API model ${r.api.model} at $${r.api.pricePer1kInput}/$${r.api.pricePer1kOutput} per 1k tokens`
              : ""),
        );
      }
      return 0;
    }
    if (values.table) {
      const rows = recipeSummaryRows(values.out);
      if (!rows.length) {
        throw new UsageError(`no finished recipe run under ${values.out}; run a recipe first`);
      }
      const table = recipeTable(rows);
      writeFileSync(join(values.out, "summary.md"), table);
      writeFileSync(join(values.out, "summary.json"), JSON.stringify(rows, null, 2) + "\n");
      console.log(table + `\n-> ${join(values.out, "summary.md")}`);
      return 0;
    }
    if (!positionals.length) {
      throw new UsageError(`name a recipe (${RECIPE_NAMES.join(", ")}) or pass --list`);
    }
    const recipe = findRecipe(positionals[0]);
    if (values.model !== undefined) recipe.model = values.model;
    const { dir, manifest } = await runRecipe(recipe, {
      out: values.out,
      run: values.run,
      steps: values.steps,
      limit: values.limit,
      threads: values.threads,
    });
    for (const r of manifest.results) {
      const h = r.headline;
      console.log(
        `${r.label.padEnd(14)} ${
          h
            ? `${(100 * h.value).toFixed(1)}% [${(100 * h.ci[0]).toFixed(1)}%, ${
              (100 * h.ci[1]).toFixed(1)
            }%]`
            : "–"
        }${r.costUsd !== undefined ? `  $${r.costUsd.toPrecision(3)}` : ""}`,
      );
    }
    console.log(manifest.verdict?.text ?? "no verdict");
    console.log(`\n-> ${dir}/${RECIPE_MANIFEST}`);
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
