/**
 * `deno task hub:pull <owner/repo> [--out results/train/<name>]` — fetch a fine-tuning run pushed
 * to the Hub by the Colab notebook (adapter, GGUF LoRA, merged and quantized GGUFs with their
 * cards, events, config) into a local run folder, then print the command that evaluates it.
 * @module
 */
import { evalCommand, pullArtifacts } from "../train/artifacts.ts";
import { defineCommand, runCommand, stringFlag } from "./_command.ts";

/** `deno task hub:pull`. */
export const command = defineCommand({
  name: "hub:pull",
  summary: "Fetch a fine-tuning run pushed to the Hugging Face Hub by the Colab notebook " +
    "(adapter, GGUF LoRA, merged and quantized GGUFs with their cards, events, config) into a " +
    "local run folder; prints each file it wrote, then the deno task eval command for it. A " +
    "private repo needs HF_TOKEN.",
  positionals: { usage: "<owner/repo>", expected: "one Hub repo (owner/repo)", min: 1, max: 1 },
  flags: {
    out: stringFlag("the local run folder", {
      placeholder: "DIR",
      defaultText: "results/train/<owner>--<repo>",
    }),
    revision: stringFlag("branch, tag or commit", { placeholder: "REV", default: "main" }),
  },
  run: async ({ values, positionals: [repo] }) => {
    const out = values.out ?? `results/train/${repo.replace("/", "--")}`;
    const { paths, manifest } = await pullArtifacts(repo, out, { revision: values.revision });
    for (const p of paths) console.log(p);
    const evaluate = evalCommand(out, manifest);
    if (evaluate) console.log(`evaluate it with:\n  ${evaluate}`);
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
