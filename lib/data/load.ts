/**
 * Load dataset rows from a local JSONL / JSON / CSV / TSV / Parquet file or from a Hugging Face
 * Hub dataset (`hf:owner/name` plus a split), as plain JS objects.
 *
 * JSON Lines are parsed line by line: a malformed line is reported in `errors` (with its line
 * number and text) and the rest still loads. CSV and Parquet go through nodejs-polars; nested
 * Parquet columns (lists, structs such as SQuAD's `answers: {text: [...], answer_start: [...]}`)
 * come back as plain arrays and objects.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { loadRows } from "./load.ts";
 * import { join } from "node:path";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(join(dir, "qa.jsonl"), '{"q":"2+2?","a":"4"}\n{oops\n{"q":"3+3?","a":"6"}\n');
 * const loaded = await loadRows("qa.jsonl", { baseDir: dir });
 * strictEqual(loaded.rows.length, 2);
 * strictEqual(loaded.errors[0].row, 2); // the bad line, reported instead of dropped silently
 * ```
 * @module
 */
import pl from "nodejs-polars";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { downloadDatasetFiles, type HubOptions } from "../hub/mod.ts";
import { parseJsonl } from "./jsonl.ts";

/** A row that could not be read; the other rows still load. */
export interface RowError {
  /** 1-based line number (JSONL) or row number in the file. */
  row: number;
  /** What was wrong, starting with `file:line`. */
  message: string;
  /** The raw text of the line, when there is one. */
  raw?: string;
  /** The file the row is in. */
  file?: string;
}

/** Where a row is in its file. */
export interface RowOrigin {
  /** The file. */
  file: string;
  /** 1-based line the row starts on, or its number in `unit`s. */
  line: number;
  /** What `line` counts: lines (JSONL, CSV, TSV), rows (Parquet), elements (a JSON array). */
  unit: "line" | "row" | "element";
}

/**
 * A row's place as people look it up: `file:line` for text files, `file: row N` for Parquet
 * and `file: element N` for a JSON array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatOrigin } from "./load.ts";
 * const line = formatOrigin({ file: "data/qa.jsonl", line: 7, unit: "line" });
 * assert.equal(line, "data/qa.jsonl:7");
 * const row = formatOrigin({ file: "data/qa.parquet", line: 7, unit: "row" });
 * assert.equal(row, "data/qa.parquet: row 7");
 * ```
 */
export function formatOrigin(origin: RowOrigin): string {
  return origin.unit === "line"
    ? `${origin.file}:${origin.line}`
    : `${origin.file}: ${origin.unit} ${origin.line}`;
}

/** The rows of a dataset source, plus the rows that could not be read. */
export interface LoadedRows {
  /** The source as given (`data/qa.jsonl`, `hf:owner/name`). */
  source: string;
  /** One plain object per row. */
  rows: Record<string, unknown>[];
  /**
   * Where each row of `rows` is in its file (set by `loadRows`; absent where it cannot be told,
   * e.g. a CSV polars read differently from its line structure).
   */
  origins?: RowOrigin[];
  /** Rows that could not be read (malformed JSON lines, non-object lines). */
  errors: RowError[];
  /** Column names, in the order first seen. */
  columns: string[];
  /** The local files read (for `hf:` sources, their paths in the Hugging Face cache). Set by `loadRows`. */
  files?: string[];
}

/** The file formats `loadRows` reads. */
export type RowFormat = "jsonl" | "json" | "csv" | "tsv" | "parquet" | "text";

/** How to read a CSV or TSV file (the options `datasets`' csv builder passes to its reader). */
export interface DelimitedOptions {
  /** Field separator. Default: `,` for CSV, a tab for TSV. */
  sep?: string;
  /**
   * Whether quotes delimit fields (`"a, b"`, `""` for a quote, as RFC 4180). Default: true for
   * CSV; false for TSV, whose fields cannot hold tabs or newlines, so a quote is an ordinary
   * character (`He said "wait` stays as written).
   */
  quoting?: boolean;
  /** The quote character. Default: `"`. */
  quoteChar?: string;
  /** Whether the first line names the columns. Default: true (false when `columnNames` is given). */
  hasHeader?: boolean;
  /** Column names for a file without a header line. Default: `column_1`, `column_2`, … */
  columnNames?: string[];
}

