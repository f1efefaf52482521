/**
 * Fault injection for `deno task eval` (issue 10, "Proof"): the eval command (lib/cli/eval.ts,
 * what `deno task eval` runs, as its own process) is killed with SIGKILL at several points —
 * while it starts (before or while it writes run.json and takes the lock), after some samples,
 * during a samples.jsonl append (the kill lands mid-line: the file is cut inside its last line,
 * as a write stopped part-way leaves it) and between tasks — and rerun in the same folder after
 * each kill. The final samples and metrics must equal an uninterrupted run's, volatile fields
 * (times, throughput, the run name, reuse counts) left out, and log-probabilities to 0.05 nats (see
 * {@linkcode LOGPROB_TOLERANCE}).
 *
 * The kill points come from a seeded generator (TUNEBOOK_FAULT_SEED overrides the seed); a
 * failure prints the seed and every planned and actual kill point, so it can be replayed.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../lib/util/rng.ts";
import { TINY_GGUF } from "./_tiny.ts";

const SEED = Number(Deno.env.get("TUNEBOOK_FAULT_SEED") ?? 10);
const TASKS = "synth_facts,synth_arithmetic";
const LIMIT = 40;
const TOTAL = 2 * LIMIT;
const POLL_MS = 2;
/**
 * Log-probabilities may differ in the last digits: llama.cpp's sums depend on which items share a
 * decode batch, and a resumed run batches the remaining items differently (measured on the tiny
 * model: up to 0.016 nats between scoring 40 items in one batch and one at a time; repeating the
 * same run gives identical bits). Everything else — predictions, per-item metrics, aggregates — is
 * compared exactly.
 */
const LOGPROB_TOLERANCE = 0.05;
/** Longest wait for a kill point before the test gives up on it (the run finished first). */
const POINT_TIMEOUT_MS = 60_000;

type KillPoint =
  | { kind: "startup"; afterMs: number }
  | { kind: "samples"; atLeast: number }
  | { kind: "torn_append"; atLeast: number; cutFraction: number }
  | { kind: "between_tasks" };

function evalArgs(run: string): string[] {
  return [
    "run",
    "-A",
    "lib/cli/eval.ts",
    "--model",
    TINY_GGUF,
    "--threads",
    "1",
    "--tasks",
    TASKS,
    "--limit",
    String(LIMIT),
    "--run",
    run,
  ];
}

function spawnEval(run: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: evalArgs(run),
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

function lineCount(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, "utf8");
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

async function stderrOf(child: Deno.ChildProcess): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const c of child.stderr) chunks.push(c);
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}

/** Plan the kill points: deterministic in the seed. */
function planKills(seed: number): KillPoint[] {
  const rng = new Rng(seed, "eval-faults");
  const frac = () => rng.int(1, 999) / 1000;
  const plan: KillPoint[] = [
    { kind: "startup", afterMs: rng.int(0, 400) },
    { kind: "samples", atLeast: rng.int(1, LIMIT - 1) },
    { kind: "torn_append", atLeast: rng.int(LIMIT + 1, LIMIT + 10), cutFraction: frac() },
    { kind: "between_tasks" },
    { kind: "samples", atLeast: rng.int(LIMIT + 11, TOTAL - 8) },
    { kind: "torn_append", atLeast: rng.int(TOTAL - 7, TOTAL - 3), cutFraction: frac() },
    { kind: "torn_append", atLeast: TOTAL - 2, cutFraction: 1 },
  ];
  return plan;
}

