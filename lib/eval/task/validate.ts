/**
 * Validation of a merged task file into a {@linkcode TaskConfig}: one validator per section of
 * the file (keys, name, dataset and splits, few-shot, output type, prompts, generation, metrics,
 * metadata, decontamination), each reporting into one {@linkcode Checker} so that every problem
 * in the file comes back at once, sorted by position.
 *
 * A new lm-eval key gets its own section validator here (and its name in `schema.ts`).
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { describe, displayPath } from "./_format.ts";
import type { FileStamps } from "./_file_stamps.ts";
import {
  Checker,
  checkTemplate,
  isPlainObject,
  optionalInt,
  optionalString,
  requireString,
  unknownKeyMessage,
} from "./_checker.ts";
import { TaskFileError } from "./issues.ts";
import {
  KNOWN_METRICS,
  OUTPUT_TYPE_ALIASES,
  OUTPUT_TYPE_SPECS,
  OUTPUT_TYPES,
  type OutputType,
  TASK_DEFAULTS,
  type TaskConfig,
  type TaskDataset,
  type TaskSplits,
  TOP_LEVEL_KEYS,
  UNSUPPORTED_KEYS,
} from "./schema.ts";
import type { MergedTask } from "./source.ts";
import { validateFilters, validateRepeats } from "./validate_filters.ts";
import { validateGeneration } from "./validate_generation.ts";
import { validateMetrics } from "./validate_metrics.ts";

/** Options for {@linkcode validateTask}. */
export interface ValidateTaskOptions {
  /** Metric names to accept. Default: {@linkcode KNOWN_METRICS}. */
  knownMetrics?: readonly string[];
}

/** The task file's keys as data. */
type Data = Record<string, unknown>;

/**
 * Check every section of a merged task file and build its {@linkcode TaskConfig}, or throw a
 * {@linkcode TaskFileError} listing every problem, sorted by file and position. `stamps`
 * records the paths whose existence the result depends on (local datasets).
 */
export function validateTask(
  merged: MergedTask,
  stamps: FileStamps,
  options: ValidateTaskOptions = {},
): TaskConfig {
  const knownMetrics = options.knownMetrics ?? KNOWN_METRICS;
  const data = merged.data;
  const check = new Checker(merged);
  validateKeys(check, data);
  const name = requireString(check, data, "task", "task: my_task");
  const { dataset, splits } = validateDataset(check, data, stamps);
  const fewshot = validateFewshot(check, data);
  const outputType = validateOutputType(check, data);
  const prompts = validatePrompts(check, data, outputType);
  const generationKwargs = validateGeneration(check, data.generation_kwargs, {
    fewshotDelimiter: prompts.fewshotDelimiter,
  });
  const repeats = validateRepeats(check, data);
  const filters = validateFilters(check, data.filter_list, { outputType, repeats });
  const metrics = validateMetrics(check, data.metric_list, { outputType, knownMetrics });
  const metadata = validateMetadata(check, data);
  const decontamination = validateDecontamination(check, data);
  if (dataset) checkLocalDataset(check, dataset, stamps);

  if (check.issues.length) {
    check.issues.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
    throw new TaskFileError(check.issues);
  }
  const { docToChoice, ...prompt } = prompts;
  const { reference, ...meta } = metadata;
  const { docToDecontaminationQuery, ...decontaminate } = decontamination;
  const task: TaskConfig = {
    name: name!,
    file: merged.file,
    includes: merged.includes,
    dataset: dataset!,
    splits,
    ...fewshot,
    outputType,
    docToText: prompt.docToText!,
    docToTarget: prompt.docToTarget!,
    targetDelimiter: prompt.targetDelimiter,
    fewshotDelimiter: prompt.fewshotDelimiter,
    description: prompt.description,
    generationKwargs,
    filters,
    repeats,
    metrics,
    version: meta.version,
    tags: meta.tags,
    ...decontaminate,
    yaml: data,
  };
  if (docToChoice !== undefined) task.docToChoice = docToChoice;
  if (reference !== undefined) task.reference = reference;
  if (docToDecontaminationQuery !== undefined) {
    task.docToDecontaminationQuery = docToDecontaminationQuery;
  }
  return task;
}

