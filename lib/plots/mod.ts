/**
 * Plots, tables and notebook support: figure builders that return plotly.js specs from result
 * files ({@link ./figures.ts}), their display in Jupyter with an HTML fallback
 * ({@link ./display.ts}), static PNG/SVG export through headless Chromium ({@link ./export.ts}),
 * polars tables ({@link ./tables.ts}), the report behind the README figures
 * ({@link ./report.ts}), notebook helpers ({@link ./notebook.ts}) and the headless notebook run
 * ({@link ./run_notebooks.ts}), and the evaluation suite behind notebook 04 ({@link ./suite.ts}).
 *
 * @example
 * ```ts
 * import { figureBundle, lossFigure } from "./mod.ts";
 * const fig = lossFigure([{ label: "run", events: [{ event: "step", step: 1, loss: 2 }] }]);
 * console.log(figureBundle(fig)["text/plain"]);
 * ```
 * @module
 */
export * from "./figures.ts";
export * from "./display.ts";
export * from "./export.ts";
export * from "./tables.ts";
export * from "./report.ts";
export * from "./notebook.ts";
export * from "./run_notebooks.ts";
export * from "./suite.ts";
