/**
 * `deno task eval` — evaluate a GGUF model (optionally with LoRA adapters), or a model behind an
 * OpenAI-compatible API, on tasks and print a table.
 *
 *   deno task eval                                   # bundled tiny model, default synthetic suite
 *   deno task eval --model m.gguf --lora a.gguf[:scale] --tasks synth_qa,synth_facts --limit 50
 *   deno task eval --endpoint http://127.0.0.1:8080 --api-model tiny --tasks synth_arithmetic
 *   deno task eval --endpoint https://api.openai.com/v1 --api-model gpt-4o-mini --chat \
 *                  --price-in 0.00015 --price-out 0.0006 --tasks synth_qa   # key: OPENAI_API_KEY
 *   deno task eval --list                            # task names and tags
 *
 * Results go to results/eval/<run>/{results.json,samples.jsonl}; an interrupted run resumes.
 * @module
 */
import { parseArgs } from "node:util";
import { type Backend, createLlamaBackend } from "../eval/backend.ts";
import { createOpenAIBackend } from "../eval/openai_backend.ts";
import { DEFAULT_SUITE, runEval } from "../eval/runner.ts";
import { formatResultsTable } from "../eval/table.ts";
import { findTask, formatTaskIssues, formatTaskList, taskRegistry } from "../eval/task/mod.ts";
import { DEFAULT_MODEL } from "../llm/model.ts";
import { runMain } from "./_main.ts";

/** Requests in flight against an API endpoint unless --concurrency says otherwise. */
const DEFAULT_API_CONCURRENCY = 4;

const HELP =
  `usage: deno task eval [--model FILE.gguf] [--lora FILE.gguf[:SCALE]]... [--tasks a,b] [--limit N]
                      [--num-fewshot K] [--run NAME] [--no-resume] [--sequences N] [--threads N] [--cpu] [--list]
       deno task eval --endpoint URL --api-model NAME [--api-key KEY] [--chat] [--concurrency N]
                      [--price-in USD_PER_1K --price-out USD_PER_1K] [--tasks a,b] [--limit N] ...
defaults: --model ${DEFAULT_MODEL}  --tasks ${DEFAULT_SUITE.join(",")}
              (with --endpoint, the suite's generation tasks only)
--endpoint    an OpenAI-compatible server (e.g. http://127.0.0.1:8080 or https://api.openai.com/v1)
              instead of a GGUF model; generation tasks only (no prompt log-probabilities)
--api-key     default: the OPENAI_API_KEY environment variable
--chat        send the prompt as one user message to /v1/chat/completions (default /v1/completions)
--price-in/--price-out   USD per 1000 prompt/completion tokens, to report the cost
--concurrency requests in flight (default ${DEFAULT_API_CONCURRENCY})`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        model: { type: "string" },
        lora: { type: "string", multiple: true, default: [] },
        tasks: { type: "string" },
        limit: { type: "string" },
        "num-fewshot": { type: "string" },
        run: { type: "string" },
        "no-resume": { type: "boolean", default: false },
        sequences: { type: "string", default: "8" },
        threads: { type: "string", default: "0" },
        cpu: { type: "boolean", default: false },
        endpoint: { type: "string" },
        "api-model": { type: "string" },
        "api-key": { type: "string" },
        chat: { type: "boolean", default: false },
        concurrency: { type: "string" },
        "price-in": { type: "string" },
        "price-out": { type: "string" },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.list) {
    const registry = taskRegistry();
    console.log(formatTaskList(registry));
    if (registry.issues.length) console.error(`\n${formatTaskIssues(registry)}`);
    return 0;
  }
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`--${name} ${v}: expected a non-negative integer`);
    }
    return n;
  };
  const lora = values.lora.map((spec) => {
    const m = spec.match(/^(.*?)(?::(-?[0-9.]+))?$/)!;
    return { path: m[1], scale: m[2] === undefined ? 1 : Number(m[2]) };
  });
  let backend: Backend;
  if (values.endpoint !== undefined || values["api-model"] !== undefined) {
    backend = apiBackend(values, int);
  } else {
    const apiOnly = ["api-key", "chat", "concurrency", "price-in", "price-out"] as const;
    const stray = apiOnly.filter((f) => values[f] !== undefined && values[f] !== false);
    if (stray.length) {
      const flags = stray.map((f) => `--${f}`).join(", ");
      throw new Error(`${flags}: only for an API endpoint; add --endpoint URL --api-model NAME`);
    }
    backend = await createLlamaBackend(values.model ?? DEFAULT_MODEL, {
      lora,
      sequences: int("sequences", values.sequences),
      threads: int("threads", values.threads),
      gpu: values.cpu ? false : "auto",
    });
  }
  try {
    const results = await runEval(backend, {
      tasks: values.tasks?.split(",").map((s) => s.trim()).filter(Boolean) ??
        (backend.scoreChoices ? undefined : generationSuite()),
      limit: int("limit", values.limit),
      numFewshot: int("num-fewshot", values["num-fewshot"]),
      run: values.run,
      resume: !values["no-resume"],
    });
    console.log(formatResultsTable(results));
    console.log(
      `\n${results.itemsPerSecond} items/s, ${results.tokensPerSecond} tokens/s, ${results.wallSeconds}s ` +
        `-> results/eval/${results.run}/`,
    );
    if (results.usage) {
      const { promptTokens, completionTokens, costUsd } = results.usage;
      const cost = costUsd === undefined ? "" : `, estimated cost $${costUsd.toFixed(4)}`;
      console.log(`usage: ${promptTokens} prompt + ${completionTokens} completion tokens${cost}`);
    }
  } finally {
    await backend.dispose();
  }
  return 0;
}

