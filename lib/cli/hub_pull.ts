/**
 * `deno task hub:pull <owner/repo> [--out results/train/<name>]` — fetch a fine-tuning run pushed
 * to the Hub by the Colab notebook (adapter, GGUF LoRA, events) into a local run folder.
 * @module
 */
import { parseArgs } from "node:util";
import { pullArtifacts } from "../train/artifacts.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { out: { type: "string" }, revision: { type: "string", default: "main" } },
});
if (positionals.length !== 1) {
  console.error("usage: deno task hub:pull <owner/repo> [--out DIR] [--revision REV]");
  Deno.exit(2);
}
const repo = positionals[0];
const out = values.out ?? `results/train/${repo.replace("/", "--")}`;
try {
  for (const p of await pullArtifacts(repo, out, { revision: values.revision })) console.log(p);
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  Deno.exit(1);
}
