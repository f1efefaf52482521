/**
 * The report: which runs belong together (a manifest, `results/notebooks/report.json`, written
 * by notebooks/04_evaluate.ipynb), loaded with their results, comparisons, training events and
 * quantization sizes, turned into the README's figures ({@linkcode reportFigures}) and a
 * markdown summary a user can paste ({@linkcode reportMarkdown}). notebooks/05_report.ipynb and
 * `deno task plots` both start from {@linkcode loadReport}.
 *
 * @example
 * ```ts ignore
 * import { loadReport, reportFigures, reportMarkdown } from "./report.ts";
 * const report = loadReport("results/notebooks/report.json");
 * console.log(Object.keys(reportFigures(report)));
 * console.log(reportMarkdown(report));
 * ```
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseJsonl } from "../data/jsonl.ts";
import { type CompareOptions, compareRuns } from "../eval/compare.ts";
import { formatPValue } from "../eval/p_value.ts";
import { metricScale } from "../eval/metrics/mod.ts";
import type { EvalResults } from "../eval/runner.ts";
import type { Throughput } from "../eval/throughput.ts";
import type { QuantizeCard } from "../gguf/quantize.ts";
import type { TrainEvent } from "../train/bridge.ts";
import {
  accuracyFigure,
  costFigure,
  deltaFigure,
  type Figure,
  type LabeledComparison,
  type LabeledRun,
  lengthFigure,
  meanScore,
  primaryMetric,
  quantFigure,
  type QuantPoint,
  significanceMark,
  type ThroughputSeries,
  throughputSeries,
} from "./figures.ts";
import { lossFigure } from "./loss_figure.ts";
import { num } from "./_style.ts";

/** Where notebooks/04_evaluate.ipynb writes the manifest and where readers look by default. */
export const DEFAULT_REPORT = "results/notebooks/report.json";

/** What a run in a report is. */
export type RunKind = "base" | "finetuned" | "quantized" | "api" | "other";

/** One evaluation run in a report manifest. */
export interface ReportRun {
  /** Name in legends and tables, unique in the report. */
  label: string;
  /** The run folder (results.json + samples.jsonl), relative to the repository root. */
  dir: string;
  /** What the model is. */
  kind: RunKind;
  /** Bits per weight and file size, for the quantization trade-off (from the quantize cards). */
  quant?: { type: string; bits_per_weight: number; bytes: number };
  /**
   * The model's steady-state throughput, measured when the manifest was written
   * (lib/eval/throughput.ts); what the figures plot as its tokens/s. Absent for API models.
   */
  throughput?: Throughput;
}

/** The report manifest (`report.json`). */
export interface ReportManifest {
  /** ISO time it was written. */
  created: string;
  /** The runs, in display order. */
  runs: ReportRun[];
  /** Pairs compared item by item: B − A, by label. */
  comparisons: { a: string; b: string }[];
  /** The training run folder (with events.jsonl), or null. */
  train: string | null;
}

/** A loaded report: the manifest plus what its files hold. */
export interface Report {
  /** Path of the manifest. */
  path: string;
  manifest: ReportManifest;
  /** Each run with its results.json. */
  runs: (LabeledRun & { entry: ReportRun; results: EvalResults })[];
  /** `compareRuns` of each manifest pair. */
  comparisons: LabeledComparison[];
  /** The training run's events, or null without one. */
  events: TrainEvent[] | null;
}

/** Options for {@linkcode loadReport}. */
export interface LoadReportOptions {
  /** Options of every comparison. Default: compareRuns' defaults (1000 resamples, seed 0). */
  compare?: CompareOptions;
}

/**
 * Write a report manifest (creating its folder).
 *
 * @example
 * ```ts ignore
 * import { writeReportManifest } from "./report.ts";
 * writeReportManifest("results/notebooks/report.json", { created: new Date().toISOString(), runs, comparisons: [], train: null });
 * ```
 */
export function writeReportManifest(path: string, manifest: ReportManifest): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(manifest, null, 2) + "\n");
}

/**
 * Read a report manifest and everything it names. Throws, saying which notebook or task to run
 * first, for a missing manifest, run folder, results.json or events.jsonl.
 *
 * @example
 * ```ts ignore
 * import { loadReport } from "./report.ts";
 * const report = loadReport(); // results/notebooks/report.json
 * ```
 */
