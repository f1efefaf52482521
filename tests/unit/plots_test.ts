/**
 * Tests of lib/plots: every figure builder yields the traces and axis titles it promises, from a
 * fixture report (tests/unit/fixtures/plots: three eval runs written by the runner's own
 * aggregation, a training run's events and a report manifest); the markdown summary; bad input;
 * and a real PNG/SVG export through Chromium. (Showing them in notebooks: notebook_test.ts.)
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  accuracyFigure,
  costFigure,
  deltaFigure,
  type Figure,
  lengthFigure,
  loadReport,
  meanScore,
  quantPoints,
  readRunResults,
  REPORT_FIGURES,
  reportFigures,
  reportMarkdown,
  significanceMark,
  throughputSeries,
} from "../../lib/plots/mod.ts";
import type { Throughput } from "../../lib/eval/throughput.ts";
import { metricScale } from "../../lib/eval/metrics/mod.ts";
import { decodeDataUrl, exportFigures } from "../../lib/plots/export.ts";
import { lengthFigureSpec } from "../../lib/data/report.ts";
import {
  JUPYTER_DISPLAY,
  markdownDisplay,
  notebookParams,
  PARAMS_ENV,
  requirePath,
} from "../../lib/notebook/mod.ts";

const FIXTURE = "tests/unit/fixtures/plots";
const REPORT = `${FIXTURE}/report.json`;
/** Resamples of the fixture comparisons: enough for stable marks, cheap. */
const compare = { resamples: 400 };

type Axis = { title: { text: string }; domain?: number[] };
function axisTitle(fig: Figure, name: string): string {
  return (fig.layout[name] as Axis).title.text;
}
function names(fig: Figure): (string | undefined)[] {
  return fig.data.map((t) => t.name);
}

const report = loadReport(REPORT, { compare });
const figs = reportFigures(report);

Deno.test("the fixture report yields every README figure", () => {
  assert.deepEqual(Object.keys(figs).sort(), [...REPORT_FIGURES].sort());
  for (const fig of Object.values(figs)) {
    assert.ok(String((fig.layout.title as { text: string }).text).length > 0);
    JSON.parse(JSON.stringify(fig)); // plain JSON: what plotly.js and the notebook receive
  }
});

Deno.test("accuracy: one bar trace per run with 95% CI error bars from results.json", () => {
  const fig = figs.accuracy!;
  assert.deepEqual(names(fig), ["base", "tuned", "tuned-q4_k_m"]);
  assert.equal(axisTitle(fig, "xaxis"), "task (metric)");
  assert.equal(axisTitle(fig, "yaxis"), "score, 0–1 (95% CI)");
  const tuned = fig.data[1];
  assert.equal(tuned.type, "bar");
  assert.deepEqual(tuned.x, [
    "synth_arithmetic<br>(exact_match)",
    "synth_facts<br>(acc)",
    "synth_qa<br>(em)",
  ]);
  const est = report.runs[1].results.tasks.synth_qa.metrics.em;
  const err = tuned.error_y as { array: number[]; arrayminus: number[]; visible: boolean };
  assert.equal(err.visible, true);
  assert.equal((tuned.y as number[])[2], est.value);
  assert.ok(Math.abs(err.array[2] - (est.ci[1] - est.value)) < 1e-12);
  assert.ok(Math.abs(err.arrayminus[2] - (est.value - est.ci[0])) < 1e-12);
  assert.ok(err.array[2] > 0 && err.arrayminus[2] > 0, "CI visible");
});

