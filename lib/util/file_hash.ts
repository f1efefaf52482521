/**
 * A file's SHA-256, cached by path, size and modification time so that large model files are
 * hashed once: what results, cards and notebooks use to say which file they were made from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { fileSha256 } from "./file_hash.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(join(dir, "a.txt"), "abc");
 * const digest = await fileSha256(join(dir, "a.txt"), join(dir, "hashes.json"));
 * assert.equal(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Where {@linkcode fileSha256} keeps its hashes when no cache file is given. */
export const DEFAULT_HASH_CACHE = ".cache/hashes.json";

/**
 * SHA-256 of a file (hex), cached in `cacheFile` by path, size and mtime so large GGUFs are hashed
 * once. A cache that cannot be read or written only costs a re-hash.
 *
 * @example
 * ```ts ignore
 * import { fileSha256 } from "./file_hash.ts";
 * console.log(await fileSha256("data/models/tiny/tiny-f32.gguf"));
 * ```
 */
export async function fileSha256(path: string, cacheFile = DEFAULT_HASH_CACHE): Promise<string> {
  const st = statSync(path);
  const key = `${resolve(path)}|${st.size}|${st.mtimeMs}`;
  let cache: Record<string, string> = {};
  try {
    cache = JSON.parse(readFileSync(cacheFile, "utf8"));
  } catch { /* no cache yet */ }
  if (cache[key]) return cache[key];
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  const digest = hash.digest("hex");
  cache[key] = digest;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(cache));
  } catch { /* a read-only cache folder only costs a re-hash */ }
  return digest;
}
