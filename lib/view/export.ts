/**
 * `deno task view --export DIR`: a static copy of the viewer that opens from disk (file://, no
 * server): the page, plotly.js, and the data as script files (`data/…/*.js`, each calling
 * `tunebookData(key, value)`, which a page from disk may load where it may not fetch JSON).
 * Every view works as it does on the server — runs index, runs, samples with filters and
 * paging, the exported comparisons, training runs (as they stood at export time) — with the
 * filters applied in the browser by the same rules (./page/query.js).
 *
 * Samples and compared items go in files of {@linkcode DEFAULT_CHUNK_SIZE} items, which the page
 * loads when a view needs them.
 *
 * @example
 * ```ts ignore
 * import { exportViewer } from "./export.ts";
 * const written = exportViewer("results", "results/view-export", { compare: [["base", "tuned"]] });
 * console.log(`${written.files} files; open ${written.index}`);
 * ```
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { plotlyJs, scriptJson } from "../plots/html.ts";
import type { CompareOptions } from "../eval/compare.ts";
import { compareExportRows } from "./compare_view.ts";
import { pageCss, pageHtml, pageScript } from "./page_assets.ts";
import { slug } from "./page/query.js";
import { ResultsStore } from "./store.ts";

/** Items per data file. */
export const DEFAULT_CHUNK_SIZE = 2000;
/** The file that marks a folder as a viewer export (so exporting again may replace it). */
export const EXPORT_MARKER = ".tunebook-view-export";

/** Options for {@linkcode exportViewer}. */
export interface ExportViewerOptions {
  /**
   * Comparisons to include, each a list of run ids (the baseline first). Default: the pairs the
   * report manifest (`report`) compares whose runs are in this results folder.
   */
  compare?: string[][];
  /** Report manifest whose comparisons are the default. Default: `<results>/notebooks/report.json`. */
  report?: string;
  /** Items per data file. Default: {@linkcode DEFAULT_CHUNK_SIZE}. */
  chunkSize?: number;
  /** Options of the comparisons. Default: compareRuns' (1000 resamples, seed 0). */
  compareOptions?: CompareOptions;
}

/** What {@linkcode exportViewer} wrote. */
export interface ExportResult {
  /** The page to open. */
  index: string;
  files: number;
  bytes: number;
  /** The comparisons included. */
  comparisons: string[][];
}

/** A folder that holds something else: exporting there would overwrite it. */
export class ExportTargetError extends Error {
  /** `dir` is the folder. */
  constructor(dir: string) {
    super(
      `${dir} exists and is not a viewer export (no ${EXPORT_MARKER} in it); export to a new or ` +
        `empty folder, or to a previous export's folder`,
    );
    this.name = "ExportTargetError";
  }
}

/** Write the static copy of the viewer over `results` to `outDir` (see the module documentation). */
export function exportViewer(
  results: string,
  outDir: string,
  options: ExportViewerOptions = {},
): ExportResult {
  const store = new ResultsStore(results, { compare: options.compareOptions });
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const runs = store.runs();
  const evalIds = new Set(runs.eval.map((r) => r.id));
  const comparisons = options.compare ??
    reportComparisons(options.report ?? join(results, "notebooks", "report.json"), results);
  for (const ids of comparisons) {
    const missing = ids.filter((id) => !evalIds.has(id));
    if (missing.length) store.index(missing[0]); // throws RunNotFoundError naming the folder
  }
  prepare(outDir);
  let files = 0;
  let bytes = 0;
  const write = (name: string, text: string) => {
    const path = join(outDir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    files++;
    bytes += new TextEncoder().encode(text).length;
  };
  const data = (key: string, value: unknown) =>
    write(`data/${key}.js`, `tunebookData(${scriptJson(key)}, ${scriptJson(value)});\n`);

  write("index.html", pageHtml({ static: true }));
  write("app.js", pageScript());
  write("app.css", pageCss());
  write("plotly.min.js", plotlyJs());
  write(
    EXPORT_MARKER,
    "written by deno task view --export; exporting again replaces this folder\n",
  );
  data("runs", { ...runs, export: { comparisons } });
  for (const run of runs.eval) {
    const index = store.index(run.id);
    const entries = index.entries();
    const chunks = Math.ceil(entries.length / chunkSize);
    data(`eval/${slug(run.id)}`, { ...store.evalRun(run.id), export: { sampleChunks: chunks } });
    for (let k = 0; k < chunks; k++) {
      data(
        `eval/${slug(run.id)}.samples.${k}`,
        index.read(entries.slice(k * chunkSize, (k + 1) * chunkSize)),
      );
    }
  }
  for (const ids of comparisons) {
    const cmpRuns = ids.map((id) => ({
      root: results,
      id,
      dir: join(results, "eval", id),
      index: store.index(id),
    }));
    const first = compareExportRows(cmpRuns, { offset: 0, limit: chunkSize });
    const chunks = Math.ceil(first.total / chunkSize);
    data(`compare/${slug(ids)}`, { ...store.compare(ids), export: { itemChunks: chunks } });
    for (let k = 0; k < chunks; k++) {
      const { rows } = k === 0
        ? first
        : compareExportRows(cmpRuns, { offset: k * chunkSize, limit: chunkSize });
      data(`compare/${slug(ids)}.items.${k}`, rows);
    }
  }
  for (const run of runs.train) data(`train/${slug(run.id)}`, store.trainRun(run.id));
  return { index: join(outDir, "index.html"), files, bytes, comparisons };
}

/** Empty `dir` for an export: new, empty, or a previous export (whose files are replaced). */
function prepare(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length && !entries.includes(EXPORT_MARKER)) throw new ExportTargetError(dir);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
}

/** The report manifest's comparisons (by run id) whose runs are folders under `results/eval`. */
function reportComparisons(report: string, results: string): string[][] {
  if (!existsSync(report)) return [];
  let manifest: {
    runs?: { label: string; dir: string }[];
    comparisons?: { a: string; b: string }[];
  };
  try {
    manifest = JSON.parse(readFileSync(report, "utf8"));
  } catch {
    return [];
  }
  const evalDir = resolve(results, "eval");
  const idOf = new Map<string, string>();
  for (const run of manifest.runs ?? []) {
    const dir = resolve(String(run.dir));
    if (dirname(dir) === evalDir) idOf.set(run.label, dir.slice(evalDir.length + 1));
  }
  return (manifest.comparisons ?? [])
    .map(({ a, b }) => [idOf.get(a), idOf.get(b)])
    .filter((ids): ids is string[] => ids.every((id) => id !== undefined));
}
