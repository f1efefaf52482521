/**
 * The curation report's numbers and pictures: length statistics and histograms (before and
 * after curation, on shared bins), and figures of the rows removed per rule and of the length
 * distributions — as plotly-style specs (`{data, layout}`, for notebooks) and as self-contained
 * SVG files (no browser needed).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
 * import { lengthHistogram, lengthStats, rulesSvg } from "./report.ts";
 * const before = [3, 5, 8, 13, 21, 34], after = [3, 5, 8];
 * strictEqual(lengthStats(after).median, 5);
 * deepStrictEqual(lengthHistogram(before, after, { bins: 4 }), {
 *   edges: [0, 9, 18, 27, 36],
 *   before: [3, 1, 1, 1],
 *   after: [3, 0, 0, 0],
 * });
 * ok(rulesSvg({ exact_dup: 3, near_dup: 1 }).startsWith("<svg"));
 * ```
 * @module
 */
import { max, mean, min } from "simple-statistics";
import { nearestRank } from "../util/nearest_rank.ts";

/** Summary statistics of a list of lengths. */
export interface LengthStats {
  /** Values. */
  count: number;
  /** Smallest (0 when empty). */
  min: number;
  /** Largest (0 when empty). */
  max: number;
  /** Mean (0 when empty). */
  mean: number;
  /** Median (lower middle value). */
  median: number;
  /** 95th percentile (nearest rank). */
  p95: number;
}

/** Two length distributions on the same bins. */
export interface LengthHistogram {
  /** Bin edges: bin i holds values in [edges[i], edges[i+1]) (the last bin includes its top). */
  edges: number[];
  /** Counts before curation. */
  before: number[];
  /** Counts after curation. */
  after: number[];
}

/** Options of {@linkcode lengthHistogram}. */
export interface HistogramOptions {
  /** Number of bins. Default: 20. */
  bins?: number;
}

/** Default number of histogram bins. */
export const HISTOGRAM_BINS = 20;
const MEDIAN = 0.5;
const P95 = 0.95;

/**
 * Count, min, max, mean, median and 95th percentile of `values`. The median and p95 are
 * nearest-rank quantiles ({@linkcode nearestRank}: always an observed length; the median of an
 * even count is the lower middle value, not simple-statistics' average of the two); the mean
 * is simple-statistics' (compensated summation).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { lengthStats } from "./report.ts";
 * deepStrictEqual(lengthStats([1, 2, 3, 4]), {
 *   count: 4,
 *   min: 1,
 *   max: 4,
 *   mean: 2.5,
 *   median: 2,
 *   p95: 4,
 * });
 * deepStrictEqual(lengthStats([]), { count: 0, min: 0, max: 0, mean: 0, median: 0, p95: 0 });
 * ```
 */
export function lengthStats(values: ArrayLike<number>): LengthStats {
  const n = values.length;
  if (!n) return { count: 0, min: 0, max: 0, mean: 0, median: 0, p95: 0 };
  const list = Array.from(values);
  return {
    count: n,
    min: min(list),
    max: max(list),
    mean: mean(list),
    median: nearestRank(list, MEDIAN),
    p95: nearestRank(list, P95),
  };
}

/**
 * Histograms of `before` and `after` on shared integer-width bins from 0 to the largest value.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { lengthHistogram } from "./report.ts";
 * deepStrictEqual(lengthHistogram([1, 2, 9, 10], [1, 2], { bins: 2 }), { edges: [0, 5, 10], before: [2, 2], after: [2, 0] });
 * ```
 */
export function lengthHistogram(
  before: ArrayLike<number>,
  after: ArrayLike<number>,
  options: HistogramOptions = {},
): LengthHistogram {
  const bins = options.bins ?? HISTOGRAM_BINS;
  let max = 0;
  for (let i = 0; i < before.length; i++) max = Math.max(max, before[i]);
  for (let i = 0; i < after.length; i++) max = Math.max(max, after[i]);
  const width = Math.max(1, Math.ceil(max / bins));
  const edges = Array.from({ length: bins + 1 }, (_, i) => i * width);
  const count = (values: ArrayLike<number>) => {
    const out = new Array(bins).fill(0);
    for (let i = 0; i < values.length; i++) {
      out[Math.min(bins - 1, Math.floor(values[i] / width))]++;
    }
    return out;
  };
  return { edges, before: count(before), after: count(after) };
}

/** A plotly figure spec (the shape lib/plots and Jupyter's plotly renderer read). */
export interface FigureSpec {
  /** Traces. */
  data: Record<string, unknown>[];
  /** Layout. */
  layout: Record<string, unknown>;
}

const BEFORE_COLOR = "#0072B2", AFTER_COLOR = "#E69F00", BAR_COLOR = "#D55E00";
const FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

/**
 * A bar chart (plotly spec) of rows removed per rule.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { rulesFigure } from "./report.ts";
 * deepStrictEqual(rulesFigure({ near_dup: 4, contaminated: 1 }).data[0].y, [4, 1]);
 * ```
 */
export function rulesFigure(rules: Record<string, number>): FigureSpec {
  const names = Object.keys(rules);
  return {
    data: [{ type: "bar", name: "removed", x: names, y: names.map((n) => rules[n]) }],
    layout: {
      title: { text: "Rows removed per rule" },
      xaxis: { title: { text: "rule" } },
      yaxis: { title: { text: "rows" } },
    },
  };
}

