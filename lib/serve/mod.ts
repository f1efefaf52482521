/**
 * tunebook's OpenAI-compatible server: start it, configure the model names it serves (a base
 * GGUF plus LoRA adapters each), and load-test it. `deno task serve` is the command line.
 *
 * @example
 * ```ts ignore
 * import { resolveServeConfig, startServer } from "./mod.ts";
 * const server = startServer(resolveServeConfig({ port: 8080 }));
 * await server.ready; // GET /v1/models, POST /v1/completions, POST /v1/chat/completions
 * ```
 * @module
 */
export {
  type AdapterFlag,
  addAdapter,
  loadServeConfigFile,
  modelNameFromPath,
  parseAdapterFlag,
  resolveServeConfig,
  SERVE_DEFAULTS,
  type ServeConfig,
  type ServeConfigInput,
  type ServedModel,
} from "./config.ts";
export { ApiError, type ApiErrorBody } from "./errors.ts";
export { jsonLineLogger, type JsonLineLoggerOptions, type Logger, type LogRecord } from "./log.ts";
export { type Endpoint, type GenerationRequest, parseGenerationRequest } from "./protocol.ts";
export { ModelRegistry, type PoolLease, type RegistryState } from "./registry.ts";
export {
  ListenError,
  type RunningServer,
  type ShutdownOptions,
  startServer,
  type StartServerOptions,
} from "./server.ts";
export {
  type Percentiles,
  runStreamingLoad,
  type StreamingLoadOptions,
  type StreamingLoadReport,
} from "./loadgen.ts";
export {
  freePort,
  type ServerProcess,
  spawnServer,
  type SpawnServerOptions,
  spawnTunebookServer,
} from "./server_process.ts";
