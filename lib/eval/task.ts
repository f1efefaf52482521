/**
 * Tasks as data: the task YAML format (lm-evaluation-harness style), its loader and validator
 * with `include:`, prompt rendering, few-shot sampling, and the task registry under `data/tasks/`.
 *
 * A task file names a dataset, its splits, Jinja prompt templates, an output type and metrics:
 *
 * ```yaml
 * task: synth_facts
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
 * the same YAML and row. The full field list is in `data/tasks/README.md` and on
 * {@linkcode TaskConfig}. Every error names `file:line:col: field.path: what is wrong; what to do`.
 *
 * @example
 * ```ts
 * import { buildPrompt, findTask, renderDoc } from "./task.ts";
 * const task = findTask("synth_facts");
 * const doc = renderDoc(task, {
 *   question: "What is the capital of Nisel?",
 *   correct_answer: "Volesa",
 *   distractor1: "Kinli",
 *   distractor2: "Melmel",
 *   distractor3: "Jutordan",
 *   support: "Volesa is the capital of Nisel.",
 * }, 0);
 * console.log(buildPrompt(task, doc, []), doc.choices, doc.gold);
 * ```
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { cwd } from "node:process";
import { fileURLToPath } from "node:url";
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
} from "yaml";
import { loadRows, type RowError } from "../data/load.ts";
import { listMetrics } from "./metrics/mod.ts";
import { Rng } from "../util/rng.ts";
import {
  type CompiledTemplate,
  compileTemplate,
  MissingFieldError,
  renderTemplate,
} from "./_template.ts";

// ---------------------------------------------------------------------------------------------
// Schema: names, defaults, metrics
// ---------------------------------------------------------------------------------------------

/** How a task asks the model: score each choice's log-likelihood, or generate text. */
export type OutputType = "multiple_choice" | "generate_until";

/** The output types, as written in `output_type`. */
export const OUTPUT_TYPES: readonly OutputType[] = ["multiple_choice", "generate_until"];

/** Other spellings accepted for `output_type` (lm-eval's old `greedy_until`, the architecture's `generate`). */
export const OUTPUT_TYPE_ALIASES: Readonly<Record<string, OutputType>> = {
  generate: "generate_until",
  greedy_until: "generate_until",
};

/**
 * Defaults of the task file's optional fields (lm-evaluation-harness's, except where noted).
 * `generation_kwargs.until` defaults to `[fewshot_delimiter]`, as in lm-eval.
 */
export const TASK_DEFAULTS = {
  /** `output_type` when absent. */
  outputType: "generate_until" as OutputType,
  /** `num_fewshot`. */
  numFewshot: 0,
  /** `fewshot_seed` (lm-eval's default seed). */
  fewshotSeed: 1234,
  /** `target_delimiter`: between a prompt and its answer (few-shot examples, scored choices). */
  targetDelimiter: " ",
  /** `fewshot_delimiter`: after each few-shot example. */
  fewshotDelimiter: "\n\n",
  /** `description`: prefix before the few-shot examples. */
  description: "",
  /** `generation_kwargs.max_gen_toks` (lm-eval's default for Hugging Face models). */
  maxGenToks: 256,
  /** `generation_kwargs.temperature`: greedy decoding. */
  temperature: 0,
  /** `generation_kwargs.do_sample`. */
  doSample: false,
  /** `metadata.version`. */
  version: 0 as number | string,
  /** `metric_list[].aggregation` for per-item metrics. */
  aggregation: "mean" as const,
  /** `metric_list[].higher_is_better`. */
  higherIsBetter: true,
  /** `metric_list` when absent, by output type (lm-eval's defaults). */
  metrics: {
    multiple_choice: ["acc", "acc_norm"],
    generate_until: ["exact_match"],
  } as Readonly<Record<OutputType, readonly string[]>>,
} as const;

/**
 * Metric names a task may list: the metric registry's ({@linkcode listMetrics}), plus `acc_norm`,
 * which the runner computes from multiple-choice log-likelihoods. A task naming any other metric
 * is rejected with this list in the message.
 */
export const KNOWN_METRICS: readonly string[] = listMetrics().flatMap((m) =>
  m.name === "acc" ? ["acc", "acc_norm"] : [m.name]
);

/** Metrics computed over a whole split rather than averaged over items. */
export const CORPUS_METRICS: readonly string[] = listMetrics()
  .filter((m) => m.kind === "corpus").map((m) => m.name);

/**
 * Which output types each known metric applies to. Multiple-choice tasks are scored from
 * log-likelihoods (the predicted label is the arg-max choice); generation tasks compare the
 * generated text with the references. A metric missing here applies to both.
 */
export const METRIC_OUTPUT_TYPES: Readonly<Record<string, readonly OutputType[]>> = {
  exact_match: ["generate_until"],
  em: ["generate_until"],
  f1: ["generate_until"],
  rouge1: ["generate_until"],
  rouge2: ["generate_until"],
  rougeL: ["generate_until"],
  rougeLsum: ["generate_until"],
  bleu4: ["generate_until"],
  acc: ["multiple_choice", "generate_until"],
  acc_norm: ["multiple_choice"],
  per_class_accuracy: ["multiple_choice", "generate_until"],
  macro_f1: ["multiple_choice", "generate_until"],
};

/** Aggregations a per-item metric may name (corpus metrics aggregate themselves). */
export const AGGREGATIONS: readonly string[] = ["mean", "median"];

/** Top-level keys of a task file. */
const TOP_LEVEL_KEYS = [
  "task",
  "include",
  "tag",
  "group",
  "reference",
  "dataset_path",
  "dataset_name",
  "training_split",
  "validation_split",
  "test_split",
  "fewshot_split",
  "num_fewshot",
  "fewshot_seed",
  "output_type",
  "doc_to_text",
  "doc_to_target",
  "doc_to_choice",
  "target_delimiter",
  "fewshot_delimiter",
  "description",
  "generation_kwargs",
  "metric_list",
  "metadata",
  "should_decontaminate",
  "doc_to_decontamination_query",
] as const;

/** lm-eval keys that tunebook knows but does not support, and what to do instead. */
const UNSUPPORTED_KEYS: Readonly<Record<string, string>> = {
  process_docs: "it runs Python code; preprocess the data into the columns the templates read",
  process_results: "it runs Python code; list registered metrics in metric_list instead",
  filter_list:
    "answer-extraction filters are not supported; metrics compare the trimmed generation",
  dataset_kwargs: "it passes options to Hugging Face `datasets`; point dataset_path at the files",
  fewshot_config: "use fewshot_split, num_fewshot and fewshot_seed",
  repeats: "each document is generated once",
  use_prompt: "promptsource prompts are not supported; write doc_to_text as a Jinja template",
  doc_to_image: "multimodal tasks are not supported",
  doc_to_audio: "multimodal tasks are not supported",
  custom_dataset: "it runs Python code; point dataset_path at the files",
  gen_prefix: "not supported; put the prefix at the end of doc_to_text",
  task_alias: "not supported; rename the task",
  group_alias: "not supported",
};

/** Keys of `generation_kwargs`. */
const GENERATION_KEYS = ["until", "max_gen_toks", "temperature", "do_sample"] as const;

