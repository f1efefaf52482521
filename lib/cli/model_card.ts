/**
 * `deno task card` — evaluate the bundled tiny model on the default suite and render its model
 * card (the committed one is data/models/tiny/README.md). The card goes to `--out FILE`, or to
 * stdout without it: no invocation without `--out` rewrites a committed file
 * (scripts/build_tiny.sh passes `--out data/models/tiny/README.md`).
 *
 *   deno task card --out data/models/tiny/README.md [--dir data/models/tiny] [--threads N]
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLlamaBackend } from "../eval/backend.ts";
import { DEFAULT_SUITE, runEval } from "../eval/runner.ts";
import { formatResultsTable } from "../eval/table.ts";
import { renderModelCard } from "../eval/model_card.ts";
import { defineCommand, integerFlag, runCommand, stringFlag } from "./_command.ts";

/** `deno task card`. */
export const command = defineCommand({
  name: "card",
  summary: `Evaluate the tiny model in DIR (tiny-f32.gguf) on ${DEFAULT_SUITE.join(", ")} ` +
    "(run results/eval/tiny-base) and render its model card from DIR's training.json, file " +
    "sizes, hf_check.json and the scores. The card goes to --out FILE, else to stdout.",
  flags: {
    dir: stringFlag("the model folder", { placeholder: "DIR", default: "data/models/tiny" }),
    out: stringFlag("write the card there (the committed card: data/models/tiny/README.md)", {
      placeholder: "FILE",
      defaultText: "stdout",
    }),
    threads: integerFlag("CPU threads (0: one fewer than the cores)", { min: 0, default: 0 }),
  },
  run: async ({ values }) => {
    const dir = values.dir;
    const backend = await createLlamaBackend(join(dir, "tiny-f32.gguf"), {
      threads: values.threads,
    });
    let results;
    try {
      results = await runEval(backend, {
        tasks: DEFAULT_SUITE,
        run: "tiny-base",
        resume: false,
        progress: false,
      });
    } finally {
      await backend.dispose();
    }
    // The table goes to stderr when stdout carries the card.
    (values.out === undefined ? console.error : console.log)(formatResultsTable(results));
    const files = Object.fromEntries(
      readdirSync(dir).filter((f) => f !== "README.md").sort().map((
        f,
      ) => [f, statSync(join(dir, f)).size]),
    );
    const hfPath = join(dir, "hf_check.json");
    const card = renderModelCard({
      training: JSON.parse(readFileSync(join(dir, "training.json"), "utf8")),
      results,
      files,
      hfCheck: existsSync(hfPath) ? JSON.parse(readFileSync(hfPath, "utf8")) : undefined,
      chance: {
        synth_arithmetic: {
          metric: "exact_match,remove_whitespace",
          value: 0,
          note: "open answer",
        },
        synth_entailment: { metric: "acc", value: 0.5, note: "2 choices" },
        synth_qa: { metric: "f1", value: 0, note: "open answer" },
        synth_facts: { metric: "acc", value: 0.25, note: "4 choices" },
      },
    });
    if (values.out === undefined) {
      console.log(card);
    } else {
      writeFileSync(values.out, card);
      console.error(`wrote ${values.out}`);
    }
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
