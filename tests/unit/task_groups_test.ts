/**
 * What `--tasks` names, as lm-evaluation-harness resolves it: group files (`group:` with a
 * `task:` list, also `_`-prefixed ones, with per-task overrides and inline tasks, nested
 * groups), tags, globs, task and group YAML paths, folders, and `--include-path` folders whose
 * tasks win over the tasks folder's; a broken file in any of them is reported and never breaks
 * the others. Group scores follow `aggregate_metric_list`.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aggregateGroups } from "../../lib/eval/group_results.ts";
import {
  findTask,
  formatTaskList,
  resolveTasks,
  resolveTaskSelection,
  taskRegistry,
} from "../../lib/eval/task/mod.ts";
import { errorOf, minimalTask, ROWS, taskDir } from "./_task_fixtures.ts";

const named = (name: string, extra = "") =>
  minimalTask(extra).replace("task: tiny", `task: ${name}`);

function folder(): string {
  return taskDir({
    "rows.jsonl": ROWS,
    "arc_easy.yaml": named("arc_easy", "tag: [ai2_arc]"),
    "arc_challenge.yaml": named("arc_challenge", "tag: [ai2_arc]"),
    "extra.yaml": named("extra"),
    "_ai2_arc.yaml": [
      "group: ai2_arc_group",
      "group_alias: ARC",
      "task:",
      "  - arc_easy",
      "  - task: arc_challenge",
      "    num_fewshot: 3",
      "  - task: inline_one",
      "    dataset_path: ./rows.jsonl",
      "    test_split: test",
      '    doc_to_text: "Inline {{q}}"',
      '    doc_to_target: "{{a}}"',
      "aggregate_metric_list:",
      "  - metric: exact_match",
      "    aggregation: mean",
      "    weight_by_size: true",
      "metadata:",
      "  version: 1.0",
    ].join("\n") + "\n",
    "outer.yaml": "group: outer\ntask:\n  - ai2_arc_group\n  - extra\n  - arc_easy\n",
  });
}

Deno.test("a group file runs what it lists, in order, each task once; overrides and inline tasks apply", () => {
  const dir = folder();
  const opts = { tasksDir: dir };
  const { tasks, groups } = resolveTaskSelection(["ai2_arc_group"], opts);
  assert.deepEqual(tasks.map((t) => t.name), ["arc_easy", "arc_challenge", "inline_one"]);
  assert.equal(tasks[1].numFewshot, 3, "the group's override");
  assert.equal(findTask("arc_challenge", opts).numFewshot, 0, "the task itself is unchanged");
  assert.equal(tasks[2].docToText, "Inline {{q}}");
  assert.deepEqual(groups.map((g) => [g.name, g.alias, g.tasks]), [
    ["ai2_arc_group", "ARC", ["arc_easy", "arc_challenge", "inline_one"]],
  ]);
  // groups nest; a task named twice runs once, at its first place
  const outer = resolveTaskSelection(["outer"], opts);
  assert.deepEqual(outer.tasks.map((t) => t.name), [
    "arc_easy",
    "arc_challenge",
    "inline_one",
    "extra",
  ]);
  assert.deepEqual(outer.groups.map((g) => g.name), ["outer", "ai2_arc_group"]);
  // the group file by path
  assert.deepEqual(resolveTasks([join(dir, "_ai2_arc.yaml")], opts).map((t) => t.name), [
    "arc_easy",
    "arc_challenge",
    "inline_one",
  ]);
  assert.match(
    formatTaskList(taskRegistry(opts)),
    /^ai2_arc_group +3 listed: arc_easy, arc_challenge, inline_one$/m,
  );
  assert.match(errorOf(() => findTask("ai2_arc_group", opts)), /is a group of 3 task\(s\)/);
});

Deno.test("tags, globs, folders and YAML paths in --tasks", () => {
  const dir = folder();
  const opts = { tasksDir: dir };
  assert.deepEqual(resolveTasks(["ai2_arc"], opts).map((t) => t.name), [
    "arc_challenge",
    "arc_easy",
  ]);
  assert.deepEqual(resolveTasks(["arc_*"], opts).map((t) => t.name), ["arc_challenge", "arc_easy"]);
  assert.match(errorOf(() => resolveTasks(["zzz_*"], opts)), /"zzz_\*" matches no task name/);
  const sub = join(dir, "mine");
  mkdirSync(sub);
  writeFileSync(join(sub, "rows.jsonl"), ROWS);
  writeFileSync(join(sub, "a.yaml"), named("mine_a"));
  writeFileSync(join(sub, "b.yaml"), named("mine_b"));
  assert.deepEqual(resolveTasks([sub], opts).map((t) => t.name), ["mine_a", "mine_b"]);
  assert.deepEqual(resolveTasks([join(sub, "b.yaml")], opts).map((t) => t.name), ["mine_b"]);
  writeFileSync(join(sub, "c.yaml"), "task: broken\n");
  assert.match(
    errorOf(() => resolveTasks([sub], opts)),
    /folder .*mine: 1 task file\(s\) could not be loaded:\n.*c\.yaml:1:1: dataset_path: required field is missing/,
  );
});

Deno.test("--include-path adds a folder of tasks; its tasks win over data/tasks' of the same name", () => {
  const user = taskDir({
    "rows.jsonl": ROWS,
    "sciq.yaml": named("sciq", "tag: [mine]"),
    "my_task.yaml": named("my_task", "tag: [mine]"),
    "broken.yaml": "task: also_broken\noutput_type: nonsense\n",
  });
  const opts = { includePath: [user] };
  const registry = taskRegistry(opts);
  assert.equal(findTask("sciq", opts).file, join(user, "sciq.yaml"));
  assert.equal(findTask("synth_qa", opts).name, "synth_qa", "the shipped tasks are still there");
  assert.deepEqual(resolveTasks(["mine"], opts).map((t) => t.name), ["my_task", "sciq"]);
  assert.deepEqual(registry.overridden.map((o) => o.name), ["sciq"]);
  assert.match(
    formatTaskList(registry),
    /replaced by an include-path task of the same name:\nsciq +.*sciq\.yaml \(not .*data\/tasks\/sciq\/sciq\.yaml\)/,
  );
  assert.ok(
    registry.issues.some((i) => i.file.endsWith("broken.yaml")),
    "the broken file is reported",
  );
  assert.match(
    errorOf(() => taskRegistry({ includePath: [join(user, "nope")] })),
    /include path .*nope is not a folder/,
  );
});

Deno.test("a group with a bad entry or key is reported at its line; other tasks still resolve", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "good.yaml": named("good"),
    "g.yaml": "group: g\ntask:\n  - good\n  - 3\nnum_fewshot: 2\n",
    "h.yaml": "group: h\ntask:\n  - missing_task\n",
  });
  const opts = { tasksDir: dir };
  const issues = taskRegistry(opts).issues.map((i) =>
    `${i.line}:${i.col}: ${i.field}: ${i.message}`
  );
  assert.ok(
    issues.some((l) => /^4:5: task\.1: expected a task name or a mapping with task:/.test(l)),
    issues.join("\n"),
  );
  assert.ok(
    issues.some((l) => /^5:1: num_fewshot: unknown key "num_fewshot".*group file/.test(l)),
    issues.join("\n"),
  );
  assert.deepEqual(resolveTasks(["good"], opts).map((t) => t.name), ["good"]);
  assert.match(
    errorOf(() => resolveTasks(["h"], opts)),
    /h\.yaml:3:5: group h lists "missing_task": unknown task or tag "missing_task"/,
  );
});

Deno.test("group scores: task values averaged, weighted by size, with lm-eval's pooled stderr", () => {
  const m = (value: number, stderr: number, n: number) => ({
    value,
    stderr,
    n,
    ci: [0, 1] as [number, number],
  });
  const groups = aggregateGroups(
    [{
      name: "g",
      file: "g.yaml",
      tasks: ["a", "b"],
      version: 1,
      aggregate: [
        { metric: "acc", aggregation: "mean", weightBySize: true, filter: "none" },
        { metric: "acc", aggregation: "mean", weightBySize: false, filter: "strict" },
        { metric: "f1", aggregation: "mean", weightBySize: true, filter: "none" },
      ],
    }],
    {
      a: { n: 10, metrics: { acc: m(0.5, 0.1, 10), "acc,strict": m(0.2, 0.1, 10) } },
      b: { n: 30, metrics: { acc: m(0.9, 0.05, 30), "acc,strict": m(0.6, 0.1, 30) } },
    },
  );
  assert.equal(groups.g.metrics.acc.value, 0.8);
  assert.equal(groups.g.metrics["acc,strict"].value, 0.4);
  // sqrt(((10-1)*0.1^2*10 + (30-1)*0.05^2*30) / (40-2) / 40)
  assert.equal(
    groups.g.metrics.acc.stderr,
    Math.round(Math.sqrt((0.9 + 2.175) / 38 / 40) * 1e6) / 1e6,
  );
  assert.deepEqual(groups.g.missing, ["f1"]);
});
