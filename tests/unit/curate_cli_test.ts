/**
 * `deno task curate` end to end (without a model: `--model none`): a dataset with planted
 * exact duplicates, a near duplicate, a benchmark leak, an empty row and a malformed JSON line
 * loses exactly those rows, each in rejects.jsonl with its own fields, rule and match; kept rows
 * keep every field; bad input (missing column, unreadable Parquet, empty file) fails with exit
 * status 2 and a message that names the problem; `hf:` sources load through the Hub client.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { readJsonl } from "../../lib/data/jsonl.ts";
import { loadRows } from "../../lib/data/load.ts";
import { enc, sha1, startFakeHub } from "./_fake_hub.ts";

const CLI = new URL("../../lib/cli/curate.ts", import.meta.url).pathname;

async function curate(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-curate-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An instruction of `n` words that no other row shares. */
function instruction(i: number, n = 60): string {
  return Array.from({ length: n }, (_, k) => `t${i}w${k}`).join(" ");
}

/** A qa test context from the bundled synth_qa task: a benchmark leak when copied. */
function qaContext(): string {
  const first = readFileSync("data/synthetic/qa/test.jsonl", "utf8").split("\n")[0];
  return JSON.parse(first).context;
}

Deno.test("curate CLI: planted problems are removed, reported and nothing else is", async () => {
  using tmp = tempDir();
  const rows: Record<string, unknown>[] = Array.from({ length: 40 }, (_, i) => ({
    id: i % 2 ? `row-${i}` : i, // ids of both types must survive untouched
    instruction: instruction(i),
    output: `answer ${i}`,
    label: i % 2 ? "odd" : "even",
  }));
  rows.push({ id: "exact", instruction: instruction(3).toUpperCase(), output: "x", label: "odd" });
  const near = instruction(5).split(" ");
  near[30] = "changed";
  rows.push({ id: "near", instruction: near.join(" "), output: "y", label: "odd" });
  rows.push({ id: "leak", instruction: `Read this: ${qaContext()}`, output: "ok", label: "even" });
  rows.push({ id: "empty", instruction: "Say hello politely", output: "  ", label: "even" });
  const lines = rows.map((r) => JSON.stringify(r));
  lines.splice(10, 0, '{"id": "broken", "instruction": ');
  const input = join(tmp.dir, "data.jsonl");
  writeFileSync(input, lines.join("\n") + "\n");
  const out = join(tmp.dir, "out");

  const run = await curate(["--input", input, "--out", out, "--model", "none", "--seed", "7"]);
  assertEquals(run.code, 0, run.stderr);
  const rejects = readJsonl(join(out, "rejects.jsonl"));
  const byId = new Map(rejects.map((r) => [String(r.id ?? "line"), r]));
  assertEquals(rejects.map((r) => r.rule).sort(), [
    "contaminated",
    "empty",
    "exact_dup",
    "malformed",
    "near_dup",
  ]);
  const malformed = rejects.find((r) => r.rule === "malformed")!;
  assertEquals([malformed.line, malformed.raw], [11, '{"id": "broken", "instruction": ']);
  assert(String(malformed.reason).includes(":11:"), String(malformed.reason));
  const exact = byId.get("exact")!;
  assertEquals(exact.output, "x"); // the row's own fields are there
  assertEquals((exact.matched as { row: { id: unknown } }).row.id, "row-3");
  const nearDup = byId.get("near")!.matched as { row: { id: unknown }; jaccard: number };
  assertEquals(nearDup.row.id, "row-5");
  assert(nearDup.jaccard >= 0.8 && nearDup.jaccard < 1);
  const leak = byId.get("leak")!.matched as { benchmark: string; id: string };
  assertEquals([leak.benchmark, leak.id], ["synth_qa", "qa-0"]);
  assertEquals(byId.get("empty")!.rule, "empty");

  const kept = ["train", "validation", "test"].flatMap((s) => readJsonl(join(out, `${s}.jsonl`)));
  assertEquals(kept.length, 40);
  const original = new Map(rows.slice(0, 40).map((r) => [JSON.stringify(r.id), r]));
  for (const r of kept) assertEquals(r, original.get(JSON.stringify(r.id)));
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  assertEquals(summary.rows, { read: 45, kept: 40, removed: 5 });
  assertEquals(summary.splits.stratifiedBy, "label");
  assertEquals(summary.format, null);
  assert(existsSync(join(out, "plots", "rules.svg")));
  assert(readFileSync(join(out, "plots", "lengths_characters.svg"), "utf8").startsWith("<svg"));
  assert(!existsSync(join(out, "formatted")));
  assert(run.stdout.includes("near_dup      1"), run.stdout);

  // same input, same seed: byte-identical outputs (the report's timings aside)
  const again = join(tmp.dir, "again");
  assertEquals(
    (await curate(["--input", input, "--out", again, "--model", "none", "--seed", "7"])).code,
    0,
  );
  for (const f of ["train.jsonl", "validation.jsonl", "test.jsonl", "rejects.jsonl"]) {
    assertEquals(readFileSync(join(again, f), "utf8"), readFileSync(join(out, f), "utf8"), f);
  }
});

