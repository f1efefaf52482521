/**
 * The task registry: lookups by name and path, each file parsed once and read again when it (or
 * a file it includes) changes, `tag:` names expanding to their tasks, and broken or duplicate
 * files skipped with their issues while every other task still resolves.
 */
import { deepStrictEqual, equal, match, ok, strictEqual, throws } from "node:assert/strict";
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  findTask,
  formatIssue,
  formatTaskIssues,
  formatTaskList,
  listTasks,
  resolveTasks,
  TaskFileError,
  taskRegistry,
} from "../../lib/eval/task/mod.ts";
import { errorOf, minimalTask, ROWS, taskDir, TASKS_DIR } from "./_task_fixtures.ts";

/** A fixed modification time (seconds), so a test can restore it exactly after an edit. */
const FIXED_MTIME = 1_000_000_000;

/** Write `text` to `file` and set its modification time to `mtime` seconds. */
function writeAt(file: string, text: string, mtime: number): void {
  writeFileSync(file, text);
  utimesSync(file, mtime, mtime);
}

Deno.test("findTask: an unknown name lists the available tasks and the closest", () => {
  const msg = errorOf(() => findTask("synth_arithmetik"));
  match(msg, /unknown task "synth_arithmetik"; did you mean "synth_arithmetic"\?/);
  ok(msg.includes("sciq") && msg.includes("synth_qa_rouge"));
  equal(findTask(join(TASKS_DIR, "sciq", "sciq.yaml")).name, "sciq");
});

// --- the cache ----------------------------------------------------------------------------------

Deno.test("cache: an unchanged file is not parsed again; an edited file or include is", () => {
  const dir = taskDir({ "rows.jsonl": ROWS });
  const base = join(dir, "_base.yaml");
  const file = join(dir, "t.yaml");
  writeAt(base, minimalTask("num_fewshot: 1").replace("task: tiny\n", ""), FIXED_MTIME);
  writeAt(file, "include: _base.yaml\ntask: t\ndescription: aaa\n", FIXED_MTIME);
  const opts = { tasksDir: dir };

  const first = findTask("t", opts);
  equal(first.description, "aaa");
  // Lookups by name, by path and through the listing share the one parse.
  strictEqual(findTask("t", opts), first);
  strictEqual(findTask(file, opts), first);
  strictEqual(listTasks(opts)[0], first);
  strictEqual(resolveTasks(["t"], opts)[0], first);
  // The parse is shared, so it cannot be changed behind other callers' backs.
  throws(() => {
    (first as { numFewshot: number }).numFewshot = 5;
  }, TypeError);

  // Same size, same modification time: the key has not changed, so the file is not read.
  writeAt(file, "include: _base.yaml\ntask: t\ndescription: bbb\n", FIXED_MTIME);
  strictEqual(findTask("t", opts), first);

  // An edit that changes the modification time (and size) is read on the next lookup.
  writeAt(file, "include: _base.yaml\ntask: t\ndescription: cccc\n", FIXED_MTIME + 10);
  const edited = findTask("t", opts);
  equal(edited.description, "cccc");
  equal(edited.numFewshot, 1);
  strictEqual(findTask("t", opts), edited);

  // Editing only the included base file invalidates the task that includes it.
  writeAt(
    base,
    readFileSync(base, "utf8").replace("num_fewshot: 1", "num_fewshot: 2"),
    FIXED_MTIME + 20,
  );
  equal(findTask("t", opts).numFewshot, 2);
});

Deno.test("cache: a task whose local dataset was missing loads once the dataset appears", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "good.yaml": minimalTask().replace("task: tiny", "task: good"),
    "t.yaml": minimalTask().replace("./rows.jsonl", "./data"),
  });
  const opts = { tasksDir: dir };
  deepStrictEqual(listTasks(opts).map((t) => t.name), ["good"]);
  match(
    errorOf(() => findTask("tiny", opts)),
    /t\.yaml:2:15: dataset_path: local dataset .*data not found/,
  );
  mkdirSync(join(dir, "data"));
  equal(findTask("tiny", opts).dataset.source, join(dir, "data"));
  deepStrictEqual(listTasks(opts).map((t) => t.name), ["good", "tiny"]);
});

// --- tags -----------------------------------------------------------------------------------------

Deno.test("tags: a tag expands to its tasks in name order; names and tags mix, each task once", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "_tagged.yaml": minimalTask("tag: [grp, all]").replace("task: tiny\n", ""),
    "b1.yaml": "include: _tagged.yaml\ntask: b1\n",
    "a1.yaml": "include: _tagged.yaml\ntask: a1\n",
    "c1.yaml": minimalTask("group: all").replace("task: tiny", "task: c1"),
    "z.yaml": minimalTask("tag: a1").replace("task: tiny", "task: z"),
  });
  const opts = { tasksDir: dir };
  const names = (list: string[]) => resolveTasks(list, opts).map((t) => t.name);
  deepStrictEqual(names(["grp"]), ["a1", "b1"]);
  deepStrictEqual(names(["all"]), ["a1", "b1", "c1"]);
  deepStrictEqual(names(["b1", "grp", "c1", "all"]), ["b1", "a1", "c1"]);
  // A task name wins over a tag of the same name.
  deepStrictEqual(names(["a1"]), ["a1"]);
  deepStrictEqual(names([join(dir, "z.yaml"), "z"]), ["z"]);

  const registry = taskRegistry(opts);
  deepStrictEqual([...registry.tags.keys()], ["a1", "all", "grp"]);
  deepStrictEqual(registry.tags.get("all"), ["a1", "b1", "c1"]);
  match(formatTaskList(registry), /^all +3 tasks: a1, b1, c1$/m);

  match(
    errorOf(() => resolveTasks(["gpr"], opts)),
    /unknown task or tag "gpr"; did you mean "grp"\? .*Tags: a1, all, grp\./,
  );
  match(errorOf(() => findTask("grp", opts)), /"grp" is a tag of 2 task\(s\) \(a1, b1\)/);
});

