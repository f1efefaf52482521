/**
 * Format examples as the trainer's input (`python/tunebook/finetune.py`): one
 * `{"id", "prompt", "completion"}` row each, rendered with the target model's chat template.
 *
 * - `prompt`: the template applied to every turn before the last response, with
 *   `add_generation_prompt` (so it ends where the model starts answering);
 * - `completion`: what the template puts after that for the last response, cut before the
 *   template's end-of-sequence text (the trainer appends the real EOS token itself; when the
 *   model adds BOS the trainer prepends it too, so then a leading `bos_token` text is removed
 *   from the prompt — never otherwise, as llama.cpp's chat rendering does);
 * - rows without a response (plain `text` rows) become `prompt: ""`, `completion: <text>`.
 *
 * Completion-only loss: with `completion_only_loss: true` (the trainer's default) the loss is
 * taken on the completion tokens and EOS only; the prompt tokens are masked. The curation
 * summary records this.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ChatFormatter } from "./trainer_format.ts";
 * import { ChatTemplate } from "../llm/chat.ts";
 * const template = new ChatTemplate(
 *   "{% for m in messages %}{% if m.role == 'user' %}### Instruction:\n{{ m.content }}\n\n" +
 *     "{% else %}### Response:\n{{ m.content + eos_token }}\n\n{% endif %}{% endfor %}" +
 *     "{% if add_generation_prompt %}### Response:\n{% endif %}",
 *   { bosToken: "<s>", eosToken: "</s>" },
 * );
 * const f = new ChatFormatter(template, { bosToken: "<s>", eosToken: "</s>" });
 * const row = f.format({ index: 0, row: { id: "a1" }, messages: [
 *   { role: "user", content: "2+2?" }, { role: "assistant", content: "4" }] });
 * deepStrictEqual(row, { id: "a1", prompt: "### Instruction:\n2+2?\n\n### Response:\n", completion: "4" });
 * ```
 * @module
 */
import type { ChatTemplate } from "../llm/chat.ts";
import type { Example } from "./examples.ts";

/** The special-token texts a chat template writes, which the trainer adds as token ids instead. */
export interface SpecialTokenTexts {
  /** Text of the BOS token; removed from the start of a prompt. Default: "". */
  bosToken?: string;
  /** Text of the EOS token; a completion is cut before it. Default: "". */
  eosToken?: string;
  /**
   * Whether the model adds BOS (lib/llm/tokenizer_rules.ts `TokenizerRules.addBos`), so the
   * trainer puts the BOS token first and a leading `bosToken` text is removed. Default: true.
   */
  addBos?: boolean;
}

/** One row of the trainer's input. */
export interface TrainerRow {
  /** The source row's `id`, or `row:<n>` (1-based). */
  id: string;
  /** The rendered prompt (masked from the loss under completion-only training). */
  prompt: string;
  /** The rendered response (the trainer appends EOS). */
  completion: string;
}

/** Where a formatted row's loss is taken, as recorded in the curation summary. */
export const COMPLETION_ONLY_NOTE =
  "completion_only_loss (trainer default true): loss on completion tokens + EOS; prompt tokens " +
  "(and BOS) are masked. The trainer adds the EOS token id itself, and BOS when the model adds it.";

/** Renders examples with a chat template (lib/llm/chat.ts). */
export class ChatFormatter {
  /** The template. */
  readonly template: ChatTemplate;
  /** The special-token texts. */
  readonly tokens: SpecialTokenTexts;
  /** Rows whose full rendering did not start with the rendered prompt (the response alone was used). */
  fallbacks = 0;

  /** Format with `template`, whose BOS/EOS texts are `tokens`. */
  constructor(template: ChatTemplate, tokens: SpecialTokenTexts = {}) {
    this.template = template;
    this.tokens = tokens;
  }

  /** The trainer row of one example. Throws `ChatTemplateError` when the template rejects its turns. */
  format(example: Example): TrainerRow {
    const id = typeof example.row.id === "string" || typeof example.row.id === "number"
      ? String(example.row.id)
      : `row:${example.index + 1}`;
    const m = example.messages;
    const last = m.findLastIndex((t) => t.role === "assistant");
    if (last < 0) return { id, prompt: "", completion: m.map((t) => t.content).join("\n") };
    let prompt = this.template.render(m.slice(0, last), { addGenerationPrompt: true });
    const full = this.template.render(m.slice(0, last + 1), { addGenerationPrompt: false });
    let completion: string;
    if (full.startsWith(prompt)) completion = full.slice(prompt.length);
    else {
      this.fallbacks++;
      completion = m[last].content;
    }
    const { bosToken = "", eosToken = "", addBos = true } = this.tokens;
    if (eosToken) {
      const cut = completion.indexOf(eosToken);
      if (cut >= 0) completion = completion.slice(0, cut);
    }
    if (addBos && bosToken && prompt.startsWith(bosToken)) prompt = prompt.slice(bosToken.length);
    return { id, prompt, completion };
  }
}
