/**
 * The whole curation pipeline, in the order the stages run:
 *
 * 1. map columns to chat turns (rows that do not fit: `malformed`; unreadable JSONL lines too);
 * 2. clean (`empty`, `too_short`, `bad_encoding`);
 * 3. format with the model's chat template and count tokens (`too_long`);
 * 4. decontaminate against benchmark test items (`contaminated`);
 * 5. exact dedup (`exact_dup`), then 6. near-dup (`near_dup`), each keeping the best row of a
 *    group under the keep rule, so a duplicate always points at a row that stays;
 * 7. split into train / validation / test.
 *
 * Filters run before dedup so that no kept representative is removed later. {@linkcode curateRows}
 * does the work in memory (a notebook cell); {@linkcode writeCuration} writes the split files,
 * the trainer's input, `rejects.jsonl`, `summary.json` and the plots; {@linkcode curateFile}
 * does all of it from a file or `hf:` source, as `deno task curate` does.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { curateRows } from "./curate.ts";
 * const rows = [
 *   { id: 1, instruction: "Name a primary colour.", output: "Red" },
 *   { id: 2, instruction: "name a primary colour.", output: "Blue, for example." },
 *   { id: 3, instruction: "", output: "orphan answer" },
 * ];
 * const c = curateRows({ source: "demo", rows, errors: [], columns: ["id", "instruction", "output"] });
 * strictEqual(c.report.rules.empty, 1);
 * strictEqual(c.report.rules.exact_dup, 1);
 * deepStrictEqual(c.rejects.map((r) => r.rule), ["empty", "exact_dup"]);
 * ```
 * @module
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { type LoadedRows, type LoadOptions, loadRows } from "./load.ts";
import { prepareOutputDir } from "../util/output_dir.ts";
import { cleanExamples, type CleanOptions, type CleanReport } from "./clean.ts";
import {
  type ColumnMapping,
  detectColumns,
  type Example,
  exampleText,
  type Reject,
  toExamples,
} from "./examples.ts";
import { dedupExact, type ExactDedupOptions } from "./dedup.ts";
import { dedupNear, type NearDupOptions, type NearDupReport } from "./near_dup.ts";
import {
  ContaminationIndex,
  type ContaminationOptions,
  decontaminate,
  type DecontaminationReport,
} from "./decontaminate.ts";
import { type BenchmarkSource, type BenchmarkTasks, loadBenchmarks } from "./benchmarks.ts";
import {
  filterTokenLength,
  loadModelTokenizer,
  type TokenCounter,
  tokenCounts,
} from "./token_length.ts";
import { ChatFormatter, COMPLETION_ONLY_NOTE, type TrainerRow } from "./trainer_format.ts";
import {
  SPLIT_NAMES,
  splitExamples,
  type SplitExamplesOptions,
  type SplitName,
  type SplitReport,
} from "./split.ts";
import {
  type FigureSpec,
  lengthFigureSpec,
  type LengthHistogram,
  lengthHistogram,
  type LengthStats,
  lengthStats,
  lengthSvg,
  rulesFigure,
  rulesSvg,
} from "./report.ts";

/** Every reject rule, in pipeline order. */
export const CURATION_RULES = [
  "malformed",
  "empty",
  "too_short",
  "bad_encoding",
  "too_long",
  "contaminated",
  "exact_dup",
  "near_dup",
] as const;

/** Options of {@linkcode curateRows}. Every stage has its defaults; false turns a stage off. */
export interface CurateOptions {
  /** Column mapping; missing fields are detected ({@linkcode detectColumns}). Default: detected. */
  columns?: Partial<ColumnMapping>;
  /** Cleaning rules. Default: {@linkcode CLEAN_DEFAULTS}. */
  clean?: CleanOptions;
  /** Chat formatting for the trainer's input. Default: none (no formatted files). */
  formatter?: ChatFormatter;
  /** Token counter (the target model's tokenizer). Default: none (no token lengths). */
  tokenizer?: TokenCounter;
  /** Longest row kept, in tokens (needs `tokenizer`). Default: no limit. */
  maxTokens?: number;
  /** Benchmark n-grams to remove. Default: none. */
  contamination?: ContaminationIndex;
  /** Exact dedup, or false. Default: {@linkcode EXACT_DEDUP_DEFAULTS}. */
  exactDedup?: ExactDedupOptions | false;
  /** Near-dup removal, or false. Default: {@linkcode NEAR_DUP_DEFAULTS} (threshold 0.8). */
  nearDup?: NearDupOptions | false;
  /** Splits. Default: {@linkcode SPLIT_DEFAULTS} (0.9/0.05/0.05, seed 1234, stratified by `label` when present). */
  split?: SplitExamplesOptions;
}