/**
 * Histograms (plotly spec) of lengths before and after curation, side by side in each bin (an
 * overlay would hide "before" wherever "after" is as tall, which is most bins).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { lengthFigureSpec } from "./report.ts";
 * const fig = lengthFigureSpec({ edges: [0, 5, 10], before: [2, 2], after: [2, 0] }, "tokens");
 * strictEqual(fig.data.length, 2);
 * ```
 */
export function lengthFigureSpec(hist: LengthHistogram, unit: string): FigureSpec {
  const mids = hist.edges.slice(0, -1).map((e, i) => (e + hist.edges[i + 1]) / 2);
  return {
    data: [
      { type: "bar", name: "before", x: mids, y: hist.before, marker: { color: BEFORE_COLOR } },
      { type: "bar", name: "after", x: mids, y: hist.after, marker: { color: AFTER_COLOR } },
    ],
    layout: {
      title: { text: `Row length (${unit})` },
      barmode: "group",
      xaxis: { title: { text: unit } },
      yaxis: { title: { text: "rows" } },
    },
  };
}

// ------------------------------------------------------------------------------ SVG

const W = 720, H = 360, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 60;
const TICKS = 5;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ `v` (so that axis ticks are round). */
function niceMax(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(1, v))));
  for (const m of NICE_STEPS) if (m * p >= v) return m * p;
  return NICE_STEPS[NICE_STEPS.length - 1] * p;
}
const NICE_STEPS = [1, 2, 2.5, 5, 10];

function frame(title: string, body: string, yMax: number, yLabel: string): string {
  const plotH = H - TOP - BOTTOM;
  const ticks = Array.from({ length: TICKS + 1 }, (_, i) => {
    const v = (yMax * i) / TICKS;
    const y = H - BOTTOM - (plotH * i) / TICKS;
    return `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>` +
      `<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end">${
        Number.isInteger(v) ? v : v.toFixed(1)
      }</text>`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `font-family="${FONT}" font-size="11">` +
    `<rect width="${W}" height="${H}" fill="white"/>` +
    `<text x="${LEFT}" y="22" font-size="15">${esc(title)}</text>${ticks}` +
    `<text transform="translate(16 ${TOP + plotH / 2}) rotate(-90)" text-anchor="middle">${
      esc(yLabel)
    }</text>${body}` +
    `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${H - BOTTOM}" y2="${
      H - BOTTOM
    }" stroke="#444"/></svg>\n`;
}

/**
 * An SVG bar chart of rows removed per rule.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { rulesSvg } from "./report.ts";
 * ok(rulesSvg({ exact_dup: 2 }).includes("exact_dup"));
 * ```
 */
export function rulesSvg(rules: Record<string, number>): string {
  const names = Object.keys(rules);
  const yMax = niceMax(Math.max(1, ...names.map((n) => rules[n])));
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const slot = plotW / Math.max(1, names.length);
  const body = names.map((n, i) => {
    const h = (plotH * rules[n]) / yMax;
    const x = LEFT + i * slot + slot * 0.15;
    return `<rect x="${x}" y="${H - BOTTOM - h}" width="${
      slot * 0.7
    }" height="${h}" fill="${BAR_COLOR}"/>` +
      `<text x="${x + slot * 0.35}" y="${H - BOTTOM - h - 4}" text-anchor="middle">${
        rules[n]
      }</text>` +
      `<text x="${x + slot * 0.35}" y="${H - BOTTOM + 16}" text-anchor="middle">${esc(n)}</text>`;
  }).join("");
  return frame("Rows removed per rule", body, yMax, "rows");
}

/**
 * An SVG histogram of lengths before (blue) and after (orange) curation.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { lengthSvg } from "./report.ts";
 * const svg = lengthSvg({ edges: [0, 5, 10], before: [2, 2], after: [2, 0] }, "tokens");
 * ok(svg.startsWith("<svg") && svg.includes("after"));
 * ```
 */
export function lengthSvg(hist: LengthHistogram, unit: string): string {
  const bins = hist.before.length;
  const yMax = niceMax(Math.max(1, ...hist.before, ...hist.after));
  const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
  const slot = plotW / Math.max(1, bins);
  const bar = (counts: number[], color: string, shift: number) =>
    counts.map((c, i) => {
      const h = (plotH * c) / yMax;
      return `<rect x="${LEFT + i * slot + shift * slot * 0.45 + slot * 0.05}" y="${
        H - BOTTOM - h
      }" width="${slot * 0.45}" height="${h}" fill="${color}"/>`;
    }).join("");
  const labels = hist.edges.map((e, i) =>
    i % Math.max(1, Math.ceil(bins / 10)) === 0 || i === bins
      ? `<text x="${LEFT + i * slot}" y="${H - BOTTOM + 16}" text-anchor="middle">${e}</text>`
      : ""
  ).join("");
  const legend = `<rect x="${W - 170}" y="12" width="10" height="10" fill="${BEFORE_COLOR}"/>` +
    `<text x="${W - 155}" y="21">before</text>` +
    `<rect x="${W - 100}" y="12" width="10" height="10" fill="${AFTER_COLOR}"/>` +
    `<text x="${W - 85}" y="21">after</text>` +
    `<text x="${LEFT + plotW / 2}" y="${H - 20}" text-anchor="middle">${esc(unit)}</text>`;
  return frame(
    `Row length (${unit})`,
    bar(hist.before, BEFORE_COLOR, 0) + bar(hist.after, AFTER_COLOR, 1) + labels + legend,
    yMax,
    "rows",
  );
}
