/**
 * Chat templates: turn a list of messages into the prompt a model was trained on, with the
 * Jinja template stored in its GGUF (`tokenizer.chat_template`, the same template Hugging Face
 * tokenizers apply), rendered like `transformers` does (`@huggingface/jinja`, `trim_blocks`
 * and `lstrip_blocks` on) with `messages`, `bos_token`, `eos_token`, `add_generation_prompt`
 * and `raise_exception`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatTemplate } from "./chat.ts";
 * const t = new ChatTemplate(
 *   "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}" +
 *     "{% if add_generation_prompt %}assistant:{% endif %}",
 *   { bosToken: "<s>", eosToken: "</s>" },
 * );
 * assert.equal(t.render([{ role: "user", content: "hi" }]), "user: hi\nassistant:");
 * ```
 * @module
 */
import { Template } from "@huggingface/jinja";
import type { LlamaModel, Token } from "node-llama-cpp";

/** One chat message, as in OpenAI's chat API (text content only). */
export interface ChatMessage {
  /** "system", "user", "assistant" (or another role the template knows). */
  role: string;
  /** The message text. */
  content: string;
}

/** Options for {@linkcode ChatTemplate}. */
export interface ChatTemplateOptions {
  /** Text of the BOS token, as the template sees it. Default: "". */
  bosToken?: string;
  /** Text of the EOS token, as the template sees it. Default: "". */
  eosToken?: string;
  /** Where the template came from, for error messages. Default: "chat template". */
  source?: string;
}

/** Options for {@linkcode ChatTemplate.render}. */
export interface RenderChatOptions {
  /** End with the assistant's turn header, so the model writes the reply. Default: true. */
  addGenerationPrompt?: boolean;
}

/**
 * A compiled chat template.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatTemplate } from "./chat.ts";
 * const t = new ChatTemplate("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}", {
 *   bosToken: "<s>",
 * });
 * assert.equal(t.render([{ role: "user", content: "hi" }]), "<s>hi");
 * ```
 */
export class ChatTemplate {
  readonly #template: Template;
  readonly #bos: string;
  readonly #eos: string;
  readonly #source: string;

  /** Compile `template` (Jinja); throws a message naming the source when it does not parse. */
  constructor(template: string, options: ChatTemplateOptions = {}) {
    const { bosToken = "", eosToken = "", source = "chat template" } = options;
    this.#bos = bosToken;
    this.#eos = eosToken;
    this.#source = source;
    try {
      this.#template = new Template(template);
    } catch (e) {
      throw new Error(
        `${source}: the chat template does not parse (${(e as Error).message}). ` +
          `Fix it, or serve the model with a template file that does.`,
      );
    }
  }

  /** Render `messages` into a prompt. Errors raised by the template name it and the cause. */
  render(messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
    const { addGenerationPrompt = true } = options;
    try {
      return this.#template.render({
        messages: messages.map((m) => ({ ...m })),
        bos_token: this.#bos,
        eos_token: this.#eos,
        add_generation_prompt: addGenerationPrompt,
      }); // raise_exception() is built into @huggingface/jinja
    } catch (e) {
      if (e instanceof ChatTemplateError) throw e;
      throw new ChatTemplateError(
        `${this.#source} failed on these messages: ${(e as Error).message}`,
      );
    }
  }
}

/**
 * The template rejected the messages (e.g. roles out of order), or failed while rendering.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatTemplate, ChatTemplateError } from "./chat.ts";
 * const template = new ChatTemplate("{{ raise_exception('user first') }}");
 * assert.throws(() => template.render([]), ChatTemplateError);
 * assert.throws(() => template.render([]), { message: "chat template failed on these messages: user first" });
 * ```
 */
export class ChatTemplateError extends Error {
  /** `message`: what the template said. */
  constructor(message: string) {
    super(message);
    this.name = "ChatTemplateError";
  }
}

/**
 * The chat template stored in a loaded model's GGUF, or undefined when it has none.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * const { model } = await loadModel("data/models/tiny/tiny-f32.gguf");
 * console.log(modelChatTemplate(model)?.render([{ role: "user", content: "2 plus 3?" }]));
 * ```
 */
export function modelChatTemplate(model: LlamaModel): ChatTemplate | undefined {
  const meta = model.fileInfo.metadata as unknown as { tokenizer?: { chat_template?: unknown } };
  const template = meta.tokenizer?.chat_template;
  if (typeof template !== "string" || template === "") return undefined;
  return new ChatTemplate(template, {
    bosToken: model.tokens.bosString ?? "",
    eosToken: model.tokens.eosString ?? "",
    source: `${model.filename ?? "model"}: tokenizer.chat_template`,
  });
}

/** Options for {@linkcode tokenizePrompt}. */
export interface TokenizePromptOptions {
  /**
   * Read special-token text (e.g. `</s>`, `<|im_start|>`) as those tokens, as a rendered chat
   * template needs; false treats all text literally. Default: false.
   */
  specialTokens?: boolean;
}

/**
 * Tokenize a prompt, with the BOS token first when the model wants one and the text does not
 * already start with it.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * const { model } = await loadModel("data/models/tiny/tiny-f32.gguf");
 * console.log(tokenizePrompt(model, "### Instruction:\nhi</s>", { specialTokens: true }));
 * ```
 */
export function tokenizePrompt(
  model: LlamaModel,
  text: string,
  options: TokenizePromptOptions = {},
): Token[] {
  const { specialTokens = false } = options;
  const tokens = model.tokenize(text, specialTokens);
  const bos = model.tokens.bos;
  if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) {
    return [bos, ...tokens];
  }
  return tokens;
}