export function loadReport(path: string = DEFAULT_REPORT, options: LoadReportOptions = {}): Report {
  if (!existsSync(path)) {
    throw new Error(
      `${path} not found: it lists the evaluation runs to report. Run notebooks/04_evaluate.ipynb ` +
        `first (or \`deno task notebooks\`, which runs all notebooks in order), or pass the path ` +
        `of another report.json`,
    );
  }
  let manifest: ReportManifest;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(
      `${path}: not valid JSON (${(e as Error).message}); re-run notebooks/04_evaluate.ipynb`,
    );
  }
  if (!Array.isArray(manifest.runs) || !manifest.runs.length) {
    throw new Error(`${path}: "runs" is empty; re-run notebooks/04_evaluate.ipynb`);
  }
  const runs = manifest.runs.map((entry) => ({
    label: entry.label,
    entry,
    results: readRunResults(entry.dir, `${path}: run "${entry.label}"`),
    ...(entry.throughput ? { throughput: entry.throughput } : {}),
  }));
  const byLabel = new Map(manifest.runs.map((r) => [r.label, r]));
  const comparisons = (manifest.comparisons ?? []).map(({ a, b }) => {
    const ra = byLabel.get(a);
    const rb = byLabel.get(b);
    if (!ra || !rb) {
      throw new Error(
        `${path}: comparison ${b} − ${a} names a run that is not in "runs" ` +
          `(${
            [...byLabel.keys()].join(", ")
          }); fix the manifest or re-run notebooks/04_evaluate.ipynb`,
      );
    }
    return { label: `${b} − ${a}`, comparison: compareRuns(ra.dir, rb.dir, options.compare) };
  });
  return {
    path,
    manifest,
    runs,
    comparisons,
    events: manifest.train ? readEvents(manifest.train) : null,
  };
}

/**
 * A run's results.json, or an error naming the notebook that writes it.
 *
 * @example
 * ```ts ignore
 * import { readRunResults } from "./report.ts";
 * const results = readRunResults("results/eval/nb-base");
 * ```
 */
export function readRunResults(dir: string, context = "evaluation run"): EvalResults {
  const file = join(dir, "results.json");
  if (!existsSync(file)) {
    throw new Error(
      `${context}: ${file} not found. Evaluate first: run notebooks/04_evaluate.ipynb (or ` +
        `\`deno task eval --run <name>\`, which writes results/eval/<name>/results.json)`,
    );
  }
  return JSON.parse(readFileSync(file, "utf8")) as EvalResults;
}

/**
 * A training run's events.jsonl, or an error naming the notebook that writes it.
 *
 * @example
 * ```ts ignore
 * import { readEvents } from "./report.ts";
 * const events = readEvents("results/train/nb-tiny");
 * ```
 */
export function readEvents(dir: string): TrainEvent[] {
  const file = join(dir, "events.jsonl");
  if (!existsSync(file)) {
    throw new Error(
      `${file} not found: fine-tune first — run notebooks/02_finetune.ipynb (or ` +
        `\`deno task finetune --run <name>\`, which writes results/train/<name>/events.jsonl)`,
    );
  }
  return parseJsonl<TrainEvent>(readFileSync(file, "utf8")).rows;
}

/**
 * The report's quantization points: the runs with `quant` sizes (the fine-tuned source and its
 * quantized types).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantPoints, type Report } from "./report.ts";
 * type Run = Report["runs"][number];
 * const run = (label: string, quant?: Run["entry"]["quant"]) =>
 *   ({ label, entry: { label, dir: `results/eval/${label}`, kind: "quantized", quant }, results: {} }) as Run;
 * const runs = [run("base"), run("merged", { type: "f32", bits_per_weight: 32, bytes: 5e6 }), run("q8", { type: "q8_0", bits_per_weight: 8.5, bytes: 1.4e6 })];
 * assert.deepEqual(quantPoints({ runs }).map((p) => [p.label, p.card.bits_per_weight]), [["f32", 32], ["q8_0", 8.5]]);
 * ```
 */
