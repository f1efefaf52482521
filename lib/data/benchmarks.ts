/**
 * The benchmark texts that decontamination checks training data against: files of texts
 * (JSONL/CSV/Parquet) read here, and evaluation tasks' test splits through a
 * {@linkcode BenchmarkTasks} resolver passed in — lib/eval/benchmark_items.ts's
 * `benchmarkTasks()` is the one tunebook uses (lib/data does not read task files itself).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { loadBenchmarks } from "./benchmarks.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(join(dir, "gsm.jsonl"), '{"id":"g1","text":"Natalia sold clips"}\n');
 * const { items, sources } = await loadBenchmarks([join(dir, "gsm.jsonl")]);
 * assert.deepEqual(items, [{ benchmark: "gsm", id: "g1", text: "Natalia sold clips" }]);
 * assert.equal(sources[0].kind, "file");
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import type { BenchmarkItem } from "./decontaminate.ts";
import { loadRows, requireColumns } from "./load.ts";

/** Options of {@linkcode fileBenchmark}. */
export interface BenchmarkFileOptions {
  /** Columns joined into an item's text. Default: `["text"]`. */
  fields?: string[];
  /** Folder relative file paths are resolved against. Default: the working folder. */
  baseDir?: string;
}

/** Options of {@linkcode loadBenchmarks}. */
export interface BenchmarkOptions extends BenchmarkFileOptions {
  /**
   * Turns specs that are not files (task names, task YAML paths) and the empty list into items.
   * Default: none, so only files can be named.
   */
  tasks?: BenchmarkTasks;
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

/** The items of one source and its report line. */
export interface BenchmarkPart {
  /** Its items, in file order. */
  items: BenchmarkItem[];
  /** Where they came from. */
  source: BenchmarkSource;
}

/**
 * Benchmarks that are evaluation tasks, resolved by the module that owns them (lib/eval's
 * `benchmarkTasks()`), so lib/data reads task data without importing lib/eval.
 */
export interface BenchmarkTasks {
  /** The items of one task, by name or task YAML path; throws for an unknown one. */
  task(spec: string): Promise<BenchmarkPart>;
  /** The items of the tasks checked when no benchmark is named. */
  defaults(): Promise<BenchmarkPart[]>;
}

/** Extensions of data files; any other spec is a task name. */
const DATA_EXTENSIONS = [".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet"];

/**
 * Whether a benchmark spec names a data file rather than a task: a data extension, or an existing
 * file (relative to `baseDir`) that is not task YAML.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBenchmarkFile } from "./benchmarks.ts";
 * assert.equal(isBenchmarkFile("gsm8k.jsonl", "."), true);
 * assert.equal(isBenchmarkFile("synth_qa", "."), false);
 * ```
 */
export function isBenchmarkFile(spec: string, baseDir: string): boolean {
  if (DATA_EXTENSIONS.includes(extname(spec).toLowerCase())) return true;
  const path = resolve(baseDir, spec);
  return existsSync(path) && statSync(path).isFile() && !/\.ya?ml$/i.test(spec);
}

/**
 * A cell's text as benchmark text: strings as they are, numbers and booleans printed, other values
 * as JSON, missing ones empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { valueText } from "./benchmarks.ts";
 * assert.deepEqual([valueText("a"), valueText(3), valueText(null), valueText(["x"])], ["a", "3", "", '["x"]']);
 * ```
 */
export function valueText(v: unknown): string {
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
 * import assert from "node:assert/strict";
 * import { fileBenchmark } from "./benchmarks.ts";
 * import { join } from "node:path";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(join(dir, "gsm.jsonl"), '{"id":"g1","text":"Natalia sold clips to 48 of her friends"}\n');
 * const { items } = await fileBenchmark(join(dir, "gsm.jsonl"));
 * assert.deepEqual(items[0], { benchmark: "gsm", id: "g1", text: "Natalia sold clips to 48 of her friends" });
 * ```
 */
export async function fileBenchmark(
  path: string,
  options: BenchmarkFileOptions = {},
): Promise<BenchmarkPart> {
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
 * Load benchmark items from `specs`: files of texts (a spec with a data extension, or naming an
 * existing file) are read here; anything else — a task name or task YAML path — and the empty
 * list (the default tasks) go to `options.tasks`. An identical text is kept once, under its first
 * source. Without `options.tasks`, a task spec or an empty list throws, saying what to pass.
 *
 * @example
 * ```ts ignore
 * import { loadBenchmarks } from "./benchmarks.ts";
 * // tasks: lib/eval/benchmark_items.ts's benchmarkTasks(), which reads data/tasks/*.yaml
 * const { sources } = await loadBenchmarks([], { tasks: benchmarkTasks });
 * console.log(sources.map((s) => `${s.name}: ${s.items}`));
 * ```
 */
export async function loadBenchmarks(
  specs: readonly string[],
  options: BenchmarkOptions = {},
): Promise<Benchmarks> {
  const baseDir = options.baseDir ?? Deno.cwd();
  const tasks = (what: string): BenchmarkTasks => {
    if (options.tasks) return options.tasks;
    throw new Error(
      `${what} needs a resolver for evaluation tasks, and none was given: pass \`tasks: ` +
        "benchmarkTasks()` (lib/eval/benchmark_items.ts), or name files of benchmark texts " +
        `(${DATA_EXTENSIONS.join(", ")})`,
    );
  };
  const parts: BenchmarkPart[] = [];
  if (!specs.length) {
    parts.push(...await tasks("decontaminating against the default tasks").defaults());
  }
  for (const spec of specs) {
    parts.push(
      isBenchmarkFile(spec, baseDir)
        ? await fileBenchmark(spec, { ...options, baseDir })
        : await tasks(`benchmark "${spec}" is not a data file; reading it as a task`).task(spec),
    );
  }
  return mergeBenchmarks(parts);
}

/**
 * Join benchmark parts into one list, keeping an identical text once, under its first source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeBenchmarks } from "./benchmarks.ts";
 * const source = { name: "a", kind: "file" as const, source: "a.jsonl", text: "columns text", items: 1, errors: 0 };
 * const item = { benchmark: "a", id: "1", text: "same" };
 * const merged = mergeBenchmarks([{ items: [item], source }, { items: [{ ...item, benchmark: "b" }], source }]);
 * assert.deepEqual(merged.items, [item]);
 * assert.equal(merged.sources.length, 2);
 * ```
 */
export function mergeBenchmarks(parts: readonly BenchmarkPart[]): Benchmarks {
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
