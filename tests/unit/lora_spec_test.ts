/**
 * The one LoRA spec parser (lib/llm/lora_spec.ts): `FILE[:SCALE]` for `deno task eval --lora`
 * and `NAME=FILE[:SCALE]` for `deno task serve --adapter` follow the same rules; a scale that is
 * not a number is a usage error (exit 2), never part of the file name; a missing adapter file
 * says "not found" with its path before any model is loaded.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  checkLoraFile,
  LoraSpecError,
  parseLoraSpec,
  parseNamedLoraSpec,
} from "../../lib/llm/lora_spec.ts";
import { parseAdapterFlag } from "../../lib/serve/config.ts";

const USAGE_ERROR = 2;

async function cli(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("FILE[:SCALE]: the scale is a number after the last colon, else 1", () => {
  const cases: [string, { path: string; scale: number }][] = [
    ["a.gguf", { path: "a.gguf", scale: 1 }],
    ["out/a.gguf:0.5", { path: "out/a.gguf", scale: 0.5 }],
    ["a.gguf:2", { path: "a.gguf", scale: 2 }],
    ["a.gguf:-1", { path: "a.gguf", scale: -1 }],
    ["a.gguf:+.25", { path: "a.gguf", scale: 0.25 }],
    ["a.gguf:1e-1", { path: "a.gguf", scale: 0.1 }],
    ["runs:v2/a.gguf", { path: "runs:v2/a.gguf", scale: 1 }],
    ["runs:v2/a.gguf:0.5", { path: "runs:v2/a.gguf", scale: 0.5 }],
    ["C:/lora.gguf", { path: "C:/lora.gguf", scale: 1 }],
    ["a:b.gguf", { path: "a:b.gguf", scale: 1 }],
  ];
  for (const [spec, want] of cases) assert.deepEqual(parseLoraSpec(spec), want, spec);
});

Deno.test("FILE[:SCALE]: a scale that is not a number is an error that says how to write it", () => {
  for (
    const spec of ["a.gguf:abc", "a.gguf:", "a.gguf:0.5x", "a.gguf:1,5", ":0.5", "", "a:1e999"]
  ) {
    assert.throws(
      () => parseLoraSpec(spec),
      (e: unknown) => e instanceof LoraSpecError && /FILE\.gguf:SCALE/.test(e.message),
      JSON.stringify(spec),
    );
  }
  assert.throws(() => parseLoraSpec("a.gguf:abc"), /the scale "abc" is not a number/);
});

Deno.test("NAME=FILE[:SCALE]: the same file rules; a name is required and checked", () => {
  assert.deepEqual(parseNamedLoraSpec("arith=a/b.gguf:0.5"), {
    name: "arith",
    path: "a/b.gguf",
    scale: 0.5,
  });
  assert.deepEqual(parseNamedLoraSpec("x=C:/a.gguf"), { name: "x", path: "C:/a.gguf", scale: 1 });
  // the server's flag is this parser
  assert.deepEqual(parseAdapterFlag("v1.2=a.gguf:-1"), { name: "v1.2", path: "a.gguf", scale: -1 });
  assert.throws(() => parseAdapterFlag("arith=a.gguf:abc"), /the scale "abc" is not a number/);
  for (const spec of ["a.gguf", "=a.gguf", "arith=", "bad name=a.gguf"]) {
    assert.throws(() => parseNamedLoraSpec(spec), LoraSpecError, spec);
  }
});

Deno.test("a missing or directory adapter says so with its path", () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-lora-"));
  try {
    const missing = join(dir, "nope.gguf");
    assert.throws(() => checkLoraFile(missing), (e: unknown) =>
      e instanceof LoraSpecError &&
      e.message.startsWith(`${missing}: LoRA adapter not found`));
    assert.throws(() => checkLoraFile(dir), /is a directory, not a GGUF LoRA adapter file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("deno task eval: bad --lora scale, missing adapter, --limit 0, --tasks , exit 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-lora-"));
  try {
    const missing = join(dir, "missing.gguf");
    const cases: [string[], RegExp][] = [
      [["--lora", "a.gguf:abc"], /--lora a\.gguf:abc: the scale "abc" is not a number/],
      [["--lora", missing], new RegExp(`${missing}: LoRA adapter not found`)],
      [["--limit", "0"], /--limit must be an integer ≥ 1, got "0"/],
      [["--tasks", ","], /--tasks must be a comma-separated list of one or more task names/],
      [["--num-fewshot", "-1"], /--num-fewshot must be an integer ≥ 0/],
      [
        ["--concurrency", "0", "--endpoint", "http://x", "--api-model", "m"],
        /--concurrency must be/,
      ],
      [["--limt", "5"], /unknown flag --limt; did you mean --limit\?/],
    ];
    for (const [args, message] of cases) {
      const out = await cli("lib/cli/eval.ts", args);
      assert.equal(out.code, USAGE_ERROR, `${args.join(" ")}: ${out.stderr}`);
      assert.match(out.stderr, message, args.join(" "));
      assert.doesNotMatch(out.stderr, /node-llama-cpp|llama_/, "no model was loaded");
    }
    const serve = await cli("lib/cli/serve.ts", ["--adapter", "arith=a.gguf:abc"]);
    assert.equal(serve.code, USAGE_ERROR);
    assert.match(serve.stderr, /--adapter arith=a\.gguf:abc: the scale "abc" is not a number/);
    const serveMissing = await cli("lib/cli/serve.ts", ["--adapter", `arith=${missing}:0.5`]);
    assert.equal(serveMissing.code, USAGE_ERROR);
    assert.match(serveMissing.stderr, new RegExp(`${missing}: LoRA adapter not found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