/** How to find and read a source. */
export interface LoadOptions {
  /** Split of an `hf:` source (required there): `"train"`, `"validation"`, `"test"`, … Ignored for local files. */
  split?: string;
  /** Config (subset) of an `hf:` source. Default: the dataset's default config. */
  config?: string;
  /** Folder that relative paths are resolved against. Default: the current working directory. */
  baseDir?: string;
  /**
   * Format of a local file. Default: from the extension: `.jsonl`/`.ndjson` JSON Lines, `.json` a
   * JSON array or JSON Lines, `.csv`, `.tsv`, `.parquet`; `text` (one row `{text}` per line) only
   * when asked for. Files from the Hub always go by extension.
   */
  format?: RowFormat;
  /** How to reach the Hub for `hf:` sources. Default: {@linkcode HubOptions}' defaults (env HF_*). */
  hub?: HubOptions;
  /** How to read CSV and TSV files. Default: {@linkcode DelimitedOptions}' defaults. */
  delimited?: DelimitedOptions;
  /** For a JSON file holding an object: the key whose value is the list of rows. Default: none. */
  jsonField?: string;
}

const EXTENSIONS: Record<string, RowFormat> = {
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".json": "json",
  ".csv": "csv",
  ".tsv": "tsv",
  ".parquet": "parquet",
};

/** Which format a path is in, by extension; undefined when unknown. */
function formatOf(path: string): RowFormat | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

interface FileRows {
  rows: Record<string, unknown>[];
  /** Line (or row) of each row in its file; undefined when unknown. */
  lines: number[] | undefined;
  /** What `lines` counts. */
  unit?: RowOrigin["unit"];
  errors: RowError[];
  columns?: string[];
}

/** `lineOffset`: lines before `text` in the file (when a large file is read in chunks). */
function readJsonLines(path: string, text: string, lineOffset = 0): FileRows {
  const parsed = parseJsonl<unknown>(text);
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const errors: RowError[] = parsed.errors.map((e) => ({
    row: e.line + lineOffset,
    message: `${path}:${
      e.line + lineOffset
    }: not valid JSON (${e.message}); fix or remove that line`,
    raw: e.text,
    file: path,
  }));
  parsed.rows.forEach((value, i) => {
    const local = parsed.lines[i];
    const line = local + lineOffset;
    if (isObject(value)) {
      rows.push(value);
      lines.push(line);
    } else {
      errors.push({
        row: line,
        message: `${path}:${line}: a row must be a JSON object ({"field": value, …}), got ${
          Array.isArray(value) ? "an array" : typeof value
        }`,
        raw: text.split("\n")[local - 1],
        file: path,
      });
    }
  });
  errors.sort((a, b) => a.row - b.row);
  return { rows, lines, errors };
}

function readJson(path: string, field?: string): FileRows {
  const text = readFileSync(path, "utf8");
  const trimmed = text.trimStart();
  // JSON Lines named .json
  if (!trimmed.startsWith("[") && field === undefined) return readJsonLines(path, text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${path}: not valid JSON (${
        (e as Error).message
      }). Expected an array of row objects or JSON Lines; ` +
        `fix the file (a JSON Lines file reports bad lines one by one).`,
    );
  }
  if (field !== undefined) {
    const holder = value as Record<string, unknown>;
    if (!isObject(holder) || !Array.isArray(holder[field])) {
      throw new Error(
        `${path}: expected a JSON object with a list under "${field}" (the json builder's field); ` +
          `found ${isObject(holder) ? `keys ${Object.keys(holder).join(", ")}` : "no object"}`,
      );
    }
    value = holder[field];
  }
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const errors: RowError[] = [];
  (value as unknown[]).forEach((v, i) => {
    if (isObject(v)) {
      rows.push(v);
      lines.push(i + 1);
    } else {
      errors.push({
        row: i + 1,
        message: `${path}: element ${
          i + 1
        } of the array is not a JSON object; rows must be objects`,
        raw: JSON.stringify(v),
        file: path,
      });
    }
  });
  return { rows, lines, unit: "element", errors };
}

