/**
 * `deno task eval` — evaluate a GGUF model (optionally with LoRA adapters), or a model behind an
 * OpenAI-compatible API, on tasks and print a table.
 *
 *   deno task eval                                   # bundled tiny model, default synthetic suite
 *   deno task eval --model m.gguf --lora a.gguf[:scale] --tasks synth_qa,synth_facts --limit 50
 *   deno task eval --endpoint http://127.0.0.1:8080 --api-model tiny --tasks synth_arithmetic,synth_facts
 *   deno task eval --endpoint http://a:8000,http://b:8000 --api-model Qwen/Qwen2.5-0.5B  # a fleet
 *   deno task eval --endpoint https://api.openai.com/v1 --api-model gpt-4o-mini --chat \
 *                  --price-in 0.00015 --price-out 0.0006 --tasks synth_qa   # key: OPENAI_API_KEY
 *   deno task eval --list                            # task names and tags
 *
 * Results go to results/eval/<run>/{run.json,results.json,samples.jsonl}; an interrupted run
 * resumes when the folder holds the same run (lib/eval/run_folder.ts has the rules).
 * Exit status: 0 done; 1 a failure, or a task that scored no item (results are kept); 2 usage.
 * @module
 */
import { type Backend, createLlamaBackend } from "../eval/backend.ts";
import { createOpenAIBackend, PromptLogprobsUnsupportedError } from "../eval/openai_backend.ts";
import { checkRunName, EVAL_RESULTS_ROOT, RunNameError } from "../eval/run_folder.ts";
import { formatRowErrors, formatRunLine, unscoredTasks } from "../eval/run_summary.ts";
import { DEFAULT_SUITE, runEval } from "../eval/runner.ts";
import { formatResultsTable } from "../eval/table.ts";
import { formatGroupResults } from "../eval/group_results.ts";
import { join } from "node:path";
import {
  findTask,
  formatTaskIssues,
  formatTaskList,
  OUTPUT_TYPE_SPECS,
  taskRegistry,
} from "../eval/task/mod.ts";
import { checkLoraFile, LoraSpecError, parseLoraSpec } from "../llm/lora_spec.ts";
import { DEFAULT_MODEL } from "../llm/model.ts";
import {
  booleanFlag,
  defineCommand,
  enumFlag,
  type FlagValues,
  integerFlag,
  listFlag,
  numberFlag,
  repeatedFlag,
  runCommand,
  stringFlag,
  UsageError,
} from "./_command.ts";

/** Requests in flight against an API endpoint unless --concurrency says otherwise. */
const DEFAULT_API_CONCURRENCY = 4;
const LOCAL = "Local GGUF model";
const API = "OpenAI-compatible API (instead of a GGUF model)";