Deno.test("BLEU (0–100) beside proportions: shown ÷ 100 on one axis, means on 0–1", () => {
  const e = (v: number, half: number) => ({
    value: v,
    stderr: half / 1.96,
    ci: [v - half, v + half] as [number, number],
    n: 200,
    method: "wilson" as const,
  });
  const results = {
    tasks: {
      facts: { outputType: "multiple_choice", metrics: { acc: e(0.5, 0.1) }, byLength: [] },
      code: { outputType: "generate_until", metrics: { bleu4: e(20, 4) }, byLength: [] },
    },
  };
  assert.deepEqual([metricScale("bleu4"), metricScale("acc")], [100, 1]);
  const fig = accuracyFigure([{ label: "base", results }]);
  assert.deepEqual(fig.data[0].x, ["facts<br>(acc)", "code<br>(bleu4 ÷ 100)"]);
  assert.deepEqual(fig.data[0].y, [0.5, 0.2]);
  assert.equal(axisTitle(fig, "yaxis"), "score, 0–1 (95% CI)");
  const m = meanScore(results);
  assert.ok(Math.abs(m.value - 0.35) < 1e-12, `mean ${m.value}`);
  assert.ok(m.ci[1] < 1, "the mean's CI is on 0–1 too");
  // By length, each task has its own axis: BLEU's spans 0–100, acc's 0–1.
  const bucket = (metric: string, v: number, half: number) => ({
    minTokens: 5,
    maxTokens: 9,
    metric,
    estimate: e(v, half),
  });
  const byLength = lengthFigure([{
    label: "base",
    results: {
      tasks: {
        facts: { ...results.tasks.facts, byLength: [bucket("acc", 0.5, 0.1)] },
        code: { ...results.tasks.code, byLength: [bucket("bleu4", 20, 4)] },
      },
    },
  }]);
  const range = (name: string) => (byLength.layout[name] as { range: number[] }).range;
  assert.deepEqual([range("yaxis"), range("yaxis2")], [[0, 1.05], [0, 105]]);
  // BLEU alone keeps its own scale.
  const alone = accuracyFigure([{
    label: "base",
    results: { tasks: { code: results.tasks.code } },
  }]);
  assert.deepEqual(alone.data[0].y, [20]);
  assert.equal(axisTitle(alone, "yaxis"), "score (95% CI)");
});

Deno.test("deltas: one trace per comparison, Δ and CI from compareRuns, significance marks", () => {
  const fig = figs.deltas!;
  assert.deepEqual(names(fig), ["tuned − base", "tuned-q4_k_m − tuned"]);
  assert.equal(axisTitle(fig, "yaxis"), "Δ score, B − A (95% CI)");
  assert.equal(axisTitle(fig, "xaxis"), "task (metric)");
  const m = report.comparisons[0].comparison.tasks.synth_facts.metrics.acc;
  assert.ok(m.delta > 0.3, `fixture: fine-tuning helps (${m.delta})`);
  assert.equal((fig.data[0].y as number[])[1], m.delta);
  const marks = fig.data[0].text as string[];
  assert.equal(marks[1].trim(), significanceMark(m.mcnemar!.pValue));
  assert.ok(["*", "**", "***"].includes(marks[1].trim()), `large gain is significant: ${marks[1]}`);
  const q4 = report.comparisons[1].comparison.tasks.synth_facts.metrics.acc;
  assert.ok((q4.mcnemar?.pValue ?? 0) >= 0.05, "fixture: quantization changes nothing significant");
  assert.equal((fig.data[1].text as string[])[1], "", "no mark when not significant");
  assert.equal(significanceMark(0.0005), "***");
  assert.equal(significanceMark(0.04), "*");
  assert.equal(significanceMark(0.5), "n.s.");
});

Deno.test("loss: training and validation traces from events.jsonl", () => {
  const fig = figs.loss!;
  assert.deepEqual(names(fig), [
    "LoRA: training",
    "LoRA: training (smoothed)",
    "LoRA: validation",
  ]);
  assert.equal(axisTitle(fig, "xaxis"), "optimizer step");
  assert.equal(axisTitle(fig, "yaxis"), "loss (cross-entropy, nats/token)");
  assert.equal((fig.data[0].x as number[]).length, 30);
  const raw = fig.data[0].y as number[];
  const smooth = fig.data[1].y as number[];
  assert.ok(Math.abs(smooth[0] - raw[0]) < 1e-12, "bias-corrected: starts at the first loss");
  assert.ok(Math.max(...smooth) - Math.min(...smooth) < Math.max(...raw) - Math.min(...raw));
  assert.deepEqual(fig.data[2].x, [10, 20, 30]);
});

Deno.test("by_length: a subplot per task, a line per unquantized run over the buckets", () => {
  const fig = figs.by_length!;
  assert.equal(fig.data.length, 6); // 3 tasks × (base, tuned): quantized copies are left out
  assert.deepEqual(fig.data.filter((t) => t.showlegend).map((t) => t.name), ["base", "tuned"]);
  for (const ax of ["xaxis", "xaxis2", "xaxis3"]) {
    assert.equal(axisTitle(fig, ax), "prompt length (tokens)");
  }
  for (const ax of ["yaxis", "yaxis2", "yaxis3"]) {
    assert.equal(axisTitle(fig, ax), "score (95% CI)");
  }
  const buckets = report.runs[0].results.tasks.synth_qa.byLength;
  const trace = fig.data.find((t) => t.xaxis === "x3" && t.name === "base")!;
  assert.deepEqual(trace.x, buckets.map((b) => `${b.minTokens}–${b.maxTokens}`));
});

