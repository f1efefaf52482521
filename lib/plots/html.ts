/**
 * Figures as HTML: a `<div>` that plotly.js draws, for the notebooks' `text/html` fallback and
 * for any page that shows a figure. plotly.js comes from node_modules (`npm:plotly.js-dist-min`,
 * no network): either loaded once per page by whoever shows the figures (`window.Plotly`; the
 * figure's script waits for it), or inlined into one self-contained figure
 * (`{ plotlyJs: "inline" }`, 4.7 MB).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureHtml } from "./html.ts";
 * const html = figureHtml({ data: [], layout: { title: { text: "t" } } }, { id: "fig1" });
 * assert.ok(html.includes('<div id="fig1" class="tunebook-figure"'));
 * ```
 * @module
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FigureLike } from "./figures.ts";

/** How long a figure's HTML waits for plotly.js before showing its "not loaded" note. */
export const PLOTLY_WAIT_MS = 10_000;

/** Where plotly.js is (resolved once; `npm:plotly.js-dist-min` via deno.json). */
export const PLOTLY_JS_PATH: string = fileURLToPath(
  new URL("../../node_modules/plotly.js-dist-min/plotly.min.js", import.meta.url),
);

let plotlyCache: string | undefined;

/**
 * plotly.min.js's source, read from node_modules (installed by `deno task setup`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plotlyJs } from "./html.ts";
 * assert.match(plotlyJs().slice(0, 100), /plotly\.js v3/);
 * ```
 */
export function plotlyJs(): string {
  if (plotlyCache === undefined) {
    try {
      plotlyCache = readFileSync(PLOTLY_JS_PATH, "utf8");
    } catch {
      throw new Error(
        `${PLOTLY_JS_PATH} not found: plotly.js is not installed; run \`deno task setup\` ` +
          `(it runs \`deno install\`) in the repository`,
      );
    }
  }
  return plotlyCache;
}

/**
 * The version of the plotly.js in node_modules, from its header comment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plotlyVersion } from "./html.ts";
 * assert.match(plotlyVersion(), /^3\.\d+\.\d+$/);
 * ```
 */
export function plotlyVersion(): string {
  return plotlyJs().match(/plotly\.js v([\d.]+)/)?.[1] ?? "?";
}

/**
 * Escape text for HTML.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./html.ts";
 * assert.equal(escapeHtml("<b>&</b>"), "&lt;b&gt;&amp;&lt;/b&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/**
 * JSON that is safe inside a `<script>` element (no `</script>` or line separator ends it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scriptJson } from "./html.ts";
 * assert.equal(scriptJson("</script>"), '"\\u003c/script>"');
 * ```
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

/**
 * plotly.js inlined in a `<script>` element (no `</script>` inside can end it early): 4.7 MB.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plotlyScriptTag } from "./html.ts";
 * assert.ok(plotlyScriptTag().startsWith("<script"));
 * ```
 */
export function plotlyScriptTag(): string {
  return `<script type="text/javascript">${
    plotlyJs().replace(/<\/script/gi, "<\\/script")
  }</script>`;
}

/**
 * A figure's title as plain text (tags become spaces).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureTitle } from "./html.ts";
 * assert.equal(figureTitle({ data: [], layout: { title: { text: "Loss<br>per step" } } }), "Loss per step");
 * ```
 */
export function figureTitle(fig: FigureLike): string {
  const t = fig.layout.title as { text?: string } | string | undefined;
  const text = typeof t === "string" ? t : t?.text ?? "figure";
  return text.replace(/<[^>]+>/g, " ");
}

/** Options for {@linkcode figureHtml}. */
export interface FigureHtmlOptions {
  /**
   * "once": rely on `window.Plotly`, loaded once for the page by whoever shows the figures;
   * "inline": embed plotly.js (4.7 MB) in this figure. Default: "once".
   */
  plotlyJs?: "once" | "inline";
  /** Element id of the figure's div. Default: a fresh random id. */
  id?: string;
  /**
   * Text shown in place of the figure when plotly.js is not there after
   * {@linkcode PLOTLY_WAIT_MS}. Default: "plotly.js is not loaded, so this figure (<title>) cannot
   * be drawn."
   */
  missingNote?: string;
}

/**
 * The HTML of a figure: a `<div>` drawn by plotly.js (see the module documentation for where
 * plotly.js comes from).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureHtml } from "./html.ts";
 * const html = figureHtml({ data: [], layout: { title: { text: "t" } } }, { id: "fig1" });
 * assert.ok(html.includes('id="fig1"') && html.includes("window.Plotly.newPlot"));
 * ```
 */
export function figureHtml(fig: FigureLike, options: FigureHtmlOptions = {}): string {
  const { plotlyJs: mode = "once", id = `tunebook-${crypto.randomUUID()}` } = options;
  const width = Number(fig.layout.width) || undefined;
  const height = Number(fig.layout.height) || undefined;
  const style = `width:100%;max-width:${width ?? 820}px;height:${height ?? 480}px;`;
  const note = options.missingNote ??
    `plotly.js is not loaded, so this figure (${figureTitle(fig)}) cannot be drawn.`;
  const draw = `(function () {
  var fig = ${scriptJson(fig)};
  var el = document.getElementById(${scriptJson(id)});
  var waited = 0;
  function draw() {
    if (window.Plotly) {
      el.textContent = "";
      var layout = Object.assign({}, fig.layout, { width: undefined, autosize: true });
      window.Plotly.newPlot(el, fig.data, layout, fig.config || { responsive: true });
    } else if (waited < ${PLOTLY_WAIT_MS}) {
      waited += 100;
      setTimeout(draw, 100);
    } else {
      el.textContent = ${scriptJson(note)};
    }
  }
  draw();
})();`;
  return `${mode === "inline" ? plotlyScriptTag() : ""}<div id="${
    escapeHtml(id)
  }" class="tunebook-figure" ` +
    `style="${style}">drawing ${escapeHtml(figureTitle(fig))}…</div>\n` +
    `<script type="text/javascript">${draw}</script>`;
}
