/**
 * Validation of a task file's `generation_kwargs`: stop strings, the token budget and decoding.
 * @module
 */
import { describe } from "./_format.ts";
import { type Checker, isPlainObject, unknownKeyMessage } from "./_checker.ts";
import {
  GENERATION_KEYS,
  type GenerationKwargs,
  TASK_DEFAULTS,
  UNSUPPORTED_GENERATION_KEYS,
} from "./schema.ts";

/** What `generation_kwargs` is validated against. */
export interface GenerationContext {
  /** The task's `fewshot_delimiter`: the default stop string. */
  fewshotDelimiter: string;
}

/** `generation_kwargs`: stop strings, token budget, decoding; the defaults when absent. */
export function validateGeneration(
  check: Checker,
  raw: unknown,
  { fewshotDelimiter }: GenerationContext,
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
    } else {
      check.at(
        ["generation_kwargs", "until"],
        `expected a list of non-empty stop strings, got ${describe(u)}; write e.g. until: ["\\n"]`,
      );
    }
  }
  if (raw.max_gen_toks !== undefined) {
    const m = raw.max_gen_toks;
    if (Number.isInteger(m) && (m as number) > 0) out.maxGenToks = m as number;
    else {
      check.at(
        ["generation_kwargs", "max_gen_toks"],
        `expected a positive integer, got ${describe(m)}; write e.g. max_gen_toks: 64`,
      );
    }
  }
  if (raw.temperature !== undefined) {
    const t = raw.temperature;
    if (typeof t === "number" && t >= 0) out.temperature = t;
    else {
      check.at(
        ["generation_kwargs", "temperature"],
        `expected a number >= 0, got ${describe(t)}; write temperature: 0 for greedy decoding`,
      );
    }
  }
  if (raw.do_sample !== undefined) {
    if (typeof raw.do_sample === "boolean") out.doSample = raw.do_sample;
    else {
      check.at(
        ["generation_kwargs", "do_sample"],
        `expected true or false, got ${describe(raw.do_sample)}`,
      );
    }
  }
  return out;
}