Deno.test("curate CLI: --against a file of texts, and none", async () => {
  using tmp = tempDir();
  const bench = join(tmp.dir, "bench.jsonl");
  const secret = "the seventh moon of the outer giant is made of ice and dust and very old rock";
  writeFileSync(bench, JSON.stringify({ id: "b1", text: secret }) + "\n");
  const input = join(tmp.dir, "in.jsonl");
  writeFileSync(
    input,
    [
      { text: `Fun fact: ${secret}.` },
      { text: "An honest sentence about something else entirely." },
    ].map((r) => JSON.stringify(r)).join("\n"),
  );
  const out = join(tmp.dir, "out");
  const run = await curate(["--input", input, "--out", out, "--model", "none", "--against", bench]);
  assertEquals(run.code, 0, run.stderr);
  const rejects = readJsonl(join(out, "rejects.jsonl"));
  assertEquals(rejects.map((r) => [r.rule, (r.matched as { benchmark: string }).benchmark]), [
    ["contaminated", "bench"],
  ]);
  const off = await curate([
    "--input",
    input,
    "--out",
    out,
    "--model",
    "none",
    "--against",
    "none",
  ]);
  assertEquals(off.code, 0, off.stderr);
  assertEquals(readJsonl(join(out, "rejects.jsonl")).length, 0);
});

Deno.test("curate CLI: bad input fails with status 2 and says what and where", async () => {
  using tmp = tempDir();
  const out = join(tmp.dir, "out");
  const csv = join(tmp.dir, "qa.csv");
  writeFileSync(csv, "question,reply\nWhat is up?,The sky\n");
  const missing = await curate([
    "--input",
    csv,
    "--out",
    out,
    "--model",
    "none",
    "--output-col",
    "answer",
  ]);
  assertEquals(missing.code, 2);
  assert(/lacks column "answer".*"question", "reply"/.test(missing.stderr), missing.stderr);

  const parquet = join(tmp.dir, "broken.parquet");
  writeFileSync(parquet, "PAR1 this is not really parquet");
  const bad = await curate(["--input", parquet, "--out", out, "--model", "none"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes(`Cannot read Parquet file ${parquet}`), bad.stderr);

  const empty = join(tmp.dir, "empty.jsonl");
  writeFileSync(empty, "\n");
  const none = await curate(["--input", empty, "--out", out, "--model", "none"]);
  assertEquals(none.code, 2);
  assert(none.stderr.includes("is empty"), none.stderr);

  const args = await curate(["--input", csv]);
  assertEquals(args.code, 2);
  assert(args.stderr.includes("--input and --out are required"), args.stderr);
  const threshold = await curate(["--input", csv, "--out", out, "--near-dup-threshold", "high"]);
  assertEquals(threshold.code, 2);
  assert(threshold.stderr.includes("--near-dup-threshold must be a number"), threshold.stderr);
});

Deno.test("curate CLI: an hf: dataset is read through the Hub client and its cache", async () => {
  using tmp = tempDir();
  const frame = pl.DataFrame({
    id: ["h1", "h2", "h3"],
    instruction: ["Name a fruit please", "name a  fruit please", "Name a vegetable please"],
    output: ["apple", "a ripe pear", "leek"],
  });
  const hub = startFakeHub({
    "tunebook/fruit": {
      type: "dataset",
      branches: {
        main: {
          sha: sha1("fruit main"),
          files: { "README.md": { bytes: enc.encode("# f\n"), lfs: false } },
        },
        "refs/convert/parquet": {
          sha: sha1("fruit parquet"),
          files: {
            "default/train/0000.parquet": {
              bytes: new Uint8Array(frame.writeParquet()),
              lfs: true,
            },
          },
        },
      },
    },
  });
  try {
    const out = join(tmp.dir, "out");
    const run = await curate(
      ["--input", "hf:tunebook/fruit", "--out", out, "--model", "none", "--against", "none"],
      { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(tmp.dir, "cache"), HF_TOKEN: "" },
    );
    assertEquals(run.code, 0, run.stderr);
    const rejects = readJsonl(join(out, "rejects.jsonl"));
    assertEquals(rejects.map((r) => [r.id, r.rule]), [["h1", "exact_dup"]]);
    assert(existsSync(join(tmp.dir, "cache", "datasets--tunebook--fruit")));
  } finally {
    await hub.stop();
  }
});

Deno.test("loading: a JSONL file larger than one decoding chunk keeps exact line numbers", async () => {
  using tmp = tempDir();
  const path = join(tmp.dir, "big.jsonl");
  const pad = "x".repeat(1000);
  // ~1 kB a line: 67,000 lines pass the 64 MiB chunk, which ends near line 66,250
  const lines = Array.from({ length: 67_000 }, (_, i) => JSON.stringify({ id: i, text: pad }));
  const bad = 66_800;
  lines[bad - 1] = '{"id": "cut off';
  writeFileSync(path, lines.join("\n") + "\n");
  const loaded = await loadRows(path);
  assertEquals(loaded.rows.length, 66_999);
  assertEquals(loaded.errors.map((e) => e.row), [bad]);
  assert(loaded.errors[0].message.startsWith(`${path}:${bad}:`), loaded.errors[0].message);
  assertEquals(loaded.rows[bad - 1].id, bad); // the row after the bad line is the next id
});
