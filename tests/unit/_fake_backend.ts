/**
 * A model-free evaluation backend for runner tests: deterministic scores and generations, an
 * identity that tests change field by field, and hooks to slow it down or make it fail (an
 * interruption) after a number of items.
 */
import type { Backend } from "../../lib/eval/backend.ts";

/** Options for {@linkcode fakeBackend}. */
export interface FakeBackendOptions {
  /** Fields merged into the run identity (adapters, scorer, model hash…). Default: none. */
  runIdentity?: Record<string, unknown>;
  /** Throw (as a crash would stop the run) when this many items have been answered. Default: never. */
  failAfter?: number;
  /** Wait this long per item, in ms. Default: 0. */
  delayMs?: number;
  /** Requests in flight. Default: 4. */
  concurrency?: number;
}

/** The error {@linkcode FakeBackendOptions.failAfter} throws. */
export class FakeCrash extends Error {}

/**
 * A backend whose choice scores prefer the shortest choice (each choice greedy when it is the
 * shortest), whose rolling score of a text is minus its length in characters, and whose
 * generation echoes the prompt's last word; `answered()` counts the items it answered.
 */
export function fakeBackend(
  options: FakeBackendOptions = {},
): Backend & { answered: () => number } {
  const { failAfter, delayMs = 0, concurrency = 4 } = options;
  let answered = 0;
  const step = async () => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (failAfter !== undefined && answered >= failAfter) throw new FakeCrash("fake crash");
    answered++;
  };
  const identity = { backend: "fake", model: "fake/fake-model.gguf", sha256: "f".repeat(64) };
  const backend = {
    identity,
    runIdentity: {
      backend: "fake",
      model_sha256: "f".repeat(64),
      adapters: [],
      ...options.runIdentity,
    },
    concurrency,
    scoreChoices: async (_context: string, choices: string[]) => {
      await step();
      const shortest = Math.min(...choices.map((c) => c.length));
      return {
        logprobs: choices.map((c) => -c.length),
        tokenCounts: choices.map(() => 1),
        isGreedy: choices.map((c) => c.length === shortest),
        contextTokens: 1,
        truncatedTokens: 0,
      };
    },
    scoreRolling: async (text: string) => {
      await step();
      return { logprob: -text.length, tokens: text.length, windows: 1 };
    },
    generate: async (prompt: string) => {
      await step();
      const words = prompt.trim().split(/\s+/);
      const stoppedBy = "stop" as const;
      return {
        text: ` ${words[words.length - 1]}`,
        tokens: 1,
        promptTokens: 1,
        stoppedBy,
        truncatedTokens: 0,
      };
    },
    countTokens: (text: string) => text.split(/\s+/).length,
    tokensProcessed: () => answered,
    dispose: () => Promise.resolve(),
    answered: () => answered,
  };
  return backend;
}
