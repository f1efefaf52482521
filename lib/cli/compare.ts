/**
 * `deno task compare` — compare two evaluation runs item by item and print a table of
 * differences with paired bootstrap intervals and McNemar tests.
 *
 *   deno task compare results/eval/tiny results/eval/tiny+lora      # writes …/tiny+lora/compare.json
 *   deno task compare A B --out report/compare.json --resamples 10000 --tasks synth_qa
 *
 * The logic lives in `lib/eval/compare.ts`; this file only parses arguments and reports.
 * Exit codes: 0 compared; 2 bad arguments or input; 1 a bug.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { CompareInputError, compareRuns, formatComparisonTable } from "../eval/compare.ts";
import { DEFAULT_RESAMPLES, DEFAULT_SEED } from "../eval/stats.ts";
import { USAGE_ERROR } from "./_main.ts";

/** Exit status for an unexpected failure. */
const INTERNAL_ERROR = 1;

const HELP =
  `usage: deno task compare <runA> <runB> [--out FILE] [--tasks a,b] [--seed N] [--resamples N]

Matches the items of two run folders (results/eval/<run>, as written by deno task eval) by
task and doc_id, and for each task and per-item metric prints the means of A and B, the
difference B − A with a paired bootstrap 95% CI and p-value, and McNemar's test (b = items
only A got right, c = items only B got right) for 0/1 metrics. Items skipped in either run
are left out.

--out FILE      where to write the JSON (default <runB>/compare.json)
--tasks a,b     only these tasks (default: every task both runs have)
--seed N        bootstrap seed (default ${DEFAULT_SEED})
--resamples N   bootstrap resamples (default ${DEFAULT_RESAMPLES})

Exit status: 0 compared; 2 bad arguments or input; 1 bug.`;

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        tasks: { type: "string" },
        seed: { type: "string" },
        resamples: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    console.error(`compare: ${(e as Error).message}\n\n${HELP}`);
    return USAGE_ERROR;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    console.error(`compare: expected two run folders, got ${positionals.length}\n\n${HELP}`);
    return USAGE_ERROR;
  }
  const [dirA, dirB] = positionals;
  try {
    const cmp = compareRuns(dirA, dirB, {
      seed: integer("seed", values.seed),
      resamples: integer("resamples", values.resamples, 1),
      tasks: values.tasks?.split(",").map((s) => s.trim()).filter(Boolean),
    });
    const out = values.out ?? join(dirB, "compare.json");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(cmp, null, 2) + "\n");
    console.log(formatComparisonTable(cmp));
    console.log(`\n-> ${out}`);
    return 0;
  } catch (e) {
    if (e instanceof CompareInputError) {
      console.error(`compare: ${e.message}`);
      return USAGE_ERROR;
    }
    console.error(`compare: internal error: ${(e as Error).stack ?? e}`);
    return INTERNAL_ERROR;
  }
}

function integer(name: string, v: string | undefined, min?: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || (min !== undefined && n < min)) {
    throw new CompareInputError(
      `--${name} ${v}: expected an integer${min === undefined ? "" : ` ≥ ${min}`}`,
    );
  }
  return n;
}

if (import.meta.main) Deno.exit(main());
