/**
 * `deno task quantize` — quantize a GGUF model with llama.cpp's `llama_model_quantize` (the
 * libllama node-llama-cpp ships), write a JSON card next to each output and print a summary.
 *
 *   deno task quantize data/models/tiny/tiny-f32.gguf --type q4_k_m
 *   deno task quantize model-f16.gguf --type q8_0,q4_k_m,q5_k_m --out-dir results/models --threads 4
 *   deno task quantize model-f16.gguf --type q6_k --out /tmp/m-q6.gguf --force
 *
 * The logic lives in `lib/gguf/quantize.ts`; this file only parses arguments and reports.
 * @module
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { OutputDirError, prepareOutputDir } from "../util/output_dir.ts";
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
import {
  booleanFlag,
  customFlag,
  defineCommand,
  integerFlag,
  runCommand,
  stringFlag,
  UsageError,
} from "./_command.ts";

/** `deno task quantize`. */
export const command = defineCommand({
  name: "quantize",
  summary: "Quantize a GGUF model with llama.cpp's llama_model_quantize and write a JSON card\n" +
    "<out>.json next to each output: source, source_sha256, type, bytes, bits_per_weight\n" +
    "(tensor bits / weights, as llama.cpp reports BPW), seconds, tensor types and fallbacks.",
  usage: ["[IN.gguf] --type TYPE[,TYPE...] [--out FILE | --out-dir DIR] [options]"],
  positionals: {
    usage: "[IN.gguf]",
    expected: "at most one input model",
    min: 0,
    max: 1,
    help: `IN.gguf             the model to quantize (default: ${DEFAULT_MODEL})`,
  },
  flags: {
    type: customFlag(`one or more of: ${Object.keys(QUANT_TYPES).join(", ")}`, parseQuantTypes, {
      placeholder: "TYPE[,TYPE...]",
      required: true,
    }),
    out: stringFlag("output path (one type only)", { placeholder: "FILE", defaultText: "none" }),
    "out-dir": stringFlag(
      "outputs are named <stem>-<type>.gguf, where <stem> is IN's name without .gguf and a " +
        "trailing type tag (tiny-f32 -> tiny)",
      { placeholder: "DIR", default: DEFAULT_QUANT_DIR },
    ),
    threads: integerFlag("llama.cpp threads; 0 = every core", { min: 0, default: 0 }),
    force: booleanFlag("replace existing outputs"),
    "allow-requantize": booleanFlag("accept an input that is already quantized"),
    verbose: booleanFlag("print llama.cpp's log on stderr"),
    json: booleanFlag("print the cards as JSON instead of a table"),
  },
  usageErrors: [QuantizeInputError, OutputDirError],
  run: async ({ values, positionals }) => {
    const input = positionals[0] ?? DEFAULT_MODEL;
    const types = values.type;
    if (values.out !== undefined && types.length > 1) {
      throw new UsageError(`--out names one file but --type lists ${types.length}; use --out-dir`);
    }
    // Check the folder and every output first, so a run never stops halfway.
    const outDir = values.out !== undefined
      ? dirname(values.out)
      : dirname(quantizedPath(input, types[0], { outDir: values["out-dir"] }));
    prepareOutputDir(outDir, { label: values.out ? "the folder of --out" : "--out-dir" });
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
        threads: values.threads,
        force: values.force,
        allowRequantize: values["allow-requantize"],
        onLog: values.verbose ? (line) => console.error(line) : undefined,
      });
      cards.push(card);
      if (!values.json) console.error(`wrote ${path} (+ .json card)`);
    }
    console.log(values.json ? JSON.stringify(cards, null, 2) : formatQuantizeTable(cards));
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