/** Length distributions before and after curation. */
export interface LengthReport {
  /** Unit: `characters` or `tokens`. */
  unit: string;
  /** Statistics before (rows entering the stage that measures them). */
  before: LengthStats;
  /** Statistics of the kept rows. */
  after: LengthStats;
  /** Shared-bin histograms. */
  histogram: LengthHistogram;
}

/** What curation did: `summary.json`. */
export interface CurationReport {
  /** The source, as given. */
  source: string;
  /** The column mapping used. */
  mapping: ColumnMapping;
  /** Row counts. */
  rows: { read: number; kept: number; removed: number };
  /** Rows removed per rule (every rule listed). */
  rules: Record<string, number>;
  /** Cleaning: rows changed per editing rule, removed per dropping rule. */
  cleaning: CleanReport;
  /** Token limit applied, or null. */
  maxTokens: number | null;
  /** Decontamination, or null when off. */
  decontamination: DecontaminationReport | null;
  /** Benchmarks checked (set by {@linkcode curateFile}). */
  benchmarks?: BenchmarkSource[];
  /** Exact dedup, or null when off. */
  exactDup: { removed: number; groups: number; on: string; keep: string } | null;
  /** Near-dup, or null when off. */
  nearDup: NearDupReport | null;
  /** Length distributions: characters always, tokens with a tokenizer. */
  lengths: { characters: LengthReport; tokens?: LengthReport };
  /** The splits. */
  splits: SplitReport;
  /** Formatting of the trainer's input, or null when not formatted. */
  format: { model?: string; completionOnly: string; fallbacks: number } | null;
  /** Milliseconds per stage. */
  timingsMs: Record<string, number>;
}

/** The result of curation. */
export interface Curation {
  /** Kept examples per split (rows with all their fields, text cleaned). */
  splits: Record<SplitName, Example[]>;
  /** The trainer's input per split, when a formatter was given. */
  formatted?: Record<SplitName, TrainerRow[]>;
  /** Removed rows, in pipeline order. */
  rejects: Reject[];
  /** The report. */
  report: CurationReport;
}

/** Append `items` to `target` (a spread push overflows the stack with a million items). */
function append<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

