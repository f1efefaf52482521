/**
 * Private to bench/eval_bench.ts (`deno task bench:eval`): `generate_until` throughput: a task's test prompts generated greedily
 * until its stop strings (at most `max_gen_toks` tokens), all items in flight at once over the same
 * number of parallel sequences, three ways:
 *
 * - `tunebook_generate`: {@linkcode LlmEngine.generate} as `deno task eval` runs it on CPU —
 *   the batched generator (continuous batching: one libllama decode per step for every live item);
 * - `tunebook_generate_sequences`: the same engine with `generator: "sequences"` (node-llama-cpp's
 *   sequences, the path before; tiny model only);
 * - `llama_server`: llama.cpp's `llama-server` (`-np` = the same sequences, the same threads and
 *   context per sequence) driven with the same prompt token ids, stop strings and token budget
 *   through its `/completion` endpoint by as many concurrent clients as there are sequences.
 *
 * Each method's time is its wall time from the first request to the last answer (the server is
 * started and warmed up before). Greedy texts are compared item by item, leading whitespace
 * aside (llama-server keeps the space a SentencePiece piece starts with; tunebook's detokenizer
 * drops it at the start of a text, as lm-eval's filters strip it anyway).
 *
 * Every method runs {@linkcode GENERATION_THREADS} compute thread: generation takes a decode per
 * token, and on 2 shared cores a second ggml thread, spinning between decodes, fights the
 * JavaScript thread and the load generator (seen: 100× slower with 2 threads while the machine
 * was busy, for tunebook and node-llama-cpp alike).
 * @module
 */
import { median } from "simple-statistics";
import { LlmEngine } from "../lib/llm/engine.ts";
import type { LoadedModel } from "../lib/llm/model.ts";
import { buildPrompt } from "../lib/eval/task/render.ts";
import { findTask } from "../lib/eval/task/registry.ts";
import { loadTaskDocs } from "../lib/eval/task/data.ts";
import { encodePrompt } from "../lib/llm/tokenizer_rules.ts";
import { spawnLlamaServer } from "../lib/serve/server_process.ts";
import { roundTo } from "../lib/util/round.ts";

/** The generate_until task of the benchmark (synth_facts as an open question). */
export const GENERATION_TASK = "synth_facts_gen";
/** Parallel sequences of every method (LlmEngine's default). */
export const GENERATION_SEQUENCES = 8;
/** Compute threads of every generation method (see the module's note). */
export const GENERATION_THREADS = 1;
/** Tokens of context per sequence for every method. */
export const GENERATION_CONTEXT = 512;

/** The generation methods, in table order. */
export const GENERATION_METHODS = [
  "tunebook_generate",
  "tunebook_generate_sequences",
  "llama_server",
] as const;
/** One of {@linkcode GENERATION_METHODS}. */
export type GenerationMethod = typeof GENERATION_METHODS[number];

/** What each method is, for the results. */
export const GENERATION_DESCRIPTIONS: Record<GenerationMethod, string> = {
  tunebook_generate: `LlmEngine.generate, batched generator (continuous batching), ` +
    `${GENERATION_SEQUENCES} slots, every item in flight`,
  tunebook_generate_sequences: `LlmEngine.generate with generator "sequences" (node-llama-cpp), ` +
    `${GENERATION_SEQUENCES} sequences`,
  llama_server: `llama-server -np ${GENERATION_SEQUENCES}, /completion with the same prompt ` +
    `token ids, stop strings and n_predict, no prompt cache (\`cache_prompt: false\`: rounds repeat the items), ` +
    `${GENERATION_SEQUENCES} concurrent clients`,
};

/** A generate_until prompt as every method sees it. */
interface GenerationItem {
  /** The prompt text (what tunebook's engine gets). */
  prompt: string;
  /** Its token ids as the engine encodes it (BOS as the model adds it; what llama-server gets). */
  tokens: number[];
  until: string[];
  maxTokens: number;
}