/** Run until the kill point, SIGKILL, and say what state the folder was left in. */
async function runUntil(run: string, point: KillPoint): Promise<string> {
  const dir = join("results/eval", run);
  const samples = join(dir, "samples.jsonl");
  const results = join(dir, "results.json");
  const child = spawnEval(run);
  const err = stderrOf(child);
  const started = performance.now();
  let exited = false;
  child.status.then(() => (exited = true));
  const reached = () => {
    switch (point.kind) {
      case "startup":
        return performance.now() - started >= point.afterMs;
      case "samples":
      case "torn_append":
        return lineCount(samples) >= point.atLeast;
      case "between_tasks":
        return existsSync(results);
    }
  };
  while (!reached() && !exited && performance.now() - started < POINT_TIMEOUT_MS) {
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (!exited) child.kill("SIGKILL");
  const status = await child.status;
  await err;
  let state = `${status.signal === "SIGKILL" ? "killed" : `exited ${status.code}`} with ` +
    `${lineCount(samples)} sample lines`;
  if (point.kind === "torn_append" && existsSync(samples)) {
    // The kill came while the last line was being appended: keep a prefix of it.
    const text = readFileSync(samples, "utf8");
    const lastStart = text.lastIndexOf("\n", text.length - 2) + 1;
    const lastLength = text.length - lastStart;
    // cutFraction 1 keeps the whole line but its newline: the write stopped one byte short.
    const kept = Math.min(lastLength - 1, Math.max(1, Math.floor(lastLength * point.cutFraction)));
    const cut = lastStart + kept;
    truncateSync(samples, Buffer.byteLength(text.slice(0, cut)));
    state += `, last line cut to ${cut - lastStart} of ${lastLength} chars (${
      statSync(samples).size
    } bytes)`;
  }
  return state;
}

type Json = Record<string, unknown>;

function stableSamples(run: string): Json[] {
  const text = readFileSync(join("results/eval", run, "samples.jsonl"), "utf8");
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Json).sort((a, b) =>
    `${a.task}/${a.doc_id}`.localeCompare(`${b.task}/${b.doc_id}`)
  );
}

/** results.json without what differs from run to run: times, throughput, names, reuse counts. */
function stableResults(run: string): Json {
  const r = JSON.parse(readFileSync(join("results/eval", run, "results.json"), "utf8"));
  for (const k of ["run", "created", "wallSeconds", "tokensPerSecond", "itemsPerSecond", "items"]) {
    delete r[k];
  }
  for (const t of Object.values(r.tasks as Record<string, Json>)) delete t.wallSeconds;
  return r;
}

Deno.test("eval killed with SIGKILL at seeded points, rerun each time, ends with an uninterrupted run's samples and metrics", async () => {
  const id = crypto.randomUUID().slice(0, 8);
  const reference = `test-faults-ref-${id}`;
  const faulted = `test-faults-${id}`;
  const log: string[] = [`seed ${SEED} (TUNEBOOK_FAULT_SEED=${SEED} replays it)`];
  try {
    const ref = await new Deno.Command(Deno.execPath(), { args: evalArgs(reference) }).output();
    assert.ok(ref.success, new TextDecoder().decode(ref.stderr));
    for (const point of planKills(SEED)) {
      log.push(`${JSON.stringify(point)}: ${await runUntil(faulted, point)}`);
    }
    const last = await new Deno.Command(Deno.execPath(), { args: evalArgs(faulted) }).output();
    const lastErr = new TextDecoder().decode(last.stderr);
    log.push(`final run: exit ${last.code}`);
    assert.ok(last.success, lastErr);
    const got = stableSamples(faulted);
    assert.equal(got.length, TOTAL, "each item exactly once");
    const want = stableSamples(reference);
    const withoutLogprobs = (xs: Json[]) => xs.map(({ logprobs: _l, ...rest }) => rest);
    assert.deepEqual(withoutLogprobs(got), withoutLogprobs(want));
    got.forEach((s, i) => {
      const [a, b] = [s.logprobs as number[] | undefined, want[i].logprobs as number[] | undefined];
      assert.equal(a?.length, b?.length);
      a?.forEach((x, j) => {
        assert.ok(
          Math.abs(x - b![j]) <= LOGPROB_TOLERANCE,
          `${s.task}/${s.doc_id}: ${x} vs ${b![j]}`,
        );
      });
    });
    assert.deepEqual(stableResults(faulted), stableResults(reference));
    assert.ok(!existsSync(join("results/eval", faulted, "run.lock")), "the lock is released");
  } catch (e) {
    (e as Error).message += `\nkill points:\n  ${log.join("\n  ")}`;
    throw e;
  } finally {
    for (const run of [reference, faulted]) {
      Deno.removeSync(join("results/eval", run), { recursive: true });
    }
  }
});
