/**
 * Private: which files of a Hub dataset repo hold a given config/split.
 *
 * Two layouts are understood, both pure functions of a file listing:
 *
 * 1. The repo's own data files (branch `main`), located the way the `datasets` library does it:
 *    the `configs:` block of the README's YAML header when there is one
 *    (`data_files: [{split, path}]`, globs allowed); otherwise the sharded push_to_hub pattern
 *    `data/<split>-00000-of-00001.parquet`; otherwise split keywords in folder names
 *    (`train/…`, `data/dev_set/…`), then in file names (`train.jsonl`, `my-test.csv`); otherwise
 *    every data file is the `train` split.
 * 2. The Hub's automatic Parquet conversion (branch `refs/convert/parquet`):
 *    `<config>/<split>/0000.parquet`, `<config>/partial-<split>/…` for datasets converted only in
 *    part, and the older `<config>/<name>-<split>[-00000-of-00002].parquet`.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { globToRegExp } from "../util/glob.ts";

export { globToRegExp };

/** File extensions `loadRows` can read; other files are never picked as data. */
export const DATA_EXTENSIONS = [".parquet", ".jsonl", ".ndjson", ".json", ".csv", ".tsv"];

/** The split keywords of the `datasets` library (a split is found by any of its words). */
const SPLIT_KEYWORDS: Record<string, string[]> = {
  train: ["train", "training"],
  validation: ["validation", "valid", "dev", "val"],
  test: ["test", "testing", "eval", "evaluation"],
};
/** Characters that separate words in file and folder names (as in `datasets`). */
const SEP = "[-._ 0-9]";
/** Files `datasets` never treats as data, whatever their extension. */
const IGNORED_FILES = new Set([
  "README.md",
  "config.json",
  "dataset_info.json",
  "dataset_infos.json",
  "dataset_dict.json",
]);
/** `data/<split>-00000-of-00001<anything>.<ext>`: the layout `push_to_hub` writes. */
const SHARDED = /^data\/([^/]+)-\d{5}-of-\d{5}[^/]*\.[^/]+$/;

/** Where a split was found, or what exists instead. */
export interface SplitMatch {
  /** Repo-relative paths of the split's files, sorted; empty when not found. */
  files: string[];
  /** The config/split pairs that do exist, for error messages (`"default/test"`). */
  available: string[];
}

/** One config of a README `configs:` block, normalised to split → glob patterns. */
interface ReadmeConfig {
  name: string;
  isDefault: boolean;
  dataDir?: string;
  splits?: Record<string, string[]>;
}