Deno.test("by_length: each bucket's token range and number of items label the x axis", () => {
  const fig = figs.by_length!;
  const buckets = report.runs[0].results.tasks.synth_qa.byLength;
  const ax = fig.layout.xaxis3 as { type: string; tickvals: string[]; ticktext: string[] };
  assert.equal(ax.type, "category", "evenly spaced buckets: close ranges keep apart");
  assert.deepEqual(ax.tickvals, buckets.map((b) => `${b.minTokens}–${b.maxTokens}`));
  assert.deepEqual(ax.ticktext, buckets.map((b) => `${b.minTokens}–${b.maxTokens}<br>n=10`));
  // Runs that scored different numbers of items in a bucket show the range of n.
  const e = (v: number, n: number) => ({
    value: v,
    stderr: 0.1,
    ci: [v - 0.2, v + 0.2] as [number, number],
    n,
    method: "wilson" as const,
  });
  const run = (label: string, n: number) => ({
    label,
    results: {
      tasks: {
        t: {
          outputType: "multiple_choice",
          metrics: {},
          byLength: [
            { minTokens: 12, maxTokens: 12, metric: "acc", estimate: e(0.5, 30) },
            { minTokens: 13, maxTokens: 14, metric: "acc", estimate: e(0.7, n) },
          ],
        },
      },
    },
  });
  const two = lengthFigure([run("a", 30), run("b", 28)]);
  const ticks = (two.layout.xaxis as { ticktext: string[] }).ticktext;
  assert.deepEqual(ticks, ["12<br>n=30", "13–14<br>n=28–30"]);
});

Deno.test("curation lengths: 'before' and 'after' bars side by side, not one behind the other", () => {
  const fig = lengthFigureSpec({ edges: [0, 5, 10], before: [4, 2], after: [4, 0] }, "tokens");
  assert.deepEqual(fig.data.map((t) => t.name), ["before", "after"]);
  assert.equal(fig.layout.barmode, "group");
});

Deno.test("cost: tokens/s against the mean score when runs have no cost; cost when all do", () => {
  const fig = figs.cost!;
  assert.deepEqual(names(fig), ["base", "tuned", "tuned-q4_k_m"]);
  assert.equal(axisTitle(fig, "xaxis"), "throughput (tokens/s)");
  assert.equal(axisTitle(fig, "yaxis"), "mean score over 3 task(s) (95% CI)");
  assert.deepEqual(fig.data[0].x, [report.runs[0].results.tokensPerSecond]);
  assert.deepEqual(fig.data[0].y, [meanScore(report.runs[0].results).value]);
  const priced = report.runs.map((r, i) => ({
    label: r.label,
    results: { ...r.results, usage: { promptTokens: 1, completionTokens: 1, costUsd: i + 0.5 } },
  }));
  const costFig = costFigure(priced);
  assert.equal(axisTitle(costFig, "xaxis"), "cost of the evaluation (USD)");
  assert.deepEqual(costFig.data[2].x, [2.5]);
  assert.throws(() => costFigure(report.runs, { x: "cost" }), /no cost .*usage\.costUsd/);
});

Deno.test("quantization: score and throughput per type, in order of bits per weight", () => {
  const fig = figs.quantization!;
  assert.deepEqual(names(fig), ["mean score (left axis)", "throughput (right axis)"]);
  assert.equal(
    axisTitle(fig, "xaxis"),
    "quantization type and bits per weight (fewest bits left)",
  );
  assert.equal(axisTitle(fig, "yaxis"), "mean score (95% CI)");
  assert.equal(axisTitle(fig, "yaxis2"), "throughput (tokens/s)");
  assert.deepEqual(fig.data[0].x, ["q4_k_m<br>5.10", "f32<br>32.00"]);
  assert.deepEqual(fig.data[1].y, [7900, 5100]);
  assert.equal(fig.data[1].yaxis, "y2");
  assert.equal(quantPoints(report).length, 2);
});

