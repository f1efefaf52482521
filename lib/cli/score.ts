/**
 * Score a predictions file and print one JSON object of corpus-level metric values on stdout.
 *
 *   deno task score <predictions.jsonl> [--metrics exact_match,f1,rouge1,rouge2,rougeL,rougeLsum,bleu4] [--rouge-stemmer]
 *
 * The logic lives in `lib/eval/score_file.ts`; this file only parses arguments and reports.
 * Exit codes: 0 scored; 2 bad arguments or input (every bad line is listed on stderr); 1 a bug.
 * @module
 */
import { parseArgs } from "node:util";
import {
  DEFAULT_SCORE_METRICS,
  parseMetricList,
  scoreFile,
  ScoreInputError,
} from "../eval/score_file.ts";
import { USAGE_ERROR } from "./_main.ts";

/** Exit status for an unexpected failure. */
const INTERNAL_ERROR = 1;

const HELP = `usage: deno task score <predictions.jsonl> [--metrics NAMES] [--rouge-stemmer]

Reads one JSON object per line, {"prediction": "...", "references": ["...", ...]}
(or "reference": "..." for a single reference), and prints ONE JSON object on stdout
mapping each metric name to its corpus-level value, e.g.
  {"exact_match":0.61,"f1":0.72,"rouge1":0.55,...,"bleu4":18.3}

--metrics NAMES   comma-separated; default ${DEFAULT_SCORE_METRICS.join(",")}
--rouge-stemmer   Porter-stem tokens for rouge* (rouge-score use_stemmer=True); default off

Metrics (item metrics are averaged over lines; all 0-1 except bleu4, 0-100):
  exact_match         SQuAD v1.1 exact match (lowercase, strip punctuation and a/an/the,
                      collapse whitespace), max over references  [= the library's "em"]
  f1                  SQuAD v1.1 token F1, max over references
  em                  same as exact_match
  exact_match_strict  string equality after trimming whitespace (lm-eval's exact_match)
  rouge1, rouge2, rougeL, rougeLsum
                      rouge-score F-measures, max over references; rougeLsum splits
                      sentences on newlines
  bleu4               CodeXGLUE code-to-text smoothed sentence BLEU-4, all references together
  acc                 label equals the first reference (trim + lowercase)
  per_class_accuracy  acc_<label> for every gold label (first reference)
  macro_f1            scikit-learn macro F1 over gold and predicted labels

Exit status: 0 scored; 2 bad arguments or input (all bad lines listed on stderr); 1 bug.`;

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        metrics: { type: "string" },
        "rouge-stemmer": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    console.error(`score: ${(e as Error).message}\n\n${HELP}`);
    return USAGE_ERROR;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(
      `score: expected exactly one predictions file, got ${positionals.length}\n\n${HELP}`,
    );
    return USAGE_ERROR;
  }
  try {
    const names = values.metrics === undefined
      ? [...DEFAULT_SCORE_METRICS]
      : parseMetricList(values.metrics);
    const result = scoreFile(positionals[0], names, { rougeStemmer: values["rouge-stemmer"] });
    console.log(JSON.stringify(result));
    return 0;
  } catch (e) {
    if (e instanceof ScoreInputError) {
      console.error(`score: ${e.message}`);
      return USAGE_ERROR;
    }
    console.error(`score: unexpected error (please report): ${(e as Error).stack ?? e}`);
    return INTERNAL_ERROR;
  }
}

if (import.meta.main) Deno.exit(main());
