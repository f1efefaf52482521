/**
 * `deno task finetune --nproc 2` as a user meets it: two CPU processes (torchrun, gloo) on the tiny
 * model; one rank killed mid-run ends the run with an error naming that rank, its signal and what
 * to do; the same command resumes it from the last checkpoint and finishes with the adapter an
 * uninterrupted single-process run with the same global batch and seed trains (within 1e-5).
 * (The trainer's own cases: tests/python/test_distributed.py.)
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findPython, PYTHON_DIR } from "../../lib/train/python.ts";
import { TINY_DIR } from "./_tiny.ts";

const CLI = new URL("../../lib/cli/finetune.ts", import.meta.url).pathname;
/** 8 steps of 4 × 2 rows, a checkpoint every 3, LoRA dropout off (each rank draws its own masks). */
const SHORT = [
  "max_steps=8",
  "save_every=3",
  "batch_size=4",
  "grad_accum=2",
  "threads=1",
  "lora.dropout=0",
].flatMap((s) => ["--set", s]);

function rows(n: number): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      prompt: `Question ${i}: what is ${i} plus 1?\nAnswer:`,
      completion: ` ${i + 1}`,
    })).join("\n") + "\n";
}

async function finetune(cwd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--base", TINY_DIR, "--no-export", ...args],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The largest |a − b| over the two adapters' tensors (python/tunebook/safetensors_io.py reads them). */
async function adapterDifference(a: string, b: string): Promise<number> {
  const code = "import sys; from tunebook.safetensors_io import load_safetensors as l\n" +
    "x, y = (l(p + '/adapter_model.safetensors') for p in sys.argv[1:])\n" +
    "assert sorted(x) == sorted(y)\n" +
    "print(max(float((x[k] - y[k]).abs().max()) for k in x))";
  const out = await new Deno.Command(await findPython(), {
    args: ["-c", code, a, b],
    cwd: PYTHON_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test({
  name:
    "finetune --nproc 2: a killed rank is named, the same command resumes, the adapter is one process's",
  sanitizeResources: false,
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tunebook-ftdist-"));
    try {
      const data = join(dir, "rows.jsonl");
      writeFileSync(data, rows(32));
      const one = await finetune(dir, ["--train", data, "--run", "one", ...SHORT]);
      assert.equal(one.code, 0, one.stderr);

      const two = ["--train", data, "--run", "two", "--nproc", "2", ...SHORT];
      const killed = await finetune(dir, two, {
        TUNEBOOK_FAULT: "train.step@4",
        TUNEBOOK_FAULT_RANK: "1",
      });
      assert.equal(killed.code, 1, killed.stderr);
      assert.match(
        killed.stderr,
        /the run stopped: rank 1 of 2 \(local rank 1 on \S+\) was killed by signal 9 \(SIGKILL/,
      );
      assert.match(
        killed.stderr,
        /run the same command again to resume from its checkpoint at step 3/,
      );

      const resumed = await finetune(dir, two);
      assert.equal(resumed.code, 0, resumed.stderr);
      const events = readFileSync(join(dir, "results/train/two/events.jsonl"), "utf8").trim()
        .split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(
        events.filter((e) => e.event === "step").map((e) => e.step),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      assert.equal(events.findLast((e) => e.event === "done").processes, 2);
      const diff = await adapterDifference(
        join(dir, "results/train/one/adapter"),
        join(dir, "results/train/two/adapter"),
      );
      assert.ok(diff <= 1e-5, `adapters differ by ${diff}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
