/**
 * The viewer's data and HTTP API without a browser (lib/view): runs read defensively, the
 * sample index (filters, paging through 100k items reading only the page, a file that grows),
 * word differences, the compare view's fixed/broken items equal to McNemar's b and c, the live
 * event stream, the static export's data files, and `deno task view`'s usage errors. The page
 * itself is driven in headless Chromium in view_browser_test.ts.
 */
import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { changedItems, compareRuns } from "../../lib/eval/compare.ts";
import {
  exportViewer,
  handleRequest,
  listRuns,
  ResultsStore,
  SampleIndex,
  startViewer,
} from "../../lib/view/mod.ts";
import { wordDiff } from "../../lib/view/page/query.js";
import { makeResults, writeBigRun } from "./_view_fixture.ts";

const VIEW_CLI = fileURLToPath(new URL("../../lib/cli/view.ts", import.meta.url));
const RESAMPLES = 200;

function withRoot(fn: (root: string) => void | Promise<void>, big?: number) {
  return async () => {
    const root = makeResults(Deno.makeTempDirSync({ prefix: "tunebook-view-" }), {
      bigItems: big,
    });
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

async function get(store: ResultsStore, path: string) {
  const res = await handleRequest(store, new Request(`http://127.0.0.1${path}`));
  return { status: res.status, body: await res.json() };
}

Deno.test(
  "runs index: model, adapters, quantization, tasks, date, headline scores; bad files listed",
  withRoot((root) => {
    mkdirSync(join(root, "eval", "broken"));
    writeFileSync(join(root, "eval", "broken", "results.json"), '{"run": "broken", ');
    mkdirSync(join(root, "eval", "running"));
    writeFileSync(join(root, "eval", "running", "samples.jsonl"), "");
    const runs = listRuns(root);
    const byId = Object.fromEntries(runs.eval.map((r) => [r.id, r]));
    assert.deepEqual(Object.keys(byId).sort(), [
      "base",
      "broken",
      "running",
      "tuned",
      "tuned-q4_k_m",
    ]);
    const base = byId.base;
    assert.equal(base.model, "base.gguf");
    assert.deepEqual(base.adapters, [{ name: "lora-qa.gguf", scale: 0.5 }]);
    assert.equal(byId["tuned-q4_k_m"].quantization, "Q4_K_M");
    assert.deepEqual(base.tasks, ["synth_arithmetic", "synth_facts", "synth_qa"]);
    assert.equal(base.created, "2026-11-23T01:00:00.000Z");
    assert.deepEqual(base.scores.map((s) => [s.task, s.metric, s.estimate?.value]), [
      ["synth_arithmetic", "exact_match", 0.35],
      ["synth_facts", "acc", 0.325],
      ["synth_qa", "em", 0.325],
    ]);
    assert.match(byId.broken.error!, /results\.json: not valid JSON/);
    assert.equal(byId.running.error, undefined); // not finished yet is not an error
    assert.equal(byId.running.complete, false);
    writeFileSync(join(root, "eval", "running", "run.lock"), "{}");
    assert.equal(listRuns(root).eval.find((r) => r.id === "running")?.running, true);
    assert.equal(base.running, false);
    assert.deepEqual(runs.train.map((r) => [r.id, r.status, r.step, r.steps, r.base]), [
      ["tiny", "done", 30, 30, "tiny"],
    ]);
  }),
);

Deno.test(
  "run page: metrics with CIs, by length, skipped items, row errors, verdict counts",
  withRoot(async (root) => {
    const store = new ResultsStore(root);
    const { status, body } = await get(store, "/api/eval/base");
    assert.equal(status, 200);
    const qa = body.tasks.find((t: { task: string }) => t.task === "synth_qa");
    assert.deepEqual(qa.metrics.map((m: { name: string }) => m.name), ["em", "f1"]);
    assert.deepEqual(qa.metrics[0].ci, [0.200845, 0.479823]);
    assert.equal(qa.byLength.length, 4);
    assert.deepEqual(qa.skipped, { too_long: 1 });
    assert.deepEqual(qa.rowErrors, [{ row: 17, message: "doc_to_text: 'context' is undefined" }]);
    assert.deepEqual(qa.counts, { right: 13, wrong: 27, skipped: 1 });
    assert.equal(qa.verdictMetric, "em");
    assert.equal(body.samples.total, 121);
    assert.deepEqual(body.info.identity, {
      fingerprint: "abc123",
      note: "a field from a newer tunebook",
    });
    assert.ok(body.figures.scores.data.length === 1 && body.figures.byLength.data.length === 3);
    assert.equal((await get(store, "/api/eval/nope")).status, 404);
    assert.equal((await get(store, "/api/eval/..")).status, 404);
  }),
);

Deno.test(
  "samples: each filter narrows to the items that match it, and paging walks them",
  withRoot(async (root) => {
    const store = new ResultsStore(root);
    const lines = readFileSync(join(root, "eval", "base", "samples.jsonl"), "utf8").trim()
      .split("\n").map((l) => JSON.parse(l));
    const q = async (params: string) => (await get(store, `/api/eval/base/samples?${params}`)).body;
    assert.equal((await q("")).total, 121);
    const facts = await q("task=synth_facts&limit=100");
    assert.equal(facts.total, lines.filter((s) => s.task === "synth_facts").length);
    const wrong = await q("task=synth_facts&outcome=wrong&limit=100");
    assert.equal(
      wrong.total,
      lines.filter((s) => s.task === "synth_facts" && s.metrics.acc === 0).length,
    );
    assert.ok(wrong.items.every((s: { outcome: string }) => s.outcome === "wrong"));
    const bucket = await q("task=synth_qa&min=33&max=44&limit=100");
    assert.equal(
      bucket.total,
      lines.filter((s) => s.task === "synth_qa" && s.prompt_tokens >= 33 && s.prompt_tokens <= 44)
        .length,
    );
    assert.equal(bucket.total, 10); // results.json's bucket says n=10
    const text = await q("q=Q17");
    assert.deepEqual(text.items.map((s: { doc_id: string }) => s.doc_id).sort(), [
      "synth_arithmetic-17",
      "synth_facts-17",
      "synth_qa-17",
    ]);
    const skipped = await q("outcome=skipped");
    assert.equal(skipped.items[0].skip_detail, "9000 prompt tokens > context 512");
    const page2 = await q("offset=25&limit=25");
    assert.equal(page2.items[0].line, 26);
    assert.equal(page2.items.length, 25);
  }),
);

Deno.test("sample index: 100k items page without being read; a growing file is followed", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const n = 100_000;
    writeBigRun(dir, n);
    const path = join(dir, "samples.jsonl");
    const index = new SampleIndex(path);
    assert.equal(index.size, n);
    // Reading a page reads only its own lines: count the bytes the index asks for.
    const read = index.read.bind(index);
    let linesRead = 0;
    index.read = (entries) => ((linesRead += entries.length), read(entries));
    const page = index.query({ task: "big_gen", outcome: "right" }, { offset: 1000, limit: 50 });
    assert.equal(page.total, Math.floor((n - 3) / 6) + 1); // odd i with i % 3 === 0
    assert.equal(page.items.length, 50);
    assert.equal(linesRead, 50);
    assert.ok(page.items.every((s) => s.task === "big_gen" && s.outcome === "right"));
    // A text search reads the candidates once, then pages through the remembered matches.
    const text = index.query({ q: "question 99999:" }, { offset: 0, limit: 10 });
    assert.deepEqual(text.items.map((s) => s.doc_id), ["big-99999"]);

    // An evaluation still running: a partial line waits; completed lines appear.
    const line = (i: number) =>
      JSON.stringify({ task: "late", doc_id: `l${i}`, prompt_tokens: 3, metrics: { acc: 1 } });
    appendFileSync(path, line(0) + "\n" + line(1).slice(0, 20));
    assert.equal(index.query({ task: "late" }, { offset: 0, limit: 5 }).total, 1);
    appendFileSync(path, line(1).slice(20) + "\n");
    assert.equal(index.query({ task: "late" }, { offset: 0, limit: 5 }).total, 2);
    // The last line of an item wins (a resumed run), and bad lines are reported with their number.
    appendFileSync(
      path,
      JSON.stringify({ task: "late", doc_id: "l0", metrics: { acc: 0 } }) + "\nnot json\n",
    );
    const late = index.query({ task: "late" }, { offset: 0, limit: 5 });
    assert.deepEqual(late.items.map((s) => [s.doc_id, s.outcome]), [["l0", "wrong"], [
      "l1",
      "right",
    ]]);
    assert.deepEqual(index.badLines.map((b) => b.line), [n + 4]);
    // A file started over (--no-resume) is indexed again.
    writeFileSync(path, line(7) + "\n");
    assert.equal(index.query({}, { offset: 0, limit: 5 }).items[0].doc_id, "l7");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("word differences: kept, removed and added words", () => {
  assert.deepEqual(wordDiff("the cat sat", "the dog sat"), [
    { op: "same", text: "the " },
    { op: "del", text: "cat" },
    { op: "add", text: "dog" },
    { op: "same", text: " sat" },
  ]);
  assert.deepEqual(wordDiff("", "new"), [{ op: "add", text: "new" }]);
  assert.deepEqual(wordDiff("same", "same"), [{ op: "same", text: "same" }]);
  const rebuilt = (d: { op: string; text: string }[], side: string) =>
    d.filter((s) => s.op === "same" || s.op === side).map((s) => s.text).join("");
  const a = "Paris is the capital of France.";
  const b = "The capital of France is Paris!";
  assert.equal(rebuilt(wordDiff(a, b), "del"), a);
  assert.equal(rebuilt(wordDiff(a, b), "add"), b);
});

Deno.test(
  "compare: fixed and broken items are McNemar's c and b; Δ and CI are compareRuns'",
  withRoot(async (root) => {
    const store = new ResultsStore(root, { compare: { resamples: RESAMPLES } });
    const ids = ["tuned", "tuned-q4_k_m"];
    const { body: view } = await get(store, `/api/compare?run=${ids[0]}&run=${ids[1]}`);
    const dirs = ids.map((id) => join(root, "eval", id));
    const cmp = compareRuns(dirs[0], dirs[1], { resamples: RESAMPLES });
    const changes = changedItems(dirs[0], dirs[1]);
    for (const t of view.pairs[0].tasks) {
      const m = cmp.tasks[t.task].metrics[t.verdictMetric];
      assert.equal(t.changes.fixed, m.mcnemar!.c, `${t.task}: fixed`);
      assert.equal(t.changes.broken, m.mcnemar!.b, `${t.task}: broken`);
      assert.deepEqual(t.metrics[0].ci, m.ci);
      assert.equal(t.metrics[0].delta, m.delta);
      const q = (change: string) =>
        get(
          store,
          `/api/compare/items?run=tuned&run=tuned-q4_k_m&task=${t.task}&change=${change}&limit=100`,
        );
      const broken = (await q("broken")).body;
      assert.deepEqual(
        broken.items.map((i: { doc_id: string }) => i.doc_id),
        changes.tasks[t.task].broken.map((i) => i.doc_id),
      );
      const fixed = (await q("fixed")).body;
      assert.deepEqual(
        fixed.items.map((i: { doc_id: string }) => i.doc_id),
        changes.tasks[t.task].fixed.map((i) => i.doc_id),
      );
      const item = broken.items[0];
      assert.deepEqual(item.runs.map((r: { outcome: string }) => r.outcome), ["right", "wrong"]);
      assert.ok(item.runs[1].diff.some((d: { op: string }) => d.op !== "same"));
    }
    assert.equal(view.figure.data.length, 1);
    // base's skipped item is only in base: not shared, not listed.
    const withBase = (await get(store, "/api/compare/items?run=base&run=tuned&change=&limit=500"))
      .body;
    assert.equal(withBase.total, 120);
    // Three runs: each against the baseline.
    const three = (await get(store, "/api/compare?run=base&run=tuned&run=tuned-q4_k_m")).body;
    assert.deepEqual(three.pairs.map((p: { b: string }) => p.b), ["tuned", "tuned-q4_k_m"]);
    assert.equal((await get(store, "/api/compare?run=base")).status, 400);
    assert.equal((await get(store, "/api/compare?run=base&run=nope")).status, 404);
  }),
);

Deno.test({
  name: "live training: the event stream sends what the trainer appends, with the loss figure",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: withRoot(async (root) => {
    const dir = join(root, "train", "live");
    mkdirSync(dir);
    const events = join(dir, "events.jsonl");
    writeFileSync(events, JSON.stringify({ event: "start", steps: 4 }) + "\n");
    const viewer = startViewer({ results: root, port: 0, pollMs: 50 });
    try {
      const first = await (await fetch(`${viewer.url}/api/train/live`)).json();
      assert.equal(first.summary.status, "running");
      const res = await fetch(`${viewer.url}/api/train/live/events?from=${first.eventsBytes}`);
      assert.match(res.headers.get("content-type")!, /text\/event-stream/);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const messages: { events: { step?: number }[]; figure: { data: { x: number[] }[] } }[] = [];
      let buffer = "";
      const next = async () => {
        while (true) {
          const end = buffer.indexOf("\n\n");
          if (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").find((l) => l.startsWith("data: "));
            if (block.startsWith("event: events") && data) return JSON.parse(data.slice(6));
            continue;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error("stream ended");
          buffer += value;
        }
      };
      for (let step = 1; step <= 3; step++) {
        appendFileSync(events, JSON.stringify({ event: "step", step, loss: 3 - step / 2 }) + "\n");
        messages.push(await next());
      }
      assert.deepEqual(messages.map((m) => m.events.map((e) => e.step)), [[1], [2], [3]]);
      assert.deepEqual(messages.map((m) => m.figure.data[0].x.length), [1, 2, 3]);
      await reader.cancel();
    } finally {
      await viewer.shutdown();
    }
  }),
});

Deno.test(
  "static export: the page, plotly.js and every view's data as script files",
  withRoot((root) => {
    const out = join(root, "export");
    const written = exportViewer(root, out, {
      compare: [["tuned", "tuned-q4_k_m"]],
      chunkSize: 50,
      compareOptions: { resamples: RESAMPLES },
    });
    const data: Record<string, unknown> = {};
    const load = (key: string) => {
      const text = readFileSync(join(out, "data", `${key}.js`), "utf8");
      new Function("tunebookData", text)((k: string, v: unknown) => (data[k] = v));
      return data[key] as Record<string, unknown>;
    };
    assert.ok(existsSync(join(out, "plotly.min.js")) && existsSync(written.index));
    assert.match(readFileSync(written.index, "utf8"), /TUNEBOOK_STATIC = "true"/);
    assert.deepEqual((load("runs").export as { comparisons: string[][] }).comparisons, [[
      "tuned",
      "tuned-q4_k_m",
    ]]);
    const base = load("eval/base") as { export: { sampleChunks: number } };
    assert.equal(base.export.sampleChunks, 3); // 121 samples, 50 per file
    const samples = [0, 1, 2].flatMap((k) => load(`eval/base.samples.${k}`) as unknown as []);
    assert.equal(samples.length, 121);
    const cmp = load("compare/tuned+tuned-q4_k_m") as { export: { itemChunks: number } };
    assert.equal(cmp.export.itemChunks, 3);
    const rows = [0, 1, 2].flatMap((k) =>
      load(`compare/tuned+tuned-q4_k_m.items.${k}`) as unknown as { changes: string[] }[]
    );
    assert.equal(rows.filter((r) => r.changes[1] === "broken").length, 25);
    assert.ok(load("train/tiny"));
    // Exporting again replaces the export; a folder holding other files is refused.
    exportViewer(root, out, { compare: [] });
    assert.ok(!existsSync(join(out, "data", "compare")));
    assert.throws(() => exportViewer(root, join(root, "eval"), {}), /not a viewer export/);
  }),
);

Deno.test(
  "deno task view: usage errors exit 2 and say what to do",
  withRoot(async (root) => {
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", VIEW_CLI, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const missing = await run("--results", join(root, "nope"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--results .*nope: no such folder/);
    const notExport = await run("--results", root, "--export", join(root, "eval"));
    assert.equal(notExport.code, 2);
    assert.match(notExport.stderr, /not a viewer export/);
    const unknown = await run("--results", root, "--export", join(root, "x"), "--compare", "a,b");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no evaluation run "a"/);
    const lone = await run("--compare", "a,b");
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--compare goes with --export/);
  }),
);

Deno.test("query.d.ts declares exactly what query.js exports", async () => {
  const page = fileURLToPath(new URL("../../lib/view/page/", import.meta.url));
  const exported = Object.keys(await import("../../lib/view/page/query.js")).sort();
  const declared = [
    ...readFileSync(join(page, "query.d.ts"), "utf8").matchAll(
      /^export declare (?:const|function) (\w+)/gm,
    ),
  ].map((m) => m[1]).sort();
  assert.deepEqual(declared, exported);
});
