/**
 * The tokenizer routes, in the shapes vLLM serves, so a client can align text and tokens without
 * the model's files (lm-evaluation-harness's `tokenizer_backend=remote` uses exactly these):
 *
 * - `POST /tokenize` — `{model?, prompt, add_special_tokens?, return_token_strs?}` (or
 *   `{model?, messages, add_generation_prompt?}`) → `{count, max_model_len, tokens, token_strs?}`.
 *   Special-token text in a prompt (`</s>`) is read as those tokens, as Hugging Face tokenizers
 *   (and so vLLM) read it — which is how a client learns the BOS id from its text (lm-eval's
 *   remote tokenizer does). This route alone does so: the completions endpoints read a prompt as
 *   text (lib/llm/tokenizer_rules.ts). `add_special_tokens` (default true) puts BOS and EOS around
 *   the tokens as the model's rules say (`tokenizerRules`), once. `messages` give the tokens
 *   /v1/chat/completions evaluates for them (`encodeChat`).
 * - `POST /detokenize` — `{model?, tokens}` → `{prompt}`: the text the tokens spell, special
 *   tokens as their text.
 * - `GET /tokenizer_info[?model=NAME]` — the model's tokenizer settings, as tokenizer_config.json
 *   names them: `bos_token`, `eos_token`, `pad_token`, `chat_template`, `model_max_length`,
 *   `add_bos_token`, `add_eos_token`, plus `bos_token_id`, `eos_token_id` and `vocab_size`.
 *
 * `model` defaults to the first model name served.
 *
 * The replies, against the tiny model and lm-eval's `RemoteTokenizer`, are checked in
 * tests/model/serve_logprobs_test.ts and tests/model/lm_eval_wire_test.ts (the model is needed,
 * so the example does not run here):
 *
 * @example
 * ```ts ignore
 * const request = new Request("http://127.0.0.1:8080/tokenize", {
 *   method: "POST",
 *   body: JSON.stringify({ prompt: "2 plus 2", add_special_tokens: false }),
 * });
 * const res = await handleTokenization(request, "/tokenize", { registry, config });
 * ```
 * @module
 */
import { encodeChat } from "../llm/chat.ts";
import { encodeText, tokenizerRules } from "../llm/tokenizer_rules.ts";
import type { ServeConfig } from "./config.ts";
import { ApiError } from "./errors.ts";
import { readJsonBody } from "./http.ts";
import { parseDetokenizeRequest, parseTokenizeRequest } from "./protocol.ts";
import type { ModelRegistry, PoolLease } from "./registry.ts";

/** The tokenizer routes. */
export const TOKENIZER_ROUTES = ["/tokenize", "/detokenize", "/tokenizer_info"] as const;

/** One of {@linkcode TOKENIZER_ROUTES}. */
export type TokenizerRoute = typeof TOKENIZER_ROUTES[number];

/** What the tokenizer routes need. */
export interface TokenizationContext {
  /** The served models. */
  registry: ModelRegistry;
  /** The server's config (body limit). */
  config: ServeConfig;
  /** Response headers (the request id). */
  headers?: Record<string, string>;
}

/** Answer one tokenizer route; throws {@linkcode ApiError} for a bad request. */
export async function handleTokenization(
  req: Request,
  route: TokenizerRoute,
  ctx: TokenizationContext,
): Promise<Response> {
  const headers = ctx.headers ?? {};
  if (route === "/tokenizer_info") {
    const name = new URL(req.url).searchParams.get("model") ?? undefined;
    return await withLease(ctx, name, (lease) => Response.json(tokenizerInfo(lease), { headers }));
  }
  const body = await readJsonBody(req, { maxBytes: ctx.config.maxBodyBytes });
  if (route === "/tokenize") {
    const r = parseTokenizeRequest(body);
    return await withLease(ctx, r.model, async (lease) => {
      const model = lease.pool.loaded.model;
      let tokens: number[];
      if (r.kind === "prompt") {
        // Special-token text read as those tokens, as a Hugging Face tokenizer (vLLM's) reads it:
        // this route is the client's tokenizer, and lm-eval learns BOS's id from its text.
        tokens = encodeText(model, r.prompt, {
          specialTokens: true,
          bos: r.addSpecialTokens,
          eos: r.addSpecialTokens,
        });
      } else {
        if (!lease.chatTemplate) {
          throw ApiError.badRequest(
            `model '${lease.name}' has no chat template (no tokenizer.chat_template in its GGUF)`,
            "messages",
          );
        }
        // Exactly the tokens /v1/chat/completions evaluates for these messages.
        tokens = encodeChat(model, lease.chatTemplate, r.messages, {
          addGenerationPrompt: r.addGenerationPrompt,
        }).tokens;
      }
      const strs = r.returnTokenStrs ? { token_strs: await tokenStrings(lease, tokens) } : {};
      return Response.json({
        count: tokens.length,
        max_model_len: lease.pool.contextSize,
        tokens,
        ...strs,
      }, { headers });
    });
  }
  const r = parseDetokenizeRequest(body);
  return await withLease(ctx, r.model, async (lease) => {
    const vocab = lease.pool.vocabularySize;
    const bad = r.tokens.findIndex((t) => t >= vocab);
    if (bad >= 0) {
      throw ApiError.badRequest(
        `tokens[${bad}] is token ${r.tokens[bad]}; model '${lease.name}' has ${vocab} tokens`,
        `tokens[${bad}]`,
      );
    }
    const pieces = await lease.pieces();
    return Response.json({ prompt: pieces.render(r.tokens).text }, { headers });
  });
}

async function withLease(
  ctx: TokenizationContext,
  name: string | undefined,
  fn: (lease: PoolLease) => Response | Promise<Response>,
): Promise<Response> {
  const lease = await ctx.registry.lease(name ?? ctx.registry.names()[0]);
  try {
    return await fn(lease);
  } finally {
    lease.done();
  }
}

async function tokenStrings(lease: PoolLease, tokens: number[]): Promise<string[]> {
  const pieces = await lease.pieces();
  return tokens.map((t) => pieces.text(t));
}

/** The model's tokenizer settings (tokenizer_config.json's names, as vLLM's /tokenizer_info). */
function tokenizerInfo(lease: PoolLease): Record<string, unknown> {
  const model = lease.pool.loaded.model;
  const t = model.tokens;
  const rules = tokenizerRules(model);
  const ggml = (model.fileInfo.metadata as unknown as {
    tokenizer?: { ggml?: { model?: unknown; add_eos_token?: unknown }; chat_template?: unknown };
  }).tokenizer;
  const kind = typeof ggml?.ggml?.model === "string" ? ggml.ggml.model : "unknown";
  return {
    tokenizer_class: `llama.cpp GGUF tokenizer (${kind})`,
    model: lease.name,
    bos_token: t.bos !== null ? t.bosString ?? null : null,
    eos_token: t.eos !== null ? t.eosString ?? null : null,
    pad_token: null,
    bos_token_id: t.bos,
    eos_token_id: t.eos,
    add_bos_token: rules.addBos,
    add_eos_token: rules.addEos,
    chat_template: typeof ggml?.chat_template === "string" ? ggml.chat_template : null,
    model_max_length: lease.pool.contextSize,
    vocab_size: lease.pool.vocabularySize,
  };
}
