/**
 * Deterministic train / validation / test splits, stratified by a label column when there is
 * one. Within each label (or over all rows) the rows are ordered by a seeded hash of their `id`
 * (or, without one, of their text) and cut at the ratios, with counts rounded by largest
 * remainder. The assignment depends on the seed and the rows' keys, not on the order of the
 * file; each split is written in input order.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { splitExamples } from "./split.ts";
 * const examples = Array.from({ length: 20 }, (_, i) => ({
 *   index: i, row: { id: `r${i}`, label: i % 2 ? "yes" : "no" },
 *   messages: [{ role: "user" as const, content: `question ${i}` }],
 * }));
 * const s = splitExamples(examples, { ratios: [0.8, 0.1, 0.1] });
 * deepStrictEqual([s.train.length, s.validation.length, s.test.length], [16, 2, 2]);
 * strictEqual(s.report.stratifiedBy, "label");
 * ```
 * @module
 */
import { hash32 } from "./_hash.ts";
import { type Example, exampleText } from "./examples.ts";

/** Options of {@linkcode splitExamples}. */
export interface SplitExamplesOptions {
  /** Shares of train, validation and test (non-negative, summing to 1). Default: `[0.9, 0.05, 0.05]`. */
  ratios?: readonly [number, number, number];
  /** Seed of the order within each stratum. Default: 1234. */
  seed?: number;
  /** Column to stratify by; null for none. Default: `"label"` when every row has a scalar `label`, else none. */
  label?: string | null;
}

/** Defaults of {@linkcode SplitExamplesOptions}. */
export const SPLIT_DEFAULTS = {
  ratios: [0.9, 0.05, 0.05] as readonly [number, number, number],
  seed: 1234,
  label: "label",
} as const;

/** The split names, in file order. */
export const SPLIT_NAMES = ["train", "validation", "test"] as const;

/** A split name. */
export type SplitName = typeof SPLIT_NAMES[number];

/** What {@linkcode splitExamples} did. */
export interface SplitReport {
  /** Ratios used. */
  ratios: [number, number, number];
  /** Seed used. */
  seed: number;
  /** Label column stratified by, or null. */
  stratifiedBy: string | null;
  /** Rows per split. */
  counts: Record<SplitName, number>;
  /** Rows per label per split (when stratified). */
  labels?: Record<string, Record<SplitName, number>>;
}

/** Allowed rounding error of the ratios' sum. */
const RATIO_TOLERANCE = 1e-6;

function scalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

/** Counts for `n` rows at `ratios`, summing to `n` (largest remainder). */
function allocate(n: number, ratios: readonly number[]): number[] {
  const exact = ratios.map((r) => r * n);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; left > 0; k++, left--) counts[order[k % order.length].i]++;
  return counts;
}

/**
 * Split examples into train, validation and test.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { splitExamples } from "./split.ts";
 * const ex = Array.from({ length: 10 }, (_, i) => ({ index: i, row: { id: i }, messages: [{ role: "user" as const, content: "q" }] }));
 * const opts = { seed: 7, ratios: [0.6, 0.2, 0.2] as const };
 * const a = splitExamples(ex, opts), b = splitExamples([...ex].reverse(), opts);
 * strictEqual(a.test[0].row.id, b.test[0].row.id); // the input order does not matter
 * ```
 */
export function splitExamples(
  examples: readonly Example[],
  options: SplitExamplesOptions = {},
): Record<SplitName, Example[]> & { report: SplitReport } {
  const ratios = [...(options.ratios ?? SPLIT_DEFAULTS.ratios)] as [number, number, number];
  const seed = options.seed ?? SPLIT_DEFAULTS.seed;
  const sum = ratios.reduce((a, b) => a + b, 0);
  if (ratios.length !== 3 || ratios.some((r) => !(r >= 0)) || Math.abs(sum - 1) > RATIO_TOLERANCE) {
    throw new Error(
      `split ratios must be three non-negative numbers summing to 1 (train,validation,test), got ${
        ratios.join(",")
      }`,
    );
  }
  let label: string | null;
  if (options.label === undefined) {
    label = examples.length && examples.every((e) => scalar(e.row[SPLIT_DEFAULTS.label]))
      ? SPLIT_DEFAULTS.label
      : null;
  } else label = options.label;
  if (label !== null) {
    const bad = examples.find((e) => !scalar(e.row[label!]));
    if (bad) {
      throw new Error(
        `cannot stratify by "${label}": row ${bad.index + 1} has ${
          bad.row[label] === undefined ? "no such column" : "a non-scalar value"
        } (columns: ${Object.keys(bad.row).join(", ")}); pass another label column or none`,
      );
    }
  }
  const strata = new Map<string, Example[]>();
  for (const ex of examples) {
    const key = label === null ? "" : String(ex.row[label]);
    const list = strata.get(key);
    if (list) list.push(ex);
    else strata.set(key, [ex]);
  }
  const out: Record<SplitName, Example[]> = { train: [], validation: [], test: [] };
  const labels: Record<string, Record<SplitName, number>> = {};
  const keyOf = (ex: Example) =>
    hash32(scalar(ex.row.id) ? `id:${ex.row.id}` : `text:${exampleText(ex)}`, seed);
  for (const [name, list] of [...strata.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const keys = new Map(list.map((ex) => [ex, keyOf(ex)]));
    const ordered = [...list].sort((a, b) => keys.get(a)! - keys.get(b)! || a.index - b.index);
    const counts = allocate(ordered.length, ratios);
    let at = 0;
    SPLIT_NAMES.forEach((split, k) => {
      for (const ex of ordered.slice(at, at + counts[k])) out[split].push(ex);
      at += counts[k];
    });
    if (label !== null) {
      labels[name] = { train: counts[0], validation: counts[1], test: counts[2] };
    }
  }
  for (const split of SPLIT_NAMES) out[split].sort((a, b) => a.index - b.index);
  return {
    ...out,
    report: {
      ratios,
      seed,
      stratifiedBy: label,
      counts: { train: out.train.length, validation: out.validation.length, test: out.test.length },
      ...(label !== null ? { labels } : {}),
    },
  };
}
