/**
 * `deno task serve` — serve a GGUF model (plus LoRA adapters) behind an OpenAI-compatible API.
 *
 *   deno task serve                                           # bundled tiny model as "tiny", 127.0.0.1:8080
 *   deno task serve --model m.gguf --adapter arith=a.gguf:0.8 # "m" and "m+arith"
 *   deno task serve --config serve.yaml --port 9000 --api-key secret
 *
 * The logic lives in `lib/serve/`; this file only parses arguments and handles signals.
 * Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad arguments or config (a --host that is not an
 * address of this machine included); 1 models failed to load, or the port is in use.
 * On SIGTERM/SIGINT it stops accepting connections, lets in-flight requests finish for
 * --shutdown-grace seconds, then ends the rest (a stream gets an error event); a second signal
 * ends them at once.
 * @module
 */
import {
  addAdapter,
  loadServeConfigFile,
  modelNameFromPath,
  parseAdapterFlag,
  resolveServeConfig,
  SERVE_DEFAULTS,
  type ServeConfig,
  withBundledChat,
} from "../serve/config.ts";
import { jsonLineLogger } from "../serve/log.ts";
import { ListenError, type RunningServer, startServer } from "../serve/server.ts";
import { checkLoraFile, LoraSpecError } from "../llm/lora_spec.ts";
import { DEFAULT_MODEL } from "../llm/model.ts";
import {
  booleanFlag,
  defineCommand,
  enumFlag,
  FAILURE,
  type FlagValues,
  integerFlag,
  numberFlag,
  repeatedFlag,
  runCommand,
  stringFlag,
  USAGE_ERROR,
} from "./_command.ts";

const MAX_PORT = 65535;
/** Signals this close together are one (see the signal listener). */
const SAME_SIGNAL_MS = 1000;

const flags = {
  model: stringFlag("base GGUF, served as NAME", {
    placeholder: "FILE.gguf",
    defaultText: `${DEFAULT_MODEL}, or the --config file's models`,
  }),
  name: stringFlag("its model name", {
    placeholder: "NAME",
    defaultText: "the file name without .gguf and a quantization tag: tiny",
  }),
  adapter: repeatedFlag(
    "serve NAME+ADAPTER_NAME too: the base with this GGUF LoRA adapter (the same name twice " +
      "stacks adapters)",
    parseAdapterFlag,
    { placeholder: "ADAPTER_NAME=FILE.gguf[:SCALE]" },
  ),
  config: stringFlag(
    `YAML with any of: ${Object.keys(SERVE_DEFAULTS).join(", ")}\n` +
      "(models: {NAME: {model: FILE, adapters: [{path, scale}], chatTemplate: FILE}}); flags override it",
    { placeholder: "FILE.yaml" },
  ),
  host: stringFlag("interface to listen on; 0.0.0.0 for every interface", {
    placeholder: "ADDR",
    defaultText: `${SERVE_DEFAULTS.host} (this machine only)`,
  }),
  port: integerFlag("TCP port (0: any free port)", {
    min: 0,
    max: MAX_PORT,
    defaultText: String(SERVE_DEFAULTS.port),
  }),
  "api-key": stringFlag("require 'Authorization: Bearer KEY' on /v1", {
    placeholder: "KEY",
    defaultText: "the TUNEBOOK_API_KEY variable, else none",
  }),
  sequences: integerFlag("requests generating at once per model", {
    min: 1,
    defaultText: String(SERVE_DEFAULTS.sequences),
  }),
  "ctx-size": integerFlag("tokens per sequence", {
    min: 1,
    defaultText: "the model's training context, at most 4096",
  }),
  threads: integerFlag("CPU threads per context (0: one fewer than the cores)", {
    min: 0,
    defaultText: String(SERVE_DEFAULTS.threads),
  }),
  "score-threads": integerFlag(
    "CPU threads of the prompt scorer (echo + logprobs) per model (0: every core)",
    { min: 0, defaultText: String(SERVE_DEFAULTS.scoreThreads) },
  ),
  cpu: booleanFlag("never use a GPU"),
  "lora-mode": enumFlag(
    "how a model's LoRA adapters are applied: auto (merged into a cached copy of the weights " +
      "at load when no other served name shares its base, else at runtime), runtime (always " +
      "at runtime)",
    ["auto", "runtime"],
    { defaultText: SERVE_DEFAULTS.loraMode },
  ),
  "max-queue": integerFlag("requests waiting per model before 429", {
    min: 0,
    defaultText: String(SERVE_DEFAULTS.maxQueue),
  }),
  "max-tokens": integerFlag("largest max_tokens a request may ask for", {
    min: 1,
    defaultText: String(SERVE_DEFAULTS.maxTokens),
  }),
  "max-body-bytes": integerFlag("largest request body (413 above)", {
    min: 1,
    defaultText: String(SERVE_DEFAULTS.maxBodyBytes),
  }),
  "body-timeout": numberFlag("seconds a request body may send nothing before 408", {
    min: 0,
    placeholder: "S",
    defaultText: String(SERVE_DEFAULTS.bodyTimeoutSeconds),
  }),
  "shutdown-grace": numberFlag(
    "on SIGTERM/SIGINT, seconds in-flight requests may finish before they are ended",
    { min: 0, placeholder: "S", defaultText: String(SERVE_DEFAULTS.shutdownGraceSeconds) },
  ),
  "log-level": enumFlag("least severe log line written", ["debug", "info", "warn", "error"], {
    default: "info",
  }),
};

