/**
 * The viewer's page (./page/): index.html, app.css, and app.js joined with query.js into one
 * classic script — a page opened from disk (a static export) may not load ES modules, so the
 * two files become one function scope: query.js's `export` keywords and app.js's import of it
 * are removed, nothing else changes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pageHtml, pageScript } from "./page_assets.ts";
 * assert.match(pageHtml({ static: true }), /TUNEBOOK_STATIC = "true" === "true"/);
 * assert.doesNotMatch(pageScript(), /^\s*(import|export) /m);
 * ```
 * @module
 */
import { readFileSync } from "node:fs";

const PAGE = new URL("./page/", import.meta.url);

function read(name: string): string {
  return readFileSync(new URL(name, PAGE), "utf8");
}

/** Options for {@linkcode pageHtml}. */
export interface PageHtmlOptions {
  /** The page of a static export: data from data/*.js files, not the API. Default: false. */
  static?: boolean;
}

/** index.html, for the server or a static export. */
export function pageHtml(options: PageHtmlOptions = {}): string {
  return read("index.html").replace("__STATIC__", options.static ? "true" : "false");
}

/** app.css. */
export function pageCss(): string {
  return read("app.css");
}

/** app.js with query.js, as one classic script. */
export function pageScript(): string {
  const query = read("query.js").replace(/^export /gm, "");
  const app = read("app.js").replace(/^import\s*\{[^}]*\}\s*from\s*"\.\/query\.js";\n/m, "");
  if (/^\s*(import|export) /m.test(query + app)) {
    throw new Error(
      "lib/view/page: app.js or query.js has an import or export the page cannot load",
    );
  }
  return `(() => {\n"use strict";\n${query}\n${app}\n})();\n`;
}
