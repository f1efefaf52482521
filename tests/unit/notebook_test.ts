/**
 * Tests of lib/notebook without a kernel: figure, table and markdown display bundles, tables of
 * results (polars), how cells read (nested values as text, p-values by formatPValue), plotly.js
 * loaded once per notebook from a file beside it, and the setup cell from any working folder.
 * Runs on a kernel are in notebook_run_test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type Figure, loadReport, quantPoints, reportFigures } from "../../lib/plots/mod.ts";
import {
  comparisonFrame,
  figureBundle,
  figureDisplay,
  JUPYTER_DISPLAY,
  PLOTLY_MIME,
  PLOTLY_SIDECAR,
  plotlyLoader,
  quantFrame,
  REPO_ROOT,
  resultsFrame,
  setupNotebook,
  tableBundle,
} from "../../lib/notebook/mod.ts";

const report = loadReport("tests/unit/fixtures/plots/report.json", { compare: { resamples: 400 } });
const figs = reportFigures(report);

Deno.test("figure display: plotly mimetype, self-contained HTML fallback, text", () => {
  const fig = figs.accuracy!;
  const bundle = figureDisplay(fig)[JUPYTER_DISPLAY]();
  assert.deepEqual(Object.keys(bundle), [PLOTLY_MIME, "text/html", "text/plain"]);
  assert.deepEqual((bundle[PLOTLY_MIME] as Figure).data, fig.data);
  const html = bundle["text/html"] as string;
  assert.match(html, /<div id="tunebook-[^"]+" class="tunebook-figure"/);
  assert.match(html, /window\.Plotly\.newPlot/);
  assert.match(html, /run the notebook's first code cell/);
  assert.ok(html.length < 100_000, "once mode does not carry plotly.js");
  assert.match(String(bundle["text/plain"]), /Score per task — base, tuned, tuned-q4_k_m/);
  const inline = figureBundle(fig, { plotlyJs: "inline" })["text/html"] as string;
  assert.ok(inline.length > 4_000_000 && inline.includes("plotly.js v3"), "inline embeds plotly");
  // A title cannot close the script element early.
  const evil = figureBundle({ data: [], layout: { title: { text: "</script><b>x" } } }, {
    id: "e",
  });
  const script = (evil["text/html"] as string).split("<script")[1];
  assert.ok(!script.slice(0, script.lastIndexOf("</script>")).includes("</script"));
});

Deno.test("tables: polars frames display as HTML with a text fallback", () => {
  const df = resultsFrame(report.runs, { primaryOnly: true });
  assert.equal(typeof df.toRecords, "function"); // a polars DataFrame
  assert.equal(df.height, 9);
  assert.deepEqual(df.columns, [
    "run",
    "task",
    "metric",
    "value",
    "stderr",
    "ci_low",
    "ci_high",
    "n",
  ]);
  const b = tableBundle(df, { maxRows: 5 });
  assert.equal(((b["text/html"] as string).match(/<tr>/g) ?? []).length, 5 + 1);
  assert.match(b["text/html"] as string, /4 more row/);
  assert.match(b["text/plain"] as string, /^run\s+task\s+metric/);
  const cmp = comparisonFrame(report.comparisons);
  assert.ok(cmp.columns.includes("mark") && cmp.height > 0);
  assert.equal(quantFrame(quantPoints(report)).getColumn("type").toArray()[0], "f32");
});

Deno.test("tables: nested values read as key: value text, not JSON blobs", () => {
  const rejects = [{
    text: "a row",
    rule: "near_dup",
    matched: { id: "r7", text: "a row!", jaccard: 0.8333333 },
    reason: "near copy of r7",
  }];
  const b = tableBundle(rejects);
  const config = tableBundle([{
    setting: "lora",
    value: { r: 8, alpha: 16, target_modules: ["q_proj", "v_proj"] },
  }]);
  for (const text of [b["text/html"], b["text/plain"], config["text/plain"]] as string[]) {
    assert.doesNotMatch(text, /[{]"|&quot;|"\w+":/, `no JSON in: ${text}`);
  }
  assert.match(b["text/plain"] as string, /id: r7; text: a row!; jaccard: 0\.8333/);
  assert.match(
    config["text/plain"] as string,
    /r: 8; alpha: 16; target_modules: \[q_proj, v_proj\]/,
  );
});

Deno.test("tables: p-values print as formatPValue does (< 0.001, three significant digits)", () => {
  const cmp = comparisonFrame(report.comparisons);
  const p = cmp.getColumn("p_mcnemar").toArray() as number[];
  assert.ok(p.some((x) => x > 0 && x < 1e-3), "fixture: a tiny McNemar p, not rounded to 0");
  const text = tableBundle(cmp)["text/plain"] as string;
  const html = tableBundle(cmp)["text/html"] as string;
  assert.match(text, /< 0\.001/);
  assert.match(html, /&lt; 0\.001/);
  const rows = text.split("\n").slice(2);
  for (const row of rows.filter((r) => r.includes("tuned − base"))) {
    assert.doesNotMatch(row, /\s0(\.0+)?\s/, `a p-value of 0 or 0.0000: ${row}`);
  }
  // Any column named p or p_* follows the rule; pValueColumns names others.
  const named = tableBundle([{ p: 0.04567, value: 0.04567 }])["text/plain"] as string;
  assert.match(named, /0\.0457\s+0\.0457/);
  const own = tableBundle([{ pv: 2e-9 }], { pValueColumns: ["pv"] })["text/plain"] as string;
  assert.match(own, /< 0\.001/);
});

Deno.test("plotly.js once per notebook: a small loader for a file beside the notebook", () => {
  const loader = plotlyLoader()[JUPYTER_DISPLAY]();
  const html = String(loader["text/html"]);
  assert.ok(html.length < 5_000, `the loader is small (${html.length} chars)`);
  assert.ok(html.includes(`s.src = "${PLOTLY_SIDECAR}"`));
  assert.match(String(loader["text/plain"]), /plotly\.js 3\.\d+\.\d+/);
  const fig = figureDisplay(figs.accuracy!)[JUPYTER_DISPLAY]();
  assert.ok(String(fig["text/html"]).length < 100_000, "a figure does not carry plotly.js");
});

Deno.test({
  name: "setupNotebook: same working folder and plotly.js file from any folder, any number of runs",
  fn: () => {
    const before = process.cwd();
    const nbDir = mkdtempSync(join(tmpdir(), "tunebook-setup-"));
    try {
      const elsewhere = join(nbDir, "sub");
      mkdirSync(elsewhere);
      for (const cwd of [nbDir, elsewhere, REPO_ROOT]) {
        process.chdir(cwd);
        const out = setupNotebook({ notebookDir: nbDir })[JUPYTER_DISPLAY]();
        assert.equal(process.cwd().replace(/\/$/, ""), REPO_ROOT.replace(/\/$/, ""));
        assert.ok(existsSync("data/tasks"), "repository-relative paths resolve");
        assert.ok(statSync(join(nbDir, PLOTLY_SIDECAR)).size > 4_000_000);
        assert.match(String(out["text/html"]), /plotly\.min\.js/);
      }
    } finally {
      process.chdir(before);
      rmSync(nbDir, { recursive: true, force: true });
    }
  },
});