/** `deno task serve`. */
export const command = defineCommand({
  name: "serve",
  summary: "Serve a GGUF model (plus LoRA adapters) behind an OpenAI-compatible API\n" +
    "(/v1/models, /v1/completions with echo and logprobs, /v1/chat/completions, /tokenize,\n" +
    "/detokenize, /tokenizer_info) until SIGINT or SIGTERM.",
  usage: [
    "[--model FILE.gguf] [--name NAME] [--adapter ADAPTER_NAME=FILE.gguf[:SCALE]]... [options]",
    "--config FILE.yaml [options]",
  ],
  flags,
  exitStatus: "Exit status: 0 stopped by SIGINT/SIGTERM; 2 bad arguments or config (a --host " +
    "that is not an address of this machine included); 1 models failed to load, or the port is " +
    "in use.",
  usageErrors: [LoraSpecError],
  run: async ({ values }) => {
    let config: ServeConfig;
    try {
      config = buildConfig(values);
    } catch (e) {
      console.error(`serve: ${(e as Error).message}`);
      return USAGE_ERROR;
    }
    for (const model of Object.values(config.models)) {
      for (const adapter of model.adapters) checkLoraFile(adapter.path);
    }
    let server: RunningServer;
    try {
      server = startServer(config, { log: jsonLineLogger({ level: values["log-level"] }) });
    } catch (e) {
      if (!(e instanceof ListenError)) throw e;
      console.error(`serve: ${e.message}`);
      return e.badAddress ? USAGE_ERROR : FAILURE;
    }
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    let firstSignal: number | undefined;
    const stop = () => {
      // Deno 2.9.6 calls this listener twice for one SIGTERM once the models are loaded
      // (measured; a bare script gets one call): repeats within a second are that one signal.
      const now = performance.now();
      if (firstSignal !== undefined && now - firstSignal < SAME_SIGNAL_MS) return;
      if (firstSignal !== undefined) {
        console.error("tunebook serve: ending the in-flight requests now");
        void server.shutdown({ graceSeconds: 0 });
        return;
      }
      firstSignal = now;
      console.error(
        `tunebook serve: shutting down; in-flight requests have ${config.shutdownGraceSeconds} s ` +
          "to finish (signal again to end them now)",
      );
      void server.shutdown().then(stopped);
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    try {
      await server.ready;
    } catch (e) {
      console.error(`tunebook serve: ${(e as Error).message}`);
      await server.shutdown();
      return FAILURE;
    }
    console.error(
      `tunebook serve: ${server.url}/v1 — models ${Object.keys(config.models).join(", ")}` +
        (config.apiKey ? " (API key required)" : ""),
    );
    await done; // until SIGINT or SIGTERM
    return 0;
  },
});

function buildConfig(values: FlagValues<typeof flags>): ServeConfig {
  let config = values.config ? loadServeConfigFile(values.config) : resolveServeConfig();
  const overrides: Record<string, unknown> = {
    host: values.host,
    port: values.port,
    apiKey: values["api-key"] ?? (Deno.env.get("TUNEBOOK_API_KEY") || undefined),
    sequences: values.sequences,
    contextSize: values["ctx-size"],
    threads: values.threads,
    scoreThreads: values["score-threads"],
    gpu: values.cpu ? false : undefined,
    loraMode: values["lora-mode"],
    maxQueue: values["max-queue"],
    maxTokens: values["max-tokens"],
    maxBodyBytes: values["max-body-bytes"],
    bodyTimeoutSeconds: values["body-timeout"],
    shutdownGraceSeconds: values["shutdown-grace"],
  };
  if (values.model || values.name) {
    const model = values.model ?? DEFAULT_MODEL;
    const name = values.name ?? modelNameFromPath(model);
    overrides.models = { [name]: { model } };
  }
  if (!values.config && !values.model && !values.name) {
    // A plain `deno task serve`: the bundled model, and the bundled chat model beside it.
    overrides.models = withBundledChat(config).models;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  config = resolveServeConfig({ ...config, ...defined }, "command line");
  const base = Object.keys(config.models)[0];
  for (const adapter of values.adapter) config = addAdapter(config, base, adapter);
  return config;
}

if (import.meta.main) await runCommand(command);
