/**
 * Showing figures, tables and markdown in Jupyter notebooks on the Deno kernel.
 *
 * A figure is displayed as a MIME bundle with three representations, so it renders everywhere:
 * - `application/vnd.plotly.v1+json`: the figure spec, drawn natively by VS Code (and by
 *   JupyterLab with the plotly extension);
 * - `text/html`: a `<div>` and a script that draws it with plotly.js (lib/plots/html.ts) —
 *   what classic Notebook and nbconvert's HTML export use;
 * - `text/plain`: the title and trace names, for consoles and text exports.
 *
 * The HTML fallback needs `window.Plotly`, which the setup cell loads once per notebook
 * (./plotly_loader.ts); `{ plotlyJs: "inline" }` makes a figure self-contained instead (4.7 MB).
 *
 * Polars DataFrames and plain rows display as an HTML table with a plain-text fallback
 * ({@linkcode tableDisplay}); nested values read as `key: value` text, p-values as
 * `formatPValue` prints them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureBundle } from "./display.ts";
 * const bundle = figureBundle({ data: [{ type: "bar", name: "a", x: [1], y: [2] }], layout: { title: { text: "demo" } } });
 * assert.deepEqual(Object.keys(bundle), ["application/vnd.plotly.v1+json", "text/html", "text/plain"]);
 * ```
 * @module
 */
import { formatPValue } from "../eval/p_value.ts";
import type { FigureLike } from "../plots/figures.ts";
import { escapeHtml, figureHtml, type FigureHtmlOptions, figureTitle } from "../plots/html.ts";

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

/**
 * Make a MIME bundle displayable by the Deno kernel (as a cell's last expression).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { displayable, JUPYTER_DISPLAY } from "./display.ts";
 * assert.deepEqual(displayable({ "text/plain": "hi" })[JUPYTER_DISPLAY](), { "text/plain": "hi" });
 * ```
 */
export function displayable(bundle: MimeBundle): Displayable {
  return { [JUPYTER_DISPLAY]: () => bundle };
}

/**
 * The MIME bundle of a figure: plotly JSON, HTML fallback and a text summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureBundle, PLOTLY_MIME } from "./display.ts";
 * const b = figureBundle({ data: [{ type: "scatter", name: "loss" }], layout: {} });
 * assert.ok(b[PLOTLY_MIME] !== undefined);
 * assert.equal(b["text/plain"], "[figure] figure — loss");
 * ```
 */
export function figureBundle(fig: FigureLike, options: FigureHtmlOptions = {}): MimeBundle {
  const names = fig.data.map((t) => t.name).filter(Boolean);
  const missingNote = `plotly.js is not loaded, so this figure (${figureTitle(fig)}) cannot be ` +
    `drawn: run the notebook's first code cell (setupNotebook()), then this one.`;
  return {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: fig.config ?? {} },
    "text/html": figureHtml(fig, { missingNote, ...options }),
    "text/plain": `[figure] ${figureTitle(fig)}${names.length ? ` — ${names.join(", ")}` : ""}`,
  };
}

/**
 * A figure the Deno kernel displays when it is a cell's last expression (or passed to
 * {@linkcode show}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { figureDisplay, JUPYTER_DISPLAY, PLOTLY_MIME } from "./display.ts";
 * const d = figureDisplay({ data: [], layout: {} });
 * assert.deepEqual(Object.keys(d[JUPYTER_DISPLAY]()), [PLOTLY_MIME, "text/html", "text/plain"]);
 * ```
 */
export function figureDisplay(fig: FigureLike, options: FigureHtmlOptions = {}): Displayable {
  return displayable(figureBundle(fig, options));
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
  /**
   * Columns holding p-values, printed as `formatPValue` does (`< 0.001`, `0.0123`). Default:
   * every column named `p` or starting with `p_` (as `comparisonFrame`'s `p_bootstrap`).
   */
  pValueColumns?: string[];
}

/** Whether a column holds p-values by the default naming rule of `pValueColumns`. */
function isPValueColumn(name: string): boolean {
  return name === "p" || name.startsWith("p_");
}

/**
 * A cell as text: numbers with `digits` decimals (integers as they are), lists as `a, b`, objects
 * as `key: value; key: value` (nested ones in parentheses) — never a JSON blob.
 */
function cell(v: unknown, digits: number, nested = false): string {
  if (typeof v === "number") {
    return Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toFixed(digits) : String(v);
  }
  if (v === null || v === undefined) return nested ? "null" : "";
  if (Array.isArray(v)) {
    const items = v.map((x) => cell(x, digits, true)).join(", ");
    return nested ? `[${items}]` : items;
  }
  if (typeof v === "object") {
    const pairs = Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${cell(x, digits, true)}`)
      .join("; ");
    return nested ? `(${pairs})` : pairs;
  }
  return String(v);
}

/**
 * The MIME bundle of a DataFrame (or plain rows): an HTML table and a plain-text table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableBundle } from "./display.ts";
 * const b = tableBundle([{ task: "qa", acc: 0.51234 }]);
 * assert.equal(b["text/plain"], "task  acc\n----  ------\nqa    0.5123");
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
  const pColumns = new Set(options.pValueColumns ?? columns.filter(isPValueColumn));
  const text = (r: Record<string, unknown>, c: string) =>
    pColumns.has(c) && typeof r[c] === "number" ? formatPValue(r[c] as number) : cell(r[c], digits);
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
          `vertical-align:top">${escapeHtml(cut(text(r, c), maxChars))}</td>`;
      }).join("") + "</tr>"
    ),
    "</tbody></table>",
    more ? `<div style="color:#555;font-size:12px">… ${more} more row(s)</div>` : "",
  ].join("");
  const plainText = textTable(
    columns,
    shown.map((r) => columns.map((c) => cut(text(r, c).replace(/\n/g, "⏎"), maxTextChars))),
  );
  return {
    "text/html": html,
    "text/plain": (caption ? `${caption}\n` : "") + plainText +
      (more ? `\n… ${more} more row(s)` : ""),
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
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { JUPYTER_DISPLAY, tableDisplay } from "./display.ts";
 * const d = tableDisplay(pl.DataFrame({ task: ["qa"], acc: [0.5] }));
 * assert.equal(d[JUPYTER_DISPLAY]()["text/plain"], "task  acc\n----  ------\nqa    0.5000");
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
 * import assert from "node:assert/strict";
 * import { JUPYTER_DISPLAY, markdownDisplay } from "./display.ts";
 * assert.deepEqual(markdownDisplay("# Report")[JUPYTER_DISPLAY](), {
 *   "text/markdown": "# Report",
 *   "text/plain": "# Report",
 * });
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
 * import assert from "node:assert/strict";
 * import { inJupyter } from "./display.ts";
 * assert.equal(inJupyter(), false); // under `deno run` and `deno test`
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
