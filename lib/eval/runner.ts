/**
 * The evaluation runner behind `deno task eval`: tasks × backend → per-item samples and
 * per-task metrics with standard errors and 95% confidence intervals.
 *
 * Output (in `results/eval/<run>/`):
 * - `run.json`: the run's identity ({@linkcode RunIdentity}), written before the first item.
 * - `samples.jsonl`: one line per item, appended as each item finishes (prompt, choices and
 *   log-likelihoods or the generation, per-item metric values). An interrupted run resumes:
 *   items already in the file are not evaluated again — only when the folder's identity equals
 *   this run's (`run_folder.ts` decides; a mismatch is an error naming what differs).
 * - `results.json`: config, model identity, per-task metrics (value, stderr, 95% CI),
 *   accuracy by input-length bucket, skipped and truncated items, row errors, items evaluated
 *   and reused, timings and tokens/s. Written atomically.
 *
 * Each of lm-evaluation-harness's output types is scored as it scores it:
 * - `multiple_choice`: log-likelihood of `target_delimiter + choice` for each choice after the
 *   prompt; `acc` (arg-max is gold), `acc_norm` (arg-max of log-likelihood per character),
 *   `exact_match` (the gold choice is the greedy continuation) — each only when `metric_list`
 *   asks for it.
 * - `loglikelihood`: log-likelihood of `doc_to_target` after the prompt (nothing put between);
 *   `acc` (it is the greedy continuation) and `perplexity` over the split.
 * - `loglikelihood_rolling`: log-likelihood of the whole `doc_to_target` in rolling windows of
 *   the model's context (the prompt is not used); `word_perplexity`, `byte_perplexity`,
 *   `bits_per_byte` over the split.
 * - `generate_until`: greedy generation, then each `filter_list` pipeline (metrics reported as
 *   `<metric>,<pipeline>`), or the generation itself when there is none.
 *
 * A prompt longer than the model's window is cut from the left as lm-eval cuts it (the
 * continuation kept whole; for generation, room left for `max_gen_toks`), and counted per task
 * (`truncated`, and each such sample's `truncated` tokens); with `overflow: "skip"` such an item
 * is skipped instead ("too_long"), as is one that cannot be cut (a continuation longer than the
 * window, or a backend that cannot cut it).
 * - `run.lock` while the run writes the folder (`run_lock.ts`).
 *
 * A run goes through three steps: prepare every task (load and render its items and few-shot
 * pool: {@linkcode prepareTask}), open the run folder with the identity those give, then
 * evaluate the items the folder does not hold yet and aggregate each task.
 *
 * @example
 * ```ts ignore
 * import { createLlamaBackend } from "./backend.ts";
 * import { runEval } from "./runner.ts";
 * const backend = await createLlamaBackend();
 * const results = await runEval(backend, { tasks: ["synth_facts"], limit: 20 });
 * console.log(results.tasks.synth_facts.metrics.acc);
 * ```
 * @module
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContextOverflowError } from "../llm/engine.ts";
import type { Backend, BackendUsage } from "./backend.ts";
import { compileFilter, type FilterPipeline } from "./filters/mod.ts";
import {
  countBytes,
  countWords,
  getLoglikelihoodMetric,
  getMetric,
  type ItemMetric,
} from "./metrics/mod.ts";
import { defaultRunName, openRunFolder, RUN_FILES } from "./run_folder.ts";
import { buildRunIdentity, type RunIdentity } from "./run_identity.ts";
import type { Estimate } from "./stats.ts";
import {
  buildPrompt,
  evalSplit,
  hookMetrics,
  loadTaskDocs,
  type MetricSpec,
  openResultsHook,
  OUTPUT_TYPE_SPECS,
  type RenderedDoc,
  resolveTaskSelection,
  type ResultsHook,
  sampleFewshot,
  type TaskConfig,
  type TaskRowError,
} from "./task/mod.ts";
import { aggregateGroups, type GroupResult } from "./group_results.ts";
import { aggregateTask, argmax } from "./aggregate.ts";
import { parseJsonl } from "../data/jsonl.ts";
import { Progress } from "../util/progress.ts";
import { roundTo } from "../util/round.ts";
import { runPool } from "../util/run_pool.ts";

/** The default suite: one runnable synthetic task per family. */
export const DEFAULT_SUITE = ["synth_arithmetic", "synth_entailment", "synth_qa", "synth_facts"];