const flags = {
  model: stringFlag("base GGUF model", {
    placeholder: "FILE.gguf",
    default: DEFAULT_MODEL,
    group: LOCAL,
  }),
  lora: repeatedFlag("apply this GGUF LoRA adapter (SCALE: a number, default 1)", parseLoraSpec, {
    placeholder: "FILE.gguf[:SCALE]",
    group: LOCAL,
  }),
  "lora-mode": enumFlag(
    "how --lora adapters are applied: merge (folded into a cached copy of the weights once: " +
      "the merged model's speed), runtime (llama.cpp adds B·A in every decode), auto (merge an " +
      "f32/f16 base up to 2 GiB, else runtime)",
    ["auto", "merge", "runtime"],
    { default: "auto", group: LOCAL },
  ),
  sequences: integerFlag("parallel sequences in the context", { min: 1, default: 8, group: LOCAL }),
  threads: integerFlag("CPU threads (0: one fewer than the cores)", {
    min: 0,
    default: 0,
    group: LOCAL,
  }),
  cpu: booleanFlag("never use a GPU", { group: LOCAL }),
  endpoint: repeatedFlag(
    "an OpenAI-compatible server (e.g. http://127.0.0.1:8080 or https://api.openai.com/v1);\n" +
      "repeat it (or give a comma list) for servers of the same model: requests are spread\n" +
      "over them and a failed one goes to another. Log-likelihood tasks need prompt\n" +
      "log-probabilities (echo + logprobs: vLLM, deno task serve; not llama-server)",
    (raw) => raw.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    { placeholder: "URL[,URL...]", group: API },
  ),
  "api-model": stringFlag("the model name the server serves", { placeholder: "NAME", group: API }),
  "api-key": stringFlag("bearer key", {
    placeholder: "KEY",
    defaultText: "the OPENAI_API_KEY environment variable",
    group: API,
  }),
  chat: booleanFlag(
    "send the prompt as one user message to /v1/chat/completions (else /v1/completions)",
    { group: API },
  ),
  concurrency: integerFlag("requests in flight per endpoint", {
    min: 1,
    default: DEFAULT_API_CONCURRENCY,
    group: API,
  }),
  "price-in": numberFlag("USD per 1000 prompt tokens, to report the cost (with --price-out)", {
    min: 0,
    placeholder: "USD",
    group: API,
  }),
  "price-out": numberFlag("USD per 1000 completion tokens (with --price-in)", {
    min: 0,
    placeholder: "USD",
    group: API,
  }),
  tasks: listFlag(
    "task names, tags, groups, globs (arithmetic_*), task or group YAML files, or folders",
    {
      item: "task name",
      defaultText: `${
        DEFAULT_SUITE.join(",")
      } (with --chat, or an endpoint without prompt log-probabilities, its generation tasks only)`,
    },
  ),
  limit: integerFlag("evaluate at most N items per task (the first ones)", {
    min: 1,
    defaultText: "every item",
  }),
  "num-fewshot": integerFlag("few-shot examples for every task", {
    min: 0,
    placeholder: "K",
    defaultText: "each task's own",
  }),
  run: stringFlag(
    "run name: results go to results/eval/NAME/ (a folder holding another run is an error)",
    {
      placeholder: "NAME",
      defaultText: "the model file's name, +adapter names; NAME-2, NAME-3, … when that folder " +
        "holds another run",
    },
  ),
  overflow: enumFlag(
    "a prompt longer than the model's window: cut it from the left as lm-eval does (the\n" +
      "answer kept; counted per task as truncated), or skip the item (counted as skipped)",
    ["truncate", "skip"],
    { default: "truncate" },
  ),
  "no-resume": booleanFlag(
    "start the run folder over instead of reusing the items already in samples.jsonl",
  ),
  "include-path": repeatedFlag(
    "a folder of your own task YAML files (lm-eval's --include_path), searched with data/tasks;\n" +
      "its tasks win over data/tasks' of the same name (repeat for more folders)",
    existingFolder,
    { placeholder: "DIR" },
  ),
  list: booleanFlag("print the task names, tags and groups, and exit"),
};

/** A `--include-path` value: a folder that exists. */
function existingFolder(raw: string): string {
  let isDir = false;
  try {
    isDir = Deno.statSync(raw).isDirectory;
  } catch {
    // reported below
  }
  if (!isDir) throw new Error(`a folder of task YAML files; ${raw} is not a folder`);
  return raw;
}

/** `deno task eval`. */
export const command = defineCommand({
  name: "eval",
  summary: "Evaluate a GGUF model (optionally with LoRA adapters), or a model behind an\n" +
    "OpenAI-compatible API, on tasks; print a table and write results/eval/<run>/\n" +
    "{results.json,samples.jsonl}. An interrupted run resumes.",
  exitStatus: "Exit status: 0 done; 1 a failure, or a task that scored no item (results are " +
    "kept); 2 a usage error.",
  usage: [
    "[--model FILE.gguf] [--lora FILE.gguf[:SCALE]]... [--tasks A,B] [options]",
    "--endpoint URL --api-model NAME [--chat] [--tasks A,B] [--limit N] [options]",
    "--list",
  ],
  flags,
  epilog: "Examples:\n" +
    "  deno task eval --model m.gguf --lora a.gguf:0.5 --tasks synth_qa,synth_facts --limit 50\n" +
    "  deno task eval --endpoint https://api.openai.com/v1 --api-model gpt-4o-mini --chat \\\n" +
    "                 --price-in 0.00015 --price-out 0.0006 --tasks synth_qa",
  usageErrors: [LoraSpecError, RunNameError],
  run: async ({ values, given }) => {
    const includePath = values["include-path"];
    if (values.list) {
      const registry = taskRegistry({ includePath });
      console.log(formatTaskList(registry));
      if (registry.issues.length) console.error(`\n${formatTaskIssues(registry)}`);
      return 0;
    }
    if (values.run !== undefined) checkRunName(values.run); // before a model loads
    let backend: Backend;
    if (values.endpoint.length > 0 || values["api-model"] !== undefined) {
      backend = apiBackend(values, given);
    } else {
      const apiOnly = ["api-key", "chat", "concurrency", "price-in", "price-out"];
      const stray = apiOnly.filter((f) => given.has(f));
      if (stray.length) {
        const list = stray.map((f) => `--${f}`).join(", ");
        throw new UsageError(
          `${list}: only for an API endpoint; add --endpoint URL --api-model NAME`,
        );
      }
      for (const adapter of values.lora) checkLoraFile(adapter.path);
      backend = await createLlamaBackend(values.model, {
        lora: values.lora,
        loraMode: values["lora-mode"],
        sequences: values.sequences,
        threads: values.threads,
        gpu: values.cpu ? false : "auto",
      });
    }
    try {
      const results = await runEval(backend, {
        tasks: values.tasks ?? await defaultTasks(backend),
        limit: values.limit,
        numFewshot: values["num-fewshot"],
        run: values.run,
        resume: !values["no-resume"],
        overflow: values.overflow,
        includePath,
      });
      console.log(formatResultsTable(results));
      if (results.groups) console.log(`\n${formatGroupResults(results.groups)}`);
      const rowErrors = formatRowErrors(results);
      if (rowErrors) console.error(`\n${rowErrors}`);
      console.log(`\n${formatRunLine(results, join(EVAL_RESULTS_ROOT, results.run))}`);
      if (results.usage) {
        const { promptTokens, completionTokens, costUsd } = results.usage;
        const cost = costUsd === undefined ? "" : `, estimated cost $${costUsd.toFixed(4)}`;
        console.log(`usage: ${promptTokens} prompt + ${completionTokens} completion tokens${cost}`);
      }
      const unscored = unscoredTasks(results);
      if (unscored.length) {
        console.error(
          `eval: ${unscored.join(", ")} scored no item (every row failed to load or every item ` +
            `was skipped), so there is no result for ${unscored.length > 1 ? "them" : "it"}; ` +
            `fix the rows listed above (results so far are in results/eval/${results.run}/)`,
        );
        return 1;
      }
    } finally {
      await backend.dispose();
    }
    return 0;
  },
});