/** Rows of a polars frame as plain objects (lists → arrays, structs → objects). */
function frameRows(df: pl.DataFrame): Record<string, unknown>[] {
  try {
    return df.toRecords() as Record<string, unknown>[];
  } catch {
    // some nested dtypes cannot cross to JS directly; JSON always can
    const text = df.writeJSON({ format: "lines" }).toString();
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  }
}

/**
 * Read CSV/TSV with polars, inferring column types from every line (so a late non-numeric value
 * cannot break a column typed from the first rows). nodejs-polars reads `inferSchemaLength: null`
 * as "all strings", hence the line count.
 */
function readDelimited(
  path: string,
  tsv: boolean,
  options: DelimitedOptions,
): { df: pl.DataFrame; starts: number[] } {
  const bytes = readFileSync(path);
  let lines = 1;
  for (const b of bytes) if (b === 10) lines++;
  const sep = options.sep ?? (tsv ? "\t" : ",");
  const quoting = options.quoting ?? !tsv;
  const hasHeader = options.hasHeader ?? options.columnNames === undefined;
  let df = pl.readCSV(bytes, {
    sep,
    inferSchemaLength: lines,
    hasHeader,
    quoteChar: quoting ? options.quoteChar ?? '"' : "",
  });
  const names = options.columnNames;
  if (names) {
    if (names.length !== df.width) {
      throw new Error(
        `${names.length} column names given (${
          names.join(", ")
        }) but the file has ${df.width} columns`,
      );
    }
    df = df.rename(Object.fromEntries(df.columns.map((c, i) => [c, names[i]])));
  }
  const quote = quoting ? (options.quoteChar ?? '"').charCodeAt(0) : -1;
  return { df, starts: recordStarts(bytes, quote, hasHeader) };
}

/** A text file: one row per line, `{"text": line}` (the `datasets` text builder). */
function readText(path: string): FileRows {
  const text = readFileSync(path, "utf8");
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return {
    rows: lines.map((line) => ({ text: line })),
    lines: lines.map((_, i) => i + 1),
    errors: [],
    columns: ["text"],
  };
}

const CR = 13;

/**
 * The line each data record of a CSV/TSV file starts on (after the header), following quotes so
 * a quoted field with newlines stays in one record. Blank lines count as records, as polars reads
 * them (a row of nulls), except at the end of the file.
 */
function recordStarts(bytes: Uint8Array, quote: number, hasHeader: boolean): number[] {
  const records: { line: number; empty: boolean }[] = [];
  let line = 1, inQuotes = false, current = { line: 1, empty: true };
  for (const b of bytes) {
    if (b === quote) inQuotes = !inQuotes;
    if (b === NEWLINE) {
      line++;
      if (!inQuotes) {
        records.push(current);
        current = { line, empty: true };
        continue;
      }
    }
    if (b !== CR && b !== NEWLINE) current.empty = false;
  }
  records.push(current);
  while (records.length && records[records.length - 1].empty) records.pop();
  return records.slice(hasHeader ? 1 : 0).map((r) => r.line);
}

