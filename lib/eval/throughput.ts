/**
 * Steady-state throughput of a backend: the tokens/s it sustains on a fixed workload — the first
 * items of each task, evaluated as {@linkcode runEval} evaluates them (prompts, few-shot examples,
 * scoring or generation, `backend.concurrency` items in flight) — after untimed warm-up passes,
 * over several timed passes, reported as the median pass with the slowest and fastest. Several
 * backends measured together ({@linkcode measureThroughputs}) take turns pass by pass, so that a
 * change in the machine's load (other processes) hits every model alike rather than whichever
 * was measured during it.
 *
 * This is what figures and tables compare models by (lib/plots: throughput against accuracy, the
 * quantization trade-off), measured the same way for every model: a results.json's
 * `tokensPerSecond` is a single pass over a whole evaluation, the first decodes' warm-up (page
 * faults, thread start-up, compute-graph allocation for each new batch shape) included, and runs
 * of the same model have differed 10× by it.
 *
 * @example
 * ```ts ignore
 * import { createLlamaBackend } from "./backend.ts";
 * import { measureThroughput } from "./throughput.ts";
 * const backend = await createLlamaBackend("data/models/tiny/tiny-f32.gguf");
 * const t = await measureThroughput(backend, ["synth_qa", "synth_facts"]);
 * console.log(t.tokensPerSecond.median, t.tokensPerSecond.min, t.tokensPerSecond.max);
 * await backend.dispose();
 * ```
 * @module
 */
import { max, median, min } from "simple-statistics";
import type { Backend } from "./backend.ts";
import { DEFAULT_SUITE, evaluateDoc, type PreparedTask, prepareTask } from "./runner.ts";
import {
  openResultsHook,
  resolveTaskSelection,
  type ResultsHook,
  sampleFewshot,
} from "./task/mod.ts";
import { roundTo } from "../util/round.ts";
import { runPool } from "../util/run_pool.ts";

/** Fewest timed passes: a median and a range need three. */
export const MIN_THROUGHPUT_REPEATS = 3;

/** Options for {@linkcode measureThroughput}. */
export interface ThroughputOptions {
  /** Items of each task in the workload (its first ones). Default: 20. */
  items?: number;
  /** Untimed passes before the timed ones. Default: 1. */
  warmup?: number;
  /** Timed passes, at least {@linkcode MIN_THROUGHPUT_REPEATS}. Default: 3. */
  repeats?: number;
}

/** A steady-state throughput measurement ({@linkcode measureThroughput}). */
export interface Throughput {
  /** The workload: these tasks' first `itemsPerTask` items (fewer where a task has fewer). */
  tasks: string[];
  itemsPerTask: number;
  /** Items in one pass. */
  items: number;
  /** Untimed passes first. */
  warmup: number;
  /** Tokens the backend processed (its `tokensProcessed()`) in each timed pass. */
  tokens: number[];
  /** Seconds of each timed pass. */
  seconds: number[];
  /** Tokens per second of the timed passes: the median, the slowest and the fastest pass. */
  tokensPerSecond: { median: number; min: number; max: number };
  /** Items per second of the median pass. */
  itemsPerSecond: number;
}

const DEFAULT_ITEMS = 20;
const DEFAULT_WARMUP = 1;
const DEFAULT_REPEATS = 3;

/**
 * Measure a backend's steady-state throughput on the first `items` items of `tasks` (task names,
 * groups or globs as runEval takes them; default runEval's suite): `warmup` untimed passes, then
 * `repeats` timed ones, each pass every item once through {@linkcode evaluateDoc}. Nothing is
 * written. Throws for fewer than {@linkcode MIN_THROUGHPUT_REPEATS} repeats or an empty workload.
 */
export async function measureThroughput(
  backend: Backend,
  tasks: readonly string[] = DEFAULT_SUITE,
  options: ThroughputOptions = {},
): Promise<Throughput> {
  return (await measureThroughputs([backend], tasks, options))[0];
}

/**
 * {@linkcode measureThroughput} of several backends on the same workload, one result each in
 * their order: the warm-up passes, then each timed round one pass of every backend in turn.
 */
export async function measureThroughputs(
  backends: readonly Backend[],
  tasks: readonly string[] = DEFAULT_SUITE,
  options: ThroughputOptions = {},
): Promise<Throughput[]> {
  const { items = DEFAULT_ITEMS, warmup = DEFAULT_WARMUP, repeats = DEFAULT_REPEATS } = options;
  if (!Number.isInteger(repeats) || repeats < MIN_THROUGHPUT_REPEATS) {
    throw new RangeError(
      `measureThroughput: repeats is ${repeats}; a median and a range need at least ` +
        `${MIN_THROUGHPUT_REPEATS} timed passes`,
    );
  }
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError(`measureThroughput: warmup is ${warmup}; give 0 or more passes`);
  }
  const prepared: PreparedTask[] = [];
  for (const task of resolveTaskSelection(tasks).tasks) {
    prepared.push(await prepareTask(task, { limit: items }));
  }
  const total = prepared.reduce((n, p) => n + p.docs.length, 0);
  if (!total) {
    throw new Error(
      `measureThroughput: tasks ${tasks.join(", ")} have no items to evaluate; pick tasks with ` +
        `a test split`,
    );
  }
  const hooks = new Map<PreparedTask, ResultsHook>();
  try {
    for (const p of prepared) {
      if (p.task.processResults) hooks.set(p, await openResultsHook(p.task));
    }
    // One pass: each task's items in turn, as runEval goes through them.
    const pass = async (backend: Backend): Promise<{ tokens: number; seconds: number }> => {
      const before = backend.tokensProcessed();
      const t0 = performance.now();
      for (const p of prepared) {
        const results = hooks.get(p);
        await runPool(p.docs, backend.concurrency, async (doc) => {
          const fewshot = p.numFewshot > 0
            ? sampleFewshot(p.task, p.pool, p.numFewshot, doc.id)
            : [];
          await evaluateDoc(backend, p.task, doc, fewshot, results ? { results } : {});
        });
      }
      return {
        tokens: backend.tokensProcessed() - before,
        seconds: (performance.now() - t0) / 1000,
      };
    };
    for (let i = 0; i < warmup; i++) for (const b of backends) await pass(b);
    const timed = backends.map((): { tokens: number; seconds: number }[] => []);
    for (let i = 0; i < repeats; i++) {
      for (const [k, b] of backends.entries()) timed[k].push(await pass(b));
    }
    const workload = { tasks: prepared.map((p) => p.task.name), itemsPerTask: items, items: total };
    return timed.map((passes) => summarize(workload, warmup, passes));
  } finally {
    for (const hook of hooks.values()) await hook.close();
  }
}

/** One backend's {@linkcode Throughput} from its timed passes. */
function summarize(
  workload: Pick<Throughput, "tasks" | "itemsPerTask" | "items">,
  warmup: number,
  passes: { tokens: number; seconds: number }[],
): Throughput {
  const rates = passes.map((t) => t.tokens / t.seconds);
  return {
    ...workload,
    warmup,
    tokens: passes.map((t) => t.tokens),
    seconds: passes.map((t) => roundTo(t.seconds, 4)),
    tokensPerSecond: {
      median: roundTo(median(rates), 1),
      min: roundTo(min(rates), 1),
      max: roundTo(max(rates), 1),
    },
    itemsPerSecond: roundTo(workload.items / median(passes.map((t) => t.seconds)), 1),
  };
}
