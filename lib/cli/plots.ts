/**
 * `deno task plots` — regenerate the README figures from results/: read the report manifest that
 * notebooks/04_evaluate.ipynb writes (results/notebooks/report.json), build every figure
 * (lib/plots/report.ts) and export each as PNG and SVG through headless Chromium, plus the
 * markdown summary.
 *
 *   deno task plots --out images                      # results/notebooks/report.json → images/
 *   deno task plots --report other/report.json --out /tmp/figs --formats png
 *   deno task plots --recipe results/recipes/S4/<run-id> --only by_length,cost --out images/recipes/S4
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
import { RecipeInputError } from "../recipes/presets.ts";
import { loadRecipeFigures } from "../recipes/run.ts";
import { defineCommand, listFlag, runCommand, stringFlag, UsageError } from "./_command.ts";

/** `deno task plots`. */
export const command = defineCommand({
  name: "plots",
  summary: "Regenerate the README figures from the report manifest notebooks/04_evaluate.ipynb\n" +
    "writes: DIR/<figure>.<format> for accuracy, deltas, loss, by_length, cost, quantization\n" +
    "(those the report has inputs for), exported through headless Chromium; or, with --recipe,\n" +
    "the figures a recipe run drew (deno task recipe: per_class, checkpoints, by_length, cost, …).",
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
    recipe: stringFlag(
      "a finished recipe run's folder: export the figures it drew (its figures/*.json, as " +
        "drawn then) instead of the report's",
      {
        placeholder: "DIR",
      },
    ),
    only: listFlag("export only these figures (names as the report or run has them)", {
      item: "figure",
    }),
  },
  exitStatus: "Exit status: 0 done; 2 bad arguments or missing results (the message says what " +
    "to run); 1 other failure.",
  run: async ({ values }) => {
    let report;
    let figures: Record<string, FigureLike>;
    if (values.recipe !== undefined) {
      if (values.summary) throw new UsageError("--summary is for a report, not with --recipe");
      if (values.report !== DEFAULT_REPORT) {
        throw new UsageError("--report and --recipe are two sources; give one of them");
      }
      try {
        figures = loadRecipeFigures(values.recipe) as Record<string, FigureLike>;
      } catch (e) {
        throw e instanceof RecipeInputError ? new UsageError(e.message) : e;
      }
    } else {
      try {
        report = loadReport(values.report);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      figures = reportFigures(report) as Record<string, FigureLike>;
    }
    if (values.only?.length) {
      const unknown = values.only.filter((name) => !(name in figures));
      if (unknown.length) {
        throw new UsageError(
          `--only: no figure ${unknown.map((n) => `"${n}"`).join(", ")} here; ` +
            `there are: ${Object.keys(figures).join(", ")}`,
        );
      }
      figures = Object.fromEntries(values.only.map((name) => [name, figures[name]]));
    }
    const written = await exportFigures(figures, values.out, { formats: values.formats });
    if (values.summary && report) {
      const images = relative(dirname(resolve(values.summary)), resolve(values.out)) || ".";
      writeFileSync(values.summary, reportMarkdown(report, { images }));
      written.push(values.summary);
    }
    for (const path of written) console.log(`wrote ${path}`);
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
