/**
 * `deno task quantize` — quantize a GGUF model with llama.cpp's `llama_model_quantize` (the
 * libllama node-llama-cpp ships), write a JSON card next to each output and print a summary.
 *
 *   deno task quantize data/models/tiny/tiny-f32.gguf --type q4_k_m
 *   deno task quantize model-f16.gguf --type q8_0,q4_k_m,q5_k_m --out-dir results/models --threads 4
 *   deno task quantize model-f16.gguf --type q6_k --out /tmp/m-q6.gguf --force
 *
 * The logic lives in `lib/gguf/quantize.ts`; this file only parses arguments and reports.
 * Exit codes: 0 done; 2 bad arguments or input; 1 llama.cpp or another failure.
 * @module
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  DEFAULT_QUANT_DIR,
  formatQuantizeTable,
  parseQuantTypes,
  QUANT_TYPES,
  type QuantizeCard,
  quantizedPath,
  QuantizeInputError,
  quantizeModel,
} from "../gguf/quantize.ts";
import { DEFAULT_MODEL } from "../llm/model.ts";
import { runMain } from "./_main.ts";

const HELP = `usage: deno task quantize [IN.gguf] --type TYPE[,TYPE...] [--out FILE | --out-dir DIR]
                          [--threads N] [--force] [--allow-requantize] [--verbose] [--json]
IN.gguf             default: ${DEFAULT_MODEL}
--type              one or more of: ${Object.keys(QUANT_TYPES).join(", ")}
--out FILE          output path (one type only)
--out-dir DIR       default: ${DEFAULT_QUANT_DIR}; outputs are named <stem>-<type>.gguf, where
                    <stem> is IN's name without .gguf and a trailing type tag (tiny-f32 -> tiny)
--threads N         llama.cpp threads; 0 = every core (default 0)
--force             replace existing outputs
--allow-requantize  accept an input that is already quantized
--verbose           print llama.cpp's log on stderr
--json              print the cards as JSON instead of a table
Each output gets a card <out>.json: source, source_sha256, type, bytes, bits_per_weight
(tensor bits / weights, as llama.cpp reports BPW), seconds, tensor types and fallbacks.`;

async function main(): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        type: { type: "string" },
        out: { type: "string" },
        "out-dir": { type: "string", default: DEFAULT_QUANT_DIR },
        threads: { type: "string", default: "0" },
        force: { type: "boolean", default: false },
        "allow-requantize": { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    throw new QuantizeInputError(`${(e as Error).message}\n${HELP}`);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new QuantizeInputError(`one input model at a time; got ${positionals.join(" ")}`);
  }
  const input = positionals[0] ?? DEFAULT_MODEL;
  if (values.type === undefined) {
    throw new QuantizeInputError(
      `--type is required: one or more of ${Object.keys(QUANT_TYPES).join(", ")}`,
    );
  }
  const types = parseQuantTypes(values.type);
  if (values.out !== undefined && types.length > 1) {
    throw new QuantizeInputError(
      `--out names one file but --type lists ${types.length}; use --out-dir`,
    );
  }
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 0) {
    throw new QuantizeInputError(
      `--threads ${values.threads}: expected a whole number ≥ 0 (0 = every core)`,
    );
  }
  // Check every output first, so a run never stops halfway on an existing file.
  if (!values.force) {
    for (const type of types) {
      const out = values.out ?? quantizedPath(input, type, { outDir: values["out-dir"] });
      if (existsSync(out)) {
        throw new QuantizeInputError(`${out}: already exists. Pass --force to replace it.`);
      }
    }
  }
  const cards: QuantizeCard[] = [];
  for (const type of types) {
    const { path, card } = await quantizeModel(input, type, {
      out: values.out,
      outDir: values["out-dir"],
      threads,
      force: values.force,
      allowRequantize: values["allow-requantize"],
      onLog: values.verbose ? (line) => console.error(line) : undefined,
    });
    cards.push(card);
    if (!values.json) console.error(`wrote ${path} (+ .json card)`);
  }
  console.log(values.json ? JSON.stringify(cards, null, 2) : formatQuantizeTable(cards));
  return 0;
}

if (import.meta.main) await runMain(main, [QuantizeInputError]);
