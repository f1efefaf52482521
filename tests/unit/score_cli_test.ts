/**
 * End-to-end tests of `deno task score` (lib/cli/score.ts) run as a subprocess on temp files, plus
 * the validation in lib/eval/score_file.ts. Expected metric values are the reference
 * implementations' outputs recorded in tests/unit/fixtures/metric_vectors.json.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  parseScoreRows,
  scoreFile,
  ScoreInputError,
  scoreRows,
} from "../../lib/eval/score_file.ts";
import vectors from "./fixtures/metric_vectors.json" with { type: "json" };

const SCORE_CLI = fileURLToPath(new URL("../../lib/cli/score.ts", import.meta.url));
/** Exit status the CLI uses for bad arguments or input. */
const USAGE_ERROR = 2;
const TOL = 1e-9;
const BLEU_RTOL = 1e-6;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function runScore(args: string[]): Promise<CliResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCORE_CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Writes `lines` (strings as-is, other values as JSON) to a temp .jsonl file in `dir`. */
function writeJsonl(dir: string, name: string, lines: unknown[]): string {
  const path = join(dir, name);
  const text = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n");
  Deno.writeTextFileSync(path, text + "\n");
  return path;
}

function assertClose(actual: number, expected: number, tol: number, label: string): void {
  const scale = Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tol * scale,
    `${label}: got ${actual}, expected ${expected}`,
  );
}

