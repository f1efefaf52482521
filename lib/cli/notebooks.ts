/**
 * `deno task notebooks` — execute the notebooks headlessly on the Deno kernel, in order, writing
 * executed copies and HTML exports to results/notebooks/ (lib/notebook/run_notebooks.ts). A failing
 * cell fails the task (exit 1); the notebooks after it are not run, since they read what it
 * writes. Ends with "notebooks: N passed, M failed".
 *
 *   deno task notebooks                          # notebooks/*.ipynb with their default parameters
 *   deno task notebooks 04 05                    # only those whose names start with 04 and 05
 *   deno task notebooks --set limit=100 --set 'tasks=["synth_qa"]'   # override parameters
 * @module
 */
import { basename } from "node:path";
import { DEFAULT_NOTEBOOK_OUT, listNotebooks, runNotebooks } from "../notebook/run_notebooks.ts";
import {
  booleanFlag,
  defineCommand,
  FAILURE,
  integerFlag,
  parseKeyValue,
  repeatedFlag,
  runCommand,
  stringFlag,
  UsageError,
} from "./_command.ts";

/** `deno task notebooks`. */
export const command = defineCommand({
  name: "notebooks",
  summary: "Execute the notebooks headlessly on the Deno kernel, in order, writing executed " +
    `copies and HTML exports to the --out folder. A failing cell fails the task; the notebooks ` +
    "after it are not run, since they read what it writes. Ends with " +
    '"notebooks: N passed, M failed".',
  positionals: {
    usage: "[PREFIX...]",
    expected: "notebook name prefixes",
    min: 0,
    help: "PREFIX   run only notebooks whose file names start with it (e.g. 01 or 05_report)",
  },
  flags: {
    set: repeatedFlag(
      "override a parameter of every notebook that has it (VALUE: JSON, else a string)",
      parseKeyValue,
      { placeholder: "KEY=VALUE" },
    ),
    out: stringFlag("executed copies and HTML", {
      placeholder: "DIR",
      default: DEFAULT_NOTEBOOK_OUT,
    }),
    "no-html": booleanFlag("skip the HTML exports"),
    timeout: integerFlag("seconds one cell may run", {
      min: 1,
      placeholder: "SECONDS",
      default: 900,
    }),
    "keep-going": booleanFlag("run the remaining notebooks after a failure"),
  },
  exitStatus: "Exit status: 0 every notebook passed; 1 a cell failed; 2 bad arguments.",
  run: async ({ values, positionals }) => {
    const all = listNotebooks();
    const notebooks = positionals.length
      ? all.filter((n) => positionals.some((p) => basename(n).startsWith(p)))
      : all;
    if (!notebooks.length) {
      throw new UsageError(
        `no notebook matches ${positionals.join(" ") || "notebooks/*.ipynb"}; have: ` +
          all.map((n) => basename(n)).join(", "),
      );
    }
    const params = Object.fromEntries(values.set.map(({ key, value }) => [key, value]));
    const t0 = performance.now();
    const runs = await runNotebooks(notebooks, {
      outDir: values.out,
      html: !values["no-html"],
      cellTimeout: values.timeout,
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
    return failed || runs.some((r) => r.status === "not run") ? FAILURE : 0;
  },
});

if (import.meta.main) await runCommand(command);
