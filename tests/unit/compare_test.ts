/**
 * Tests of lib/eval/compare.ts and `deno task compare` (lib/cli/compare.ts) on synthetic run
 * folders whose samples.jsonl files are written directly, with known differences between runs.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  changedItems,
  CompareInputError,
  compareRuns,
  formatComparisonTable,
  type RunComparison,
} from "../../lib/eval/compare.ts";

const COMPARE_CLI = fileURLToPath(new URL("../../lib/cli/compare.ts", import.meta.url));
/** Exit status the CLI uses for bad arguments or input. */
const USAGE_ERROR = 2;
/** Resamples: enough for stable signs and p-values here, cheap on a busy CPU. */
const RESAMPLES = 500;
const TOL = 1e-12;

interface Item {
  task: string;
  doc_id: string;
  metrics: Record<string, number>;
  prompt?: string;
  skipped?: string;
}

/** Writes a run folder: samples.jsonl (one line per item) and, if given, results.json. */
function writeRun(
  root: string,
  name: string,
  items: Item[],
  versions?: Record<string, number | string>,
): string {
  const dir = join(root, name);
  Deno.mkdirSync(dir, { recursive: true });
  const lines = items.map((it) =>
    JSON.stringify({
      prompt: `prompt ${it.doc_id}`,
      prompt_tokens: 3,
      references: ["x"],
      prediction: "x",
      ...it,
    })
  );
  Deno.writeTextFileSync(join(dir, "samples.jsonl"), lines.join("\n") + "\n");
  if (versions) {
    const tasks = Object.fromEntries(
      Object.entries(versions).map(([t, version]) => [t, { version }]),
    );
    Deno.writeTextFileSync(
      join(dir, "results.json"),
      JSON.stringify({ run: name, model: { model: `${name}.gguf` }, tasks }),
    );
  }
  return dir;
}

/**
 * 0/1 outcomes of two systems on n items: `b` items only A gets right, `c` only B does,
 * `both` both get right, the rest neither.
 */
function outcomes(n: number, b: number, c: number, both: number): { a: number[]; b: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i < b) (xs.push(1), ys.push(0));
    else if (i < b + c) (xs.push(0), ys.push(1));
    else if (i < b + c + both) (xs.push(1), ys.push(1));
    else (xs.push(0), ys.push(0));
  }
  return { a: xs, b: ys };
}

function items(task: string, metric: string, values: number[], prefix = "d"): Item[] {
  return values.map((v, i) => ({ task, doc_id: `${prefix}${i}`, metrics: { [metric]: v } }));
}