/** lm-eval generation keys that tunebook does not support, and why. */
const UNSUPPORTED_GENERATION_KEYS: Readonly<Record<string, string>> = {
  num_beams: "beam search is not supported (decoding is greedy)",
  max_length: "use max_gen_toks (the number of generated tokens)",
  max_new_tokens: "use max_gen_toks",
  top_p: "sampling parameters are not supported (decoding is greedy)",
  top_k: "sampling parameters are not supported (decoding is greedy)",
};

/** Keys of one `metric_list` entry. */
const METRIC_KEYS = ["metric", "aggregation", "higher_is_better"] as const;

/** Where the registry looks for task files, relative to the repository root. */
const DEFAULT_TASKS_DIR = "data/tasks";

/** The repository root (two folders above this file). */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A suggestion is offered when a name is at most this many edits away … */
const SUGGESTION_MIN_DISTANCE = 2;
/** … or within this fraction of its length. */
const SUGGESTION_MAX_FRACTION = 0.34;

/** A template field without braces that names a column is read as that column (lm-eval's rule). */
const TEMPLATE_SYNTAX = /[{}]/;

/** Attempts per requested example before few-shot sampling falls back to a full shuffle. */
const SAMPLING_ATTEMPTS_PER_SHOT = 50;

/** Pools at least this many times larger than the request use rejection sampling. */
const REJECTION_SAMPLING_MIN_RATIO = 2;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** One metric of a task and how it is aggregated. */
export interface MetricSpec {
  /** Registered metric name (one of {@linkcode KNOWN_METRICS}). */
  metric: string;
  /** `mean` or `median` over items; `corpus` for metrics computed over the whole split. Default: `mean`. */
  aggregation: "mean" | "median" | "corpus";
  /** Default: true. */
  higherIsBetter: boolean;
}

/** Settings for `generate_until` tasks. */
export interface GenerationKwargs {
  /** Stop strings; the generation is cut before the first one. Default: `[fewshot_delimiter]`. */
  until: string[];
  /** Most tokens to generate. Default: 256. */
  maxGenToks: number;
  /** Sampling temperature. Default: 0 (greedy). */
  temperature: number;
  /** Whether to sample. Default: false. */
  doSample: boolean;
}

/** Where a task's rows come from. */
export interface TaskDataset {
  /** `dataset_path` as written in the task file. */
  path: string;
  /** What to pass to `loadRows`: an absolute local path, or `hf:owner/name`. */
  source: string;
  /** `local` for files on disk, `hub` for a Hugging Face dataset. */
  kind: "local" | "hub";
  /** Folder a relative local `dataset_path` is resolved against: that of the file that sets it. */
  baseDir: string;
  /** `dataset_name`: the Hugging Face config. */
  config?: string;
}

/** The split names a task uses (as the dataset names them). */
export interface TaskSplits {
  /** `training_split`. */
  train?: string;
  /** `validation_split`. */
  validation?: string;
  /** `test_split`. */
  test?: string;
  /** `fewshot_split`; when unset few-shot examples come from train, else validation, else test. */
  fewshot?: string;
}

/** A validated task, with `include:` chains resolved and defaults filled in. */
export interface TaskConfig {
  /** `task`: the task's name. */
  name: string;
  /** Absolute path of the task file. */
  file: string;
  /** Absolute paths of the files it includes, base first (empty when it includes none). */
  includes: string[];
  /** `dataset_path` + `dataset_name`. */
  dataset: TaskDataset;
  /** `training_split`, `validation_split`, `test_split`, `fewshot_split`. */
  splits: TaskSplits;
  /** `num_fewshot`. Default: 0. */
  numFewshot: number;
  /** `fewshot_seed`. Default: 1234. */
  fewshotSeed: number;
  /** `output_type`. Default: `generate_until`. */
  outputType: OutputType;
  /** `doc_to_text`: Jinja template (or a column name) giving the prompt. */
  docToText: string;
  /**
   * `doc_to_target`: a template or column giving the answer; for multiple choice it may also be
   * the gold index as an integer, or a template rendering to one, or the text of the right choice.
   */
  docToTarget: string | number;
  /** `doc_to_choice`: a template rendering to a list, a column holding one, or a list of templates. */
  docToChoice?: string | string[];
  /** `target_delimiter`. Default: `" "`. */
  targetDelimiter: string;
  /** `fewshot_delimiter`. Default: `"\n\n"`. */
  fewshotDelimiter: string;
  /** `description`: a template rendered per row and put before everything else. Default: `""`. */
  description: string;
  /** `generation_kwargs`. */
  generationKwargs: GenerationKwargs;
  /** `metric_list`. Default: acc + acc_norm (multiple choice) or exact_match (generation). */
  metrics: MetricSpec[];
  /** `metadata.version`. Default: 0. */
  version: number | string;
  /** `tag` and `group` names. */
  tags: string[];
  /** `reference`: the source benchmark or paper. */
  reference?: string;
  /** `should_decontaminate`. Default: false. */
  shouldDecontaminate: boolean;
  /** `doc_to_decontamination_query`: template giving the text to check for contamination. */
  docToDecontaminationQuery?: string;
  /** The merged YAML (includes applied), for recording alongside results. */
  yaml: Record<string, unknown>;
}

/** One problem in a task file, with its position. */
export interface TaskIssue {
  /** File the problem is in (as shown in messages). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** Dotted field path, e.g. `metric_list.0.metric`. */
  field: string;
  /** What is wrong and what to do. */
  message: string;
}

/** A task file that could not be loaded; the message lists every problem, one per line. */
export class TaskFileError extends Error {
  /** The problems, in file order. */
  issues: TaskIssue[];
  /** Create the error from its issues. */
  constructor(issues: TaskIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "TaskFileError";
    this.issues = issues;
  }
}

/** One row rendered by a task's templates. */
export interface RenderedDoc {
  /** The row's `id` column, or `<split>:<row>` (or `row:<n>`) when it has none. */
  id: string;
  /** The prompt for this row alone (`doc_to_text`). */
  text: string;
  /** The answer shown after the prompt in few-shot examples: the gold choice, or the first reference. */
  target: string;
  /** Every acceptable answer (generation tasks may have several; multiple choice has the gold choice). */
  references: string[];
  /** The answer options of a multiple-choice row, without `target_delimiter` (the runner scores `target_delimiter + choice`). */
  choices?: string[];
  /** Index of the right choice in `choices`. */
  gold?: number;
  /** The task's `description`, rendered for this row (absent when the task has none). */
  description?: string;
}

/** A row that a template could not render. */
export class RenderError extends Error {
  /** 1-based row number within the split. */
  row: number;
  /** The field (template) that failed, e.g. `doc_to_text`. */
  field: string;
  /** Create the error. */
  constructor(row: number, field: string, message: string) {
    super(message);
    this.name = "RenderError";
    this.row = row;
    this.field = field;
  }
}

/** Options for {@linkcode parseTaskFile}. */
export interface ParseTaskOptions {
  /** Metric names to accept. Default: {@linkcode KNOWN_METRICS}. */
  knownMetrics?: readonly string[];
}

/** Options for {@linkcode findTask} and {@linkcode listTasks}. */
export interface TaskRegistryOptions extends ParseTaskOptions {
  /** Folder holding task files (searched recursively). Default: `data/tasks` in the repository root. */
  tasksDir?: string;
}

/** The splits {@linkcode loadTaskDocs} can load: the task's own split names are looked up in its config. */
export type TaskSplit = "test" | "validation" | "train" | "fewshot";

