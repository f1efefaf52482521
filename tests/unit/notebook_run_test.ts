/**
 * The notebooks on a real Deno kernel, as a user meets them: a notebook run twice in one kernel,
 * notebook 02 without local training, the size of executed notebooks and HTML exports and their
 * figures drawn in headless Chromium from the HTML export and in Debian's classic Notebook, and
 * the kernel registered at a stable path. Needs what `deno task setup` installs (jupyter,
 * nbclient, nbconvert, classic Notebook, chromium, the Deno kernel).
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";
import { CHROMIUM_FLAGS, findChromium } from "../../lib/plots/export.ts";
import { PARAMS_ENV, PLOTLY_SIDECAR, REPO_ROOT, runNotebooks } from "../../lib/notebook/mod.ts";

const NOTEBOOKS = join(REPO_ROOT, "notebooks");
const FIXTURE_REPORT = "tests/unit/fixtures/plots/report.json";
/** Figure cells of notebooks/05_report.ipynb. */
const REPORT_FIGURES = 6;
/** Executed notebooks and HTML exports stay below these (plotly.js alone is 4.7 MB). */
const MAX_EXECUTED_BYTES = 400_000;
const MAX_HTML_BYTES = 1_000_000;

interface Cell {
  cell_type: string;
  id: string;
  source: string | string[];
  outputs?: { output_type: string; ename?: string; evalue?: string }[];
}
interface Notebook {
  cells: Cell[];
  [key: string]: unknown;
}

/** A scratch folder inside the repository (results/tmp is ignored by git). */
function scratch(prefix: string): string {
  const base = join(REPO_ROOT, "results", "tmp");
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, prefix));
}

/** `notebook` with all its cells twice, as a user who runs it again in the same kernel. */
function twice(notebook: string, out: string): string {
  const nb = JSON.parse(readFileSync(notebook, "utf8")) as Notebook;
  nb.cells = [...nb.cells, ...nb.cells.map((c) => ({ ...c, id: `${c.id}-again` }))];
  writeFileSync(out, JSON.stringify(nb, null, 1) + "\n");
  return out;
}

/** Report-notebook parameters for the fixture report; no static images (tested elsewhere). */
function reportParams(dir: string): Record<string, unknown> {
  return { report: FIXTURE_REPORT, summary: join(dir, "summary.md"), images_dir: "" };
}

async function withBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await puppeteer.launch({
    executablePath: findChromium(),
    args: [...CHROMIUM_FLAGS],
    headless: true,
  });
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

/** Browser-side expression: how many tunebook figures plotly.js has drawn (an SVG inside). */
const DRAWN_FIGURES = `[...document.querySelectorAll(".tunebook-figure")]` +
  `.filter((el) => el.querySelector(".main-svg")).length`;

