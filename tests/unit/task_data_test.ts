/**
 * Few-shot sampling and loading a task's splits: deterministic examples per row, every row of
 * the bundled synthetic data renders, rows that fail come back as errors with their numbers.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  evalSplit,
  findTask,
  listTasks,
  loadTaskDocs,
  parseTaskFile,
  type RenderedDoc,
  sampleFewshot,
  splitNameOf,
} from "../../lib/eval/task/mod.ts";
import { errorOf, minimalTask, SYNTHETIC_DIR, taskDir } from "./_task_fixtures.ts";

// --- few-shot sampling ----------------------------------------------------------------------------

function pool(n: number): RenderedDoc[] {
  return Array.from(
    { length: n },
    (_, i) => ({ id: `d${i}`, text: `q${i}`, target: `a${i}`, references: [`a${i}`] }),
  );
}

Deno.test("few-shot sampling is deterministic per (seed, doc) and never includes the doc itself", () => {
  const task = findTask("synth_arithmetic");
  for (const size of [4, 50, 1000]) {
    const docs = pool(size);
    for (const doc of docs.slice(0, 20)) {
      const a = sampleFewshot(task, docs, 3, doc.id);
      const b = sampleFewshot(task, [...docs], 3, doc.id);
      deepStrictEqual(a.map((d) => d.id), b.map((d) => d.id));
      equal(a.length, 3);
      equal(new Set(a.map((d) => d.id)).size, 3);
      ok(!a.some((d) => d.id === doc.id));
    }
  }
  const docs = pool(4);
  // n equal to the other rows: all of them, none of the doc.
  deepStrictEqual(sampleFewshot(task, docs, 3, "d2").map((d) => d.id).sort(), ["d0", "d1", "d3"]);
  match(
    errorOf(() => sampleFewshot(task, docs, 4, "d2")),
    /num_fewshot is 4 but the few-shot pool has only 3 other rows/,
  );
  // Another seed draws differently (over many docs at least one differs).
  const other = { ...task, fewshotSeed: 7 };
  const big = pool(1000);
  ok(
    big.slice(0, 10).some((d) =>
      sampleFewshot(task, big, 3, d.id).map((x) => x.id).join() !==
        sampleFewshot(other, big, 3, d.id).map((x) => x.id).join()
    ),
  );
});

// --- loading the bundled synthetic data ------------------------------------------------------------

Deno.test("synthetic tasks load and render every row of data/synthetic", async () => {
  for (const task of listTasks().filter((t) => t.dataset.kind === "local")) {
    ok(task.dataset.source.startsWith(SYNTHETIC_DIR), task.dataset.source);
    const split = evalSplit(task);
    const { docs, errors } = await loadTaskDocs(task, split);
    deepStrictEqual(errors, [], task.name);
    const lines = readFileSync(join(task.dataset.source, `${task.splits[split]}.jsonl`), "utf8")
      .trim().split("\n");
    equal(docs.length, lines.length, task.name);
    const few = await loadTaskDocs(task, "fewshot", { limit: 5 });
    equal(few.docs.length, 5);
    if (task.outputType === "multiple_choice") {
      ok(docs.every((d) => d.choices && d.gold !== undefined));
    } else {ok(docs.every((d) =>
        d.references.length > 0 && d.references.every((r) => r.trim() !== "")
      ));}
  }
});

Deno.test("loadTaskDocs: rows that fail to render come back as errors with their file line and field", async () => {
  const dir = taskDir({
    // line 2 is not JSON, so the row that lacks "a" is the 2nd row but the file's line 3
    "rows.jsonl": '{"q":"2+2?","a":"4"}\n{"q":\n{"q":"3+3?"}\n{"q":"1+1?","a":"2"}\n',
    "t.yaml": minimalTask(),
  });
  const { docs, errors } = await loadTaskDocs(parseTaskFile(join(dir, "t.yaml")), "test");
  deepStrictEqual(docs.map((d) => d.id), ["test:1", "test:3"]);
  deepStrictEqual(errors.map((e) => [e.row, e.field]), [[2, undefined], [3, "doc_to_target"]]);
  match(errors[0].message, /rows\.jsonl:2: not valid JSON/);
  match(
    errors[1].message,
    /rows\.jsonl:3: task tiny: doc_to_target reads column "a", which this row lacks \(columns: q\)/,
  );
  match(
    errorOf(() => splitNameOf(parseTaskFile(join(dir, "t.yaml")), "validation")),
    /task tiny has no validation split \(validation_split is not set in .*t\.yaml\); use one of: test, or set validation_split/,
  );
});