/** Options for {@linkcode runEval}. */
export interface EvalOptions {
  /** Task names, tags (each expanded to its tasks) or YAML paths. Default: {@linkcode DEFAULT_SUITE}. */
  tasks?: string[];
  /** Evaluate at most this many items per task (the first ones). Default: all. */
  limit?: number;
  /** Override every task's `num_fewshot`. Default: the task's own. */
  numFewshot?: number;
  /**
   * Run name: a folder under `results/eval` (never outside it). Default: the model file's name
   * plus `+<adapter>` per LoRA adapter; when that folder holds another run, the first of
   * `<name>-2`, `<name>-3`, … that is free or holds this same run (see `run_folder.ts`).
   */
  run?: string;
  /** Output folder, instead of `<resultsDir>/<run>`. Default: none. */
  outDir?: string;
  /** The folder run names live in. Default: `results/eval`. */
  resultsDir?: string;
  /**
   * Reuse the items already in `samples.jsonl` when the folder holds this same run (a named
   * folder holding another run is then an error); off: start the folder over. Default: true.
   */
  resume?: boolean;
  /** Folder with task YAML files. Default: `data/tasks`. */
  tasksDir?: string;
  /**
   * More folders of task YAML files (lm-eval's `--include_path`); their tasks win over those of
   * the same name in `tasksDir`. Default: none.
   */
  includePath?: string[];
  /** Seed of bootstrap resampling. Default: 1234. */
  seed?: number;
  /** Bootstrap resamples for metrics without a closed-form stderr. Default: 1000. */
  resamples?: number;
  /**
   * Number of input-length buckets (quantiles of prompt tokens; items of the same length share a
   * bucket, so there can be fewer). Default: 4.
   */
  lengthBuckets?: number;
  /**
   * A named folder holding another run: `"error"` refuses (naming what differs), `"replace"`
   * starts it over (notebooks re-running a step after its model changed). Default: `"error"`.
   */
  otherRun?: "error" | "replace";
  /**
   * Return the folder's complete results.json as it is when it holds this same run with the
   * same statistics settings (its throughput stands; nothing is evaluated). Default: false.
   */
  reuseComplete?: boolean;
  /**
   * A prompt longer than the model's window: `"truncate"` cuts it from the left as
   * lm-evaluation-harness does (the continuation kept), counting it per task; `"skip"` leaves
   * the item out, counted as skipped ("too_long"). Default: `"truncate"`.
   */
  overflow?: "truncate" | "skip";
  /** Show a progress line on stderr. Default: true. */
  progress?: boolean;
  /** Where notes go (another folder chosen, a stale lock taken over). Default: `console.error`. */
  onNote?: (line: string) => void;
}

/** One evaluated item, as written to samples.jsonl. */
export interface Sample {
  task: string;
  doc_id: string;
  prompt: string;
  prompt_tokens: number;
  references: string[];
  choices?: string[];
  gold?: number;
  logprobs?: number[];
  is_greedy?: boolean[];
  prediction: string;
  /**
   * Per-item metric values; with a `filter_list`, one per metric and pipeline, as
   * `<metric>,<pipeline>` (lm-eval's keys).
   */
  metrics: Record<string, number>;
  /** The prediction each `filter_list` pipeline kept, by pipeline name; absent without one. */
  filtered?: Record<string, string>;
  /** `loglikelihood` and `loglikelihood_rolling`: the scored text's log-likelihood (nats). */
  loglikelihood?: number;
  /** `loglikelihood_rolling`: words of the document (lm-eval's `count_words`). */
  words?: number;
  /** `loglikelihood_rolling`: UTF-8 bytes of the document. */
  bytes?: number;
  /** `loglikelihood_rolling`: tokens of the document, and the windows that scored them. */
  tokens?: number;
  windows?: number;
  /** Prompt tokens cut from the left to fit the window; absent when nothing was cut. */
  truncated?: number;
  /**
   * `process_results` values that are `(loglikelihood, count)` pairs (wikitext's perplexities),
   * by metric key; aggregated as the log-likelihood metric of that name.
   */
  pairs?: Record<string, [number, number]>;
  /** Why the item was not evaluated (e.g. "too_long"); absent when it was. */
  skipped?: string;
  skip_detail?: string;
}

