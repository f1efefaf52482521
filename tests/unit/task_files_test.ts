/**
 * Task files: every shipped YAML validates and has a README line; `include:` chains merge as
 * lm-eval merges them, and a cycle or a missing base is reported with its position.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  findTask,
  KNOWN_METRICS,
  listTasks,
  parseTaskFile,
  taskRegistry,
} from "../../lib/eval/task/mod.ts";
import { errorOf, minimalTask, ROWS, taskDir, TASKS_DIR } from "./_task_fixtures.ts";

// --- the shipped task files -------------------------------------------------------------------

Deno.test("every task file in data/tasks parses and validates", () => {
  deepStrictEqual(taskRegistry().issues, []);
  const tasks = listTasks();
  const files = yamlFiles(TASKS_DIR).filter((f) => !f.split("/").pop()!.startsWith("_"));
  equal(tasks.length, files.length);
  const names = tasks.map((t) => t.name);
  for (
    const required of [
      "synth_arithmetic",
      "synth_entailment",
      "synth_entailment_gen",
      "synth_qa",
      "synth_qa_rouge",
      "synth_facts",
      "synth_facts_support",
      "sciq",
      "logiqa",
      "mc_taco",
      "arithmetic_2da",
      "arithmetic_2ds",
      "arithmetic_2dm",
      "arithmetic_3da",
      "arithmetic_3ds",
      "arithmetic_4da",
      "arithmetic_1dc",
      "squad_v1",
      "puzzte",
      "xsum",
      "code2text_python",
    ]
  ) ok(names.includes(required), `missing task ${required}`);
  for (const task of tasks) {
    // a harness file keeps its own metric names (process_results: whatever the hook returns)
    if (!task.processResults) {
      for (const m of task.metrics) {
        ok(KNOWN_METRICS.includes(m.metric), `${task.name}: ${m.metric}`);
      }
    }
  }
  // Every base file is used by some task.
  const bases = readdirSync(TASKS_DIR).filter((f) => f.startsWith("_") && f.endsWith(".yaml"));
  for (const base of bases) {
    ok(tasks.some((t) => t.includes.some((f) => f.endsWith(base))), `${base} is not included`);
  }
});

/** Every YAML file under `dir`, recursively (paths relative to it). */
function yamlFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix)).flatMap((f) => {
    const rel = prefix ? `${prefix}/${f}` : f;
    if (statSync(join(dir, rel)).isDirectory()) return yamlFiles(dir, rel);
    return f.endsWith(".yaml") ? [rel] : [];
  });
}

Deno.test("each task README line names a shipped task, and every task has a line", () => {
  const readme = readFileSync(join(TASKS_DIR, "README.md"), "utf8");
  for (const task of listTasks()) match(readme, new RegExp(`\\| \`${task.name}\` +\\|`));
});

// --- include ----------------------------------------------------------------------------------

Deno.test("include: the including file's keys override the base's; the rest is inherited", () => {
  const base = findTask("synth_qa");
  const rouge = findTask("synth_qa_rouge");
  deepStrictEqual(rouge.metrics.map((m) => m.metric), [
    "rouge1",
    "rouge2",
    "rougeL",
    "rougeLsum",
    "bleu4",
  ]);
  equal(rouge.docToText, base.docToText);
  equal(rouge.dataset.source, base.dataset.source);
  deepStrictEqual(rouge.includes, [base.file]);
  const a2 = findTask("arithmetic_2da");
  equal(a2.dataset.config, "arithmetic_2da");
  equal(a2.dataset.source, "hf:EleutherAI/arithmetic");
  equal(a2.outputType, "loglikelihood");
  deepStrictEqual(a2.metrics.map((m) => m.metric), ["acc"]);
});

Deno.test("include: chains resolve relative to each file, nearest file wins", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "_a.yaml": minimalTask("num_fewshot: 1\ndescription: from a\n"),
    "_b.yaml": "include: _a.yaml\nnum_fewshot: 2\n",
    "c.yaml": "include: _b.yaml\ntask: c\n",
  });
  const task = parseTaskFile(join(dir, "c.yaml"));
  equal(task.name, "c");
  equal(task.numFewshot, 2);
  equal(task.description, "from a");
  equal(task.includes.length, 2);
  equal(task.dataset.source, join(dir, "rows.jsonl"));
});

Deno.test("include: a cycle is reported with the chain and the include's position", () => {
  const dir = taskDir({ "a.yaml": "task: a\ninclude: b.yaml\n", "b.yaml": "include: a.yaml\n" });
  const msg = errorOf(() => parseTaskFile(join(dir, "b.yaml")));
  match(msg, /include cycle: .*b\.yaml -> .*a\.yaml -> .*b\.yaml/);
  match(msg, /a\.yaml:2:10: include: /);
});

Deno.test("include: a missing base file names the resolved path", () => {
  const dir = taskDir({ "a.yaml": "include: nope.yaml\ntask: a\n" });
  match(
    errorOf(() => parseTaskFile(join(dir, "a.yaml"))),
    /a\.yaml:1:10: include: included file .*nope\.yaml not found/,
  );
});
