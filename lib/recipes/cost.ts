/**
 * What each model of a recipe cost to evaluate, for the cost-vs-accuracy figure: the API model
 * at its price per 1000 tokens (the HTTP backend's `usage.costUsd` in results.json, from the
 * server's token counts), the self-hosted models (base, tuned, quantized) at the recipe's
 * `selfHostedPricePer1k` times the prompt tokens they read (`prompt_tokens` in samples.jsonl;
 * their few generated tokens are not counted). Only the API model's tasks are compared, so
 * every point covers the same items.
 *
 * @example
 * ```ts ignore
 * import { pricedRuns } from "./cost.ts";
 * const runs = pricedRuns(manifest.results, results, recipe, dir);
 * console.log(runs.map((r) => [r.label, r.results.usage?.costUsd]));
 * ```
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseJsonl } from "../data/jsonl.ts";
import type { EvalResults, Sample } from "../eval/runner.ts";
import type { LabeledRun } from "../plots/figures.ts";
import type { Recipe } from "./presets.ts";
import type { RecipeModelResult } from "./run.ts";

const PER_1K = 1000;

/**
 * The base, tuned, quantized and API runs with `usage.costUsd` set (see the module
 * documentation), their results restricted to the API model's tasks. Throws when the recipe has
 * no API model or the API run recorded no cost.
 */
export function pricedRuns(
  models: RecipeModelResult[],
  results: Map<string, EvalResults>,
  recipe: Recipe,
  dir: string,
): LabeledRun[] {
  const api = recipe.api;
  if (!api) {
    throw new Error(`recipe ${recipe.name}: a cost figure needs an API model (its api field)`);
  }
  const tasks = new Set(api.tasks);
  return models.filter((m) => m.kind !== "other").map((m) => {
    const r = results.get(m.label)!;
    const restricted = Object.fromEntries(Object.entries(r.tasks).filter(([t]) => tasks.has(t)));
    let usage: NonNullable<EvalResults["usage"]>;
    if (m.kind === "api") {
      if (typeof r.usage?.costUsd !== "number") {
        throw new Error(
          `${join(dir, m.dir)}/results.json records no cost (usage.costUsd); evaluate the API ` +
            `model with its prices (pricePer1kInput, pricePer1kOutput)`,
        );
      }
      usage = r.usage;
    } else {
      const samples = parseJsonl<Sample>(readFileSync(join(dir, m.dir, "samples.jsonl"), "utf8"))
        .rows.filter((s) => tasks.has(s.task) && !s.skipped);
      const promptTokens = samples.reduce((n, s) => n + s.prompt_tokens, 0);
      // completionTokens 0: generated tokens are not counted for self-hosted models (see above).
      usage = {
        promptTokens,
        completionTokens: 0,
        costUsd: promptTokens / PER_1K * recipe.selfHostedPricePer1k,
      };
    }
    return { label: m.label, results: { tasks: restricted, usage } };
  });
}
