/**
 * Private: reading and writing the standard Hugging Face hub cache, the layout that Python's
 * `huggingface_hub` and `@huggingface/hub` share:
 *
 * ```
 * <cache>/datasets--owner--name/
 *   blobs/<etag>                        file contents, named by git or LFS hash
 *   refs/main                           the commit a revision pointed to when last resolved
 *   refs/refs/convert/parquet           (a revision containing "/" nests)
 *   snapshots/<commit>/<path in repo>   symlinks into blobs/
 * ```
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** A 40-hex-digit git commit id. */
export const COMMIT_RE = /^[0-9a-f]{40}$/;

/** The cache folder of a repo: `datasets--owner--name`, `models--owner--name`. */
export function repoFolderName(type: "model" | "dataset", repo: string): string {
  return [`${type}s`, ...repo.split("/")].join("--");
}

/** Record that `revision` resolved to `commit` (nothing to record when it is a commit). */
export function writeRef(storage: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const path = join(storage, "refs", revision);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, commit);
}

/** The commit `revision` last resolved to, from `refs/`; undefined when never resolved. */
export function readRef(storage: string, revision: string): string | undefined {
  if (COMMIT_RE.test(revision)) return revision;
  const path = join(storage, "refs", revision);
  if (!existsSync(path)) return undefined;
  const commit = readFileSync(path, "utf8").trim();
  return COMMIT_RE.test(commit) ? commit : undefined;
}

/** Repo-relative paths of the files cached for one commit (dangling links skipped). */
export function snapshotFiles(storage: string, commit: string): string[] {
  const root = join(storage, "snapshots", commit);
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      let isDir: boolean;
      try {
        isDir = statSync(join(root, child)).isDirectory(); // follows the symlink to the blob
      } catch {
        continue; // dangling link: its blob was deleted
      }
      if (isDir) walk(child);
      else if (!name.endsWith(".incomplete")) out.push(child);
    }
  };
  walk("");
  return out.sort();
}
