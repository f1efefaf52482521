/**
 * llama.cpp's own gguf-py (the bundled source's `gguf-py`, not tunebook's parsers) as the reference
 * reader of the GGUF files tests write: run a Python script that imports `gguf` and print its JSON.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";

const PYTHON = Deno.env.get("TUNEBOOK_PYTHON") ?? "/usr/bin/python3";
/** The gguf-py package folder of the bundled llama.cpp source. */
export const GGUF_PY = resolve(
  Deno.env.get("TUNEBOOK_LLAMA_CPP") ?? ".cache/llama.cpp",
  "gguf-py",
);

/**
 * Run `script` (Python; `sys.argv[1]` is gguf-py's folder, then `args`) and parse what it prints
 * as JSON; a failed script fails the test with its stderr.
 */
export async function ggufPyJson<T>(script: string, args: string[]): Promise<T> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", script, GGUF_PY, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
}
