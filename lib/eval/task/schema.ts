/**
 * The task file's schema: output types, defaults of the optional fields, the keys a task file may
 * hold (and the lm-eval keys it may not, with what to do instead), the metric names it may list,
 * and {@linkcode TaskConfig}, what a validated task file becomes.
 *
 * Everything here is data; `validate.ts` checks a file against it.
 * @module
 */
import { listLoglikelihoodMetrics, listMetrics } from "../metrics/mod.ts";
import type { FilterSpec } from "../filters/mod.ts";

// ---------------------------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------------------------

/** What an output type asks of the task file and of the backend. */
export interface OutputTypeSpec {
  /** How the model is asked, in one line. */
  description: string;
  /** Whether `doc_to_choice` is required. */
  needsChoices: boolean;
  /**
   * What the backend must offer: log-likelihoods of given continuations after a prompt
   * (`score`), of a whole text in windows of the model's context (`rolling`), or free
   * generation (`generate`).
   */
  backend: "score" | "rolling" | "generate";
}

/**
 * The output types tunebook runs (lm-evaluation-harness's four), by the name written in
 * `output_type`, in the order error messages list them. A new output type is added here, given
 * default metrics in {@linkcode TASK_DEFAULTS}`.metrics` and its metrics in
 * {@linkcode METRIC_OUTPUT_TYPES}, and scored by the runner (`lib/eval/runner.ts`).
 */
export const OUTPUT_TYPE_SPECS = {
  multiple_choice: {
    description: "score each choice's log-likelihood after the prompt; the arg-max is the answer",
    needsChoices: true,
    backend: "score",
  },
  generate_until: {
    description: "generate greedily until a stop string; compare the text with the references",
    needsChoices: false,
    backend: "generate",
  },
  loglikelihood: {
    description:
      "score doc_to_target's log-likelihood after the prompt (no target_delimiter added); acc: " +
      "whether it is the greedy continuation",
    needsChoices: false,
    backend: "score",
  },
  loglikelihood_rolling: {
    description:
      "score the whole of doc_to_target (the prompt is not used) in windows of the model's " +
      "context, as lm-eval's rolling log-likelihood; perplexities per word and byte",
    needsChoices: false,
    backend: "rolling",
  },
} as const satisfies Record<string, OutputTypeSpec>;

/** How a task asks the model: score each choice's log-likelihood, or generate text. */
export type OutputType = keyof typeof OUTPUT_TYPE_SPECS;

/** The output types, as written in `output_type`. */
export const OUTPUT_TYPES: readonly OutputType[] = Object.keys(OUTPUT_TYPE_SPECS) as OutputType[];

/** Other spellings accepted for `output_type` (lm-eval's old `greedy_until`, the architecture's `generate`). */
export const OUTPUT_TYPE_ALIASES: Readonly<Record<string, OutputType>> = {
  generate: "generate_until",
  greedy_until: "generate_until",
};

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

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
  /** `repeats`: responses generated per document (filters such as majority_vote use several). */
  repeats: 1,
  /** `metadata.version`. */
  version: 0 as number | string,
  /** `metric_list[].aggregation` for per-item metrics. */
  aggregation: "mean" as const,
  /** `metric_list[].higher_is_better`, for a metric that does not say (the perplexities: false). */
  higherIsBetter: true,
  /** `metric_list` when absent, by output type (lm-eval's `DEFAULT_METRIC_REGISTRY`). */
  metrics: {
    multiple_choice: ["acc", "acc_norm"],
    generate_until: ["exact_match"],
    loglikelihood: ["perplexity", "acc"],
    loglikelihood_rolling: ["word_perplexity", "byte_perplexity", "bits_per_byte"],
  } as Readonly<Record<OutputType, readonly string[]>>,
} as const;

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/**
 * Metric names a task may list: the metric registry's ({@linkcode listMetrics}), plus `acc_norm`,
 * which the runner computes from multiple-choice log-likelihoods, plus the log-likelihood
 * metrics ({@linkcode listLoglikelihoodMetrics}). A task naming any other metric is rejected
 * with this list in the message.
 */
export const KNOWN_METRICS: readonly string[] = [
  ...listMetrics().flatMap((m) => m.name === "acc" ? ["acc", "acc_norm"] : [m.name]),
  ...listLoglikelihoodMetrics().map((m) => m.name),
];

/**
 * Metrics computed over a whole split rather than averaged over items: the registry's corpus
 * metrics and the log-likelihood metrics (perplexities are not means of per-item values).
 */
export const CORPUS_METRICS: readonly string[] = [
  ...listMetrics().filter((m) => m.kind === "corpus").map((m) => m.name),
  ...listLoglikelihoodMetrics().map((m) => m.name),
];

/**
 * Which output types each known metric applies to. Multiple-choice tasks are scored from
 * log-likelihoods (the predicted label is the arg-max choice; `exact_match` there is lm-eval's:
 * whether the gold choice is the greedy continuation); generation tasks compare the generated
 * text with the references; `loglikelihood` tasks have `acc` (the target is the greedy
 * continuation) and `perplexity`. A metric missing here applies to every output type.
 */
