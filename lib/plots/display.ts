/**
 * Showing figures, tables and markdown in Jupyter notebooks on the Deno kernel.
 *
 * A figure is displayed as a MIME bundle with three representations, so it renders everywhere:
 * - `application/vnd.plotly.v1+json`: the figure spec, drawn natively by VS Code and by
 *   JupyterLab with the plotly extension;
 * - `text/html`: a `<div>` and a script that draws it with plotly.js — what JupyterLab without
 *   the extension, classic Notebook and nbconvert's HTML export use;
 * - `text/plain`: the title and trace names, for consoles and text exports.
 *
 * **Where plotly.js comes from (no network).** plotly.min.js is 4.7 MB. Inlining it into every
 * figure would make an executed notebook tens of MB, so by default it is inlined **once per
 * notebook**: the setup cell's output ({@linkcode plotlyLoader}, shown by `setupNotebook`)
 * carries it and sets `window.Plotly`, and each figure's HTML waits for `window.Plotly` (up to
 * {@linkcode PLOTLY_WAIT_MS}) and otherwise says to run the setup cell. Frontends that render the
 * plotly mimetype do not need it. `{ plotlyJs: "inline" }` makes a figure self-contained (one
 * HTML file, an HTML output copied elsewhere).
 *
 * Polars DataFrames display as an HTML table with a plain-text fallback ({@linkcode tableDisplay}).
 *
 * @example
 * ```ts
 * import { figureBundle } from "./display.ts";
 * const bundle = figureBundle({ data: [{ type: "bar", name: "a", x: [1], y: [2] }], layout: { title: { text: "demo" } } });
 * console.log(Object.keys(bundle)); // ["application/vnd.plotly.v1+json", "text/html", "text/plain"]
 * ```
 * @module
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FigureLike } from "./figures.ts";

/** A Jupyter MIME bundle: MIME type → data. */
export type MimeBundle = Record<string, unknown>;

/** What the Deno kernel displays: an object with a `Symbol.for("Jupyter.display")` method. */
export interface Displayable {
  [key: symbol]: () => MimeBundle;
}

/** The symbol the Deno kernel looks for (`Deno.jupyter.$display`). */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** MIME type of plotly figures. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** How long a figure's HTML waits for plotly.js before showing the "run the setup cell" note. */
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
 * ```ts ignore
 * import { plotlyJs } from "./display.ts";
 * console.log(plotlyJs().length); // ~4.7 MB
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
 * Make a MIME bundle displayable by the Deno kernel (as a cell's last expression).
 *
 * @example
 * ```ts
 * import { displayable, JUPYTER_DISPLAY } from "./display.ts";
 * console.log(displayable({ "text/plain": "hi" })[JUPYTER_DISPLAY]()); // { "text/plain": "hi" }
 * ```
 */
export function displayable(bundle: MimeBundle): Displayable {
  return { [JUPYTER_DISPLAY]: () => bundle };
}

/** Options for {@linkcode figureBundle} and {@linkcode figureHtml}. */
export interface FigureHtmlOptions {
  /**
   * "once": rely on `window.Plotly` from the notebook's setup cell; "inline": embed plotly.js
   * (4.7 MB) in this figure. Default: "once".
   */
  plotlyJs?: "once" | "inline";
  /** Element id of the figure's div. Default: a fresh random id. */
  id?: string;
}

/**
 * Escape text for HTML.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./display.ts";
 * console.log(escapeHtml("<b>&</b>")); // "&lt;b&gt;&amp;&lt;/b&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** JSON that is safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

/** plotly.js inside a `<script>` element (no `</script>` can end it early). */
function plotlyScript(): string {
  return `<script type="text/javascript">${
    plotlyJs().replace(/<\/script/gi, "<\\/script")
  }</script>`;
}

/**
 * A figure's title as plain text (tags become spaces).
 *
 * @example
 * ```ts
 * import { figureTitle } from "./display.ts";
 * console.log(figureTitle({ data: [], layout: { title: { text: "Loss<br>per step" } } })); // "Loss per step"
 * ```
 */
export function figureTitle(fig: FigureLike): string {
  const t = fig.layout.title as { text?: string } | string | undefined;
  const text = typeof t === "string" ? t : t?.text ?? "figure";
  return text.replace(/<[^>]+>/g, " ");
}

/**
 * The HTML of a figure: a `<div>` drawn by plotly.js (see the module documentation for where
 * plotly.js comes from).
 *
 * @example
 * ```ts
 * import { figureHtml } from "./display.ts";
 * const html = figureHtml({ data: [], layout: { title: { text: "t" } } }, { id: "fig1" });
 * console.log(html.includes('id="fig1"')); // true
 * ```
 */
export function figureHtml(fig: FigureLike, options: FigureHtmlOptions = {}): string {
  const { plotlyJs: mode = "once", id = `tunebook-${crypto.randomUUID()}` } = options;
  const width = Number(fig.layout.width) || undefined;
  const height = Number(fig.layout.height) || undefined;
  const style = `width:100%;max-width:${width ?? 820}px;height:${height ?? 480}px;`;
  const note = `plotly.js is not loaded, so this figure (${escapeHtml(figureTitle(fig))}) ` +
    `cannot be drawn: run the notebook's first code cell (setupNotebook()), then this one.`;
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
  return `${mode === "inline" ? plotlyScript() : ""}<div id="${
    escapeHtml(id)
  }" class="tunebook-figure" ` +
    `style="${style}">drawing ${escapeHtml(figureTitle(fig))}…</div>\n` +
    `<script type="text/javascript">${draw}</script>`;
}

