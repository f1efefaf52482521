/**
 * llama.cpp's own quantizer, `llama_model_quantize`, called through tunebook's libllama binding
 * (lib/llm/_libllama.ts): one GGUF in, one GGUF out, what `llama-quantize` of the same release
 * writes. lib/gguf/quantize.ts builds the user-facing command on it (type names, output paths,
 * request checks, the JSON card).
 *
 * Needs `--allow-ffi` (tasks run with `-A`).
 *
 * @example
 * ```ts ignore
 * import { quantizeGguf } from "./quantize_gguf.ts";
 * const r = await quantizeGguf("data/models/tiny/tiny-f32.gguf", "/tmp/tiny-q8_0.gguf", {
 *   ftype: 7, // LLAMA_FTYPE_MOSTLY_Q8_0
 *   threads: 2,
 * });
 * console.log(r.library, r.release, r.seconds);
 * ```
 * @module
 */
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { libllamaRelease } from "./_libllama_path.ts";
import {
  captureLlamaLog,
  cString,
  type LlamaLogLevel,
  openLibllama,
  QUANTIZE_PARAMS,
} from "./_libllama.ts";

/** Options of {@linkcode quantizeGguf}. */
export interface QuantizeGgufOptions {
  /**
   * The output's `llama_ftype` (llama.h), e.g. 7 for Q8_0, 15 for Q4_K_M; lib/gguf/quantize.ts's
   * `QUANT_TYPES` names them. Required: there is no default type.
   */
  ftype: number;
  /** Threads for llama.cpp; 0 uses every core. Default: 0. */
  threads?: number;
  /** Let llama.cpp quantize an already-quantized input. Default: false. */
  allowRequantize?: boolean;
  /** Called with each line llama.cpp logs while quantizing. Default: lines are dropped. */
  onLog?: (line: string, level: LlamaLogLevel) => void;
}

/** What {@linkcode quantizeGguf} returns. */
export interface QuantizeGgufResult {
  /** Absolute path of the libllama that quantized. */
  library: string;
  /** Its llama.cpp release (e.g. "v0.4.0"), when node-llama-cpp's build metadata says. */
  release?: string;
  /** Wall-clock seconds of `llama_model_quantize`. */
  seconds: number;
}

/**
 * `llama_model_quantize` returned an error: its return code and the error lines llama.cpp logged
 * meanwhile (an `onLog` that threw is one of them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LlamaQuantizeError } from "./quantize_gguf.ts";
 * const e = new LlamaQuantizeError("in.gguf", 1, ["failed to quantize: bad tensor"]);
 * assert.equal(e.message, "in.gguf: llama_model_quantize failed (failed to quantize: bad tensor)");
 * ```
 */
export class LlamaQuantizeError extends Error {
  /**
   * @param input The input path.
   * @param code What `llama_model_quantize` returned.
   * @param errors Error lines from llama.cpp's log (without the "function: " prefix).
   */
  constructor(readonly input: string, readonly code: number, readonly errors: string[]) {
    super(`${input}: llama_model_quantize failed (${errors.join("; ") || `return code ${code}`})`);
    this.name = "LlamaQuantizeError";
  }
}

// llama.cpp's logger is process-wide, so quantizations run one at a time.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Quantize the GGUF model `input` to `output` with llama.cpp's `llama_model_quantize`. Throws
 * {@linkcode LlamaQuantizeError} when llama.cpp fails (and removes what it wrote of `output`).
 * Checks of the request (is it a model, is it already quantized, may `output` be replaced) are the
 * caller's: lib/gguf/quantize.ts makes them.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { quantizeGguf } from "./quantize_gguf.ts";
 * const lines: string[] = [];
 * await quantizeGguf("data/models/tiny/tiny-f32.gguf", "/tmp/tiny-q4_k_m.gguf", {
 *   ftype: 15,
 *   onLog: (line) => lines.push(line),
 * });
 * assert.equal(lines.filter((l) => l.includes("falling back")).length, 29); // on the tiny model
 * ```
 */
export function quantizeGguf(
  input: string,
  output: string,
  options: QuantizeGgufOptions,
): Promise<QuantizeGgufResult> {
  const run = queue.then(() => quantizeOne(input, output, options));
  queue = run.catch(() => undefined);
  return run;
}

async function quantizeOne(
  input: string,
  output: string,
  options: QuantizeGgufOptions,
): Promise<QuantizeGgufResult> {
  const { ftype, threads = 0, allowRequantize = false, onLog } = options;
  const { path: library, lib } = openLibllama();
  const params = new Uint8Array(lib.symbols.llama_model_quantize_default_params());
  const view = new DataView(params.buffer);
  view.setInt32(QUANTIZE_PARAMS.nthread, threads, true);
  view.setInt32(QUANTIZE_PARAMS.ftype, ftype, true);
  view.setUint8(QUANTIZE_PARAMS.allowRequantize, allowRequantize ? 1 : 0);

  const errors: string[] = [];
  const log = captureLlamaLog(lib, (line, level) => {
    if (level === "error") errors.push(line.replace(/^\w+: /, "").trim());
    try {
      onLog?.(line, level);
    } catch (e) {
      errors.push(`onLog threw: ${(e as Error).message}`);
    }
  });
  const started = performance.now();
  let rc: number;
  try {
    rc = await lib.symbols.llama_model_quantize(
      cString(resolve(input)),
      cString(resolve(output)),
      params,
    );
  } finally {
    log.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  if (rc !== 0) {
    rmSync(output, { force: true });
    throw new LlamaQuantizeError(input, rc, errors);
  }
  return { library, release: libllamaRelease(library), seconds };
}