function readWithPolars(
  path: string,
  format: "csv" | "tsv" | "parquet",
  options: LoadOptions,
): FileRows {
  let df: pl.DataFrame;
  let starts: number[] | undefined;
  try {
    if (format === "parquet") df = pl.readParquet(path);
    else ({ df, starts } = readDelimited(path, format === "tsv", options.delimited ?? {}));
  } catch (e) {
    const msg = (e as Error).message;
    if (format !== "parquet" && /empty/i.test(msg)) {
      return { rows: [], lines: [], errors: [], columns: [] };
    }
    throw new Error(
      format === "parquet"
        ? `Cannot read Parquet file ${path}: ${msg}. The file is corrupt, truncated or not Parquet; ` +
          `re-export it, or if it came from the Hub, delete it from the cache so it is downloaded again.`
        : `Cannot parse ${format.toUpperCase()} file ${path}: ${msg}. Check the header line, the ` +
          `delimiter and the quoting (or pass format to read it as another type).`,
    );
  }
  const rows = frameRows(df);
  const lines = format === "parquet"
    ? rows.map((_, i) => i + 1)
    : starts?.length === rows.length
    ? starts
    : undefined;
  return {
    rows,
    lines,
    unit: format === "parquet" ? "row" : "line",
    errors: [],
    columns: df.columns,
  };
}

/**
 * JSON Lines files are decoded in chunks of about this many bytes, cut at line ends: one string
 * of a whole large file would pass V8's string length limit (~512 MiB).
 */
const JSONL_CHUNK_BYTES = 64 * 1024 * 1024;
const NEWLINE = 10;

function readJsonLinesFile(path: string): FileRows {
  const bytes = readFileSync(path);
  if (bytes.length <= JSONL_CHUNK_BYTES) return readJsonLines(path, bytes.toString("utf8"));
  const rows: Record<string, unknown>[] = [];
  const rowLines: number[] = [];
  const errors: RowError[] = [];
  let start = 0, lines = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + JSONL_CHUNK_BYTES);
    if (end < bytes.length) {
      const nl = bytes.indexOf(NEWLINE, end);
      end = nl < 0 ? bytes.length : nl + 1;
    }
    const text = bytes.toString("utf8", start, end);
    const part = readJsonLines(path, text, lines);
    for (const r of part.rows) rows.push(r);
    for (const l of part.lines!) rowLines.push(l);
    for (const e of part.errors) errors.push(e);
    for (let i = start; i < end; i++) if (bytes[i] === NEWLINE) lines++;
    start = end;
  }
  return { rows, lines: rowLines, errors };
}

function readFile(path: string, format: RowFormat, options: LoadOptions): FileRows {
  switch (format) {
    case "jsonl":
      return readJsonLinesFile(path);
    case "json":
      return readJson(path, options.jsonField);
    case "text":
      return readText(path);
    default:
      return readWithPolars(path, format, options);
  }
}

