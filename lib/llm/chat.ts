/**
 * Chat templates: turn a list of messages into the prompt a model was trained on, with the
 * Jinja template stored in its GGUF (`tokenizer.chat_template`, the same template Hugging Face
 * tokenizers apply), rendered like `transformers` does (`@huggingface/jinja`, `trim_blocks`
 * and `lstrip_blocks` on) with `messages`, `bos_token`, `eos_token` (the texts of the model's own
 * BOS and EOS tokens, as llama.cpp passes them), `add_generation_prompt` and `raise_exception`;
 * and tokenize the render under the model's rules ({@linkcode encodeChat}).
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
import type { Token } from "node-llama-cpp";
import type { ModelVocabulary } from "./model_vocabulary.ts";
import { addSpecialTokens, encodeText, tokenizerRules } from "./tokenizer_rules.ts";

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
export function modelChatTemplate(model: ModelVocabulary): ChatTemplate | undefined {
  const meta = model.fileInfo.metadata as unknown as { tokenizer?: { chat_template?: unknown } };
  const template = meta.tokenizer?.chat_template;
  if (typeof template !== "string" || template === "") return undefined;
  return new ChatTemplate(template, {
    bosToken: model.tokens.bosString ?? "",
    eosToken: model.tokens.eosString ?? "",
    source: `${model.filename ?? "model"}: tokenizer.chat_template`,
  });
}

/** Options for {@linkcode encodeChat}. */
export interface EncodeChatOptions extends RenderChatOptions {}

/** A rendered chat prompt and its tokens. */
export interface ChatPrompt {
  /** The template's output. */
  text: string;
  /** Its tokens: the template's markup read as special tokens, BOS/EOS as the model says. */
  tokens: Token[];
}

/**
 * Render `messages` with `template` and tokenize the result under the model's rules
 * (lib/llm/tokenizer_rules.ts), as llama-server does: special-token text is read as those tokens
 * (the template's markup: `<|im_start|>`, `<|eot_id|>`), BOS goes first when the model adds one and
 * the template did not already write it (`{{ bos_token }}`: one BOS, never two), and EOS last when
 * the model adds one and the text does not end with it.
 *
 * A message whose content itself contains special-token text stays text: the render is cut around
 * that content, which is tokenized literally (the markup around it still as special tokens). A
 * template that changed such a content beyond trimming it, so it cannot be found in the render,
 * throws {@linkcode ChatTemplateError}.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * const { model } = await loadModel("data/models/tiny/tiny-f32.gguf");
 * const chat = encodeChat(model, modelChatTemplate(model)!, [{ role: "user", content: "2+2?" }]);
 * console.log(chat.text, chat.tokens[0] === model.tokens.bos); // "### Instruction:\n2+2?…" true
 * ```
 */
export function encodeChat(
  model: ModelVocabulary,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: EncodeChatOptions = {},
): ChatPrompt {
  const text = template.render(messages, options);
  const literal = messages.map((m) => m.content).filter((c) => hasSpecialText(model, c));
  if (literal.length === 0) {
    return { text, tokens: encodeText(model, text, { specialTokens: true }) };
  }
  const pieces: { text: string; special: boolean }[] = [];
  let cursor = 0;
  for (const content of literal) {
    let at = text.indexOf(content, cursor);
    let found = content;
    if (at < 0) {
      found = content.trim();
      at = found ? text.indexOf(found, cursor) : -1;
    }
    if (at < 0) {
      throw new ChatTemplateError(
        `a message contains special-token text (${JSON.stringify(content.slice(0, 60))}) that ` +
          "the chat template changed, so it cannot be kept as text; remove the special-token " +
          "text from the message",
      );
    }
    if (at > cursor) pieces.push({ text: text.slice(cursor, at), special: true });
    pieces.push({ text: found, special: false });
    cursor = at + found.length;
  }
  if (cursor < text.length) pieces.push({ text: text.slice(cursor), special: true });
  const prefixes = prefixesSpace(model);
  const tokens: Token[] = [];
  for (const piece of pieces) {
    // SentencePiece puts "▁" before a text's first word; llama.cpp does so at the start and after
    // a special token only, so a piece that continues text is tokenized without it.
    const last = tokens.at(-1);
    const continues = prefixes && last !== undefined && !isSpecialToken(model, last);
    tokens.push(
      ...(continues
        ? model.tokenize(piece.text, piece.special, "trimLeadingSpace")
        : model.tokenize(piece.text, piece.special)),
    );
  }
  return { text, tokens: addSpecialTokens(tokens, tokenizerRules(model)) };
}

/** Whether `text` holds special-token text of the model's vocabulary (e.g. `</s>`). */
export function hasSpecialText(model: ModelVocabulary, text: string): boolean {
  const parsed = model.tokenize(text, true);
  const literal = model.tokenize(text, false);
  return parsed.length !== literal.length || parsed.some((t, i) => t !== literal[i]);
}

function isSpecialToken(model: ModelVocabulary, token: Token): boolean {
  const a = model.getTokenAttributes(token);
  return a.control || a.userDefined || a.unknown;
}

const spacePrefix = new WeakMap<ModelVocabulary, boolean>();

/** Whether the vocabulary puts a space before a text's first word (SentencePiece's "▁"). */
function prefixesSpace(model: ModelVocabulary): boolean {
  let v = spacePrefix.get(model);
  if (v === undefined) {
    const plain = model.tokenize("a", false);
    const trimmed = model.tokenize("a", false, "trimLeadingSpace");
    v = plain.length !== trimmed.length || plain.some((t, i) => t !== trimmed[i]);
    spacePrefix.set(model, v);
  }
  return v;
}
