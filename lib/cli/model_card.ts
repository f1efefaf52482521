/**
 * Evaluate the bundled tiny model and write its card (data/models/tiny/README.md).
 *
 *   deno run -A lib/cli/model_card.ts [--dir data/models/tiny] [--threads N]
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLlamaBackend } from "../eval/backend.ts";
import { DEFAULT_SUITE, runEval } from "../eval/runner.ts";
import { formatResultsTable } from "../eval/table.ts";
import { renderModelCard } from "../eval/model_card.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    dir: { type: "string", default: "data/models/tiny" },
    threads: { type: "string", default: "0" },
  },
});
const dir = values.dir!;
const backend = await createLlamaBackend(join(dir, "tiny-f32.gguf"), {
  threads: Number(values.threads),
});
const results = await runEval(backend, {
  tasks: DEFAULT_SUITE,
  run: "tiny-base",
  resume: false,
  progress: false,
});
await backend.dispose();
console.log(formatResultsTable(results));
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
    synth_arithmetic: { metric: "exact_match", value: 0, note: "open answer" },
    synth_entailment: { metric: "acc", value: 0.5, note: "2 choices" },
    synth_qa: { metric: "f1", value: 0, note: "open answer" },
    synth_facts: { metric: "acc", value: 0.25, note: "4 choices" },
  },
});
writeFileSync(join(dir, "README.md"), card);
console.error(`wrote ${join(dir, "README.md")}`);
