/**
 * Curate a dataset: load, clean, drop too-long rows, decontaminate, deduplicate (exact and
 * near), split and format for the trainer; write the results and a report.
 *
 *   deno task curate --input <file|hf:owner/name> --out <dir> [--against <files/tasks>|none]
 *                    [--near-dup-threshold 0.8] [--seed 1234] [more: --help]
 *
 * The logic lives in `lib/data/curate.ts`; this file only parses arguments and reports.
 * Exit codes: 0 done; 2 bad arguments or input (the message says what and where); 1 a bug.
 * @module
 */
import { parseArgs } from "node:util";
import { curateFile, type CurateFileOptions, CURATION_RULES } from "../data/curate.ts";
import { CLEAN_DEFAULTS } from "../data/clean.ts";
import { CONTAMINATION_DEFAULTS } from "../data/decontaminate.ts";
import { NEAR_DUP_DEFAULTS } from "../data/near_dup.ts";
import { SPLIT_DEFAULTS, SPLIT_NAMES } from "../data/split.ts";
import type { ExampleFormat } from "../data/examples.ts";
import type { DedupOn, KeepRule } from "../data/dedup.ts";
import type { ShingleKind } from "../data/minhash.ts";
import { benchmarkTasks } from "../eval/benchmark_items.ts";
import { USAGE_ERROR } from "./_main.ts";

/** Exit status for an unexpected failure. */
const INTERNAL_ERROR = 1;
/** Default model (the bundled tiny one). */
const DEFAULT_MODEL = "data/models/tiny/tiny-f32.gguf";

const HELP = `usage: deno task curate --input <file|hf:owner/name> --out <dir> [options]

Runs: map columns → clean → token length (too_long) → decontaminate → exact dedup →
near dedup → split → format for the trainer. Writes to <dir>:
  train.jsonl validation.jsonl test.jsonl   kept rows, every field kept (text cleaned)
  formatted/<split>.jsonl                   {"id","prompt","completion"} for deno task finetune
  rejects.jsonl                             each removed row + "rule", "matched", "reason"
  summary.json, plots/*.svg                 counts per rule, length histograms, clusters

Input
  --input SRC            .jsonl/.json/.csv/.tsv/.parquet, or hf:owner/name (Hub parquet files)
  --hf-split NAME        split of an hf: source (default train); --hf-config NAME its config
  --format F             alpaca | sharegpt | openai | text (default: detected from the columns)
  --instruction-col C --input-col C --output-col C --system-col C --messages-col C --text-col C
                         name the columns (default: instruction/prompt/question, input/context,
                         output/response/completion/answer, messages, conversations, text)
Decontamination
  --against LIST         comma-separated eval task names and/or files of benchmark texts
                         (default: the test splits of the bundled tasks; "none" turns it off)
  --against-fields LIST  text columns of --against files (default: text)
  --ngram N              words per n-gram (default ${CONTAMINATION_DEFAULTS.n}, as lm-eval)
  --min-words N          benchmark items shorter than --ngram but at least N words are
                         matched whole; shorter ones are skipped (default ${CONTAMINATION_DEFAULTS.minWords})
Deduplication
  --near-dup-threshold J Jaccard threshold (default ${NEAR_DUP_DEFAULTS.threshold}); --no-near-dup, --no-exact-dup
  --dedup-on prompt|text what is compared (default ${NEAR_DUP_DEFAULTS.on})
  --keep RULE            longest_output | first | longest (default ${NEAR_DUP_DEFAULTS.keep})
  --shingle word|char    (default ${NEAR_DUP_DEFAULTS.shingle}); --shingle-size N (default ${NEAR_DUP_DEFAULTS.shingleSize})
  --num-perm N           MinHash functions (default ${NEAR_DUP_DEFAULTS.numPerm}; bands chosen for 0.999 recall at J)
Cleaning
  --unicode NFC|NFKC|none (default ${CLEAN_DEFAULTS.unicode}); --whitespace trim|collapse|none (default ${CLEAN_DEFAULTS.whitespace})
  --min-chars N          drop rows with fewer non-space characters (default ${CLEAN_DEFAULTS.minChars})
Tokens and format
  --model GGUF|none      tokenizer and chat template (default ${DEFAULT_MODEL})
  --max-tokens N         drop longer rows (BOS+prompt+completion+EOS; default: the model's context)
Split
  --ratios a,b,c         train,validation,test (default ${SPLIT_DEFAULTS.ratios.join(",")})
  --label COL|none       stratify by COL (default: "label" when every row has one)
  --seed N               split and MinHash seed (default ${SPLIT_DEFAULTS.seed})

Exit status: 0 done; 2 bad arguments or input; 1 bug.`;

class UsageError extends Error {}

function number(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]) {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${v}"`);
  }
  return v as T;
}

function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(",").map((s) => s.trim()).filter(Boolean);
}

