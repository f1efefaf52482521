/**
 * `deno task synth` — write the synthetic task splits (`--out DIR`: DIR/<family>/<split>.jsonl)
 * and/or the tiny model's pretraining corpus (`--corpus FILE`: JSONL, one `{"text": …}` document
 * per line). Nothing is written without one of them: the committed splits are regenerated only
 * with an explicit `--out data/synthetic` (scripts/build_tiny.sh passes it).
 *
 *   deno task synth --out data/synthetic --corpus .cache/tiny/corpus.jsonl
 * @module
 */
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  FAMILIES,
  makePretrainCorpus,
  makeSplits,
  SPLITS,
  SYNTHETIC_DEFAULTS,
} from "../data/synthetic/mod.ts";
import { writeJsonl } from "../data/jsonl.ts";
import { defineCommand, integerFlag, runCommand, stringFlag, UsageError } from "./_command.ts";

/** `deno task synth`. */
export const command = defineCommand({
  name: "synth",
  summary: `Write the synthetic task splits (DIR/<family>/<split>.jsonl for ${FAMILIES.join(", ")})
and/or the tiny model's pretraining corpus. Give --out, --corpus or both; without either nothing
is written (data/synthetic is committed: regenerate it with --out data/synthetic).`,
  usage: ["--out DIR [--corpus FILE.jsonl] [options]", "--corpus FILE.jsonl [options]"],
  flags: {
    out: stringFlag("write the task splits under DIR", { placeholder: "DIR" }),
    corpus: stringFlag("write the pretraining corpus there", { placeholder: "FILE.jsonl" }),
    seed: integerFlag("world seed (names, facts, items and corpus derive from it)", {
      default: SYNTHETIC_DEFAULTS.seed,
    }),
    documents: integerFlag("documents in the corpus", {
      min: 1,
      default: SYNTHETIC_DEFAULTS.documents,
    }),
  },
  run: async ({ values }) => {
    if (values.out === undefined && values.corpus === undefined) {
      throw new UsageError(
        "nothing to write: give --out DIR for the task splits (--out data/synthetic replaces " +
          "the committed ones) and/or --corpus FILE.jsonl for the pretraining corpus",
      );
    }
    const seed = values.seed;
    if (values.out !== undefined) {
      for (const family of FAMILIES) {
        const splits = makeSplits(family, { seed });
        for (const split of SPLITS) {
          writeJsonl(join(values.out, family, `${split}.jsonl`), splits[split]);
        }
        console.error(`${family}: ${SPLITS.map((s) => `${s}=${splits[s].length}`).join(" ")}`);
      }
    }
    if (values.corpus !== undefined) {
      mkdirSync(dirname(values.corpus), { recursive: true });
      const out = createWriteStream(values.corpus);
      let n = 0;
      for (const doc of makePretrainCorpus({ seed, documents: values.documents })) {
        if (!out.write(JSON.stringify({ text: doc }) + "\n")) {
          await new Promise<void>((r) => out.once("drain", () => r()));
        }
        n++;
      }
      await new Promise<void>((r) => out.end(() => r()));
      console.error(`corpus: ${n} documents -> ${values.corpus}`);
    }
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
