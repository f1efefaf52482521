/**
 * The benchmark texts that decontamination checks training data against: the test splits of
 * evaluation tasks (`data/tasks/*.yaml`, by name) or a JSONL/CSV/Parquet file of texts.
 *
 * For a task, an item's text is the task's `doc_to_decontamination_query` rendered on the row
 * when the task sets one (lm-eval's field), else the values of the columns its `doc_to_text`
 * reads, joined by spaces — the data without the prompt's fixed wording, so that training rows
 * formatted with the same template are not flagged for sharing it.
 *
 * @example
 * ```ts
 * import { loadBenchmarks } from "./benchmarks.ts";
 * const { items, sources } = await loadBenchmarks(["synth_qa"]);
 * console.log(sources[0], items[0].text.slice(0, 40));
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { compileTemplate, renderTemplate } from "../eval/_template.ts";
import {
  evalSplit,
  findTask,
  listTasks,
  splitNameOf,
  type TaskConfig,
  type TaskRegistryOptions,
} from "../eval/task.ts";
import type { BenchmarkItem } from "./decontaminate.ts";
import { loadRows, requireColumns } from "./load.ts";

/** Options of {@linkcode loadBenchmarks}. */
export interface BenchmarkOptions extends TaskRegistryOptions {
  /** Columns joined into an item's text for files. Default: `["text"]`. */
  fields?: string[];
  /** Folder relative file paths are resolved against. Default: the working folder. */
  baseDir?: string;
}

/** One source of benchmark items, as reported. */
export interface BenchmarkSource {
  /** Task name or file name (without extension). */
  name: string;
  /** `task` or `file`. */
  kind: "task" | "file";
  /** The file the items were read from, or `hf:…`. */
  source: string;
  /** Split read (tasks). */
  split?: string;
  /** Where each item's text came from (`doc_to_decontamination_query`, or columns). */
  text: string;
  /** Items read. */
  items: number;
  /** Rows that could not be read or rendered. */
  errors: number;
}

/** Benchmark items and where they came from. */
export interface Benchmarks {
  /** Every item, in source order (an identical text is kept once, under the first source). */
  items: BenchmarkItem[];
  /** One entry per source. */
  sources: BenchmarkSource[];
}

/** Extensions of data files; any other spec is a task name. */
const DATA_EXTENSIONS = [".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet"];
/** Split file extensions tried in a local dataset folder, in order (as the eval engine does). */
const SPLIT_FILE_EXTENSIONS = [".jsonl", ".json", ".parquet", ".csv", ".tsv"];

/**
 * The tasks checked when no benchmark is named: every task whose data is on disk (the bundled
 * ones; Hub-hosted tasks are checked only when named, since their data may need a download).
 *
 * @example
 * ```ts
 * import { defaultBenchmarkTasks } from "./benchmarks.ts";
 * console.log(defaultBenchmarkTasks().map((t) => t.name)); // ["synth_arithmetic", …]
 * ```
 */
export function defaultBenchmarkTasks(options: TaskRegistryOptions = {}): TaskConfig[] {
  return listTasks(options).filter((t) => t.dataset.kind === "local");
}

/** Whether a spec names a data file rather than a task. */
function isFileSpec(spec: string, baseDir: string): boolean {
  if (DATA_EXTENSIONS.includes(extname(spec).toLowerCase())) return true;
  const path = resolve(baseDir, spec);
  return existsSync(path) && statSync(path).isFile() && !/\.ya?ml$/i.test(spec);
}

/** The source (file or `hf:`) holding a task's split. */
function splitSource(task: TaskConfig, split: string): string {
  if (task.dataset.kind !== "local") return task.dataset.source;
  const path = resolve(task.dataset.baseDir, task.dataset.path);
  if (!(existsSync(path) && statSync(path).isDirectory())) return path;
  for (const ext of SPLIT_FILE_EXTENSIONS) {
    const file = join(path, split + ext);
    if (existsSync(file)) return file;
  }
  throw new Error(
    `task ${task.name}: split "${split}" not found in ${path} (looked for ${split}{${
      SPLIT_FILE_EXTENSIONS.join(",")
    }}); add the file or fix the split name in ${task.file}`,
  );
}

/**
 * Items of one task's evaluation split (`test`, else `validation`).
 *
 * @example
 * ```ts
 * import { taskBenchmark } from "./benchmarks.ts";
 * import { findTask } from "../eval/task.ts";
 * const { items, source } = await taskBenchmark(findTask("synth_entailment"));
 * console.log(items.length, source.text); // 200 "columns premise, hypothesis"
 * ```
 */
