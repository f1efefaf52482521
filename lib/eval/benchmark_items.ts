/**
 * Evaluation tasks as benchmark items for decontamination: the test split of each task
 * (`data/tasks/*.yaml`, by name), as the {@linkcode BenchmarkTasks} resolver that lib/data's
 * `loadBenchmarks` and `curateFile` take ({@linkcode benchmarkTasks}).
 *
 * An item's text is the task's `doc_to_decontamination_query` rendered on the row when the task
 * sets one (lm-eval's field), else the values of the columns its `doc_to_text` reads, joined by
 * spaces — the data without the prompt's fixed wording, so that training rows formatted with the
 * same template are not flagged for sharing it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadBenchmarks } from "../data/benchmarks.ts";
 * import { benchmarkTasks } from "./benchmark_items.ts";
 * const { items, sources } = await loadBenchmarks(["synth_qa"], { tasks: benchmarkTasks() });
 * assert.equal(sources[0].name, "synth_qa");
 * assert.ok(items.length > 0 && items.every((i) => i.benchmark === "synth_qa"));
 * ```
 * @module
 */
import { type BenchmarkPart, type BenchmarkTasks, valueText } from "../data/benchmarks.ts";
import type { BenchmarkItem } from "../data/decontaminate.ts";
import { compileTemplate, renderTemplate } from "./task/_template.ts";
import {
  evalSplit,
  findTask,
  isFunctionRef,
  listTasks,
  loadTaskDocs,
  loadTaskRows,
  splitNameOf,
  type TaskConfig,
  type TaskRegistryOptions,
} from "./task/mod.ts";

/**
 * The tasks checked when no benchmark is named: every task whose data is on disk (the bundled
 * ones; Hub-hosted tasks are checked only when named, since their data may need a download).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultBenchmarkTasks } from "./benchmark_items.ts";
 * const tasks = defaultBenchmarkTasks();
 * assert.equal(tasks[0].name, "synth_arithmetic"); // then synth_entailment, …, synth_qa_rouge
 * assert.ok(tasks.every((t) => t.dataset.kind === "local"));
 * ```
 */
export function defaultBenchmarkTasks(options: TaskRegistryOptions = {}): TaskConfig[] {
  return listTasks(options).filter((t) => t.dataset.kind === "local");
}

/**
 * Items of one task's evaluation split (`test`, else `validation`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { taskBenchmark } from "./benchmark_items.ts";
 * import { findTask } from "./task/mod.ts";
 * const { items, source } = await taskBenchmark(findTask("synth_entailment"));
 * assert.equal(items.length, 200);
 * assert.equal(source.text, "columns premise, hypothesis");
 * ```
 */
export async function taskBenchmark(task: TaskConfig): Promise<BenchmarkPart> {
  const role = evalSplit(task);
  const split = splitNameOf(task, role);
  const query = task.docToDecontaminationQuery;
  if (query === undefined && isFunctionRef(task.docToText)) {
    // the prompt is computed by a Python hook: check the prompts themselves
    const { docs, errors } = await loadTaskDocs(task, role);
    return {
      items: docs.map((d) => ({ benchmark: task.name, id: d.id, text: d.text })),
      source: {
        name: task.name,
        kind: "task",
        source: task.dataset.source,
        split,
        text: `doc_to_text (!function ${task.docToText.spec})`,
        items: docs.length,
        errors: errors.length,
      },
    };
  }
  const loaded = await loadTaskRows(task, role);
  const present = new Set(loaded.rows.flatMap((r) => Object.keys(r)));
  const docToText = task.docToText as string;
  const template = compileTemplate(query ?? docToText);
  const columns = /[{}]/.test(docToText) || query !== undefined
    ? template.fields.filter((f) => present.has(f))
    : [docToText];
  if (!query && !columns.length) {
    throw new Error(
      `task ${task.name}: doc_to_text reads no column of ${loaded.source} (columns: ${
        [...present].join(", ")
      }); set doc_to_decontamination_query in ${task.file} to say which text to check`,
    );
  }
  const items: BenchmarkItem[] = [];
  let errors = loaded.errors.length;
  loaded.rows.forEach((row, i) => {
    const id = typeof row.id === "string" || typeof row.id === "number"
      ? String(row.id)
      : `${split}:${i + 1}`;
    try {
      const text = query !== undefined
        ? (!/[{}]/.test(query) && Object.hasOwn(row, query)
          ? valueText(row[query])
          : renderTemplate(template, row))
        : columns.map((c) => valueText(row[c])).filter((s) => s !== "").join(" ");
      items.push({ benchmark: task.name, id, text });
    } catch {
      errors++;
    }
  });
  return {
    items,
    source: {
      name: task.name,
      kind: "task",
      source: loaded.source,
      split,
      text: query !== undefined
        ? `doc_to_decontamination_query ${query}`
        : `columns ${columns.join(", ")}`,
      items: items.length,
      errors,
    },
  };
}

/**
 * The resolver lib/data's `loadBenchmarks` and `curateFile` take to read evaluation tasks: a
 * task by name or YAML path ({@linkcode taskBenchmark} of `findTask`), and the default tasks
 * ({@linkcode defaultBenchmarkTasks}) for an empty list.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { benchmarkTasks } from "./benchmark_items.ts";
 * const tasks = benchmarkTasks();
 * const parts = await tasks.defaults();
 * assert.ok(parts.some((p) => p.source.name === "synth_arithmetic"));
 * await assert.rejects(tasks.task("synth_nope"), /unknown task "synth_nope"/);
 * ```
 */
export function benchmarkTasks(options: TaskRegistryOptions = {}): BenchmarkTasks {
  return {
    async task(spec) {
      const task = findTask(spec, options); // an unknown name rejects, like a missing split
      return await taskBenchmark(task);
    },
    async defaults() {
      const parts: BenchmarkPart[] = [];
      for (const task of defaultBenchmarkTasks(options)) parts.push(await taskBenchmark(task));
      return parts;
    },
  };
}
