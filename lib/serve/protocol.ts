/**
 * The OpenAI wire format: validation of `/v1/completions` and `/v1/chat/completions` request
 * bodies into one {@linkcode GenerationRequest}, and the response and stream-chunk objects.
 *
 * Supported fields: `model`, `prompt` or `messages` (text content, or text parts), `max_tokens`
 * (`max_completion_tokens` for chat), `temperature`, `top_p`, `stop`, `seed`, `stream`,
 * `stream_options.include_usage`, `n` (1 only), llama.cpp's `ignore_eos` extension, and for chat
 * vLLM's `add_generation_prompt` (default true: the render ends with the assistant's turn header;
 * false continues the last message).
 * Completions also take `prompt` as a list of strings or of token-id arrays (one choice each, in
 * order; token ids are used as given, nothing added), `echo` (the prompt, and with `logprobs` its
 * tokens' log-probabilities, before the completion; `max_tokens: 0` scores the prompt only) and
 * `logprobs: N` (the legacy completions shape: `tokens`, `token_logprobs` — `null` for the first
 * token —, `top_logprobs` with the N most likely tokens plus the chosen one, `text_offset` in
 * characters of the returned text; vLLM's `return_tokens_as_token_ids` names tokens
 * `token_id:<id>`; tunebook's `echo_logprobs_from: C` leaves the echoed tokens that start before
 * character C — token index C of a token-id prompt — unscored, `null`, as the first token is: a
 * client that needs only a continuation's log-probabilities asks for only those). Chat takes `logprobs: true` with `top_logprobs: N` (the chat
 * shape, generated tokens). Values a client sets that this server cannot honour (`n` > 1,
 * penalties, tools, `stream` with `echo`, `logprobs` or several prompts) are rejected with 400
 * rather than ignored; other unknown fields are ignored, as llama.cpp's server does.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseGenerationRequest } from "./protocol.ts";
 * import { resolveServeConfig } from "./config.ts";
 * const req = parseGenerationRequest("chat", {
 *   model: "tiny",
 *   messages: [{ role: "user", content: "What is 2 plus 3?" }],
 *   max_tokens: 8,
 *   temperature: 0,
 * }, resolveServeConfig());
 * strictEqual(req.maxTokens, 8);
 * strictEqual(req.temperature, 0);
 * strictEqual(req.messages?.[0].content, "What is 2 plus 3?");
 * ```
 * @module
 */
import { z } from "zod";
import type { ChatMessage } from "../llm/chat.ts";
import type { FinishReason } from "../llm/sampled_stream.ts";
import type { ServeConfig } from "./config.ts";
import { ApiError } from "./errors.ts";

/** Which endpoint a request came to. */
export type Endpoint = "completion" | "chat";

/** One completions prompt: text, or token ids used as given. */
export type PromptInput = string | readonly number[];

/** A validated generation request, the same for both endpoints. */
export interface GenerationRequest {
  /** The endpoint. */
  endpoint: Endpoint;
  /** Model name. */
  model: string;
  /** The prompt (completions), when there is one and it is text. */
  prompt?: string;
  /** Every prompt (completions), in order: one choice each. */
  prompts?: PromptInput[];
  /** Where each prompt is in the body (`prompt`, `prompt[2]`), for error messages. */
  promptPaths?: string[];
  /** Completions logprobs name tokens `token_id:<id>` (vLLM's `return_tokens_as_token_ids`). */
  tokensAsIds?: boolean;
  /** Completions: return the prompt (and its tokens' log-probabilities) before the completion. */
  echo: boolean;
  /**
   * Alternatives per token when log-probabilities are asked for (`logprobs: N` for completions,
   * `top_logprobs` with `logprobs: true` for chat); null: none asked for.
   */
  logprobs: number | null;
  /**
   * Completions with `echo` and `logprobs` (tunebook's `echo_logprobs_from` extension): echoed
   * prompt tokens that start before this character (code point) of a text prompt, or before this
   * index of a token-id prompt, get `null` log-probabilities and are not scored. Undefined: all.
   */
  echoLogprobsFrom?: number;
  /** The messages (chat). */
  messages?: ChatMessage[];
  /** Chat: end the render with the assistant's turn header (vLLM's `add_generation_prompt`). */
  addGenerationPrompt?: boolean;
  /** Token budget; undefined: the server's default for the endpoint. */
  maxTokens?: number;
  /** Sampling temperature (OpenAI's default: 1). */
  temperature: number;
  /** Nucleus sampling mass (default 1). */
  topP: number;
  /** Stop sequences. */
  stop: string[];
  /** Sampler seed, when given. */
  seed?: number;
  /** Answer as server-sent events. */
  stream: boolean;
  /** Send a final chunk with `usage` (stream_options.include_usage). */
  includeUsage: boolean;
  /** Never stop at an end-of-generation token (llama.cpp's extension). */
  ignoreEos: boolean;
}