function countRules(rejects: readonly Reject[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(CURATION_RULES.map((r) => [r, 0]));
  for (const r of rejects) out[r.rule] = (out[r.rule] ?? 0) + 1;
  return out;
}

function lengthReport(unit: string, before: ArrayLike<number>, after: ArrayLike<number>) {
  return {
    unit,
    before: lengthStats(before),
    after: lengthStats(after),
    histogram: lengthHistogram(before, after),
  };
}

/**
 * Curate loaded rows in memory: every stage, with its report. Throws when the columns cannot be
 * mapped (naming the columns present).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { curateRows } from "./curate.ts";
 * const rows = Array.from({ length: 40 }, (_, i) => ({ id: i, text: `document number ${i} about topic ${i % 7}` }));
 * const c = curateRows({ source: "docs", rows, errors: [], columns: ["id", "text"] }, { split: { ratios: [0.5, 0.25, 0.25] } });
 * const { train, validation, test } = c.splits;
 * deepStrictEqual([train.length, validation.length, test.length], [20, 10, 10]);
 * ```
 */
export function curateRows(loaded: LoadedRows, options: CurateOptions = {}): Curation {
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - t);
    t = now;
  };
  const mapping = detectColumns(loaded.columns, options.columns);
  const rejects: Reject[] = loaded.errors.map((e) => ({
    rule: "malformed",
    row: { line: e.row, ...(e.raw !== undefined ? { raw: e.raw } : {}) },
    matched: null,
    reason: e.message,
  }));
  const mapped = toExamples(loaded.rows, mapping, { origins: loaded.origins });
  append(rejects, mapped.rejects);
  const charsBefore = Int32Array.from(mapped.examples, (e) => exampleText(e).length);
  lap("map");

  const cleaned = cleanExamples(mapped.examples, mapping, options.clean);
  append(rejects, cleaned.rejects);
  let examples = cleaned.kept;
  lap("clean");

  // format and count tokens once per row; later stages look them up by row index
  const formattedOf = new Map<number, TrainerRow>();
  const tokensOf = new Map<number, number>();
  let tokensBefore: Int32Array | undefined;
  if (options.formatter) {
    for (const ex of examples) formattedOf.set(ex.index, options.formatter.format(ex));
    lap("format");
  }
  if (options.tokenizer) {
    const rows = examples.map((ex) =>
      formattedOf.get(ex.index) ??
        { id: "", prompt: "", completion: exampleText(ex) }
    );
    // A formatted row is a template render: its special-token text is markup (read as tokens),
    // unless a message's own content holds some (then the row is counted literally).
    const counter = options.tokenizer;
    const markup = examples.map((ex) =>
      formattedOf.has(ex.index) &&
      !ex.messages.some((m) => counter.hasSpecialText?.(m.content) ?? false)
    );
    tokensBefore = tokenCounts(rows, counter, { markup });
    examples.forEach((ex, i) => tokensOf.set(ex.index, tokensBefore![i]));
    if (options.maxTokens !== undefined) {
      const filtered = filterTokenLength(examples, tokensBefore, { maxTokens: options.maxTokens });
      append(rejects, filtered.rejects);
      examples = filtered.kept;
    }
    lap("tokens");
  }

  let decontamination: DecontaminationReport | null = null;
  if (options.contamination) {
    const d = decontaminate(examples, options.contamination);
    append(rejects, d.rejects);
    examples = d.kept;
    decontamination = d.report;
    lap("decontaminate");
  }

  let exactDup: CurationReport["exactDup"] = null;
  if (options.exactDedup !== false) {
    const o = options.exactDedup ?? {};
    const d = dedupExact(examples, o);
    append(rejects, d.rejects);
    examples = d.kept;
    exactDup = { ...d.report, on: o.on ?? "prompt", keep: o.keep ?? "longest_output" };
    lap("exact_dup");
  }

  let nearDup: NearDupReport | null = null;
  if (options.nearDup !== false) {
    const d = dedupNear(examples, options.nearDup ?? {});
    append(rejects, d.rejects);
    examples = d.kept;
    nearDup = d.report;
    lap("near_dup");
  }

  const split = splitExamples(examples, options.split);
  const splits: Record<SplitName, Example[]> = {
    train: split.train,
    validation: split.validation,
    test: split.test,
  };
  lap("split");

  const lengths: CurationReport["lengths"] = {
    characters: lengthReport(
      "characters",
      charsBefore,
      Int32Array.from(examples, (e) => exampleText(e).length),
    ),
  };
  if (tokensBefore) {
    lengths.tokens = lengthReport(
      "tokens",
      tokensBefore,
      Int32Array.from(examples, (e) => tokensOf.get(e.index)!),
    );
  }
  const formatted = options.formatter
    ? Object.fromEntries(
      SPLIT_NAMES.map((s) => [s, splits[s].map((e) => formattedOf.get(e.index)!)]),
    ) as Record<SplitName, TrainerRow[]>
    : undefined;
  const read = loaded.rows.length + loaded.errors.length;
  return {
    splits,
    ...(formatted ? { formatted } : {}),
    rejects,
    report: {
      source: loaded.source,
      mapping,
      rows: { read, kept: examples.length, removed: rejects.length },
      rules: countRules(rejects),
      cleaning: cleaned.report,
      maxTokens: options.tokenizer && options.maxTokens !== undefined ? options.maxTokens : null,
      decontamination,
      exactDup,
      nearDup,
      lengths,
      splits: split.report,
      format: options.formatter
        ? { completionOnly: COMPLETION_ONLY_NOTE, fallbacks: options.formatter.fallbacks }
        : null,
      timingsMs: timings,
    },
  };
}

