/**
 * Validation of a task file's `filter_list` (lm-eval's answer-extraction pipelines) against the
 * filter functions of `lib/eval/filters/`, and of `repeats`. Every problem is placed at its key:
 * `filter_list.0.filter.1.regex_pattern`.
 * @module
 */
import { compileFilter, type FilterSpec, FilterSpecError } from "../filters/mod.ts";
import { describe } from "./_format.ts";
import { type Checker, isPlainObject, optionalInt, unknownKeyMessage } from "./_checker.ts";
import { FILTER_KEYS, type OutputType, TASK_DEFAULTS } from "./schema.ts";

/** What `filter_list` is validated against. */
export interface FilterContext {
  /** The task's output type: filters apply to generation tasks. */
  outputType: OutputType;
  /** The task's `repeats`: responses per document that go into each pipeline. */
  repeats: number;
}

/** `repeats`: an integer ≥ 1; the default (1) when absent. */
export function validateRepeats(check: Checker, data: Record<string, unknown>): number {
  return optionalInt(check, data, "repeats", 1) ?? TASK_DEFAULTS.repeats;
}

/**
 * `filter_list`: named pipelines of known filter functions with valid options, each leaving one
 * response per document; none (`[]`) when absent.
 */
export function validateFilters(
  check: Checker,
  raw: unknown,
  { outputType, repeats }: FilterContext,
): FilterSpec[] {
  if (raw === undefined || raw === null) return [];
  if (outputType !== "generate_until") {
    check.at(
      ["filter_list"],
      `filters extract answers from generated text; ${outputType} tasks have none to filter. ` +
        `Remove filter_list, or use output_type: generate_until`,
    );
    return [];
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    check.at(
      ["filter_list"],
      `expected a non-empty list of {name, filter} pipelines, got ${describe(raw)}; write e.g. ` +
        `filter_list: [{name: strict-match, filter: [{function: regex}, {function: take_first}]}]`,
    );
    return [];
  }
  const out: FilterSpec[] = [];
  const names = new Set<string>();
  raw.forEach((entry, i) => {
    const path = ["filter_list", i];
    if (!isPlainObject(entry)) {
      check.at(path, `expected a mapping {name: ..., filter: [...]}, got ${describe(entry)}`);
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!(FILTER_KEYS as readonly string[]).includes(key)) {
        check.at([...path, key], unknownKeyMessage(key, FILTER_KEYS), true);
      }
    }
    const name = entry.name;
    if (typeof name !== "string" || name === "") {
      check.at(
        name === undefined ? path : [...path, "name"],
        `each pipeline needs a name (its metrics are reported as <metric>,<name>); write e.g. ` +
          `name: strict-match`,
      );
      return;
    }
    if (names.has(name)) {
      check.at([...path, "name"], `pipeline name "${name}" is used twice; rename one`);
      return;
    }
    names.add(name);
    const steps = entry.filter;
    if (!Array.isArray(steps) || steps.length === 0) {
      check.at(
        steps === undefined ? path : [...path, "filter"],
        `expected a non-empty list of steps under filter, got ${describe(steps)}; write e.g. ` +
          `filter: [{function: take_first}]`,
      );
      return;
    }
    const spec: FilterSpec = { name, steps: [] };
    let ok = true;
    const parsed = steps.map((step, j) => {
      if (!isPlainObject(step) || typeof step.function !== "string") {
        check.at(
          [...path, "filter", j],
          `expected a step like {function: regex, regex_pattern: "..."}, got ${describe(step)}`,
        );
        ok = false;
        return undefined;
      }
      const { function: fn, ...options } = step;
      return { function: fn as string, options };
    });
    if (!ok) return;
    spec.steps = parsed as FilterSpec["steps"];
    try {
      compileFilter(spec, repeats);
    } catch (e) {
      if (!(e instanceof FilterSpecError)) throw e;
      const at = [...path, "filter", e.step];
      check.at(e.option !== undefined ? [...at, e.option] : at, e.message, e.unknownKey);
      return;
    }
    out.push(spec);
  });
  return out;
}