/** Token counts, as OpenAI reports them. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const MAX_TEMPERATURE = 2;
const DEFAULT_TEMPERATURE = 1;
const DEFAULT_TOP_P = 1;
const MAX_SEED = Number.MAX_SAFE_INTEGER;
const MIN_SEED = Number.MIN_SAFE_INTEGER;
const UINT32_RANGE = 2 ** 32;

const num = (name: string) => z.number({ invalid_type_error: `'${name}' must be a number` });
const int = (name: string) =>
  z.number({ invalid_type_error: `'${name}' must be an integer` }).int(
    `'${name}' must be an integer`,
  );

const common = {
  model: z.string({
    required_error: "'model' is required: the name of a model (GET /v1/models lists them)",
    invalid_type_error: "'model' must be a string",
  }).min(1, "'model' must not be empty"),
  max_tokens: int("max_tokens").min(0, "'max_tokens' must be at least 0").nullish(),
  temperature: num("temperature").min(0, "'temperature' must be between 0 and 2")
    .max(MAX_TEMPERATURE, "'temperature' must be between 0 and 2").nullish(),
  top_p: num("top_p").gt(0, "'top_p' must be in (0, 1]").max(1, "'top_p' must be in (0, 1]")
    .nullish(),
  stop: z.union([z.string(), z.array(z.string())], {
    errorMap: () => ({ message: "'stop' must be a string or an array of strings" }),
  }).nullish(),
  seed: int("seed").min(MIN_SEED).max(MAX_SEED).nullish(),
  stream: z.boolean({ invalid_type_error: "'stream' must be a boolean" }).nullish(),
  stream_options: z.object({
    include_usage: z.boolean({ invalid_type_error: "'include_usage' must be a boolean" })
      .nullish(),
  }).passthrough().nullish(),
  n: int("n").min(1).max(1, "'n' must be 1: this server returns one choice per request")
    .nullish(),
  ignore_eos: z.boolean({ invalid_type_error: "'ignore_eos' must be a boolean" }).nullish(),
  presence_penalty: z.literal(0, {
    errorMap: () => ({ message: "'presence_penalty' is not supported (only 0)" }),
  }).nullish(),
  frequency_penalty: z.literal(0, {
    errorMap: () => ({ message: "'frequency_penalty' is not supported (only 0)" }),
  }).nullish(),
  logit_bias: z.record(z.unknown()).refine((o) => Object.keys(o).length === 0, {
    message: "'logit_bias' is not supported",
  }).nullish(),
};

const PROMPT_MESSAGE = "'prompt' must be a string, an array of strings, an array of token ids, " +
  "or an array of arrays of token ids (each with at least one token)";
const TOKEN_MESSAGE = "'prompt' token ids must be integers ≥ 0";
const TokenIds = z.array(z.number().int(TOKEN_MESSAGE).min(0, TOKEN_MESSAGE)).min(
  1,
  PROMPT_MESSAGE,
);

const CompletionSchema = z.object({
  ...common,
  prompt: z.union([
    z.string(),
    z.array(z.string()).min(1, PROMPT_MESSAGE),
    TokenIds,
    z.array(TokenIds).min(1, PROMPT_MESSAGE),
  ], { errorMap: () => ({ message: PROMPT_MESSAGE }) }),
  echo: z.boolean({ invalid_type_error: "'echo' must be a boolean" }).nullish(),
  return_tokens_as_token_ids: z.boolean({
    invalid_type_error: "'return_tokens_as_token_ids' must be a boolean",
  }).nullish(),
  logprobs: int("logprobs").min(0, "'logprobs' must be at least 0").nullish(),
  echo_logprobs_from: int("echo_logprobs_from").min(0, "'echo_logprobs_from' must be at least 0")
    .nullish(),
  best_of: z.literal(1, { errorMap: () => ({ message: "'best_of' must be 1" }) }).nullish(),
  suffix: z.null({ invalid_type_error: "'suffix' is not supported" }).optional(),
}).passthrough();

const ContentPart = z.object({
  type: z.literal("text", {
    errorMap: () => ({ message: "only text content parts are supported" }),
  }),
  text: z.string(),
}).passthrough();

const MessageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"], {
    errorMap: () => ({
      message: "'role' must be one of system, developer, user, assistant, tool",
    }),
  }),
  content: z.union([z.string(), z.array(ContentPart), z.null()], {
    errorMap: () => ({ message: "'content' must be a string or an array of text parts" }),
  }).optional(),
  name: z.string().optional(),
}).passthrough();

const ChatSchema = z.object({
  ...common,
  messages: z.array(MessageSchema, {
    required_error: "'messages' is required: an array of {role, content}",
    invalid_type_error: "'messages' must be an array of {role, content}",
  }).min(1, "'messages' must hold at least one message"),
  max_completion_tokens: int("max_completion_tokens").min(
    1,
    "'max_completion_tokens' must be at least 1",
  ).nullish(),
  logprobs: z.boolean({ invalid_type_error: "'logprobs' must be a boolean" }).nullish(),
  top_logprobs: int("top_logprobs").min(0, "'top_logprobs' must be at least 0").nullish(),
  add_generation_prompt: z.boolean({
    invalid_type_error: "'add_generation_prompt' must be true or false",
  }).nullish(),
  tools: z.array(z.unknown()).max(0, "'tools' is not supported").nullish(),
  tool_choice: z.literal("none", {
    errorMap: () => ({ message: "'tool_choice' is not supported" }),
  }).nullish(),
}).passthrough();

/**
 * Validate a parsed JSON body. Throws a 400 {@linkcode ApiError} whose `param` names the field.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { parseGenerationRequest } from "./protocol.ts";
 * import { resolveServeConfig } from "./config.ts";
 * const body = { model: "tiny", prompt: "x", max_tokens: -1 };
 * throws(() => parseGenerationRequest("completion", body, resolveServeConfig()), {
 *   status: 400,
 *   message: "'max_tokens' must be at least 0",
 * });
 * ```
 */
