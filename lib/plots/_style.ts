/**
 * The house style of every figure: fonts, colours, axes, legend, margins. One place, so the
 * README images, the notebooks and the HTML exports look alike.
 * @module
 */

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#D55E00",
  "#CC79A7",
  "#56B4E9",
  "#F0E442",
  "#000000",
];

/** Fonts chromium finds on Debian (fonts-dejavu, fonts-liberation) before generic ones. */
export const FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

/** Default pixel width of a figure (static export and notebook). */
export const FIGURE_WIDTH = 820;
/** Default pixel height of a figure. */
export const FIGURE_HEIGHT = 480;

const GRID = "#e5e5e5";
const AXIS_LINE = "#444";

/** Colour of the i-th series. */
export function color(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** A translucent version of a `#rrggbb` colour (bands, light lines). */
export function fade(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** An axis with a title, light grid and a visible line. */
export function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { text: title, standoff: 8 },
    gridcolor: GRID,
    linecolor: AXIS_LINE,
    showline: true,
    zeroline: false,
    ticks: "outside",
    automargin: true,
    ...extra,
  };
}

/** Pixels from the top: title, legend row and plot area, without and with a subtitle. */
const TITLE_TOP = 14;
const LEGEND_TOP = [46, 68];
const PLOT_TOP = [88, 110];

/**
 * The layout every figure starts from: white, title (and subtitle) at the top left, then a
 * horizontal legend row, then the plot — placed in pixels, so they never overlap.
 */
export function baseLayout(
  title: string,
  subtitle?: string,
  height = FIGURE_HEIGHT,
): Record<string, unknown> {
  const k = subtitle ? 1 : 0;
  return {
    title: {
      text: title,
      x: 0.01,
      xanchor: "left",
      xref: "container",
      y: 1 - TITLE_TOP / height,
      yanchor: "top",
      yref: "container",
      font: { size: 18 },
      ...(subtitle ? { subtitle: { text: subtitle, font: { size: 12, color: "#555" } } } : {}),
    },
    font: { family: FONT_FAMILY, size: 13, color: "#222" },
    paper_bgcolor: "white",
    plot_bgcolor: "white",
    width: FIGURE_WIDTH,
    height,
    margin: { l: 70, r: 30, t: PLOT_TOP[k], b: 70 },
    legend: {
      orientation: "h",
      x: 0.01,
      xanchor: "left",
      xref: "container",
      y: 1 - LEGEND_TOP[k] / height,
      yanchor: "top",
      yref: "container",
      bgcolor: "rgba(255,255,255,0)",
    },
    hoverlabel: { font: { family: FONT_FAMILY } },
  };
}

/** Asymmetric error bars from point estimates and intervals (NaN intervals draw none). */
export function errorBars(
  values: number[],
  cis: [number, number][],
  colour: string,
): Record<string, unknown> {
  return {
    type: "data",
    symmetric: false,
    array: cis.map(([, hi], i) => finiteOr(hi - values[i], 0)),
    arrayminus: cis.map(([lo], i) => finiteOr(values[i] - lo, 0)),
    visible: true,
    color: colour,
    thickness: 1.5,
    width: 5,
  };
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

/** `x` with `digits` decimals, "–" when not finite. */
export function num(x: number | null | undefined, digits = 3): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "–";
}
