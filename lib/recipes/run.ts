/**
 * `runRecipe`: one seed workflow end to end, every step a library call that already exists —
 *
 * 1. **curate** the train splits of the recipe's tasks (`taskTrainRows`, then `curateFile`:
 *    cleaned, decontaminated against the evaluated tasks' test items, deduplicated, split);
 * 2. **train** a LoRA with the recipe's rank on the `tiny-cpu` preset (`runTrainer`);
 * 3. **merge** it into the base (`exportAdapter`: GGUF adapter, merged checkpoint and GGUF);
 * 4. **quantize** the merged model (`quantizeModel`, q4_k_m by default);
 * 5. **evaluate** base, tuned and quantized on the same items (`runEval`), each checkpoint's
 *    adapter when the recipe asks, and the "API model": a GGUF served by tunebook's own server
 *    (`startServer`) through the OpenAI-compatible HTTP backend, priced per 1000 tokens;
 * 6. **judge** the gain (`gainVerdict`: paired test of tuned vs base, quantized within the
 *    tuned model's 95% CI) and draw the seed's **figures** (lib/plots).
 *
 * Everything goes under one run folder, `<out>/<recipe>/<run-id>/`, described by `recipe.json`
 * (see {@linkcode RecipeManifest}). A run is identified by its resolved preset and the base
 * model's SHA-256; the default run id is a hash of that identity, so repeating a command finds
 * its own folder again and continues after the last finished step (the trainer and the
 * evaluations resume inside a step, as they do on their own). A folder holding another identity
 * is never reused: naming it with `run` is an error listing what differs.
 *
 * @example
 * ```ts ignore
 * import { runRecipe } from "./run.ts";
 * const { dir, manifest } = await runRecipe("S4", { steps: 100 });
 * console.log(dir, manifest.verdict?.text);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join, relative, resolve } from "node:path";
import { writeJsonl } from "../data/jsonl.ts";
import { curateFile } from "../data/curate.ts";
import { createLlamaBackend, type LlamaBackendOptions } from "../eval/backend.ts";
import { benchmarkTasks } from "../eval/benchmark_items.ts";
import { compareRuns } from "../eval/compare.ts";
import { createOpenAIBackend } from "../eval/openai_backend.ts";
import { lockRunFolder } from "../eval/run_lock.ts";
import { type EvalResults, runEval } from "../eval/runner.ts";
import { listTasks } from "../eval/task/mod.ts";
import { quantizeModel } from "../gguf/quantize.ts";
import { BUNDLED_MODEL_NAMES, BUNDLED_MODELS } from "../llm/model.ts";
import { checkpointFigure } from "../plots/checkpoint_figure.ts";
import { classAccuracies, perClassFigure } from "../plots/class_figure.ts";
import { costFigure, type Figure } from "../plots/figures.ts";
import {
  loadReport,
  readQuantCard,
  reportFigures,
  reportMarkdown,
  type ReportRun,
  writeReportManifest,
} from "../plots/report.ts";
import { resolveServeConfig } from "../serve/config.ts";
import { startServer } from "../serve/server.ts";
import { exportAdapter, runTrainer } from "../train/bridge.ts";
import { resolveTrainConfig } from "../train/config.ts";
import { taskTrainRows } from "../train/data.ts";
import { fileSha256 } from "../util/file_hash.ts";
import { prepareOutputDir } from "../util/output_dir.ts";
import { pricedRuns } from "./cost.ts";
import { findRecipe, type Recipe, RecipeInputError } from "./presets.ts";
import { type GainVerdict, gainVerdict } from "./verdict.ts";

/** Where recipe runs go by default. */
export const DEFAULT_RECIPE_DIR = "results/recipes";
/** The manifest's file name in a run folder. */
export const RECIPE_MANIFEST = "recipe.json";
/** The trainer preset every recipe starts from (the bundled model on CPU). */
const TRAIN_PRESET = "tiny-cpu";
/** Hex digits of the identity hash in a default run id. */
const RUN_ID_DIGITS = 12;