/**
 * The default suite for this backend: all of it, or its generation tasks when the backend cannot
 * score given text (a chat API, an endpoint without prompt log-probabilities — said once, here).
 */
async function defaultTasks(backend: Backend): Promise<string[]> {
  if (!backend.scoreChoices) return generationSuite("a chat API gives none");
  try {
    await backend.prepare?.({ scoring: true });
  } catch (e) {
    if (!(e instanceof PromptLogprobsUnsupportedError)) throw e;
    return generationSuite(`${e.url} gives none: ${e.detail}`);
  }
  return DEFAULT_SUITE;
}

/**
 * The default suite without the tasks that need log-likelihoods (multiple choice, loglikelihood),
 * for backends that cannot score given text (`why`).
 */
function generationSuite(why: string): string[] {
  const [keep, drop] = [[] as string[], [] as string[]];
  for (const name of DEFAULT_SUITE) {
    (OUTPUT_TYPE_SPECS[findTask(name).outputType].backend === "generate" ? keep : drop).push(name);
  }
  if (drop.length) {
    console.error(
      `note: leaving out ${drop.join(", ")}: they need log-likelihoods, and ${why} ` +
        `(evaluate them with --model FILE.gguf, or an endpoint that returns prompt ` +
        `log-probabilities: vLLM, deno task serve)`,
    );
  }
  return keep;
}

/** The OpenAI-compatible backend from --endpoint/--api-model and their companion flags. */
function apiBackend(values: FlagValues<typeof flags>, given: ReadonlySet<string>): Backend {
  const endpoints = values.endpoint.flat();
  const model = values["api-model"];
  if (endpoints.length === 0 || !model) {
    throw new UsageError(
      "--endpoint URL and --api-model NAME go together (e.g. --endpoint http://127.0.0.1:8080 " +
        "--api-model tiny)",
    );
  }
  const gguf = ["model", "lora", "lora-mode", "cpu", "sequences", "threads"].filter((f) =>
    given.has(f)
  );
  if (gguf.length) {
    throw new UsageError(
      `cannot use ${gguf.map((f) => `--${f}`).join(", ")} with --endpoint: they configure a ` +
        `local GGUF model, and the server runs its own; drop them`,
    );
  }
  const pricePer1kInput = values["price-in"];
  const pricePer1kOutput = values["price-out"];
  if ((pricePer1kInput === undefined) !== (pricePer1kOutput === undefined)) {
    throw new UsageError("--price-in and --price-out go together (USD per 1000 tokens each)");
  }
  return createOpenAIBackend({
    baseUrl: endpoints,
    model,
    apiKey: values["api-key"],
    chat: values.chat,
    concurrency: values.concurrency,
    pricePer1kInput,
    pricePer1kOutput,
  });
}

if (import.meta.main) await runCommand(command);
