/**
 * What the notebooks call so that they stay thin: the setup cell ({@link ./setup.ts}), the
 * parameters cell and input checks ({@link ./params.ts}), display of figures, tables and
 * markdown in Jupyter ({@link ./display.ts}) with plotly.js loaded once per notebook
 * ({@link ./plotly_loader.ts}), result tables as polars DataFrames ({@link ./tables.ts}), the items a comparison fixed and
 * broke ({@link ./changed_items.ts}), live
 * training progress ({@link ./live_training.ts}), evaluation with run reuse
 * ({@link ./evaluate.ts}), the evaluation suite behind notebook 04 ({@link ./suite.ts}), run
 * folders and task rows ({@link ./run_dir.ts}, {@link ./task_rows.ts}), and the headless run
 * behind `deno task notebooks` ({@link ./run_notebooks.ts}). Figures themselves come from
 * lib/plots.
 *
 * Notebooks import it as `tunebook/notebook/mod.ts` (deno.json's import map), which resolves the
 * same from any working folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JUPYTER_DISPLAY, tableDisplay } from "./mod.ts";
 * const text = tableDisplay([{ task: "qa", p_mcnemar: 9e-11 }])[JUPYTER_DISPLAY]()["text/plain"];
 * assert.match(String(text), /< 0\.001/);
 * ```
 * @module
 */
export * from "./setup.ts";
export * from "./params.ts";
export * from "./display.ts";
export * from "./plotly_loader.ts";
export * from "./tables.ts";
export * from "./changed_items.ts";
export * from "./live_training.ts";
export * from "./evaluate.ts";
export * from "./suite.ts";
export * from "./run_dir.ts";
export * from "./task_rows.ts";
export * from "./run_notebooks.ts";
