/**
 * The llama.cpp release node-llama-cpp bundles — the one tunebook's runtime, exporter (gguf-py)
 * and quantizer are pinned to: its GitHub repo and tag (node-llama-cpp's
 * `llama/llama.cpp.info.json`), and a fingerprint of its source (SHA-256 of a few files of the
 * extracted copy in .cache/llama.cpp) that a clone elsewhere, e.g. in the Colab notebook, is
 * checked against. node-llama-cpp clones the tag as it is, so the files match upstream's.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { bundledLlamaCpp } from "./llama_cpp_source.ts";
 * const pin = bundledLlamaCpp();
 * assert.equal(pin.repo, "ggml-org/llama.cpp");
 * assert.equal(Object.keys(pin.fingerprint).length, 3);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { nodeLlamaCppRoot } from "./_libllama_path.ts";

/**
 * Files whose SHA-256 identifies the source: the C API whose struct layouts tunebook's bindings
 * declare, gguf-py's constants (tensor names, types), and the quantizer.
 */
export const LLAMA_CPP_FINGERPRINT_FILES: readonly string[] = [
  "include/llama.h",
  "gguf-py/gguf/constants.py",
  "src/llama-quant.cpp",
];

/** Options for {@linkcode bundledLlamaCpp}. */
export interface BundledLlamaCppOptions {
  /** The extracted source. Default: env `TUNEBOOK_LLAMA_CPP`, else `.cache/llama.cpp` of the repo. */
  sourceDir?: string;
}

/** The pinned llama.cpp: where it comes from and how to recognise it. */
export interface BundledLlamaCpp {
  /** GitHub owner/name, e.g. "ggml-org/llama.cpp". */
  repo: string;
  /** The release tag node-llama-cpp cloned. */
  tag: string;
  /** Absolute path of the extracted source. */
  sourceDir: string;
  /** Path (relative to the source) → SHA-256, for {@linkcode LLAMA_CPP_FINGERPRINT_FILES}. */
  fingerprint: Record<string, string>;
}

/**
 * The llama.cpp release node-llama-cpp bundles, with the fingerprint of its extracted source.
 * Throws, saying to run `deno task setup`, when the source is not extracted.
 */
export function bundledLlamaCpp(options: BundledLlamaCppOptions = {}): BundledLlamaCpp {
  const sourceDir = resolve(
    options.sourceDir ?? Deno.env.get("TUNEBOOK_LLAMA_CPP") ??
      join(import.meta.dirname ?? ".", "..", "..", ".cache", "llama.cpp"),
  );
  const info = JSON.parse(
    readFileSync(join(nodeLlamaCppRoot(), "llama", "llama.cpp.info.json"), "utf8"),
  ) as { tag: string; llamaCppGithubRepo: string };
  const fingerprint: Record<string, string> = {};
  for (const file of LLAMA_CPP_FINGERPRINT_FILES) {
    const path = join(sourceDir, file);
    if (!existsSync(path)) {
      throw new Error(
        `${path}: not found — llama.cpp's source is not extracted; run \`deno task setup\``,
      );
    }
    fingerprint[file] = createHash("sha256").update(readFileSync(path)).digest("hex");
  }
  return { repo: info.llamaCppGithubRepo, tag: info.tag, sourceDir, fingerprint };
}
