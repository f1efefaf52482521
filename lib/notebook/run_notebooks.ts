/**
 * The headless run behind `deno task notebooks`: execute notebooks top to bottom on the Deno
 * kernel with Jupyter's own executor (nbclient, the engine of `jupyter nbconvert --execute`),
 * write each executed copy to `<outDir>/<name>.ipynb` — also when a cell fails, so the error is
 * there to read — and an HTML export next to it (`jupyter nbconvert --to html`), with one
 * `plotly.min.js` beside them that their figures load (./plotly_loader.ts). A failing cell
 * fails the notebook; later notebooks, which read what earlier ones write, are then not run.
 *
 * @example
 * ```ts ignore
 * import { runNotebooks } from "./run_notebooks.ts";
 * const results = await runNotebooks(["notebooks/01_curate.ipynb"], { outDir: "results/notebooks" });
 * console.log(results[0].ok, results[0].seconds);
 * ```
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { PARAMS_ENV } from "./params.ts";
import { writePlotlySidecar } from "./plotly_loader.ts";
import { REPO_ROOT } from "./setup.ts";

/** Where executed notebooks and their HTML go. */
export const DEFAULT_NOTEBOOK_OUT = "results/notebooks";

/** Jupyter's Python (Debian's, where nbclient and nbconvert are installed). */
const DEFAULT_PYTHON = "/usr/bin/python3";

/** How long the executor waits for late messages after a notebook's last cell. */
const DRAIN_SECONDS = 1;

/**
 * nbclient with two additions: on a failing cell it still writes the executed copy (with the
 * error in its outputs) before exiting 1; and it keeps messages the Deno kernel publishes after
 * it reported a cell idle. (Deno 2.x can send a cell's `execute_result` or last `display_data`
 * after its `status: idle`; stock nbclient then reads it while polling for the next cell and drops
 * it, so outputs went missing at random.) Late messages are routed to the cell they belong to, and
 * after the last cell the channel is drained for {@linkcode DRAIN_SECONDS}.
 * argv: source, destination, kernel, timeout, cwd.
 */
const EXECUTE_PY = `
import sys, time, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError
from nbclient.util import ensure_async

DRAIN_SECONDS = ${DRAIN_SECONDS}

class Client(NotebookClient):
    def __init__(self, nb, **kw):
        super().__init__(nb, **kw)
        self.cells_by_msg = {}
        self.last_code = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)

    def route(self, msg, parent_id=None):
        pid = msg["parent_header"].get("msg_id")
        target = self.cells_by_msg.get(pid)
        if target is None:
            return False
        try:
            self.process_message(msg, target[0], target[1])
        except CellExecutionComplete:
            return pid == parent_id
        return False

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        self.cells_by_msg[parent_msg_id] = (cell, cell_index)
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if self.route(msg, parent_msg_id):
                return

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        result = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        if cell_index == self.last_code:
            end = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < end:
                try:
                    msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=0.1))
                except Exception:
                    continue
                self.route(msg)
        return result

src, dst, kernel, timeout, cwd = sys.argv[1:6]
nb = nbformat.read(src, as_version=4)
client = Client(nb, kernel_name=kernel, timeout=int(timeout), resources={"metadata": {"path": cwd}})
code = 0
try:
    client.execute()
except CellExecutionError as e:
    print(str(e), file=sys.stderr)
    code = 1
except Exception as e:
    print(f"{type(e).__name__}: {e}", file=sys.stderr)
    code = 1
nbformat.write(nb, dst)
sys.exit(code)
`;

/** Options for {@linkcode runNotebooks}. */
export interface RunNotebooksOptions {
  /** Folder for executed copies and HTML. Default: "results/notebooks". */
  outDir?: string;
  /** Jupyter kernel name. Default: "deno". */
  kernel?: string;
  /** Seconds one cell may run. Default: 900. */
  cellTimeout?: number;
  /** Also export HTML. Default: true. */
  html?: boolean;
  /**
   * Parameter overrides (see `notebookParams`); each notebook gets those it has, and a key no
   * notebook has is an error. Default: none.
   */
  params?: Record<string, unknown>;
  /** Keep going after a failing notebook. Default: false (later ones depend on earlier ones). */
  keepGoing?: boolean;
  /** Python with nbclient/nbconvert. Default: TUNEBOOK_JUPYTER_PYTHON, else /usr/bin/python3. */
  python?: string;
  /** Environment variables for the executor and the kernel, on top of this process's. Default: none. */
  env?: Record<string, string>;
  /** Called when a notebook starts and ends. Default: none. */
  onProgress?: (event: { notebook: string; result?: NotebookRun }) => void;
}

