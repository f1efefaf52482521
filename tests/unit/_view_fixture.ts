/**
 * A results folder for the viewer's tests, built from tests/unit/fixtures/plots: eval/base,
 * eval/tuned and eval/tuned-q4_k_m (40 items of three tasks each), base with one skipped item,
 * a row error and a results.json field no tunebook writes yet (results.json may gain fields);
 * train/tiny (a finished run with config.json and an adapter); optionally eval/big, a run of
 * many items, for paging.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURE = fileURLToPath(new URL("./fixtures/plots", import.meta.url));

/** Options for {@linkcode makeResults}. */
export interface ViewFixtureOptions {
  /** Also write eval/big with this many items. Default: none. */
  bigItems?: number;
}

/** Write the fixture results folder under `root`; returns `root`. */
export function makeResults(root: string, options: ViewFixtureOptions = {}): string {
  for (const run of ["base", "tuned", "tuned-q4_k_m"]) {
    const dir = join(root, "eval", run);
    mkdirSync(dir, { recursive: true });
    for (const f of ["results.json", "samples.jsonl"]) {
      copyFileSync(join(FIXTURE, run, f), join(dir, f));
    }
  }
  // base: a prompt too long for the context (skipped), a dataset row that failed to render, and
  // fields of a newer results.json.
  const base = join(root, "eval", "base");
  const results = JSON.parse(readFileSync(join(base, "results.json"), "utf8"));
  results.tasks.synth_qa.skipped = { too_long: 1 };
  results.tasks.synth_qa.rowErrors = [{ row: 17, message: "doc_to_text: 'context' is undefined" }];
  results.identity = { fingerprint: "abc123", note: "a field from a newer tunebook" };
  results.model.lora = [{ path: "/x/adapters/lora-qa.gguf", scale: 0.5 }];
  writeFileSync(join(base, "results.json"), JSON.stringify(results, null, 2));
  writeFileSync(
    join(base, "samples.jsonl"),
    readFileSync(join(base, "samples.jsonl"), "utf8") +
      JSON.stringify({
        task: "synth_qa",
        doc_id: "synth_qa-long",
        prompt: "a very long context …",
        prompt_tokens: 9000,
        references: ["x"],
        prediction: "",
        metrics: {},
        skipped: "too_long",
        skip_detail: "9000 prompt tokens > context 512",
      }) + "\n",
  );
  const train = join(root, "train", "tiny");
  mkdirSync(join(train, "adapter"), { recursive: true });
  copyFileSync(join(FIXTURE, "train", "events.jsonl"), join(train, "events.jsonl"));
  writeFileSync(
    join(train, "config.json"),
    JSON.stringify({
      backend: "torch",
      base_model: "/repo/data/models/tiny",
      lora: { r: 8, alpha: 16, target_modules: ["q_proj", "v_proj"] },
      lr: 0.003,
      max_steps: 30,
    }),
  );
  writeFileSync(join(train, "adapter", "adapter_config.json"), "{}");
  writeFileSync(join(train, "adapter", "adapter_model.safetensors"), new Uint8Array(4096));
  writeFileSync(join(train, "lora.gguf"), new Uint8Array(1024));
  if (options.bigItems) writeBigRun(join(root, "eval", "big"), options.bigItems);
  return root;
}

/** A run of `n` items over two tasks, item i right when i % 3 === 0. */
export function writeBigRun(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({
      task: i % 2 ? "big_gen" : "big_mc",
      doc_id: `big-${i}`,
      prompt: `Question ${i}: what is ${i} plus one?`,
      prompt_tokens: 10 + (i % 50),
      references: [String(i + 1)],
      prediction: i % 3 === 0 ? String(i + 1) : "0",
      metrics: i % 2 ? { exact_match: i % 3 === 0 ? 1 : 0 } : { acc: i % 3 === 0 ? 1 : 0 },
    }));
  }
  writeFileSync(join(dir, "samples.jsonl"), lines.join("\n") + "\n");
}