/** The steps of a recipe, in order. */
export const RECIPE_STEPS = [
  "curate",
  "train",
  "merge",
  "quantize",
  "evaluate",
  "checkpoints",
  "api",
  "figures",
] as const;

/** A step's name. */
export type RecipeStep = typeof RECIPE_STEPS[number];

/** Options for {@linkcode runRecipe}. */
export interface RunRecipeOptions {
  /** The folder recipe runs go in (`<out>/<recipe>/<run-id>/`). Default: "results/recipes". */
  out?: string;
  /** The run id (a folder name). Default: the first 12 hex digits of the identity's SHA-256. */
  run?: string;
  /** Optimizer steps, instead of the preset's. Default: the preset's `steps`. */
  steps?: number;
  /** Items per eval task, instead of the preset's. Default: the preset's `limit`. */
  limit?: number;
  /** The base model's Hugging Face folder (what LoRA trains on). Default: the recipe's bundled model's. */
  baseModel?: string;
  /** The base model's GGUF (evaluated as "base"). Default: the recipe's bundled model's. */
  baseGguf?: string;
  /** llama.cpp threads of the evaluations and the API server (0: one fewer than the cores). Default: 1. */
  threads?: number;
  /** Folder with task YAML files. Default: data/tasks. */
  tasksDir?: string;
  /** Where progress lines go. Default: `console.error`. */
  onStep?: (line: string) => void;
}

/** One evaluated model of a recipe run. */
export interface RecipeModelResult {
  /** Name in tables and figures: base, tuned, tuned-q4_k_m, step-N, or the API model's label. */
  label: string;
  /** What it is. */
  kind: ReportRun["kind"];
  /** Its eval run folder, relative to the recipe's run folder. */
  dir: string;
  /** The headline metric's value and 95% CI (absent for a model that did not evaluate the headline task). */
  headline?: { value: number; ci: [number, number]; n: number };
  /** The evaluation's cost in USD at the recipe's prices (cost figures only). */
  costUsd?: number;
}

/** `recipe.json`: what a recipe run did and found. */
export interface RecipeManifest {
  /** "tunebook-recipe/1". */
  format: string;
  /** The run id (the folder's name). */
  run: string;
  /** What identifies the run: the resolved preset and the base model. */
  identity: RecipeIdentity;
  /** When the run started and when this file was last written (ISO 8601). */
  created: string;
  updated: string;
  /** Tasks of the preset that are not in the task folder (the run went on without them). */
  missingTasks: string[];
  /** Seconds each finished step took (0 for a step the recipe has nothing to do in). */
  steps: Partial<Record<RecipeStep, number>>;
  /** Files written, relative to the run folder. */
  artifacts: Record<string, string>;
  /** Every evaluated model. */
  results: RecipeModelResult[];
  /** The gain verdict; null until the evaluations are done. */
  verdict: GainVerdict | null;
  /** Figure files, by figure name (plotly.js JSON specs), relative to the run folder. */
  figures: Record<string, string>;
}

/** What identifies a recipe run. */
export interface RecipeIdentity {
  /** The preset after options (steps, limit) and with tasks that are missing left out. */
  recipe: Recipe;
  /** The base model's folder and GGUF, and the GGUF's SHA-256. */
  base: { model: string; gguf: string; sha256: string };
}

/** What {@linkcode runRecipe} returns. */
export interface RecipeRun {
  /** The run folder. */
  dir: string;
  /** Its recipe.json. */
  manifest: RecipeManifest;
}

/**
 * Run a recipe by name (S0 … S4) or as a preset object (see the module documentation). Throws a
 * {@linkcode RecipeInputError} for an unknown name, a preset whose headline task is not in the
 * task folder, or a `run` folder that holds another run.
 *
 * @example
 * ```ts ignore
 * import { runRecipe } from "./run.ts";
 * const { manifest } = await runRecipe("S2", { steps: 100, limit: 100 });
 * console.log(manifest.verdict?.met, manifest.figures);
 * ```
 */
