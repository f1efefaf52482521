/**
 * Validation of a task file's `metric_list`: registered metric names that fit the output type,
 * with their aggregation, direction and options (`exact_match`'s `ignore_case` …).
 * @module
 */
import { closestName } from "../../util/suggest.ts";
import { compilePyRegex, PyRegexError } from "../../util/py_regex.ts";
import { getLoglikelihoodMetric, getMetric, type MetricOptionType } from "../metrics/mod.ts";
import { describe } from "./_format.ts";
import { type Checker, isPlainObject, unknownKeyMessage } from "./_checker.ts";
import {
  AGGREGATIONS,
  CORPUS_METRICS,
  METRIC_KEYS,
  METRIC_OUTPUT_TYPES,
  type MetricSpec,
  OUTPUT_TYPES,
  type OutputType,
  TASK_DEFAULTS,
} from "./schema.ts";

/**
 * `metric_list`: registered names that fit the output type, each once, with an aggregation and
 * direction; the output type's defaults when absent.
 */
export function validateMetrics(
  check: Checker,
  raw: unknown,
  { outputType, knownMetrics, processResults }: Omit<MetricContext, "seen">,
): MetricSpec[] {
  if (raw === undefined) {
    return TASK_DEFAULTS.metrics[outputType].map((metric) => ({
      metric,
      aggregation: CORPUS_METRICS.includes(metric) ? "corpus" : TASK_DEFAULTS.aggregation,
      higherIsBetter: directionOf(metric),
      options: {},
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
    const spec = validateMetricEntry(check, entry, ["metric_list", i], {
      outputType,
      knownMetrics,
      processResults,
      seen,
    });
    if (spec) out.push(spec);
  });
  return out;
}

/** What `metric_list` and each of its entries is checked against. */
export interface MetricContext {
  /** The task's output type: a metric must apply to it. */
  outputType: OutputType;
  /** Metric names to accept. */
  knownMetrics: readonly string[];
  /**
   * Whether the task scores items with a `process_results` hook: then a metric is whatever name
   * the hook returns (as in lm-eval), and only its aggregation is checked. Default: false.
   */
  processResults?: boolean;
  /** Metrics of earlier entries; this entry's is added. */
  seen: Set<string>;
}

/** One `metric_list` entry, or undefined with its issues reported. */
function validateMetricEntry(
  check: Checker,
  entry: unknown,
  path: (string | number)[],
  { outputType, knownMetrics, processResults = false, seen }: MetricContext,
): MetricSpec | undefined {
  if (!isPlainObject(entry)) {
    check.at(path, `expected a mapping like {metric: acc}, got ${describe(entry)}`);
    return undefined;
  }
  const metric = entry.metric;
  const optionTypes = typeof metric === "string" ? metricOptions(metric) : {};
  for (const key of Object.keys(entry)) {
    if (!(METRIC_KEYS as readonly string[]).includes(key) && !Object.hasOwn(optionTypes, key)) {
      const keys = [...METRIC_KEYS, ...Object.keys(optionTypes)];
      check.at([...path, key], unknownKeyMessage(key, keys), true);
    }
  }
  if (typeof metric !== "string") {
    check.at(
      metric === undefined ? path : [...path, "metric"],
      `metric name is missing or not a string; write e.g. - metric: acc`,
    );
    return undefined;
  }
  if (!processResults && !knownMetrics.includes(metric)) {
    const hint = closestName(metric, knownMetrics);
    check.at(
      [...path, "metric"],
      `unknown metric "${metric}"${hint ? ` (did you mean "${hint}"?)` : ""}; known metrics: ${
        knownMetrics.join(", ")
      }`,
    );
    return undefined;
  }
  const types = processResults ? undefined : METRIC_OUTPUT_TYPES[metric];
  if (types && !types.includes(outputType)) {
    const fitting = knownMetrics.filter((m) =>
      (METRIC_OUTPUT_TYPES[m] ?? OUTPUT_TYPES).includes(outputType)
    );
    check.at(
      [...path, "metric"],
      `metric "${metric}" does not apply to ${outputType} tasks; use one of ${fitting.join(", ")}`,
    );
    return undefined;
  }
  if (seen.has(metric)) {
    check.at([...path, "metric"], `metric "${metric}" is listed twice; remove one`);
    return undefined;
  }
  seen.add(metric);
  const corpus = CORPUS_METRICS.includes(metric);
  let aggregation: MetricSpec["aggregation"] = corpus ? "corpus" : TASK_DEFAULTS.aggregation;
  const agg = entry.aggregation;
  const own = getLoglikelihoodMetric(metric)?.aggregation;
  if (agg !== undefined) {
    if (corpus) {
      if (agg !== metric && agg !== "corpus" && agg !== own) {
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
  let higherIsBetter = directionOf(metric);
  if (entry.higher_is_better !== undefined) {
    if (typeof entry.higher_is_better === "boolean") higherIsBetter = entry.higher_is_better;
    else {
      check.at(
        [...path, "higher_is_better"],
        `expected true or false, got ${describe(entry.higher_is_better)}`,
      );
    }
  }
  const options: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(optionTypes)) {
    if (entry[key] === undefined) continue;
    if (checkOption(check, [...path, key], entry[key], type)) options[key] = entry[key];
  }
  return { metric, aggregation, higherIsBetter, options };
}

/** The options a metric takes in its `metric_list` entry (none for most). */
function metricOptions(metric: string): Readonly<Record<string, MetricOptionType>> {
  try {
    const m = getMetric(metric);
    return (m.kind === "item" && m.options) || {};
  } catch {
    return {};
  }
}

/** Whether higher is better for a metric the entry does not say it for. */
function directionOf(metric: string): boolean {
  const ll = getLoglikelihoodMetric(metric);
  if (ll) return ll.higherIsBetter;
  try {
    return getMetric(metric).higherIsBetter;
  } catch {
    return TASK_DEFAULTS.higherIsBetter; // acc_norm, or a name the caller added
  }
}

/** One metric option's value: its type, and regexes that compile as Python's would. */
function checkOption(
  check: Checker,
  path: (string | number)[],
  value: unknown,
  type: MetricOptionType,
): boolean {
  if (type === "boolean") {
    if (typeof value === "boolean") return true;
    check.at(path, `expected true or false, got ${describe(value)}`);
    return false;
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    check.at(
      path,
      `expected a list of regular expressions, got ${describe(value)}; write e.g. ` +
        `regexes_to_ignore: [",", "\\$"]`,
    );
    return false;
  }
  let ok = true;
  value.forEach((pattern, i) => {
    try {
      compilePyRegex(pattern);
    } catch (e) {
      if (!(e instanceof PyRegexError)) throw e;
      check.at([...path, i], `${e.message}; fix the pattern`);
      ok = false;
    }
  });
  return ok;
}
