/**
 * The OpenAI wire format: validation of `/v1/completions` and `/v1/chat/completions` request
 * bodies into one {@linkcode GenerationRequest}, and the response and stream-chunk objects.
 *
 * Supported fields: `model`, `prompt` (a string or a one-string array) or `messages` (text
 * content, or text parts), `max_tokens` (`max_completion_tokens` for chat), `temperature`,
 * `top_p`, `stop`, `seed`, `stream`, `stream_options.include_usage`, `n` (1 only),
 * llama.cpp's `ignore_eos` extension, and for chat vLLM's `add_generation_prompt` (default true:
 * the render ends with the assistant's turn header; false continues the last message). Values a client sets that this server cannot honour
 * (`n` > 1, `echo`, `logprobs`, penalties, tools) are rejected with 400 rather than ignored;
 * other unknown fields are ignored, as llama.cpp's server does.
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

/** A validated generation request, the same for both endpoints. */
export interface GenerationRequest {
  /** The endpoint. */
  endpoint: Endpoint;
  /** Model name. */
  model: string;
  /** The prompt (completions). */
  prompt?: string;
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
  max_tokens: int("max_tokens").min(1, "'max_tokens' must be at least 1").nullish(),
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

const CompletionSchema = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1)], {
    errorMap: () => ({
      message: "'prompt' must be a string (or an array of one string; token arrays and " +
        "several prompts per request are not supported)",
    }),
  }),
  echo: z.literal(false, { errorMap: () => ({ message: "'echo' is not supported" }) }).nullish(),
  logprobs: z.union([z.literal(0), z.literal(null)], {
    errorMap: () => ({ message: "'logprobs' is not supported" }),
  }).optional(),
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
  logprobs: z.union([z.literal(false), z.null()], {
    errorMap: () => ({ message: "'logprobs' is not supported" }),
  }).optional(),
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
 *   message: "'max_tokens' must be at least 1",
 * });
 * ```
 */
export function parseGenerationRequest(
  endpoint: Endpoint,
  body: unknown,
  config: ServeConfig,
): GenerationRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw ApiError.badRequest("the request body must be a JSON object", null, "invalid_body");
  }
  const parsed = (endpoint === "chat" ? ChatSchema : CompletionSchema).safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue.path.join(".") || null;
    const message = issue.message.startsWith("'")
      ? issue.message
      : `invalid '${param ?? "body"}': ${issue.message}`;
    throw ApiError.badRequest(
      message,
      param,
      issue.code === "invalid_type" ? "invalid_type" : "invalid_value",
    );
  }
  const d = parsed.data as z.infer<typeof ChatSchema> & z.infer<typeof CompletionSchema>;
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
  const req: GenerationRequest = {
    endpoint,
    model: d.model,
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
    req.prompt = typeof d.prompt === "string" ? d.prompt : d.prompt[0];
  }
  return req;
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
): Record<string, unknown> {
  const choice = endpoint === "chat"
    ? {
      index: 0,
      message: { role: "assistant", content: text },
      logprobs: null,
      finish_reason: finishReason,
    }
    : { index: 0, text, logprobs: null, finish_reason: finishReason };
  return {
    ...head,
    object: endpoint === "chat" ? "chat.completion" : "text_completion",
    choices: [choice],
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