/** How one notebook went. */
export interface NotebookRun {
  /** The source notebook. */
  notebook: string;
  /** "passed", "failed", or "not run" (an earlier notebook failed). */
  status: "passed" | "failed" | "not run";
  ok: boolean;
  /** Wall-clock seconds of the execution (HTML export excluded). */
  seconds: number;
  /** The executed copy, when one was written. */
  executed?: string;
  /** The HTML export, when one was written. */
  html?: string;
  /** The failing cell's error as the executor printed it (its last lines). */
  error?: string;
}

/**
 * The notebooks in a folder, in name order (01_…, 02_…).
 *
 * @example
 * ```ts ignore
 * import { listNotebooks } from "./run_notebooks.ts";
 * console.log(listNotebooks("notebooks"));
 * ```
 */
export function listNotebooks(dir: string = join(REPO_ROOT, "notebooks")): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => join(dir, f));
}

/**
 * The parameter names of a notebook: the keys of `const PARAMS = { … }` in its cell tagged
 * "parameters".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { notebookParamNames } from "./run_notebooks.ts";
 * const source = 'const PARAMS = {\n  report: "results/notebooks/report.json",\n  images_dir: null,\n};';
 * const file = join(Deno.makeTempDirSync(), "report.ipynb");
 * Deno.writeTextFileSync(file, JSON.stringify({ cells: [{ cell_type: "code", metadata: { tags: ["parameters"] }, source }] }));
 * assert.deepEqual(notebookParamNames(file), ["report", "images_dir"]);
 * ```
 */
export function notebookParamNames(notebook: string): string[] {
  const nb = JSON.parse(readFileSync(notebook, "utf8")) as {
    cells: { cell_type: string; metadata?: { tags?: string[] }; source: string | string[] }[];
  };
  const cell = nb.cells.find((c) => c.metadata?.tags?.includes("parameters"));
  if (!cell) return [];
  const text = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
  const body = text.match(/const PARAMS = \{([\s\S]*)\n\};?/)?.[1] ?? "";
  return [...body.matchAll(/^ {2}(\w+):/gm)].map((m) => m[1]);
}

