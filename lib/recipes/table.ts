/**
 * The README's table of seed workflows, generated from recipe run manifests (never typed by
 * hand): one row per recipe — the seed's headline result, the command, and the measured
 * tiny-model result (base → tuned → quantized, and the API model, with 95% CIs) with the gain
 * verdict. `deno task recipe --table` writes it to `<out>/summary.md` (and the rows to
 * `<out>/summary.json`) from the newest finished run of each recipe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recipeTable } from "./table.ts";
 * const md = recipeTable([]);
 * assert.match(md, /^\| recipe \| seed workflow/);
 * ```
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RECIPE_NAMES, RECIPES } from "./presets.ts";
import type { EvalResults } from "../eval/runner.ts";
import { RECIPE_MANIFEST, type RecipeManifest } from "./run.ts";

/** The base model a recipe (or row) names; "tiny" for manifests from before recipes named one. */
function modelOf(r: { model?: string }): string {
  return r.model ?? "tiny";
}

/** One finished run as a table row. */
export interface RecipeSummaryRow {
  /** S0 … S4. */
  recipe: string;
  /** The seed's headline result. */
  seed: string;
  /** The bundled base model it fine-tuned. */
  model: string;
  /** The command that reproduces it. */
  command: string;
  /** The run folder. */
  dir: string;
  /** Steps and items per task the run used. */
  steps: number;
  limit: number;
  /** Headline task and metric. */
  headline: string;
  /** Label → value and 95% CI of the headline metric (base, tuned, quantized, API). */
  scores: Record<string, { value: number; ci: [number, number] }>;
  /**
   * The tuned model's every metric on every task it was evaluated on (task → metric → value and
   * 95% CI), from its results.json; absent in rows written before it was recorded.
   */
  tunedTasks?: Record<string, Record<string, { value: number; ci: [number, number] }>>;
  /** The verdict line and its parts. */
  verdict: string;
  met: boolean;
  /** Seconds the run's steps took together. */
  seconds: number;
}

/**
 * The newest finished run (a verdict written) of each recipe under `out`, as rows, in recipe
 * order — on the preset's own base model when it has one, else on another (`--model`); recipes
 * without a finished run are left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recipeSummaryRows } from "./table.ts";
 * assert.deepEqual(recipeSummaryRows(Deno.makeTempDirSync()), []);
 * ```
 */
export function recipeSummaryRows(out: string): RecipeSummaryRow[] {
  const rows: RecipeSummaryRow[] = [];
  for (const name of RECIPE_NAMES) {
    const root = join(out, name);
    if (!existsSync(root)) continue;
    const runs = readdirSync(root)
      .map((id) => join(root, id, RECIPE_MANIFEST))
      .filter((p) => existsSync(p))
      .map((p) => ({ path: p, m: JSON.parse(readFileSync(p, "utf8")) as RecipeManifest }))
      .filter(({ m }) => m.verdict !== null)
      .sort((a, b) => a.m.updated.localeCompare(b.m.updated));
    // A run on another model (`--model`) stands in only when the preset's own model has none.
    const own = runs.filter(({ m }) => modelOf(m.identity.recipe) === RECIPES[name].model);
    const newest = (own.length ? own : runs).at(-1);
    if (!newest) continue;
    const { m } = newest;
    const r = m.identity.recipe;
    const model = modelOf(r);
    const scores: RecipeSummaryRow["scores"] = {};
    for (const res of m.results) {
      if (res.headline && res.kind !== "other") {
        scores[res.label] = { value: res.headline.value, ci: res.headline.ci };
      }
    }
    const tunedResult = m.results.find((res) => res.label === "tuned");
    const tunedTasks = tunedResult
      ? taskMetrics(join(root, m.run, tunedResult.dir, "results.json"))
      : undefined;
    rows.push({
      recipe: r.name,
      seed: r.seed,
      model,
      command: `deno task recipe ${r.name}` +
        (model !== RECIPES[r.name]?.model ? ` --model ${model}` : "") +
        (r.steps !== 200 ? ` --steps ${r.steps}` : "") +
        (r.limit !== 200 ? ` --limit ${r.limit}` : ""),
      dir: join(root, m.run),
      steps: r.steps,
      limit: r.limit,
      headline: `${r.headline.task} ${r.headline.metric}`,
      scores,
      ...(tunedTasks ? { tunedTasks } : {}),
      verdict: m.verdict!.text,
      met: m.verdict!.met,
      seconds: Math.round(Object.values(m.steps).reduce((s, x) => s + (x ?? 0), 0)),
    });
  }
  return rows;
}