/** Top-level keys: known ones pass; lm-eval keys tunebook lacks say what to do; typos get a hint. */
function validateKeys(check: Checker, data: Data): void {
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
}

/** `dataset_path`, `dataset_name` and the split names; at least one split to evaluate on. */
function validateDataset(
  check: Checker,
  data: Data,
  stamps: FileStamps,
): { dataset?: TaskDataset; splits: TaskSplits } {
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
  if (datasetPath === undefined) return { splits };
  const owner = check.ownerOf("dataset_path");
  return { dataset: resolveDataset(datasetPath, dirname(owner.file), stamps, datasetName), splits };
}

/**
 * `hf:owner/name` is a Hugging Face dataset; `./`, `../` and absolute paths are local; a bare
 * `owner/name` (lm-eval's spelling) is local when it exists next to the task file, else the Hub.
 */
function resolveDataset(
  path: string,
  baseDir: string,
  stamps: FileStamps,
  config?: string,
): TaskDataset {
  const withConfig = config !== undefined ? { config } : {};
  if (path.startsWith("hf:")) return { path, source: path, kind: "hub", baseDir, ...withConfig };
  const local = resolve(baseDir, path);
  const explicitLocal = path.startsWith("./") || path.startsWith("../") || isAbsolute(path);
  if (!explicitLocal && /^[\w.-]+\/[\w.-]+$/.test(path) && !stamps.exists(local)) {
    return { path, source: `hf:${path}`, kind: "hub", baseDir, ...withConfig };
  }
  return { path, source: local, kind: "local", baseDir, ...withConfig };
}

/** A local dataset must exist. */
function checkLocalDataset(check: Checker, dataset: TaskDataset, stamps: FileStamps): void {
  if (dataset.kind === "local" && !stamps.exists(dataset.source)) {
    check.at(
      ["dataset_path"],
      `local dataset ${displayPath(dataset.source)} not found; paths are relative to ${
        displayPath(dataset.baseDir)
      } (use hf:owner/name for a Hugging Face dataset)`,
    );
  }
}

/** `num_fewshot` and `fewshot_seed`. */
function validateFewshot(
  check: Checker,
  data: Data,
): Pick<TaskConfig, "numFewshot" | "fewshotSeed"> {
  return {
    numFewshot: optionalInt(check, data, "num_fewshot", 0) ?? TASK_DEFAULTS.numFewshot,
    fewshotSeed: optionalInt(check, data, "fewshot_seed") ?? TASK_DEFAULTS.fewshotSeed,
  };
}

/** `output_type`: a registered output type or one of its aliases. */
function validateOutputType(check: Checker, data: Data): OutputType {
  const raw = data.output_type;
  if (raw === undefined) return TASK_DEFAULTS.outputType;
  const normalized = typeof raw === "string" ? (OUTPUT_TYPE_ALIASES[raw] ?? raw) : raw;
  if (typeof normalized === "string" && Object.hasOwn(OUTPUT_TYPE_SPECS, normalized)) {
    return normalized as OutputType;
  }
  check.at(
    ["output_type"],
    `unknown output type ${JSON.stringify(raw)}; use one of ${
      OUTPUT_TYPES.join(", ")
    } (generate is accepted for generate_until)`,
  );
  return TASK_DEFAULTS.outputType;
}

/** The prompt fields of {@linkcode TaskConfig}, as far as they validated. */
interface Prompts {
  docToText?: string;
  docToTarget?: string | number;
  docToChoice?: string | string[];
  targetDelimiter: string;
  fewshotDelimiter: string;
  description: string;
}

