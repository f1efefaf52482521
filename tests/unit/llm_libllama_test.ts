/**
 * How tunebook's libllama binding (lib/llm/_libllama_path.ts) locates the library: node-llama-cpp's
 * prebuilt package names per platform, library file names, this machine's copy, and a
 * `TUNEBOOK_LIBLLAMA` override that points nowhere.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import {
  findLibllama,
  isLibllamaFile,
  LIBLLAMA_ENV,
  libllamaRelease,
  prebuiltPackageName,
} from "../../lib/llm/_libllama_path.ts";

Deno.test("prebuilt libllama: package names per platform, file names, and this machine's copy", () => {
  assert.equal(prebuiltPackageName("linux", "x86_64"), "linux-x64");
  assert.equal(prebuiltPackageName("linux", "aarch64"), "linux-arm64");
  assert.equal(prebuiltPackageName("darwin", "aarch64"), "mac-arm64-metal");
  assert.equal(prebuiltPackageName("darwin", "x86_64"), "mac-x64");
  assert.equal(prebuiltPackageName("windows", "x86_64"), "win-x64");
  assert.equal(prebuiltPackageName("freebsd", "x86_64"), undefined);
  assert.ok(isLibllamaFile("libllama.v0.4.0.so", "linux"));
  assert.ok(isLibllamaFile("libllama.so", "linux"));
  assert.ok(!isLibllamaFile("libllama-common.so", "linux"));
  assert.ok(!isLibllamaFile("llama-addon.node", "linux"));
  assert.ok(isLibllamaFile("libllama.dylib", "darwin"));
  assert.ok(isLibllamaFile("llama.dll", "windows"));
  if (prebuiltPackageName() !== undefined && Deno.env.get(LIBLLAMA_ENV) === undefined) {
    const lib = findLibllama();
    assert.ok(existsSync(lib) && isLibllamaFile(basename(lib)), lib);
    assert.match(lib, new RegExp(`@node-llama-cpp/${prebuiltPackageName()}/bins/`));
    // node-llama-cpp's build metadata next to it names the llama.cpp release
    assert.match(libllamaRelease(lib) ?? "", /^(v\d+\.\d+\.\d+|b\d+)$/);
  }
});

Deno.test(`${LIBLLAMA_ENV} pointing nowhere is reported`, () => {
  const before = Deno.env.get(LIBLLAMA_ENV);
  Deno.env.set(LIBLLAMA_ENV, "/nonexistent/libllama.so");
  try {
    assert.throws(
      () => findLibllama(),
      /TUNEBOOK_LIBLLAMA=\/nonexistent\/libllama\.so: no such file/,
    );
  } finally {
    if (before === undefined) Deno.env.delete(LIBLLAMA_ENV);
    else Deno.env.set(LIBLLAMA_ENV, before);
  }
});

Deno.test("libllamaRelease: undefined for a library outside node-llama-cpp's prebuilt folders", () => {
  const dir = Deno.makeTempDirSync();
  try {
    assert.equal(libllamaRelease(`${dir}/libllama.so`), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
