/**
 * bench/_llama_tools.ts without llama.cpp: llama-bench's `-o json` output read from a recorded
 * run (tests/unit/fixtures/llama_bench_pp512.json: `llama-bench -m tiny-f32.gguf -p 512 -n 0
 * -b 512 -ub 512 -t 2 -r 3 -ctk f16 -ctv f16 -ngl 0 -o json` on the shared 2-core machine),
 * outputs it must refuse with a message naming what is wrong, and runLlamaBench's command line
 * and checks through a stand-in binary that prints that recording.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseLlamaBenchJson, runLlamaBench } from "../../bench/_llama_tools.ts";

const FIXTURE = new URL("./fixtures/llama_bench_pp512.json", import.meta.url).pathname;
const recorded = readFileSync(FIXTURE, "utf8");

Deno.test("parseLlamaBenchJson: a recorded pp512 run's test, rates and seconds", () => {
  const tests = parseLlamaBenchJson(recorded);
  assert.equal(tests.length, 1);
  const [t] = tests;
  assert.equal(t.promptTokens, 512);
  assert.equal(t.generatedTokens, 0);
  assert.equal(t.threads, 2);
  assert.equal(t.batch, 512);
  assert.equal(t.ubatch, 512);
  assert.equal(t.typeK, "f16");
  assert.equal(t.modelFilename, "data/models/tiny/tiny-f32.gguf");
  assert.equal(t.modelParameters, 1262720);
  assert.equal(t.samplesTokensPerSecond.length, 3);
  assert.deepEqual(t.samplesTokensPerSecond, [15774.5, 709.999, 486.713]);
  // samples_ns → seconds; each rate is 512 tokens over its repetition's time
  t.samplesSeconds.forEach((s, i) => {
    assert.ok(Math.abs(512 / s - t.samplesTokensPerSecond[i]) / t.samplesTokensPerSecond[i] < 1e-3);
  });
  assert.equal(t.avgTokensPerSecond, 5657.070026);
});

Deno.test("parseLlamaBenchJson: another format, a truncated run, a missing field are named", () => {
  assert.throws(
    () => parseLlamaBenchJson("| model | size | params |\n| --- | --- | --- |\n"),
    /llama-bench output is not JSON .*run llama-bench with -o json/,
  );
  assert.throws(() => parseLlamaBenchJson(recorded.slice(0, 400)), /not JSON/);
  assert.throws(() => parseLlamaBenchJson("[]"), /non-empty array of tests/);
  const [one] = JSON.parse(recorded);
  const { avg_ts: _avg, ...noRate } = one;
  assert.throws(
    () => parseLlamaBenchJson(JSON.stringify([one, noRate]), "run.json"),
    /run\.json: test 1: "avg_ts" is undefined, expected a number/,
  );
  assert.throws(
    () => parseLlamaBenchJson(JSON.stringify([{ ...one, samples_ts: [] }])),
    /test 0: "samples_ts" is \[\], expected numbers/,
  );
});

/** A stand-in llama-bench: records its arguments, prints `output`, exits `code`. */
function fakeLlamaBench(dir: string, output: string, code = 0): string {
  const out = join(dir, "out.json");
  writeFileSync(out, output);
  const bin = join(dir, "llama-bench");
  writeFileSync(
    bin,
    `#!/bin/sh\necho "$@" > "${dir}/args.txt"\ncat "${out}"\necho "oops" >&2\nexit ${code}\n`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

Deno.test("runLlamaBench: its command line, the median rate, and refusals", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-llama-bench-"));
  try {
    const binary = fakeLlamaBench(dir, recorded);
    const run = await runLlamaBench({ model: "m.gguf", binary, threads: 2, repetitions: 3 });
    assert.equal(
      readFileSync(join(dir, "args.txt"), "utf8").trim(),
      "-m m.gguf -p 512 -n 0 -b 512 -ub 512 -t 2 -r 3 -ctk f16 -ctv f16 -ngl 0 -o json",
    );
    assert.equal(run.medianTokensPerSecond, 709.999); // the median repetition, not the mean
    assert.equal(run.command[0], binary);

    // a test of another size than asked for (e.g. an older llama-bench ignoring -p)
    await assert.rejects(
      () => runLlamaBench({ model: "m.gguf", binary, threads: 2, promptTokens: 256 }),
      /reported 1 test\(s\) \(pp512\+tg0\); expected one prompt-processing test of 256 tokens/,
    );
    // a failed run shows its command line and stderr
    const failing = fakeLlamaBench(dir, "", 3);
    await assert.rejects(
      () => runLlamaBench({ model: "m.gguf", binary: failing, threads: 2 }),
      /llama-bench -m m\.gguf .* exited with 3:\noops/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // a missing binary says how to build it and which flag points at it
  await assert.rejects(
    () => runLlamaBench({ model: "m.gguf", binary: "/nonexistent/llama-bench", threads: 2 }),
    /could not run \/nonexistent\/llama-bench .*build_llama_tools\.sh.* --llama-bench/,
  );
});