/** A steady-state measurement (lib/eval/throughput.ts) with this median and range. */
function measured(median: number, lo: number, hi: number): Throughput {
  return {
    tasks: ["synth_facts"],
    itemsPerTask: 20,
    items: 20,
    warmup: 1,
    tokens: [900, 900, 900],
    seconds: [900 / lo, 900 / median, 900 / hi],
    tokensPerSecond: { median, min: lo, max: hi },
    itemsPerSecond: 20 / (900 / median),
  };
}

Deno.test("throughput in figures: the steady-state median with min–max bars, never a mix", () => {
  // The warm-up artifact: results.json says 250 tokens/s for tuned (its first pass), the steady
  // state says it runs as fast as the base model.
  const runs = report.runs.map((r, i) => ({
    ...r,
    results: { ...r.results, tokensPerSecond: [3000, 250, 7900][i] },
    throughput: measured([3100, 3050, 8000][i], [2900, 2950, 7700][i], [3200, 3300, 8100][i]),
  }));
  const fig = costFigure(runs);
  assert.deepEqual(fig.data.map((t) => t.x), [[3100], [3050], [8000]]);
  const bars = fig.data[1].error_x as { array: number[]; arrayminus: number[] };
  assert.deepEqual([bars.arrayminus, bars.array], [[100], [250]]); // 2950–3300 around 3050
  const subtitle = (fig.layout.title as { subtitle: { text: string } }).subtitle.text;
  assert.match(subtitle, /tokens\/s: median of 3 passes after 1 warm-up \(bars: min–max\)/);
  // x range leaves room for the fastest pass
  assert.ok((fig.layout.xaxis as { range: number[] }).range[1] >= 8100);

  // One run without a measurement: every run falls back to its results.json tokens/s, said so.
  const mixed = runs.map((r, i) => (i === 1 ? { ...r, throughput: undefined } : r));
  const fallback = costFigure(mixed);
  assert.deepEqual(fallback.data.map((t) => t.x), [[3000], [250], [7900]]);
  assert.equal(fallback.data[0].error_x, undefined);
  assert.match(
    (fallback.layout.title as { subtitle: { text: string } }).subtitle.text,
    /one evaluation pass each, warm-up included/,
  );

  // The quantization trade-off and the markdown summary read the same series.
  const quant = reportFigures({ ...report, runs }).quantization!;
  assert.deepEqual(quant.data[1].y, [8000, 3050]); // q4_k_m, f32 (fewest bits first)
  assert.deepEqual((quant.data[1].error_y as { array: number[] }).array, [100, 250]);
  const md = reportMarkdown({ ...report, runs });
  assert.match(md, /\| tuned \| finetuned \| .* \| 3050 \[2950–3300\] \|/);
  assert.match(md, /Tokens\/s: median of 3 passes after 1 warm-up/);
  assert.deepEqual(throughputSeries(runs).ranges, [[2900, 3200], [2950, 3300], [7700, 8100]]);
});

Deno.test("builders reject empty input with a message saying what to pass", () => {
  assert.throws(() => accuracyFigure([]), /no runs given/);
  assert.throws(() => deltaFigure([]), /compareRuns/);
});

