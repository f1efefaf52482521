/**
 * Answer-extraction filters: lm-evaluation-harness's `filter_list`, run between a generation
 * task's model outputs and its metrics. A task names one or more pipelines; each is a `name` and
 * a list of filter functions applied in order to a document's responses (one per `repeats`), and
 * every metric is reported once per pipeline as `<metric>,<name>` (`exact_match,strict-match`),
 * as lm-eval reports it.
 *
 * ```yaml
 * filter_list:
 *   - name: strict-match
 *     filter:
 *       - function: regex
 *         regex_pattern: "#### (\\-?[0-9\\.\\,]+)"
 *       - function: take_first
 *   - name: flexible-extract
 *     filter:
 *       - function: regex
 *         group_select: -1
 *         regex_pattern: "(-?[$0-9.,]{2,})|(-?[0-9]+)"
 *       - function: take_first
 * ```
 *
 * The functions, one family per file as in lm-eval's `lm_eval/filters/` (the behaviour of
 * lm-eval at commit a06c80e63936672a57bfd2deda7b4b99c94bf4c8):
 *
 * | function            | file                | what                                                           |
 * | ------------------- | ------------------- | -------------------------------------------------------------- |
 * | `regex`             | `extraction.ts`     | `re.findall`, the `group_select`-th match, stripped; `fallback` |
 * | `remove_whitespace` | `extraction.ts`     | leading whitespace removed (`str.lstrip`)                      |
 * | `lowercase`         | `transformation.ts` | `str.lower`                                                    |
 * | `uppercase`         | `transformation.ts` | `str.upper`                                                    |
 * | `take_first`        | `selection.ts`      | the first response                                             |
 * | `take_first_k`      | `selection.ts`      | the first `k` responses (needs `repeats` ≥ k)                  |
 * | `majority_vote`     | `selection.ts`      | the most frequent response (the first seen among ties)         |
 *
 * A pipeline must leave one response per document (lm-eval's metrics take one): with `repeats`
 * above 1 it ends in `take_first` or `majority_vote`. Without a `filter_list` a task's
 * prediction is its one generation (lm-eval's default pipeline, `take_first`), and its metrics
 * keep their plain names.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { compileFilter } from "./mod.ts";
 * const strict = compileFilter({
 *   name: "strict-match",
 *   steps: [{ function: "regex", options: { regex_pattern: "#### (\\-?[0-9\\.\\,]+)" } }, {
 *     function: "take_first",
 *     options: {},
 *   }],
 * });
 * strictEqual(strict.apply(["so 6 + 1 = 7\n#### 7"]), "7");
 * strictEqual(strict.apply(["I think 7"]), "[invalid]");
 * ```
 * @module
 */
import { closestName } from "../../util/suggest.ts";
import { majorityVote, takeFirst, takeFirstK } from "./selection.ts";
import { regexFilter, removeWhitespace } from "./extraction.ts";
import { lowercase, uppercase } from "./transformation.ts";

/** The type of a filter option in a task file. */
export type FilterOptionType = "string" | "integer" | "regex";

/** One option of a filter function. */
export interface FilterOption {
  /** What the option takes. */
  type: FilterOptionType;
  /** Its value when the task file leaves it out; absent for a required option. */
  default?: string | number;
  /** One line: what it does. */
  description: string;
}

/** Responses of one document, in order, as a filter step gets and returns them. */
export type Responses = readonly string[];

/** A filter function as a task file names it (`function: regex`). */
export interface FilterFunction {
  /** The name in `function:`. */
  name: string;
  /** One line: what it does. */
  description: string;
  /** Its options (the other keys of the step), by name. */
  options: Readonly<Record<string, FilterOption>>;
  /**
   * The step with its options (every option present, defaults filled in, types checked).
   * Throws an `Error` saying what is wrong with an option's value.
   */
  create(options: Readonly<Record<string, string | number>>): (responses: Responses) => string[];
  /** Responses per document after the step, given how many come in. Default: as many. */
  count?(responses: number, options: Readonly<Record<string, string | number>>): number;
}

/** One step of a pipeline as a task file writes it. */
export interface FilterStepSpec {
  /** `function:` (a name in {@linkcode listFilterFunctions}). */
  function: string;
  /** The step's other keys. */
  options: Readonly<Record<string, unknown>>;
}

/** One `filter_list` entry: a named pipeline. */
export interface FilterSpec {
  /** `name:`: the suffix of its metrics' keys. */
  name: string;
  /** `filter:`: the steps, in order. */
  steps: readonly FilterStepSpec[];
}

/** A compiled pipeline. */
export interface FilterPipeline {
  /** The pipeline's name. */
  name: string;
  /** The one prediction left from a document's responses. */
  apply(responses: Responses): string;
}

/** A problem with one step or option of a pipeline, for the task validator to place. */
export class FilterSpecError extends Error {
  /**
   * `step`: 0-based step index; `option`: the option's key, when one is at fault; `unknownKey`:
   * the key itself is wrong (not its value).
   */
  constructor(
    message: string,
    readonly step: number,
    readonly option?: string,
    readonly unknownKey = false,
  ) {
    super(message);
    this.name = "FilterSpecError";
  }
}

