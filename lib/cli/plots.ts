/**
 * `deno task plots` — regenerate the README figures from results/: read the report manifest that
 * notebooks/04_evaluate.ipynb writes (results/notebooks/report.json), build every figure
 * (lib/plots/report.ts) and export each as PNG and SVG through headless Chromium, plus the
 * markdown summary.
 *
 *   deno task plots --out images                      # results/notebooks/report.json → images/
 *   deno task plots --report other/report.json --out /tmp/figs --formats png
 *
 * `--out` is required: images/ is committed, so only an explicit `--out images` rewrites it.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { exportFigures } from "../plots/export.ts";
import type { FigureLike } from "../plots/figures.ts";
import { DEFAULT_REPORT, loadReport, reportFigures, reportMarkdown } from "../plots/report.ts";
import { defineCommand, listFlag, runCommand, stringFlag, UsageError } from "./_command.ts";

/** `deno task plots`. */
export const command = defineCommand({
  name: "plots",
  summary: "Regenerate the README figures from the report manifest notebooks/04_evaluate.ipynb\n" +
    "writes: DIR/<figure>.<format> for accuracy, deltas, loss, by_length, cost, quantization\n" +
    "(those the report has inputs for), exported through headless Chromium.",
  flags: {
    report: stringFlag("report manifest (written by notebooks/04_evaluate.ipynb)", {
      placeholder: "FILE",
      default: DEFAULT_REPORT,
    }),
    out: stringFlag("where images go (images: the committed README figures)", {
      placeholder: "DIR",
      required: true,
    }),
    formats: listFlag("image formats", { values: ["png", "svg"], default: ["png", "svg"] }),
    summary: stringFlag("also write the markdown summary there (image links relative to it)", {
      placeholder: "FILE",
    }),
  },
  exitStatus: "Exit status: 0 done; 2 bad arguments or missing results (the message says what " +
    "to run); 1 other failure.",
  run: async ({ values }) => {
    let report;
    try {
      report = loadReport(values.report);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const figures = reportFigures(report);
    const written = await exportFigures(figures as Record<string, FigureLike>, values.out, {
      formats: values.formats,
    });
    if (values.summary) {
      const images = relative(dirname(resolve(values.summary)), resolve(values.out)) || ".";
      writeFileSync(values.summary, reportMarkdown(report, { images }));
      written.push(values.summary);
    }
    for (const path of written) console.log(`wrote ${path}`);
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