/** A metric value with its uncertainty. */
export type MetricResult = Estimate;

/** Accuracy (or the task's first metric) for one input-length bucket. */
export interface LengthBucket {
  /** Prompt tokens, inclusive range; the buckets of a task never share a length. */
  minTokens: number;
  maxTokens: number;
  metric: string;
  estimate: MetricResult;
}

/** Results of one task. */
export interface TaskResult {
  version: number | string;
  outputType: string;
  split: string;
  /** Items scored (skipped items excluded). */
  n: number;
  skipped: Record<string, number>;
  /** Items whose prompt was cut from the left to fit the window (they are in `n`). */
  truncated: number;
  /** Rows that could not be read or rendered: not evaluated, not in `n`. */
  rowErrors: TaskRowError[];
  metrics: Record<string, MetricResult>;
  byLength: LengthBucket[];
  wallSeconds: number;
}

/** What `results.json` holds. */
export interface EvalResults {
  tunebook: string;
  run: string;
  created: string;
  complete: boolean;
  config: Record<string, unknown>;
  model: Record<string, unknown>;
  /** What identifies the run (also in run.json). */
  identity: RunIdentity;
  /** Items evaluated by this invocation, and reused from the folder's samples.jsonl. */
  items: { evaluated: number; reused: number };
  tasks: Record<string, TaskResult>;
  /** Scores of the groups named in `--tasks` that ask for one (`aggregate_metric_list`). */
  groups?: Record<string, GroupResult>;
  wallSeconds: number;
  tokensPerSecond: number;
  itemsPerSecond: number;
  /** Tokens (and cost) the backend reports for this invocation; absent if it reports none. */
  usage?: BackendUsage;
}

const VERSION = "0.1.0";
const DEFAULT_SEED = 1234;
const DEFAULT_RESAMPLES = 1000;
const DEFAULT_BUCKETS = 4;

/**
 * Evaluate a backend on tasks: writes run.json first, samples.jsonl as items finish, and
 * results.json after each task. Throws before evaluating anything when the run folder holds
 * another run, or another process writes it.
 */
