/**
 * The families' items and their train / validation / test splits: every unique item of a family for
 * a seed, in a deterministic order, then cut into splits that never share an item.
 * @module
 */
import { Rng } from "../../util/rng.ts";
import { type ArithmeticItem, makeArithmetic } from "./arithmetic.ts";
import { type CodeItem, makeCode } from "./code.ts";
import { type EntailmentItem, makeEntailment } from "./entailment.ts";
import { type FactItem, makeFacts } from "./facts.ts";
import { makeQa, type QaItem } from "./qa.ts";
import { makeSummary, type SummaryItem } from "./summary.ts";
import { makeWorld } from "./world.ts";

/** The synthetic task families (the first four are the bundled tiny model's pretraining families). */
export const FAMILIES = ["arithmetic", "entailment", "qa", "facts", "summary", "code"] as const;
/** One synthetic task family. */
export type Family = typeof FAMILIES[number];
/** The split names, as Hugging Face datasets name them. */
export const SPLITS = ["train", "validation", "test"] as const;
/** One split name. */
export type Split = typeof SPLITS[number];
/** The world seed the bundled tasks and the tiny model's corpus use, and the corpus size. */
export const SYNTHETIC_DEFAULTS = { seed: 1234, documents: 60000 } as const;

/** The item type of each family. */
export interface FamilyItem {
  /** Arithmetic questions (lm-eval arithmetic format). */
  arithmetic: ArithmeticItem;
  /** Yes/no entailment puzzles (tasksource/puzzte shape). */
  entailment: EntailmentItem;
  /** Extractive QA (SQuAD v1.1 shape). */
  qa: QaItem;
  /** Multiple-choice facts (sciq shape). */
  facts: FactItem;
  /** Passage summarization (XSum shape). */
  summary: SummaryItem;
  /** Code to docstring (CodeXGLUE code-to-text shape). */
  code: CodeItem;
}

/** Options for {@linkcode makeSplits}. */
export interface SplitOptions {
  /** The world seed: names, facts and items all derive from it. Default: 1234. */
  seed?: number;
  /** Items in the test split. Default: 200. */
  test?: number;
  /** Items in the validation split. Default: 100. */
  validation?: number;
  /** Items in the train split (at most; fewer if the family has fewer unique items). Default: 1000. */
  train?: number;
}

function uniqueItems<T extends { id: string }>(
  count: number,
  make: (rng: Rng) => Omit<T, "id">,
  key: (item: Omit<T, "id">) => string,
  rng: Rng,
  family: string,
): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  let misses = 0;
  while (out.length < count && misses < count * 20) {
    const item = make(rng);
    const k = key(item);
    if (seen.has(k)) {
      misses++;
      continue;
    }
    seen.add(k);
    out.push({ id: `${family}-${out.length}`, ...item } as T);
  }
  return out;
}

/**
 * Every unique item of a family for a seed, in a deterministic order (before splitting). Items are
 * unique by prompt (arithmetic, entailment, qa), by fact (facts), or by reference (summary,
 * code: no two items share a summary or a docstring, so no reference of one split is another's).
 */
export function makeItems<F extends Family>(
  family: F,
  count: number,
  seed: number = SYNTHETIC_DEFAULTS.seed,
): FamilyItem[F][] {
  const world = makeWorld(seed);
  const rng = new Rng(seed, `items:${family}`);
  switch (family) {
    case "arithmetic":
      return uniqueItems<ArithmeticItem>(
        count,
        makeArithmetic,
        (i) => i.context,
        rng,
        family,
      ) as FamilyItem[F][];
    case "entailment":
      return uniqueItems<EntailmentItem>(
        count,
        (r) => makeEntailment(world, r),
        (i) => `${i.premise}|${i.hypothesis}`,
        rng,
        family,
      ) as FamilyItem[F][];
    case "qa":
      return uniqueItems<QaItem>(
        count,
        (r) => makeQa(world, r),
        (i) => `${i.context}|${i.question}`,
        rng,
        family,
      ) as FamilyItem[F][];
    case "facts":
      return makeFacts(world, rng, count) as FamilyItem[F][];
    case "summary":
      return uniqueItems<SummaryItem>(
        count,
        (r) => makeSummary(world, r),
        (i) => i.summary,
        rng,
        family,
      ) as FamilyItem[F][];
    case "code":
      return uniqueItems<CodeItem>(
        count,
        (r) => makeCode(world, r),
        (i) => i.docstring,
        rng,
        family,
      ) as FamilyItem[F][];
    default:
      throw new Error(`unknown synthetic family "${family}": use one of ${FAMILIES.join(", ")}`);
  }
}

/** Train / validation / test splits of one family; no item appears in two splits. */
export function makeSplits<F extends Family>(
  family: F,
  options: SplitOptions = {},
): Record<Split, FamilyItem[F][]> {
  const { seed = SYNTHETIC_DEFAULTS.seed, test = 200, validation = 100, train = 1000 } = options;
  const items = makeItems(family, test + validation + train, seed);
  if (items.length < test + validation + 1) {
    throw new Error(
      `synthetic family "${family}" has only ${items.length} unique items for seed ${seed}; ` +
        `ask for fewer than test=${test} + validation=${validation}`,
    );
  }
  return {
    test: items.slice(0, test),
    validation: items.slice(test, test + validation),
    train: items.slice(test + validation, test + validation + train),
  };
}
