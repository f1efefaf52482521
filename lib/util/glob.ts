/**
 * File globs as the `datasets` library writes them (`*` within a folder, `**` across folders,
 * `?`, `[abc]`, `[!abc]`): matching paths, and listing the files a glob names on disk.
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { join, parse, sep } from "node:path";

/**
 * Translate a glob to a RegExp over `/`-separated paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { globToRegExp } from "./glob.ts";
 * assert.ok(globToRegExp("data/**").test("data/a/b.csv"));
 * assert.ok(!globToRegExp("data/*").test("data/a/b.csv"));
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // `**/` may match no folder at all; `**` elsewhere matches anything.
        if (glob[i + 2] === "/") {
          re += "(?:.*/)?";
          i += 2;
        } else {
          re += ".*";
          i += 1;
        }
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        re += "[" + (body.startsWith("!") ? "^" + body.slice(1) : body) + "]";
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp("^" + re + "$");
}

/** Whether a path has glob characters. */
export function isGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/**
 * The files an absolute glob names, sorted; a path without glob characters is returned as is
 * when it exists, else nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { globFiles } from "./glob.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(join(dir, "a"));
 * for (const f of ["a/x-1.jsonl", "a/x-2.jsonl", "a/y.csv"]) Deno.writeTextFileSync(join(dir, f), "");
 * assert.deepEqual(globFiles(join(dir, "a", "x-*.jsonl")).map((f) => f.slice(dir.length + 1)), [
 *   "a/x-1.jsonl",
 *   "a/x-2.jsonl",
 * ]);
 * ```
 */
export function globFiles(pattern: string): string[] {
  if (!isGlob(pattern)) return isFile(pattern) ? [pattern] : [];
  const parts = pattern.split(sep);
  const fixed = parts.findIndex(isGlob);
  const root = parts.slice(0, fixed).join(sep) || parse(pattern).root;
  const rest = parts.slice(fixed).join("/");
  const re = globToRegExp(rest);
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      let st;
      try {
        st = statSync(full);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(full, r);
      else if (re.test(r)) out.push(full);
    }
  };
  walk(root, "");
  return out.sort();
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