export function parseGenerationRequest(
  endpoint: Endpoint,
  body: unknown,
  config: ServeConfig,
): GenerationRequest {
  const d = validate<unknown>(endpoint === "chat" ? ChatSchema : CompletionSchema, body) as
    & z.infer<typeof ChatSchema>
    & z.infer<typeof CompletionSchema>;
  const stop = d.stop == null ? [] : typeof d.stop === "string" ? [d.stop] : d.stop;
  if (stop.length > config.maxStop) {
    throw ApiError.badRequest(
      `'stop' holds ${stop.length} sequences; this server accepts at most ${config.maxStop}`,
      "stop",
    );
  }
  const maxParam = d.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
  const maxTokens = d.max_completion_tokens ?? d.max_tokens ?? undefined;
  if (maxTokens !== undefined && maxTokens > config.maxTokens) {
    throw ApiError.badRequest(
      `'${maxParam}' is ${maxTokens}; this server allows at most ${config.maxTokens}`,
      maxParam,
    );
  }
  const logprobs = endpoint === "chat"
    ? chatLogprobs(d.logprobs, d.top_logprobs)
    : (d.logprobs ?? null);
  if (logprobs !== null && logprobs > config.maxLogprobs) {
    const param = endpoint === "chat" ? "top_logprobs" : "logprobs";
    throw ApiError.badRequest(
      `'${param}' is ${logprobs}; this server returns at most ${config.maxLogprobs} alternatives ` +
        `per token`,
      param,
    );
  }
  const echo = endpoint === "completion" && (d.echo ?? false);
  if (maxTokens === 0 && !echo) {
    throw ApiError.badRequest(
      `'${maxParam}' must be at least 1 (0 only with 'echo': true, to score the prompt)`,
      maxParam,
    );
  }
  const prompts = endpoint === "completion" ? promptList(d.prompt) : [];
  if (prompts.length > config.maxPrompts) {
    throw ApiError.badRequest(
      `'prompt' holds ${prompts.length} prompts; this server accepts at most ` +
        `${config.maxPrompts} per request`,
      "prompt",
    );
  }
  if (d.echo_logprobs_from != null && !(echo && logprobs !== null)) {
    throw ApiError.badRequest(
      "'echo_logprobs_from' applies to echoed prompt log-probabilities: send it with 'echo': " +
        "true and 'logprobs'",
      "echo_logprobs_from",
    );
  }
  if (d.stream && (echo || logprobs !== null || prompts.length > 1)) {
    const what = echo ? "'echo'" : logprobs !== null ? "'logprobs'" : "several prompts";
    throw ApiError.badRequest(
      `'stream' with ${what} is not supported; send 'stream': false`,
      "stream",
    );
  }
  const req: GenerationRequest = {
    endpoint,
    model: d.model,
    echo,
    logprobs,
    maxTokens,
    temperature: d.temperature ?? DEFAULT_TEMPERATURE,
    topP: d.top_p ?? DEFAULT_TOP_P,
    stop,
    // The native sampler takes an unsigned 32-bit seed.
    seed: d.seed == null ? undefined : ((d.seed % UINT32_RANGE) + UINT32_RANGE) % UINT32_RANGE,
    stream: d.stream ?? false,
    includeUsage: d.stream_options?.include_usage ?? false,
    ignoreEos: d.ignore_eos ?? false,
  };
  if (endpoint === "chat") {
    req.messages = d.messages.map((m) => ({
      role: m.role === "developer" ? "system" : m.role,
      content: typeof m.content === "string"
        ? m.content
        : (m.content ?? []).map((p) => p.text).join(""),
    }));
    req.addGenerationPrompt = d.add_generation_prompt ?? true;
  } else {
    req.prompts = prompts;
    req.tokensAsIds = d.return_tokens_as_token_ids ?? false;
    if (d.echo_logprobs_from != null) req.echoLogprobsFrom = d.echo_logprobs_from;
    req.promptPaths = prompts.length === 1 && !Array.isArray(d.prompt?.[0]) &&
        (typeof d.prompt === "string" || typeof d.prompt[0] === "number")
      ? ["prompt"]
      : prompts.map((_, i) => `prompt[${i}]`);
    if (prompts.length === 1 && typeof prompts[0] === "string") req.prompt = prompts[0];
  }
  return req;
}