/**
 * The MIME bundle of a figure: plotly JSON, HTML fallback and a text summary.
 *
 * @example
 * ```ts
 * import { figureBundle, PLOTLY_MIME } from "./display.ts";
 * const b = figureBundle({ data: [{ type: "scatter", name: "loss" }], layout: {} });
 * console.log(b[PLOTLY_MIME] !== undefined, b["text/plain"]);
 * ```
 */
export function figureBundle(fig: FigureLike, options: FigureHtmlOptions = {}): MimeBundle {
  const names = fig.data.map((t) => t.name).filter(Boolean);
  return {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: fig.config ?? {} },
    "text/html": figureHtml(fig, options),
    "text/plain": `[figure] ${figureTitle(fig)}${names.length ? ` — ${names.join(", ")}` : ""}`,
  };
}

/**
 * A figure the Deno kernel displays when it is a cell's last expression (or passed to
 * {@linkcode show}).
 *
 * @example
 * ```ts
 * import { figureDisplay, JUPYTER_DISPLAY } from "./display.ts";
 * const d = figureDisplay({ data: [], layout: {} });
 * console.log(Object.keys(d[JUPYTER_DISPLAY]()).length); // 3
 * ```
 */
export function figureDisplay(fig: FigureLike, options: FigureHtmlOptions = {}): Displayable {
  return displayable(figureBundle(fig, options));
}

/**
 * The setup cell's output: plotly.js inlined once for the figures' HTML fallback, and a line
 * saying so.
 *
 * @example
 * ```ts ignore
 * import { plotlyLoader } from "./display.ts";
 * plotlyLoader(); // last expression of the notebook's first cell
 * ```
 */
export function plotlyLoader(): Displayable {
  const version = plotlyJs().match(/plotly\.js v([\d.]+)/)?.[1] ?? "?";
  return displayable({
    "text/html": `${plotlyScript()}<div style="color:#555;font-size:12px">tunebook: plotly.js ` +
      `${version} loaded for this notebook's figures (inlined once; no network needed).</div>`,
    "text/plain": `tunebook: plotly.js ${version} loaded for this notebook's figures`,
  });
}

/** The minimal DataFrame surface {@linkcode tableDisplay} reads (nodejs-polars' fits). */
export interface DataFrameLike {
  /** Column names. */
  columns: string[];
  /** Rows as objects. */
  toRecords(): Record<string, unknown>[];
  /** The first rows. */
  head(n?: number): DataFrameLike;
  /** Row count. */
  height: number;
  /** Polars' text rendering. */
  toString(): string;
}

/** Options for {@linkcode tableDisplay}. */
export interface TableDisplayOptions {
  /** Rows shown (the rest are counted). Default: 50. */
  maxRows?: number;
  /** Decimals of floating-point cells in the HTML. Default: 4. */
  digits?: number;
  /** Caption above the table. Default: none. */
  caption?: string;
  /** Longest cell text in the HTML (longer text is cut with "…"). Default: 400. */
  maxChars?: number;
  /** Longest cell text in the plain-text fallback (newlines shown as ⏎). Default: 60. */
  maxTextChars?: number;
}