/** A tuned headline score of a recipe run, by task (a model card's "tuned" column). */
export interface TunedHeadline {
  /** The headline metric. */
  metric: string;
  /** The tuned model's value and 95% CI. */
  value: number;
  ci: [number, number];
  /** The recipe (S0 … S4). */
  recipe: string;
}

/** An eval run's results.json as task → metric → value and CI (undefined if it is missing). */
function taskMetrics(path: string): RecipeSummaryRow["tunedTasks"] {
  if (!existsSync(path)) return undefined;
  const results = JSON.parse(readFileSync(path, "utf8")) as EvalResults;
  return Object.fromEntries(
    Object.entries(results.tasks).map(([task, t]) => [
      task,
      Object.fromEntries(
        Object.entries(t.metrics)
          .filter(([, e]) => Number.isFinite(e.value)) // NaN would be written as null
          .map(([metric, e]) => [metric, { value: e.value, ci: e.ci }]),
      ),
    ]),
  );
}

/**
 * The tuned score of each task on a model card, from the rows (summary.json's) whose base model
 * is `model`: a task that is a recipe's headline gets that recipe's tuned headline score; any
 * other task in `metrics` (task → the card's metric) gets the tuned score of the first recipe,
 * in recipe order, that evaluated it on that metric.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type RecipeSummaryRow, tunedScores } from "./table.ts";
 * const row = {
 *   recipe: "S0", model: "tiny-256", headline: "synth_facts_support acc",
 *   scores: { tuned: { value: 0.9, ci: [0.85, 0.94] } },
 *   tunedTasks: { synth_arithmetic: { "exact_match": { value: 0.1, ci: [0.06, 0.15] } } },
 * } as unknown as RecipeSummaryRow;
 * const tuned = tunedScores([row], "tiny-256", { synth_arithmetic: "exact_match" });
 * assert.deepEqual(Object.keys(tuned), ["synth_facts_support", "synth_arithmetic"]);
 * assert.equal(tuned.synth_arithmetic.recipe, "S0");
 * assert.deepEqual(tunedScores([row], "tiny"), {});
 * ```
 */
export function tunedScores(
  rows: RecipeSummaryRow[],
  model: string,
  metrics: Record<string, string> = {},
): Record<string, TunedHeadline> {
  const out: Record<string, TunedHeadline> = {};
  const mine = rows.filter((row) => modelOf(row) === model);
  for (const row of mine) {
    const tuned = row.scores.tuned;
    if (!tuned) continue;
    const [task, metric] = row.headline.split(" ");
    out[task] = { metric, value: tuned.value, ci: tuned.ci, recipe: row.recipe };
  }
  for (const [task, metric] of Object.entries(metrics)) {
    if (out[task]?.metric === metric) continue;
    const row = mine.find((r) => r.tunedTasks?.[task]?.[metric]);
    const score = row?.tunedTasks?.[task]?.[metric];
    if (row && score) out[task] = { metric, value: score.value, ci: score.ci, recipe: row.recipe };
  }
  return out;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** The markdown table of `rows` (see the module documentation). */
export function recipeTable(rows: RecipeSummaryRow[]): string {
  const lines = [
    "| recipe | seed workflow (its headline result) | command | base model: headline metric, 95% CI | gain (p < 0.01, q4_k_m in tuned CI) | time |",
    "|---|---|---|---|---|---:|",
  ];
  for (const r of rows) {
    const scores = Object.entries(r.scores).map(([label, s]) =>
      `${label} ${pct(s.value)} [${pct(s.ci[0])}, ${pct(s.ci[1])}]`
    ).join("; ");
    const why = r.verdict.replace(/^gain (not )?met: /, "");
    const p = /(mcnemar-\w+|paired-bootstrap) (p [=<] [\d.e-]+)/.exec(why);
    const one = /answers "([^"]+)" to every item/.exec(why);
    lines.push(
      `| ${r.recipe} | ${r.seed} | \`${r.command}\` | ${r.model}, ${r.headline}: ${scores} | ` +
        `${r.met ? "**met**" : "not met"} (${p ? `${p[1]} ${p[2]}` : why}` +
        `${one ? `; tuned answers "${one[1]}" to every item` : ""}) | ${r.seconds} s |`,
    );
  }
  return lines.join("\n") + "\n";
}
