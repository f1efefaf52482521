/**
 * llama.cpp's multiple-choice task file (`llama-perplexity --multiple-choice -bf <file>`), and
 * the scoring rule that tool applies, so that tunebook's scores can be checked against it.
 *
 * File layout (`tools/perplexity/perplexity.cpp`, `multiple_choice_score`), all integers
 * little-endian:
 *
 * ```text
 * u32 n_tasks
 * u32 offset[n_tasks]          byte offset of each task from the start of the file
 * per task:
 *   string context             (a string is u32 byte length + UTF-8 bytes, no terminator)
 *   u32 n_mc1; string ending[n_mc1]; i32 label[n_mc1]   single-correct answers (label 1 = gold)
 *   u32 n_mc2; string ending[n_mc2]; i32 label[n_mc2]   multi-correct answers (read, not scored)
 * ```
 *
 * How llama-perplexity scores a task: each ending is tokenized as
 * `context + " " + ending` (it inserts the space itself, with BOS); the tokens shared by every
 * ending's sequence (the common prefix, which can reach past the context when all endings start
 * with the same token) are evaluated once; each ending's score is the **mean** log-probability
 * of its tokens after the common prefix; the prediction is the first ending with the highest
 * mean, and accuracy is the fraction of tasks whose prediction has label 1. It prints one line
 * per task, `<n>\t<running accuracy in %>`, then `Final result: <acc> +/- <stderr>`.
 * @module
 */
import { writeFileSync } from "node:fs";
import type { ChoiceScores } from "../llm/engine.ts";

/** One multiple-choice item, as llama-perplexity reads it. */
export interface MultipleChoiceTask {
  /** The context (question); llama-perplexity appends `" " + choice` to it. */
  context: string;
  /** The endings, without the leading space. At most 100, none empty. */
  choices: string[];
  /** Index of the right choice. */
  gold: number;
  /**
   * Label of each choice (1 = counts as correct). Default: 1 at `gold`, 0 elsewhere. Other
   * labelings let one read back the predicted index from llama-perplexity's accuracy lines.
   */
  labels?: number[];
}

/** llama-perplexity rejects tasks with more endings than this. */
const MAX_CHOICES = 100;

/**
 * Serialize tasks in llama-perplexity's multiple-choice binary format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMultipleChoiceTasks, serializeMultipleChoiceTasks } from "./_mc_binary.ts";
 * const bytes = serializeMultipleChoiceTasks([
 *   { context: "Question: What is 2 plus 2?\nAnswer:", choices: ["4", "5"], gold: 0 },
 * ]);
 * assert.deepEqual(readMultipleChoiceTasks(bytes)[0].choices, ["4", "5"]);
 * ```
 */