/** Options for {@linkcode loadTaskDocs}. */
export interface LoadTaskDocsOptions {
  /** Render at most this many rows (the first ones). Default: all. */
  limit?: number;
  /** Folder a relative local `dataset_path` is resolved against. Default: {@linkcode TaskDataset.baseDir}. */
  baseDir?: string;
}

/** What {@linkcode loadTaskDocs} returns. */
export interface TaskDocs {
  /** Rows rendered by the task's templates, in file order. */
  docs: RenderedDoc[];
  /** Rows that could not be read or rendered, with their row numbers. */
  errors: RowError[];
}

// ---------------------------------------------------------------------------------------------
// Loading task files
// ---------------------------------------------------------------------------------------------

/**
 * Read, validate and resolve one task file, following its `include:` chain (paths relative to the
 * including file; the including file's keys win; cycles are reported). Throws a
 * {@linkcode TaskFileError} listing every problem as `file:line:col: field: what; what to do`.
 *
 * @example
 * ```ts
 * import { parseTaskFile } from "./task.ts";
 * const task = parseTaskFile("data/tasks/synth_qa_rouge.yaml");
 * console.log(task.name, task.includes.length, task.metrics.map((m) => m.metric));
 * ```
 */
export function parseTaskFile(path: string, options: ParseTaskOptions = {}): TaskConfig {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new TaskFileError([
      issueAt(
        file,
        1,
        1,
        "",
        "task file not found; check the path (it is resolved against the working folder)",
      ),
    ]);
  }
  const merged = mergeIncludes(file, []);
  return validateTask(merged, options.knownMetrics ?? KNOWN_METRICS);
}

/**
 * Every task under the tasks folder, sorted by name. Files and folders whose names start with `_`
 * are bases for `include:` and are not listed. Throws on the first invalid file or on two files
 * defining the same task name.
 *
 * @example
 * ```ts
 * import { listTasks } from "./task.ts";
 * console.log(listTasks().map((t) => `${t.name} (${t.outputType})`));
 * ```
 */