/** The first `limit` test prompts of {@linkcode GENERATION_TASK}, tokenized for `loaded`. */
async function loadGenerationItems(
  loaded: LoadedModel,
  limit?: number,
): Promise<GenerationItem[]> {
  const task = findTask(GENERATION_TASK);
  const { docs, errors } = await loadTaskDocs(task, "test", { limit });
  if (errors.length) throw new Error(`task ${GENERATION_TASK}: ${errors[0].message}`);
  return docs.map((d) => {
    const prompt = buildPrompt(task, d, []);
    return {
      prompt,
      tokens: encodePrompt(loaded.model, prompt),
      until: task.generationKwargs.until,
      maxTokens: task.generationKwargs.maxGenToks,
    };
  });
}

/** One generation method, ready to run every item once. */
interface GenerationRunner {
  method: GenerationMethod;
  /**
   * Generate every item; the seconds it took, the texts and the items that failed (llama-server
   * answers some random-model outputs with a 500 from its output parser, after generating them;
   * their text is null).
   */
  run: () => Promise<
    { seconds: number; texts: (string | null)[]; tokens: number; errors: string[] }
  >;
  dispose: () => Promise<void>;
}

/** The methods on `items` (the slow one only when `slow`). */
async function createGenerationRunners(
  loaded: LoadedModel,
  items: GenerationItem[],
  options: { llamaServer: string; slow: boolean },
): Promise<GenerationRunner[]> {
  const { llamaServer, slow } = options;
  const threads = GENERATION_THREADS;
  const runners: GenerationRunner[] = [];
  const configs = [["tunebook_generate", "batched"]] as [
    GenerationMethod,
    "batched" | "sequences",
  ][];
  if (slow) configs.push(["tunebook_generate_sequences", "sequences"]);
  for (const [method, generator] of configs) {
    const engine = await LlmEngine.create(loaded, {
      sequences: GENERATION_SEQUENCES,
      contextSize: GENERATION_CONTEXT,
      threads,
      generator,
    });
    runners.push({
      method,
      run: async () => {
        const t0 = performance.now();
        const gens = await Promise.all(
          items.map((it) =>
            engine.generate(it.prompt, { until: it.until, maxTokens: it.maxTokens })
          ),
        );
        const seconds = (performance.now() - t0) / 1000;
        return {
          seconds,
          texts: gens.map((g) => g.text),
          tokens: gens.reduce((n, g) => n + g.tokens, 0),
          errors: [],
        };
      },
      dispose: () => engine.dispose(),
    });
  }
  const server = await spawnLlamaServer(llamaServer, {
    model: loaded.info.path,
    threads,
    sequences: GENERATION_SEQUENCES,
    contextPerSequence: GENERATION_CONTEXT,
  });
  runners.push({
    method: "llama_server",
    run: async () => {
      const t0 = performance.now();
      const texts: (string | null)[] = new Array(items.length).fill(null);
      const errors: string[] = [];
      let tokens = 0;
      let next = 0;
      const client = async () => {
        while (next < items.length) {
          const i = next++;
          const it = items[i];
          const r = await fetch(`${server.url}/completion`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              prompt: it.tokens,
              n_predict: it.maxTokens,
              temperature: 0,
              stop: it.until,
              stream: false,
              // Every round generates the same items: a slot's cached prompt would let llama-server
              // skip prompts it saw a round earlier (tunebook's engine starts every item afresh).
              cache_prompt: false,
            }),
          });
          if (!r.ok) {
            errors.push(`${r.status} ${await r.text()}`);
            continue;
          }
          const body = await r.json() as { content: string; tokens_predicted: number };
          texts[i] = body.content;
          tokens += body.tokens_predicted;
        }
      };
      await Promise.all(Array.from({ length: GENERATION_SEQUENCES }, client));
      if (errors.length === items.length) {
        throw new Error(`llama-server failed every item, e.g. ${errors[0]}`);
      }
      return { seconds: (performance.now() - t0) / 1000, texts, tokens, errors };
    },
    dispose: async () => {
      await server.stop();
    },
  });
  return runners;
}