export async function runEval(backend: Backend, options: EvalOptions = {}): Promise<EvalResults> {
  const {
    tasks: taskNames = DEFAULT_SUITE,
    limit,
    numFewshot,
    resume = true,
    tasksDir,
    includePath,
    seed = DEFAULT_SEED,
    resamples = DEFAULT_RESAMPLES,
    lengthBuckets = DEFAULT_BUCKETS,
    overflow = "truncate",
    progress = true,
  } = options;
  const selection = resolveTaskSelection(taskNames, {
    tasksDir,
    ...(includePath ? { includePath } : {}),
  });
  const tasks = selection.tasks;
  checkBackendScores(backend, tasks);
  await backend.prepare?.({
    scoring: tasks.some((t) => OUTPUT_TYPE_SPECS[t.outputType].backend !== "generate"),
  });
  const prepared: PreparedTask[] = [];
  for (const task of tasks) prepared.push(await prepareTask(task, { limit, numFewshot }));
  const identity = buildRunIdentity(backend, prepared, { limit, numFewshot, overflow });
  const created = new Date().toISOString();
  const folder = openRunFolder(identity, {
    run: options.run,
    outDir: options.outDir,
    defaultName: defaultRunName(backend),
    root: options.resultsDir,
    resume,
    otherRun: options.otherRun,
    info: { created },
    onNote: options.onNote,
  });
  try {
    const samplesPath = join(folder.dir, RUN_FILES.samples);
    const resultsPath = join(folder.dir, RUN_FILES.results);
    const config = {
      tasks: tasks.map((t) => t.name),
      limit: limit ?? null,
      numFewshot: numFewshot ?? null,
      seed,
      overflow,
    };
    if (folder.resume && options.reuseComplete) {
      const previous = completeResults(resultsPath, config);
      if (previous) return previous;
    }
    const done = folder.resume ? readSamples(samplesPath) : new Map<string, Sample>();
    const started = performance.now();
    const results: EvalResults = {
      tunebook: VERSION,
      run: folder.run,
      created,
      complete: false,
      config,
      model: backend.identity,
      identity,
      items: { evaluated: 0, reused: 0 },
      tasks: {},
      wallSeconds: 0,
      tokensPerSecond: 0,
      itemsPerSecond: 0,
    };
    for (const p of prepared) {
      const { task, docs, pool } = p;
      const t0 = performance.now();
      const todo = docs.filter((d) => !done.has(key(task.name, d.id)));
      results.items.reused += docs.length - todo.length;
      const bar = progress
        ? new Progress(task.name, docs.length, docs.length - todo.length)
        : undefined;
      const results_ = task.processResults && todo.length ? await openResultsHook(task) : undefined;
      try {
        await runPool(todo, backend.concurrency, async (doc) => {
          const fewshot = p.numFewshot > 0 ? sampleFewshot(task, pool, p.numFewshot, doc.id) : [];
          const sample = await evaluateDoc(backend, task, doc, fewshot, {
            overflow,
            ...(results_ ? { results: results_ } : {}),
          });
          appendFileSync(samplesPath, JSON.stringify(sample) + "\n");
          done.set(key(task.name, doc.id), sample);
          results.items.evaluated++;
          bar?.tick();
        });
      } finally {
        await results_?.close();
      }
      bar?.finish();
      const samples = docs.map((d) => done.get(key(task.name, d.id))!).filter(Boolean);
      results.tasks[task.name] = aggregateTask(task, samples, {
        split: p.split,
        rowErrors: p.errors.map(({ raw: _raw, ...e }) => e),
        seed,
        resamples,
        lengthBuckets,
        wallSeconds: (performance.now() - t0) / 1000,
      });
      if (backend.usage) results.usage = backend.usage();
      writeAtomic(resultsPath, results);
    }
    const groups = aggregateGroups(selection.groups, results.tasks);
    if (Object.keys(groups).length) results.groups = groups;
    const wall = (performance.now() - started) / 1000;
    results.complete = true;
    results.wallSeconds = roundTo(wall, 2);
    results.tokensPerSecond = roundTo(backend.tokensProcessed() / wall, 1);
    results.itemsPerSecond = roundTo(results.items.evaluated / wall, 2);
    if (backend.usage) results.usage = backend.usage();
    writeAtomic(resultsPath, results);
    return results;
  } finally {
    folder.lock.release();
  }
}

/** A task with the items it evaluates, loaded and rendered before the run starts. */
export interface PreparedTask {
  /** The task. */
  task: TaskConfig;
  /** The dataset split evaluated (as the dataset names it). */
  split: string;
  /** Its items, after `limit`. */
  docs: RenderedDoc[];
  /** Rows that could not be read or rendered. */
  errors: TaskRowError[];
  /** Few-shot examples per item. */
  numFewshot: number;
  /** The few-shot pool (empty at zero shots). */
  pool: RenderedDoc[];
}

/** Options for {@linkcode prepareTask}. */
export interface PrepareTaskOptions {
  /** Items per task (the first ones). Default: all. */
  limit?: number;
  /** Few-shot override. Default: the task's own. */
  numFewshot?: number;
}

/**
 * Load and render a task's evaluation split and few-shot pool.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareTask } from "./runner.ts";
 * import { findTask } from "./task/mod.ts";
 * const p = await prepareTask(findTask("synth_qa"), { limit: 3, numFewshot: 1 });
 * assert.equal(p.docs.length, 3);
 * assert.ok(p.pool.length > 0);
 * ```
 */
