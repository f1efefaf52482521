/**
 * Score a predictions file and print one JSON object of corpus-level metric values on stdout.
 *
 *   deno task score <predictions.jsonl> [--metrics exact_match,em,f1,rouge1,rouge2,rougeL,rougeLsum,bleu4] [--rouge-stemmer]
 *
 * The logic lives in `lib/eval/score_file.ts`; this file only parses arguments and reports.
 * @module
 */
import {
  DEFAULT_SCORE_METRICS,
  parseMetricList,
  scoreFile,
  ScoreInputError,
} from "../eval/score_file.ts";
import { booleanFlag, defineCommand, runCommand, stringFlag } from "./_command.ts";

/** `deno task score`. */
export const command = defineCommand({
  name: "score",
  summary: `Reads one JSON object per line, {"prediction": "...", "references": ["...", ...]}
(or "reference": "..." for a single reference), and prints ONE JSON object on stdout
mapping each metric name to its corpus-level value, e.g.
  {"exact_match":0.52,"em":0.61,"f1":0.72,"rouge1":0.55,...,"bleu4":18.3}`,
  positionals: {
    usage: "<predictions.jsonl>",
    expected: "exactly one predictions file",
    min: 1,
    max: 1,
  },
  flags: {
    metrics: stringFlag("comma-separated metric names (below)", {
      placeholder: "NAMES",
      defaultText: DEFAULT_SCORE_METRICS.join(","),
    }),
    "rouge-stemmer": booleanFlag("Porter-stem tokens for rouge* (rouge-score use_stemmer=True)"),
  },
  epilog: `Metrics (item metrics are averaged over lines; all 0-1 except bleu4, 0-100):
  exact_match         lm-eval's exact match (Hugging Face evaluate): the strings equal as
                      they are, max over references  [= a task's exact_match]
  em                  SQuAD v1.1 exact match (lowercase, strip punctuation and a/an/the,
                      collapse whitespace), max over references
  f1                  SQuAD v1.1 token F1, max over references
  rouge1, rouge2, rougeL, rougeLsum
                      rouge-score F-measures, max over references; rougeLsum splits
                      sentences on newlines
  bleu4               CodeXGLUE code-to-text smoothed sentence BLEU-4, all references together
  acc                 label equals the first reference (trim + lowercase)
  per_class_accuracy  acc_<label> for every gold label (first reference)
  macro_f1            scikit-learn macro F1 over gold and predicted labels`,
  exitStatus: "Exit status: 0 scored; 2 bad arguments or input (all bad lines listed on " +
    "stderr); 1 other failure.",
  usageErrors: [ScoreInputError],
  run: ({ values, positionals: [file] }) => {
    const names = values.metrics === undefined
      ? [...DEFAULT_SCORE_METRICS]
      : parseMetricList(values.metrics);
    const result = scoreFile(file, names, { rougeStemmer: values["rouge-stemmer"] });
    console.log(JSON.stringify(result));
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