export function listTasks(options: TaskRegistryOptions = {}): TaskConfig[] {
  const dir = tasksDirOf(options);
  if (!existsSync(dir)) {
    throw new Error(`tasks folder ${displayPath(dir)} does not exist; create it or pass tasksDir`);
  }
  const tasks = taskFiles(dir).map((file) => parseTaskFile(file, options));
  const byName = new Map<string, TaskConfig>();
  for (const task of tasks) {
    const other = byName.get(task.name);
    if (other) {
      throw new Error(
        `task name "${task.name}" is defined twice: ${displayPath(other.file)} and ` +
          `${displayPath(task.file)}; rename one of them`,
      );
    }
    byName.set(task.name, task);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A task by name (looked up in the tasks folder) or by path to its YAML file. An unknown name
 * throws an error listing the available tasks and the closest match.
 *
 * @example
 * ```ts
 * import { findTask } from "./task.ts";
 * const task = findTask("synth_arithmetic");
 * console.log(task.file, task.generationKwargs.until);
 * ```
 */
export function findTask(nameOrPath: string, options: TaskRegistryOptions = {}): TaskConfig {
  const looksLikePath = /\.ya?ml$/i.test(nameOrPath) || nameOrPath.includes("/") ||
    nameOrPath.includes(sep);
  if (looksLikePath) {
    const candidates = [resolve(nameOrPath), resolve(tasksDirOf(options), nameOrPath)];
    const found = candidates.find((p) => existsSync(p) && statSync(p).isFile());
    if (!found) {
      throw new Error(
        `task file ${nameOrPath} not found (looked in ${
          candidates.map(displayPath).join(" and ")
        }); ` +
          `check the path, or pass a task name`,
      );
    }
    return parseTaskFile(found, options);
  }
  const tasks = listTasks(options);
  const task = tasks.find((t) => t.name === nameOrPath);
  if (task) return task;
  const names = tasks.map((t) => t.name);
  const hint = closest(nameOrPath, names);
  throw new Error(
    `unknown task "${nameOrPath}"${hint ? `; did you mean "${hint}"?` : ""} ` +
      `Available tasks (${displayPath(tasksDirOf(options))}): ${names.join(", ")}. ` +
      `Pass one of these names or a path to a task YAML file.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/**
 * Render one row with the task's templates. `index` is the row's 0-based position in its split;
 * errors name it 1-based. A template reading a column the row lacks throws a
 * {@linkcode RenderError} naming the row, the column and the columns present.
 *
 * For multiple choice, `gold` comes from `doc_to_target`: an integer index, a template rendering
 * to one, or the text of the right choice; out-of-range indices and unknown texts are errors.
 *
 * @example
 * ```ts
 * import { findTask, renderDoc } from "./task.ts";
 * const doc = renderDoc(findTask("synth_arithmetic"), {
 *   context: "Question: What is 7 plus 5?\nAnswer:",
 *   completion: " 12",
 * }, 0);
 * console.log(JSON.stringify(doc.text), doc.references);
 * ```
 */
export function renderDoc(
  task: TaskConfig,
  doc: Record<string, unknown>,
  index: number,
): RenderedDoc {
  const row = index + 1;
  const id = typeof doc.id === "string" || typeof doc.id === "number"
    ? String(doc.id)
    : `row:${row}`;
  const text = asText(
    applyField(task, doc, row, "doc_to_text", task.docToText).value,
    row,
    "doc_to_text",
  );
  const choices = task.docToChoice === undefined
    ? undefined
    : resolveChoices(task, doc, row, task.docToChoice);
  const target: Applied = typeof task.docToTarget === "number"
    ? { value: task.docToTarget, fromColumn: false }
    : applyField(task, doc, row, "doc_to_target", task.docToTarget);
  const out: RenderedDoc = { id, text, target: "", references: [] };
  if (task.description) {
    out.description = asText(
      applyField(task, doc, row, "description", task.description).value,
      row,
      "description",
    );
  }
  if (task.outputType === "multiple_choice") {
    if (!choices) {
      throw new RenderError(
        row,
        "doc_to_choice",
        `${where(task, row)}: doc_to_choice is not set; multiple_choice tasks need one`,
      );
    }
    const gold = resolveGold(task, row, target, choices);
    return { ...out, target: choices[gold], references: [choices[gold]], choices, gold };
  }
  const references = resolveReferences(task, row, target.value, choices);
  return { ...out, target: references[0], references, ...(choices ? { choices } : {}) };
}

/**
 * The full prompt for one row, exactly as lm-eval assembles it: the description, then each
 * few-shot example as `text + target_delimiter + target + fewshot_delimiter`, then the row's text.
 * (As in lm-eval, an example whose target is empty contributes its text only.)
 *
 * @example
 * ```ts
 * import { buildPrompt, findTask, renderDoc } from "./task.ts";
 * const task = findTask("synth_arithmetic");
 * const shot = renderDoc(task, { context: "Question: What is 1 plus 1?\nAnswer:", completion: " 2" }, 0);
 * const doc = renderDoc(task, { context: "Question: What is 7 plus 5?\nAnswer:", completion: " 12" }, 1);
 * console.log(buildPrompt(task, doc, [shot]));
 * ```
 */
export function buildPrompt(task: TaskConfig, doc: RenderedDoc, fewshot: RenderedDoc[]): string {
  let prompt = doc.description ?? task.description;
  for (const shot of fewshot) {
    prompt += shot.text;
    if (shot.target !== "") prompt += task.targetDelimiter + shot.target + task.fewshotDelimiter;
  }
  return prompt + doc.text;
}

/**
 * Draw `n` few-shot examples from `pool`, never the row whose id is `exclude`. The draw depends
 * only on `fewshot_seed` and `exclude`, so each row gets the same examples in every run and in
 * any order (lm-eval instead draws from one generator in evaluation order). Throws when the pool
 * has fewer than `n` other rows.
 *
 * @example
 * ```ts
 * import { findTask, sampleFewshot, type RenderedDoc } from "./task.ts";
 * const task = findTask("synth_arithmetic");
 * const pool: RenderedDoc[] = [1, 2, 3, 4].map((i) => ({
 *   id: `a${i}`, text: `Question: What is ${i} plus 1?\nAnswer:`, target: `${i + 1}`, references: [`${i + 1}`],
 * }));
 * console.log(sampleFewshot(task, pool, 2, "a1").map((d) => d.id));
 * ```
 */
export function sampleFewshot(
  task: TaskConfig,
  pool: RenderedDoc[],
  n: number,
  exclude: string,
): RenderedDoc[] {
  if (n <= 0) return [];
  const rng = new Rng(task.fewshotSeed, exclude);
  const picked = new Set<number>();
  const attempts = n * SAMPLING_ATTEMPTS_PER_SHOT;
  // Rejection sampling keeps large pools cheap; small or crowded pools take the exact path.
  if (pool.length > REJECTION_SAMPLING_MIN_RATIO * (n + 1)) {
    for (let i = 0; i < attempts && picked.size < n; i++) {
      const j = rng.int(0, pool.length - 1);
      if (pool[j].id !== exclude) picked.add(j);
    }
    if (picked.size === n) return [...picked].map((j) => pool[j]);
  }
  const eligible = pool.filter((d) => d.id !== exclude);
  if (eligible.length < n) {
    throw new Error(
      `task ${task.name}: num_fewshot is ${n} but the few-shot pool has only ${eligible.length} ` +
        `other rows; lower num_fewshot or set fewshot_split to a larger split in ${
          displayPath(task.file)
        }`,
    );
  }
  return rng.sample(eligible, n);
}

/**
 * Load and render one split of a task. `split` names the role (`test`, `validation`, `train`,
 * `fewshot`); the task's config maps it to the dataset's split name. Rows that cannot be read or
 * rendered come back in `errors` with their row numbers instead of being thrown.
 *
 * @example
 * ```ts
 * import { findTask, loadTaskDocs } from "./task.ts";
 * const { docs, errors } = await loadTaskDocs(findTask("synth_qa"), "test", { limit: 3 });
 * console.log(docs.length, errors.length, docs[0].references);
 * ```
 */
export async function loadTaskDocs(
  task: TaskConfig,
  split: TaskSplit,
  options: LoadTaskDocsOptions = {},
): Promise<TaskDocs> {
  const splitName = splitNameOf(task, split);
  let source = task.dataset.source;
  if (task.dataset.kind === "local") {
    const path = resolve(options.baseDir ?? task.dataset.baseDir, task.dataset.path);
    source = existsSync(path) && statSync(path).isDirectory()
      ? splitFile(task, path, splitName)
      : path;
  }
  const loaded = await loadRows(source, {
    split: splitName,
    ...(task.dataset.config !== undefined ? { config: task.dataset.config } : {}),
  });
  const rows = options.limit === undefined ? loaded.rows : loaded.rows.slice(0, options.limit);
  const docs: RenderedDoc[] = [];
  const errors: RowError[] = [...loaded.errors];
  rows.forEach((row, i) => {
    try {
      const doc = renderDoc(task, row, i);
      if (!(typeof row.id === "string" || typeof row.id === "number")) {
        doc.id = `${splitName}:${i + 1}`;
      }
      docs.push(doc);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      errors.push({ row: e.row, message: e.message, file: source });
    }
  });
  return { docs, errors };
}

/** File extensions tried, in order, for a split file `<dir>/<split>.<ext>`. */
const SPLIT_FILE_EXTENSIONS = [".jsonl", ".json", ".parquet", ".csv", ".tsv"];

/** The file holding `split` in a local dataset folder, or an error listing what is there. */
function splitFile(task: TaskConfig, dir: string, split: string): string {
  for (const ext of SPLIT_FILE_EXTENSIONS) {
    const file = join(dir, split + ext);
    if (existsSync(file)) return file;
  }
  const present = readdirSync(dir).filter((f) => SPLIT_FILE_EXTENSIONS.some((e) => f.endsWith(e)));
  throw new Error(
    `task ${task.name}: split "${split}" not found in ${displayPath(dir)} (looked for ` +
      `${split}{${SPLIT_FILE_EXTENSIONS.join(",")}}; present: ${
        present.join(", ") || "no data files"
      }); ` +
      `add the file or fix the split name in ${displayPath(task.file)}`,
  );
}

/**
 * The split a task is evaluated on: `test` when it has a test split, else `validation`
 * (lm-eval's rule).
 *
 * @example
 * ```ts
 * import { evalSplit, findTask } from "./task.ts";
 * console.log(evalSplit(findTask("synth_qa"))); // "test"
 * ```
 */
export function evalSplit(task: TaskConfig): "test" | "validation" {
  return task.splits.test !== undefined ? "test" : "validation";
}

/**
 * The dataset split name behind a split role, or an error saying which roles the task has.
 *
 * @example
 * ```ts
 * import { findTask, splitNameOf } from "./task.ts";
 * console.log(splitNameOf(findTask("synth_qa"), "fewshot")); // "train"
 * ```
 */
export function splitNameOf(task: TaskConfig, split: TaskSplit): string {
  const s = task.splits;
  const name = split === "fewshot" ? (s.fewshot ?? s.train ?? s.validation ?? s.test) : s[split];
  if (name !== undefined) return name;
  const roles = (["test", "validation", "train"] as const).filter((r) => s[r] !== undefined);
  const key = {
    test: "test_split",
    validation: "validation_split",
    train: "training_split",
    fewshot: "fewshot_split",
  }[split];
  throw new Error(
    `task ${task.name} has no ${split} split (${key} is not set in ${displayPath(task.file)}); ` +
      `use one of: ${roles.join(", ") || "(none)"}, or set ${key}`,
  );
}

// ---------------------------------------------------------------------------------------------
// YAML reading with positions
// ---------------------------------------------------------------------------------------------

/** One parsed YAML file. */
interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: Record<string, unknown>;
}

/** The merged keys of a task file and its includes, with the file each key came from. */
interface MergedTask {
  file: string;
  top: YamlSource;
  data: Record<string, unknown>;
  owners: Map<string, YamlSource>;
  includes: string[];
}

function readYaml(file: string): YamlSource {
  const text = readFileSync(file, "utf8");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const issues: TaskIssue[] = doc.errors.map((err) => {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    const what = err.message.split(" at line ")[0].split("\n")[0];
    return issueAt(
      file,
      pos.line,
      pos.col,
      "",
      `invalid YAML (${what}); fix the syntax at this position`,
    );
  });
  if (issues.length) throw new TaskFileError(issues);
  const src: YamlSource = { file, doc, lines, data: {} };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new TaskFileError([
      issueAt(
        file,
        1,
        1,
        "",
        "the file is empty; write the task's keys (task:, dataset_path:, doc_to_text: …)",
      ),
    ]);
  }
  if (!isMap(doc.contents)) {
    const p = positionOf(src, []);
    throw new TaskFileError([
      issueAt(
        file,
        p.line,
        p.col,
        "",
        "a task file must be a mapping of keys (task:, dataset_path:, …), not a list or a value",
      ),
    ]);
  }
  const tagIssues: TaskIssue[] = [];
  visit(doc, (_key, node, path) => {
    const tag = (node as { tag?: string }).tag;
    if (typeof tag === "string" && tag.startsWith("!") && !tag.startsWith("!!")) {
      // Point at the key the tagged value belongs to, and name its dotted path.
      const field: (string | number)[] = [];
      const chain = [...path, node];
      chain.forEach((p, i) => {
        if (isPair(p) && isScalar(p.key)) field.push(String(p.key.value));
        else if (isSeq(p)) field.push(p.items.indexOf(chain[i + 1] as never));
      });
      const parent = path[path.length - 1];
      const offset = isPair(parent) ? rangeStart(parent.key) : rangeStart(node);
      const pos = lines.linePos(offset ?? 0);
      const what = tag === "!function"
        ? `\`!function\` (Python code from lm-eval) is not supported; express it as a Jinja template (see data/tasks/README.md)`
        : `YAML tag ${tag} is not supported; remove it`;
      tagIssues.push(issueAt(file, pos.line, pos.col, field.join("."), what));
    }
  });
  if (tagIssues.length) throw new TaskFileError(tagIssues);
  src.data = doc.toJS() as Record<string, unknown>;
  return src;
}

