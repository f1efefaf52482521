import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import pl from "nodejs-polars";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRows, requireColumns } from "../../lib/data/load.ts";

/** Await `fn`, expect it to reject, check the message holds every `parts`, return the error. */
async function rejects(fn: () => Promise<unknown>, ...parts: string[]): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    for (const p of parts) assert(err.message.includes(p), `expected "${p}" in: ${err.message}`);
    return err;
  }
  throw new Error("expected a rejection");
}

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-load-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A SQuAD-shaped frame with a nested `answers` struct of lists and a `tags` list.
 * (Built with pl.struct: nodejs-polars 0.25 loses struct-of-list values built from JS objects.)
 */
function squadFrame(): pl.DataFrame {
  return pl.DataFrame({
    id: ["q1", "q2"],
    question: ["Who wrote it?", "When?"],
    text: [["Ada", "Ada L."], []],
    answer_start: [[0, 0], []],
    tags: [["a", "b"], []],
  }).select(
    pl.col("id"),
    pl.col("question"),
    pl.struct([pl.col("text"), pl.col("answer_start")]).alias("answers"),
    pl.col("tags"),
  );
}

Deno.test("loadRows: JSONL keeps good rows and reports bad lines by number", async () => {
  using tmp = tempDir();
  writeFileSync(
    join(tmp.dir, "qa.jsonl"),
    '{"q":"a","n":1}\n\n{"q": broken\n{"q":"b","extra":true}\n[1,2]\n',
  );
  const got = await loadRows("qa.jsonl", { baseDir: tmp.dir });
  assertEquals(got.rows, [{ q: "a", n: 1 }, { q: "b", extra: true }]);
  assertEquals(got.columns, ["q", "n", "extra"]);
  assertEquals(got.errors.map((e) => e.row), [3, 5]);
  assertEquals(got.errors[0].raw, '{"q": broken');
  assert(got.errors[0].message.includes("qa.jsonl:3"), got.errors[0].message);
  assert(got.errors[1].message.includes("JSON object"), got.errors[1].message);
  assertEquals(got.files, [join(tmp.dir, "qa.jsonl")]);
});

Deno.test("loadRows: .json holds an array of rows or JSON Lines", async () => {
  using tmp = tempDir();
  writeFileSync(join(tmp.dir, "a.json"), '[{"x":1},{"x":2}]');
  writeFileSync(join(tmp.dir, "b.json"), '{"x":1}\n{"x":2}\n');
  assertEquals((await loadRows("a.json", { baseDir: tmp.dir })).rows, [{ x: 1 }, { x: 2 }]);
  assertEquals((await loadRows("b.json", { baseDir: tmp.dir })).rows, [{ x: 1 }, { x: 2 }]);
});

Deno.test("loadRows: CSV and TSV through polars, quoting and empty cells", async () => {
  using tmp = tempDir();
  writeFileSync(
    join(tmp.dir, "f.csv"),
    'question,answer,score\n"Capital, France?",Paris,1\nTwo?,2,\n',
  );
  writeFileSync(join(tmp.dir, "f.tsv"), "a\tb\nx y\tz\n");
  const csv = await loadRows(join(tmp.dir, "f.csv"));
  assertEquals(csv.columns, ["question", "answer", "score"]);
  assertEquals(csv.rows, [
    { question: "Capital, France?", answer: "Paris", score: 1 },
    { question: "Two?", answer: "2", score: null },
  ]);
  assertEquals((await loadRows("f.tsv", { baseDir: tmp.dir })).rows, [{ a: "x y", b: "z" }]);
});

Deno.test("loadRows: Parquet nested struct/list columns come back as plain objects and arrays", async () => {
  using tmp = tempDir();
  squadFrame().writeParquet(join(tmp.dir, "squad.parquet"));
  const got = await loadRows("squad.parquet", { baseDir: tmp.dir });
  assertEquals(got.columns, ["id", "question", "answers", "tags"]);
  assertEquals(got.rows, [
    {
      id: "q1",
      question: "Who wrote it?",
      answers: { text: ["Ada", "Ada L."], answer_start: [0, 0] },
      tags: ["a", "b"],
    },
    { id: "q2", question: "When?", answers: { text: [], answer_start: [] }, tags: [] },
  ]);
  const answers = got.rows[0].answers as { text: string[] };
  assert(Array.isArray(answers.text));
  assertEquals(JSON.parse(JSON.stringify(got.rows[0])), got.rows[0]); // plain data, round-trips
  assertEquals(got.errors, []);
});