Deno.test("markdown summary: scores with CIs, deltas with marks, training, quantization", () => {
  const md = reportMarkdown(report, { images: "images" });
  assert.match(md, /^## tunebook results/);
  assert.match(md, /\| model \| kind \| synth_arithmetic \(exact_match\) \| synth_facts \(acc\)/);
  assert.match(md, /\| tuned − base \| synth_facts \| acc \| \+0\.\d+ \| \[/);
  assert.match(md, /30 optimizer steps in 12\.3 s/);
  assert.match(md, /\| q4_k_m \| 5\.10 \|/);
  assert.match(md, /!\[loss\]\(images\/loss\.png\)/);
  // p-values as formatPValue prints them (the CLI and notebook tables use the same rule).
  const ps = [...md.matchAll(/\| \[[^\]]+\] \| ([^|]+) \|/g)].map((m) => m[1].trim());
  assert.ok(ps.length >= 3, md);
  for (const p of ps) {
    assert.match(p, /^(< 0\.001|\d\.\d{2}|0\.0*[1-9]\d{2})$/, `p as printed: ${p}`);
  }
  assert.ok(ps.includes("< 0.001"), "the fine-tune's gain is p < 0.001");
  assert.equal(markdownDisplay(md)[JUPYTER_DISPLAY]()["text/markdown"], md);
});

Deno.test("bad input names what to run first", () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-plots-"));
  try {
    assert.throws(
      () => loadReport(join(dir, "report.json")),
      /Run notebooks\/04_evaluate\.ipynb first/,
    );
    assert.throws(
      () => readRunResults(join(dir, "nope")),
      /results\.json not found\. Evaluate first/,
    );
    assert.throws(
      () =>
        requirePath("data/models/none.gguf", {
          param: "base_model",
          producer: "`deno task build:tiny`",
        }),
      /base_model = "data\/models\/none\.gguf": no such file\. Run `deno task build:tiny` first/,
    );
    assert.equal(requirePath(REPORT, { param: "report", producer: "x" }), REPORT);
    const defaults = { model: "m.gguf", limit: 40, tasks: ["a"] };
    assert.deepEqual(notebookParams(defaults, { env: {} }), defaults);
    const env = (v: unknown) => ({ [PARAMS_ENV]: JSON.stringify(v) });
    assert.equal(notebookParams(defaults, { env: env({ limit: 5 }) }).limit, 5);
    assert.throws(
      () => notebookParams(defaults, { env: env({ limt: 5 }) }),
      /"limt" is not one of .*model, limit, tasks/,
    );
    assert.throws(() => notebookParams(defaults, { env: env({ tasks: "a" }) }), /expected array/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "export: PNG and SVG through headless Chromium, with titles and axis labels",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tunebook-export-"));
    try {
      const written = await exportFigures({ accuracy: figs.accuracy!, loss: figs.loss! }, dir);
      assert.deepEqual(written.map((p) => p.slice(dir.length + 1)), [
        "accuracy.png",
        "accuracy.svg",
        "loss.png",
        "loss.svg",
      ]);
      const png = readFileSync(join(dir, "accuracy.png"));
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
      const width = png.readUInt32BE(16);
      assert.equal(width, 820 * 2, "layout width × scale 2");
      const svg = readFileSync(join(dir, "loss.svg"), "utf8");
      assert.match(svg, /^<svg/);
      for (const text of ["Training and validation loss", "optimizer step", "LoRA: validation"]) {
        assert.ok(svg.includes(text), `SVG shows "${text}"`);
      }
      assert.ok(existsSync(join(dir, "loss.png")));
    } finally {
      rmSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task plots --recipe: a run's figures (--only picks); no run or no figure exits 2",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tunebook-recipe-figs-"));
    const cli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "lib/cli/plots.ts", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    try {
      const none = await cli("--recipe", dir, "--out", join(dir, "x"));
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no recipe\.json there; give a run folder of `deno task recipe`/);
      mkdirSync(join(dir, "figures"));
      writeFileSync(join(dir, "figures", "accuracy.json"), JSON.stringify(figs.accuracy));
      const manifest = {
        identity: { recipe: { name: "S0" } },
        verdict: { met: true, text: "gain met" },
        figures: { accuracy: "figures/accuracy.json" },
      };
      writeFileSync(join(dir, "recipe.json"), JSON.stringify({ ...manifest, verdict: null }));
      const unfinished = await cli("--recipe", dir, "--out", join(dir, "x"));
      assert.equal(unfinished.code, 2);
      assert.match(unfinished.stderr, /not drawn its figures yet; run `deno task recipe S0` again/);
      writeFileSync(join(dir, "recipe.json"), JSON.stringify(manifest));
      const wrong = await cli("--recipe", dir, "--only", "per_class", "--out", join(dir, "x"));
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /--only: no figure "per_class" here; there are: accuracy/);
      const ok = await cli(
        "--recipe",
        dir,
        "--only",
        "accuracy",
        "--formats",
        "svg",
        "--out",
        join(dir, "x"),
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(
        readFileSync(join(dir, "x", "accuracy.svg"), "utf8"),
        /^<svg[\s\S]*Score per task/,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  },
});

Deno.test("decodeDataUrl: base64 and percent-encoded", () => {
  assert.equal(new TextDecoder().decode(decodeDataUrl("data:text/plain;base64,aGk=")), "hi");
  assert.equal(new TextDecoder().decode(decodeDataUrl("data:image/svg+xml,%3Csvg%3E")), "<svg>");
  assert.throws(() => decodeDataUrl("nope"), /not a data: URL/);
});