export async function runRecipe(
  nameOrPreset: string | Recipe,
  options: RunRecipeOptions = {},
): Promise<RecipeRun> {
  const { out = DEFAULT_RECIPE_DIR, threads = 1, tasksDir, onStep = console.error } = options;
  const preset = typeof nameOrPreset === "string"
    ? findRecipe(nameOrPreset)
    : structuredClone(nameOrPreset);
  const bundled = BUNDLED_MODELS[preset.model];
  if (!bundled) {
    throw new RecipeInputError(
      `recipe ${preset.name}: unknown model "${preset.model}"; use one of ` +
        BUNDLED_MODEL_NAMES.join(", "),
    );
  }
  const { baseModel = bundled.dir, baseGguf = bundled.gguf } = options;
  const { recipe, missingTasks } = resolveRecipe(preset, options);
  for (const path of [baseModel, baseGguf]) {
    if (!existsSync(path)) {
      throw new RecipeInputError(
        `base model ${path} not found; run \`deno task build:tiny --model ${preset.model}\` ` +
          `(the bundled model) or pass ` +
          `the base model's folder and GGUF`,
      );
    }
  }
  const identity: RecipeIdentity = {
    recipe,
    base: { model: baseModel, gguf: baseGguf, sha256: await fileSha256(baseGguf) },
  };
  const runId = options.run ?? sha256(JSON.stringify(identity)).slice(0, RUN_ID_DIGITS);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) {
    throw new RecipeInputError(
      `run id "${runId}" is not a folder name (letters, digits, . _ - only); pick another`,
    );
  }
  const dir = join(out, recipe.name, runId);
  prepareOutputDir(dir, { label: "recipe run folder" });
  const lock = lockRunFolder(dir, { onNote: onStep });
  try {
    const manifest = openManifest(dir, runId, identity, missingTasks);
    for (const task of missingTasks) {
      onStep(
        `${recipe.name}: needs task ${task} (not in ${tasksDir ?? "data/tasks"}); this run goes ` +
          `on without it`,
      );
    }
    await runSteps(recipe, dir, manifest, { baseModel, baseGguf, threads, tasksDir, onStep });
    return { dir, manifest };
  } finally {
    lock.release();
  }
}

/** The preset with the options applied and its missing tasks left out (or an error for the headline's). */
function resolveRecipe(
  preset: Recipe,
  options: RunRecipeOptions,
): { recipe: Recipe; missingTasks: string[] } {
  const recipe = { ...preset };
  for (const [field, value] of [["steps", options.steps], ["limit", options.limit]] as const) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) {
      throw new RecipeInputError(`${field}: ${value} is not a positive integer`);
    }
    recipe[field] = value;
  }
  const known = new Set(listTasks({ tasksDir: options.tasksDir }).map((t) => t.name));
  const wanted = [
    ...new Set([...recipe.trainTasks, ...recipe.evalTasks, ...(recipe.api?.tasks ?? [])]),
  ];
  const missingTasks = wanted.filter((t) => !known.has(t));
  if (missingTasks.includes(recipe.headline.task)) {
    throw new RecipeInputError(
      `recipe ${recipe.name} needs task ${recipe.headline.task} (its headline task), which is not ` +
        `in ${options.tasksDir ?? "data/tasks"}; add data/tasks/${recipe.headline.task}.yaml ` +
        `(and its data) first`,
    );
  }
  const keep = (tasks: string[]) => tasks.filter((t) => known.has(t));
  recipe.trainTasks = keep(recipe.trainTasks);
  recipe.evalTasks = keep(recipe.evalTasks);
  if (recipe.api) recipe.api = { ...recipe.api, tasks: keep(recipe.api.tasks) };
  if (!recipe.evalTasks.includes(recipe.headline.task)) {
    throw new RecipeInputError(
      `recipe ${recipe.name}: headline task ${recipe.headline.task} is not one of its evalTasks ` +
        `(${recipe.evalTasks.join(", ")}); add it there`,
    );
  }
  return { recipe, missingTasks };
}

