/**
 * `deno task compare` — compare two evaluation runs item by item and print a table of
 * differences with paired bootstrap intervals and McNemar tests.
 *
 *   deno task compare results/eval/tiny results/eval/tiny+lora      # writes …/tiny+lora/compare.json
 *   deno task compare A B --out report/compare.json --resamples 10000 --tasks synth_qa
 *
 * The logic lives in `lib/eval/compare.ts`; this file only parses arguments and reports.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CompareInputError, compareRuns, formatComparisonTable } from "../eval/compare.ts";
import { DEFAULT_RESAMPLES, DEFAULT_SEED } from "../eval/stats.ts";
import { defineCommand, integerFlag, listFlag, runCommand, stringFlag } from "./_command.ts";

/** `deno task compare`. */
export const command = defineCommand({
  name: "compare",
  summary:
    `Matches the items of two run folders (results/eval/<run>, as written by deno task eval) by
task and doc_id, and for each task and per-item metric prints the means of A and B, the
difference B − A with a paired bootstrap 95% CI and p-value, and McNemar's test (b = items
only A got right, c = items only B got right) for 0/1 metrics. Items skipped in either run
are left out.`,
  positionals: { usage: "<runA> <runB>", expected: "two run folders", min: 2, max: 2 },
  flags: {
    out: stringFlag("where to write the JSON", {
      placeholder: "FILE",
      defaultText: "<runB>/compare.json",
    }),
    tasks: listFlag("only these tasks", {
      item: "task name",
      defaultText: "every task both runs have",
    }),
    seed: integerFlag("bootstrap seed", { default: DEFAULT_SEED }),
    resamples: integerFlag("bootstrap resamples", { min: 1, default: DEFAULT_RESAMPLES }),
  },
  usageErrors: [CompareInputError],
  run: ({ values, positionals: [dirA, dirB] }) => {
    const cmp = compareRuns(dirA, dirB, {
      seed: values.seed,
      resamples: values.resamples,
      tasks: values.tasks,
    });
    const out = values.out ?? join(dirB, "compare.json");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(cmp, null, 2) + "\n");
    console.log(formatComparisonTable(cmp));
    console.log(`\n-> ${out}`);
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
