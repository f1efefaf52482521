/**
 * Validation of a merged task file into a {@linkcode TaskConfig}: one validator per section of
 * the file (keys, name, dataset and splits, few-shot, output type, prompts, generation, metrics,
 * metadata, decontamination), each reporting into one {@linkcode Checker} so that every problem
 * in the file comes back at once, sorted by position.
 *
 * A new lm-eval key gets its own section validator here (and its name in `schema.ts`).
 * @module
 */
import { describe } from "./_format.ts";
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
  type FunctionRef,
  HOOK_KEYS,
  isFunctionRef,
  KNOWN_METRICS,
  OUTPUT_TYPE_ALIASES,
  OUTPUT_TYPE_SPECS,
  OUTPUT_TYPES,
  type OutputType,
  TASK_DEFAULTS,
  type TaskConfig,
  TOP_LEVEL_KEYS,
  UNSUPPORTED_KEYS,
} from "./schema.ts";
import type { MergedTask } from "./source.ts";
import { validateDataset } from "./validate_dataset.ts";
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
  validateHookPlaces(check, data);
  const name = requireString(check, data, "task", "task: my_task");
  const { dataset, splits } = validateDataset(check, data, stamps);
  const fewshot = validateFewshot(check, data);
  const outputType = validateOutputType(check, data);
  const prompts = validatePrompts(check, data, outputType);
  const hooks = validateHooks(check, data);
  const generationKwargs = validateGeneration(check, data.generation_kwargs, {
    fewshotDelimiter: prompts.fewshotDelimiter,
  });
  const repeats = validateRepeats(check, data);
  const filters = validateFilters(check, data.filter_list, { outputType, repeats });
  const metrics = validateMetrics(check, data.metric_list, {
    outputType,
    knownMetrics,
    processResults: hooks.processResults !== undefined,
  });
  const metadata = validateMetadata(check, data);
  const decontamination = validateDecontamination(check, data);
  const alias = optionalString(check, data, "task_alias");

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
  if (hooks.processDocs) task.processDocs = hooks.processDocs;
  if (hooks.processResults) task.processResults = hooks.processResults;
  if (alias !== undefined) task.alias = alias;
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

/**
 * `!function` is lm-eval's way to name Python code; tunebook runs it for the keys in
 * {@linkcode HOOK_KEYS} and reports it anywhere else.
 */
function validateHookPlaces(check: Checker, data: Data): void {
  const visit = (value: unknown, path: (string | number)[]) => {
    if (isFunctionRef(value)) {
      if (!(path.length === 1 && (HOOK_KEYS as readonly string[]).includes(String(path[0])))) {
        check.at(
          path,
          `!function ${value.spec} is not supported here; tunebook runs Python hooks for ${
            HOOK_KEYS.join(", ")
          } (the ${String(path[0])} key needs a value written out in the task file)`,
        );
      }
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, [...path, i]));
    else if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
    }
  };
  for (const [key, value] of Object.entries(data)) {
    if (key === "class") continue; // reported as a Python task class by the registry
    visit(value, [key]);
  }
}

/** `process_docs` and `process_results`: Python hooks (`!function module.fn`) when set. */
function validateHooks(
  check: Checker,
  data: Data,
): { processDocs?: FunctionRef; processResults?: FunctionRef } {
  const out: { processDocs?: FunctionRef; processResults?: FunctionRef } = {};
  for (
    const [key, field] of [["process_docs", "processDocs"], [
      "process_results",
      "processResults",
    ]] as const
  ) {
    const v = data[key];
    if (v === undefined || v === null) continue;
    if (isFunctionRef(v)) {
      if (!v.name || !v.spec.includes(".")) {
        check.at(
          [key],
          `!function ${v.spec}: write it as module.function (e.g. !function utils.${key})`,
        );
      } else out[field] = v;
    } else {
      check.at(
        [key],
        `expected a Python hook, got ${describe(v)}; write ${key}: !function utils.${key} ` +
          `(a function in utils.py next to this file)`,
      );
    }
  }
  return out;
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
  docToText?: string | FunctionRef;
  docToTarget?: string | number | FunctionRef;
  docToChoice?: string | string[] | FunctionRef;
  targetDelimiter: string;
  fewshotDelimiter: string;
  description: string;
}

/** `doc_to_text`, `doc_to_target`, `doc_to_choice`, the delimiters and `description`; templates parse. */
function validatePrompts(check: Checker, data: Data, outputType: OutputType): Prompts {
  // lm-eval allows an empty doc_to_text (wikitext's loglikelihood_rolling task has one).
  let docToText: string | FunctionRef | undefined;
  if (data.doc_to_text === undefined || data.doc_to_text === null) {
    check.missing("doc_to_text", 'doc_to_text: "Question: {{question}}\\nAnswer:"');
  } else if (isFunctionRef(data.doc_to_text)) docToText = hookRef(check, data, "doc_to_text");
  else docToText = optionalString(check, data, "doc_to_text", true);
  let docToTarget: string | number | FunctionRef | undefined;
  if (data.doc_to_target === undefined) {
    check.missing("doc_to_target", 'doc_to_target: "{{answer}}" (or a choice index such as 3)');
  } else if (isFunctionRef(data.doc_to_target)) {
    docToTarget = hookRef(check, data, "doc_to_target");
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
  else if (Array.isArray(docToChoice)) {
    docToChoice.forEach((t, i) => checkTemplate(check, ["doc_to_choice", i], t));
  }

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

/** A `!function` value of a prompt field, checked to name `module.function`. */
function hookRef(check: Checker, data: Data, key: string): FunctionRef | undefined {
  const ref = data[key] as FunctionRef;
  if (!ref.name || !ref.spec.includes(".")) {
    check.at(
      [key],
      `!function ${ref.spec}: write it as module.function (e.g. !function utils.${key})`,
    );
    return undefined;
  }
  return ref;
}

/**
 * `doc_to_choice`: a template, a column name, a list of templates, a mapping (its values, as in
 * lm-eval) or a Python hook; required where the output type needs choices.
 */
function validateChoices(
  check: Checker,
  data: Data,
  outputType: OutputType,
): string | string[] | FunctionRef | undefined {
  const raw = data.doc_to_choice;
  if (raw === undefined || raw === null) {
    if (OUTPUT_TYPE_SPECS[outputType].needsChoices) {
      check.missing("doc_to_choice", 'doc_to_choice: ["yes", "no"]');
    }
    return undefined;
  }
  if (isFunctionRef(raw)) return hookRef(check, data, "doc_to_choice");
  if (typeof raw === "string") return raw;
  if (
    isPlainObject(raw) && Object.keys(raw).length > 0 &&
    Object.values(raw).every((x) => typeof x === "string" || typeof x === "number")
  ) {
    return Object.values(raw).map(String);
  }
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
  let meta = data.metadata;
  // lm-eval's older files write metadata as a list of mappings (`metadata: [{version: 1.0}]`)
  if (Array.isArray(meta) && meta.every(isPlainObject)) meta = Object.assign({}, ...meta);
  if (meta !== undefined && meta !== null) {
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
