/**
 * Types of query.js (the browser loads the JavaScript as it is; TypeScript importers get these).
 * @module
 */

/** Metrics preferred as a task's right/wrong verdict, best first (as lib/plots' primaryMetric). */
export declare const VERDICT_METRICS: string[];
/** What an item's verdict can be. */
export declare const OUTCOMES: string[];
/** What a compared item's change against the baseline can be. */
export declare const CHANGES: string[];
/** Items per page unless asked otherwise. */
export declare const DEFAULT_PAGE_SIZE: number;
/** The most a page may hold. */
export declare const MAX_PAGE_SIZE: number;

/** What the filters read of a sample. */
export interface SampleLike {
  task?: string;
  doc_id?: string | number;
  prompt?: string;
  prediction?: string;
  references?: unknown[];
  choices?: unknown[];
  metrics?: Record<string, unknown>;
  skipped?: string;
}

/** A filter of samples. */
export interface SampleFilter {
  /** Only this task. */
  task?: string;
  /** Only items with this verdict (one of OUTCOMES). */
  outcome?: string;
  /** Prompt tokens at least this. */
  minTokens?: number;
  /** Prompt tokens at most this. */
  maxTokens?: number;
  /** Text the item contains (case-insensitive; prompt, prediction, references, choices, id). */
  q?: string;
}

/** What a filter reads of an item besides its text. */
export interface SampleEntry {
  task: string;
  outcome: string;
  tokens: number;
}

/** A filter of compared items. */
export interface CompareFilter {
  /** Only this task. */
  task?: string;
  /** Which run's change counts (index into the runs, ≥ 1). Default: 1. */
  against?: number;
  /** Only items with this change (one of CHANGES), or "any" for fixed, broken or changed. */
  change?: string;
  /** Text any run's item contains. */
  q?: string;
}

/** One piece of a word difference. */
export interface DiffSegment {
  op: "same" | "del" | "add";
  text: string;
}

/** The metric that says whether an item is right (see query.js). */
export declare function verdictMetric(names: string[]): string | null;
/** An item's verdict under `metric`. */
export declare function outcomeOf(sample: SampleLike, metric: string | null): string;
/** The lower-cased text a search matches. */
export declare function searchText(sample: SampleLike): string;
/** Whether an item passes the filter's task, verdict and length parts. */
export declare function matchesEntry(entry: SampleEntry, filter: SampleFilter): boolean;
/** Whether a text matches the filter's search. */
export declare function matchesText(text: string, filter: SampleFilter): boolean;
/** How run B's verdict on an item changed from the baseline A's. */
export declare function changeOf(a: string, b: string, sameText: boolean): string;
/** Whether a compared item passes the filter's task and change parts. */
export declare function matchesCompareRow(
  row: { task: string; changes: string[] },
  filter: CompareFilter,
): boolean;
/** A sample filter and page from query parameters. */
export declare function parseSampleQuery(
  params: URLSearchParams,
): { filter: SampleFilter; offset: number; limit: number };
/** A compare filter and page from query parameters. */
export declare function parseCompareQuery(
  params: URLSearchParams,
): { filter: CompareFilter; offset: number; limit: number };
/** Word-level differences between two texts. */
export declare function wordDiff(a: string, b: string, maxTokens?: number): DiffSegment[];
/** A run id (or a list of them) as a file name of a static export. */
export declare function slug(ids: string | string[]): string;
