/**
 * The notebooks' setup cell ({@linkcode setupNotebook}): the repository root becomes the working
 * folder, and plotly.js is made available once for the figures.
 *
 * Running a notebook again in the same kernel works: the setup goes to the same absolute folder
 * whatever the working folder is, and the notebooks import tunebook by the import-map prefix
 * `tunebook/` (deno.json: `"tunebook/": "./lib/"`), which does not depend on the working folder
 * either — a relative `../lib/…` import would resolve from the repository root after the first
 * setup, and fail.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync } from "node:fs";
 * import { join } from "node:path";
 * import { REPO_ROOT } from "./setup.ts";
 * assert.ok(existsSync(join(REPO_ROOT, "deno.json")));
 * ```
 * @module
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Displayable } from "./display.ts";
import { plotlyLoader, writePlotlySidecar } from "./plotly_loader.ts";

/** The repository root (where deno.json is): paths in the notebooks are relative to it. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The working folder when this module was first loaded: in Jupyter, the folder of the notebook
 * (the kernel starts there, and the notebook's import cell runs before its setup cell).
 */
const FIRST_CWD = process.cwd();

/** Options for {@linkcode setupNotebook}. */
export interface SetupNotebookOptions {
  /**
   * The notebook's folder, where plotly.js is copied for the figures' HTML fallback. Default: the
   * working folder when lib/notebook was first imported in this kernel.
   */
  notebookDir?: string;
}

/**
 * The setup cell's call, as the cell's last expression: make the repository root the working
 * folder (tunebook's paths such as data/tasks and the notebooks' parameters are relative to it),
 * copy plotly.min.js beside the notebook unless it is there, and return the output that loads
 * it once for the figures' HTML fallback (./plotly_loader.ts). Calling it again, from any working
 * folder, does the same. It is a return value rather than a mid-cell `Deno.jupyter.display`
 * because the Deno kernel can report a cell finished before a display message is out, and the
 * executor then drops it; a cell's result is sent before it finishes.
 *
 * @example
 * ```ts ignore
 * import { setupNotebook } from "tunebook/notebook/mod.ts";
 * setupNotebook(); // alone in its cell (a cell with imports shows no result)
 * ```
 */
export function setupNotebook(options: SetupNotebookOptions = {}): Displayable {
  // node:process's chdir, not Deno.chdir: graceful-fs (under node-llama-cpp) caches
  // process.cwd() and forgets it only on process.chdir.
  process.chdir(REPO_ROOT);
  try {
    writePlotlySidecar(options.notebookDir ?? FIRST_CWD);
  } catch (e) {
    // A read-only notebook folder: figures still draw where the frontend renders the plotly
    // mimetype; the loader's output says the file is missing.
    console.error(`tunebook: cannot copy plotly.js beside the notebook: ${(e as Error).message}`);
  }
  return plotlyLoader();
}