export const METRIC_OUTPUT_TYPES: Readonly<Record<string, readonly OutputType[]>> = {
  exact_match: ["generate_until", "multiple_choice"],
  em: ["generate_until"],
  // generation: SQuAD's token F1; multiple choice: lm-eval's binary F1 of the choice at index 1
  f1: ["generate_until", "multiple_choice"],
  rouge1: ["generate_until"],
  rouge2: ["generate_until"],
  rougeL: ["generate_until"],
  rougeLsum: ["generate_until"],
  bleu4: ["generate_until"],
  acc: ["multiple_choice", "generate_until", "loglikelihood"],
  acc_norm: ["multiple_choice"],
  per_class_accuracy: ["multiple_choice", "generate_until"],
  macro_f1: ["multiple_choice", "generate_until"],
  ...Object.fromEntries(listLoglikelihoodMetrics().map((m) => [m.name, [m.outputType]])),
};

/**
 * Aggregations a per-item metric may name (corpus metrics aggregate themselves; a log-likelihood
 * metric may name its own, lm-eval's `perplexity`, `weighted_perplexity` or `bits_per_byte`).
 */
export const AGGREGATIONS: readonly string[] = ["mean", "median"];

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** Top-level keys of a task file. */
export const TOP_LEVEL_KEYS = [
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
  "filter_list",
  "repeats",
  "metric_list",
  "metadata",
  "should_decontaminate",
  "doc_to_decontamination_query",
  "process_docs",
  "process_results",
  "dataset_kwargs",
  "task_alias",
] as const;

/** The keys whose value may be a Python hook, `!function module.fn`. */
export const HOOK_KEYS = [
  "doc_to_text",
  "doc_to_target",
  "doc_to_choice",
  "process_docs",
  "process_results",
] as const;

/** A key that may hold a Python hook. */
export type HookKey = (typeof HOOK_KEYS)[number];

/** Keys of `dataset_kwargs` (the arguments lm-eval passes to `datasets.load_dataset`). */
export const DATASET_KWARGS_KEYS = [
  "data_files",
  "trust_remote_code",
  "revision",
  "sep",
  "delimiter",
  "quoting",
  "quotechar",
  "column_names",
  "names",
  "header",
  "field",
] as const;

/**
 * Local builders `dataset_path` may name with `dataset_kwargs.data_files` (as `datasets` does),
 * and the file format each reads.
 */
export const DATASET_BUILDERS = {
  json: "json",
  csv: "csv",
  parquet: "parquet",
  text: "text",
} as const;

/** A local builder name. */
export type DatasetBuilder = keyof typeof DATASET_BUILDERS;

/**
 * lm-eval keys that tunebook knows but does not support, and what to do instead. Supporting one
 * means moving it to {@linkcode TOP_LEVEL_KEYS} and giving it a section validator in
 * `validate.ts`.
 */
export const UNSUPPORTED_KEYS: Readonly<Record<string, string>> = {
  fewshot_config: "use fewshot_split, num_fewshot and fewshot_seed",
  use_prompt: "promptsource prompts are not supported; write doc_to_text as a Jinja template",
  doc_to_image: "multimodal tasks are not supported",
  doc_to_audio: "multimodal tasks are not supported",
  custom_dataset: "it runs Python code; point dataset_path at the files",
  gen_prefix: "not supported; put the prefix at the end of doc_to_text",
  group_alias: "not supported",
};

/** Keys of `generation_kwargs`. */
export const GENERATION_KEYS = ["until", "max_gen_toks", "temperature", "do_sample"] as const;

/** lm-eval generation keys that tunebook does not support, and why. */
export const UNSUPPORTED_GENERATION_KEYS: Readonly<Record<string, string>> = {
  num_beams: "beam search is not supported (decoding is greedy)",
  max_length: "use max_gen_toks (the number of generated tokens)",
  max_new_tokens: "use max_gen_toks",
  top_p: "sampling parameters are not supported (decoding is greedy)",
  top_k: "sampling parameters are not supported (decoding is greedy)",
};

/**
 * Keys of one `metric_list` entry; a metric's own options (`exact_match`'s `ignore_case` …, see
 * `ItemMetric.options`) may be added.
 */
export const METRIC_KEYS = ["metric", "aggregation", "higher_is_better"] as const;

/** Keys of one `filter_list` entry, and of each of its `filter` steps (plus the step's options). */
export const FILTER_KEYS = ["name", "filter"] as const;

// ---------------------------------------------------------------------------------------------
// The validated task
// ---------------------------------------------------------------------------------------------

