/**
 * `deno task synth` — write the synthetic task splits (`--out DIR`: DIR/<family>/<split>.jsonl)
 * and/or the tiny model's pretraining corpus (`--corpus FILE`: JSONL, one `{"text": …}` document
 * per line). Nothing is written without one of them: the committed splits are regenerated only
 * with an explicit `--out data/synthetic` (scripts/build_tiny.sh passes it).
 *
 *   deno task synth --out data/synthetic --corpus .cache/tiny/corpus.jsonl
 *   deno task synth --corpus .cache/tiny-256/corpus.jsonl --model tiny-256
 *   deno task synth --chat .cache/tiny-256/chat.jsonl
 * @module
 */
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  CORPUS_PRESETS,
  FAMILIES,
  makePretrainCorpus,
  makeSplits,
  SPLITS,
  SYNTHETIC_DEFAULTS,
} from "../data/synthetic/mod.ts";
import { writeJsonl } from "../data/jsonl.ts";
import { makeChatConversations } from "../data/synthetic/chat.ts";
import {
  defineCommand,
  enumFlag,
  integerFlag,
  runCommand,
  stringFlag,
  UsageError,
} from "./_command.ts";

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
    chat: stringFlag(
      'write the chat adapter\'s conversations there ({"messages"} rows from the train splits)',
      { placeholder: "FILE.jsonl" },
    ),
    seed: integerFlag("world seed (names, facts, items and corpus derive from it)", {
      default: SYNTHETIC_DEFAULTS.seed,
    }),
    model: enumFlag(
      "whose pretraining corpus: tiny (four families, data/models/tiny), tiny-256 (every " +
        "family, with recall drills, data/models/tiny-256) or tiny-256-copy (tiny-256's second " +
        "phase: denser drills, sentences and lists repeated word for word)",
      Object.keys(CORPUS_PRESETS) as (keyof typeof CORPUS_PRESETS)[],
      { default: "tiny" },
    ),
    documents: integerFlag("documents in the corpus (default: the model's corpus size)", {
      min: 1,
    }),
  },
  run: async ({ values }) => {
    if (values.out === undefined && values.corpus === undefined && values.chat === undefined) {
      throw new UsageError(
        "nothing to write: give --out DIR for the task splits (--out data/synthetic replaces " +
          "the committed ones), --corpus FILE.jsonl for the pretraining corpus and/or --chat " +
          "FILE.jsonl for the chat adapter's conversations",
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
      const preset = CORPUS_PRESETS[values.model];
      const documents = values.documents ?? preset.documents ?? SYNTHETIC_DEFAULTS.documents;
      for (const doc of makePretrainCorpus({ ...preset, seed, documents })) {
        if (!out.write(JSON.stringify({ text: doc }) + "\n")) {
          await new Promise<void>((r) => out.once("drain", () => r()));
        }
        n++;
      }
      await new Promise<void>((r) => out.end(() => r()));
      console.error(`corpus: ${n} documents -> ${values.corpus}`);
    }
    if (values.chat !== undefined) {
      const rows = makeChatConversations({ seed });
      writeJsonl(values.chat, rows.map(({ messages }) => ({ messages })));
      console.error(`chat: ${rows.length} conversations -> ${values.chat}`);
    }
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
