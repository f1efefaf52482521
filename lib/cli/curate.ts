/**
 * Curate a dataset: load, clean, drop too-long rows, decontaminate, deduplicate (exact and
 * near), split and format for the trainer; write the results and a report.
 *
 *   deno task curate --input <file|hf:owner/name> --out <dir> [--against <files/tasks>|none]
 *                    [--near-dup-threshold 0.8] [--seed 1234] [more: --help]
 *
 * The logic lives in `lib/data/curate.ts`; this file only parses arguments and reports.
 * @module
 */
import { curateFile, type CurateFileOptions, CURATION_RULES } from "../data/curate.ts";
import { CLEAN_DEFAULTS } from "../data/clean.ts";
import { CONTAMINATION_DEFAULTS } from "../data/decontaminate.ts";
import { NEAR_DUP_DEFAULTS } from "../data/near_dup.ts";
import { SPLIT_DEFAULTS, SPLIT_NAMES } from "../data/split.ts";
import { benchmarkTasks } from "../eval/benchmark_items.ts";
import { DEFAULT_MODEL } from "../llm/model.ts";
import {
  booleanFlag,
  defineCommand,
  enumFlag,
  type FlagValues,
  integerFlag,
  listFlag,
  numberFlag,
  runCommand,
  stringFlag,
} from "./_command.ts";

const INPUT = "Input";
const DECON = "Decontamination";
const DEDUP = "Deduplication";
const CLEAN = "Cleaning";
const TOKENS = "Tokens and format";
const SPLIT = "Split";
const column = (what: string, defaults: string) =>
  stringFlag(`the ${what} column`, { placeholder: "C", defaultText: defaults, group: INPUT });

const flags = {
  input: stringFlag(".jsonl/.json/.csv/.tsv/.parquet, or hf:owner/name (Hub parquet files)", {
    placeholder: "SRC",
    required: true,
    group: INPUT,
  }),
  out: stringFlag("output folder (created if missing)", {
    placeholder: "DIR",
    required: true,
    group: INPUT,
  }),
  "input-format": enumFlag("file format of --input", ["jsonl", "json", "csv", "tsv", "parquet"], {
    defaultText: "from the file's extension",
    group: INPUT,
  }),
  "hf-split": stringFlag("split of an hf: source", {
    placeholder: "NAME",
    defaultText: "train",
    group: INPUT,
  }),
  "hf-config": stringFlag("config of an hf: source", {
    placeholder: "NAME",
    defaultText: "the dataset's default",
    group: INPUT,
  }),
  format: enumFlag("row format", ["alpaca", "sharegpt", "openai", "text"], {
    defaultText: "detected from the columns",
    group: INPUT,
  }),
  "instruction-col": column("instruction", "instruction, prompt or question"),
  "input-col": column("input", "input or context"),
  "output-col": column("output", "output, response, completion or answer"),
  "system-col": column("system prompt", "system"),
  "messages-col": column("messages", "messages or conversations"),
  "text-col": column("text", "text"),
  against: stringFlag(
    "comma-separated eval task names and/or files of benchmark texts; none turns it off",
    { placeholder: "LIST|none", defaultText: "the test splits of the bundled tasks", group: DECON },
  ),
  "against-fields": listFlag("text columns of --against files", {
    item: "column",
    defaultText: "text",
    group: DECON,
  }),
  ngram: integerFlag("words per n-gram (as lm-eval)", {
    min: 1,
    defaultText: String(CONTAMINATION_DEFAULTS.n),
    group: DECON,
  }),
  "min-words": integerFlag(
    "benchmark items shorter than --ngram but at least N words are matched whole; shorter ones " +
      "are skipped",
    { min: 0, defaultText: String(CONTAMINATION_DEFAULTS.minWords), group: DECON },
  ),
  "near-dup-threshold": numberFlag("Jaccard threshold of near duplicates", {
    min: 0,
    max: 1,
    placeholder: "J",
    defaultText: String(NEAR_DUP_DEFAULTS.threshold),
    group: DEDUP,
  }),
  "no-near-dup": booleanFlag("skip near-duplicate removal", { group: DEDUP }),
  "no-exact-dup": booleanFlag("skip exact-duplicate removal", { group: DEDUP }),
  "dedup-on": enumFlag("what duplicates are compared on", ["prompt", "text"], {
    defaultText: NEAR_DUP_DEFAULTS.on,
    group: DEDUP,
  }),
  keep: enumFlag("which row of a duplicate cluster stays", ["longest_output", "first", "longest"], {
    defaultText: NEAR_DUP_DEFAULTS.keep,
    group: DEDUP,
  }),
  shingle: enumFlag("shingle kind", ["word", "char"], {
    defaultText: NEAR_DUP_DEFAULTS.shingle,
    group: DEDUP,
  }),
  "shingle-size": integerFlag("shingle size", {
    min: 1,
    defaultText: String(NEAR_DUP_DEFAULTS.shingleSize),
    group: DEDUP,
  }),
  "num-perm": integerFlag("MinHash functions (bands chosen for 0.999 recall at J)", {
    min: 1,
    defaultText: String(NEAR_DUP_DEFAULTS.numPerm),
    group: DEDUP,
  }),
  unicode: enumFlag("Unicode normalization", ["NFC", "NFKC", "none"], {
    defaultText: String(CLEAN_DEFAULTS.unicode),
    group: CLEAN,
  }),
  whitespace: enumFlag("whitespace handling", ["trim", "collapse", "none"], {
    defaultText: String(CLEAN_DEFAULTS.whitespace),
    group: CLEAN,
  }),
  "min-chars": integerFlag("drop rows with fewer non-space characters", {
    min: 0,
    defaultText: String(CLEAN_DEFAULTS.minChars),
    group: CLEAN,
  }),
  model: stringFlag("tokenizer and chat template; none skips token counts and formatting", {
    placeholder: "GGUF|none",
    defaultText: DEFAULT_MODEL,
    group: TOKENS,
  }),
  "max-tokens": integerFlag("drop longer rows (BOS+prompt+completion+EOS)", {
    min: 1,
    defaultText: "the model's context",
    group: TOKENS,
  }),
  ratios: listFlag("train,validation,test shares", {
    of: "number",
    min: 0,
    length: SPLIT_NAMES.length,
    placeholder: "A,B,C",
    defaultText: SPLIT_DEFAULTS.ratios.join(","),
    group: SPLIT,
  }),
  label: stringFlag("stratify by this column; none turns it off", {
    placeholder: "COL|none",
    defaultText: `"${SPLIT_DEFAULTS.label}" when every row has one`,
    group: SPLIT,
  }),
  seed: integerFlag("split and MinHash seed", {
    defaultText: String(SPLIT_DEFAULTS.seed),
    group: SPLIT,
  }),
};

