/**
 * Validation of where a task's rows come from: `dataset_path`, `dataset_name`, `dataset_kwargs`
 * and the split names, in the shapes lm-evaluation-harness task files use:
 *
 * - `hf:owner/name` (tunebook's spelling) or a bare Hub id, `owner/name` or a canonical name
 *   such as `piqa` (lm-eval's), read through the Hugging Face cache (lib/hub);
 * - a local file or folder, relative to the task file that sets `dataset_path`;
 * - one of `datasets`' local builders, `json`, `csv`, `parquet` or `text`, with
 *   `dataset_kwargs: {data_files: …}` (a path, a list, or a mapping of split to paths; globs
 *   allowed), paths relative to the file that sets `dataset_kwargs`, else to the working folder.
 *
 * `dataset_kwargs` may also hold the csv builder's `sep`/`delimiter`, `quoting` (3: none),
 * `quotechar`, `column_names`/`names`, `header`, the json builder's `field`, `revision` for the
 * Hub, and `trust_remote_code` (accepted; tunebook never runs dataset loading scripts).
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { cwd } from "node:process";
import { describe, displayPath } from "./_format.ts";
import type { FileStamps } from "./_file_stamps.ts";
import {
  type Checker,
  isPlainObject,
  optionalString,
  requireString,
  unknownKeyMessage,
} from "./_checker.ts";
import {
  DATASET_BUILDERS,
  DATASET_KWARGS_KEYS,
  type DatasetBuilder,
  type DatasetReadOptions,
  type TaskDataset,
  type TaskSplits,
} from "./schema.ts";

type Data = Record<string, unknown>;

/** Where a split's files are looked for, when the path is relative. */
const GLOB = /[*?[]/;

/** `dataset_path`, `dataset_name`, `dataset_kwargs` and the split names. */
export function validateDataset(
  check: Checker,
  data: Data,
  stamps: FileStamps,
): { dataset?: TaskDataset; splits: TaskSplits } {
  const datasetPath = requireString(check, data, "dataset_path", "dataset_path: ../synthetic/qa");
  const datasetName = optionalString(check, data, "dataset_name");
  const splits = validateSplits(check, data);
  if (datasetPath === undefined) return { splits };
  const owner = check.ownerOf("dataset_path");
  const dataset = resolveDataset(datasetPath, dirname(owner.file), stamps, datasetName);
  const kwargs = validateKwargs(check, data, dataset, stamps);
  Object.assign(dataset, kwargs);
  if (dataset.kind === "builder") {
    if (!dataset.dataFiles) {
      check.at(
        ["dataset_path"],
        `"${datasetPath}" reads local files; name them in dataset_kwargs.data_files ` +
          `(e.g. dataset_kwargs: {data_files: {test: data/test.jsonl}})`,
      );
    } else {
      for (const [role, key] of SPLIT_KEYS) {
        const name = splits[role];
        if (name !== undefined && !Object.hasOwn(dataset.dataFiles, name)) {
          check.at(
            [key],
            `split "${name}" is not in dataset_kwargs.data_files (it has ${
              Object.keys(dataset.dataFiles).map((s) => `"${s}"`).join(", ")
            }; a single path or a list is the "train" split, as in datasets)`,
          );
        }
      }
    }
  }
  if (dataset.kind === "local" && !stamps.exists(dataset.source)) {
    check.at(
      ["dataset_path"],
      `local dataset ${displayPath(dataset.source)} not found; paths are relative to ${
        displayPath(dataset.baseDir)
      } (use hf:owner/name for a Hugging Face dataset)`,
    );
  }
  return { dataset, splits };
}

const SPLIT_KEYS = [
  ["train", "training_split"],
  ["validation", "validation_split"],
  ["test", "test_split"],
  ["fewshot", "fewshot_split"],
] as const;

function validateSplits(check: Checker, data: Data): TaskSplits {
  const splits: TaskSplits = {};
  for (const [role, key] of SPLIT_KEYS) {
    const value = optionalString(check, data, key);
    if (value !== undefined) splits[role] = value;
  }
  if (splits.test === undefined && splits.validation === undefined) {
    if (data.test_split === undefined && data.validation_split === undefined) {
      check.missing("test_split", "test_split: test (or validation_split: validation)");
    } else {
      check.at(
        [data.test_split !== undefined ? "test_split" : "validation_split"],
        "no split to evaluate on; set test_split or validation_split to a split name",
      );
    }
  }
  return splits;
}

/**
 * `hf:owner/name` is a Hugging Face dataset; `json`, `csv`, `parquet` and `text` are local
 * builders; `./`, `../` and absolute paths are local; a bare `owner/name` or `name` (lm-eval's
 * spelling) is local when it exists next to the task file, else the Hub.
 */
function resolveDataset(
  path: string,
  baseDir: string,
  stamps: FileStamps,
  config?: string,
): TaskDataset {
  const withConfig = config !== undefined ? { config } : {};
  if (path.startsWith("hf:")) return { path, source: path, kind: "hub", baseDir, ...withConfig };
  const local = resolve(baseDir, path);
  if (Object.hasOwn(DATASET_BUILDERS, path) && !stamps.exists(local)) {
    return { path, source: path, kind: "builder", builder: path as DatasetBuilder, baseDir };
  }
  const explicitLocal = path.startsWith("./") || path.startsWith("../") || isAbsolute(path);
  if (!explicitLocal && /^(?:[\w.-]+\/)?[\w.-]+$/.test(path) && !stamps.exists(local)) {
    return { path, source: `hf:${path}`, kind: "hub", baseDir, ...withConfig };
  }
  return { path, source: local, kind: "local", baseDir, ...withConfig };
}

/** `dataset_kwargs`: known keys of the right types, data files for builders. */
function validateKwargs(
  check: Checker,
  data: Data,
  dataset: TaskDataset,
  stamps: FileStamps,
): Partial<TaskDataset> {
  const raw = data.dataset_kwargs;
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) {
    check.at(
      ["dataset_kwargs"],
      `expected a mapping, got ${
        describe(raw)
      }; write e.g. dataset_kwargs: {data_files: {test: test.jsonl}}`,
    );
    return {};
  }
  const out: Partial<TaskDataset> = {};
  const read: DatasetReadOptions = {};
  const path = (key: string) => ["dataset_kwargs", key];
  for (const key of Object.keys(raw)) {
    if (!(DATASET_KWARGS_KEYS as readonly string[]).includes(key)) {
      check.at(
        path(key),
        `${unknownKeyMessage(key, DATASET_KWARGS_KEYS)}; tunebook reads the data itself and ` +
          `passes no other arguments to a loader`,
        true,
      );
    }
  }
  const baseDir = dirname(check.ownerOf("dataset_kwargs").file);
  if (raw.data_files !== undefined) {
    if (dataset.kind === "hub") {
      check.at(
        path("data_files"),
        `data_files of a Hub dataset are not supported; download the files and use ` +
          `dataset_path: json (or csv, parquet) with local data_files`,
      );
    } else if (dataset.kind === "local") {
      check.at(
        path("data_files"),
        `data_files needs dataset_path to be a builder (json, csv, parquet, text), not a path`,
      );
    } else {
      const files = dataFiles(check, raw.data_files, baseDir, stamps);
      if (files) out.dataFiles = files;
    }
  }
  if (raw.revision !== undefined) {
    if (typeof raw.revision === "string" && raw.revision) out.revision = raw.revision;
    else {check.at(
        path("revision"),
        `expected a branch, tag or commit, got ${describe(raw.revision)}`,
      );}
  }
  if (raw.trust_remote_code !== undefined && typeof raw.trust_remote_code !== "boolean") {
    check.at(
      path("trust_remote_code"),
      `expected true or false, got ${describe(raw.trust_remote_code)}`,
    );
  }
  for (const key of ["sep", "delimiter"] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v === "string" && v.length === 1) read.sep = v;
    else check.at(path(key), `expected one character (e.g. "\\t"), got ${describe(v)}`);
  }
  if (raw.quoting !== undefined) {
    if (raw.quoting === 3) read.noQuoting = true;
    else if (raw.quoting !== 0) {
      check.at(
        path("quoting"),
        `expected 0 (csv.QUOTE_MINIMAL) or 3 (csv.QUOTE_NONE), got ${describe(raw.quoting)}`,
      );
    }
  }
  if (raw.quotechar !== undefined) {
    if (typeof raw.quotechar === "string" && raw.quotechar.length === 1) {
      read.quoteChar = raw.quotechar;
    } else check.at(path("quotechar"), `expected one character, got ${describe(raw.quotechar)}`);
  }
  for (const key of ["column_names", "names"] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length && v.every((x) => typeof x === "string")) {
      read.columnNames = v as string[];
      read.hasHeader ??= false;
    } else check.at(path(key), `expected a list of column names, got ${describe(v)}`);
  }
  if (raw.header !== undefined) {
    if (raw.header === null) read.hasHeader = false;
    else if (raw.header === 0) read.hasHeader = true;
    else {check.at(
        path("header"),
        `expected 0 (first line) or null (no header), got ${describe(raw.header)}`,
      );}
  }
  if (raw.field !== undefined) {
    if (typeof raw.field === "string" && raw.field) read.field = raw.field;
    else {check.at(
        path("field"),
        `expected the name of the key holding the rows, got ${describe(raw.field)}`,
      );}
  }
  if (Object.keys(read).length) out.read = read;
  return out;
}

