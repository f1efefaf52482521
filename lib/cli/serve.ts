/**
 * `deno task serve` — serve a GGUF model (plus LoRA adapters) behind an OpenAI-compatible API.
 *
 *   deno task serve                                           # bundled tiny model as "tiny", 127.0.0.1:8080
 *   deno task serve --model m.gguf --adapter arith=a.gguf:0.8 # "m" and "m+arith"
 *   deno task serve --config serve.yaml --port 9000 --api-key secret
 *
 * The logic lives in `lib/serve/`; this file only parses arguments and handles signals.
 * Exit codes: 0 stopped by SIGINT/SIGTERM; 2 bad arguments or config; 1 models failed to load.
 * @module
 */
import { parseArgs } from "node:util";
import {
  addAdapter,
  loadServeConfigFile,
  modelNameFromPath,
  parseAdapterFlag,
  resolveServeConfig,
  SERVE_DEFAULTS,
  type ServeConfig,
} from "../serve/config.ts";
import { jsonLineLogger, type LogRecord } from "../serve/log.ts";
import { startServer } from "../serve/server.ts";
import { DEFAULT_MODEL } from "../llm/model.ts";
import { FAILURE, USAGE_ERROR } from "./_main.ts";

const HELP =
  `usage: deno task serve [--model FILE.gguf] [--name NAME] [--adapter NAME=FILE.gguf[:SCALE]]...
                       [--config FILE.yaml] [--host ADDR] [--port N] [--api-key KEY]
                       [--sequences N] [--ctx-size N] [--threads N] [--cpu] [--max-queue N]
                       [--max-tokens N] [--max-body-bytes N] [--log-level debug|info|warn|error]
--model      base GGUF (default: ${DEFAULT_MODEL}), served as NAME
--name       its model name (default: the file name without .gguf and a quantization tag: tiny)
--adapter    serve NAME+ADAPTER_NAME too: the base with this GGUF LoRA adapter (repeat to add more;
             the same name twice stacks adapters)
--config     YAML with any of: ${Object.keys(SERVE_DEFAULTS).join(", ")}
             (models: {NAME: {model: FILE, adapters: [{path, scale}], chatTemplate: FILE}})
--host       default ${SERVE_DEFAULTS.host} (this machine only); 0.0.0.0 to listen on every interface
--port       default ${SERVE_DEFAULTS.port}
--api-key    require 'Authorization: Bearer KEY' on /v1 (default: the TUNEBOOK_API_KEY variable, else none)
--sequences  requests generating at once per model (default ${SERVE_DEFAULTS.sequences})
--max-queue  requests waiting per model before 429 (default ${SERVE_DEFAULTS.maxQueue})
--max-tokens largest max_tokens a request may ask for (default ${SERVE_DEFAULTS.maxTokens})
--cpu        never use a GPU`;

function intFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`--${name} ${value}: expected an integer`);
  return n;
}

function buildConfig(values: Record<string, unknown>): ServeConfig {
  let config = values.config ? loadServeConfigFile(values.config as string) : resolveServeConfig();
  const overrides: Record<string, unknown> = {
    host: values.host,
    port: intFlag("port", values.port as string | undefined),
    apiKey: values["api-key"] ?? (Deno.env.get("TUNEBOOK_API_KEY") || undefined),
    sequences: intFlag("sequences", values.sequences as string | undefined),
    contextSize: intFlag("ctx-size", values["ctx-size"] as string | undefined),
    threads: intFlag("threads", values.threads as string | undefined),
    gpu: values.cpu ? false : undefined,
    maxQueue: intFlag("max-queue", values["max-queue"] as string | undefined),
    maxTokens: intFlag("max-tokens", values["max-tokens"] as string | undefined),
    maxBodyBytes: intFlag("max-body-bytes", values["max-body-bytes"] as string | undefined),
  };
  if (values.model || values.name) {
    const model = (values.model as string | undefined) ?? DEFAULT_MODEL;
    const name = (values.name as string | undefined) ?? modelNameFromPath(model);
    overrides.models = { [name]: { model } };
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  config = resolveServeConfig({ ...config, ...defined }, "command line");
  const base = Object.keys(config.models)[0];
  for (const flag of values.adapter as string[]) {
    config = addAdapter(config, base, parseAdapterFlag(flag));
  }
  return config;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        model: { type: "string" },
        name: { type: "string" },
        adapter: { type: "string", multiple: true, default: [] },
        config: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "api-key": { type: "string" },
        sequences: { type: "string" },
        "ctx-size": { type: "string" },
        threads: { type: "string" },
        cpu: { type: "boolean", default: false },
        "max-queue": { type: "string" },
        "max-tokens": { type: "string" },
        "max-body-bytes": { type: "string" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${HELP}`);
    return USAGE_ERROR;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let config: ServeConfig;
  try {
    config = buildConfig(values);
  } catch (e) {
    console.error((e as Error).message);
    return USAGE_ERROR;
  }
  const level = values["log-level"] as LogRecord["level"];
  if (!["debug", "info", "warn", "error"].includes(level)) {
    console.error(`--log-level ${level}: use debug, info, warn or error`);
    return USAGE_ERROR;
  }
  const server = startServer(config, { log: jsonLineLogger({ level }) });
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = () => void server.shutdown().then(stopped);
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
}

if (import.meta.main) Deno.exit(await main());
