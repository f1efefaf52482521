/**
 * plotly.js for the figures' HTML fallback, loaded once per notebook without inlining it.
 *
 * plotly.min.js is 4.7 MB. Inlined into a notebook's output (even once), every executed notebook
 * and every HTML export carried those 4.7 MB. Instead one copy sits **beside the notebook**
 * ({@linkcode PLOTLY_SIDECAR}, written by {@linkcode writePlotlySidecar}: the setup cell writes it
 * next to the notebook it runs in, `deno task notebooks` next to the executed copies and their
 * HTML), and the setup cell's output ({@linkcode plotlyLoader}) is a small script that loads it
 * by a relative URL and sets `window.Plotly`, which every figure's HTML waits for. That URL
 * resolves in classic Notebook (its `/notebooks/<folder>/plotly.min.js` redirects to the file),
 * in nbconvert's HTML export opened from disk or a web server, and in JupyterLab's file
 * server. VS Code draws figures from their plotly mimetype with its own plotly.js and needs none
 * of this. No network in any case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { existsSync } from "node:fs";
 * import { writePlotlySidecar } from "./plotly_loader.ts";
 * const path = writePlotlySidecar(Deno.makeTempDirSync());
 * assert.ok(existsSync(path) && path.endsWith("plotly.min.js"));
 * ```
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { PLOTLY_JS_PATH, plotlyVersion, scriptJson } from "../plots/html.ts";
import { type Displayable, displayable } from "./display.ts";

/** File name of the plotly.js copy beside a notebook (and the URL the loader fetches). */
export const PLOTLY_SIDECAR = "plotly.min.js";

/**
 * Copy node_modules' plotly.min.js to `<dir>/plotly.min.js` unless the same file is there
 * already (same size and not older); returns its path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { statSync } from "node:fs";
 * import { writePlotlySidecar } from "./plotly_loader.ts";
 * const dir = Deno.makeTempDirSync();
 * assert.ok(statSync(writePlotlySidecar(dir)).size > 4_000_000);
 * ```
 */
export function writePlotlySidecar(dir: string): string {
  const path = join(dir, PLOTLY_SIDECAR);
  let source;
  try {
    source = statSync(PLOTLY_JS_PATH);
  } catch {
    throw new Error(
      `${PLOTLY_JS_PATH} not found: plotly.js is not installed; run \`deno task setup\` ` +
        `(it runs \`deno install\`) in the repository`,
    );
  }
  if (existsSync(path)) {
    const have = statSync(path);
    if (have.size === source.size && have.mtimeMs >= source.mtimeMs) return path;
  }
  mkdirSync(dir, { recursive: true });
  copyFileSync(PLOTLY_JS_PATH, path);
  return path;
}

/** Options for {@linkcode plotlyLoader}. */
export interface PlotlyLoaderOptions {
  /** URL of plotly.js, relative to the notebook's page. Default: {@linkcode PLOTLY_SIDECAR}. */
  src?: string;
}

/**
 * The setup cell's output: a one-line status and a script that loads plotly.js from `src` once
 * (nothing when `window.Plotly` is there already) and says whether it worked. A few kB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { JUPYTER_DISPLAY } from "./display.ts";
 * import { plotlyLoader } from "./plotly_loader.ts";
 * const html = String(plotlyLoader()[JUPYTER_DISPLAY]()["text/html"]);
 * assert.ok(html.includes('"plotly.min.js"') && html.length < 5000);
 * ```
 */
export function plotlyLoader(options: PlotlyLoaderOptions = {}): Displayable {
  const { src = PLOTLY_SIDECAR } = options;
  const version = plotlyVersion();
  const id = `tunebook-plotly-${crypto.randomUUID()}`;
  const loaded = `tunebook: plotly.js ${version} loaded for this notebook's figures (from ${src} ` +
    `beside the notebook; no network).`;
  const missing = `tunebook: ${src} is not beside this notebook, so figures draw only where the ` +
    `frontend renders plotly figures itself (VS Code). Run setupNotebook() in this folder (it ` +
    `writes the file), or copy node_modules/plotly.js-dist-min/plotly.min.js here.`;
  const script = `(function () {
  var el = document.getElementById(${scriptJson(id)});
  function say(text) { if (el) el.textContent = text; }
  if (window.Plotly) { say(${scriptJson(loaded)}); return; }
  var s = document.createElement("script");
  s.src = ${scriptJson(src)};
  s.onload = function () { say(${scriptJson(loaded)}); };
  s.onerror = function () { say(${scriptJson(missing)}); };
  document.head.appendChild(s);
})();`;
  return displayable({
    "text/html": `<div id="${id}" style="color:#555;font-size:12px">tunebook: loading plotly.js ` +
      `${version} for this notebook's figures…</div>\n<script type="text/javascript">${script}` +
      `</script>`,
    "text/plain": `tunebook: plotly.js ${version} for this notebook's figures (${src})`,
  });
}