export async function prepareTask(
  task: TaskConfig,
  options: PrepareTaskOptions = {},
): Promise<PreparedTask> {
  const split = evalSplit(task);
  const { docs, errors } = await loadTaskDocs(task, split, { limit: options.limit });
  const numFewshot = options.numFewshot ?? task.numFewshot;
  const pool = numFewshot > 0 ? (await loadTaskDocs(task, "fewshot")).docs : [];
  return { task, split: task.splits[split] ?? split, docs, errors, numFewshot, pool };
}

/**
 * Refuse, before any item runs (so no paid request is wasted), tasks whose output type needs
 * log-likelihoods the backend cannot give.
 */
function checkBackendScores(backend: Backend, tasks: TaskConfig[]): void {
  const needs = (t: TaskConfig) => OUTPUT_TYPE_SPECS[t.outputType].backend;
  const unscorable = tasks.filter((t) =>
    (needs(t) === "score" && !backend.scoreChoices) ||
    (needs(t) === "rolling" && !backend.scoreRolling)
  );
  if (!unscorable.length) return;
  const types = [...new Set(unscorable.map((t) => t.outputType))].join(", ");
  throw new Error(
    `task(s) ${unscorable.map((t) => `${t.name} (${t.outputType})`).join(", ")}: ${types} ` +
      `scoring needs log-probabilities of given text, which backend ` +
      `${String(backend.identity.backend)} cannot give. Leave those tasks out, use a ` +
      `generate_until variant, or evaluate them with a GGUF model (--model).`,
  );
}

/** Options for {@linkcode evaluateDoc}. */
export interface EvaluateDocOptions {
  /** A prompt longer than the window: cut from the left, or the item skipped. Default: "truncate". */
  overflow?: "truncate" | "skip";
  /**
   * The task's running `process_results` hook ({@linkcode openResultsHook}), which then scores
   * the item instead of the registered metrics. Default: none; required for a task with one.
   */
  results?: ResultsHook;
}

/**
 * Evaluate one item. Items that do not fit the context (and cannot be cut, or with
 * `overflow: "skip"`) are returned as skipped, not thrown; so are items the task's
 * `process_results` hook raises on (`skipped: "process_results_error"`).
 */