/** Calls whose result a cell displays; a code cell ending in one must have an output. */
const DISPLAY_CALL = /^(setupNotebook|figureDisplay|tableDisplay|markdownDisplay)\(/m;

/**
 * Indexes of the code cells of an executed notebook that call a display function at the start of
 * a line but have no output: a result lost on the way, which would otherwise pass unnoticed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { silentDisplayCells } from "./run_notebooks.ts";
 * const cell = (source: string, outputs: unknown[]) => ({ cell_type: "code", source, outputs });
 * const file = join(Deno.makeTempDirSync(), "executed.ipynb");
 * const shown = { output_type: "display_data", data: { "text/plain": "[figure]" } };
 * Deno.writeTextFileSync(file, JSON.stringify({ cells: [cell("figureDisplay(fig)", [shown]), cell("tableDisplay(rows)", [])] }));
 * assert.deepEqual(silentDisplayCells(file), [1]); // the table's output was lost
 * ```
 */
export function silentDisplayCells(executed: string): number[] {
  const nb = JSON.parse(readFileSync(executed, "utf8")) as {
    cells: { cell_type: string; source: string | string[]; outputs?: unknown[] }[];
  };
  return nb.cells.flatMap((c, i) => {
    const text = Array.isArray(c.source) ? c.source.join("") : c.source;
    return c.cell_type === "code" && DISPLAY_CALL.test(text) && !c.outputs?.length ? [i] : [];
  });
}

/** Last lines of a text, for error summaries. */
const ERROR_TAIL_LINES = 40;

/**
 * Execute notebooks in order (see the module documentation); returns one entry per notebook.
 *
 * @example
 * ```ts ignore
 * import { listNotebooks, runNotebooks } from "./run_notebooks.ts";
 * const runs = await runNotebooks(listNotebooks(), { params: { limit: 20 } });
 * ```
 */
export async function runNotebooks(
  notebooks: string[],
  options: RunNotebooksOptions = {},
): Promise<NotebookRun[]> {
  const {
    outDir = DEFAULT_NOTEBOOK_OUT,
    kernel = "deno",
    cellTimeout = 900,
    html = true,
    params,
    keepGoing = false,
    onProgress,
  } = options;
  const python = options.python ?? Deno.env.get("TUNEBOOK_JUPYTER_PYTHON") ?? DEFAULT_PYTHON;
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  // One plotly.js beside the executed copies and their HTML, which load it by a relative URL.
  writePlotlySidecar(out);
  const names = new Map(notebooks.map((n) => [n, notebookParamNames(n)]));
  const unknown = Object.keys(params ?? {}).filter((k) =>
    ![...names.values()].some((ks) => ks.includes(k))
  );
  if (unknown.length) {
    throw new Error(
      `parameter(s) ${unknown.join(", ")} not in any of these notebooks; they have: ` +
        [...names].map(([n, ks]) => `${basename(n)}: ${ks.join(", ")}`).join("; "),
    );
  }
  const runs: NotebookRun[] = [];
  let failed = false;
  for (const notebook of notebooks) {
    if (!existsSync(notebook)) {
      throw new Error(`${notebook}: notebook not found; notebooks are in notebooks/*.ipynb`);
    }
    if (failed && !keepGoing) {
      runs.push({ notebook, status: "not run", ok: false, seconds: 0 });
      continue;
    }
    onProgress?.({ notebook });
    const name = basename(notebook, ".ipynb");
    const executed = join(out, `${name}.ipynb`);
    const t0 = performance.now();
    // Each notebook gets the overrides it has parameters for.
    const own = Object.fromEntries(
      Object.entries(params ?? {}).filter(([k]) => names.get(notebook)!.includes(k)),
    );
    const env: Record<string, string> = Object.keys(own).length
      ? { ...options.env, [PARAMS_ENV]: JSON.stringify(own) }
      : { ...options.env };
    const exec = await new Deno.Command(python, {
      args: [
        "-c",
        EXECUTE_PY,
        resolve(notebook),
        executed,
        kernel,
        String(cellTimeout),
        // The kernel starts in the notebook's folder, as in Jupyter (deno.json, and with it the
        // notebooks' `tunebook/` import prefix, is found from there).
        dirname(resolve(notebook)),
      ],
      cwd: REPO_ROOT,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output().catch((e) => {
      throw new Error(
        `${python}: cannot run Jupyter's executor (${(e as Error).message}); run \`deno task ` +
          `setup\` (it installs jupyter-nbconvert and python3-nbclient) or set TUNEBOOK_JUPYTER_PYTHON`,
      );
    });
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const stderr = new TextDecoder().decode(exec.stderr);
    const run: NotebookRun = {
      notebook,
      status: exec.success ? "passed" : "failed",
      ok: exec.success,
      seconds,
      executed: existsSync(executed) ? executed : undefined,
    };
    const silent = exec.success && run.executed ? silentDisplayCells(run.executed) : [];
    if (silent.length) {
      run.ok = false;
      run.status = "failed";
      failed = true;
      run.error = `cell(s) ${silent.join(", ")} end in a display call but have no output in ` +
        `${run.executed} (a kernel message was lost); run the notebook again`;
    }
    if (!exec.success) {
      run.error = stderr.trim().split("\n").slice(-ERROR_TAIL_LINES).join("\n") ||
        `the executor exited with code ${exec.code}`;
      failed = true;
    }
    if (html && run.executed) {
      const conv = await new Deno.Command("jupyter", {
        args: ["nbconvert", "--to", "html", "--output-dir", out, run.executed],
        cwd: REPO_ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const htmlPath = join(out, `${name}.html`);
      if (conv.success && existsSync(htmlPath)) run.html = htmlPath;
      else {
        run.ok = false;
        run.status = "failed";
        failed = true;
        run.error = (run.error ? `${run.error}\n` : "") +
          `HTML export failed: ${
            new TextDecoder().decode(conv.stderr).trim().split("\n").slice(-5).join("\n")
          }`;
      }
    }
    runs.push(run);
    onProgress?.({ notebook, result: run });
  }
  return runs;
}