/** Turn parsed flags into {@linkcode CurateFileOptions}. */
function toOptions(v: FlagValues<typeof flags>): CurateFileOptions {
  const nearDupFlags = {
    threshold: v["near-dup-threshold"],
    on: v["dedup-on"],
    keep: v.keep,
    shingle: v.shingle,
    shingleSize: v["shingle-size"],
    numPerm: v["num-perm"],
    seed: v.seed,
  };
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;
  const columns = defined({
    format: v.format,
    instruction: v["instruction-col"],
    input: v["input-col"],
    output: v["output-col"],
    system: v["system-col"],
    messages: v["messages-col"],
    text: v["text-col"],
  });
  const list = (s: string | undefined) =>
    s === undefined ? undefined : s.split(",").map((x) => x.trim()).filter(Boolean);
  return {
    load: defined({ split: v["hf-split"], config: v["hf-config"], format: v["input-format"] }),
    columns,
    clean: defined({
      unicode: v.unicode === "none" ? false as const : v.unicode,
      whitespace: v.whitespace === "none" ? false as const : v.whitespace,
      minChars: v["min-chars"],
    }),
    against: v.against === "none" ? false : (list(v.against) ?? []),
    ...(v["against-fields"] ? { againstFields: v["against-fields"] } : {}),
    contaminationOptions: defined({ n: v.ngram, minWords: v["min-words"] }),
    exactDedup: v["no-exact-dup"]
      ? false
      : defined({ on: nearDupFlags.on, keep: nearDupFlags.keep }),
    nearDup: v["no-near-dup"] ? false : defined(nearDupFlags),
    model: v.model === "none" ? null : (v.model ?? DEFAULT_MODEL),
    ...(v["max-tokens"] !== undefined ? { maxTokens: v["max-tokens"] } : {}),
    split: defined({
      ratios: v.ratios as [number, number, number] | undefined,
      seed: v.seed,
      label: v.label === "none" ? null : v.label,
    }),
  };
}

/** `deno task curate`. */
export const command = defineCommand({
  name: "curate",
  summary: `Runs: map columns → clean → token length (too_long) → decontaminate → exact dedup →
near dedup → split → format for the trainer. Writes to <dir>:
  train.jsonl validation.jsonl test.jsonl   kept rows, every field kept (text cleaned)
  formatted/<split>.jsonl                   {"id","prompt","completion"} for deno task finetune
  rejects.jsonl                             each removed row + "rule", "matched", "reason"
  summary.json, plots/*.svg                 counts per rule, length histograms, clusters`,
  usage: ["--input <file|hf:owner/name> --out <dir> [options]"],
  flags,
  // Whatever the library rejects is the input's fault; only a bug in the code exits 1.
  usageErrors: (e) =>
    !(e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError),
  run: async ({ values }) => {
    const c = await curateFile(values.input, values.out, {
      ...toOptions(values),
      outLabel: "--out",
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
  },
});

if (import.meta.main) await runCommand(command);
