/**
 * The README's table of seed workflows is `deno task recipe --table`'s output, not typed by hand:
 * the block between its markers equals results/recipes/summary.md, which that command wrote from
 * the run manifests (results/recipes/summary.json holds the same rows), cell by cell (`deno fmt`
 * pads the README's columns).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type RecipeSummaryRow, recipeTable } from "../../lib/recipes/mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A markdown table's cells, trimmed, with separator rows as "---" (what padding leaves alone). */
function cells(table: string): string[][] {
  return table.trim().split("\n").map((line) =>
    line.trim().replace(/^\||\|$/g, "").split("|").map((c) => {
      const t = c.trim();
      return /^:?-+:?$/.test(t) ? "---" : t;
    })
  );
}

Deno.test("README's recipes table = results/recipes/summary.md = recipeTable(summary.json)", () => {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const m = /<!-- recipes-table:[^\n]*-->\n([\s\S]*?)<!-- \/recipes-table -->/.exec(readme);
  assert.ok(m, "the README has the recipes-table markers");
  const summary = readFileSync(`${ROOT}results/recipes/summary.md`, "utf8");
  assert.deepEqual(cells(m[1]), cells(summary));
  const rows = JSON.parse(
    readFileSync(`${ROOT}results/recipes/summary.json`, "utf8"),
  ) as RecipeSummaryRow[];
  assert.equal(recipeTable(rows), summary);
});
