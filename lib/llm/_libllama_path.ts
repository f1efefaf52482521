/**
 * Private: which libllama file tunebook's FFI binding (lib/llm/_libllama.ts) opens — the prebuilt
 * CPU library node-llama-cpp installs, or the one `TUNEBOOK_LIBLLAMA` names — and the llama.cpp
 * release it was built from. The library's RUNPATH is `$ORIGIN`, so its dependencies (libggml,
 * libggml-base) load from the same folder without `LD_LIBRARY_PATH`.
 *
 * This is the one place that picks the library. Opening the same file node-llama-cpp loads means
 * both share one loaded copy; a GPU build (node-llama-cpp's `@node-llama-cpp/linux-x64-cuda`, in
 * the same layout, when its `getLlama` resolves CUDA) would be chosen here, and the binding would
 * open it unchanged.
 * @module
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Environment variable that points at a libllama to use instead of node-llama-cpp's. */
export const LIBLLAMA_ENV = "TUNEBOOK_LIBLLAMA";

/**
 * The CPU-only prebuilt package node-llama-cpp installs for a platform (`@node-llama-cpp/<name>`),
 * mirroring node-llama-cpp's `getPrebuiltBinariesPackageDirectoryForBuildOptions`; undefined when
 * it ships none. Its binaries live in `bins/<name>/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prebuiltPackageName } from "./_libllama_path.ts";
 * assert.equal(prebuiltPackageName("darwin", "aarch64"), "mac-arm64-metal");
 * assert.equal(prebuiltPackageName("linux", "x86_64"), "linux-x64");
 * assert.equal(prebuiltPackageName("freebsd", "x86_64"), undefined);
 * ```
 */
export function prebuiltPackageName(
  os: string = Deno.build.os,
  arch: string = Deno.build.arch,
): string | undefined {
  const names: Record<string, Record<string, string>> = {
    linux: { x86_64: "linux-x64", aarch64: "linux-arm64", arm: "linux-armv7l" },
    darwin: { aarch64: "mac-arm64-metal", x86_64: "mac-x64" },
    windows: { x86_64: "win-x64", aarch64: "win-arm64" },
  };
  return names[os]?.[arch];
}

/**
 * Whether a file name is the main llama library (not libllama-common, not the addon).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLibllamaFile } from "./_libllama_path.ts";
 * assert.equal(isLibllamaFile("libllama.v0.4.0.so", "linux"), true);
 * assert.equal(isLibllamaFile("libllama-common.so", "linux"), false);
 * ```
 */
export function isLibllamaFile(name: string, os: string = Deno.build.os): boolean {
  if (os === "windows") return /^llama(\.v[\d.]+)?\.dll$/i.test(name);
  if (os === "darwin") return /^libllama(\.v?[\d.]+)*\.dylib$/.test(name);
  return /^libllama(\.v?[\d.]+)*\.so(\.[\d.]+)?$/.test(name);
}

/** node-llama-cpp's package folder (where `import "node-llama-cpp"` resolves). */
export function nodeLlamaCppRoot(): string {
  const url = import.meta.resolve("node-llama-cpp");
  if (!url.startsWith("file:")) {
    throw new Error(
      `node-llama-cpp resolved to ${url}, not a local folder. Run \`deno install\` (or ` +
        "`deno task setup`) so that node_modules/ holds its prebuilt binaries.",
    );
  }
  // .../node_modules/node-llama-cpp/dist/index.js -> .../node_modules/node-llama-cpp
  return dirname(dirname(fileURLToPath(url)));
}

function libraryIn(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const hit = readdirSync(dir).find((n) => isLibllamaFile(n));
  return hit === undefined ? undefined : join(dir, hit);
}

/**
 * Path of node-llama-cpp's prebuilt CPU libllama for this platform. Resolution: the
 * `TUNEBOOK_LIBLLAMA` environment variable; else the `@node-llama-cpp/<platform>` package resolved
 * from node-llama-cpp's own folder (Node resolution, so npm and Deno layouts both work), whose
 * version must equal node-llama-cpp's; else `node_modules/.deno/@node-llama-cpp+<platform>@<version>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync } from "node:fs";
 * import { findLibllama } from "./_libllama_path.ts";
 * const library = findLibllama(); // e.g. …/@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.4.0.so
 * assert.ok(existsSync(library));
 * ```
 */
export function findLibllama(): string {
  const override = Deno.env.get(LIBLLAMA_ENV);
  if (override) {
    if (!existsSync(override)) {
      throw new Error(`${LIBLLAMA_ENV}=${override}: no such file. Unset it or fix the path.`);
    }
    return override;
  }
  const pkg = prebuiltPackageName();
  if (pkg === undefined) {
    throw new Error(
      `node-llama-cpp ships no prebuilt CPU binary for ${Deno.build.os}/${Deno.build.arch}. ` +
        `Build llama.cpp yourself and set ${LIBLLAMA_ENV} to its libllama.`,
    );
  }
  const root = nodeLlamaCppRoot();
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version as string;
  const candidates: string[] = [];
  try {
    const req = createRequire(join(realpathSync(root), "package.json"));
    const entry = req.resolve(`@node-llama-cpp/${pkg}`); // <pkg>/dist/index.js
    candidates.push(dirname(dirname(entry)));
  } catch { /* not resolvable from there: scan below */ }
  // Deno's layout: node_modules/.deno/node-llama-cpp@<v>/node_modules/node-llama-cpp, with each
  // optional platform package in node_modules/.deno/@node-llama-cpp+<pkg>@<v>/.
  const denoDir = resolve(realpathSync(root), "..", "..", "..");
  candidates.push(
    join(denoDir, `@node-llama-cpp+${pkg}@${version}`, "node_modules", "@node-llama-cpp", pkg),
  );
  for (const dir of candidates) {
    let pkgVersion: string | undefined;
    try {
      pkgVersion = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
    } catch { /* missing */ }
    if (pkgVersion !== version) continue;
    const lib = libraryIn(join(dir, "bins", pkg));
    if (lib) return lib;
  }
  throw new Error(
    `no prebuilt libllama found for node-llama-cpp ${version} (looked for @node-llama-cpp/${pkg}` +
      ` in ${candidates.join(", ")}). Run \`deno install\` (or \`deno task setup\`), or set ` +
      `${LIBLLAMA_ENV} to a libllama built from the same llama.cpp release.`,
  );
}

/**
 * The llama.cpp release of a libllama in node-llama-cpp's prebuilt folder (its
 * `_nlcBuildMetadata.json`), e.g. "v0.4.0"; undefined for a library from elsewhere
 * (`TUNEBOOK_LIBLLAMA`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findLibllama, libllamaRelease } from "./_libllama_path.ts";
 * const release = libllamaRelease(findLibllama()); // "v0.4.0" in node-llama-cpp 3.21.1
 * if (!Deno.env.get("TUNEBOOK_LIBLLAMA")) assert.match(release ?? "", /^v\d+\.\d+\.\d+$/);
 * assert.equal(libllamaRelease("/nowhere/libllama.so"), undefined); // not a prebuilt folder
 * ```
 */
export function libllamaRelease(library: string): string | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dirname(library), "_nlcBuildMetadata.json"), "utf8"));
    return meta?.buildOptions?.llamaCpp?.release;
  } catch {
    return undefined; // not node-llama-cpp's prebuilt folder
  }
}