/** Turn parsed flags into {@linkcode CurateFileOptions}. */
function toOptions(v: Record<string, string | boolean | undefined>): CurateFileOptions {
  const s = (k: string) => v[k] as string | undefined;
  const seed = number("seed", s("seed"));
  const ratios = list(s("ratios"))?.map((r) => number("ratios", r)!);
  if (ratios && ratios.length !== SPLIT_NAMES.length) {
    throw new UsageError(
      `--ratios needs three numbers (train,validation,test), got "${s("ratios")}"`,
    );
  }
  const against = s("against");
  const model = s("model");
  const unicode = oneOf("unicode", s("unicode"), ["NFC", "NFKC", "none"] as const);
  const whitespace = oneOf("whitespace", s("whitespace"), ["trim", "collapse", "none"] as const);
  const label = s("label");
  const nearDupFlags = {
    threshold: number("near-dup-threshold", s("near-dup-threshold")),
    on: oneOf<DedupOn>("dedup-on", s("dedup-on"), ["prompt", "text"]),
    keep: oneOf<KeepRule>("keep", s("keep"), ["longest_output", "first", "longest"]),
    shingle: oneOf<ShingleKind>("shingle", s("shingle"), ["word", "char"]),
    shingleSize: number("shingle-size", s("shingle-size")),
    numPerm: number("num-perm", s("num-perm")),
    seed,
  };
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
  const columns = defined({
    format: oneOf<ExampleFormat>("format", s("format"), ["alpaca", "sharegpt", "openai", "text"]),
    instruction: s("instruction-col"),
    input: s("input-col"),
    output: s("output-col"),
    system: s("system-col"),
    messages: s("messages-col"),
    text: s("text-col"),
  });
  return {
    load: defined({ split: s("hf-split"), config: s("hf-config") }),
    columns,
    clean: defined({
      unicode: unicode === "none" ? false as const : unicode,
      whitespace: whitespace === "none" ? false as const : whitespace,
      minChars: number("min-chars", s("min-chars")),
    }),
    against: against === "none" ? false : (list(against) ?? []),
    ...(s("against-fields") ? { againstFields: list(s("against-fields")) } : {}),
    contaminationOptions: defined({
      n: number("ngram", s("ngram")),
      minWords: number("min-words", s("min-words")),
    }),
    exactDedup: v["no-exact-dup"]
      ? false
      : defined({ on: nearDupFlags.on, keep: nearDupFlags.keep }),
    nearDup: v["no-near-dup"] ? false : defined(nearDupFlags),
    model: model === "none" ? null : (model ?? DEFAULT_MODEL),
    ...(s("max-tokens") ? { maxTokens: number("max-tokens", s("max-tokens")) } : {}),
    split: defined({
      ratios: ratios as [number, number, number] | undefined,
      seed,
      label: label === "none" ? null : label,
    }),
  };
}

async function main(): Promise<number> {
  const strings = [
    "input",
    "out",
    "against",
    "against-fields",
    "near-dup-threshold",
    "seed",
    "hf-split",
    "hf-config",
    "format",
    "instruction-col",
    "input-col",
    "output-col",
    "system-col",
    "messages-col",
    "text-col",
    "ngram",
    "min-words",
    "dedup-on",
    "keep",
    "shingle",
    "shingle-size",
    "num-perm",
    "unicode",
    "whitespace",
    "min-chars",
    "model",
    "max-tokens",
    "ratios",
    "label",
  ];
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        ...Object.fromEntries(strings.map((k) => [k, { type: "string" as const }])),
        "no-exact-dup": { type: "boolean" },
        "no-near-dup": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`curate: ${(e as Error).message}\n\n${HELP}`);
    return USAGE_ERROR;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.input || !values.out) {
    console.error(`curate: --input and --out are required\n\n${HELP}`);
    return USAGE_ERROR;
  }
  try {
    const options = toOptions(values);
    const c = await curateFile(values.input as string, values.out as string, {
      ...options,
      benchmarkTasks: benchmarkTasks(),
    });
    const r = c.report;
    console.log(`curate: ${r.source} → ${values.out}`);
    console.log(`  read ${r.rows.read} rows; kept ${r.rows.kept}; removed ${r.rows.removed}`);
    for (const rule of CURATION_RULES) console.log(`  ${rule.padEnd(14)}${r.rules[rule]}`);
    console.log(
      `  splits: ${SPLIT_NAMES.map((s) => `${s} ${r.splits.counts[s]}`).join(", ")}` +
        (r.splits.stratifiedBy ? ` (stratified by ${r.splits.stratifiedBy})` : ""),
    );
    if (r.nearDup) {
      console.log(
        `  near-dup: ${r.nearDup.clusters} clusters at Jaccard ≥ ${r.nearDup.threshold} ` +
          `(${r.nearDup.bands}×${r.nearDup.rows} LSH, ${r.nearDup.candidates} pairs checked)`,
      );
    }
    if (r.decontamination) {
      const by = Object.entries(r.decontamination.byBenchmark).map(([k, n]) => `${k} ${n}`);
      console.log(
        `  decontamination: ${r.decontamination.index.items} benchmark items, ` +
          `${r.decontamination.n}-grams; removed ${by.join(", ") || "none"}`,
      );
    }
    console.log(`  files: ${c.files.summary}, ${c.files.rejects}`);
    return 0;
  } catch (e) {
    const err = e as Error;
    if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
      console.error(`curate: internal error: ${err.stack ?? err.message}`);
      return INTERNAL_ERROR;
    }
    console.error(`curate: ${err.message}`);
    return USAGE_ERROR;
  }
}

if (import.meta.main) Deno.exit(await main());