export function quantPoints(report: Pick<Report, "runs">): QuantPoint[] {
  return report.runs.filter((r) => r.entry.quant).map((r) => ({
    label: r.entry.quant!.type,
    card: { bits_per_weight: r.entry.quant!.bits_per_weight, bytes: r.entry.quant!.bytes },
    results: r.results,
    ...(r.throughput ? { throughput: r.throughput } : {}),
  }));
}

/**
 * The quantization card written next to a quantized GGUF (`<model>.json`), or an error saying to
 * run notebooks/03_quantize.ipynb.
 *
 * @example
 * ```ts ignore
 * import { readQuantCard } from "./report.ts";
 * console.log(readQuantCard("results/notebooks/models/merged-q4_k_m.gguf").bits_per_weight);
 * ```
 */
export function readQuantCard(model: string): QuantizeCard {
  const file = `${model}.json`;
  if (!existsSync(model) || !existsSync(file)) {
    throw new Error(
      `${existsSync(model) ? file : model} not found: quantize first — run ` +
        `notebooks/03_quantize.ipynb (or \`deno task quantize\`), which writes the model and its card`,
    );
  }
  return JSON.parse(readFileSync(file, "utf8")) as QuantizeCard;
}

/**
 * Trade-off points of a quantization run: the unquantized source (its size and bits per weight
 * from the cards' `source_*` fields) followed by each quantized type, each with its evaluation
 * and, when given, its steady-state throughput.
 *
 * @example
 * ```ts ignore
 * import { quantTradeoff } from "./report.ts";
 * const points = quantTradeoff(cards, quantizedResults, { source: sourceResults });
 * ```
 */
export function quantTradeoff(
  cards: QuantizeCard[],
  results: EvalResults[],
  options: QuantTradeoffOptions = {},
): QuantPoint[] {
  const { throughput } = options;
  if (cards.length !== results.length) {
    throw new Error(
      `quantTradeoff: ${cards.length} cards but ${results.length} results; pass one each`,
    );
  }
  if (throughput && throughput.length !== cards.length) {
    throw new Error(
      `quantTradeoff: ${cards.length} cards but ${throughput.length} throughput measurements; ` +
        `pass one each (measureModelThroughput per quantized file)`,
    );
  }
  const points: QuantPoint[] = cards.map((card, i) => ({
    label: card.type,
    card,
    results: results[i],
    ...(throughput ? { throughput: throughput[i] } : {}),
  }));
  if (options.source && cards.length) {
    const c = cards[0];
    points.unshift({
      label: c.source_type.toLowerCase(),
      card: { bits_per_weight: c.source_bits_per_weight, bytes: c.source_bytes },
      results: options.source,
      ...(options.sourceThroughput ? { throughput: options.sourceThroughput } : {}),
    });
  }
  return points;
}

/** Options for {@linkcode quantTradeoff}. */
export interface QuantTradeoffOptions {
  /** The unquantized source's evaluation, put first. Default: none (no source point). */
  source?: EvalResults;
  /** Steady-state throughput of each quantized file, in the cards' order. Default: none. */
  throughput?: Throughput[];
  /** Steady-state throughput of the source. Default: none. */
  sourceThroughput?: Throughput;
}

/** A run's tokens/s in a markdown table: the median and the min–max range when measured. */
function throughputCell(series: ThroughputSeries, i: number): string {
  const range = series.ranges?.[i];
  return `${num(series.values[i], 0)}` +
    (range ? ` [${num(range[0], 0)}–${num(range[1], 0)}]` : "");
}

/** The README's figures, by file name. */
export const REPORT_FIGURES = [
  "accuracy",
  "deltas",
  "loss",
  "by_length",
  "cost",
  "quantization",
] as const;

/**
 * The report's figures, keyed by {@linkcode REPORT_FIGURES} name: accuracy (per task, 95% CI),
 * deltas (each comparison with significance marks), loss (training/validation), by_length (the
 * runs that are not quantized copies),
 * cost (cost or tokens/s vs accuracy) and quantization (the trade-off). A figure whose inputs
 * are missing (no training run, fewer than two quantization points, no comparison) is left out.
 *
 * @example
 * ```ts ignore
 * import { loadReport, reportFigures } from "./report.ts";
 * const figs = reportFigures(loadReport());
 * ```
 */
