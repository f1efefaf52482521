/**
 * Tiny random-weight GGUF models of real architectures around the real vocabularies bundled with
 * llama.cpp's source (`.cache/llama.cpp/models/ggml-vocab-*.gguf`), written by
 * python/tunebook/random_model.py. Never committed: each is written once into a cache folder under
 * the system temp dir, named by a hash of the writer, the vocabulary file and the settings, so the
 * test files of one run (and later runs) share it and a changed writer or setting makes a new one.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** llama.cpp's vocabulary files (and their `.inp`/`.out` tokenizer test vectors). */
export const VOCAB_DIR = resolve(".cache/llama.cpp/models");
/** llama.cpp's collection of real chat templates. */
export const TEMPLATE_DIR = resolve(".cache/llama.cpp/models/templates");
const WRITER = resolve("python/tunebook/random_model.py");
const PYTHON = Deno.env.get("TUNEBOOK_PYTHON") ?? "/usr/bin/python3";
const CACHE = join(tmpdir(), "tunebook-random-models");

/** The vocabulary file of `name` (e.g. "qwen2" → ggml-vocab-qwen2.gguf). */
export function vocabFile(name: string): string {
  return join(VOCAB_DIR, `ggml-vocab-${name}.gguf`);
}

/** What random model to write. */
export interface RandomModelSpec {
  /** Vocabulary name (ggml-vocab-NAME.gguf). */
  vocab: string;
  /** llama.cpp architecture (see random_model.py). */
  arch: string;
  /** Extra random_model.py arguments (e.g. ["--set", "tokenizer.ggml.add_bos_token=false"]). */
  args?: string[];
  /** Folder the model is cached in. Default: `tunebook-random-models` under the system temp dir. */
  cacheDir?: string;
  /** File name stem (the cache key is appended). Default: `<vocab>-<arch>`. */
  name?: string;
}

/** The path of the random model for `spec`, written first when the cache does not hold it. */
export async function randomModel(spec: RandomModelSpec): Promise<string> {
  const vocab = vocabFile(spec.vocab);
  const st = statSync(vocab);
  const args = ["--arch", spec.arch, ...(spec.args ?? [])];
  const key = createHash("sha256")
    .update(readFileSync(WRITER))
    .update(JSON.stringify({ vocab, size: st.size, mtime: st.mtimeMs, args }))
    .digest("hex")
    .slice(0, 16);
  const cache = spec.cacheDir ?? CACHE;
  mkdirSync(cache, { recursive: true });
  const out = join(cache, `${spec.name ?? `${spec.vocab}-${spec.arch}`}-${key}.gguf`);
  if (existsSync(out)) return out;
  // Written under a temporary name and renamed, so an interrupted write is never taken as done.
  const partial = `${out}.partial`;
  await runTunebookModule("random_model", [vocab, partial, ...args], `${spec.vocab}/${spec.arch}`);
  renameSync(partial, out);
  return out;
}

/** llama.cpp's tokenizer test vectors of a vocabulary: [text, expected token ids]. */
export function tokenizerVectors(name: string): [string, number[]][] {
  const inp = readFileSync(vocabFile(name) + ".inp", "utf8");
  const out = readFileSync(vocabFile(name) + ".out", "utf8").split("\n");
  const sep = "\n__ggml_vocab_test__\n";
  const texts: string[] = [];
  let pos = 0;
  while (pos < inp.length) {
    const next = inp.indexOf(sep, pos);
    if (next < 0) {
      texts.push(inp.slice(pos));
      break;
    }
    texts.push(inp.slice(pos, next));
    pos = next + sep.length;
  }
  if (out.at(-1) === "") out.pop();
  if (texts.length !== out.length) {
    throw new Error(`${name}: ${texts.length} inputs but ${out.length} outputs`);
  }
  return texts.map((
    t,
    i,
  ) => [t, out[i].trim() === "" ? [] : out[i].trim().split(/\s+/).map(Number)]);
}

/**
 * Run `python -m tunebook.<module> args…` from python/ (Debian's python3, or TUNEBOOK_PYTHON);
 * throws with its stderr, naming `what` it was writing, when it fails.
 */
export async function runTunebookModule(
  module: string,
  args: readonly string[],
  what: string,
): Promise<void> {
  const r = await new Deno.Command(PYTHON, {
    args: ["-m", `tunebook.${module}`, ...args],
    cwd: resolve("python"),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `${module}.py failed for ${what} (run \`deno task setup\` for gguf-py and numpy): ${
        new TextDecoder().decode(r.stderr)
      }`,
    );
  }
}