/** The folder's manifest when it holds this identity, a fresh one when it is empty; else an error. */
function openManifest(
  dir: string,
  runId: string,
  identity: RecipeIdentity,
  missingTasks: string[],
): RecipeManifest {
  const path = join(dir, RECIPE_MANIFEST);
  const now = new Date().toISOString();
  if (!existsSync(path)) {
    const others = readdirSync(dir).filter((f) => f !== "run.lock");
    if (others.length) {
      throw new RecipeInputError(
        `${dir} holds files (${others.slice(0, 3).join(", ")}…) but no ${RECIPE_MANIFEST}: it is ` +
          `not a recipe run; choose another --run or --out`,
      );
    }
    const manifest: RecipeManifest = {
      format: "tunebook-recipe/1",
      run: runId,
      identity,
      created: now,
      updated: now,
      missingTasks,
      steps: {},
      artifacts: {},
      results: [],
      verdict: null,
      figures: {},
    };
    writeManifest(dir, manifest);
    return manifest;
  }
  const old = JSON.parse(readFileSync(path, "utf8")) as RecipeManifest;
  const diffs = identityDiffs(old.identity, identity);
  if (diffs.length) {
    throw new RecipeInputError(
      `${dir} holds another run of recipe ${identity.recipe.name}:\n` +
        diffs.map((d) => `  ${d}`).join("\n") +
        `\nIts files are kept. Use another --run (or leave --run out: the default id follows ` +
        `the settings) to keep both.`,
    );
  }
  return old;
}

