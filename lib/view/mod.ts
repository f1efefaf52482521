/**
 * The local results viewer behind `deno task view`: a web page over `results/eval/<run>/` and
 * `results/train/<run>/` — the runs index, a run's metrics with CIs, accuracy by length, row
 * errors and skipped items, its samples with filters and paging (an index over samples.jsonl,
 * so 100k items page without being loaded), runs compared on the same items (fixed and broken
 * items, answers side by side with their differences, paired Δ per task), training runs with a
 * live loss chart (server-sent events while events.jsonl grows), and a static export that opens
 * from disk.
 *
 * @example
 * ```ts ignore
 * import { startViewer } from "./mod.ts";
 * const viewer = startViewer({ results: "results" });
 * console.log(`open ${viewer.url}`);
 * ```
 * @module
 */
export * from "./server.ts";
export * from "./export.ts";
export * from "./store.ts";
export * from "./api.ts";
export * from "./runs.ts";
export * from "./sample_index.ts";
export * from "./eval_view.ts";
export * from "./compare_view.ts";
export * from "./train_view.ts";
export * from "./page_assets.ts";