export async function taskBenchmark(
  task: TaskConfig,
): Promise<{ items: BenchmarkItem[]; source: BenchmarkSource }> {
  const split = splitNameOf(task, evalSplit(task));
  const file = splitSource(task, split);
  const loaded = await loadRows(file, {
    split,
    ...(task.dataset.config !== undefined ? { config: task.dataset.config } : {}),
  });
  const query = task.docToDecontaminationQuery;
  const template = compileTemplate(query ?? task.docToText);
  const columns = /[{}]/.test(task.docToText) || query !== undefined
    ? template.fields.filter((f) => loaded.columns.includes(f))
    : [task.docToText];
  if (!query && !columns.length) {
    throw new Error(
      `task ${task.name}: doc_to_text reads no column of ${file} (columns: ${
        loaded.columns.join(", ")
      }); set doc_to_decontamination_query in ${task.file} to say which text to check`,
    );
  }
  const items: BenchmarkItem[] = [];
  let errors = loaded.errors.length;
  loaded.rows.forEach((row, i) => {
    const id = typeof row.id === "string" || typeof row.id === "number"
      ? String(row.id)
      : `${split}:${i + 1}`;
    try {
      const text = query !== undefined
        ? renderTemplate(template, row)
        : columns.map((c) => valueText(row[c])).filter((s) => s !== "").join(" ");
      items.push({ benchmark: task.name, id, text });
    } catch {
      errors++;
    }
  });
  return {
    items,
    source: {
      name: task.name,
      kind: "task",
      source: file,
      split,
      text: query !== undefined
        ? `doc_to_decontamination_query ${query}`
        : `columns ${columns.join(", ")}`,
      items: items.length,
      errors,
    },
  };
}

function valueText(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/**
 * Items of a data file: the `fields` columns of each row joined by spaces. The item's id is its
 * `id` field or `line:<n>`; its benchmark is its `benchmark` (or `task`) field, or the file name.
 *
 * @example
 * ```ts
 * import { fileBenchmark } from "./benchmarks.ts";
 * import { join } from "node:path";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(join(dir, "gsm.jsonl"), '{"id":"g1","text":"Natalia sold clips to 48 of her friends"}\n');
 * const { items } = await fileBenchmark(join(dir, "gsm.jsonl"));
 * console.log(items[0]); // { benchmark: "gsm", id: "g1", text: "Natalia sold clips …" }
 * ```
 */
export async function fileBenchmark(
  path: string,
  options: BenchmarkOptions = {},
): Promise<{ items: BenchmarkItem[]; source: BenchmarkSource }> {
  const fields = options.fields ?? ["text"];
  const loaded = await loadRows(path, { baseDir: options.baseDir });
  requireColumns(
    loaded,
    fields,
    `benchmark file ${path} (pass --against-fields to name the text columns)`,
  );
  const name = basename(path, extname(path));
  const items: BenchmarkItem[] = loaded.rows.map((row, i) => ({
    benchmark: typeof row.benchmark === "string"
      ? row.benchmark
      : typeof row.task === "string"
      ? row.task
      : name,
    id: typeof row.id === "string" || typeof row.id === "number" ? String(row.id) : `line:${i + 1}`,
    text: fields.map((f) => valueText(row[f])).filter((s) => s !== "").join(" "),
  }));
  return {
    items,
    source: {
      name,
      kind: "file",
      source: loaded.files?.[0] ?? path,
      text: `columns ${fields.join(", ")}`,
      items: items.length,
      errors: loaded.errors.length,
    },
  };
}

/**
 * Load benchmark items from task names and/or files (`specs`); with no specs, from
 * {@linkcode defaultBenchmarkTasks}. A spec ending in a data extension (or naming an existing
 * file) is a file; anything else is a task name or task YAML path.
 *
 * @example
 * ```ts
 * import { loadBenchmarks } from "./benchmarks.ts";
 * const { sources } = await loadBenchmarks([]);
 * console.log(sources.map((s) => `${s.name}: ${s.items}`));
 * ```
 */
export async function loadBenchmarks(
  specs: readonly string[],
  options: BenchmarkOptions = {},
): Promise<Benchmarks> {
  const baseDir = options.baseDir ?? Deno.cwd();
  const parts: { items: BenchmarkItem[]; source: BenchmarkSource }[] = [];
  if (!specs.length) {
    for (const task of defaultBenchmarkTasks(options)) parts.push(await taskBenchmark(task));
  }
  for (const spec of specs) {
    parts.push(
      isFileSpec(spec, baseDir)
        ? await fileBenchmark(spec, { ...options, baseDir })
        : await taskBenchmark(findTask(spec, options)),
    );
  }
  const seen = new Set<string>();
  const items: BenchmarkItem[] = [];
  for (const part of parts) {
    for (const item of part.items) {
      if (seen.has(item.text)) continue;
      seen.add(item.text);
      items.push(item);
    }
  }
  return { items, sources: parts.map((p) => p.source) };
}
