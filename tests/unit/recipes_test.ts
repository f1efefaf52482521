/**
 * lib/recipes without a model: the presets (each seed's rank, quantization, headline task among
 * the evaluated ones, API tasks evaluated locally too), unknown names, the gain verdict's
 * decisions, the README table from run manifests, and `deno task recipe --list` / usage errors.
 * tests/model/recipes_test.ts runs every recipe on the tiny model.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  findRecipe,
  GAIN_P,
  gainVerdict,
  RECIPE_MANIFEST,
  RECIPE_NAMES,
  RecipeInputError,
  type RecipeManifest,
  RECIPES,
  recipeSummaryRows,
  recipeTable,
  runRecipe,
  tunedScores,
} from "../../lib/recipes/mod.ts";
import { findTask } from "../../lib/eval/task/mod.ts";
import type { Estimate } from "../../lib/eval/stats.ts";

const CLI = fileURLToPath(new URL("../../lib/cli/recipe.ts", import.meta.url));

function est(value: number, half = 0.05): Estimate {
  return { value, stderr: half / 1.96, ci: [value - half, value + half], n: 200, method: "wilson" };
}

Deno.test("presets: the seeds' ranks, q4_k_m, headline and API tasks evaluated", () => {
  assert.deepEqual(RECIPE_NAMES, ["S0", "S1", "S2", "S3", "S4"]);
  assert.equal(RECIPES.S0.lora.r, 16, "Open-Platypus LoRA r16");
  assert.equal(RECIPES.S4.lora.r, 32, "SQuAD LoRA r32");
  for (const r of Object.values(RECIPES)) {
    assert.equal(r.quant, "q4_k_m", r.name);
    assert.ok(r.evalTasks.includes(r.headline.task), `${r.name}: headline task evaluated`);
    for (const t of r.api?.tasks ?? []) assert.ok(r.evalTasks.includes(t), `${r.name}: ${t}`);
    assert.ok(r.figures.includes("quantization") && r.figures.includes("deltas"), r.name);
  }
  assert.ok(RECIPES.S2.api && RECIPES.S2.figures.includes("per_class"));
  assert.ok(RECIPES.S4.api && RECIPES.S4.figures.includes("by_length"));
  assert.ok(RECIPES.S4.figures.includes("cost"));
  assert.ok(RECIPES.S1.checkpoints > 0 && RECIPES.S1.figures.includes("checkpoints"));
  assert.equal(RECIPES.S3.headline.task, "synth_summary");
  assert.ok(RECIPES.S0.evalTasks.includes("synth_code2text"), "S0's code-to-text step");
  // Issue 17: one bundled model learns all five.
  assert.deepEqual(new Set(Object.values(RECIPES).map((r) => r.model)), new Set(["tiny-256"]));
  // S0's sciq is lm-eval's: the support passage before the question.
  assert.equal(RECIPES.S0.headline.task, "synth_facts_support");
  assert.match(String(findTask("synth_facts_support").docToText), /^\{\{support\.lstrip\(\)\}\}\n/);
  assert.equal(findTask("synth_facts_support").docToText, findTask("sciq").docToText);
});

Deno.test("findRecipe: a copy (editing it leaves the preset alone); unknown names list the presets", () => {
  const r = findRecipe("s1");
  r.steps = 1;
  assert.equal(RECIPES.S1.steps, 200);
  assert.throws(() => findRecipe("S5"), RecipeInputError);
});

Deno.test("runRecipe: a missing headline task is refused before anything runs, naming it", async () => {
  const out = Deno.makeTempDirSync();
  const preset = { ...findRecipe("S4"), headline: { task: "synth_nope", metric: "f1" } };
  preset.evalTasks = ["synth_nope"];
  await assert.rejects(
    () => runRecipe(preset, { out }),
    (e) => e instanceof RecipeInputError && /needs task synth_nope/.test(e.message),
  );
  await assert.rejects(
    () => runRecipe("S4", { out, steps: 0 }),
    (e) => e instanceof RecipeInputError && /steps: 0 is not a positive integer/.test(e.message),
  );
});

Deno.test("gainVerdict: met needs a positive delta, p < 0.01 and q4_k_m inside the tuned CI", () => {
  const headline = { task: "qa", metric: "f1" };
  const cmp = (delta: number, pValue: number) => ({
    meanA: 0.2,
    meanB: 0.2 + delta,
    delta,
    ci: [delta - 0.05, delta + 0.05] as [number, number],
    pValue,
    n: 200,
  });
  const met = gainVerdict({
    headline,
    comparison: cmp(0.2, 0.001),
    tuned: est(0.4),
    quantized: est(0.41),
  });
  assert.equal(met.met, true);
  assert.equal(met.test, "paired-bootstrap");
  const weak = gainVerdict({
    headline,
    comparison: cmp(0.02, GAIN_P),
    tuned: est(0.22),
    quantized: est(0.22),
  });
  assert.equal(weak.gain, false, "p must be below 0.01, not equal");
  assert.match(weak.text, /^gain not met: .*not a significant gain at p < 0\.01/);
  const worse = gainVerdict({
    headline,
    comparison: cmp(-0.2, 0.001),
    tuned: est(0.0),
    quantized: est(0.0),
  });
  assert.equal(worse.gain, false, "a significant loss is no gain");
  const drift = gainVerdict({
    headline,
    comparison: cmp(0.2, 0.001),
    tuned: est(0.4),
    quantized: est(0.3),
  });
  assert.equal(drift.gain, true);
  assert.equal(drift.quantizedWithinCi, false);
  assert.equal(drift.met, false);
  assert.match(drift.text, /quantized 30\.0% outside the tuned 95% CI \[35\.0%, 45\.0%\]/);
  const mc = gainVerdict({
    headline,
    comparison: {
      ...cmp(0.1, 0.5),
      mcnemar: { b: 1, c: 12, statistic: 1, pValue: 0.003, method: "exact" },
    },
    tuned: est(0.3),
    quantized: est(0.3),
  });
  assert.equal(mc.test, "mcnemar-exact");
  assert.equal(mc.p, 0.003, "McNemar's p decides for 0/1 metrics");
  assert.equal(mc.gain, true);
});

Deno.test("gainVerdict: a tuned model that gives one answer to every item has no gain to report", () => {
  const headline = { task: "synth_entailment", metric: "acc" };
  const comparison = {
    meanA: 0.395,
    meanB: 0.605,
    delta: 0.21,
    ci: [0.07, 0.36] as [number, number],
    pValue: 0.004,
    n: 200,
  };
  const input = { headline, comparison, tuned: est(0.605), quantized: est(0.605) };
  const always = gainVerdict({ ...input, tunedPerClass: { no: 1, yes: 0 } });
  assert.equal(always.gain, true, "the paired test alone would call it a gain");
  assert.equal(always.oneAnswer, "no");
  assert.equal(always.met, false);
  assert.match(
    always.text,
    /^gain not met: .*the tuned model answers "no" to every item \(per-class accuracy no 100\.0%, yes 0\.0%\)$/,
  );
  const md = recipeTable([{
    recipe: "S2",
    seed: "entailment",
    model: "tiny-256",
    command: "deno task recipe S2",
    dir: "d",
    steps: 200,
    limit: 200,
    headline: "synth_entailment acc",
    scores: { tuned: { value: 0.605, ci: [0.536, 0.67] } },
    verdict: always.text,
    met: always.met,
    seconds: 60,
  }]);
  assert.match(
    md,
    /\| not met \(paired-bootstrap p = 0\.0040; tuned answers "no" to every item\) \|/,
  );
  const others: Record<string, number>[] = [
    { no: 0.9, yes: 0.2 },
    { no: 1, yes: 0.5 },
    { no: 1 },
    {},
  ];
  for (const perClass of others) {
    const v = gainVerdict({ ...input, tunedPerClass: perClass });
    assert.equal(v.oneAnswer, null, JSON.stringify(perClass));
    assert.equal(v.met, true, JSON.stringify(perClass));
  }
  assert.equal(
    gainVerdict(input).met,
    true,
    "a task without per-class accuracy is judged as before",
  );
});

function manifestFor(name: string, updated: string, met: boolean): RecipeManifest {
  const recipe = findRecipe(name);
  return {
    format: "tunebook-recipe/1",
    run: `run-${updated}`,
    identity: { recipe, base: { model: "m", gguf: "m.gguf", sha256: "0" } },
    created: updated,
    updated,
    missingTasks: [],
    steps: { train: 10.4, evaluate: 2 },
    artifacts: {},
    results: [
      {
        label: "base",
        kind: "base",
        dir: "eval/base",
        headline: { value: 0.5, ci: [0.43, 0.57], n: 200 },
      },
      {
        label: "tuned",
        kind: "finetuned",
        dir: "eval/tuned",
        headline: { value: 0.9, ci: [0.85, 0.94], n: 200 },
      },
      {
        label: "step-50",
        kind: "other",
        dir: "eval/step-50",
        headline: { value: 0.7, ci: [0.6, 0.8], n: 200 },
      },
    ],
    verdict: {
      ...gainVerdict({
        headline: recipe.headline,
        comparison: { meanA: 0.5, meanB: 0.9, delta: 0.4, ci: [0.3, 0.5], pValue: 0.002, n: 200 },
        tuned: est(0.9),
        quantized: est(met ? 0.9 : 0.5),
      }),
    },
    figures: {},
  };
}

Deno.test("recipeSummaryRows + recipeTable: the newest finished run per recipe, in order", () => {
  const out = Deno.makeTempDirSync();
  const write = (name: string, id: string, m: RecipeManifest | null) => {
    mkdirSync(join(out, name, id), { recursive: true });
    if (m) writeFileSync(join(out, name, id, RECIPE_MANIFEST), JSON.stringify(m));
  };
  write("S4", "old", manifestFor("S4", "2026-01-01T00:00:00Z", false));
  write("S4", "new", manifestFor("S4", "2026-02-01T00:00:00Z", true));
  write("S0", "a", manifestFor("S0", "2026-01-05T00:00:00Z", false));
  write("S2", "unfinished", { ...manifestFor("S2", "2026-03-01T00:00:00Z", true), verdict: null });
  write("S1", "empty", null);
  // A newer S4 run on the other bundled model (`--model tiny`) does not replace the preset's own.
  const onTiny = manifestFor("S4", "2026-03-01T00:00:00Z", true);
  onTiny.identity.recipe = { ...onTiny.identity.recipe, model: "tiny" };
  write("S4", "on-tiny", { ...onTiny, run: "run-on-tiny" });
  mkdirSync(join(out, "S4", "run-2026-02-01T00:00:00Z", "eval", "tuned"), { recursive: true });
  writeFileSync(
    join(out, "S4", "run-2026-02-01T00:00:00Z", "eval", "tuned", "results.json"),
    JSON.stringify({
      tasks: {
        synth_qa: { metrics: { f1: { value: 0.9, ci: [0.85, 0.94], n: 200 } } },
        synth_summary: { metrics: { rougeL: { value: 0.4, ci: [0.3, 0.5], n: 200 } } },
      },
    }),
  );
  const rows = recipeSummaryRows(out);
  assert.deepEqual(rows.map((r) => [r.recipe, r.met]), [["S0", false], ["S4", true]]);
  assert.equal(rows[0].tunedTasks, undefined, "no results.json: no per-task scores");
  assert.deepEqual(rows[1].tunedTasks?.synth_summary, { rougeL: { value: 0.4, ci: [0.3, 0.5] } });
  // A model card's tuned column: headlines first, then a task another recipe evaluated.
  const model = rows[1].model;
  const tuned = tunedScores(rows, model, { synth_summary: "rougeL", synth_code2text: "bleu4" });
  assert.deepEqual(tuned.synth_summary, {
    metric: "rougeL",
    value: 0.4,
    ci: [0.3, 0.5],
    recipe: "S4",
  });
  assert.equal(tuned.synth_code2text, undefined, "no recipe evaluated it");
  assert.deepEqual(tunedScores(rows, "another-model", { synth_summary: "rougeL" }), {});
  assert.equal(rows[1].dir, join(out, "S4", "run-2026-02-01T00:00:00Z"));
  assert.deepEqual(
    Object.keys(rows[0].scores),
    ["base", "tuned"],
    "checkpoints are not rows' scores",
  );
  const md = recipeTable(rows).split("\n");
  assert.equal(md.length, 5);
  assert.match(md[2], /^\| S0 \| Open-Platypus LoRA \(r16\).*\| `deno task recipe S0` \|/);
  assert.match(md[2], /base 50\.0% \[43\.0%, 57\.0%\]; tuned 90\.0% \[85\.0%, 94\.0%\]/);
  assert.match(md[2], /\| not met \(paired-bootstrap p = 0\.0020\) \| 12 s \|$/);
  assert.match(md[3], /\| \*\*met\*\* \(/);
});

async function cli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task recipe: --list names every preset; bad names and no name exit 2", async () => {
  const list = await cli(["--list"]);
  assert.equal(list.code, 0, list.stderr);
  for (const name of RECIPE_NAMES) assert.match(list.stdout, new RegExp(`^${name}  `, "m"));
  assert.match(list.stdout, /LoRA r32\/α64/);
  const bad = await cli(["S7"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown recipe "S7"; the presets are S0, S1, S2, S3, S4/);
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /name a recipe/);
  const table = await cli(["--table", "--out", Deno.makeTempDirSync()]);
  assert.equal(table.code, 2);
  assert.match(table.stderr, /no finished recipe run under/);
});