export function reportFigures(
  report: Report,
): Partial<Record<typeof REPORT_FIGURES[number], Figure>> {
  const figs: Partial<Record<typeof REPORT_FIGURES[number], Figure>> = {};
  figs.accuracy = accuracyFigure(report.runs);
  if (report.comparisons.length) figs.deltas = deltaFigure(report.comparisons);
  if (report.events?.length) figs.loss = lossFigure([{ label: "LoRA", events: report.events }]);
  if (report.runs.some((r) => Object.values(r.results.tasks).some((t) => t.byLength.length))) {
    // Quantized copies track their source closely; five near-identical lines would hide the
    // comparison that matters here (base vs fine-tuned vs API).
    const unquantized = report.runs.filter((r) => r.entry.kind !== "quantized");
    figs.by_length = lengthFigure(unquantized.length ? unquantized : report.runs);
  }
  figs.cost = costFigure(report.runs);
  const points = quantPoints(report);
  if (points.length >= 2) figs.quantization = quantFigure(points);
  return figs;
}

/** What each figure needs, for {@linkcode reportFigure}'s message. */
const FIGURE_NEEDS: Record<typeof REPORT_FIGURES[number], string> = {
  accuracy: "evaluation runs",
  deltas: "comparisons (a fine-tuned or quantized model next to the base)",
  loss: "a training run (train: the folder with events.jsonl)",
  by_length: "length buckets (at least 8 items per task: raise limit)",
  cost: "evaluation runs",
  quantization: "two or more models with quantization sizes (run notebooks/03_quantize.ipynb)",
};

/**
 * One figure of the report by name; throws saying what the report lacks when it cannot be drawn.
 *
 * @example
 * ```ts ignore
 * import { loadReport, reportFigure } from "./report.ts";
 * const fig = reportFigure(loadReport(), "loss");
 * ```
 */
export function reportFigure(report: Report, name: typeof REPORT_FIGURES[number]): Figure {
  const fig = reportFigures(report)[name];
  if (!fig) {
    throw new Error(
      `${report.path}: no ${name} figure — it needs ${FIGURE_NEEDS[name]}. Re-run ` +
        `notebooks/04_evaluate.ipynb with that in its parameters.`,
    );
  }
  return fig;
}

/** Options for {@linkcode reportMarkdown}. */
export interface ReportMarkdownOptions {
  /** Folder of the exported images to link under the tables (e.g. "images"). Default: none. */
  images?: string;
  /** Heading level of the summary's title. Default: 2. */
  level?: number;
}

/**
 * A markdown summary of a report: one table of scores per run and task (95% CI), the
 * comparisons with deltas and significance, the training losses and the quantization table.
 *
 * @example
 * ```ts ignore
 * import { loadReport, reportMarkdown } from "./report.ts";
 * console.log(reportMarkdown(loadReport(), { images: "images" }));
 * ```
 */
