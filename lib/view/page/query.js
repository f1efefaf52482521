// @ts-check
// @ts-self-types="./query.d.ts"
/**
 * How the viewer filters items, shared by the server (lib/view/sample_index.ts and
 * lib/view/compare_view.ts import it) and the page of a static export (which filters the data
 * files in the browser): one definition of right/wrong, of a text match and of fixed/broken, so
 * `deno task view` and its `--export` copy show the same items for the same filters.
 *
 * Plain JavaScript with JSDoc types: the browser loads this file as it is.
 * @module
 */

/** Metrics preferred as a task's right/wrong verdict, best first (as lib/plots' primaryMetric). */
export const VERDICT_METRICS = ["acc", "exact_match", "em", "f1", "rougeL", "rouge1", "bleu4"];

/** What an item's verdict can be. */
export const OUTCOMES = ["right", "wrong", "partial", "skipped", "unscored"];

/** What a compared item's change against the baseline can be. */
export const CHANGES = ["fixed", "broken", "changed", "differs", "same"];

/** Items per page unless asked otherwise, and the most a page may hold. */
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 500;

/**
 * @typedef {object} SampleLike
 * @property {string} [task]
 * @property {string | number} [doc_id]
 * @property {string} [prompt]
 * @property {string} [prediction]
 * @property {unknown[]} [references]
 * @property {unknown[]} [choices]
 * @property {Record<string, unknown>} [metrics]
 * @property {string} [skipped]
 */

/**
 * @typedef {object} SampleFilter
 * @property {string} [task] Only this task.
 * @property {string} [outcome] Only items with this verdict (one of OUTCOMES).
 * @property {number} [minTokens] Prompt tokens at least this.
 * @property {number} [maxTokens] Prompt tokens at most this.
 * @property {string} [q] Text the item contains (case-insensitive; prompt, prediction, references, choices, id).
 */

/**
 * @typedef {object} SampleEntry What a filter reads of an item besides its text.
 * @property {string} task
 * @property {string} outcome
 * @property {number} tokens
 */

/**
 * The metric that says whether an item is right: the first of VERDICT_METRICS among the
 * names, else the first name; null when there is none.
 * @param {string[]} names
 * @returns {string | null}
 */
export function verdictMetric(names) {
  return VERDICT_METRICS.find((m) => names.includes(m)) ?? names[0] ?? null;
}

/**
 * An item's verdict under `metric`: skipped (not evaluated), unscored (no value), right (1),
 * wrong (0) or partial (in between, e.g. an F1 of 0.5).
 * @param {SampleLike} sample
 * @param {string | null} metric
 * @returns {string}
 */
export function outcomeOf(sample, metric) {
  if (sample.skipped) return "skipped";
  const value = metric === null ? undefined : sample.metrics?.[metric];
  if (typeof value !== "number" || !Number.isFinite(value)) return "unscored";
  if (value >= 1) return "right";
  if (value <= 0) return "wrong";
  return "partial";
}

/**
 * The lower-cased text a search matches: id, prompt, prediction, references and choices.
 * @param {SampleLike} sample
 * @returns {string}
 */
export function searchText(sample) {
  const parts = [
    String(sample.doc_id ?? ""),
    String(sample.prompt ?? ""),
    String(sample.prediction ?? ""),
    ...(Array.isArray(sample.references) ? sample.references.map(String) : []),
    ...(Array.isArray(sample.choices) ? sample.choices.map(String) : []),
  ];
  return parts.join("\n").toLowerCase();
}

/**
 * Whether an item passes the filter's task, verdict and length parts (not its text).
 * @param {SampleEntry} entry
 * @param {SampleFilter} filter
 * @returns {boolean}
 */
export function matchesEntry(entry, filter) {
  if (filter.task && entry.task !== filter.task) return false;
  if (filter.outcome && entry.outcome !== filter.outcome) return false;
  if (filter.minTokens !== undefined && !(entry.tokens >= filter.minTokens)) return false;
  if (filter.maxTokens !== undefined && !(entry.tokens <= filter.maxTokens)) return false;
  return true;
}

/**
 * Whether a text matches the filter's search (every item matches an empty one).
 * @param {string} text Lower-cased, as searchText gives it.
 * @param {SampleFilter} filter
 * @returns {boolean}
 */
export function matchesText(text, filter) {
  const q = (filter.q ?? "").trim().toLowerCase();
  return q === "" || text.includes(q);
}

/**
 * How run B's verdict on an item changed from the baseline A's: fixed (wrong → right), broken
 * (right → wrong), changed (another change of verdict, e.g. to partial), differs (same verdict,
 * another prediction), same.
 * @param {string} a The baseline's outcome.
 * @param {string} b The other run's outcome.
 * @param {boolean} sameText Whether both predictions are the same text.
 * @returns {string}
 */
export function changeOf(a, b, sameText) {
  if (a === "wrong" && b === "right") return "fixed";
  if (a === "right" && b === "wrong") return "broken";
  if (a !== b) return "changed";
  return sameText ? "same" : "differs";
}