/** One generation method's rounds. */
export interface GenerationMeasurement {
  method: GenerationMethod;
  items: number;
  /** Seconds of each timed round. */
  seconds: number[];
  itemsPerSecond: number;
  /** Generated tokens per second of the median round. */
  tokensPerSecond: number;
  /** Items the method failed over all rounds (llama-server's 500s), and the first message. */
  failedItems: number;
  firstError?: string;
}

/** The generate_until measurement of one model. */
export interface GenerationResult {
  task: string;
  sequences: number;
  measurements: GenerationMeasurement[];
  /** tunebook_generate's items/s over llama-server's, median rounds (target ≥ 1.0). */
  ratioVsLlamaServer: number;
  /** Items whose greedy text equals llama-server's / node-llama-cpp sequences' (last round). */
  sameTextAsLlamaServer: string;
  sameTextAsSequences?: string;
}

/** What {@linkcode benchGeneration} takes from bench:eval's flags. */
export interface GenerationBenchOptions {
  /** Items of the task (the first ones); undefined: every test item. */
  limit?: number;
  /** Timed rounds after the warm-up. */
  repeats: number;
  /** The llama-server binary (the anchor). */
  llamaServer: string;
}

/** generate_until: warm-up, then `repeats` rounds with the methods taking turns. */
export async function benchGeneration(
  loaded: LoadedModel,
  values: GenerationBenchOptions,
  slow: boolean,
): Promise<GenerationResult> {
  const items = await loadGenerationItems(loaded, values.limit);
  const runners = await createGenerationRunners(loaded, items, {
    llamaServer: values.llamaServer,
    slow,
  });
  try {
    for (const r of runners) await r.run();
    const rounds = new Map<
      GenerationMethod,
      { seconds: number; tokens: number; errors: string[] }[]
    >();
    const texts = new Map<GenerationMethod, (string | null)[]>();
    for (let rep = 0; rep < values.repeats; rep++) {
      for (const r of runners) {
        const out = await r.run();
        rounds.set(r.method, [...(rounds.get(r.method) ?? []), out]);
        texts.set(r.method, out.texts);
      }
    }
    const measurements = GENERATION_METHODS.filter((m) => rounds.has(m)).map((method) => {
      const rs = rounds.get(method)!;
      const med = median(rs.map((r) => r.seconds));
      const medTokens = median(rs.map((r) => r.tokens));
      const m: GenerationMeasurement = {
        method,
        items: items.length,
        seconds: rs.map((r) => roundTo(r.seconds, 4)),
        itemsPerSecond: roundTo(items.length / med, 1),
        tokensPerSecond: roundTo(medTokens / med, 1),
        failedItems: rs.reduce((n, r) => n + r.errors.length, 0),
        firstError: rs.flatMap((r) => r.errors)[0]?.slice(0, 200),
      };
      console.log(
        `${GENERATION_TASK} ${method}: ${m.itemsPerSecond} items/s, ${m.tokensPerSecond} ` +
          `tokens/s (median ${roundTo(med, 3)} s)`,
      );
      return m;
    });
    const ips = (m: GenerationMethod) => measurements.find((x) => x.method === m)!.itemsPerSecond;
    const same = (a: GenerationMethod, b: GenerationMethod) => {
      const ta = texts.get(a)!;
      const tb = texts.get(b)!;
      const both = ta.filter((t, i) => t !== null && tb[i] !== null);
      const same = ta.filter((t, i) =>
        t !== null && tb[i] !== null && t.trimStart() === tb[i]!.trimStart()
      ).length;
      return `${same}/${both.length}`;
    };
    return {
      task: GENERATION_TASK,
      sequences: GENERATION_SEQUENCES,
      measurements,
      ratioVsLlamaServer: roundTo(ips("tunebook_generate") / ips("llama_server"), 2),
      sameTextAsLlamaServer: same("tunebook_generate", "llama_server"),
      sameTextAsSequences: texts.has("tunebook_generate_sequences")
        ? same("tunebook_generate", "tunebook_generate_sequences")
        : undefined,
    };
  } finally {
    for (const r of runners) await r.dispose();
  }
}