function withTemp(fn: (root: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const root = Deno.makeTempDirSync();
    try {
      await fn(root);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  };
}

Deno.test(
  "compareRuns: means, delta, McNemar b/c and exact p on a known 0/1 difference",
  withTemp((root) => {
    const n = 30;
    const o = outcomes(n, 2, 8, 12); // A right on 14, B right on 20
    const dirA = writeRun(root, "base", items("qa", "exact_match", o.a), { qa: 1 });
    const dirB = writeRun(root, "tuned", items("qa", "exact_match", o.b), { qa: 1 });
    const cmp = compareRuns(dirA, dirB, { resamples: RESAMPLES });
    const m = cmp.tasks.qa.metrics.exact_match;
    assert.equal(cmp.tasks.qa.n, n);
    assert.ok(Math.abs(m.meanA - 14 / n) < TOL);
    assert.ok(Math.abs(m.meanB - 20 / n) < TOL);
    assert.ok(Math.abs(m.delta - 6 / n) < TOL);
    assert.ok(m.ci[0] <= m.delta && m.delta <= m.ci[1]);
    // b + c = 10 < 25: exact sign test, 2·P(X ≤ 2), X ~ Binomial(10, 1/2) = 2·56/1024.
    assert.deepEqual(
      { b: m.mcnemar?.b, c: m.mcnemar?.c, method: m.mcnemar?.method },
      { b: 2, c: 8, method: "exact" },
    );
    assert.ok(Math.abs(m.mcnemar!.pValue - 112 / 1024) < TOL);
    assert.equal(cmp.tasks.qa.versionA, 1);
    assert.equal(cmp.a.run, "base");
    assert.deepEqual(cmp.b.model, { model: "tuned.gguf" });
    // Same inputs and seed: the same bootstrap.
    assert.deepEqual(
      compareRuns(dirA, dirB, { resamples: RESAMPLES }).tasks.qa,
      cmp.tasks.qa,
    );
  }),
);

Deno.test(
  "compareRuns: p-value and CI follow the size and sign of the difference",
  withTemp((root) => {
    const n = 60;
    const big = outcomes(n, 1, 30, 10);
    const same = outcomes(n, 0, 0, 25);
    const a = writeRun(root, "a", [
      ...items("big", "acc", big.a),
      ...items("same", "acc", same.a),
    ]);
    const b = writeRun(root, "b", [
      ...items("big", "acc", big.b),
      ...items("same", "acc", same.b),
    ]);
    const ab = compareRuns(a, b, { resamples: RESAMPLES });
    const ba = compareRuns(b, a, { resamples: RESAMPLES });
    const up = ab.tasks.big.metrics.acc;
    const down = ba.tasks.big.metrics.acc;
    assert.ok(up.delta > 0 && up.ci[0] > 0, `B better: CI ${up.ci} above 0`);
    assert.ok(up.pValue < 0.01, `p = ${up.pValue}`);
    assert.equal(up.mcnemar?.method, "chi2-corrected"); // 31 discordant pairs ≥ 25
    assert.ok(up.mcnemar!.pValue < 0.001);
    assert.ok(Math.abs(down.delta + up.delta) < TOL);
    assert.ok(down.ci[1] < 0, `A better when swapped: CI ${down.ci} below 0`);
    assert.deepEqual([down.mcnemar?.b, down.mcnemar?.c], [up.mcnemar?.c, up.mcnemar?.b]);
    const flat = ab.tasks.same.metrics.acc;
    assert.equal(flat.delta, 0);
    assert.equal(flat.pValue, 1);
    assert.deepEqual([flat.mcnemar?.b, flat.mcnemar?.c, flat.mcnemar?.pValue], [0, 0, 1]);
    // The CLI's table prints p-values as notebooks and the report do (formatPValue).
    const table = formatComparisonTable(ab);
    assert.match(table, /big\s+acc\s.*< 0\.001 chi2-corrected/);
    assert.match(table, /same\s+acc\s.*\s1\.00\s.*\s1\.00 exact/);
    assert.doesNotMatch(table, /\de-\d/, "no exponent notation");
  }),
);

Deno.test(
  "compareRuns: only shared, non-skipped items count; graded metrics get no McNemar",
  withTemp((root) => {
    const f1A = [0.5, 0.25, 1, 0, 0.75];
    const f1B = [0.75, 0.25, 1, 0.5, 1];
    const a = writeRun(root, "a", [
      ...f1A.map((v, i) => ({
        task: "sum",
        doc_id: `d${i}`,
        metrics: { f1: v, em: v === 1 ? 1 : 0 },
      })),
      { task: "sum", doc_id: "onlyA", metrics: { f1: 1, em: 1 } },
      { task: "sum", doc_id: "longB", metrics: { f1: 1, em: 1 } },
      { task: "extra", doc_id: "e0", metrics: { acc: 1 } },
    ]);
    const b = writeRun(root, "b", [
      ...f1B.map((v, i) => ({
        task: "sum",
        doc_id: `d${i}`,
        metrics: { f1: v, em: v === 1 ? 1 : 0, rouge1: v },
        ...(i === 0 ? { prompt: "another prompt" } : {}),
      })),
      { task: "sum", doc_id: "onlyB", metrics: { f1: 0, em: 0, rouge1: 0 } },
      { task: "sum", doc_id: "longB", metrics: {}, skipped: "too_long" },
    ]);
    const cmp = compareRuns(a, b, { resamples: RESAMPLES });
    const t = cmp.tasks.sum;
    assert.equal(t.n, f1A.length);
    assert.deepEqual(t.excluded, { onlyInA: 1, onlyInB: 1, skipped: 1 });
    assert.equal(t.promptMismatches, 1);
    assert.deepEqual(t.metricsNotShared, ["rouge1"]);
    assert.ok(Math.abs(t.metrics.f1.delta - 0.2) < TOL);
    assert.equal(t.metrics.f1.mcnemar, undefined);
    assert.deepEqual([t.metrics.em.mcnemar?.b, t.metrics.em.mcnemar?.c], [0, 1]);
    assert.deepEqual(cmp.tasksOnlyInA, ["extra"]);
    assert.deepEqual(cmp.tasksOnlyInB, []);
    const table = formatComparisonTable(cmp);
    assert.match(table, /sum\s+f1\s+5\s+0\.5000\s+0\.7000\s+\+0\.2000/);
    assert.match(table, /left out 1 item\(s\) only in A, 1 only in B, 1 skipped/);
    assert.match(table, /1 of 5 shared items have different prompts/);
    assert.match(table, /tasks only in A: extra/);
  }),
);

Deno.test(
  "compareRuns: clear errors for missing runs, bad lines, no shared items, other versions",
  withTemp((root) => {
    const good = writeRun(root, "good", items("t", "acc", [1, 0, 1]), { t: 1 });
    const expectError = (f: () => unknown, pattern: RegExp) =>
      assert.throws(f, (e: Error) => {
        assert.ok(e instanceof CompareInputError, `${e.name}: ${e.message}`);
        assert.match(e.message, pattern);
        return true;
      });

    expectError(() => compareRuns(join(root, "nope"), good), /nope does not exist/);
    Deno.mkdirSync(join(root, "empty"));
    expectError(() => compareRuns(good, join(root, "empty")), /empty\/samples\.jsonl not found/);

    const broken = writeRun(root, "broken", items("t", "acc", [1, 0]));
    Deno.writeTextFileSync(join(broken, "samples.jsonl"), '{"task": "t", "doc_', { append: true });
    expectError(() => compareRuns(good, broken), /broken\/samples\.jsonl:3: not valid JSON/);

    const other = writeRun(root, "other", [
      ...items("t", "acc", [1, 0, 1], "x"),
      ...items("u", "acc", [1]),
    ]);
    expectError(
      () => compareRuns(good, other),
      /task t: no item was evaluated in both runs \(3 items .*good.*, 3 in .*other/,
    );

    const v2 = writeRun(root, "v2", items("t", "acc", [1, 1, 1]), { t: 2 });
    expectError(() => compareRuns(good, v2), /task t is version 1 in .*good but version 2 in .*v2/);

    const elsewhere = writeRun(root, "elsewhere", items("u", "acc", [1, 0]));
    expectError(
      () => compareRuns(good, elsewhere),
      /no task in common \(A: t; B: u\)/,
    );
    expectError(
      () => compareRuns(good, good, { tasks: ["t", "u"] }),
      /task\(s\) u not in both runs/,
    );
  }),
);

Deno.test(
  "compare CLI: prints the table, writes compare.json into B (or --out); exit 2 on bad input",
  withTemp(async (root) => {
    const o = outcomes(20, 1, 6, 8);
    const a = writeRun(root, "base", items("qa", "acc", o.a), { qa: 1 });
    const b = writeRun(root, "tuned", items("qa", "acc", o.b), { qa: 1 });
    const run = async (args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", COMPARE_CLI, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder();
      return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
    };
    const ok = await run([a, b, "--resamples", String(RESAMPLES)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /A: base/);
    assert.match(ok.stdout, /qa\s+acc\s+20\s+0\.4500\s+0\.7000\s+\+0\.2500/);
    assert.match(ok.stdout, /1\/6/);
    const written: RunComparison = JSON.parse(Deno.readTextFileSync(join(b, "compare.json")));
    assert.deepEqual(
      [written.tasks.qa.metrics.acc.mcnemar?.b, written.tasks.qa.metrics.acc.mcnemar?.c],
      [1, 6],
    );
    assert.equal(written.resamples, RESAMPLES);

    const missing = await run([a, join(root, "missing"), "--out", join(root, "c.json")]);
    assert.equal(missing.code, USAGE_ERROR);
    assert.match(missing.stderr, /missing does not exist/);
    assert.ok(!existsSync(join(root, "c.json")));
  }),
);

Deno.test("changedItems: the fixed and broken items are McNemar's c and b, item by item", () => {
  const fixture = "tests/unit/fixtures/plots";
  const counts: Record<string, number[]> = {};
  for (const [a, b] of [["base", "tuned"], ["tuned", "tuned-q4_k_m"]]) {
    const changes = changedItems(join(fixture, a), join(fixture, b));
    const cmp = compareRuns(join(fixture, a), join(fixture, b), { resamples: 50 });
    assert.deepEqual(Object.keys(changes.tasks), ["synth_arithmetic", "synth_facts", "synth_qa"]);
    assert.deepEqual(changes.tasksWithoutBinaryMetric, []);
    assert.deepEqual(
      Object.values(changes.tasks).map((t) => t.metric),
      ["exact_match", "acc", "em"], // em, not the graded f1
    );
    for (const [task, t] of Object.entries(changes.tasks)) {
      const m = cmp.tasks[task].metrics[t.metric].mcnemar!;
      assert.equal(t.fixed.length, m.c, `${task}: fixed = c`);
      assert.equal(t.broken.length, m.b, `${task}: broken = b`);
      for (const item of t.fixed) {
        assert.deepEqual([item.a.metrics[t.metric], item.b.metrics[t.metric]], [0, 1]);
      }
      for (const item of t.broken) {
        assert.deepEqual([item.a.metrics[t.metric], item.b.metrics[t.metric]], [1, 0]);
        assert.equal(item.b.doc_id, item.doc_id);
      }
      counts[`${b} vs ${a}: ${task}`] = [t.fixed.length, t.broken.length];
    }
  }
  assert.deepEqual(counts["tuned-q4_k_m vs tuned: synth_facts"], [5, 10]);
  assert.deepEqual(counts["tuned vs base: synth_arithmetic"], [16, 0]);
  assert.throws(
    () => changedItems(join(fixture, "base"), join(fixture, "tuned"), { metric: "f1" }),
    /synth_arithmetic: metric f1 is not 0 or 1/,
  );
});