/** One metric of a task and how it is aggregated. */
export interface MetricSpec {
  /** Registered metric name (one of {@linkcode KNOWN_METRICS}). */
  metric: string;
  /** `mean` or `median` over items; `corpus` for metrics computed over the whole split. Default: `mean`. */
  aggregation: "mean" | "median" | "corpus";
  /** Default: the metric's own direction (true; false for the perplexities). */
  higherIsBetter: boolean;
  /** The entry's metric options (`ignore_case: true` …), as written. Default: none (`{}`). */
  options: Record<string, unknown>;
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

/**
 * A Python hook of a task file: `!function module.fn` (lm-eval's YAML tag), the function `fn` of
 * `module.py` in the folder of the YAML file that wrote the tag.
 */
export interface FunctionRef {
  /** Marks the value as a hook. */
  kind: "function";
  /** What follows `!function`, e.g. `utils.process_docs`. */
  spec: string;
  /** Absolute path of the module file. */
  module: string;
  /** The function's name. */
  name: string;
  /** The YAML file that wrote the tag (absolute), and the tag's 1-based line and column. */
  file: string;
  /** 1-based line of the tag's value. */
  line: number;
  /** 1-based column of the tag's value. */
  col: number;
}

/** Whether a task field is a Python hook rather than a template or value. */
export function isFunctionRef(value: unknown): value is FunctionRef {
  return typeof value === "object" && value !== null &&
    (value as { kind?: unknown }).kind === "function" &&
    typeof (value as { spec?: unknown }).spec === "string";
}

/** How to read the files of a local builder (`dataset_path: csv` and its `dataset_kwargs`). */
export interface DatasetReadOptions {
  /** Field separator (`sep` / `delimiter`). Default: `,` (`\t` for `.tsv` files). */
  sep?: string;
  /** `quoting: 3` (csv.QUOTE_NONE): quotes are ordinary characters. Default: false (true for `.tsv`). */
  noQuoting?: boolean;
  /** `quotechar`. Default: `"`. */
  quoteChar?: string;
  /** `column_names` / `names`: the columns of a file without a header line. */
  columnNames?: string[];
  /** `header: null`: the file has no header line. Default: true. */
  hasHeader?: boolean;
  /** `field` (json builder): the key of a JSON object that holds the rows. */
  field?: string;
}

/** Where a task's rows come from. */
export interface TaskDataset {
  /** `dataset_path` as written in the task file. */
  path: string;
  /** What to pass to `loadRows`: an absolute local path, `hf:owner/name`, or the builder name. */
  source: string;
  /**
   * `local` for a file or folder on disk, `hub` for a Hugging Face dataset, `builder` for one of
   * `datasets`' local builders (`json`, `csv`, `parquet`, `text`) with `dataset_kwargs.data_files`.
   */
  kind: "local" | "hub" | "builder";
  /** Folder a relative local `dataset_path` is resolved against: that of the file that sets it. */
  baseDir: string;
  /** `dataset_name`: the Hugging Face config. */
  config?: string;
  /** For a builder: its name. */
  builder?: DatasetBuilder;
  /** For a builder: each split's files (absolute paths; globs allowed), from `data_files`. */
  dataFiles?: Record<string, string[]>;
  /** For a builder: how to read its files. */
  read?: DatasetReadOptions;
  /** `dataset_kwargs.revision`: the Hub revision (branch, tag or commit). Default: `main`. */
  revision?: string;
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
  /** `doc_to_text`: Jinja template (or a column name) giving the prompt, or a Python hook. */
  docToText: string | FunctionRef;
  /**
   * `doc_to_target`: a template or column giving the answer; for multiple choice it may also be
   * the gold index as an integer, or a template rendering to one, or the text of the right choice;
   * or a Python hook.
   */
  docToTarget: string | number | FunctionRef;
  /**
   * `doc_to_choice`: a template rendering to a list, a column holding one, a list of templates
   * (a YAML mapping counts as the list of its values, as in lm-eval), or a Python hook.
   */
  docToChoice?: string | string[] | FunctionRef;
  /** `process_docs`: a Python hook that turns the dataset's rows into the rows rendered. */
  processDocs?: FunctionRef;
  /** `process_results`: a Python hook that scores one row from the model's results. */
  processResults?: FunctionRef;
  /** `task_alias`: the name shown in result tables instead of the task name. */
  alias?: string;
  /** `target_delimiter`. Default: `" "`. */
  targetDelimiter: string;
  /** `fewshot_delimiter`. Default: `"\n\n"`. */
  fewshotDelimiter: string;
  /** `description`: a template rendered per row and put before everything else. Default: `""`. */
  description: string;
  /** `generation_kwargs`. */
  generationKwargs: GenerationKwargs;
  /**
   * `filter_list`: answer-extraction pipelines run on each generation before the metrics; each
   * metric is then reported per pipeline as `<metric>,<name>`. Default: none (`[]`: the
   * generation is the prediction and metrics keep their names).
   */
  filters: FilterSpec[];
  /** `repeats`: responses generated per document. Default: 1. */
  repeats: number;
  /** `metric_list`. Default: acc + acc_norm (multiple choice) or exact_match (generation). */
  metrics: MetricSpec[];
  /** `metadata.version`. Default: 0. */
  version: number | string;
  /** `tag` and `group` names: naming one in `--tasks` runs every task that has it. */
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
