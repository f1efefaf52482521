/**
 * The committed notebooks are clean sources (fastai/nbdev's CI habit): valid nbformat 4 on the
 * Deno kernel, no outputs or execution counts, a title and one-line purpose first, a parameters
 * cell at the top, and thin code (imports from lib/, no function or class definitions).
 * Executed copies are build products (`deno task notebooks` → results/notebooks/).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNotebooks } from "../../lib/notebook/run_notebooks.ts";

const DIR = fileURLToPath(new URL("../../notebooks/", import.meta.url));
const EXPECTED = [
  "01_curate",
  "02_finetune",
  "03_quantize",
  "04_evaluate",
  "05_report",
  "06_recipe",
];

interface Cell {
  cell_type: string;
  id?: string;
  metadata: { tags?: string[] } & Record<string, unknown>;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}
interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: {
    kernelspec?: { name: string; language: string; display_name: string };
    language_info?: { name: string };
  };
  cells: Cell[];
}

const text = (c: Cell) => (Array.isArray(c.source) ? c.source.join("") : c.source);
const files = readdirSync(DIR).filter((f) => f.endsWith(".ipynb")).sort();

Deno.test("the five notebooks are there, in order", () => {
  assert.deepEqual(files.map((f) => f.replace(/\.ipynb$/, "")), EXPECTED);
});

for (const file of files) {
  const path = `notebooks/${file}`;
  const nb = JSON.parse(readFileSync(DIR + file, "utf8")) as Notebook;

  Deno.test(`${path}: nbformat 4.5 on the Deno kernel, unique cell ids`, () => {
    assert.equal(nb.nbformat, 4);
    assert.ok(nb.nbformat_minor >= 5, "cell ids need nbformat 4.5");
    assert.equal(nb.metadata.kernelspec?.name, "deno", "kernelspec: deno");
    assert.equal(nb.metadata.language_info?.name, "typescript");
    const ids = nb.cells.map((c) => c.id);
    assert.ok(ids.every((id) => typeof id === "string" && /^[a-zA-Z0-9-_]{1,64}$/.test(id)));
    assert.equal(new Set(ids).size, ids.length, "cell ids are unique");
    for (const c of nb.cells) assert.ok(["markdown", "code"].includes(c.cell_type), c.cell_type);
  });

  Deno.test(`${path}: committed without outputs`, () => {
    for (const [i, c] of nb.cells.entries()) {
      if (c.cell_type !== "code") continue;
      assert.deepEqual(c.outputs, [], `cell ${i} has outputs: clear them before committing`);
      assert.equal(c.execution_count, null, `cell ${i} has an execution count`);
    }
  });

  Deno.test(`${path}: title and purpose first, then the parameters cell`, () => {
    const [first, second] = nb.cells;
    assert.equal(first.cell_type, "markdown");
    const lines = text(first).split("\n").filter((l) => l.trim());
    assert.match(lines[0], /^# \S/, "first line is a '# title'");
    assert.ok(lines.length >= 2 && lines[1].length > 20, "a one-line purpose follows the title");
    assert.equal(second.cell_type, "code");
    assert.deepEqual(second.metadata.tags, ["parameters"], "second cell is tagged parameters");
    assert.match(text(second), /^\/\/ Parameters/);
    assert.match(text(second), /const PARAMS = \{/);
  });

  Deno.test(`${path}: thin — imports lib/, defines no functions or classes`, () => {
    const code = nb.cells.filter((c) => c.cell_type === "code").map(text).join("\n");
    assert.match(code, /from "tunebook\/notebook\/mod\.ts"/);
    assert.match(code, /^setupNotebook\(\);$/m, "setupNotebook() alone, its result displayed");
    assert.match(code, /notebookParams\(PARAMS\)/);
    assert.doesNotMatch(code, /^\s*(export\s+)?(async\s+)?function\s/m, "logic belongs in lib/");
    assert.doesNotMatch(code, /^\s*class\s/m, "logic belongs in lib/");
    // lib/ by deno.json's `tunebook/` prefix, which resolves the same from any working folder
    // (a relative "../lib/" import breaks when the notebook runs again after setupNotebook()).
    for (const spec of code.matchAll(/from "([^"]+)"/g)) {
      assert.ok(
        spec[1].startsWith("tunebook/") || spec[1].startsWith("node:"),
        `imports only tunebook/ (lib/) and node: modules (${spec[1]})`,
      );
    }
  });
}

Deno.test({
  name: "the notebooks' code type-checks (deno check on their code cells)",
  sanitizeResources: false,
  fn: async () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "tunebook-nbcheck-"));
    try {
      const files = readdirSync(DIR).filter((f) => f.endsWith(".ipynb")).sort().map((f) => {
        const nb = JSON.parse(readFileSync(DIR + f, "utf8")) as Notebook;
        // Each notebook is one module (cells share a scope); deno.json maps `tunebook/` to lib/.
        const code = nb.cells.filter((c) => c.cell_type === "code").map(text).join("\n");
        const path = join(dir, f.replace(/\.ipynb$/, ".ts"));
        writeFileSync(path, code);
        return path;
      });
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["check", "--config", join(root, "deno.json"), ...files],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(out.stderr).replaceAll(dir, "notebooks");
      assert.ok(out.success, `type errors in notebooks:\n${log}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "bad input: a parameter naming a missing results file fails its cell saying what to run",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const out = mkdtempSync(join(tmpdir(), "tunebook-nbrun-"));
    try {
      const [run] = await runNotebooks([`${DIR}05_report.ipynb`], {
        outDir: out,
        html: false,
        params: { report: "results/no-such/report.json" },
      });
      assert.equal(run.status, "failed");
      assert.match(
        run.error ?? "",
        /results\/no-such\/report\.json not found: .*Run notebooks\/04_evaluate\.ipynb first/,
      );
      // The executed copy is kept, with the error in the failing cell's outputs.
      const nb = JSON.parse(readFileSync(run.executed!, "utf8")) as Notebook;
      const failing = nb.cells.find((c) =>
        (c.outputs ?? []).some((o) => (o as { output_type: string }).output_type === "error")
      );
      assert.match(text(failing!), /loadReport\(p\.report\)/);
      await assert.rejects(
        () => runNotebooks([`${DIR}05_report.ipynb`], { outDir: out, params: { limt: 5 } }),
        /parameter\(s\) limt not in any of these notebooks/,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
});