export function serializeMultipleChoiceTasks(tasks: MultipleChoiceTask[]): Uint8Array {
  const enc = new TextEncoder();
  const bodies = tasks.map((t, i) => {
    const where = `multiple-choice task ${i}`;
    if (!t.context) throw new Error(`${where}: empty context; llama-perplexity rejects it`);
    if (t.choices.length === 0 || t.choices.length > MAX_CHOICES) {
      throw new Error(
        `${where}: ${t.choices.length} choices; llama-perplexity needs 1 to ${MAX_CHOICES}`,
      );
    }
    if (t.choices.some((c) => c === "")) {
      throw new Error(`${where}: an empty choice; llama-perplexity rejects it, drop the item`);
    }
    if (!Number.isInteger(t.gold) || t.gold < 0 || t.gold >= t.choices.length) {
      throw new Error(
        `${where}: gold ${t.gold} is not an index of its ${t.choices.length} choices`,
      );
    }
    const labels = t.labels ?? t.choices.map((_, j) => (j === t.gold ? 1 : 0));
    if (labels.length !== t.choices.length) {
      throw new Error(`${where}: ${labels.length} labels for ${t.choices.length} choices`);
    }
    const strings = [t.context, ...t.choices].map((s) => enc.encode(s));
    const size = strings.reduce((n, s) => n + 4 + s.length, 0) + 4 + 4 * labels.length + 4;
    const buf = new Uint8Array(size);
    const view = new DataView(buf.buffer);
    let at = 0;
    const u32 = (v: number) => {
      view.setUint32(at, v, true);
      at += 4;
    };
    const str = (s: Uint8Array) => {
      u32(s.length);
      buf.set(s, at);
      at += s.length;
    };
    str(strings[0]);
    u32(t.choices.length);
    strings.slice(1).forEach(str);
    for (const l of labels) {
      view.setInt32(at, l, true);
      at += 4;
    }
    u32(0); // mc2: no multi-correct answers
    return buf;
  });
  const header = 4 + 4 * tasks.length;
  const total = bodies.reduce((n, b) => n + b.length, header);
  if (total > 0xffffffff) {
    throw new Error(
      `multiple-choice file would be ${total} bytes; offsets are u32, split the tasks`,
    );
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, tasks.length, true);
  let at = header;
  bodies.forEach((b, i) => {
    view.setUint32(4 + 4 * i, at, true);
    out.set(b, at);
    at += b.length;
  });
  return out;
}

/**
 * Write tasks to `path` in llama-perplexity's multiple-choice binary format
 * (`llama-perplexity --multiple-choice -bf <path>`).
 *
 * @example
 * ```ts ignore
 * writeMultipleChoiceTasks("/tmp/mc.bin", [{ context: "2 + 2 =", choices: ["4", "5"], gold: 0 }]);
 * ```
 */
export function writeMultipleChoiceTasks(path: string, tasks: MultipleChoiceTask[]): void {
  if (tasks.length === 0) {
    throw new Error(`no tasks to write to ${path}; llama-perplexity rejects an empty file`);
  }
  writeFileSync(path, serializeMultipleChoiceTasks(tasks));
}

/**
 * Parse a multiple-choice binary file (the inverse of {@linkcode serializeMultipleChoiceTasks};
 * `gold` is the first choice labelled 1, or -1 when none is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMultipleChoiceTasks, serializeMultipleChoiceTasks } from "./_mc_binary.ts";
 * const t = { context: "Sky:", choices: ["blue", "green"], gold: 0, labels: [1, 0] };
 * assert.equal(readMultipleChoiceTasks(serializeMultipleChoiceTasks([t]))[0].gold, 0);
 * ```
 */
export function readMultipleChoiceTasks(bytes: Uint8Array): MultipleChoiceTask[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder();
  const fail = (at: number, what: string): never => {
    throw new Error(
      `multiple-choice file: ${what} at byte ${at} of ${bytes.length}; ` +
        `the file is truncated or not in llama-perplexity's format`,
    );
  };
  const u32 = (at: number) => (at + 4 <= bytes.length ? view.getUint32(at, true) : fail(at, "u32"));
  const n = u32(0);
  const tasks: MultipleChoiceTask[] = [];
  for (let i = 0; i < n; i++) {
    let at = u32(4 + 4 * i);
    const str = () => {
      const len = u32(at);
      if (at + 4 + len > bytes.length) fail(at, "string");
      const s = dec.decode(bytes.subarray(at + 4, at + 4 + len));
      at += 4 + len;
      return s;
    };
    const context = str();
    const k = u32(at);
    at += 4;
    if (k > MAX_CHOICES) fail(at - 4, `${k} choices`);
    const choices = Array.from({ length: k }, str);
    const labels = Array.from({ length: k }, (_, j) => view.getInt32(at + 4 * j, true));
    tasks.push({ context, choices, gold: labels.indexOf(1), labels });
  }
  return tasks;
}

