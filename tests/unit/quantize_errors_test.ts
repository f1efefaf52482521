/**
 * `deno task quantize` output errors (issue 10, "Curate, quantize, serve"): an `--out-dir` that is
 * a file, and a read-only output folder, are one clear line naming the folder (exit 2) — the
 * read-only case used to be reported as llama.cpp failing on the input model.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quantizeModel } from "../../lib/gguf/quantize.ts";
import { OutputDirError } from "../../lib/util/output_dir.ts";
import { readOnlyDir } from "./_read_only_dir.ts";

const CLI = new URL("../../lib/cli/quantize.ts", import.meta.url).pathname;
const TINY = new URL("../../data/models/tiny/tiny-f32.gguf", import.meta.url).pathname;

async function quantize(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, TINY, "--type", "q8_0", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stderr: dec.decode(out.stderr) };
}

Deno.test("quantize: an --out-dir that is a file is one clear line, exit 2", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "tunebook-q-")), "taken");
  writeFileSync(file, "mine");
  const r = await quantize("--out-dir", file);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    `quantize: --out-dir ${file}: is a file, not a folder; give a folder (it is created if missing)`,
  );
  assert.equal(readFileSync(file, "utf8"), "mine");
});

Deno.test("quantize: a read-only output folder names the folder, not the input model", async (t) => {
  const ro = await readOnlyDir();
  if ("reason" in ro) {
    await t.step({ name: `skipped: ${ro.reason}`, ignore: true, fn: () => {} });
    return;
  }
  const what = ro.code === "EROFS" ? "is on a read-only file system" : "cannot be written";
  try {
    const r = await quantize("--out-dir", ro.dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^quantize: --out-dir ${ro.dir}: ${what}`));
    assert.doesNotMatch(r.stderr, /could not quantize|tiny-f32/);
    const o = await quantize("--out", join(ro.dir, "x.gguf"));
    assert.match(o.stderr, new RegExp(`^quantize: the folder of --out ${ro.dir}: ${what}`));
    // The library says the same to a notebook.
    await assert.rejects(
      quantizeModel(TINY, "q8_0", { outDir: join(ro.dir, "models") }),
      (e: Error) => e instanceof OutputDirError && e.message.includes(what),
    );
  } finally {
    await ro.dispose();
  }
});
