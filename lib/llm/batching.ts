/**
 * A batching strategy for node-llama-cpp contexts with several sequences that keeps
 * scores exact: at most one logit-producing item goes into each decode.
 *
 * With node-llama-cpp 3.21.1 and `sequences > 1`, the token probabilities of several
 * sequences whose logits come out of the same decode were seen to be wrong and to vary
 * from run to run. This strategy fills each batch with prompt tokens of every waiting
 * sequence (prefill still runs in parallel), but lets only the highest-priority item
 * that needs logits reach its first logit position. `tests/model/scoring_test.ts`
 * checks that parallel scores equal serial ones.
 * @module
 */
import type { CustomBatchingPrioritizationStrategy, LlamaContext } from "node-llama-cpp";
import type { LoraAdapter } from "./engine.ts";
import type { LoadedModel } from "./model.ts";

/**
 * Prioritize batch items so that at most one of them produces logits in this decode.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Token } from "node-llama-cpp";
 * import { singleLogitItemStrategy } from "./batching.ts";
 * const t = (...ids: number[]) => ids as Token[];
 * const plan = singleLogitItemStrategy({
 *   size: 8,
 *   items: [
 *     { tokens: t(1, 2, 3), logits: [undefined, undefined, true], evaluationPriority: 5 as const },
 *     { tokens: t(4, 5, 6), logits: [undefined, true, true], evaluationPriority: 5 as const },
 *   ],
 * });
 * assert.deepEqual(plan.map((p) => p.processAmount), [3, 1]); // the second item waits for its next logit
 * ```
 */
export function singleLogitItemStrategy(
  ...[{ items, size }]: Parameters<CustomBatchingPrioritizationStrategy>
): ReturnType<CustomBatchingPrioritizationStrategy> {
  const order = items.map((item, i) => ({ item, i }))
    .sort((a, b) => b.item.evaluationPriority - a.item.evaluationPriority || a.i - b.i);
  let left = size;
  let logitTaken = false;
  const out: ReturnType<CustomBatchingPrioritizationStrategy> = [];
  for (const { item } of order) {
    if (left <= 0) break;
    const firstLogit = item.logits.findIndex((l) => l === true);
    let amount = Math.min(item.tokens.length, left);
    if (firstLogit >= 0 && firstLogit < amount) {
      if (logitTaken) amount = firstLogit;
      else logitTaken = true;
    }
    if (amount <= 0) continue;
    out.push({ item, processAmount: amount });
    left -= amount;
  }
  return out;
}

/** The part of node-llama-cpp's native context that samples from a decode's logits. */
interface NativeSampling {
  sampleToken: (...args: unknown[]) => Promise<unknown>;
}

/**
 * Serialize the native `sampleToken` calls of one context.
 *
 * node-llama-cpp 3.21.1 samples the logits of every sequence in a decode concurrently on
 * worker threads; those concurrent calls on one native context corrupt each other's
 * probabilities (seen: log-probabilities off by more than 2 nats). Running them one at a time
 * keeps several sequences' logits in one decode and makes them exact. Returns false when the
 * runtime has no such method (another node-llama-cpp version): callers then fall back to
 * {@linkcode singleLogitItemStrategy}.
 *
 * @example
 * ```ts ignore
 * const ok = serializeNativeSampling(context);
 * ```
 */
export function serializeNativeSampling(context: object): boolean {
  const native = (context as { _ctx?: Partial<NativeSampling> })._ctx;
  if (!native || typeof native.sampleToken !== "function") return false;
  const original = native.sampleToken.bind(native);
  let chain: Promise<unknown> = Promise.resolve();
  native.sampleToken = function (...args: unknown[]) {
    const run = chain.then(() => original(...args));
    chain = run.catch(() => undefined);
    return run;
  };
  return true;
}

/** The largest default context per sequence: the model's training context, capped here. */
const MAX_DEFAULT_CONTEXT = 4096;

/** Tokens per sequence when none are given: the model's training context, at most 4096. */
export function defaultContextSize(
  loaded: { model: { trainContextSize: number }; info: { contextLength: number } },
): number {
  // A vocabulary-only model reports no training context: the GGUF header's value stands in.
  const train = loaded.model.trainContextSize || loaded.info.contextLength;
  return Math.min(train || MAX_DEFAULT_CONTEXT, MAX_DEFAULT_CONTEXT);
}

/** Settings of {@linkcode createSequencesContext}. */
export interface SequencesContextOptions {
  sequences: number;
  contextSize: number;
  batchSize: number;
  /** llama.cpp threads (resolved, not 0). */
  threads: number;
  lora: LoraAdapter[];
  /** "shared" (sampling serialized) or "single-logit" ({@linkcode singleLogitItemStrategy}). */
  batching: "shared" | "single-logit";
}

/**
 * A node-llama-cpp context with several sequences (and LoRA adapters) whose scores stay exact:
 * with "shared" batching its native sampling is serialized ({@linkcode serializeNativeSampling});
 * where that is not possible (another node-llama-cpp version) it falls back to "single-logit".
 * A failure names the model and the adapters, with what to check.
 */
export async function createSequencesContext(
  loaded: LoadedModel,
  options: SequencesContextOptions,
): Promise<LlamaContext> {
  const { lora, batching } = options;
  if (loaded.vocabOnly) {
    throw new Error(
      `${loaded.info.path}: loaded with its vocabulary only (loadModel's vocabOnly), so ` +
        `node-llama-cpp cannot create a context on it; load it without vocabOnly, or use the ` +
        `batched (libllama) engine`,
    );
  }
  const context = await loaded.model.createContext({
    sequences: options.sequences,
    contextSize: options.contextSize,
    batchSize: options.batchSize,
    threads: options.threads,
    batching: batching === "single-logit"
      ? { itemPrioritizationStrategy: singleLogitItemStrategy }
      : undefined,
    lora: lora.length
      ? { adapters: lora.map((a) => ({ filePath: a.path, scale: a.scale ?? 1 })) }
      : undefined,
  }).catch((e: Error) => {
    const names = lora.map((a) => a.path).join(", ");
    throw new Error(
      lora.length
        ? `could not create a context with LoRA adapter(s) ${names} on ${loaded.info.path}: ` +
          `${e.message}. Check that each adapter is a GGUF LoRA exported for this base model.`
        : `could not create a context for ${loaded.info.path}: ${e.message}`,
    );
  });
  if (batching === "shared" && !serializeNativeSampling(context)) {
    await context.dispose();
    return await createSequencesContext(loaded, { ...options, batching: "single-logit" });
  }
  return context;
}