/** `doc_to_text`, `doc_to_target`, `doc_to_choice`, the delimiters and `description`; templates parse. */
function validatePrompts(check: Checker, data: Data, outputType: OutputType): Prompts {
  // lm-eval allows an empty doc_to_text (wikitext's loglikelihood_rolling task has one).
  let docToText: string | undefined;
  if (data.doc_to_text === undefined || data.doc_to_text === null) {
    check.missing("doc_to_text", 'doc_to_text: "Question: {{question}}\\nAnswer:"');
  } else docToText = optionalString(check, data, "doc_to_text", true);
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
  const docToChoice = validateChoices(check, data, outputType);

  for (
    const [key, value] of [
      ["doc_to_text", docToText],
      ["doc_to_target", docToTarget],
      ["description", data.description],
      ["doc_to_decontamination_query", data.doc_to_decontamination_query],
    ] as const
  ) {
    if (typeof value === "string") checkTemplate(check, [key], value);
  }
  if (typeof docToChoice === "string") checkTemplate(check, ["doc_to_choice"], docToChoice);
  else docToChoice?.forEach((t, i) => checkTemplate(check, ["doc_to_choice", i], t));

  return {
    docToText,
    docToTarget,
    docToChoice,
    targetDelimiter: optionalString(check, data, "target_delimiter", true) ??
      TASK_DEFAULTS.targetDelimiter,
    fewshotDelimiter: optionalString(check, data, "fewshot_delimiter", true) ??
      TASK_DEFAULTS.fewshotDelimiter,
    description: optionalString(check, data, "description", true) ?? TASK_DEFAULTS.description,
  };
}

/** `doc_to_choice`: a template, a column name or a list of templates; required where the output type needs choices. */
function validateChoices(
  check: Checker,
  data: Data,
  outputType: OutputType,
): string | string[] | undefined {
  const raw = data.doc_to_choice;
  if (raw === undefined) {
    if (OUTPUT_TYPE_SPECS[outputType].needsChoices) {
      check.missing("doc_to_choice", 'doc_to_choice: ["yes", "no"]');
    }
    return undefined;
  }
  if (typeof raw === "string") return raw;
  if (
    Array.isArray(raw) && raw.length > 0 &&
    raw.every((x) => typeof x === "string" || typeof x === "number")
  ) {
    return raw.map(String);
  }
  check.at(
    ["doc_to_choice"],
    `expected a template rendering to a list, a column name, or a non-empty list of strings; got ${
      describe(raw)
    }`,
  );
  return undefined;
}

/** `metadata.version`, `tag` / `group` and `reference`. */
function validateMetadata(
  check: Checker,
  data: Data,
): Pick<TaskConfig, "version" | "tags" | "reference"> {
  let version: number | string = TASK_DEFAULTS.version;
  const meta = data.metadata;
  if (meta !== undefined) {
    if (!isPlainObject(meta)) {
      check.at(
        ["metadata"],
        `expected a mapping, got ${describe(meta)}; write e.g. metadata: {version: 1.0}`,
      );
    } else if (meta.version !== undefined) {
      if (typeof meta.version === "number" || typeof meta.version === "string") {
        version = meta.version;
      } else {
        check.at(
          ["metadata", "version"],
          `expected a number or string, got ${describe(meta.version)}; write e.g. version: 1.0`,
        );
      }
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
  return { version, tags, ...(reference !== undefined ? { reference } : {}) };
}

/** `should_decontaminate` and `doc_to_decontamination_query`. */
function validateDecontamination(
  check: Checker,
  data: Data,
): Pick<TaskConfig, "shouldDecontaminate" | "docToDecontaminationQuery"> {
  let shouldDecontaminate = false;
  if (data.should_decontaminate !== undefined) {
    if (typeof data.should_decontaminate === "boolean") {
      shouldDecontaminate = data.should_decontaminate;
    } else {
      check.at(
        ["should_decontaminate"],
        `expected true or false, got ${describe(data.should_decontaminate)}`,
      );
    }
  }
  const query = optionalString(check, data, "doc_to_decontamination_query");
  return {
    shouldDecontaminate,
    ...(query !== undefined ? { docToDecontaminationQuery: query } : {}),
  };
}
