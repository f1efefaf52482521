/**
 * What one parse of a task file looked at on disk — the files it read (by modification time and
 * size) and the paths whose existence it checked — so that the registry can tell whether a
 * cached parse still holds without reading anything again. Private to the task module.
 * @module
 */
import { readFileSync, statSync } from "node:fs";

/** How a path was used: its content read, or only whether it exists (and as what). */
type Use = "read" | "exists";

/** One path a parse depended on, and what it was when looked at. */
interface Stamp {
  path: string;
  use: Use;
  value: string;
}

/** The dependencies of one parse, recorded as it reads and probes files. */
export class FileStamps {
  #stamps = new Map<string, Stamp>();

  /** Read a text file, recording its stamp (taken before the read, so a racing edit is seen next time). */
  readText(path: string): string {
    this.#record(path, "read");
    return readFileSync(path, "utf8");
  }

  /** Whether `path` exists (file or folder), recorded. */
  exists(path: string): boolean {
    return this.#record(path, "exists") !== "missing";
  }

  /** Whether `path` is an existing file, recorded. */
  isFile(path: string): boolean {
    return this.#record(path, "exists") === "file";
  }

  /** Whether `path` is an existing folder, recorded. */
  isDirectory(path: string): boolean {
    return this.#record(path, "exists") === "dir";
  }

  /** Whether every recorded path is as it was: same content stamp, same existence. */
  fresh(): boolean {
    for (const s of this.#stamps.values()) {
      if (stampOf(s.path, s.use) !== s.value) return false;
    }
    return true;
  }

  #record(path: string, use: Use): string {
    const value = stampOf(path, use);
    // The first look wins: it is what the parse acted on.
    const key = `${use}\0${path}`;
    if (!this.#stamps.has(key)) this.#stamps.set(key, { path, use, value });
    return value;
  }
}

/** `mtime:size` of a file read, or `file` / `dir` / `missing` for an existence check. */
function stampOf(path: string, use: Use): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    return "missing";
  }
  if (use === "exists") return st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
  return `${st.mtimeMs}:${st.size}`;
}