export function reportMarkdown(report: Report, options: ReportMarkdownOptions = {}): string {
  const { images, level = 2 } = options;
  const h = (n: number) => "#".repeat(level + n);
  const tasks = [...new Set(report.runs.flatMap((r) => Object.keys(r.results.tasks)))];
  const metricOf = (task: string) => {
    const first = report.runs.find((r) => r.results.tasks[task]);
    return first ? primaryMetric(first.results.tasks[task]) : "acc";
  };
  const out: string[] = [];
  const created = report.runs.map((r) => r.results.created).sort().at(-1) ?? "";
  out.push(`${h(0)} tunebook results`, "");
  const n = report.runs[0]?.results.config?.limit;
  out.push(
    `${report.runs.length} model(s) on ${tasks.length} task(s)` +
      (n ? `, first ${n} items per task` : "") +
      `; evaluated ${created.slice(0, 10)}. Scores with 95% confidence intervals.`,
    "",
  );
  out.push(
    `| model | kind | ${tasks.map((t) => `${t} (${metricOf(t)})`).join(" | ")} | mean | tokens/s |`,
    `|---|---|${tasks.map(() => "---:").join("|")}|---:|---:|`,
  );
  const speed = throughputSeries(report.runs);
  report.runs.forEach((r, i) => {
    const cells = tasks.map((t) => {
      const e = r.results.tasks[t]?.metrics[metricOf(t)];
      return e ? `${num(e.value)} [${num(e.ci[0], 2)}, ${num(e.ci[1], 2)}]` : "–";
    });
    const m = meanScore(r.results, { tasks: tasks.filter((t) => r.results.tasks[t]) });
    out.push(
      `| ${r.label} | ${r.entry.kind} | ${cells.join(" | ")} | ${num(m.value)} | ` +
        `${throughputCell(speed, i)} |`,
    );
  });
  const percent = tasks.filter((t) => metricScale(metricOf(t)) !== 1);
  const meanNote = percent.length
    ? ` Mean: over tasks on 0–1, ${percent.map((t) => `${t}'s ${metricOf(t)}`).join(", ")} ÷ 100.`
    : "";
  out.push("", `${speed.note.replace(/^tokens\/s: /, "Tokens/s: ")}.${meanNote}`);
  if (report.comparisons.length) {
    out.push("", `${h(1)} Differences`, "");
    out.push(
      "| comparison | task | metric | Δ | 95% CI | p | |",
      "|---|---|---|---:|---|---:|---|",
    );
    for (const c of report.comparisons) {
      for (const [task, t] of Object.entries(c.comparison.tasks)) {
        const metric = metricOf(task);
        const m = t.metrics[metric];
        if (!m) continue;
        const p = m.mcnemar?.pValue ?? m.pValue;
        out.push(
          `| ${c.label} | ${task} | ${metric} | ${signed(m.delta)} | ` +
            `[${signed(m.ci[0])}, ${signed(m.ci[1])}] | ${formatPValue(p)} | ${
              mdEscape(significanceMark(p))
            } |`,
        );
      }
    }
    out.push(
      "",
      "p: McNemar's test for 0/1 metrics, else the paired bootstrap; \\* p<0.05, \\*\\* p<0.01, " +
        "\\*\\*\\* p<0.001. Δ = second − first model, on the items both evaluated.",
    );
  }
  if (report.events?.length) {
    const steps = report.events.filter((e) => e.event === "step");
    const evals = report.events.filter((e) => e.event === "eval");
    const done = report.events.findLast((e) => e.event === "done");
    out.push("", `${h(1)} Fine-tuning`, "");
    out.push(
      `${steps.length} optimizer steps` +
        (done?.train_seconds ? ` in ${done.train_seconds} s (${done.tokens_per_s} tokens/s)` : "") +
        `; training loss ${num(steps[0]?.loss)} → ${num(steps.at(-1)?.loss)}` +
        (evals.length
          ? `, validation loss ${num(evals[0].val_loss)} → ${num(evals.at(-1)!.val_loss)}`
          : "") +
        ".",
    );
  }
  const points = quantPoints(report);
  if (points.length) {
    out.push("", `${h(1)} Quantization`, "");
    out.push(
      "| type | bits/weight | size (MiB) | mean score | tokens/s |",
      "|---|---:|---:|---:|---:|",
    );
    const sorted = [...points].sort((a, b) => b.card.bits_per_weight - a.card.bits_per_weight);
    const pointSpeed = throughputSeries(sorted);
    sorted.forEach((p, i) => {
      const m = meanScore(p.results);
      out.push(
        `| ${p.label} | ${num(p.card.bits_per_weight, 2)} | ${num(p.card.bytes / 2 ** 20, 2)} | ` +
          `${num(m.value)} [${num(m.ci[0], 2)}, ${num(m.ci[1], 2)}] | ${
            throughputCell(pointSpeed, i)
          } |`,
      );
    });
    if (meanNote) out.push("", meanNote.trim());
  }
  if (images) {
    const figs = Object.keys(reportFigures(report));
    out.push("", ...figs.map((f) => `![${f}](${images}/${f}.png)`));
  }
  return out.join("\n") + "\n";
}

/** Asterisks as literal text in markdown (significance marks). */
function mdEscape(text: string): string {
  return text.replace(/\*/g, "\\*");
}

function signed(x: number): string {
  return Number.isFinite(x) ? (x > 0 ? "+" : "") + x.toFixed(3) : "–";
}