/** Position of a key (`key: true`) or value at `path`, or of its nearest existing ancestor. */
function positionOf(
  src: YamlSource,
  path: readonly (string | number)[],
  key = false,
): { line: number; col: number } {
  let node: unknown = src.doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg)
      );
      if (!pair) break;
      if (last && key) {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      node = pair.value;
      offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof seg === "number" && seg < node.items.length) {
      node = node.items[seg];
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return src.lines.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}

function mergeIncludes(file: string, stack: string[]): MergedTask {
  const src = readYaml(file);
  const merged: MergedTask = { file, top: src, data: {}, owners: new Map(), includes: [] };
  const include = src.data.include;
  if (include !== undefined) {
    const list = typeof include === "string"
      ? [include]
      : Array.isArray(include) && include.every((x) => typeof x === "string")
      ? include as string[]
      : undefined;
    if (!list) {
      const p = positionOf(src, ["include"]);
      throw new TaskFileError([
        issueAt(
          file,
          p.line,
          p.col,
          "include",
          "expected a file path (or a list of paths); write e.g. include: _base.yaml",
        ),
      ]);
    }
    // As in lm-eval, earlier entries of an include list win over later ones.
    list.forEach((rel, i) => {
      const target = resolve(dirname(file), rel);
      const at = positionOf(src, typeof include === "string" ? ["include"] : ["include", i]);
      if (!existsSync(target) || !statSync(target).isFile()) {
        throw new TaskFileError([
          issueAt(
            file,
            at.line,
            at.col,
            "include",
            `included file ${displayPath(target)} not found; paths are relative to ${
              displayPath(dirname(file))
            }`,
          ),
        ]);
      }
      const chain = [...stack, file];
      if (chain.includes(target)) {
        const cycle = [...chain.slice(chain.indexOf(target)), target].map(displayPath).join(" -> ");
        throw new TaskFileError([
          issueAt(
            file,
            at.line,
            at.col,
            "include",
            `include cycle: ${cycle}; remove one of these includes`,
          ),
        ]);
      }
    });
    for (const rel of [...list].reverse()) {
      const base = mergeIncludes(resolve(dirname(file), rel), [...stack, file]);
      for (const [k, v] of Object.entries(base.data)) {
        merged.data[k] = v;
        merged.owners.set(k, base.owners.get(k)!);
      }
      merged.includes.push(...base.includes.filter((f) => !merged.includes.includes(f)), base.file);
    }
  }
  for (const [k, v] of Object.entries(src.data)) {
    if (k === "include") continue;
    merged.data[k] = v;
    merged.owners.set(k, src);
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** Collects issues against the file that defined each key. */
class Checker {
  issues: TaskIssue[] = [];
  constructor(private merged: MergedTask) {}

  /** Report a problem with the value (or, with `key`, the key) at `path`. */
  at(path: (string | number)[], message: string, key = false): void {
    const src = this.merged.owners.get(String(path[0])) ?? this.merged.top;
    const p = positionOf(src, path, key);
    this.issues.push(issueAt(src.file, p.line, p.col, path.join("."), message));
  }

  /** Report a missing required field (positioned at the top of the task file). */
  missing(field: string, example: string): void {
    this.issues.push(
      issueAt(this.merged.file, 1, 1, field, `required field is missing; add e.g. ${example}`),
    );
  }

  /** The file a key came from. */
  ownerOf(key: string): YamlSource {
    return this.merged.owners.get(key) ?? this.merged.top;
  }
}

function validateTask(merged: MergedTask, knownMetrics: readonly string[]): TaskConfig {
  const data = merged.data;
  const check = new Checker(merged);

  for (const key of Object.keys(data)) {
    if ((TOP_LEVEL_KEYS as readonly string[]).includes(key)) continue;
    if (Object.hasOwn(UNSUPPORTED_KEYS, key)) {
      check.at(
        [key],
        `lm-eval's ${key} is not supported: ${UNSUPPORTED_KEYS[key]}; remove it`,
        true,
      );
      continue;
    }
    check.at([key], unknownKeyMessage(key, TOP_LEVEL_KEYS), true);
  }

  const name = requireString(check, data, "task", "task: my_task");
  const datasetPath = requireString(check, data, "dataset_path", "dataset_path: ../synthetic/qa");
  const datasetName = optionalString(check, data, "dataset_name");
  const splits: TaskSplits = {};
  const splitKeys = [
    ["train", "training_split"],
    ["validation", "validation_split"],
    ["test", "test_split"],
    ["fewshot", "fewshot_split"],
  ] as const;
  for (const [role, key] of splitKeys) {
    const value = optionalString(check, data, key);
    if (value !== undefined) splits[role] = value;
  }
  if (splits.test === undefined && splits.validation === undefined) {
    if (data.test_split === undefined && data.validation_split === undefined) {
      check.missing("test_split", "test_split: test (or validation_split: validation)");
    } else {
      check.at(
        [data.test_split !== undefined ? "test_split" : "validation_split"],
        "no split to evaluate on; set test_split or validation_split to a split name",
      );
    }
  }

  const numFewshot = optionalInt(check, data, "num_fewshot", 0) ?? TASK_DEFAULTS.numFewshot;
  const fewshotSeed = optionalInt(check, data, "fewshot_seed") ?? TASK_DEFAULTS.fewshotSeed;

  let outputType: OutputType = TASK_DEFAULTS.outputType;
  if (data.output_type !== undefined) {
    const raw = data.output_type;
    const normalized = typeof raw === "string" ? (OUTPUT_TYPE_ALIASES[raw] ?? raw) : raw;
    if (
      typeof normalized === "string" && (OUTPUT_TYPES as readonly string[]).includes(normalized)
    ) {
      outputType = normalized as OutputType;
    } else if (raw === "loglikelihood" || raw === "loglikelihood_rolling") {
      check.at(
        ["output_type"],
        `"${raw}" is not supported; use generate_until (with exact_match) or multiple_choice`,
      );
    } else {
      check.at(
        ["output_type"],
        `unknown output type ${JSON.stringify(raw)}; use one of ${
          OUTPUT_TYPES.join(", ")
        } (generate is accepted for generate_until)`,
      );
    }
  }

  const docToText = requireString(
    check,
    data,
    "doc_to_text",
    'doc_to_text: "Question: {{question}}\\nAnswer:"',
  );
  let docToTarget: string | number | undefined;
  if (data.doc_to_target === undefined) {
    check.missing("doc_to_target", 'doc_to_target: "{{answer}}" (or a choice index such as 3)');
  } else if (typeof data.doc_to_target === "string") {
    docToTarget = data.doc_to_target;
  } else if (Number.isInteger(data.doc_to_target) && (data.doc_to_target as number) >= 0) {
    docToTarget = data.doc_to_target as number;
  } else {
    check.at(
      ["doc_to_target"],
      `expected a template string or a choice index, got ${
        describe(data.doc_to_target)
      }; write e.g. doc_to_target: "{{answer}}"`,
    );
  }

  let docToChoice: string | string[] | undefined;
  if (data.doc_to_choice !== undefined) {
    const raw = data.doc_to_choice;
    if (typeof raw === "string") docToChoice = raw;
    else if (
      Array.isArray(raw) && raw.length > 0 &&
      raw.every((x) => typeof x === "string" || typeof x === "number")
    ) {
      docToChoice = raw.map(String);
    } else {
      check.at(
        ["doc_to_choice"],
        `expected a template rendering to a list, a column name, or a non-empty list of strings; got ${
          describe(raw)
        }`,
      );
    }
  } else if (outputType === "multiple_choice") {
    check.missing("doc_to_choice", 'doc_to_choice: ["yes", "no"]');
  }

  for (
    const [key, value] of [["doc_to_text", docToText], ["doc_to_target", docToTarget], [
      "description",
      data.description,
    ], ["doc_to_decontamination_query", data.doc_to_decontamination_query]] as const
  ) {
    if (typeof value === "string") checkTemplate(check, [key], value);
  }
  if (typeof docToChoice === "string") checkTemplate(check, ["doc_to_choice"], docToChoice);
  else docToChoice?.forEach((t, i) => checkTemplate(check, ["doc_to_choice", i], t));

  const targetDelimiter = optionalString(check, data, "target_delimiter", true) ??
    TASK_DEFAULTS.targetDelimiter;
  const fewshotDelimiter = optionalString(check, data, "fewshot_delimiter", true) ??
    TASK_DEFAULTS.fewshotDelimiter;
  const description = optionalString(check, data, "description", true) ?? TASK_DEFAULTS.description;
  const generationKwargs = validateGeneration(check, data.generation_kwargs, fewshotDelimiter);
  const metrics = validateMetrics(check, data.metric_list, outputType, knownMetrics);

  let version: number | string = TASK_DEFAULTS.version;
  if (data.metadata !== undefined) {
    const meta = data.metadata;
    if (!isPlainObject(meta)) {
      check.at(
        ["metadata"],
        `expected a mapping, got ${describe(meta)}; write e.g. metadata: {version: 1.0}`,
      );
    } else if (meta.version !== undefined) {
      if (typeof meta.version === "number" || typeof meta.version === "string") {
        version = meta.version;
      } else {check.at(
          ["metadata", "version"],
          `expected a number or string, got ${describe(meta.version)}; write e.g. version: 1.0`,
        );}
    }
  }

  const tags: string[] = [];
  for (const key of ["tag", "group"] as const) {
    const v = data[key];
    if (v === undefined) continue;
    if (typeof v === "string") tags.push(v);
    else if (Array.isArray(v) && v.every((x) => typeof x === "string")) tags.push(...v);
    else check.at([key], `expected a name or a list of names, got ${describe(v)}`);
  }
  const reference = optionalString(check, data, "reference");
  let shouldDecontaminate = false;
  if (data.should_decontaminate !== undefined) {
    if (typeof data.should_decontaminate === "boolean") {
      shouldDecontaminate = data.should_decontaminate;
    } else {check.at(
        ["should_decontaminate"],
        `expected true or false, got ${describe(data.should_decontaminate)}`,
      );}
  }
  const docToDecontaminationQuery = optionalString(check, data, "doc_to_decontamination_query");

  let dataset: TaskDataset | undefined;
  if (datasetPath !== undefined) {
    const owner = check.ownerOf("dataset_path");
    dataset = resolveDataset(datasetPath, dirname(owner.file), datasetName);
    if (dataset.kind === "local" && !existsSync(dataset.source)) {
      check.at(
        ["dataset_path"],
        `local dataset ${displayPath(dataset.source)} not found; paths are relative to ${
          displayPath(dataset.baseDir)
        } (use hf:owner/name for a Hugging Face dataset)`,
      );
    }
  }

  if (check.issues.length) {
    check.issues.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
    throw new TaskFileError(check.issues);
  }
  const task: TaskConfig = {
    name: name!,
    file: merged.file,
    includes: merged.includes,
    dataset: dataset!,
    splits,
    numFewshot,
    fewshotSeed,
    outputType,
    docToText: docToText!,
    docToTarget: docToTarget!,
    targetDelimiter,
    fewshotDelimiter,
    description,
    generationKwargs,
    metrics,
    version,
    tags,
    shouldDecontaminate,
    yaml: data,
  };
  if (docToChoice !== undefined) task.docToChoice = docToChoice;
  if (reference !== undefined) task.reference = reference;
  if (docToDecontaminationQuery !== undefined) {
    task.docToDecontaminationQuery = docToDecontaminationQuery;
  }
  return task;
}

function validateGeneration(
  check: Checker,
  raw: unknown,
  fewshotDelimiter: string,
): GenerationKwargs {
  const out: GenerationKwargs = {
    until: [fewshotDelimiter],
    maxGenToks: TASK_DEFAULTS.maxGenToks,
    temperature: TASK_DEFAULTS.temperature,
    doSample: TASK_DEFAULTS.doSample,
  };
  if (raw === undefined || raw === null) return out;
  if (!isPlainObject(raw)) {
    check.at(
      ["generation_kwargs"],
      `expected a mapping, got ${describe(raw)}; write e.g. generation_kwargs: {until: ["\\n"]}`,
    );
    return out;
  }
  for (const key of Object.keys(raw)) {
    if ((GENERATION_KEYS as readonly string[]).includes(key)) continue;
    const path = ["generation_kwargs", key];
    if (Object.hasOwn(UNSUPPORTED_GENERATION_KEYS, key)) {
      check.at(
        path,
        `${key} is not supported: ${UNSUPPORTED_GENERATION_KEYS[key]}; remove it`,
        true,
      );
    } else {
      check.at(path, unknownKeyMessage(key, GENERATION_KEYS), true);
    }
  }
  if (raw.until !== undefined) {
    const u = raw.until;
    if (typeof u === "string") out.until = [u];
    else if (Array.isArray(u) && u.every((x) => typeof x === "string" && x.length > 0)) {
      out.until = u as string[];
    } else {check.at(
        ["generation_kwargs", "until"],
        `expected a list of non-empty stop strings, got ${describe(u)}; write e.g. until: ["\\n"]`,
      );}
  }
  if (raw.max_gen_toks !== undefined) {
    const m = raw.max_gen_toks;
    if (Number.isInteger(m) && (m as number) > 0) out.maxGenToks = m as number;
    else {check.at(
        ["generation_kwargs", "max_gen_toks"],
        `expected a positive integer, got ${describe(m)}; write e.g. max_gen_toks: 64`,
      );}
  }
  if (raw.temperature !== undefined) {
    const t = raw.temperature;
    if (typeof t === "number" && t >= 0) out.temperature = t;
    else {check.at(
        ["generation_kwargs", "temperature"],
        `expected a number >= 0, got ${describe(t)}; write temperature: 0 for greedy decoding`,
      );}
  }
  if (raw.do_sample !== undefined) {
    if (typeof raw.do_sample === "boolean") out.doSample = raw.do_sample;
    else {check.at(
        ["generation_kwargs", "do_sample"],
        `expected true or false, got ${describe(raw.do_sample)}`,
      );}
  }
  return out;
}

function validateMetrics(
  check: Checker,
  raw: unknown,
  outputType: OutputType,
  knownMetrics: readonly string[],
): MetricSpec[] {
  if (raw === undefined) {
    return TASK_DEFAULTS.metrics[outputType].map((metric) => ({
      metric,
      aggregation: CORPUS_METRICS.includes(metric) ? "corpus" : TASK_DEFAULTS.aggregation,
      higherIsBetter: TASK_DEFAULTS.higherIsBetter,
    }));
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    check.at(
      ["metric_list"],
      `expected a non-empty list of metrics, got ${
        describe(raw)
      }; write e.g. metric_list: [{metric: acc}]`,
    );
    return [];
  }
  const out: MetricSpec[] = [];
  const seen = new Set<string>();
  raw.forEach((entry, i) => {
    const path = ["metric_list", i];
    if (!isPlainObject(entry)) {
      check.at(path, `expected a mapping like {metric: acc}, got ${describe(entry)}`);
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!(METRIC_KEYS as readonly string[]).includes(key)) {
        check.at([...path, key], unknownKeyMessage(key, METRIC_KEYS), true);
      }
    }
    const metric = entry.metric;
    if (typeof metric !== "string") {
      check.at(
        metric === undefined ? path : [...path, "metric"],
        `metric name is missing or not a string; write e.g. - metric: acc`,
      );
      return;
    }
    if (!knownMetrics.includes(metric)) {
      const hint = closest(metric, knownMetrics);
      check.at(
        [...path, "metric"],
        `unknown metric "${metric}"${hint ? ` (did you mean "${hint}"?)` : ""}; known metrics: ${
          knownMetrics.join(", ")
        }`,
      );
      return;
    }
    const types = METRIC_OUTPUT_TYPES[metric];
    if (types && !types.includes(outputType)) {
      const fitting = knownMetrics.filter((m) =>
        (METRIC_OUTPUT_TYPES[m] ?? OUTPUT_TYPES).includes(outputType)
      );
      check.at(
        [...path, "metric"],
        `metric "${metric}" does not apply to ${outputType} tasks; use one of ${
          fitting.join(", ")
        }`,
      );
      return;
    }
    if (seen.has(metric)) {
      check.at([...path, "metric"], `metric "${metric}" is listed twice; remove one`);
      return;
    }
    seen.add(metric);
    const corpus = CORPUS_METRICS.includes(metric);
    let aggregation: MetricSpec["aggregation"] = corpus ? "corpus" : TASK_DEFAULTS.aggregation;
    const agg = entry.aggregation;
    if (agg !== undefined) {
      if (corpus) {
        if (agg !== metric && agg !== "corpus") {
          check.at(
            [...path, "aggregation"],
            `"${metric}" is computed over the whole split; remove aggregation`,
          );
        }
      } else if (typeof agg === "string" && AGGREGATIONS.includes(agg)) {
        aggregation = agg as MetricSpec["aggregation"];
      } else {
        check.at(
          [...path, "aggregation"],
          `unknown aggregation ${JSON.stringify(agg)}; use one of ${AGGREGATIONS.join(", ")}`,
        );
      }
    }
    let higherIsBetter: boolean = TASK_DEFAULTS.higherIsBetter;
    if (entry.higher_is_better !== undefined) {
      if (typeof entry.higher_is_better === "boolean") higherIsBetter = entry.higher_is_better;
      else {check.at(
          [...path, "higher_is_better"],
          `expected true or false, got ${describe(entry.higher_is_better)}`,
        );}
    }
    out.push({ metric, aggregation, higherIsBetter });
  });
  return out;
}

function checkTemplate(check: Checker, path: (string | number)[], source: string): void {
  try {
    compiled(source);
  } catch (e) {
    check.at(path, `invalid Jinja template (${(e as Error).message}); fix the template`);
  }
}

function requireString(
  check: Checker,
  data: Record<string, unknown>,
  key: string,
  example: string,
): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) {
    check.missing(key, example);
    return undefined;
  }
  if (typeof v !== "string" || v === "") {
    check.at([key], `expected a non-empty string, got ${describe(v)}; write e.g. ${example}`);
    return undefined;
  }
  return v;
}

