/**
 * Figures: builders that return plotly.js specs from result files ({@link ./figures.ts}; per-class
 * accuracy in {@link ./class_figure.ts}, a score per training checkpoint in
 * {@link ./checkpoint_figure.ts}), a
 * figure as HTML drawn by plotly.js ({@link ./html.ts}), and the report behind the README figures
 * and its markdown summary ({@link ./report.ts}). Showing them in a notebook is lib/notebook's
 * job.
 *
 * Static PNG/SVG export ({@link ./export.ts}: puppeteer-core driving Debian's Chromium) is not
 * re-exported here, so importing this module (or lib/mod.ts) does not load puppeteer; import
 * `exportFigures` from `./export.ts` where images are written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossFigure } from "./mod.ts";
 * const fig = lossFigure([{ label: "run", events: [{ event: "step", step: 1, loss: 2 }] }]);
 * assert.deepEqual(fig.data.map((t) => t.name), ["run: training", "run: training (smoothed)", "run: validation"]);
 * ```
 * @module
 */
export * from "./figures.ts";
export * from "./class_figure.ts";
export * from "./loss_figure.ts";
export * from "./checkpoint_figure.ts";
export * from "./html.ts";
export * from "./report.ts";