/** `data_files` as split → absolute paths (a path or a list is the `train` split). */
function dataFiles(
  check: Checker,
  raw: unknown,
  baseDir: string,
  stamps: FileStamps,
): Record<string, string[]> | undefined {
  const list = (v: unknown): string[] | undefined =>
    typeof v === "string"
      ? [v]
      : Array.isArray(v) && v.length && v.every((x) => typeof x === "string")
      ? v as string[]
      : undefined;
  let bySplit: Record<string, string[]> | undefined;
  if (isPlainObject(raw)) {
    bySplit = {};
    for (const [split, v] of Object.entries(raw)) {
      const files = list(v);
      if (!files) {
        check.at(
          ["dataset_kwargs", "data_files", split],
          `expected a path or a list of paths, got ${describe(v)}`,
        );
        continue;
      }
      bySplit[split] = files;
    }
  } else {
    const files = list(raw);
    if (files) bySplit = { train: files };
    else {
      check.at(
        ["dataset_kwargs", "data_files"],
        `expected a path, a list of paths, or a mapping of split to paths; got ${describe(raw)}`,
      );
      return undefined;
    }
  }
  const out: Record<string, string[]> = {};
  for (const [split, files] of Object.entries(bySplit)) {
    out[split] = files.map((f, i) => {
      if (isAbsolute(f)) return f;
      const nearFile = resolve(baseDir, f);
      if (GLOB.test(f) || stamps.exists(nearFile)) return nearFile;
      const inCwd = resolve(cwd(), f);
      if (stamps.exists(inCwd)) return inCwd;
      check.at(
        isPlainObject(raw)
          ? [
            "dataset_kwargs",
            "data_files",
            split,
            ...(typeof (raw as Data)[split] === "string" ? [] : [i]),
          ]
          : ["dataset_kwargs", "data_files", ...(typeof raw === "string" ? [] : [i])],
        `data file ${f} not found (looked in ${displayPath(baseDir)} and in the working folder ${
          displayPath(cwd())
        })`,
      );
      return nearFile;
    });
  }
  return out;
}