/**
 * The choice llama-perplexity's rule picks: the first with the highest mean log-probability per
 * token (`logprobs[i] / tokenCounts[i]`). It equals llama-perplexity's prediction when every
 * choice's tokens start right after the context's, i.e. the choices share no leading token
 * (otherwise llama-perplexity leaves the shared tokens out of the mean).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanLogprobPrediction } from "./_mc_binary.ts";
 * const scores = { logprobs: [-3, -4], tokenCounts: [1, 2], isGreedy: [false, false], contextTokens: 5 };
 * assert.equal(meanLogprobPrediction(scores), 1); // -2 per token beats -3
 * ```
 */
export function meanLogprobPrediction(
  scores: Pick<ChoiceScores, "logprobs" | "tokenCounts">,
): number {
  let best = 0;
  let bestMean = -Infinity;
  scores.logprobs.forEach((l, i) => {
    const mean = l / Math.max(1, scores.tokenCounts[i]);
    if (mean > bestMean) {
      bestMean = mean;
      best = i;
    }
  });
  return best;
}

/** What `llama-perplexity --multiple-choice` printed. */
export interface PerplexityReport {
  /** Whether each task (in file order) was predicted right, from the running-accuracy lines. */
  correct: boolean[];
  /** `Final result` accuracy in [0, 1], or undefined when it was not printed. */
  accuracy?: number;
  /**
   * From its log timestamps: ms from the start of the log (model load and warm-up decode
   * included) to `there are N tasks in prompt`, the start of the multiple-choice scoring.
   */
  startupMs?: number;
  /**
   * From its log timestamps: ms from `there are N tasks in prompt` to `Final result`, i.e.
   * reading, tokenizing and scoring the tasks (no model load, warm-up or teardown).
   */
  scoringMs?: number;
}

/**
 * Parse the output (stdout and stderr together) of `llama-perplexity --multiple-choice`. Each
 * task prints `<n>\t<running accuracy %>`, so task n was right when the count of right answers
 * (`round(acc × n / 100)`) went up at n. Log lines start with a `min.ss.mmm.uuu` timestamp.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePerplexityOutput } from "./_mc_binary.ts";
 * const r = parsePerplexityOutput(
 *   "0.00.500.000 I multiple_choice_score: there are 2 tasks in prompt\n" +
 *     "task\tacc_norm\n1\t100.00000000\n2\t50.00000000\n" +
 *     "0.01.750.000 I Final result: 50.0000 +/- 50.0000\n",
 * );
 * assert.deepEqual(r.correct, [true, false]);
 * assert.equal(r.accuracy, 0.5);
 * assert.equal(r.scoringMs, 1250);
 * ```
 */
export function parsePerplexityOutput(text: string): PerplexityReport {
  const correct: boolean[] = [];
  let right = 0;
  for (const m of text.matchAll(/^(\d+)\t(\d+(?:\.\d+)?)\s*$/gm)) {
    const n = Number(m[1]);
    if (n !== correct.length + 1) {
      throw new Error(
        `llama-perplexity output: task line ${n} after ${correct.length} tasks; ` +
          `pass its whole output (stdout and stderr) from one run`,
      );
    }
    const now = Math.round((Number(m[2]) * n) / 100);
    correct.push(now > right);
    right = now;
  }
  const final = /Final result:\s*([\d.]+)/.exec(text);
  const stamp = (re: RegExp) => {
    const m = new RegExp(String.raw`^(\d+)\.(\d{2})\.(\d{3})\.(\d{3}) .*` + re.source, "m")
      .exec(text);
    return m
      ? (Number(m[1]) * 60 + Number(m[2])) * 1000 + Number(m[3]) + Number(m[4]) / 1000
      : undefined;
  };
  const start = stamp(/there are \d+ tasks in prompt/);
  const end = stamp(/Final result:/);
  return {
    correct,
    accuracy: final ? Number(final[1]) / 100 : undefined,
    startupMs: start,
    scoringMs: start !== undefined && end !== undefined ? end - start : undefined,
  };
}