/** The prompts of a completions `prompt` field, one per choice. */
function promptList(prompt: string | string[] | number[] | number[][]): PromptInput[] {
  if (typeof prompt === "string") return [prompt];
  if (prompt.every((p) => typeof p === "number")) return [prompt as number[]];
  return prompt as PromptInput[];
}

/** Chat's `logprobs` / `top_logprobs` as an alternatives count, or null. */
function chatLogprobs(
  logprobs: boolean | null | undefined,
  top: number | null | undefined,
): number | null {
  if (top != null && !logprobs) {
    throw ApiError.badRequest(
      "'top_logprobs' needs 'logprobs': true",
      "top_logprobs",
    );
  }
  return logprobs ? (top ?? 0) : null;
}

/**
 * The `usage` object of a response.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { usageOf } from "./protocol.ts";
 * deepStrictEqual(usageOf(9, 2), { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 });
 * ```
 */
export function usageOf(prompt: number, completion: number): Usage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

/** Fields shared by every response object of one request. */
export interface ResponseHead {
  /** Response id (`cmpl-…` / `chatcmpl-…`). */
  id: string;
  /** Unix seconds. */
  created: number;
  /** Model name. */
  model: string;
}

/**
 * The complete (non-streamed) response object.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { completionResponse } from "./protocol.ts";
 * const r = completionResponse("chat", { id: "chatcmpl-1", created: 0, model: "tiny" }, "5", "stop", {
 *   prompt_tokens: 9, completion_tokens: 2, total_tokens: 11,
 * });
 * strictEqual(r.object, "chat.completion");
 * ```
 */
export function completionResponse(
  endpoint: Endpoint,
  head: ResponseHead,
  text: string,
  finishReason: FinishReason,
  usage: Usage,
  logprobs: CompletionLogprobs | ChatLogprobs | null = null,
): Record<string, unknown> {
  const choice = endpoint === "chat"
    ? {
      index: 0,
      message: { role: "assistant", content: text },
      logprobs,
      finish_reason: finishReason,
    }
    : { index: 0, text, logprobs, finish_reason: finishReason };
  return {
    ...head,
    object: endpoint === "chat" ? "chat.completion" : "text_completion",
    choices: [choice],
    usage,
  };
}

/**
 * The legacy completions `logprobs` object (OpenAI's, as vLLM serves it): per token its text, its
 * log-probability (`null` for a prompt's first token, which nothing precedes), the most likely
 * tokens there with the chosen one (`null` for the first token) and where it starts in the
 * choice's text, in characters.
 */