function optionalString(
  check: Checker,
  data: Record<string, unknown>,
  key: string,
  allowEmpty = false,
): string | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || (!allowEmpty && v === "")) {
    check.at(
      [key],
      `expected ${allowEmpty ? "a string" : "a non-empty string"}, got ${describe(v)}`,
    );
    return undefined;
  }
  return v;
}

function optionalInt(
  check: Checker,
  data: Record<string, unknown>,
  key: string,
  min?: number,
): number | undefined {
  const v = data[key];
  if (v === undefined || v === null) return undefined;
  if (!Number.isInteger(v) || (min !== undefined && (v as number) < min)) {
    check.at(
      [key],
      `expected ${min === undefined ? "an integer" : `an integer >= ${min}`}, got ${
        describe(v)
      }; write e.g. ${key}: ${min ?? 0}`,
    );
    return undefined;
  }
  return v as number;
}

/**
 * `hf:owner/name` is a Hugging Face dataset; `./`, `../` and absolute paths are local; a bare
 * `owner/name` (lm-eval's spelling) is local when it exists next to the task file, else the Hub.
 */
function resolveDataset(path: string, baseDir: string, config?: string): TaskDataset {
  const withConfig = config !== undefined ? { config } : {};
  if (path.startsWith("hf:")) return { path, source: path, kind: "hub", baseDir, ...withConfig };
  const local = resolve(baseDir, path);
  const explicitLocal = path.startsWith("./") || path.startsWith("../") || isAbsolute(path);
  if (!explicitLocal && !existsSync(local) && /^[\w.-]+\/[\w.-]+$/.test(path)) {
    return { path, source: `hf:${path}`, kind: "hub", baseDir, ...withConfig };
  }
  return { path, source: local, kind: "local", baseDir, ...withConfig };
}