/** A reject as written to `rejects.jsonl`: the row's own fields, then `rule`, `matched`, `reason`. */
export function rejectLine(reject: Reject): Record<string, unknown> {
  return { ...reject.row, rule: reject.rule, matched: reject.matched, reason: reject.reason };
}

/**
 * Figures of a report: rows removed per rule, and lengths before/after (tokens when counted,
 * else characters), as plotly specs.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { curateRows, curationFigures } from "./curate.ts";
 * const c = curateRows({ source: "s", rows: [{ text: "hello there world" }], errors: [], columns: ["text"] });
 * deepStrictEqual(Object.keys(curationFigures(c.report)), ["rules", "lengths"]);
 * ```
 */
export function curationFigures(report: CurationReport): Record<string, FigureSpec> {
  const l = report.lengths.tokens ?? report.lengths.characters;
  return { rules: rulesFigure(report.rules), lengths: lengthFigureSpec(l.histogram, l.unit) };
}

/** Rows serialised per write: one string of a million rows would pass V8's string limit. */
const WRITE_BATCH_ROWS = 10_000;

/** Write rows as JSON Lines in batches (any number of rows), creating the parent folder. */
function writeLines(path: string, rows: readonly unknown[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  try {
    for (let i = 0; i < rows.length; i += WRITE_BATCH_ROWS) {
      const batch = rows.slice(i, i + WRITE_BATCH_ROWS).map((r) => JSON.stringify(r));
      writeSync(fd, batch.join("\n") + "\n");
    }
  } finally {
    closeSync(fd);
  }
}

/** The files {@linkcode writeCuration} wrote. */
export interface CurationFiles {
  /** `<dir>/{train,validation,test}.jsonl`: kept rows, all fields. */
  splits: Record<SplitName, string>;
  /** `<dir>/formatted/{split}.jsonl`: `{id, prompt, completion}` for the trainer. */
  formatted?: Record<SplitName, string>;
  /** `<dir>/rejects.jsonl`. */
  rejects: string;
  /** `<dir>/summary.json`. */
  summary: string;
  /** `<dir>/plots/*.svg`. */
  plots: string[];
}

/**
 * Write a curation to `dir`: the split files (kept rows with all their fields), the trainer's
 * input under `formatted/`, `rejects.jsonl` (one line per removed row), `summary.json` (the
 * report) and `plots/rules.svg`, `plots/lengths_characters.svg` (and `lengths_tokens.svg`).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { curateRows, writeCuration } from "./curate.ts";
 * const c = curateRows({ source: "s", rows: [{ text: "hello there world" }], errors: [], columns: ["text"] });
 * const files = writeCuration(c, Deno.makeTempDirSync());
 * ok(files.rejects.endsWith("rejects.jsonl"));
 * ```
 */
export function writeCuration(curation: Curation, dir: string): CurationFiles {
  mkdirSync(join(dir, "plots"), { recursive: true });
  const splits = {} as Record<SplitName, string>;
  for (const s of SPLIT_NAMES) {
    splits[s] = join(dir, `${s}.jsonl`);
    writeLines(splits[s], curation.splits[s].map((e) => e.row));
  }
  let formatted: Record<SplitName, string> | undefined;
  if (curation.formatted) {
    formatted = {} as Record<SplitName, string>;
    for (const s of SPLIT_NAMES) {
      formatted[s] = join(dir, "formatted", `${s}.jsonl`);
      writeLines(formatted[s], curation.formatted[s]);
    }
  }
  const rejects = join(dir, "rejects.jsonl");
  writeLines(rejects, curation.rejects.map(rejectLine));
  const summary = join(dir, "summary.json");
  writeFileSync(summary, JSON.stringify(curation.report, null, 2) + "\n");
  const r = curation.report;
  const plots = [join(dir, "plots", "rules.svg")];
  writeFileSync(plots[0], rulesSvg(r.rules));
  for (const l of [r.lengths.characters, r.lengths.tokens]) {
    if (!l) continue;
    const path = join(dir, "plots", `lengths_${l.unit}.svg`);
    writeFileSync(path, lengthSvg(l.histogram, l.unit));
    plots.push(path);
  }
  return { splits, ...(formatted ? { formatted } : {}), rejects, summary, plots };
}

/** Options of {@linkcode curateFile}: {@linkcode CurateOptions} plus where things come from. */
export interface CurateFileOptions
  extends Omit<CurateOptions, "contamination" | "tokenizer" | "formatter"> {
  /** How to load the input (`split` for `hf:` sources; default `"train"` there). */
  load?: LoadOptions;
  /**
   * Benchmarks: task names and/or files of texts; `[]` means the bundled tasks' test splits;
   * false turns decontamination off. Task names and `[]` need `benchmarkTasks`. Default: `[]`.
   */
  against?: string[] | false;
  /**
   * Reads evaluation tasks named in `against` (and the default tasks for `[]`): lib/eval's
   * `benchmarkTasks()` (lib/eval/benchmark_items.ts), which `deno task curate` and the curation
   * notebook pass. Default: none, so `against` can name only files of texts.
   */
  benchmarkTasks?: BenchmarkTasks;
  /** Text columns of benchmark files. Default: `["text"]`. */
  againstFields?: string[];
  /** n-gram settings. Default: {@linkcode CONTAMINATION_DEFAULTS} (13-grams). */
  contaminationOptions?: ContaminationOptions;
  /** GGUF whose tokenizer and chat template are used; null for none. Default: the bundled tiny model. */
  model?: string | null;
  /** How the output folder was given, for error messages (`--out`). Default: "output folder". */
  outLabel?: string;
}

/** The bundled model whose tokenizer and template curation uses by default. */
export const DEFAULT_CURATE_MODEL = "data/models/tiny/tiny-f32.gguf";
/** Split of an `hf:` input read when none is given. */
const DEFAULT_HF_SPLIT = "train";

/**
 * Load a source, curate it and write the results to `outDir` (what `deno task curate` runs).
 * `maxTokens` defaults to the model's context length.
 *
 * @example
 * ```ts ignore
 * import { curateFile } from "./curate.ts";
 * // benchmarkTasks: lib/eval/benchmark_items.ts's benchmarkTasks(), to read task names
 * const c = await curateFile("data/synthetic/qa/train.jsonl", "results/curated/qa", {
 *   against: ["synth_qa"],
 *   benchmarkTasks,
 * });
 * console.log(c.report.rules);
 * ```
 */
export async function curateFile(
  input: string,
  outDir: string,
  options: CurateFileOptions = {},
): Promise<Curation & { files: CurationFiles }> {
  prepareOutputDir(outDir, { label: options.outLabel }); // before any slow step
  const t0 = performance.now();
  const loaded = await loadRows(input, {
    ...(input.startsWith("hf:") ? { split: DEFAULT_HF_SPLIT } : {}),
    ...options.load,
  });
  const loadMs = Math.round(performance.now() - t0);
  // fail on unmappable columns before any slow step
  detectColumns(loaded.columns, options.columns);
  let contamination: ContaminationIndex | undefined;
  let benchmarks: BenchmarkSource[] | undefined;
  if (options.against !== false) {
    const b = await loadBenchmarks(options.against ?? [], {
      fields: options.againstFields,
      ...(options.benchmarkTasks ? { tasks: options.benchmarkTasks } : {}),
    });
    contamination = new ContaminationIndex(b.items, options.contaminationOptions);
    benchmarks = b.sources;
  }
  const modelPath = options.model === undefined ? DEFAULT_CURATE_MODEL : options.model;
  const tokenizer = modelPath === null ? undefined : await loadModelTokenizer(modelPath);
  try {
    const formatter = tokenizer?.template
      ? new ChatFormatter(tokenizer.template, tokenizer.tokens)
      : undefined;
    const curation = curateRows(loaded, {
      ...options,
      ...(contamination ? { contamination } : {}),
      ...(tokenizer ? { tokenizer, maxTokens: options.maxTokens ?? tokenizer.contextLength } : {}),
      ...(formatter ? { formatter } : {}),
    });
    curation.report.timingsMs = { load: loadMs, ...curation.report.timingsMs };
    if (benchmarks) curation.report.benchmarks = benchmarks;
    if (curation.report.format && tokenizer) curation.report.format.model = tokenizer.path;
    const files = writeCuration(curation, outDir);
    return { ...curation, files };
  } finally {
    await tokenizer?.dispose();
  }
}
