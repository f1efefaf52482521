/**
 * A local Hugging Face hub cache for tests, in the layout Python's `huggingface_hub` writes and
 * lib/hub reads: `datasets--owner--name/blobs/<sha256>`, `snapshots/<commit>/<path>` as relative
 * symlinks to the blobs, and `refs/<revision>` holding the commit. Datasets go in as rows and are
 * written as Parquet (with nodejs-polars), either as a repo's own files on `main` or as the Hub's
 * Parquet conversion on `refs/convert/parquet` (`<config>/<split>/0000.parquet`).
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Buffer } from "node:buffer";
import pl from "nodejs-polars";

/** Rows as Parquet bytes (through JSON Lines, so nested lists and structs keep their values). */
export function parquetBytes(rows: Record<string, unknown>[]): Uint8Array {
  const df = pl.readJSON(Buffer.from(rows.map((r) => JSON.stringify(r)).join("\n")), {
    format: "lines",
  });
  return new Uint8Array(df.writeParquet());
}

/** A fresh, empty cache folder. */
export function newHubCache(): string {
  return mkdtempSync(join(tmpdir(), "tunebook-hf-cache-"));
}

/**
 * Put files of a dataset repo at `revision` into the cache; returns the snapshot folder. `files`
 * maps repo paths to bytes or text.
 */
export function cacheDatasetFiles(
  cacheDir: string,
  repo: string,
  files: Record<string, Uint8Array | string>,
  revision = "main",
): string {
  const storage = join(cacheDir, ["datasets", ...repo.split("/")].join("--"));
  const commit = createHash("sha1").update(`${repo}@${revision}`).digest("hex");
  const snapshot = join(storage, "snapshots", commit);
  mkdirSync(join(storage, "blobs"), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    const blob = join(storage, "blobs", createHash("sha256").update(bytes).digest("hex"));
    writeFileSync(blob, bytes);
    const link = join(snapshot, path);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), blob), link);
  }
  const ref = join(storage, "refs", revision);
  mkdirSync(dirname(ref), { recursive: true });
  writeFileSync(ref, commit);
  return snapshot;
}

/** A dataset split as rows, for {@linkcode cacheParquetSplits}. */
export interface SplitRows {
  /** The config (subset). Default: `default`. */
  config?: string;
  /** The split. */
  split: string;
  /** Its rows. */
  rows: Record<string, unknown>[];
}

/**
 * Put splits of a dataset into the cache as the Hub's Parquet conversion
 * (`refs/convert/parquet`: `<config>/<split>/0000.parquet`), the layout every dataset on the Hub
 * has whatever its own files are.
 */
export function cacheParquetSplits(cacheDir: string, repo: string, splits: SplitRows[]): string {
  const files: Record<string, Uint8Array> = {};
  for (const s of splits) {
    files[`${s.config ?? "default"}/${s.split}/0000.parquet`] = parquetBytes(s.rows);
  }
  return cacheDatasetFiles(cacheDir, repo, files, "refs/convert/parquet");
}

/**
 * Put splits of a dataset into the cache as its own files on `main`, in the layout `push_to_hub`
 * writes (`data/<split>-00000-of-00001.parquet`; `<config>/<split>-…` with a README `configs:`
 * block when a config is named).
 */
export function cacheMainSplits(cacheDir: string, repo: string, splits: SplitRows[]): string {
  const files: Record<string, Uint8Array | string> = {};
  const configs = new Map<string, string[]>();
  for (const s of splits) {
    const dir = s.config ?? "data";
    files[`${dir}/${s.split}-00000-of-00001.parquet`] = parquetBytes(s.rows);
    if (s.config) configs.set(s.config, [...(configs.get(s.config) ?? []), s.split]);
  }
  if (configs.size) {
    const yaml = [...configs].map(([c, ss]) =>
      `- config_name: ${c}\n  data_files:\n${
        ss.map((s) => `  - split: ${s}\n    path: ${c}/${s}-*`).join("\n")
      }`
    ).join("\n");
    files["README.md"] = `---\nconfigs:\n${yaml}\n---\n# ${repo}\n`;
  }
  return cacheDatasetFiles(cacheDir, repo, files, "main");
}
