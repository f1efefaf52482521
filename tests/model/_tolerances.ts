/** How far apart llama.cpp's log-probs for the same tokens may be, by what differs between two runs. */
import type { ChoiceScores } from "../../lib/llm/engine.ts";

/** Largest log-prob difference allowed between runs whose prompts are decoded in the same chunks. */
export const BATCH_TOLERANCE = 1e-3;
/**
 * llama.cpp's log-probs depend on how a prompt is split across decodes (seen up to 1.1e-2 nats
 * with one sequence and batchSize 16); single-logit batching splits prompts differently.
 */
export const CHUNKING_TOLERANCE = 5e-2;
/**
 * The batched scorer always takes llama.cpp's tiled CPU attention (f32 queries; it pads small
 * decodes to 64 tokens so its numbers never depend on what shares a decode), while one sequence of
 * a few tokens in node-llama-cpp takes the f16 kernel: measured up to 4.1e-3 nats apart on the
 * engine tests' questions (each 3.7e-3 and 6.9e-3 from the pure-torch f32 model, the f16 KV
 * cache's share).
 */
export const KERNEL_TOLERANCE = 1e-2;

/** The largest difference between two runs' choice log-probs, question by question. */
export function maxDiff(a: ChoiceScores[], b: ChoiceScores[]): number {
  let m = 0;
  a.forEach((x, i) =>
    x.logprobs.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i].logprobs[j]))))
  );
  return m;
}