// ---------------------------------------------------------------------------------------------
// Rendering helpers
// ---------------------------------------------------------------------------------------------

const templateCache = new Map<string, CompiledTemplate>();

function compiled(source: string): CompiledTemplate {
  let t = templateCache.get(source);
  if (!t) {
    t = compileTemplate(source);
    templateCache.set(source, t);
  }
  return t;
}

function where(task: TaskConfig, row: number): string {
  return `task ${task.name}, row ${row}`;
}

/** A template field's result, and whether it was a column read as-is rather than rendered text. */
interface Applied {
  value: unknown;
  fromColumn: boolean;
}

/**
 * Apply a template field to a row: a bare column name returns the column's value (as lm-eval
 * does when the string is one of the dataset's features); anything else is rendered.
 */
function applyField(
  task: TaskConfig,
  doc: Record<string, unknown>,
  row: number,
  field: string,
  template: string,
): Applied {
  if (!TEMPLATE_SYNTAX.test(template) && Object.hasOwn(doc, template)) {
    return { value: doc[template], fromColumn: true };
  }
  try {
    return { value: renderTemplate(compiled(template), doc), fromColumn: false };
  } catch (e) {
    if (e instanceof MissingFieldError) {
      throw new RenderError(
        row,
        field,
        `${where(task, row)}: ${field} reads column "${e.field}", which this row lacks ` +
          `(columns: ${Object.keys(doc).join(", ") || "none"}); fix the template in ` +
          `${displayPath(task.file)} or the data`,
      );
    }
    throw new RenderError(
      row,
      field,
      `${where(task, row)}: ${field} failed to render (${
        (e as Error).message
      }); fix the template in ${displayPath(task.file)}`,
    );
  }
}