function columnsOf(rows: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

/** Resolve and check a local source; returns its absolute path and format. */
function localFile(source: string, options: LoadOptions): { path: string; format: RowFormat } {
  const baseDir = options.baseDir ?? Deno.cwd();
  const path = resolve(baseDir, source);
  if (!existsSync(path)) {
    const hint = /^[\w.-]+\/[\w.-]+$/.test(source) && !formatOf(source)
      ? ` To load a Hub dataset, write hf:${source} (with a split).`
      : "";
    throw new Error(
      `Dataset file not found: ${path} (source "${source}", relative to ${baseDir}). ` +
        `Check the path, or create the file (JSONL, CSV, TSV or Parquet).${hint}`,
    );
  }
  if (statSync(path).isDirectory()) {
    throw new Error(
      `Dataset source ${path} is a folder; name one data file in it (e.g. ${source}/train.jsonl).`,
    );
  }
  const format = options.format ?? formatOf(path);
  if (!format) {
    throw new Error(
      `Cannot tell the format of ${path} from its extension "${extname(path)}". Rename it to ` +
        `.jsonl, .json, .csv, .tsv or .parquet, or name its format (\`deno task curate ` +
        `--input-format jsonl\`; in code, loadRows' format option: "jsonl", "json", "csv", "tsv", ` +
        `"parquet" or "text").`,
    );
  }
  return { path, format };
}

/**
 * Load the rows of a dataset source.
 *
 * `source` is a local path (relative to `baseDir`) or `hf:owner/name` (then `split` is required;
 * the files are downloaded to, or read from, the Hugging Face cache; see `lib/hub`).
 * Malformed JSON lines do not abort: they are listed in `errors` with their line numbers. A
 * missing file, an unreadable Parquet/CSV file or a source with no rows throws, naming the file.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { loadRows } from "./load.ts";
 * import { join } from "node:path";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(join(dir, "facts.csv"), "question,answer\nCapital of France?,Paris\n");
 * const { rows, columns } = await loadRows(join(dir, "facts.csv"));
 * deepStrictEqual(columns, ["question", "answer"]);
 * strictEqual(rows[0].answer, "Paris");
 * ```
 */
export async function loadRows(source: string, options: LoadOptions = {}): Promise<LoadedRows> {
  let files: { path: string; format: RowFormat }[];
  if (source.startsWith("hf:")) {
    const repo = source.slice(3).replace(/^datasets\//, "");
    if (!options.split) {
      throw new Error(
        `${source}: a Hub dataset needs a split; pass { split: "train" } (or "validation", "test", …).`,
      );
    }
    const paths = await downloadDatasetFiles(repo, {
      ...options.hub,
      config: options.config,
      split: options.split,
    });
    files = paths.map((path) => {
      const format = formatOf(path);
      if (!format) {
        throw new Error(
          `${source}: cannot read ${path} (unknown file type); use a local export instead.`,
        );
      }
      return { path, format };
    });
  } else {
    files = [localFile(source, options)];
  }

  const rows: Record<string, unknown>[] = [];
  let origins: RowOrigin[] | undefined = [];
  const errors: RowError[] = [];
  let columns: string[] | undefined;
  for (const f of files) {
    const got = readFile(f.path, f.format, options);
    for (const r of got.rows) rows.push(r);
    const unit = got.unit ?? "line";
    if (got.lines && origins) {
      for (const line of got.lines) origins.push({ file: f.path, line, unit });
    } else origins = undefined;
    errors.push(...got.errors);
    if (got.columns && got.rows.length) columns ??= got.columns;
  }
  if (!rows.length) {
    const where = files.length === 1
      ? files[0].path
      : `${files.length} files (${files.map((f) => basename(f.path)).join(", ")})`;
    const bad = errors.length
      ? ` ${errors.length} line(s) could not be read; first: ${errors[0].message}.`
      : "";
    throw new Error(
      `Dataset "${source}" is empty: no rows in ${where}.${bad} Fill it, or point the task at another source.`,
    );
  }
  const seen = columnsOf(rows);
  const cols = columns ? [...columns, ...seen.filter((c) => !columns!.includes(c))] : seen;
  return {
    source,
    rows,
    ...(origins ? { origins } : {}),
    errors,
    columns: cols,
    files: files.map((f) => f.path),
  };
}

/**
 * Throw unless every column in `needed` is present, naming the missing ones and those present.
 * `context` says who needs them (a task name, a config field) and starts the message.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { requireColumns, type LoadedRows } from "./load.ts";
 * const loaded: LoadedRows = { source: "qa.jsonl", rows: [{ q: "?", a: "!" }], errors: [], columns: ["q", "a"] };
 * requireColumns(loaded, ["q", "a"], "task qa"); // fine
 * throws(
 *   () => requireColumns(loaded, ["question"], "task qa"),
 *   /^Error: task qa: qa\.jsonl lacks column "question"; it has "q", "a"\. Rename/,
 * );
 * ```
 */
export function requireColumns(loaded: LoadedRows, needed: string[], context: string): void {
  const present = loaded.columns.length ? loaded.columns : columnsOf(loaded.rows);
  const missing = needed.filter((c) => !present.includes(c));
  if (!missing.length) return;
  throw new Error(
    `${context}: ${loaded.source} lacks column${missing.length > 1 ? "s" : ""} ${
      missing.map((c) => `"${c}"`).join(", ")
    }; it has ${present.length ? present.map((c) => `"${c}"`).join(", ") : "no columns"}. ` +
      `Rename the columns in the data or map them in the task definition.`,
  );
}