const FUNCTIONS: readonly FilterFunction[] = [
  regexFilter,
  removeWhitespace,
  lowercase,
  uppercase,
  takeFirst,
  takeFirstK,
  majorityVote,
];

/** lm-eval filter functions tunebook does not run, and why. */
export const UNSUPPORTED_FILTERS: Readonly<Record<string, string>> = {
  custom: "it runs a Python function (filter_fn)",
  map: "it maps responses to arbitrary values; use regex and lowercase/uppercase instead",
  multi_choice_regex: "not supported yet; use regex with a pattern for the answer letters",
  format_span: "not supported",
  regex_pos: "not supported",
  decontaminate: "not supported",
};

/**
 * Every filter function, in listing order.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { listFilterFunctions } from "./mod.ts";
 * ok(listFilterFunctions().some((f) => f.name === "majority_vote"));
 * ```
 */
export function listFilterFunctions(): FilterFunction[] {
  return [...FUNCTIONS];
}

/**
 * The filter function named `name`, or undefined.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { getFilterFunction } from "./mod.ts";
 * strictEqual(getFilterFunction("regex")?.options.fallback.default, "[invalid]");
 * ```
 */
export function getFilterFunction(name: string): FilterFunction | undefined {
  return FUNCTIONS.find((f) => f.name === name);
}

/** A step's options with defaults filled in and types checked; throws {@linkcode FilterSpecError}. */
function stepOptions(
  fn: FilterFunction,
  step: FilterStepSpec,
  index: number,
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const key of Object.keys(step.options)) {
    if (!Object.hasOwn(fn.options, key)) {
      const known = Object.keys(fn.options);
      throw new FilterSpecError(
        `filter ${fn.name} has no option "${key}"; ${
          known.length ? `its options: ${known.join(", ")}` : "it takes none"
        }`,
        index,
        key,
        true,
      );
    }
  }
  for (const [key, spec] of Object.entries(fn.options)) {
    const value = step.options[key] ?? spec.default;
    if (value === undefined) {
      throw new FilterSpecError(`filter ${fn.name} needs ${key} (${spec.description})`, index);
    }
    const ok = spec.type === "integer" ? Number.isInteger(value) : typeof value === "string";
    if (!ok) {
      throw new FilterSpecError(
        `${fn.name}.${key} must be ${spec.type === "integer" ? "an integer" : "a string"}, got ${
          JSON.stringify(value)
        }`,
        index,
        key,
      );
    }
    out[key] = value as string | number;
  }
  return out;
}

/**
 * Compile a pipeline. `repeats` (responses per document, default 1) is checked against what the
 * pipeline leaves: it must end with one. Throws {@linkcode FilterSpecError} naming the step and
 * option at fault (unknown function, unknown option, wrong type, a regex Python would reject).
 *
 * @example
 * ```ts
 * import { strictEqual, throws } from "node:assert/strict";
 * import { compileFilter } from "./mod.ts";
 * const vote = compileFilter({
 *   name: "maj@3",
 *   steps: [{ function: "majority_vote", options: {} }, { function: "take_first", options: {} }],
 * }, 3);
 * strictEqual(vote.apply(["7", "8", "8"]), "8");
 * throws(() => compileFilter({ name: "x", steps: [{ function: "regexp", options: {} }] }), /did you mean "regex"/);
 * ```
 */
export function compileFilter(spec: FilterSpec, repeats = 1): FilterPipeline {
  let count = repeats;
  const steps = spec.steps.map((step, i) => {
    const fn = getFilterFunction(step.function);
    if (!fn) {
      const why = UNSUPPORTED_FILTERS[step.function];
      const names = FUNCTIONS.map((f) => f.name);
      const hint = closestName(String(step.function), names);
      throw new FilterSpecError(
        why
          ? `lm-eval's filter ${step.function} is not supported: ${why}`
          : `unknown filter function "${step.function}"${
            hint ? ` (did you mean "${hint}"?)` : ""
          }; known: ${names.join(", ")}`,
        i,
        "function",
      );
    }
    const options = stepOptions(fn, step, i);
    let run: (responses: Responses) => string[];
    try {
      run = fn.create(options);
    } catch (e) {
      throw new FilterSpecError((e as Error).message, i, Object.keys(fn.options)[0]);
    }
    const next = fn.count ? fn.count(count, options) : count;
    if (next > count) {
      throw new FilterSpecError(
        `${fn.name} needs at least ${next} responses per document but gets ${count}; ` +
          `raise repeats to ${next}`,
        i,
      );
    }
    count = next;
    return run;
  });
  if (count !== 1) {
    throw new FilterSpecError(
      `pipeline "${spec.name}" leaves ${count} responses per document; metrics take one: ` +
        `end it with take_first (or majority_vote)`,
      Math.max(0, spec.steps.length - 1),
    );
  }
  return {
    name: spec.name,
    apply(responses: Responses): string {
      let out: Responses = responses;
      for (const step of steps) out = step(out);
      return out[0];
    },
  };
}
