/**
 * Write the synthetic task splits (data/synthetic/<family>/<split>.jsonl) and,
 * with --corpus PATH, the tiny model's pretraining corpus (JSONL, one `{"text": …}` document per line).
 *
 *   deno task synth [--seed 1234] [--out data/synthetic] [--corpus .cache/tiny/corpus.jsonl] [--documents 60000]
 * @module
 */
import { parseArgs } from "node:util";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { FAMILIES, makePretrainCorpus, makeSplits, SPLITS } from "../data/synthetic.ts";
import { writeJsonl } from "../data/jsonl.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seed: { type: "string", default: "1234" },
    out: { type: "string", default: "data/synthetic" },
    corpus: { type: "string" },
    documents: { type: "string", default: "60000" },
  },
});
const seed = Number(values.seed);
for (const family of FAMILIES) {
  const splits = makeSplits(family, { seed });
  for (const split of SPLITS) {
    writeJsonl(join(values.out!, family, `${split}.jsonl`), splits[split]);
  }
  console.error(`${family}: ${SPLITS.map((s) => `${s}=${splits[s].length}`).join(" ")}`);
}
if (values.corpus) {
  mkdirSync(dirname(values.corpus), { recursive: true });
  const out = createWriteStream(values.corpus);
  let n = 0;
  for (const doc of makePretrainCorpus({ seed, documents: Number(values.documents) })) {
    if (!out.write(JSON.stringify({ text: doc }) + "\n")) {
      await new Promise<void>((r) => out.once("drain", () => r()));
    }
    n++;
  }
  await new Promise<void>((r) => out.end(() => r()));
  console.error(`corpus: ${n} documents -> ${values.corpus}`);
}