function cell(v: unknown, digits: number): string {
  if (typeof v === "number") {
    return Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toFixed(digits) : String(v);
  }
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * The MIME bundle of a DataFrame (or plain rows): an HTML table and a plain-text table.
 *
 * @example
 * ```ts
 * import { tableBundle } from "./display.ts";
 * const b = tableBundle([{ task: "qa", acc: 0.51234 }]);
 * console.log(b["text/plain"]);
 * ```
 */
export function tableBundle(
  table: DataFrameLike | readonly object[],
  options: TableDisplayOptions = {},
): MimeBundle {
  const { maxRows = 50, digits = 4, caption, maxChars = 400, maxTextChars = 60 } = options;
  const plain = isRowArray(table) ? (table as Record<string, unknown>[]) : undefined;
  const frame = table as DataFrameLike;
  const rows = plain ?? frame.head(maxRows).toRecords();
  const total = plain ? plain.length : frame.height;
  const columns = plain ? [...new Set(plain.flatMap((r) => Object.keys(r)))] : frame.columns;
  const shown = rows.slice(0, maxRows);
  const more = total > shown.length ? total - shown.length : 0;
  const html = [
    `<table class="tunebook-table" style="border-collapse:collapse;font-size:13px">`,
    caption
      ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(caption)}</caption>`
      : "",
    "<thead><tr>",
    ...columns.map((c) =>
      `<th style="text-align:left;border-bottom:1px solid #999;padding:2px 8px">${
        escapeHtml(c)
      }</th>`
    ),
    "</tr></thead><tbody>",
    ...shown.map((r) =>
      "<tr>" +
      columns.map((c) => {
        const v = r[c];
        const align = typeof v === "number" ? "right" : "left";
        return `<td style="text-align:${align};padding:2px 8px;white-space:pre-wrap;` +
          `vertical-align:top">${escapeHtml(cut(cell(v, digits), maxChars))}</td>`;
      }).join("") + "</tr>"
    ),
    "</tbody></table>",
    more ? `<div style="color:#555;font-size:12px">… ${more} more row(s)</div>` : "",
  ].join("");
  const text = textTable(
    columns,
    shown.map((r) => columns.map((c) => cut(cell(r[c], digits).replace(/\n/g, "⏎"), maxTextChars))),
  );
  return {
    "text/html": html,
    "text/plain": (caption ? `${caption}\n` : "") + text + (more ? `\n… ${more} more row(s)` : ""),
  };
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function isRowArray(table: DataFrameLike | readonly object[]): table is readonly object[] {
  return Array.isArray(table);
}

function textTable(columns: string[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  return [line(columns), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * A DataFrame (or plain rows) the Deno kernel displays as an HTML table, with a text fallback.
 *
 * @example
 * ```ts
 * import pl from "nodejs-polars";
 * import { JUPYTER_DISPLAY, tableDisplay } from "./display.ts";
 * const d = tableDisplay(pl.DataFrame({ task: ["qa"], acc: [0.5] }));
 * console.log(d[JUPYTER_DISPLAY]()["text/plain"]);
 * ```
 */
export function tableDisplay(
  table: DataFrameLike | readonly object[],
  options: TableDisplayOptions = {},
): Displayable {
  return displayable(tableBundle(table, options));
}

/**
 * Markdown the Deno kernel displays rendered, with the source as the text fallback.
 *
 * @example
 * ```ts
 * import { JUPYTER_DISPLAY, markdownDisplay } from "./display.ts";
 * console.log(markdownDisplay("# Report")[JUPYTER_DISPLAY]()["text/markdown"]);
 * ```
 */
export function markdownDisplay(markdown: string): Displayable {
  return displayable({ "text/markdown": markdown, "text/plain": markdown });
}

interface JupyterApi {
  display(
    obj: unknown,
    options?: { raw?: boolean; update?: boolean; display_id?: string },
  ): Promise<void>;
}

function jupyter(): JupyterApi | undefined {
  return (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
}

/**
 * True inside a Jupyter kernel (Deno.jupyter exists).
 *
 * @example
 * ```ts
 * import { inJupyter } from "./display.ts";
 * console.log(inJupyter()); // false under `deno run` and `deno test`
 * ```
 */
export function inJupyter(): boolean {
  try {
    return jupyter() !== undefined;
  } catch {
    return false;
  }
}

/** Options for {@linkcode show}. */
export interface ShowOptions {
  /** Display id: a later `show` with the same id and `update: true` replaces the output. Default: none. */
  displayId?: string;
  /** Replace the output with this `displayId` instead of adding one. Default: false. */
  update?: boolean;
}

/**
 * Display now (mid-cell): in Jupyter through `Deno.jupyter.display`; elsewhere the text/plain
 * representation goes to stdout.
 *
 * @example
 * ```ts
 * import { markdownDisplay, show } from "./display.ts";
 * await show(markdownDisplay("**done**")); // prints "**done**" outside Jupyter
 * ```
 */
export async function show(item: Displayable, options: ShowOptions = {}): Promise<void> {
  const bundle = item[JUPYTER_DISPLAY]();
  const api = inJupyter() ? jupyter() : undefined;
  if (api) {
    await api.display(bundle, {
      raw: true,
      update: options.update ?? false,
      ...(options.displayId ? { display_id: options.displayId } : {}),
    });
    return;
  }
  if (!options.update) console.log(String(bundle["text/plain"] ?? ""));
}