export async function evaluateDoc(
  backend: Backend,
  task: TaskConfig,
  doc: RenderedDoc,
  fewshot: RenderedDoc[],
  options: EvaluateDocOptions = {},
): Promise<Sample> {
  const overflow = (options.overflow ?? "truncate") === "truncate" ? "truncate" : "error";
  const rolling = task.outputType === "loglikelihood_rolling";
  // lm-eval scores a rolling document alone: no description, few-shot examples or doc_to_text.
  const prompt = rolling ? "" : buildPrompt(task, doc, fewshot);
  const base: Sample = {
    task: task.name,
    doc_id: doc.id,
    prompt,
    prompt_tokens: backend.countTokens(rolling ? doc.target : prompt),
    references: doc.references,
    prediction: "",
    metrics: {},
  };
  const cut = (tokens: number) => (tokens > 0 ? { truncated: tokens } : {});
  try {
    switch (task.outputType) {
      case "multiple_choice": {
        const choices = doc.choices ?? [];
        const scores = await backend.scoreChoices!(
          prompt,
          choices.map((c) => task.targetDelimiter + c),
          { overflow },
        );
        const pred = argmax(scores.logprobs);
        // lm-eval's acc_norm: log-likelihood per character (code point) of the choice.
        const predNorm = argmax(
          scores.logprobs.map((l, i) => l / Math.max(1, [...choices[i]].length)),
        );
        const gold = doc.gold ?? -1;
        const known: Record<string, number> = {
          acc: pred === gold ? 1 : 0,
          acc_norm: predNorm === gold ? 1 : 0,
          exact_match: scores.isGreedy[gold] ? 1 : 0,
        };
        const sample: Sample = {
          ...base,
          choices,
          gold: doc.gold,
          logprobs: scores.logprobs.map((l) => roundTo(l, 6)),
          is_greedy: scores.isGreedy,
          prediction: choices[pred],
          metrics: itemMetrics(task, choices[pred], doc.references, known),
          ...cut(scores.truncatedTokens),
        };
        // lm-eval passes process_results one (loglikelihood, is_greedy) pair per choice
        const pairs = scores.logprobs.map((l, i) => [l, scores.isGreedy[i]]);
        return await withResultsHook(task, doc, sample, { "": pairs }, options);
      }
      case "loglikelihood": {
        // lm-eval: the continuation is doc_to_target as rendered, with no delimiter added.
        const scores = await backend.scoreChoices!(prompt, [doc.target], { overflow });
        const ll = scores.logprobs[0];
        const sample: Sample = {
          ...base,
          references: [doc.target],
          logprobs: [roundTo(ll, 6)],
          is_greedy: scores.isGreedy,
          loglikelihood: ll,
          metrics: itemMetrics(task, "", [doc.target], { acc: scores.isGreedy[0] ? 1 : 0 }),
          ...cut(scores.truncatedTokens),
        };
        return await withResultsHook(
          task,
          doc,
          sample,
          { "": [[ll, scores.isGreedy[0]]] },
          options,
        );
      }
      case "loglikelihood_rolling": {
        const text = doc.target;
        const r = await backend.scoreRolling!(text);
        const sample: Sample = {
          ...base,
          references: [text],
          loglikelihood: r.logprob,
          words: countWords(text),
          bytes: countBytes(text),
          tokens: r.tokens,
          windows: r.windows,
        };
        return await withResultsHook(task, doc, sample, { "": [r.logprob] }, options);
      }
      case "generate_until": {
        const gen = await backend.generate(prompt, {
          until: task.generationKwargs.until,
          maxTokens: task.generationKwargs.maxGenToks,
          overflow,
        });
        const truncated = cut(gen.truncatedTokens);
        if (!task.filters.length) {
          const sample: Sample = {
            ...base,
            prediction: gen.text,
            metrics: itemMetrics(task, gen.text, doc.references, {}),
            ...truncated,
          };
          return await withResultsHook(task, doc, sample, { "": [gen.text] }, options);
        }
        // Decoding is greedy, so every one of the `repeats` responses is this same text.
        const responses = Array.from({ length: task.repeats }, () => gen.text);
        const filtered: Record<string, string> = {};
        const metrics: Record<string, number> = {};
        for (const pipeline of filterPipelines(task)) {
          const kept = pipeline.apply(responses);
          filtered[pipeline.name] = kept;
          const values = itemMetrics(task, kept, doc.references, {});
          for (const [k, v] of Object.entries(values)) metrics[`${k},${pipeline.name}`] = v;
        }
        const sample: Sample = { ...base, prediction: gen.text, filtered, metrics, ...truncated };
        // with filters, lm-eval calls process_results once per pipeline with what it kept
        const perFilter = Object.fromEntries(
          Object.entries(filtered).map(([name, kept]) => [name, [kept]]),
        );
        return await withResultsHook(task, doc, sample, perFilter, options);
      }
    }
  } catch (e) {
    if (e instanceof ContextOverflowError) {
      return { ...base, skipped: "too_long", skip_detail: e.message };
    }
    throw e;
  }
}

/**
 * A sample scored by the task's `process_results` hook instead, when it has one. `results` is
 * what lm-eval passes the hook, by filter pipeline (`""`: no filters); a hook value that is a
 * `(loglikelihood, count)` pair goes to `pairs`, for the log-likelihood aggregations.
 */
async function withResultsHook(
  task: TaskConfig,
  doc: RenderedDoc,
  sample: Sample,
  results: Record<string, unknown[]>,
  options: EvaluateDocOptions,
): Promise<Sample> {
  if (!task.processResults) return sample;
  if (!options.results) {
    throw new Error(
      `task ${task.name} scores items with process_results (${task.processResults.spec}); pass ` +
        `evaluateDoc its running hook (options.results: openResultsHook(task)), as runEval does`,
    );
  }
  const metrics: Record<string, number> = {};
  const pairs: Record<string, [number, number]> = {};
  for (const [filter, result] of Object.entries(results)) {
    const r = await options.results.score(doc.row ?? {}, result);
    if (r.error) {
      return {
        ...sample,
        metrics: {},
        skipped: "process_results_error",
        skip_detail: `${r.error.type}: ${r.error.message}${
          r.error.where ? ` (at ${r.error.where})` : ""
        }`,
      };
    }
    const got = hookMetrics(task, r.value);
    const suffix = filter ? `,${filter}` : "";
    for (const [k, v] of Object.entries(got.values)) metrics[k + suffix] = v;
    for (const [k, v] of Object.entries(got.pairs)) pairs[k + suffix] = v;
  }
  return { ...sample, metrics, ...(Object.keys(pairs).length ? { pairs } : {}) };
}