Deno.test("tags: the shipped tasks' tags expand (arithmetic, synthetic)", () => {
  const registry = taskRegistry();
  // As in lm-evaluation-harness, `arithmetic` is exactly the ten arithmetic tasks.
  deepStrictEqual(
    resolveTasks(["arithmetic"]).map((t) => t.name),
    ["1dc", "2da", "2dm", "2ds", "3da", "3ds", "4da", "4ds", "5da", "5ds"].map((n) =>
      `arithmetic_${n}`
    ),
  );
  deepStrictEqual(registry.tags.get("arithmetic")?.length, 10);
  const synthetic = resolveTasks(["synthetic"]).map((t) => t.name);
  deepStrictEqual(synthetic, [...synthetic].sort((a, b) => a.localeCompare(b)));
  for (
    const n of [
      "synth_arithmetic",
      "synth_entailment",
      "synth_facts",
      "synth_qa",
      "synth_summary",
      "synth_code2text",
    ]
  ) {
    ok(synthetic.includes(n), `${n} is not tagged synthetic`);
  }
});

// --- broken and duplicate files -------------------------------------------------------------------

Deno.test("a broken file or a duplicate name is skipped with its issue; other tasks still resolve", () => {
  const dir = taskDir({
    "rows.jsonl": ROWS,
    "good.yaml": minimalTask("tag: hooks").replace("task: tiny", "task: good"),
    "broken.yaml": 'task: broken\ndoc_to_text: "unclosed\nmetric_list: [\n',
    "fn.yaml": [
      "task: hooked",
      "tag: hooks",
      "dataset_path: ./rows.jsonl",
      "test_split: test",
      "doc_to_text: !include prompt.txt",
      "doc_to_target: '{{a}}'",
    ].join("\n") + "\n",
    "dup1.yaml": minimalTask().replace("task: tiny", "task: twin"),
    "dup2.yaml": "# the same name again\n" + minimalTask().replace("task: tiny", "task: twin"),
  });
  const opts = { tasksDir: dir };

  // Listing and lookups of unrelated tasks are unaffected.
  deepStrictEqual(listTasks(opts).map((t) => t.name), ["good"]);
  equal(findTask("good", opts).name, "good");
  deepStrictEqual(resolveTasks(["good"], opts).map((t) => t.name), ["good"]);

  // Each skipped file is reported with file:line:col and what is wrong.
  const registry = taskRegistry(opts);
  const lines = registry.issues.map(formatIssue);
  ok(lines.some((l) => /broken\.yaml:\d+:\d+: invalid YAML/.test(l)), lines.join("\n"));
  ok(
    lines.some((l) => /fn\.yaml:5:1: doc_to_text: YAML tag !include is not supported/.test(l)),
    lines.join("\n"),
  );
  ok(
    lines.some((l) =>
      /dup1\.yaml:1:1: task: task name "twin" is also defined in .*dup2\.yaml/.test(l)
    ),
    lines.join("\n"),
  );
  ok(
    lines.some((l) =>
      /dup2\.yaml:2:1: task: task name "twin" is also defined in .*dup1\.yaml/.test(l)
    ),
    lines.join("\n"),
  );
  const report = formatTaskIssues(registry);
  match(report, /^skipped task files in .* \(the other tasks are unaffected\):$/m);
  match(report, /^ {2}.*fn\.yaml:5:1: doc_to_text: YAML tag !include is not supported/m);

  // Looking up a skipped task itself gives its error.
  const hooked = (() => {
    try {
      findTask("hooked", opts);
    } catch (e) {
      return e;
    }
  })();
  ok(hooked instanceof TaskFileError);
  match(hooked.message, /fn\.yaml:5:1: doc_to_text: YAML tag !include is not supported/);
  match(errorOf(() => findTask("broken", opts)), /broken\.yaml:\d+:\d+: invalid YAML/);
  match(
    errorOf(() => resolveTasks(["twin"], opts)),
    /task name "twin" is defined twice: .*dup1\.yaml and .*dup2\.yaml; rename one of them/,
  );
  // A tag that includes a skipped task says which one, rather than running the others silently.
  match(
    errorOf(() => resolveTasks(["hooks"], opts)),
    /tag "hooks" includes task hooked, which could not be loaded:\n.*fn\.yaml:5:1/,
  );

  // Fixing the file brings the task back on the next lookup.
  writeFileSync(
    join(dir, "fn.yaml"),
    minimalTask("tag: hooks").replace("task: tiny", "task: hooked"),
  );
  deepStrictEqual(resolveTasks(["hooks"], opts).map((t) => t.name), ["good", "hooked"]);
});

Deno.test("deno task eval --list shows the tasks and the tags with their tasks", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "lib/cli/eval.ts", "--list"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  ok(out.success, new TextDecoder().decode(out.stderr));
  match(stdout, /^synth_facts +multiple_choice +tunebook synthetic data/m);
  match(stdout, /^tags \(a tag passed to --tasks runs all of its tasks\):$/m);
  match(stdout, /^arithmetic +\d+ tasks: arithmetic_1dc, arithmetic_2da, /m);
  match(stdout, /^synthetic +\d+ tasks: .*synth_qa/m);
});