/** Fields that differ between two identities, `path: old → new`. */
function identityDiffs(a: unknown, b: unknown, path = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (x: unknown) => typeof x === "object" && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    return [...keys].flatMap((k) =>
      identityDiffs(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      )
    );
  }
  return [`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
}

function writeManifest(dir: string, manifest: RecipeManifest): void {
  manifest.updated = new Date().toISOString();
  const path = join(dir, RECIPE_MANIFEST);
  writeFileSync(`${path}.tmp`, JSON.stringify(manifest, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

interface StepContext {
  baseModel: string;
  baseGguf: string;
  threads: number;
  tasksDir?: string;
  onStep: (line: string) => void;
}

/** Run the steps not yet recorded in the manifest, recording each as it finishes. */
async function runSteps(
  recipe: Recipe,
  dir: string,
  manifest: RecipeManifest,
  ctx: StepContext,
): Promise<void> {
  const at = (rel: string) => join(dir, rel);
  const files = {
    source: "data/source.jsonl",
    train: "data/train.jsonl",
    validation: "data/validation.jsonl",
    trainRun: "train",
    lora: "train/lora.gguf",
    merged: "train/merged/merged.gguf",
    report: "report.json",
    summary: "summary.md",
  };
  const step = async (name: RecipeStep, work: () => Promise<void> | void) => {
    if (manifest.steps[name] !== undefined) {
      ctx.onStep(`${recipe.name} ${name}: done before (${manifest.steps[name]} s), kept`);
      return;
    }
    ctx.onStep(`${recipe.name} ${name}…`);
    const t0 = performance.now();
    await work();
    manifest.steps[name] = Math.round((performance.now() - t0) / 100) / 10;
    writeManifest(dir, manifest);
  };
  const backend: LlamaBackendOptions = { threads: ctx.threads, gpu: false };
  const evaluate = async (model: string, label: string, lora?: string) => {
    const runDir = `eval/${label}`;
    const llama = await createLlamaBackend(model, {
      ...backend,
      ...(lora ? { lora: [{ path: lora }] } : {}),
    });
    try {
      await runEval(llama, {
        tasks: recipe.evalTasks,
        limit: recipe.limit,
        outDir: at(runDir),
        tasksDir: ctx.tasksDir,
        progress: false,
        reuseComplete: true,
        onNote: ctx.onStep,
      });
    } finally {
      await llama.dispose();
    }
    return runDir;
  };

  await step("curate", async () => {
    const rows = [];
    for (const task of recipe.trainTasks) {
      for (const r of await taskTrainRows(task, { tasksDir: ctx.tasksDir })) {
        rows.push({ ...r, task });
      }
    }
    mkdirSync(at("data"), { recursive: true });
    writeJsonl(at(files.source), rows);
    await curateFile(at(files.source), at("data"), {
      model: ctx.baseGguf,
      against: recipe.evalTasks,
      benchmarkTasks: benchmarkTasks({ tasksDir: ctx.tasksDir }),
      clean: { whitespace: false },
      split: { ratios: recipe.split, label: "task" },
    });
    manifest.artifacts.data = "data";
  });

  const every = recipe.checkpoints > 0
    ? Math.max(1, Math.floor(recipe.steps / recipe.checkpoints))
    : 0;
  await step("train", async () => {
    const config = resolveTrainConfig({
      preset: TRAIN_PRESET,
      overrides: {
        base_model: resolve(ctx.baseModel),
        train_file: at(files.train),
        val_file: at(files.validation),
        output_dir: at(files.trainRun),
        max_steps: recipe.steps,
        lora: { r: recipe.lora.r, alpha: recipe.lora.alpha },
        eval_every: Math.max(1, Math.floor(recipe.steps / 4)),
        ...(every
          ? { save_every: every, max_checkpoints: recipe.checkpoints + 1 }
          : { save_every: recipe.steps }),
      },
    });
    await runTrainer(config, { progress: false, notes: false });
    manifest.artifacts.train = files.trainRun;
  });

  await step("merge", async () => {
    mkdirSync(at("train/merged"), { recursive: true });
    await exportAdapter(at("train/adapter"), ctx.baseModel, {
      ggufLora: at(files.lora),
      mergedDir: at("train/merged"),
      mergedGguf: at(files.merged),
    });
    manifest.artifacts.lora = files.lora;
    manifest.artifacts.merged = files.merged;
  });

  const quantLabel = `tuned-${recipe.quant}`;
  await step("quantize", async () => {
    const { path } = await quantizeModel(at(files.merged), recipe.quant, {
      outDir: at("models"),
      force: true,
    });
    manifest.artifacts.quantized = relative(resolve(dir), resolve(path));
  });

  await step("evaluate", async () => {
    const runs: RecipeModelResult[] = [
      { label: "base", kind: "base", dir: await evaluate(ctx.baseGguf, "base") },
      { label: "tuned", kind: "finetuned", dir: await evaluate(at(files.merged), "tuned") },
      {
        label: quantLabel,
        kind: "quantized",
        dir: await evaluate(at(manifest.artifacts.quantized), quantLabel),
      },
    ];
    manifest.results = runs;
  });

  await step("checkpoints", async () => {
    if (!every) return;
    const root = at("train/checkpoints");
    const steps = existsSync(root)
      ? readdirSync(root).map((d) => /^step-(\d+)$/.exec(d)?.[1]).filter((s) => s !== undefined)
        .map(Number).sort((a, b) => a - b)
      : [];
    if (!steps.length) {
      throw new Error(
        `${root}: no checkpoint to evaluate (the trainer saves every ${every} steps); see ` +
          `${at("train/stderr.log")}`,
      );
    }
    mkdirSync(at("checkpoints"), { recursive: true });
    for (const s of steps) {
      const lora = at(`checkpoints/step-${s}.gguf`);
      await exportAdapter(join(root, `step-${s}`, "adapter"), ctx.baseModel, { ggufLora: lora });
      manifest.results.push({
        label: `step-${s}`,
        kind: "other",
        dir: await evaluate(ctx.baseGguf, `step-${s}`, lora),
      });
    }
  });

  await step("api", async () => {
    const api = recipe.api;
    if (!api || !api.tasks.length) return;
    const server = startServer(
      resolveServeConfig({
        port: 0,
        threads: ctx.threads,
        scoreThreads: ctx.threads,
        gpu: false,
        models: { [api.label]: { model: api.model } },
      }),
      { log: () => {} },
    );
    try {
      await server.ready;
      const http = createOpenAIBackend({
        baseUrl: server.url,
        model: api.label,
        pricePer1kInput: api.pricePer1kInput,
        pricePer1kOutput: api.pricePer1kOutput,
        apiKey: "",
      });
      try {
        await runEval(http, {
          tasks: api.tasks,
          limit: recipe.limit,
          outDir: at(`eval/${api.label}`),
          tasksDir: ctx.tasksDir,
          progress: false,
          reuseComplete: true,
          onNote: ctx.onStep,
        });
      } finally {
        await http.dispose();
      }
    } finally {
      await server.shutdown({ graceSeconds: 0 });
    }
    manifest.results.push({ label: api.label, kind: "api", dir: `eval/${api.label}` });
  });

  await step("figures", () => {
    const local = manifest.results.filter((r) => r.kind !== "other");
    // Sizes for the quantization trade-off: the tuned model is the card's source.
    const card = readQuantCard(at(manifest.artifacts.quantized));
    const quant: Record<string, ReportRun["quant"]> = {
      tuned: {
        type: card.source_type.toLowerCase(),
        bits_per_weight: card.source_bits_per_weight,
        bytes: card.source_bytes,
      },
      [quantLabel]: { type: card.type, bits_per_weight: card.bits_per_weight, bytes: card.bytes },
    };
    writeReportManifest(at(files.report), {
      created: new Date().toISOString(),
      runs: local.map((r) => ({
        label: r.label,
        kind: r.kind,
        dir: at(r.dir),
        ...(quant[r.label] ? { quant: quant[r.label] } : {}),
      })),
      comparisons: [{ a: "base", b: "tuned" }, { a: "tuned", b: quantLabel }],
      train: at(files.trainRun),
    });
    const report = loadReport(at(files.report));
    writeFileSync(at(files.summary), reportMarkdown(report));
    manifest.artifacts.report = files.report;
    manifest.artifacts.summary = files.summary;
    const results = new Map(
      manifest.results.map((r) => [r.label, readResults(at(r.dir))] as const),
    );
    const { task, metric } = recipe.headline;
    for (const r of manifest.results) {
      const e = results.get(r.label)!.tasks[task]?.metrics[metric];
      if (e) r.headline = { value: e.value, ci: e.ci, n: e.n };
    }
    const cmp = compareRuns(at("eval/base"), at("eval/tuned"), { tasks: [task] });
    const comparison = cmp.tasks[task].metrics[metric];
    if (!comparison) {
      throw new Error(
        `recipe ${recipe.name}: ${task} has no per-item ${metric} in ${
          at("eval/tuned")
        }/samples.jsonl ` +
          `(it has ${
            Object.keys(cmp.tasks[task].metrics).join(", ")
          }); set the headline metric to one of them`,
      );
    }
    manifest.verdict = gainVerdict({
      headline: recipe.headline,
      comparison,
      tuned: results.get("tuned")!.tasks[task].metrics[metric],
      quantized: results.get(quantLabel)!.tasks[task].metrics[metric],
      tunedPerClass: classAccuracies(results.get("tuned")!.tasks[task].metrics),
    });
    const figures = drawFigures(recipe, report, manifest, results, dir);
    mkdirSync(at("figures"), { recursive: true });
    manifest.figures = {};
    for (const [name, fig] of Object.entries(figures)) {
      const rel = `figures/${name}.json`;
      writeFileSync(at(rel), JSON.stringify(fig) + "\n");
      manifest.figures[name] = rel;
    }
    ctx.onStep(`${recipe.name}: ${manifest.verdict.text}`);
  });
}

function readResults(dir: string): EvalResults {
  return JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
}

/** The recipe's figures, by name. */
function drawFigures(
  recipe: Recipe,
  report: ReturnType<typeof loadReport>,
  manifest: RecipeManifest,
  results: Map<string, EvalResults>,
  dir: string,
): Record<string, Figure> {
  const standard = reportFigures(report) as Record<string, Figure | undefined>;
  const out: Record<string, Figure> = {};
  const labeled = (kinds: ReportRun["kind"][]) =>
    manifest.results.filter((r) => kinds.includes(r.kind)).map((r) => ({
      label: r.label,
      results: results.get(r.label)!,
    }));
  for (const name of recipe.figures) {
    if (name === "per_class") {
      out.per_class = perClassFigure(
        labeled(["base", "finetuned", "quantized", "api"]),
        recipe.headline.task,
      );
    } else if (name === "checkpoints") {
      const steps = manifest.results.filter((r) => r.kind === "other").map((r) => ({
        step: Number(r.label.replace("step-", "")),
        results: results.get(r.label)!,
      }));
      const metrics = Object.keys(results.get("base")!.tasks[recipe.headline.task].metrics)
        .filter((m) => /^rouge/.test(m));
      out.checkpoints = checkpointFigure(
        [{ step: 0, results: results.get("base")! }, ...steps],
        recipe.headline.task,
        metrics.length ? metrics : [recipe.headline.metric],
      );
    } else if (name === "cost") {
      const priced = pricedRuns(manifest.results, results, recipe, dir);
      for (const r of manifest.results) {
        const p = priced.find((x) => x.label === r.label);
        if (p) r.costUsd = p.results.usage?.costUsd;
      }
      out.cost = costFigure(priced, { x: "cost" });
    } else if (standard[name]) {
      out[name] = standard[name]!;
    }
  }
  return out;
}

/**
 * The figures of the finished run in folder `dir` (`deno task plots --recipe`), read back as
 * {@linkcode readRecipeFigures} does. Throws a {@linkcode RecipeInputError} saying what to run
 * when `dir` has no recipe.json or the run has not drawn its figures yet.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadRecipeFigures } from "./run.ts";
 * assert.throws(() => loadRecipeFigures(Deno.makeTempDirSync()), /no recipe\.json there/);
 * ```
 */
export function loadRecipeFigures(dir: string): Record<string, Figure> {
  const path = join(dir, RECIPE_MANIFEST);
  if (!existsSync(path)) {
    throw new RecipeInputError(
      `--recipe ${dir}: no ${RECIPE_MANIFEST} there; give a run folder of \`deno task recipe\` ` +
        "(results/recipes/<recipe>/<run-id>)",
    );
  }
  const manifest = JSON.parse(readFileSync(path, "utf8")) as RecipeManifest;
  if (!manifest.verdict || !Object.keys(manifest.figures ?? {}).length) {
    throw new RecipeInputError(
      `--recipe ${dir}: the run has not drawn its figures yet; run \`deno task recipe ` +
        `${manifest.identity.recipe.name}\` again to finish it`,
    );
  }
  return readRecipeFigures({ dir, manifest });
}

/**
 * The figures a finished run wrote (`manifest.figures`: plotly.js specs), by name, read back from
 * its folder — what notebooks/06_recipe.ipynb displays.
 *
 * @example
 * ```ts ignore
 * import { readRecipeFigures, runRecipe } from "./run.ts";
 * const figs = readRecipeFigures(await runRecipe("S2"));
 * console.log(Object.keys(figs)); // accuracy, deltas, loss, quantization, per_class, cost
 * ```
 */
export function readRecipeFigures(run: RecipeRun): Record<string, Figure> {
  return Object.fromEntries(
    Object.entries(run.manifest.figures).map(([name, rel]) => [
      name,
      JSON.parse(readFileSync(join(run.dir, rel), "utf8")) as Figure,
    ]),
  );
}