/** Compiled `filter_list` pipelines, per task (compiled once; tasks are immutable). */
const PIPELINES = new WeakMap<TaskConfig, FilterPipeline[]>();

function filterPipelines(task: TaskConfig): FilterPipeline[] {
  let out = PIPELINES.get(task);
  if (!out) {
    out = task.filters.map((f) => compileFilter(f, task.repeats));
    PIPELINES.set(task, out);
  }
  return out;
}

/** Item metrics with a metric_list entry's options applied, per task and entry. */
const CONFIGURED = new WeakMap<MetricSpec, ItemMetric | null>();

function itemMetricOf(spec: MetricSpec): ItemMetric | null {
  if (CONFIGURED.has(spec)) return CONFIGURED.get(spec)!;
  let out: ItemMetric | null = null;
  if (!getLoglikelihoodMetric(spec.metric)) {
    const metric = getMetric(spec.metric);
    if (metric.kind === "item") {
      out = Object.keys(spec.options).length && metric.withOptions
        ? metric.withOptions(spec.options)
        : metric;
    }
  }
  CONFIGURED.set(spec, out);
  return out;
}

/**
 * The per-item values of the metrics the task lists (only those: lm-eval reports a metric only
 * when `metric_list` asks for it): `known` ones computed by the caller from log-likelihoods,
 * item metrics of the registry from the prediction; corpus and log-likelihood metrics are
 * computed over the split by {@linkcode aggregateTask}.
 */
function itemMetrics(
  task: TaskConfig,
  prediction: string,
  references: string[],
  known: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (task.processResults) return out; // the hook scores the item (withResultsHook)
  for (const spec of task.metrics) {
    if (spec.metric in known) {
      out[spec.metric] = known[spec.metric];
      continue;
    }
    if (spec.metric === "acc_norm") continue; // multiple choice only; known there
    // multiple choice: lm-eval's binary F1 over the split (aggregateTask), not SQuAD's token F1
    if (spec.metric === "f1" && task.outputType === "multiple_choice") continue;
    const metric = itemMetricOf(spec);
    if (metric) out[spec.metric] = metric.score(prediction, references);
  }
  return out;
}

/** A complete results.json of the folder's run computed with `config`, if there is one. */
function completeResults(path: string, config: Record<string, unknown>): EvalResults | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const r = JSON.parse(readFileSync(path, "utf8")) as EvalResults;
    return r.complete && JSON.stringify(r.config) === JSON.stringify(config) ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The samples already in a run's samples.jsonl, by task and item. A last line cut short by an
 * interruption (invalid JSON, or complete but without its newline) is dropped or completed, and
 * the file rewritten atomically, so the next append starts on a line of its own.
 */
function readSamples(samplesPath: string): Map<string, Sample> {
  const done = new Map<string, Sample>();
  if (!existsSync(samplesPath)) return done;
  const text = readFileSync(samplesPath, "utf8");
  const { rows, errors } = parseJsonl<Sample>(text);
  for (const s of rows) done.set(key(s.task, s.doc_id), s);
  if (errors.length || (text.length > 0 && !text.endsWith("\n"))) {
    const tmp = `${samplesPath}.tmp`;
    writeFileSync(tmp, rows.map((r) => JSON.stringify(r) + "\n").join(""));
    renameSync(tmp, samplesPath);
  }
  return done;
}

function writeAtomic(path: string, data: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + "\n");
  renameSync(tmp, path);
}

function key(task: string, id: string): string {
  return `${task}\u0000${id}`;
}