Deno.test("loadRows: format override reads an unknown extension", async () => {
  using tmp = tempDir();
  writeFileSync(join(tmp.dir, "rows.txt"), '{"a":1}\n');
  await rejects(() => loadRows("rows.txt", { baseDir: tmp.dir }), "format");
  assertEquals((await loadRows("rows.txt", { baseDir: tmp.dir, format: "jsonl" })).rows, [{
    a: 1,
  }]);
});

Deno.test("loadRows: empty sources throw naming the source", async () => {
  using tmp = tempDir();
  writeFileSync(join(tmp.dir, "empty.jsonl"), "\n\n");
  writeFileSync(join(tmp.dir, "empty.csv"), "");
  writeFileSync(join(tmp.dir, "header.csv"), "a,b\n");
  writeFileSync(join(tmp.dir, "allbad.jsonl"), "{nope\n");
  for (const f of ["empty.jsonl", "empty.csv", "header.csv"]) {
    await rejects(() => loadRows(f, { baseDir: tmp.dir }), `Dataset "${f}" is empty`);
  }
  await rejects(() => loadRows("allbad.jsonl", { baseDir: tmp.dir }), "is empty", "allbad.jsonl:1");
});

Deno.test("loadRows: missing file names the path and says what to do", async () => {
  using tmp = tempDir();
  await rejects(
    () => loadRows("nope/data.jsonl", { baseDir: tmp.dir }),
    join(tmp.dir, "nope/data.jsonl"),
    "Check the path",
  );
  await rejects(() => loadRows("rajpurkar/squad", { baseDir: tmp.dir }), "hf:rajpurkar/squad");
});

Deno.test("loadRows: corrupt Parquet names the file", async () => {
  using tmp = tempDir();
  const good = squadFrame().writeParquet();
  writeFileSync(join(tmp.dir, "bad.parquet"), good.subarray(0, good.length - 20));
  writeFileSync(join(tmp.dir, "text.parquet"), "not parquet at all");
  for (const f of ["bad.parquet", "text.parquet"]) {
    await rejects(
      () => loadRows(f, { baseDir: tmp.dir }),
      `Cannot read Parquet file ${join(tmp.dir, f)}`,
    );
  }
});

Deno.test("loadRows: hf: sources need a split", async () => {
  await rejects(() => loadRows("hf:tunebook/tiny-qa"), "needs a split");
});

Deno.test("requireColumns: names the missing columns and those present", () => {
  const loaded = { source: "qa.jsonl", rows: [{ q: 1, a: 2 }], errors: [], columns: ["q", "a"] };
  requireColumns(loaded, ["q", "a"], "task qa");
  let message = "";
  try {
    requireColumns(loaded, ["question", "a", "id"], "task qa");
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(
    message,
    'task qa: qa.jsonl lacks columns "question", "id"; it has "q", "a". ' +
      "Rename the columns in the data or map them in the task definition.",
  );
});

Deno.test("loadRows: each row's origin is its line in the file (after bad and blank lines, across quoted CSV newlines)", async () => {
  using tmp = tempDir();
  const jsonl = join(tmp.dir, "a.jsonl");
  writeFileSync(jsonl, '{"q":1}\n{bad\n\n{"q":2}\n[1]\n{"q":3}\n');
  const j = await loadRows(jsonl);
  assertEquals(j.origins?.map((o) => [o.line, o.unit]), [[1, "line"], [4, "line"], [6, "line"]]);
  const csv = join(tmp.dir, "a.csv");
  writeFileSync(csv, 'q,a\n1,"two\nlines"\n\n2,x\n"3 ""quoted""",y\n');
  const c = await loadRows(csv);
  assertEquals(c.rows.length, 4, "polars reads the blank line as a row of nulls");
  assertEquals(c.origins?.map((o) => o.line), [2, 4, 5, 6]);
  const arr = join(tmp.dir, "a.json");
  writeFileSync(arr, '[{"q":1}, 5, {"q":2}]');
  assertEquals((await loadRows(arr)).origins?.map((o) => [o.line, o.unit]), [[1, "element"], [
    3,
    "element",
  ]]);
  const pq = join(tmp.dir, "a.parquet");
  pl.DataFrame({ q: [1, 2] }).writeParquet(pq);
  assertEquals((await loadRows(pq)).origins?.map((o) => [o.line, o.unit]), [[1, "row"], [
    2,
    "row",
  ]]);
});