Deno.test("score CLI prints one JSON object: em/f1 as the SQuAD v1.1 script, exact_match as a task's", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { cases, corpus } = vectors.squad;
    const path = writeJsonl(
      dir,
      "squad.jsonl",
      cases.map((c, i) =>
        i % 2 === 0 && c.references.length === 1
          ? { id: i, prediction: c.prediction, reference: c.references[0] }
          : { id: i, prediction: c.prediction, references: c.references }
      ),
    );
    const result = await runScore([path, "--metrics", "em,f1,exact_match"]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, 1, "exactly one line on stdout");
    const out = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(out), ["em", "f1", "exact_match"]);
    assertClose(out.em, corpus.em, TOL, "em = SQuAD EM");
    assertClose(out.f1, corpus.f1, TOL, "f1 = SQuAD F1");

    // exact_match means what a task's metric_list means: lm-eval's, on lm-eval's vectors.
    const em = vectors.exact_match.cases.filter((c) => Object.keys(c.options).length === 0);
    const emPath = writeJsonl(
      dir,
      "em.jsonl",
      em.map((c) => ({ prediction: c.prediction, references: c.references })),
    );
    const exact = await runScore([emPath, "--metrics", "exact_match,em"]);
    assert.equal(exact.code, 0, exact.stderr);
    const emOut = JSON.parse(exact.stdout);
    const expected = em.reduce((a, c) => a + c.expected, 0) / em.length;
    assertClose(emOut.exact_match, expected, TOL, "exact_match = lm-eval's exact_match");
    assert.ok(emOut.em > emOut.exact_match, "SQuAD's em forgives what exact_match does not");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("score CLI default metrics: exact_match, em, f1, rouge*, bleu4 with reference values", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const bleuCases = vectors.bleu4.cases;
    const path = writeJsonl(
      dir,
      "bleu.jsonl",
      bleuCases.map((c) => ({ prediction: c.prediction, references: c.references })),
    );
    const result = await runScore([path]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(out), [
      "exact_match",
      "em",
      "f1",
      "rouge1",
      "rouge2",
      "rougeL",
      "rougeLsum",
      "bleu4",
    ]);
    const bleuError = Math.abs(out.bleu4 - vectors.bleu4.corpus.expected) /
      vectors.bleu4.corpus.expected;
    assert.ok(bleuError <= BLEU_RTOL, `bleu4 ${out.bleu4} vs ${vectors.bleu4.corpus.expected}`);

    const rougeCases = vectors.rouge.cases.filter((c) => !c.use_stemmer);
    const rougePath = writeJsonl(
      dir,
      "rouge.jsonl",
      rougeCases.map((c) => ({ prediction: c.prediction, references: c.references })),
    );
    const rouge = await runScore([rougePath, "--metrics", "rouge1,rouge2,rougeL,rougeLsum"]);
    assert.equal(rouge.code, 0, rouge.stderr);
    const rougeOut = JSON.parse(rouge.stdout);
    for (const [type, expected] of Object.entries(vectors.rouge.corpus_unstemmed_mean)) {
      assertClose(rougeOut[type], expected, TOL, `corpus ${type}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("score CLI --rouge-stemmer scores rouge as rouge-score with use_stemmer=True", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const stemmed = vectors.rouge.cases.filter((c) => c.use_stemmer);
    const path = writeJsonl(
      dir,
      "rouge.jsonl",
      stemmed.map((c) => ({ prediction: c.prediction, references: c.references })),
    );
    const result = await runScore([path, "--metrics", "rouge1,rougeLsum", "--rouge-stemmer"]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    for (const type of ["rouge1", "rougeLsum"]) {
      const mean = stemmed.reduce((s, c) => s + (c.expected as Record<string, number>)[type], 0) /
        stemmed.length;
      assertClose(out[type], mean, TOL, `stemmed ${type}`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("score CLI lists every bad line with file:line and exits 2", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = writeJsonl(dir, "bad.jsonl", [
      { prediction: "ok", references: ["ok"] },
      "{not json",
      { output: "x", id: 3 },
      { prediction: "x" },
      "",
      { prediction: 4, references: ["4"] },
      { prediction: "x", references: [] },
      { prediction: "x", references: ["a", null] },
      '"just a string"',
      { prediction: "fine", reference: "fine" },
    ]);
    const result = await runScore([path, "--metrics", "f1"]);
    assert.equal(result.code, USAGE_ERROR);
    assert.equal(result.stdout, "", "nothing on stdout");
    const err = result.stderr;
    assert.match(err, /7 bad lines/);
    assert.match(err, new RegExp(`${path}:2: not valid JSON`));
    assert.match(
      err,
      new RegExp(`${path}:3: missing "prediction" \\(fields present: output, id\\)`),
    );
    assert.match(err, /missing "references" \(or "reference"\) \(fields present: output, id\)/);
    assert.match(err, new RegExp(`${path}:4: missing "references" .*fields present: prediction`));
    assert.match(err, new RegExp(`${path}:6: "prediction" must be a string, got a number`));
    assert.match(err, new RegExp(`${path}:7: "references" is empty`));
    assert.match(err, new RegExp(`${path}:8: "references"\\[1\\] must be a string, got null`));
    assert.match(err, new RegExp(`${path}:9: expected a JSON object`));
    assert.doesNotMatch(err, new RegExp(`${path}:(1|5|10):`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("score CLI: missing file, unknown metric, bad arguments exit 2 with a reason", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const missing = await runScore([join(dir, "nope.jsonl")]);
    assert.equal(missing.code, USAGE_ERROR);
    assert.match(missing.stderr, /nope\.jsonl: no such file/);

    const path = writeJsonl(dir, "ok.jsonl", [{ prediction: "a", references: ["a"] }]);
    const unknown = await runScore([path, "--metrics", "f1,bleu"]);
    assert.equal(unknown.code, USAGE_ERROR);
    assert.match(unknown.stderr, /unknown metric "bleu"/);
    for (
      const name of ["exact_match", "em", "f1", "rougeLsum", "bleu4", "macro_f1"]
    ) {
      assert.ok(unknown.stderr.includes(name), `lists ${name}`);
    }
    const gone = await runScore([path, "--metrics", "exact_match_strict"]);
    assert.equal(gone.code, USAGE_ERROR);
    assert.match(gone.stderr, /exact_match_strict is gone: exact_match is now lm-eval's/);

    const noFile = await runScore(["--metrics", "f1"]);
    assert.equal(noFile.code, USAGE_ERROR);
    assert.match(noFile.stderr, /expected exactly one predictions file, got 0/);

    const badFlag = await runScore([path, "--metric", "f1"]);
    assert.equal(badFlag.code, USAGE_ERROR);
    assert.match(badFlag.stderr, /usage: deno task score/);

    const empty = writeJsonl(dir, "empty.jsonl", []);
    const none = await runScore([empty]);
    assert.equal(none.code, USAGE_ERROR);
    assert.match(none.stderr, /no rows to score/);

    const help = await runScore(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /exact_match\s+lm-eval's exact match/);
    assert.match(help.stdout, /em\s+SQuAD v1\.1 exact match/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("score CLI corpus metrics merge their keys into the one JSON object", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const c = vectors.classification.cases[2];
    const path = writeJsonl(
      dir,
      "labels.jsonl",
      c.predictions.map((p, i) => ({ prediction: p, references: c.references[i] })),
    );
    const result = await runScore([path, "--metrics", "acc,per_class_accuracy,macro_f1"]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(out), ["acc", ...Object.keys(c.per_class_accuracy), "macro_f1"]);
    for (const [key, value] of Object.entries(c.per_class_accuracy)) {
      assertClose(out[key], value, TOL, key);
    }
    assertClose(out.macro_f1, c.macro_f1.macro_f1, TOL, "macro_f1");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseScoreRows / scoreRows / scoreFile work in-process", () => {
  const rows = parseScoreRows(
    '{"prediction": "The Cat", "references": ["cat"]}\r\n\n{"prediction": "x", "reference": "y"}\n',
    "mem.jsonl",
  );
  assert.deepEqual(rows, [
    { line: 1, prediction: "The Cat", references: ["cat"] },
    { line: 3, prediction: "x", references: ["y"] },
  ]);
  assert.deepEqual(scoreRows(rows, ["exact_match", "em"]), { exact_match: 0, em: 0.5 });
  assert.throws(
    () => parseScoreRows('{"prediction": "a", "references": ["a"], "reference": "a"}', "m.jsonl"),
    (e: unknown) => {
      assert.ok(e instanceof ScoreInputError);
      assert.deepEqual(e.problems, [`m.jsonl:1: has both "references" and "reference"; keep one`]);
      return true;
    },
  );
  assert.throws(() => scoreFile("/nonexistent/preds.jsonl"), /no such file/);
  assert.throws(() => scoreRows(rows, ["rouge3"]), /unknown metric "rouge3"/);
});
