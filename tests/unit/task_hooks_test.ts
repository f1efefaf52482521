/**
 * lm-eval task files in the harness's shapes (tests/fixtures/lm_eval_tasks), with their data in a
 * local Hugging Face cache: they load unchanged, and every prompt, choice list, target and gold
 * index equals what lm-eval's rules compute with Python (Jinja2 and the task's own hooks, run by
 * tests/unit/fixtures/lm_eval_reference.py). `!function` hooks: process_docs, doc_to_* and
 * process_results; the hook cache (no Python on a second run, Python again after an edit); a hook
 * that imports a missing module, prints, or raises on one row.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  evalSplit,
  findTask,
  HookError,
  isFunctionRef,
  loadTaskDocs,
  openResultsHook,
  splitNameOf,
  type TaskConfig,
  taskRegistry,
} from "../../lib/eval/task/mod.ts";
import { findPython } from "../../lib/util/python.ts";
import { HARNESS_TASKS, LM_EVAL_DATASETS, lmEvalHubCache } from "./_lm_eval_data.ts";
import { errorOf, taskDir, TASKS_DIR } from "./_task_fixtures.ts";

const REFERENCE = fileURLToPath(new URL("./fixtures/lm_eval_reference.py", import.meta.url));

/** Run `fn` with the test Hub cache (offline) and a fresh hook cache. */
async function withCaches<T>(fn: (hookCache: string) => Promise<T>): Promise<T> {
  const saved = ["HF_HUB_CACHE", "HF_HUB_OFFLINE", "TUNEBOOK_HOOK_CACHE"].map((k) =>
    [k, Deno.env.get(k)] as const
  );
  const hub = lmEvalHubCache();
  const hooks = join(hub, "tunebook-hooks");
  Deno.env.set("HF_HUB_CACHE", hub);
  Deno.env.set("HF_HUB_OFFLINE", "1");
  Deno.env.set("TUNEBOOK_HOOK_CACHE", hooks);
  try {
    return await fn(hooks);
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

/** How the reference script reads a task field. */
function spec(value: unknown): Record<string, unknown> | null {
  if (value === undefined) return null;
  if (isFunctionRef(value)) return { function: value.spec };
  if (typeof value === "string") return { template: value };
  return { value };
}

interface Reference {
  text: unknown;
  target: unknown;
  choices: string[] | null;
  gold: number | null;
}

async function reference(task: TaskConfig, rows: Record<string, unknown>[]): Promise<Reference[]> {
  const python = await findPython({ modules: ["jinja2"] });
  const child = new Deno.Command(python, {
    args: [REFERENCE],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify({
    dir: join(task.file, ".."),
    process_docs: task.processDocs?.spec ?? null,
    doc_to_text: spec(task.docToText),
    doc_to_target: spec(task.docToTarget),
    doc_to_choice: spec(task.docToChoice),
    rows,
  })));
  await w.close();
  const out = await child.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The raw rows of a fixture task's evaluation split. */
function rawRows(task: TaskConfig): Record<string, unknown>[] {
  const repo = task.dataset.source.replace(/^hf:/, "");
  const split = splitNameOf(task, evalSplit(task));
  const found = LM_EVAL_DATASETS[repo].splits.find((s) =>
    s.split === split && (task.dataset.config === undefined ||
      (s.config ?? "default") === task.dataset.config)
  );
  assert.ok(found, `${repo} ${split}`);
  return found.rows;
}

Deno.test("harness task files load unchanged; prompts, choices, targets and gold equal lm-eval's rules in Python", async () => {
  await withCaches(async () => {
    const registry = taskRegistry();
    const loaded = registry.tasks.map((t) => t.name);
    for (const name of Object.keys(HARNESS_TASKS)) {
      assert.ok(
        loaded.includes(name),
        `${name} did not load: ${registry.issues.map((i) => i.message).join("\n")}`,
      );
    }
    for (const task of registry.tasks.filter((t) => Object.hasOwn(HARNESS_TASKS, t.name))) {
      const { docs, errors } = await loadTaskDocs(task, evalSplit(task));
      assert.deepEqual(errors, [], task.name);
      const want = await reference(task, rawRows(task));
      assert.equal(docs.length, want.length, task.name);
      docs.forEach((doc, i) => {
        const w = want[i];
        assert.equal(doc.text, w.text, `${task.name} row ${i + 1}: prompt`);
        if (w.choices) {
          assert.deepEqual(doc.choices, w.choices, `${task.name} row ${i + 1}: choices`);
          assert.equal(doc.gold, w.gold, `${task.name} row ${i + 1}: gold`);
        } else {
          assert.equal(doc.target, w.target, `${task.name} row ${i + 1}: target`);
        }
      });
    }
  });
});

Deno.test("process_docs and per-row hooks run once; the cache answers without Python until utils.py changes", async () => {
  await withCaches(async () => {
    const dir = mkdtempSync(join(tmpdir(), "tunebook-hooks-"));
    cpSync(join(TASKS_DIR, "hellaswag"), dir, { recursive: true });
    const task = findTask(join(dir, "hellaswag.yaml"));
    const first = await loadTaskDocs(task, "validation");
    assert.equal(first.docs[1].text, "Making a cake: How to bake a cake. Mix the flour. You");
    // Cached: even an interpreter that does not exist is not needed.
    const again = await loadTaskDocs(task, "validation", {
      hooks: { python: "/nonexistent/python3" },
    });
    assert.deepEqual(again.docs.map((d) => d.text), first.docs.map((d) => d.text));
    // An edited hook file is run again (so here the missing interpreter is reported).
    const utils = join(dir, "utils.py");
    writeFileSync(utils, readFileSync(utils, "utf8").replace('": " + context', '" - " + context'));
    await assert.rejects(
      loadTaskDocs(task, "validation", { hooks: { python: "/nonexistent/python3" } }),
      /Python not found at "\/nonexistent\/python3"/,
    );
    const edited = await loadTaskDocs(task, "validation");
    assert.equal(edited.docs[1].text, "Making a cake - How to bake a cake. Mix the flour. You");
  });
});

Deno.test("a hook that imports a missing module fails with the module's name and the fix", async () => {
  const dir = taskDir({
    "rows.jsonl": '{"q": "2+2?", "a": "4"}\n',
    "t.yaml": [
      "task: hooked",
      "dataset_path: json",
      "dataset_kwargs:",
      "  data_files:",
      "    test: rows.jsonl",
      "test_split: test",
      "doc_to_text: !function utils.doc_to_text",
      "doc_to_target: '{{a}}'",
    ].join("\n") + "\n",
    "utils.py":
      "import datasets\nimport definitely_missing_module\n\ndef doc_to_text(doc):\n    return doc['q']\n",
  });
  const task = findTask(join(dir, "t.yaml"));
  const err = await loadTaskDocs(task, "test", { hooks: { cache: false } }).catch((e) => e);
  assert.ok(err instanceof HookError, String(err));
  assert.equal(err.missingModule, "definitely_missing_module");
  assert.match(
    err.message,
    /t\.yaml:7:1: task hooked: !function utils\.doc_to_text: .*utils\.py imports "definitely_missing_module" \(utils\.py:2 in <module>\), which .* cannot import; install it into .* \(Debian: apt-get install python3-definitely_missing_module; else .* -m pip install definitely_missing_module\), or set TUNEBOOK_PYTHON/,
  );
  // lm_eval itself is named as the harness, with what to do
  writeFileSync(
    join(dir, "utils.py"),
    "from lm_eval.utils import weighted_f1_score\ndef doc_to_text(doc):\n    return doc['q']\n",
  );
  assert.match(
    (await loadTaskDocs(task, "test", { hooks: { cache: false } }).catch((e) => e)).message,
    /imports "lm_eval".*lm-evaluation-harness itself, which tunebook does not install/,
  );
  // a missing function lists the module's functions
  writeFileSync(join(dir, "utils.py"), "def doc_to_prompt(doc):\n    return doc['q']\n");
  assert.match(
    (await loadTaskDocs(task, "test", { hooks: { cache: false } }).catch((e) => e)).message,
    /utils\.py has no function doc_to_text; it has doc_to_prompt/,
  );
});

Deno.test("a hook that prints keeps the protocol; one that raises on a row fails that row only", async () => {
  const dir = taskDir({
    "rows.jsonl": '{"q": "2+2?", "a": "4"}\n{"a": "5"}\n{"q": "3+3?", "a": "6"}\n',
    "t.yaml": [
      "task: hooked",
      "dataset_path: json",
      "dataset_kwargs: {data_files: {test: rows.jsonl}}",
      "test_split: test",
      "doc_to_text: !function utils.doc_to_text",
      "doc_to_target: '{{a}}'",
    ].join("\n") + "\n",
    "utils.py":
      "def doc_to_text(doc):\n    print('noise on stdout')\n    return 'Q: ' + doc['q']\n",
  });
  const { docs, errors } = await loadTaskDocs(findTask(join(dir, "t.yaml")), "test", {
    hooks: { cache: false },
  });
  assert.deepEqual(docs.map((d) => d.text), ["Q: 2+2?", "Q: 3+3?"]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].row, 2);
  assert.equal(errors[0].field, "doc_to_text");
  assert.match(
    errors[0].message,
    /rows\.jsonl:2: task hooked: doc_to_text hook utils\.doc_to_text raised KeyError: 'q' \(at utils\.py:3 in doc_to_text\)/,
  );
});

Deno.test("process_results scores a row from the model's results, as lm-eval calls it", async () => {
  await withCaches(async () => {
    const task = findTask("squad_completion");
    const { docs } = await loadTaskDocs(task, "validation");
    const hook = await openResultsHook(task);
    try {
      assert.deepEqual(await hook.score(docs[0].row!, [" denver, of course"]), {
        value: { contains: 1 },
      });
      assert.deepEqual(await hook.score(docs[1].row!, ["Paris"]), { value: { contains: 0 } });
      const bad = await hook.score({}, ["x"]);
      assert.equal(bad.error?.type, "KeyError");
    } finally {
      await hook.close();
    }
  });
});

Deno.test("a task defined as a Python class is reported with what tunebook does and what to write", () => {
  const dir = taskDir({
    "squad_completion.yaml": "task: squad_completion\nclass: !function task.SQUADCompletion\n",
    "other.yaml":
      "task: other\ndataset_path: json\ndataset_kwargs: {data_files: {test: r.jsonl}}\ntest_split: test\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n",
    "r.jsonl": '{"q": "a", "a": "b"}\n',
  });
  const registry = taskRegistry({ tasksDir: dir });
  assert.deepEqual(registry.tasks.map((t) => t.name), ["other"]);
  assert.match(
    errorOf(() => findTask("squad_completion", { tasksDir: dir })),
    /squad_completion\.yaml:2:1: class: squad_completion is defined as a Python class \(class: !function task\.SQUADCompletion, an lm-eval ConfigurableTask subclass\); tunebook does not run task classes, only tasks written in YAML/,
  );
});