/**
 * @typedef {object} CompareFilter
 * @property {string} [task] Only this task.
 * @property {number} [against] Which run's change counts (index into the runs, ≥ 1). Default: 1.
 * @property {string} [change] Only items with this change (one of CHANGES), or "any" for fixed,
 *   broken or changed.
 * @property {string} [q] Text the baseline's item or any run's prediction contains.
 */

/**
 * Whether a compared item passes the filter's task and change parts.
 * @param {{ task: string, changes: string[] }} row changes[k]: run k against run 0 (changes[0] is "").
 * @param {CompareFilter} filter
 * @returns {boolean}
 */
export function matchesCompareRow(row, filter) {
  if (filter.task && row.task !== filter.task) return false;
  const change = row.changes[filter.against ?? 1] ?? "";
  if (!filter.change) return true;
  if (filter.change === "any") {
    return change === "fixed" || change === "broken" || change === "changed";
  }
  return change === filter.change;
}

/**
 * A sample filter and page from query parameters (`task`, `outcome`, `min`, `max`, `q`,
 * `offset`, `limit`); bad numbers are left out, the page size is clamped to MAX_PAGE_SIZE.
 * @param {URLSearchParams} params
 * @returns {{ filter: SampleFilter, offset: number, limit: number }}
 */
export function parseSampleQuery(params) {
  /** @type {SampleFilter} */
  const filter = {};
  const task = params.get("task");
  if (task) filter.task = task;
  const outcome = params.get("outcome");
  if (outcome) filter.outcome = outcome;
  const min = toInt(params.get("min"));
  if (min !== undefined) filter.minTokens = min;
  const max = toInt(params.get("max"));
  if (max !== undefined) filter.maxTokens = max;
  const q = params.get("q");
  if (q && q.trim()) filter.q = q;
  return { filter, ...parsePage(params) };
}

/**
 * A compare filter and page from query parameters (`task`, `against`, `change`, `q`, `offset`,
 * `limit`).
 * @param {URLSearchParams} params
 * @returns {{ filter: CompareFilter, offset: number, limit: number }}
 */
export function parseCompareQuery(params) {
  /** @type {CompareFilter} */
  const filter = {};
  const task = params.get("task");
  if (task) filter.task = task;
  const against = toInt(params.get("against"));
  if (against !== undefined && against >= 1) filter.against = against;
  const change = params.get("change");
  if (change) filter.change = change;
  const q = params.get("q");
  if (q && q.trim()) filter.q = q;
  return { filter, ...parsePage(params) };
}

/**
 * @param {URLSearchParams} params
 * @returns {{ offset: number, limit: number }}
 */
function parsePage(params) {
  const offset = Math.max(0, toInt(params.get("offset")) ?? 0);
  const limit = Math.min(
    MAX_PAGE_SIZE,
    Math.max(1, toInt(params.get("limit")) ?? DEFAULT_PAGE_SIZE),
  );
  return { offset, limit };
}

/**
 * @param {string | null} text
 * @returns {number | undefined}
 */
function toInt(text) {
  if (text === null || text.trim() === "") return undefined;
  const n = Number(text);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * Word-level differences between two texts (longest common subsequence of words and the
 * spaces between them): segments in order, each kept, removed (only in `a`) or added (only in
 * `b`). Texts over `maxTokens` pieces each are compared as one removed and one added segment.
 * @param {string} a
 * @param {string} b
 * @param {number} [maxTokens] Default: 2000.
 * @returns {{ op: "same" | "del" | "add", text: string }[]}
 */
export function wordDiff(a, b, maxTokens = 2000) {
  if (a === b) return a ? [{ op: "same", text: a }] : [];
  const x = a.match(/\s+|[^\s]+/g) ?? [];
  const y = b.match(/\s+|[^\s]+/g) ?? [];
  if (x.length > maxTokens || y.length > maxTokens) {
    return [
      ...(a ? [{ op: /** @type {const} */ ("del"), text: a }] : []),
      ...(b ? [{ op: /** @type {const} */ ("add"), text: b }] : []),
    ];
  }
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: length of the longest common subsequence of x[i..] and y[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  /** @type {{ op: "same" | "del" | "add", text: string }[]} */
  const out = [];
  /** @param {"same" | "del" | "add"} op @param {string} text */
  const push = (op, text) => {
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += text;
    else out.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) (push("same", x[i]), i++, j++);
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) push("del", x[i++]);
    else push("add", y[j++]);
  }
  while (i < n) push("del", x[i++]);
  while (j < m) push("add", y[j++]);
  return out;
}

/**
 * A run id (or a list of them) as a file name of a static export: letters, digits, `.`, `_` and
 * `-` stay, every other UTF-8 byte becomes `~` and two hex digits, and `+` joins list items.
 * @param {string | string[]} ids
 * @returns {string}
 */
export function slug(ids) {
  const list = Array.isArray(ids) ? ids : [ids];
  return list.map((id) =>
    Array.from(new TextEncoder().encode(id), (b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9._-]/.test(c) ? c : "~" + b.toString(16).padStart(2, "0");
    }).join("")
  ).join("+");
}