function isDataFile(path: string): boolean {
  const parts = path.split("/");
  const base = parts[parts.length - 1];
  if (IGNORED_FILES.has(base)) return false;
  if (parts.some((p) => p.startsWith(".") || p.startsWith("__"))) return false;
  const lower = base.toLowerCase();
  return DATA_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Split names in the order `datasets` lists them: train, validation, test, then the rest. */
function orderSplits(names: Iterable<string>): string[] {
  const set = new Set(names);
  const known = ["train", "validation", "test"].filter((s) => set.has(s));
  return [...known, ...[...set].filter((s) => !known.includes(s)).sort()];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Does `keyword` appear as a word in a folder name of `path` (not its file name)? */
function keywordInDir(path: string, keyword: string): boolean {
  const re = new RegExp(`^(?:.*${SEP})?${escapeRe(keyword)}(?:${SEP}.*)?$`);
  return path.split("/").slice(0, -1).some((dir) => re.test(dir));
}

/** Does `keyword` appear as a word, followed by a separator, in the file name of `path`? */
function keywordInName(path: string, keyword: string): boolean {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return new RegExp(`^(?:.*${SEP})?${escapeRe(keyword)}${SEP}`).test(base);
}

/** Split → files by the `datasets` default patterns (no README configs). */
function defaultSplits(files: string[]): Record<string, string[]> {
  const sharded: Record<string, string[]> = {};
  for (const f of files) {
    const m = SHARDED.exec(f);
    if (m) (sharded[m[1]] ??= []).push(f);
  }
  if (Object.keys(sharded).length) return sharded;
  for (const test of [keywordInDir, keywordInName]) {
    const found: Record<string, string[]> = {};
    for (const [split, words] of Object.entries(SPLIT_KEYWORDS)) {
      const hits = files.filter((f) => words.some((w) => test(f, w)));
      if (hits.length) found[split] = hits;
    }
    if (Object.keys(found).length) return found;
  }
  return files.length ? { train: files } : {};
}

/** Read the `configs:` block of a dataset card's YAML header; undefined when there is none. */
export function readmeConfigs(readme: string | undefined): ReadmeConfig[] | undefined {
  if (!readme) return undefined;
  const m = /^---\r?\n([\s\S]*?)\r?\n---\s*(?:\r?\n|$)/.exec(readme);
  if (!m) return undefined;
  let header: unknown;
  try {
    header = parseYaml(m[1]);
  } catch {
    return undefined; // a card with a broken header still has its data files
  }
  const configs = (header as { configs?: unknown } | null)?.configs;
  if (!Array.isArray(configs) || !configs.length) return undefined;
  const out: ReadmeConfig[] = [];
  for (const c of configs) {
    if (!c || typeof c !== "object") continue;
    const rec = c as Record<string, unknown>;
    const config: ReadmeConfig = {
      name: String(rec.config_name ?? "default"),
      isDefault: rec.default === true,
      dataDir: typeof rec.data_dir === "string" ? rec.data_dir.replace(/\/+$/, "") : undefined,
    };
    const df = rec.data_files;
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : [String(v)]);
    if (typeof df === "string") config.splits = { train: [df] };
    else if (Array.isArray(df)) {
      if (df.some((x) => x && typeof x === "object")) {
        config.splits = {};
        for (const x of df as { split?: unknown; path?: unknown }[]) {
          if (x && x.split !== undefined && x.path !== undefined) {
            config.splits[String(x.split)] = list(x.path);
          }
        }
      } else config.splits = { train: df.map(String) };
    } else if (df && typeof df === "object") {
      config.splits = {};
      for (const [k, v] of Object.entries(df)) config.splits[k] = list(v);
    }
    out.push(config);
  }
  return out.length ? out : undefined;
}

/**
 * Locate a split among the repo's own files (branch `main`).
 * `config` undefined means the card's default config (or the only one).
 */
export function locateRepoSplit(
  paths: string[],
  readme: string | undefined,
  config: string | undefined,
  split: string,
): SplitMatch {
  const files = paths.filter(isDataFile).sort();
  const configs = readmeConfigs(readme);
  if (!configs) {
    const splits = defaultSplits(files);
    const names = orderSplits(Object.keys(splits));
    const available = names.map((s) => `default/${s}`);
    if (config !== undefined && config !== "default") return { files: [], available };
    return { files: (splits[split] ?? []).sort(), available };
  }
  const available: string[] = [];
  const resolved = new Map<string, Record<string, string[]>>();
  for (const c of configs) {
    const inDir = c.dataDir ? files.filter((f) => f.startsWith(c.dataDir + "/")) : files;
    let splits: Record<string, string[]>;
    if (c.splits) {
      splits = {};
      for (const [s, globs] of Object.entries(c.splits)) {
        const res = globs.map((g) => globToRegExp(c.dataDir ? `${c.dataDir}/${g}` : g));
        splits[s] = inDir.filter((f) => res.some((re) => re.test(f)));
      }
    } else {
      // no data_files: the default patterns, inside data_dir when one is given
      const prefix = c.dataDir ? c.dataDir + "/" : "";
      const rel = defaultSplits(inDir.map((f) => f.slice(prefix.length)));
      splits = {};
      for (const [s, fs] of Object.entries(rel)) splits[s] = fs.map((f) => prefix + f);
    }
    resolved.set(c.name, splits);
    for (const s of orderSplits(Object.keys(splits))) {
      if (splits[s].length) available.push(`${c.name}/${s}`);
    }
  }
  const chosen = config ??
    (configs.find((c) => c.isDefault) ?? configs.find((c) => c.name === "default") ??
      (configs.length === 1 ? configs[0] : undefined))?.name;
  const splits = chosen === undefined ? undefined : resolved.get(chosen);
  return { files: (splits?.[split] ?? []).sort(), available };
}

/**
 * Locate a split in the Hub's Parquet conversion (branch `refs/convert/parquet`).
 * `config` undefined means `default`, or the only config there is.
 */
export function locateParquetSplit(
  paths: string[],
  config: string | undefined,
  split: string,
): SplitMatch {
  const parquet = paths.filter((p) => p.endsWith(".parquet")).sort();
  const byConfig = new Map<string, Map<string, string[]>>();
  const add = (c: string, s: string, f: string) => {
    const splits = byConfig.get(c) ?? new Map<string, string[]>();
    byConfig.set(c, splits);
    splits.set(s, [...(splits.get(s) ?? []), f]);
  };
  for (const p of parquet) {
    const parts = p.split("/");
    if (parts.length === 3) add(parts[0], parts[1], p); // <config>/<split>/0000.parquet
    else if (parts.length === 2) {
      // older layout: <config>/<dataset>-<split>[-00000-of-00002].parquet
      const stem = parts[1].replace(/\.parquet$/, "").replace(/-\d{5}-of-\d{5}$/, "");
      const dash = stem.lastIndexOf("-");
      if (dash > 0) add(parts[0], stem.slice(dash + 1), p);
    }
  }
  const available: string[] = [];
  for (const [c, splits] of byConfig) {
    for (const s of orderSplits(splits.keys())) available.push(`${c}/${s}`);
  }
  const chosen = config ??
    (byConfig.has("default")
      ? "default"
      : byConfig.size === 1
      ? [...byConfig.keys()][0]
      : undefined);
  const splits = chosen === undefined ? undefined : byConfig.get(chosen);
  const files = splits?.get(split) ?? splits?.get(`partial-${split}`) ?? [];
  return { files: [...files].sort(), available };
}