Deno.test({
  name: "05_report run twice in one kernel; small executed copy and HTML; figures draw from disk",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = scratch("nb-twice-");
    try {
      const notebook = twice(join(NOTEBOOKS, "05_report.ipynb"), join(dir, "05_twice.ipynb"));
      const [run] = await runNotebooks([notebook], {
        outDir: join(dir, "out"),
        params: reportParams(dir),
      });
      assert.equal(run.status, "passed", run.error ?? "");
      const executed = JSON.parse(readFileSync(run.executed!, "utf8")) as Notebook;
      const again = executed.cells.filter((c) => c.id.endsWith("-again") && c.cell_type === "code");
      const errors = again.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
      assert.deepEqual(errors, [], "the second run of every cell succeeds");
      assert.ok(again.filter((c) => c.outputs?.length).length >= REPORT_FIGURES);
      // The cell listing the items the fine-tune fixed and broke (the fixture's base → tuned).
      assert.match(
        readFileSync(run.executed!, "utf8"),
        /tuned vs base: 48 fixed, 0 broken of 120 shared items/,
      );

      // plotly.js is a file beside the outputs, not inside them.
      assert.ok(existsSync(join(dir, "out", PLOTLY_SIDECAR)));
      const sizes = { executed: statSync(run.executed!).size, html: statSync(run.html!).size };
      assert.ok(sizes.executed < MAX_EXECUTED_BYTES, `executed notebook ${sizes.executed} B`);
      assert.ok(sizes.html < MAX_HTML_BYTES, `HTML export ${sizes.html} B`);

      // The HTML export opened from disk draws every figure, with no network.
      await withBrowser(async (browser) => {
        const page = await browser.newPage();
        const remote: string[] = [];
        page.on("request", (r) => {
          if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) remote.push(r.url());
        });
        await page.goto(`file://${run.html}`, { waitUntil: "load" });
        await page.waitForFunction(`${DRAWN_FIGURES} === ${2 * REPORT_FIGURES}`, {
          timeout: 30_000,
        });
        assert.equal(await page.evaluate(DRAWN_FIGURES), 2 * REPORT_FIGURES);
        // nbconvert's template names require.js and MathJax on a CDN; nothing of ours is remote.
        assert.deepEqual(remote.filter((u) => /plotly/i.test(u)), []);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "02_finetune with train_locally=false runs to the end and writes the Colab notebook",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = scratch("nb-colab-");
    try {
      const rows = (n: number) =>
        Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `Q${i}?`, completion: " A" }))
          .join("\n") + "\n";
      writeFileSync(join(dir, "train.jsonl"), rows(8));
      writeFileSync(join(dir, "val.jsonl"), rows(2));
      const runDir = join(dir, "run");
      const [run] = await runNotebooks([join(NOTEBOOKS, "02_finetune.ipynb")], {
        outDir: join(dir, "out"),
        html: false,
        params: {
          train_locally: false,
          train_file: join(dir, "train.jsonl"),
          val_file: join(dir, "val.jsonl"),
          run_dir: runDir,
        },
      });
      assert.equal(run.status, "passed", run.error ?? "");
      const colab = JSON.parse(readFileSync(join(runDir, "colab.ipynb"), "utf8"));
      assert.ok(colab.cells.length > 0);
      const executed = readFileSync(run.executed!, "utf8");
      assert.match(executed, /No training run to plot/);
      assert.match(executed, /Nothing to export/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "figures draw in classic Notebook (python3-notebook) on the Deno kernel, run twice",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = scratch("nb-classic-");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const token = crypto.randomUUID();
    const server = new Deno.Command("jupyter", {
      args: [
        "notebook",
        "--no-browser",
        `--port=${port}`,
        "--port-retries=0",
        "--ip=127.0.0.1",
        `--NotebookApp.token=${token}`,
        `--notebook-dir=${REPO_ROOT}`,
        "--allow-root", // CI and this project's build machines run as root
        "--log-level=WARN",
      ],
      // Kernels inherit the server's environment: the fixture report as parameters.
      env: { [PARAMS_ENV]: JSON.stringify(reportParams(dir)) },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log = new Response(server.stderr).text();
    let passed = false;
    try {
      const notebook = twice(join(NOTEBOOKS, "05_report.ipynb"), join(dir, "05_twice.ipynb"));
      const url = `http://127.0.0.1:${port}/notebooks/${notebook.slice(REPO_ROOT.length)}` +
        `?token=${token}`;
      await withBrowser(async (browser) => {
        const page = await browser.newPage();
        let up = false;
        for (let i = 0; i < 100 && !up; i++) {
          up = await page.goto(url).then((r) => r?.ok() ?? false, () => false);
          if (!up) await new Promise((r) => setTimeout(r, 200));
        }
        assert.ok(up, "jupyter notebook did not start (run `deno task setup`)");
        await page.waitForFunction("window.Jupyter?.notebook?.kernel?.is_connected()", {
          timeout: 60_000,
        });
        await page.evaluate("window.Jupyter.notebook.execute_all_cells()");
        await page.waitForFunction(
          `document.querySelectorAll(".output_error").length > 0 || ` +
            `${DRAWN_FIGURES} === ${2 * REPORT_FIGURES}`,
          { timeout: 120_000 },
        );
        const errors = await page.evaluate(
          `[...document.querySelectorAll(".output_error")].map((e) => e.textContent)`,
        );
        assert.deepEqual(errors, []);
        assert.equal(await page.evaluate(DRAWN_FIGURES), 2 * REPORT_FIGURES);
        const status = String(await page.evaluate("document.body.innerText"));
        assert.match(status, /plotly\.js 3\.\d+\.\d+ loaded for this notebook's figures/);
      });
      passed = true;
    } finally {
      try {
        server.kill("SIGTERM");
      } catch {
        // it exited already; its stderr says why
      }
      await server.status;
      const text = await log;
      if (!passed) console.log(`jupyter notebook said:\n${text}`);
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test({
  name: "setup registers the Deno kernel at a stable path (the repo's launcher), and it starts",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const data = mkdtempSync(join(tmpdir(), "tunebook-jupyter-"));
    const env = { JUPYTER_DATA_DIR: data };
    try {
      const install = async (...args: string[]) => {
        const out = await new Deno.Command("bash", {
          args: [join(REPO_ROOT, "scripts/install_kernel.sh"), ...args],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
      };
      const spec = join(data, "kernels", "deno", "kernel.json");
      // A kernelspec pointing into npx's cache (what `npx deno jupyter --install` writes) is
      // replaced; a stable one is kept.
      mkdirSync(join(data, "kernels", "deno"), { recursive: true });
      const npx = ["/root/.npm/_npx/0123abcd/node_modules/.bin/deno", "jupyter", "--kernel"];
      writeFileSync(spec, JSON.stringify({ argv: [...npx, "--conn", "{connection_file}"] }));
      await install("--if-needed");
      const argv = JSON.parse(readFileSync(spec, "utf8")).argv as string[];
      assert.deepEqual(argv, [join(REPO_ROOT, "scripts/deno_kernel.sh"), "{connection_file}"]);
      assert.ok(statSync(argv[0]).mode & 0o111, "the launcher is executable");
      const mtime = statSync(spec).mtimeMs;
      await install("--if-needed");
      assert.equal(statSync(spec).mtimeMs, mtime, "a stable kernelspec is left alone");

      // Jupyter starts the kernel through it (the cell's file proves it ran: the Deno kernel can
      // send a result after reporting the cell done, and stock nbclient may miss it).
      const nb = join(data, "one.ipynb");
      const proof = join(data, "ran.txt");
      writeFileSync(
        nb,
        JSON.stringify({
          cells: [{
            cell_type: "code",
            id: "c",
            metadata: {},
            source: `Deno.writeTextFileSync(${JSON.stringify(proof)}, String(6 * 7));`,
            outputs: [],
          }],
          metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
          nbformat: 4,
          nbformat_minor: 5,
        }),
      );
      const run = await new Deno.Command("/usr/bin/python3", {
        args: [
          "-c",
          "import sys, nbformat; from nbclient import NotebookClient\n" +
          "nb = nbformat.read(sys.argv[1], as_version=4)\n" +
          "NotebookClient(nb, kernel_name='deno', timeout=120).execute()",
          nb,
        ],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      assert.equal(readFileSync(proof, "utf8"), "42");
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  },
});
