/**
 * `deno task curate` error cases (issue 10, "Curate, quantize, serve"): an `--out` that is a file
 * or on a read-only disk, an input file without an extension (the hint names a flag that exists:
 * `--input-format`), and reject messages that name file lines, not row numbers (a malformed or
 * blank line before a row, a CSV field spanning lines).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { readOnlyDir } from "./_read_only_dir.ts";

const CLI = new URL("../../lib/cli/curate.ts", import.meta.url).pathname;

async function curate(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--model", "none", "--against", "none", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function rowsFile(name = "rows.jsonl"): string {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-curate-err-"));
  const path = join(dir, name);
  const row = (i: number) =>
    JSON.stringify({
      instruction: `Explain topic number ${i} in a few words`,
      output: `Topic ${i}`,
    });
  writeFileSync(path, [row(1), row(2), row(3)].join("\n") + "\n");
  return path;
}

Deno.test("curate: an --out that is a file is one clear line, exit 2", async () => {
  const input = rowsFile();
  const file = join(mkdtempSync(join(tmpdir(), "tunebook-outfile-")), "taken");
  writeFileSync(file, "mine");
  const r = await curate("--input", input, "--out", file);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    `curate: --out ${file}: is a file, not a folder; give a folder (it is created if missing)`,
  );
  assert.equal(readFileSync(file, "utf8"), "mine", "the file is left alone");
});

Deno.test("curate: an --out on a read-only disk says so (and names --out), before any work", async (t) => {
  const ro = await readOnlyDir();
  if ("reason" in ro) {
    // Cannot make a read-only folder on this machine: nothing to test against.
    await t.step({ name: `skipped: ${ro.reason}`, ignore: true, fn: () => {} });
    return;
  }
  try {
    const r = await curate("--input", rowsFile(), "--out", join(ro.dir, "curated"));
    assert.equal(r.code, 2);
    const what = ro.code === "EROFS"
      ? "is on a read-only file system; write to a folder on a writable disk"
      : "cannot be written \\(permission denied\\)";
    assert.match(r.stderr, new RegExp(`^curate: --out .*curated: ${what}`));
    assert.doesNotMatch(r.stderr, /EROFS|EACCES|at /);
  } finally {
    await ro.dispose();
  }
});

Deno.test("curate: a file without an extension: the hint names --input-format, which reads it", async () => {
  const input = rowsFile("rows");
  const out = mkdtempSync(join(tmpdir(), "tunebook-noext-"));
  const r = await curate("--input", input, "--out", out);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Cannot tell the format of .*rows from its extension ""/);
  assert.match(r.stderr, /deno task curate --input-format jsonl/);
  const ok = await curate("--input", input, "--out", out, "--input-format", "jsonl");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /read 3 rows; kept 3/);
});

Deno.test("curate: reject reasons name the file's line, also after a bad or blank line and in CSV", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-lines-"));
  const long = (i: number) => `Explain topic number ${i} in a few words please`;
  const jsonl = join(dir, "rows.jsonl");
  writeFileSync(
    jsonl,
    [
      JSON.stringify({ instruction: long(1), output: "One" }), // line 1
      '{"instruction": "cut', //                                   line 2: malformed
      "", //                                                       line 3: blank
      JSON.stringify({ instruction: "", output: "x" }), //          line 4: empty prompt
      JSON.stringify({ instruction: long(1), output: "One" }), //   line 5: duplicate of line 1
    ].join("\n") + "\n",
  );
  const out = join(dir, "out");
  const r = await curate("--input", jsonl, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  const reasons = readJsonl<{ rule: string; reason: string }>(join(out, "rejects.jsonl"))
    .map((x) => `${x.rule}: ${x.reason.replace(/ \(kept.*$/, "")}`);
  assert.deepEqual(reasons.map((x) => x.replace(/\/.*\//, "")), [
    "malformed: rows.jsonl:2: not valid JSON (Unterminated string in JSON at position 20 (line 1 column 21)); fix or remove that line",
    "empty: rows.jsonl:4: the prompt is empty",
    "exact_dup: rows.jsonl:5: same prompt as rows.jsonl:1",
  ]);

  const csv = join(dir, "rows.csv");
  writeFileSync(
    csv,
    `instruction,output\n"${long(1)}","a reply\nover two lines"\n"",x\n${
      long(1)
    },"a reply\nover two lines"\n`,
  );
  const out2 = join(dir, "out2");
  const c = await curate("--input", csv, "--out", out2);
  assert.equal(c.code, 0, c.stderr);
  const csvReasons = readJsonl<{ reason: string }>(join(out2, "rejects.jsonl")).map((x) =>
    x.reason
  );
  assert.deepEqual(csvReasons.map((x) => x.replace(/ \(kept.*$/, "")), [
    "rows.csv:4: the prompt is empty",
    "rows.csv:5: same prompt as rows.csv:2",
  ]);
});
