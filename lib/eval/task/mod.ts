/**
 * Tasks as data: the task YAML format (lm-evaluation-harness style), its loader and validator
 * with `include:`, prompt rendering, few-shot sampling, and the task registry under `data/tasks/`.
 *
 * A task file names a dataset, its splits, Jinja prompt templates, an output type and metrics:
 *
 * ```yaml
 * task: synth_facts
 * tag: [synthetic, facts]               # --tasks synthetic runs every task with this tag
 * dataset_path: ../synthetic/facts      # relative to this file, or hf:owner/name
 * output_type: multiple_choice
 * training_split: train
 * test_split: test
 * doc_to_text: "Question: {{question}}\nAnswer:"
 * doc_to_choice: "{{[distractor1, distractor2, distractor3, correct_answer]}}"
 * doc_to_target: 3
 * metric_list:
 *   - metric: acc
 *   - metric: acc_norm
 * metadata:
 *   version: 1.0
 * ```
 *
 * Field names, defaults and prompt assembly follow lm-evaluation-harness (`ConfigurableTask`,
 * `ContextSampler`), so a prompt rendered here is byte for byte the prompt lm-eval builds from
 * the same YAML and row, and the harness's own task files load as they are: `!function` hooks,
 * `process_docs`, group files, `dataset_kwargs` with local builders, Hub ids read through the
 * Hugging Face cache. The full field list is in `data/tasks/README.md` and on
 * {@linkcode TaskConfig}. Every error names `file:line:col: field.path: what is wrong; what to do`.
 *
 * ## Files, in the order a task goes through them
 *
 * | file                  | owns                                                                         |
 * | --------------------- | ---------------------------------------------------------------------------- |
 * | `schema.ts`           | output types, defaults, known keys, metric names, {@linkcode TaskConfig}     |
 * | `source.ts`           | YAML with positions, `include:` merging, `!function` → {@linkcode FunctionRef} |
 * | `validate.ts`         | one validator per section; `validate_dataset.ts`, `validate_metrics.ts`, `validate_generation.ts`, `validate_filters.ts` |
 * | `parse.ts`            | one file → one {@linkcode TaskConfig}                                        |
 * | `group.ts`            | group files (`task:` lists, `aggregate_metric_list`); `class:` files         |
 * | `registry.ts`         | the cached index of the tasks folders: names, tags, groups, skipped files    |
 * | `data.ts`             | split names, where a split's rows are read from, `process_docs`, rendering   |
 * | `hooks.ts`            | running `!function` hooks through Python, with a content-hash cache          |
 * | `render.ts`           | one row → prompt, choices, gold, references; the full few-shot prompt       |
 * | `fewshot.ts`          | which rows are shown as examples                                             |
 * | `listing.ts`          | the `--list` text                                                            |
 * | `issues.ts`           | {@linkcode TaskIssue}, {@linkcode TaskFileError}                             |
 * | `_template.ts`        | Jinja as Python's Jinja2 in lm-eval's environment (`_jinja_*.ts`, `_py_*.ts`) |
 * | `_py_literal.ts`      | Python's `ast.literal_eval` for rendered lists                               |
 * | `_hook_process.ts`    | the Python hook process and its JSON-lines protocol                          |
 *
 * ## Where lm-eval compatibility work goes
 *
 * - Output types (lm-eval's four run here): `OUTPUT_TYPE_SPECS` and the metric tables in
 *   `schema.ts`, then the runner (`lib/eval/runner.ts`).
 * - A new hook key: `HOOK_KEYS` in `schema.ts`; a `doc_to_*` hook is applied in `render.ts`
 *   (`applyField`, the one place every template field goes through) from values `data.ts` has
 *   computed in one batch (`runDocHooks`); `process_docs` runs in `data.ts` between reading and
 *   rendering rows; `process_results` replaces the metrics in the runner (`openResultsHook`).
 * - What a hook's `import datasets` gets: python/tunebook/datasets_stand_in.py.
 * - A new Jinja filter, test or Python method: `_jinja_filters.ts`, `_py_methods.ts`.
 * - `filter_list` (validated in `validate_filters.ts`, run by `lib/eval/filters/` between
 *   generation and metrics) and `repeats`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildPrompt, findTask, renderDoc } from "./mod.ts";
 * const task = findTask("synth_facts");
 * const doc = renderDoc(task, {
 *   question: "What is the capital of Nisel?",
 *   correct_answer: "Volesa",
 *   distractor1: "Kinli",
 *   distractor2: "Melmel",
 *   distractor3: "Jutordan",
 *   support: "Volesa is the capital of Nisel.",
 * }, 0);
 * assert.equal(buildPrompt(task, doc, []), "Question: What is the capital of Nisel?\nAnswer:");
 * assert.deepEqual(doc.choices, ["Kinli", "Melmel", "Jutordan", "Volesa"]);
 * assert.equal(doc.gold, 3);
 * ```
 * @module
 */
export {
  AGGREGATIONS,
  CORPUS_METRICS,
  DATASET_BUILDERS,
  type DatasetBuilder,
  type DatasetReadOptions,
  FILTER_KEYS,
  type FunctionRef,
  type GenerationKwargs,
  HOOK_KEYS,
  type HookKey,
  isFunctionRef,
  KNOWN_METRICS,
  METRIC_OUTPUT_TYPES,
  type MetricSpec,
  OUTPUT_TYPE_ALIASES,
  OUTPUT_TYPE_SPECS,
  OUTPUT_TYPES,
  type OutputType,
  type OutputTypeSpec,
  TASK_DEFAULTS,
  type TaskConfig,
  type TaskDataset,
  type TaskSplits,
} from "./schema.ts";
export { formatIssue, TaskFileError, type TaskIssue } from "./issues.ts";
export { parseTaskFile, type ParseTaskOptions } from "./parse.ts";
export {
  findTask,
  type GroupSelection,
  listTasks,
  resolveTasks,
  resolveTaskSelection,
  type TaskRegistry,
  taskRegistry,
  type TaskRegistryOptions,
  type TaskSelection,
} from "./registry.ts";
export { type AggregateMetric, type GroupConfig, type GroupMember } from "./group.ts";
export { formatTaskIssues, formatTaskList } from "./listing.ts";
export {
  buildPrompt,
  type HookField,
  type HookResult,
  renderDoc,
  type RenderDocOptions,
  type RenderedDoc,
  RenderError,
} from "./render.ts";
export {
  type DocHookRequest,
  type DocHookResults,
  hookCacheDir,
  HookError,
  hookIdentity,
  hookMetrics,
  type HookOptions,
  openResultsHook,
  type ResultsHook,
  runDocHooks,
} from "./hooks.ts";
export { sampleFewshot } from "./fewshot.ts";
export {
  evalSplit,
  loadTaskDocs,
  type LoadTaskDocsOptions,
  loadTaskRows,
  splitNameOf,
  splitSource,
  type TaskDocs,
  type TaskRowError,
  type TaskRows,
  type TaskSplit,
} from "./data.ts";
