/**
 * `deno task notebooks` — execute the notebooks headlessly on the Deno kernel, in order, writing
 * executed copies and HTML exports to results/notebooks/ (lib/plots/run_notebooks.ts). A failing
 * cell fails the task (exit 1); the notebooks after it are not run, since they read what it
 * writes. Ends with "notebooks: N passed, M failed".
 *
 *   deno task notebooks                          # notebooks/*.ipynb with their default parameters
 *   deno task notebooks 04 05                    # only those whose names start with 04 and 05
 *   deno task notebooks --set limit=100 --set 'tasks=["synth_qa"]'   # override parameters
 * @module
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_NOTEBOOK_OUT, listNotebooks, runNotebooks } from "../plots/run_notebooks.ts";
import { runMain, USAGE_ERROR } from "./_main.ts";

const HELP = `usage: deno task notebooks [PREFIX...] [--set key=value]... [--out DIR] [--no-html]
                             [--timeout SECONDS] [--keep-going]
PREFIX           run only notebooks whose file names start with it (e.g. 01 or 05_report)
--set key=value  override a parameter of every notebook that has it (value: JSON, else a string)
--out DIR        executed copies and HTML (default: ${DEFAULT_NOTEBOOK_OUT})
--timeout S      seconds one cell may run (default: 900)
--keep-going     run the remaining notebooks after a failure`;

function parseValue(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      set: { type: "string", multiple: true, default: [] },
      out: { type: "string", default: DEFAULT_NOTEBOOK_OUT },
      "no-html": { type: "boolean", default: false },
      timeout: { type: "string", default: "900" },
      "keep-going": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const all = listNotebooks();
  const notebooks = positionals.length
    ? all.filter((n) => positionals.some((p) => basename(n).startsWith(p)))
    : all;
  if (!notebooks.length) {
    console.error(
      `error: no notebook matches ${positionals.join(" ") || "notebooks/*.ipynb"}; have: ` +
        all.map((n) => basename(n)).join(", "),
    );
    return USAGE_ERROR;
  }
  const params: Record<string, unknown> = {};
  for (const kv of values.set) {
    const at = kv.indexOf("=");
    if (at < 1) {
      console.error(`error: --set ${kv}: expected key=value\n${HELP}`);
      return USAGE_ERROR;
    }
    params[kv.slice(0, at)] = parseValue(kv.slice(at + 1));
  }
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) {
    console.error(`error: --timeout ${values.timeout}: expected whole seconds > 0`);
    return USAGE_ERROR;
  }
  const t0 = performance.now();
  const runs = await runNotebooks(notebooks, {
    outDir: values.out,
    html: !values["no-html"],
    cellTimeout: timeout,
    params,
    keepGoing: values["keep-going"],
    onProgress: ({ notebook, result }) => {
      if (!result) console.log(`running ${basename(notebook)} …`);
      else {
        console.log(
          `${result.ok ? "ok  " : "FAIL"} ${basename(notebook)} (${result.seconds} s)` +
            (result.html ? ` → ${result.executed}, ${result.html}` : ""),
        );
        if (result.error) console.log(result.error.replace(/^/gm, "     "));
      }
    },
  });
  for (const r of runs.filter((r) => r.status === "not run")) {
    console.log(`skip ${basename(r.notebook)} (not run: an earlier notebook failed)`);
  }
  const passed = runs.filter((r) => r.ok).length;
  const failed = runs.filter((r) => r.status === "failed").length;
  const total = Math.round((performance.now() - t0) / 1000);
  console.log(
    `notebooks: ${passed} passed, ${failed} failed` +
      (runs.length - passed - failed ? `, ${runs.length - passed - failed} not run` : "") +
      ` in ${total} s`,
  );
  return failed || runs.some((r) => r.status === "not run") ? 1 : 0;
}

if (import.meta.main) await runMain(main);
