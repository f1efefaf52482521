/**
 * Private: finds node-llama-cpp's prebuilt libllama and opens it with Deno FFI, exposing the
 * few C functions quantization needs. The library's RUNPATH is `$ORIGIN`, so its dependencies
 * (libggml, libggml-base) load from the same folder without `LD_LIBRARY_PATH`.
 *
 * The layout of `struct llama_model_quantize_params` below is taken from `include/llama.h` of the
 * llama.cpp source node-llama-cpp bundles (`.cache/llama.cpp`, the same release as the binary) and
 * checked at run time against `llama_model_quantize_default_params()`.
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
 * import { prebuiltPackageName } from "./_ffi.ts";
 * console.log(prebuiltPackageName("darwin", "aarch64")); // "mac-arm64-metal"
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
 * import { isLibllamaFile } from "./_ffi.ts";
 * console.log(isLibllamaFile("libllama.v0.4.0.so", "linux"), isLibllamaFile("libllama-common.so", "linux"));
 * ```
 */
export function isLibllamaFile(name: string, os: string = Deno.build.os): boolean {
  if (os === "windows") return /^llama(\.v[\d.]+)?\.dll$/i.test(name);
  if (os === "darwin") return /^libllama(\.v?[\d.]+)*\.dylib$/.test(name);
  return /^libllama(\.v?[\d.]+)*\.so(\.[\d.]+)?$/.test(name);
}

function nodeLlamaCppRoot(): string {
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
 * ```ts ignore
 * import { findLibllama } from "./_ffi.ts";
 * console.log(findLibllama()); // .../@node-llama-cpp/linux-x64/bins/linux-x64/libllama.v0.4.0.so
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
 * `struct llama_model_quantize_params` (llama.h), x86-64/aarch64 C layout: byte offsets of the
 * fields tunebook sets, and the struct's size.
 */
export const QUANTIZE_PARAMS = {
  /** int32_t nthread */
  nthread: 0,
  /** enum llama_ftype ftype */
  ftype: 4,
  /** bool allow_requantize */
  allowRequantize: 16,
  /** bool quantize_output_tensor */
  quantizeOutputTensor: 17,
  /** size of the struct: 4 × int32, 6 bools (+2 padding), 4 pointers, size_t */
  size: 64,
} as const;

/** The struct as Deno FFI describes it (libffi computes the same C padding). */
const QUANTIZE_PARAMS_STRUCT = {
  struct: [
    "i32", // nthread
    "i32", // ftype
    "i32", // output_tensor_type
    "i32", // token_embedding_type
    "u8", // allow_requantize
    "u8", // quantize_output_tensor
    "u8", // only_copy
    "u8", // pure
    "u8", // keep_split
    "u8", // dry_run
    "pointer", // imatrix
    "pointer", // kv_overrides
    "pointer", // tt_overrides
    "pointer", // prune_layers
    "usize", // max_buf_size
  ],
} as const;

const SYMBOLS = {
  llama_backend_init: { parameters: [], result: "void" },
  llama_model_quantize_default_params: { parameters: [], result: QUANTIZE_PARAMS_STRUCT },
  llama_model_quantize: {
    parameters: ["buffer", "buffer", "buffer"],
    result: "u32",
    nonblocking: true,
  },
  llama_log_get: { parameters: ["buffer", "buffer"], result: "void" },
  llama_log_set: { parameters: ["pointer", "pointer"], result: "void" },
} as const;

/** The opened library. */
export type Libllama = Deno.DynamicLibrary<typeof SYMBOLS>;

/** `ggml_log_callback`: void (*)(enum ggml_log_level level, const char * text, void * user_data). */
export const LOG_CALLBACK = {
  parameters: ["i32", "pointer", "pointer"],
  result: "void",
} as const;

/** ggml_log_level values (ggml.h). */
export const LOG_LEVEL = { debug: 1, info: 2, warn: 3, error: 4, cont: 5 } as const;

let opened: { path: string; lib: Libllama } | undefined;

/**
 * Open libllama once per process (never closed: node-llama-cpp shares the same loaded copy) and
 * initialise its backend.
 *
 * @example
 * ```ts ignore
 * import { openLibllama } from "./_ffi.ts";
 * const { lib } = openLibllama();
 * console.log(lib.symbols.llama_model_quantize_default_params().byteLength); // 64
 * ```
 */
export function openLibllama(): { path: string; lib: Libllama } {
  if (opened) return opened;
  const path = findLibllama();
  let lib: Libllama;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    throw new Error(
      `${path}: could not load libllama (${(e as Error).message}). Reinstall node-llama-cpp ` +
        `(\`deno install\`), or set ${LIBLLAMA_ENV} to a working libllama.`,
    );
  }
  lib.symbols.llama_backend_init();
  const defaults = lib.symbols.llama_model_quantize_default_params();
  if (defaults.byteLength !== QUANTIZE_PARAMS.size) {
    lib.close();
    throw new Error(
      `${path}: llama_model_quantize_params is ${defaults.byteLength} bytes, expected ` +
        `${QUANTIZE_PARAMS.size}; this libllama is from another llama.cpp release than ` +
        `lib/gguf/_ffi.ts was written for. Update QUANTIZE_PARAMS from its llama.h.`,
    );
  }
  opened = { path, lib };
  return opened;
}
