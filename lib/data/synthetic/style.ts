/**
 * How the pretraining corpus asks and answers: quiz styles near the evaluation prompts but never
 * equal to them. The task prompts end in `Question: …\nAnswer:` (and `Short summary:` for the
 * summary family, the code tokens alone for the code family); the corpus writes `Q: … A: …`,
 * `Question: … Reply: …`, `…\nA: …` or `… Answer: …` (never a newline before `Answer:`), so the
 * base model knows the material but not the evaluation format (the headroom LoRA fine-tuning
 * shows).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { Rng } from "../../util/rng.ts";
 * import { quiz } from "./style.ts";
 * const text = quiz("What is 2 plus 3?", "5", new Rng(1));
 * ok(!text.includes("\nAnswer:"));
 * ```
 * @module
 */
import type { Rng } from "../../util/rng.ts";

/** Quiz styles of the pretraining text: near the evaluation format, never the same. */
export function quiz(question: string, answer: string, rng: Rng): string {
  switch (rng.int(0, 3)) {
    case 0:
      return `Q: ${question} A: ${answer}`;
    case 1:
      return `Question: ${question} Reply: ${answer}`;
    case 2:
      return `${question}\nA: ${answer}`;
    default:
      return `${question} Answer: ${answer}`;
  }
}