/** The default suite without its multiple-choice tasks, for backends that cannot score choices. */
function generationSuite(): string[] {
  const [keep, drop] = [[] as string[], [] as string[]];
  for (const name of DEFAULT_SUITE) {
    (findTask(name).outputType === "multiple_choice" ? drop : keep).push(name);
  }
  if (drop.length) {
    console.error(`note: leaving out ${drop.join(", ")} (multiple_choice needs a GGUF model)`);
  }
  return keep;
}

/** The OpenAI-compatible backend from --endpoint/--api-model and their companion flags. */
function apiBackend(
  values: Record<string, string | boolean | string[] | undefined>,
  int: (name: string, v: string | undefined) => number | undefined,
): Backend {
  const endpoint = values.endpoint as string | undefined;
  const model = values["api-model"] as string | undefined;
  if (!endpoint || !model) {
    throw new Error(
      "--endpoint URL and --api-model NAME go together (e.g. --endpoint http://127.0.0.1:8080 " +
        "--api-model tiny)",
    );
  }
  const gguf = [
    values.model !== undefined ? "--model" : "",
    (values.lora as string[]).length ? "--lora" : "",
    values.cpu === true ? "--cpu" : "",
  ].filter(Boolean);
  if (gguf.length) {
    throw new Error(
      `cannot use ${gguf.join(", ")} with --endpoint: they configure a local GGUF model, ` +
        `and the server runs its own; drop them`,
    );
  }
  const price = (name: string): number | undefined => {
    const v = values[name] as string | undefined;
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      throw new Error(`--${name} ${v}: expected USD per 1000 tokens, a number ≥ 0`);
    }
    return n;
  };
  const pricePer1kInput = price("price-in");
  const pricePer1kOutput = price("price-out");
  if ((pricePer1kInput === undefined) !== (pricePer1kOutput === undefined)) {
    throw new Error("--price-in and --price-out go together (USD per 1000 tokens each)");
  }
  const concurrency = int("concurrency", values.concurrency as string | undefined) ??
    DEFAULT_API_CONCURRENCY;
  if (concurrency < 1) throw new Error(`--concurrency ${concurrency}: expected at least 1`);
  return createOpenAIBackend({
    baseUrl: endpoint,
    model,
    apiKey: values["api-key"] as string | undefined,
    chat: values.chat === true,
    concurrency,
    pricePer1kInput,
    pricePer1kOutput,
  });
}

if (import.meta.main) await runMain(main);