function asText(value: unknown, row: number, field: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new RenderError(row, field, `row ${row}: ${field} gave ${describe(value)}, expected text`);
}

function resolveChoices(
  task: TaskConfig,
  doc: Record<string, unknown>,
  row: number,
  spec: string | string[],
): string[] {
  const value = Array.isArray(spec)
    ? spec.map((t) =>
      asText(applyField(task, doc, row, "doc_to_choice", t).value, row, "doc_to_choice")
    )
    : applyField(task, doc, row, "doc_to_choice", spec).value;
  const list = typeof value === "string" ? parseListLiteral(value) : value;
  if (
    !Array.isArray(list) || list.length === 0 ||
    !list.every((x) => typeof x === "string" || typeof x === "number")
  ) {
    throw new RenderError(
      row,
      "doc_to_choice",
      `${where(task, row)}: doc_to_choice gave ${
        describe(value)
      }, expected a non-empty list of strings; fix doc_to_choice in ${displayPath(task.file)}`,
    );
  }
  return list.map(String);
}

/**
 * The gold index of a multiple-choice row, as lm-eval resolves it: an integer is the index; text
 * rendered by a template is an index when it is all digits; other text (and any text read
 * straight from a column) must be one of the choices.
 */
function resolveGold(task: TaskConfig, row: number, target: Applied, choices: string[]): number {
  const raw = target.value;
  let gold: number | undefined;
  if (typeof raw === "number") gold = raw;
  else if (typeof raw === "string") {
    if (!target.fromColumn && /^\d+$/.test(raw)) gold = Number(raw);
    else if (choices.includes(raw)) gold = choices.indexOf(raw);
  }
  if (gold === undefined) {
    throw new RenderError(
      row,
      "doc_to_target",
      `${where(task, row)}: doc_to_target gave ${
        describe(raw)
      }, which is neither a choice index nor one of the choices ${
        JSON.stringify(choices)
      }; fix doc_to_target or the data`,
    );
  }
  if (!Number.isInteger(gold) || gold < 0 || gold >= choices.length) {
    throw new RenderError(
      row,
      "doc_to_target",
      `${where(task, row)}: gold index ${gold} is out of range for ${choices.length} choices ${
        JSON.stringify(choices)
      }; fix doc_to_target or the data`,
    );
  }
  return gold;
}

function resolveReferences(
  task: TaskConfig,
  row: number,
  raw: unknown,
  choices?: string[],
): string[] {
  let refs: unknown[];
  if (typeof raw === "number") {
    refs = [
      choices && Number.isInteger(raw) && choices[raw] !== undefined ? choices[raw] : String(raw),
    ];
  } else if (Array.isArray(raw)) refs = raw;
  else if (typeof raw === "string") {
    const trimmed = raw.trim();
    if (choices && /^\d+$/.test(raw) && choices[Number(raw)] !== undefined) {
      refs = [choices[Number(raw)]];
    } else if (trimmed.startsWith("[") && trimmed.endsWith("]")) {
      refs = parseListLiteral(trimmed) ?? [raw];
    } else refs = [raw];
  } else refs = [raw];
  if (refs.length === 0 || !refs.every((r) => typeof r === "string" || typeof r === "number")) {
    throw new RenderError(
      row,
      "doc_to_target",
      `${where(task, row)}: doc_to_target gave ${
        describe(raw)
      }, expected text or a non-empty list of texts; fix doc_to_target or the data`,
    );
  }
  return refs.map(String);
}

/**
 * Parse a rendered list: JSON (how @huggingface/jinja prints lists) or a Python literal
 * (`['a', "b", 3]`, as lm-eval's `ast.literal_eval` accepts). Returns undefined if it is neither.
 */
function parseListLiteral(text: string): unknown[] | undefined {
  const s = text.trim();
  if (!s.startsWith("[")) return undefined;
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) ? v : undefined;
  } catch {
    // not JSON; try a Python literal below
  }
  const items: unknown[] = [];
  let i = 1;
  const skip = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const escapes: Record<string, string> = {
    n: "\n",
    t: "\t",
    r: "\r",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "0": "\0",
  };
  skip();
  if (s[i] === "]") return i === s.length - 1 ? [] : undefined;
  while (i < s.length) {
    skip();
    const q = s[i];
    if (q === "'" || q === '"') {
      let str = "";
      i++;
      while (i < s.length && s[i] !== q) {
        if (s[i] === "\\" && i + 1 < s.length) {
          str += escapes[s[i + 1]] ?? s[i + 1];
          i += 2;
        } else str += s[i++];
      }
      if (s[i] !== q) return undefined;
      i++;
      items.push(str);
    } else {
      const m = /^-?\d+(\.\d+)?/.exec(s.slice(i));
      if (!m) return undefined;
      items.push(Number(m[0]));
      i += m[0].length;
    }
    skip();
    if (s[i] === ",") {
      i++;
      skip();
      if (s[i] === "]") return i === s.length - 1 ? items : undefined;
    } else if (s[i] === "]") return i === s.length - 1 ? items : undefined;
    else return undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

function tasksDirOf(options: TaskRegistryOptions): string {
  return options.tasksDir !== undefined
    ? resolve(options.tasksDir)
    : join(REPO_ROOT, DEFAULT_TASKS_DIR);
}

function taskFiles(dir: string): string[] {
  const out: string[] = [];
  for (
    const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name)
    )
  ) {
    if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...taskFiles(full));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out;
}

function issueAt(
  file: string,
  line: number,
  col: number,
  field: string,
  message: string,
): TaskIssue {
  return { file: displayPath(file), line, col, field, message };
}

function formatIssue(issue: TaskIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${
    issue.field ? `${issue.field}: ` : ""
  }${issue.message}`;
}

function displayPath(path: string): string {
  const rel = relative(cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return `a list (${truncate(JSON.stringify(value))})`;
  if (typeof value === "object") return `a mapping (${truncate(JSON.stringify(value))})`;
  return `${typeof value} ${truncate(JSON.stringify(value))}`;
}

function truncate(text: string): string {
  const max = 80;
  return text.length > max ? text.slice(0, max) + "…" : text;
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const hint = closest(key, known);
  return hint
    ? `unknown key "${key}"; did you mean "${hint}"?`
    : `unknown key "${key}"; remove it (known keys: ${known.join(", ")})`;
}

/** The candidate closest to `name` by edit distance, if close enough to be a likely typo. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(
    SUGGESTION_MIN_DISTANCE,
    Math.floor(name.length * SUGGESTION_MAX_FRACTION),
  );
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