export interface CompletionLogprobs {
  /** Each token's text. */
  tokens: string[];
  /** Each token's log-probability. */
  token_logprobs: (number | null)[];
  /** Each position's most likely tokens (text → log-probability), the chosen one included. */
  top_logprobs: (Record<string, number> | null)[];
  /** Where each token starts in the choice's `text`, in Unicode code points. */
  text_offset: number[];
}

/** One entry of the chat shape's `logprobs.content`. */
export interface ChatTokenLogprob {
  /** The token's text. */
  token: string;
  /** Its log-probability. */
  logprob: number;
  /** Its UTF-8 bytes (a token may hold part of a character). */
  bytes: number[];
  /** The most likely tokens at its position, most likely first. */
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** The chat shape's `logprobs`: one entry per generated token. */
export interface ChatLogprobs {
  /** The generated tokens. */
  content: ChatTokenLogprob[];
}

/** One choice of a completions response. */
export interface CompletionChoice {
  /** The choice's text (the prompt first, with `echo`). */
  text: string;
  /** Its log-probabilities, when asked for. */
  logprobs: CompletionLogprobs | null;
  /** Why it ended. */
  finish_reason: FinishReason;
}

/**
 * A completions response with several choices, one per prompt, in prompt order.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { completionsResponse } from "./protocol.ts";
 * const r = completionsResponse({ id: "cmpl-1", created: 0, model: "tiny" }, [
 *   { text: "a", logprobs: null, finish_reason: "length" },
 *   { text: "b", logprobs: null, finish_reason: "stop" },
 * ], { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
 * strictEqual((r.choices as { index: number }[])[1].index, 1);
 * ```
 */
export function completionsResponse(
  head: ResponseHead,
  choices: CompletionChoice[],
  usage: Usage,
): Record<string, unknown> {
  return {
    ...head,
    object: "text_completion",
    choices: choices.map((c, index) => ({ index, ...c })),
    usage,
  };
}

/** What one stream chunk carries. */
export interface ChunkContent {
  /** New text. Default: none. */
  text?: string;
  /** The first chat chunk carries the assistant role. Default: false. */
  role?: boolean;
  /** Set on the last content chunk. Default: null. */
  finishReason?: FinishReason | null;
  /** Set on the usage chunk (which has no choices). Default: none. */
  usage?: Usage;
}

/**
 * One server-sent-events chunk object (`chat.completion.chunk` or `text_completion`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { streamChunk } from "./protocol.ts";
 * const c = streamChunk("chat", { id: "chatcmpl-1", created: 0, model: "tiny" }, { text: "5" });
 * deepStrictEqual(c.choices, [
 *   { index: 0, delta: { content: "5" }, logprobs: null, finish_reason: null },
 * ]);
 * ```
 */
export function streamChunk(
  endpoint: Endpoint,
  head: ResponseHead,
  content: ChunkContent,
): Record<string, unknown> & { choices: unknown[] } {
  const { text, role = false, finishReason = null, usage } = content;
  const object = endpoint === "chat" ? "chat.completion.chunk" : "text_completion";
  if (usage) return { ...head, object, choices: [], usage };
  const choice = endpoint === "chat"
    ? {
      index: 0,
      delta: {
        ...(role ? { role: "assistant" } : {}),
        ...(text !== undefined ? { content: text } : {}),
      },
      logprobs: null,
      finish_reason: finishReason,
    }
    : { index: 0, text: text ?? "", logprobs: null, finish_reason: finishReason };
  return { ...head, object, choices: [choice] };
}

/** Stands in for the text while a chunk template is built; JSON-encoded as `"\u0000"`. */
const TEXT_SLOT = "\u0000";

/**
 * A fast writer of text chunks as server-sent events: the chunk object is serialized once and
 * only the text is encoded per token (the hot path of streaming).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { sseTextChunk, streamChunk } from "./protocol.ts";
 * const head = { id: "cmpl-1", created: 0, model: "tiny" };
 * const event = sseTextChunk("completion", head);
 * const chunk = streamChunk("completion", head, { text: "5" });
 * strictEqual(event("5"), `data: ${JSON.stringify(chunk)}\n\n`);
 * ```
 */
export function sseTextChunk(endpoint: Endpoint, head: ResponseHead): (text: string) => string {
  const json = JSON.stringify(streamChunk(endpoint, head, { text: TEXT_SLOT }));
  const slot = JSON.stringify(TEXT_SLOT);
  const at = json.indexOf(slot);
  const prefix = "data: " + json.slice(0, at);
  const suffix = json.slice(at + slot.length) + "\n\n";
  return (text) => prefix + JSON.stringify(text) + suffix;
}

const OptionalModel = z.string({ invalid_type_error: "'model' must be a string" }).min(1).nullish();
const ReturnStrs = z.boolean({ invalid_type_error: "'return_token_strs' must be a boolean" })
  .nullish();

const TokenizeSchema = z.union([
  z.object({
    model: OptionalModel,
    prompt: z.string({ invalid_type_error: "'prompt' must be a string" }),
    add_special_tokens: z.boolean({
      invalid_type_error: "'add_special_tokens' must be a boolean",
    }).nullish(),
    return_token_strs: ReturnStrs,
  }).passthrough(),
  z.object({
    model: OptionalModel,
    messages: z.array(MessageSchema).min(1, "'messages' must hold at least one message"),
    add_generation_prompt: z.boolean({
      invalid_type_error: "'add_generation_prompt' must be a boolean",
    }).nullish(),
    return_token_strs: ReturnStrs,
  }).passthrough(),
], {
  errorMap: () => ({
    message: "the body must hold 'prompt' (a string) or 'messages' (an array of {role, content})",
  }),
});

const DetokenizeSchema = z.object({
  model: OptionalModel,
  tokens: z.array(z.number().int().min(0), {
    required_error: "'tokens' is required: an array of token ids",
    invalid_type_error: "'tokens' must be an array of token ids (integers ≥ 0)",
  }),
}).passthrough();

/** A validated `POST /tokenize` request (vLLM's shape). */
export type TokenizeRequest =
  | {
    kind: "prompt";
    model?: string;
    prompt: string;
    /** BOS (as the model wants it) before the text. Default: true, as vLLM. */
    addSpecialTokens: boolean;
    returnTokenStrs: boolean;
  }
  | {
    kind: "messages";
    model?: string;
    messages: ChatMessage[];
    addGenerationPrompt: boolean;
    returnTokenStrs: boolean;
  };

/** A validated `POST /detokenize` request. */
export interface DetokenizeRequest {
  /** Model name; default: the first served. */
  model?: string;
  /** Token ids. */
  tokens: number[];
}

/**
 * Validate a `POST /tokenize` body (vLLM's `TokenizeCompletionRequest` or `TokenizeChatRequest`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseTokenizeRequest } from "./protocol.ts";
 * deepStrictEqual(parseTokenizeRequest({ prompt: "hi", add_special_tokens: false }), {
 *   kind: "prompt",
 *   prompt: "hi",
 *   addSpecialTokens: false,
 *   returnTokenStrs: false,
 * });
 * ```
 */
export function parseTokenizeRequest(body: unknown): TokenizeRequest {
  const d = validate(TokenizeSchema, body) as Record<string, unknown>;
  const model = typeof d.model === "string" ? { model: d.model } : {};
  const returnTokenStrs = d.return_token_strs === true;
  if (typeof d.prompt === "string") {
    return {
      kind: "prompt",
      ...model,
      prompt: d.prompt,
      addSpecialTokens: d.add_special_tokens !== false,
      returnTokenStrs,
    };
  }
  const messages = (d.messages as z.infer<typeof MessageSchema>[]).map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: typeof m.content === "string"
      ? m.content
      : (m.content ?? []).map((p) => p.text).join(""),
  }));
  return {
    kind: "messages",
    ...model,
    messages,
    addGenerationPrompt: d.add_generation_prompt !== false,
    returnTokenStrs,
  };
}

/**
 * Validate a `POST /detokenize` body.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { parseDetokenizeRequest } from "./protocol.ts";
 * throws(() => parseDetokenizeRequest({ tokens: "12" }), { status: 400, param: "tokens" });
 * ```
 */
export function parseDetokenizeRequest(body: unknown): DetokenizeRequest {
  const d = validate(DetokenizeSchema, body);
  return { ...(d.model ? { model: d.model } : {}), tokens: d.tokens };
}

/** Parse with `schema`; a 400 {@linkcode ApiError} naming the first bad field. */
function validate<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw ApiError.badRequest("the request body must be a JSON object", null, "invalid_body");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue.path.join(".") || null;
    const message = issue.message.startsWith("'") || issue.message.startsWith("the body")
      ? issue.message
      : `invalid '${param ?? "body"}': ${issue.message}`;
    throw ApiError.badRequest(
      message,
      param,
      issue.code === "invalid_type" ? "invalid_type" : "invalid_value",
    );
  }
  return parsed.data;
}
