/**
 * `deno task plots` — regenerate the README figures from results/: read the report manifest that
 * notebooks/04_evaluate.ipynb writes (results/notebooks/report.json), build every figure
 * (lib/plots/report.ts) and export each as PNG and SVG through headless Chromium, plus the
 * markdown summary.
 *
 *   deno task plots                                   # results/notebooks/report.json → images/
 *   deno task plots --report other/report.json --out /tmp/figs --formats png
 *
 * Exit codes: 0 done; 2 bad arguments or missing results (the message says what to run); 1 other.
 * @module
 */
import { writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { exportFigures, type ImageFormat } from "../plots/export.ts";
import type { FigureLike } from "../plots/figures.ts";
import { DEFAULT_REPORT, loadReport, reportFigures, reportMarkdown } from "../plots/report.ts";
import { runMain } from "./_main.ts";

const HELP =
  `usage: deno task plots [--report FILE] [--out DIR] [--formats png,svg] [--summary FILE]
--report FILE   report manifest (default: ${DEFAULT_REPORT}, written by notebooks/04_evaluate.ipynb)
--out DIR       where images go (default: images)
--formats LIST  png, svg or both (default: png,svg)
--summary FILE  also write the markdown summary there (image links relative to it)
Writes DIR/<figure>.<format> for accuracy, deltas, loss, by_length, cost, quantization
(those the report has inputs for).`;

class UsageError extends Error {}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        report: { type: "string", default: DEFAULT_REPORT },
        out: { type: "string", default: "images" },
        formats: { type: "string", default: "png,svg" },
        summary: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${HELP}`);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const formats = values.formats.split(",").map((f) => f.trim()).filter(Boolean);
  const bad = formats.filter((f) => f !== "png" && f !== "svg");
  if (bad.length || !formats.length) {
    throw new UsageError(`--formats ${values.formats}: use png, svg or png,svg`);
  }
  let report;
  try {
    report = loadReport(values.report);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const figures = reportFigures(report);
  const written = await exportFigures(figures as Record<string, FigureLike>, values.out, {
    formats: formats as ImageFormat[],
  });
  if (values.summary) {
    const images = relative(dirname(resolve(values.summary)), resolve(values.out)) || ".";
    writeFileSync(values.summary, reportMarkdown(report, { images }));
    written.push(values.summary);
  }
  for (const path of written) console.log(`wrote ${path}`);
  return 0;
}

if (import.meta.main) await runMain(main, [UsageError]);
