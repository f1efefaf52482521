/** Helpers shared by the task tests: throwaway task folders, a minimal task, error capture. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The shipped task files. */
export const TASKS_DIR = new URL("../../data/tasks/", import.meta.url).pathname;
/** The bundled synthetic data the synth_* tasks read. */
export const SYNTHETIC_DIR = new URL("../../data/synthetic/", import.meta.url).pathname;

/** Write task files into a fresh folder; returns the folder. */
export function taskDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-task-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The message of the error `fn` throws. */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

/** A minimal valid generation task over a local one-row dataset, plus extra lines. */
export function minimalTask(extra = ""): string {
  return [
    "task: tiny",
    "dataset_path: ./rows.jsonl",
    "test_split: test",
    'doc_to_text: "Q: {{q}}\\nA:"',
    'doc_to_target: "{{a}}"',
    extra,
  ].join("\n") + "\n";
}

/** One row for {@linkcode minimalTask}. */
export const ROWS = '{"q":"2+2?","a":"4"}\n';
