/**
 * Static export of figures to PNG and SVG through headless Chromium (puppeteer-core driving
 * Debian's `/usr/bin/chromium`; `TUNEBOOK_CHROMIUM` overrides): a blank page loads plotly.js from
 * node_modules (no network) and `Plotly.toImage` renders each figure at its layout's size.
 * Chromium starts once per call and every figure and format reuses the page.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { accuracyFigure } from "./figures.ts";
 * import { exportFigures } from "./export.ts";
 * const written = await exportFigures({ accuracy: accuracyFigure(runs) }, "images");
 * assert.deepEqual(written, ["images/accuracy.png", "images/accuracy.svg"]);
 * ```
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { plotlyJs } from "./html.ts";
import type { FigureLike } from "./figures.ts";
import { FIGURE_HEIGHT, FIGURE_WIDTH } from "./_style.ts";

/** Where Debian's chromium package installs the browser. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** Flags for a headless, offline, throw-away Chromium. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** An image format {@linkcode exportFigures} writes. */
export type ImageFormat = "png" | "svg";

/** Options for {@linkcode exportFigures}. */
export interface ExportOptions {
  /** Formats to write, one file each per figure. Default: ["png", "svg"]. */
  formats?: ImageFormat[];
  /** PNG pixel density (2 = sharp on high-DPI screens). Default: 2. */
  scale?: number;
  /** Chromium executable. Default: `TUNEBOOK_CHROMIUM`, else /usr/bin/chromium. */
  chromium?: string;
  /** Give up on Chromium's start or one image after this long. Default: 60000 ms. */
  timeoutMs?: number;
}

/**
 * The Chromium executable to use, or an error saying how to get one.
 *
 * @example
 * ```ts ignore
 * import { findChromium } from "./export.ts";
 * const chromium = findChromium(); // $TUNEBOOK_CHROMIUM, else e.g. "/usr/bin/chromium"
 * ```
 */
export function findChromium(explicit?: string): string {
  const path = explicit ?? Deno.env.get("TUNEBOOK_CHROMIUM") ?? DEFAULT_CHROMIUM;
  if (!existsSync(path)) {
    throw new Error(
      `${path}: Chromium not found; static figure export needs it. Install Debian's chromium ` +
        `(\`deno task setup\` does: apt-get install chromium) or set TUNEBOOK_CHROMIUM to a ` +
        `Chromium or Chrome executable.`,
    );
  }
  return path;
}

/**
 * Write each figure as `<dir>/<name>.<format>`; returns the paths written. Names must be plain
 * file names (letters, digits, `_`, `-`, `.`).
 *
 * @example
 * ```ts ignore
 * import { exportFigures } from "./export.ts";
 * await exportFigures({ loss: fig }, "images", { formats: ["png"] });
 * ```
 */
export async function exportFigures(
  figures: Record<string, FigureLike>,
  dir: string,
  options: ExportOptions = {},
): Promise<string[]> {
  const { formats = ["png", "svg"], scale = 2, timeoutMs = 60_000 } = options;
  for (const name of Object.keys(figures)) {
    if (!/^[\w.-]+$/.test(name)) {
      throw new Error(
        `exportFigures: figure name "${name}" is not a plain file name ([A-Za-z0-9_.-])`,
      );
    }
  }
  const executablePath = findChromium(options.chromium);
  mkdirSync(dir, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "tunebook-chromium-"));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
    timeout: timeoutMs,
    protocolTimeout: timeoutMs,
  });
  const written: string[] = [];
  try {
    const page = await browser.newPage();
    await page.setContent("<!doctype html><html><body></body></html>");
    await page.addScriptTag({ content: plotlyJs() });
    for (const [name, fig] of Object.entries(figures)) {
      for (const format of formats) {
        const url = await page.evaluate(
          (f: FigureLike, fmt: string, s: number, w: number, h: number) => {
            const Plotly = (globalThis as unknown as {
              Plotly: { toImage(fig: unknown, opts: unknown): Promise<string> };
            }).Plotly;
            return Plotly.toImage(f, {
              format: fmt,
              width: Number(f.layout.width) || w,
              height: Number(f.layout.height) || h,
              scale: fmt === "png" ? s : 1,
            });
          },
          fig,
          format,
          scale,
          FIGURE_WIDTH,
          FIGURE_HEIGHT,
        );
        const path = join(dir, `${name}.${format}`);
        writeFileSync(path, decodeDataUrl(url));
        written.push(path);
      }
    }
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return written;
}

/**
 * The bytes of a `data:` URL (base64 or percent-encoded, as Plotly.toImage returns them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeDataUrl } from "./export.ts";
 * assert.equal(new TextDecoder().decode(decodeDataUrl("data:image/svg+xml,%3Csvg%3E")), "<svg>");
 * assert.deepEqual(decodeDataUrl("data:image/png;base64,AAE="), new Uint8Array([0, 1]));
 * ```
 */
export function decodeDataUrl(url: string): Uint8Array {
  const comma = url.indexOf(",");
  if (!url.startsWith("data:") || comma < 0) {
    throw new Error(`not a data: URL (starts with ${JSON.stringify(url.slice(0, 30))})`);
  }
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  if (meta.endsWith(";base64")) return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  return new TextEncoder().encode(decodeURIComponent(body));
}
