/**
 * Every `deno task` in deno.json answers `--help` with its usage, exits 0 and does nothing
 * else: no file in the repository changes (git status), nothing under results/ is written,
 * nothing is installed or loaded (no log line on stderr). Every entry point behind a task is
 * built on the one command layer (lib/cli/_command.ts). Commands that write committed files do
 * so only with an explicit output flag, and scripts/build_tiny.sh passes the flags it needs.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Command,
  executeCommand,
  type FlagSet,
  formatHelp,
  parseCommandLine,
} from "../../lib/cli/_command.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TASKS: Record<string, string> = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"))
  .tasks;
/** Tasks run at once (the machine has two cores). */
const PARALLEL = 3;

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Every file under `dir` with its size and modification time. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        out.push(`${relative(ROOT, p)} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  out.push(`dirs: ${readdirSync(dir).join(",")}`);
  return out.sort();
}

async function gitStatus(): Promise<string> {
  const out = await run("git", ["status", "--porcelain", "--untracked-files=all"]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

/** The entry point a task runs (`lib/cli/eval.ts`), or undefined for a shell script. */
function entryPoint(task: string): string | undefined {
  return TASKS[task].match(/^deno run .*?(\S+\.ts)$/)?.[1];
}

Deno.test({
  name: "every deno task: --help prints usage, exits 0 and has no side effects",
  sanitizeResources: false,
  fn: async () => {
    const names = Object.keys(TASKS);
    assert.ok(names.length >= 20, `deno.json has ${names.length} tasks`);
    const before = { git: await gitStatus(), results: snapshot(join(ROOT, "results")) };
    const results: Record<string, Awaited<ReturnType<typeof run>>> = {};
    const queue = [...names];
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        results[name] = await run(Deno.execPath(), ["task", "--quiet", name, "--help"]);
      }
    }));
    const failures: string[] = [];
    for (const name of names) {
      const r = results[name];
      const stderr = r.stderr.split("\n").filter((l) => l.trim() && !/^Task \S+ /.test(l));
      const problems = [
        r.code !== 0 ? `exit ${r.code}` : "",
        /^usage: (deno task|bash|deno run)/.test(r.stdout) ? "" : "no usage line first",
        r.stdout.includes(`deno task ${name.replace(/:(unit|model)$/, "")}`)
          ? ""
          : `usage does not name deno task ${name}`,
        stderr.length ? `stderr: ${stderr.slice(0, 3).join(" | ")}` : "",
      ].filter(Boolean);
      if (problems.length) failures.push(`deno task ${name} --help: ${problems.join("; ")}`);
    }
    const after = { git: await gitStatus(), results: snapshot(join(ROOT, "results")) };
    assert.deepEqual(failures, []);
    assert.equal(after.git, before.git, "--help changed files in the repository");
    assert.deepEqual(after.results, before.results, "--help wrote under results/");
  },
});

Deno.test("every deno task's .ts entry point is built on lib/cli/_command.ts", async () => {
  const entries = Object.keys(TASKS).map(entryPoint).filter((e) => e !== undefined);
  const files = new Set([
    ...entries,
    ...readdirSync(join(ROOT, "lib/cli")).filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
      .map((f) => `lib/cli/${f}`),
    // bench/_*.ts: helpers the benchmarks share (bench/_llama_tools.ts), not entry points
    ...readdirSync(join(ROOT, "bench")).filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
      .map((f) => `bench/${f}`),
  ]);
  for (const file of files) {
    const source = readFileSync(join(ROOT, file), "utf8");
    assert.match(source, /^if \(import\.meta\.main\) await runCommand\(command\);$/m, file);
    for (const own of [/\bparseArgs\b/, /\bDeno\.args\b/, /\bDeno\.exit\(/]) {
      assert.doesNotMatch(source, own, `${file} parses or exits on its own`);
    }
    const mod = await import(`file://${join(ROOT, file)}`);
    const command = mod.command as Command<FlagSet>;
    assert.ok(command && typeof command.run === "function", `${file} exports its command`);
    const task = Object.keys(TASKS).find((t) => entryPoint(t) === file);
    if (task) assert.equal(command.name, task, `${file}: command name is its task`);
  }
});

Deno.test("the flags scripts/build_tiny.sh passes are the commands' flags", async () => {
  const script = readFileSync(join(ROOT, "scripts/build_tiny.sh"), "utf8");
  const all = [...script.matchAll(/^\s*\$DENO run -A (lib\/cli\/\w+\.ts)(.*)$/gm)];
  // tiny-256's second phase writes only its corpus, under .cache.
  const phase2 = all.filter((c) => c[2].includes("--model tiny-256-copy"));
  assert.equal(phase2.length, 1);
  assert.match(phase2[0][2], /--corpus "\$WORK\/corpus-copy\.jsonl"$/);
  assert.doesNotMatch(phase2[0][2], /--out/);
  const calls = all.filter((c) => !phase2.includes(c));
  assert.deepEqual(calls.map((c) => c[1]), ["lib/cli/synth.ts", "lib/cli/model_card.ts"]);
  // Each --model's synth arguments, from the script's case statement.
  const synthArgs: Record<string, string> = {
    tiny: /^\s*tiny\) SYNTH=\(([^)]*)\)/m.exec(script)![1],
    "tiny-256": /^\s*tiny-256\)\n\s*SYNTH=\(([^)]*)\)/m.exec(script)![1],
  };
  const expected: Record<string, Record<string, string>> = {
    // The committed files it rebuilds are named explicitly.
    tiny: {
      "lib/cli/synth.ts": "data/synthetic",
      "lib/cli/model_card.ts": "data/models/tiny/README.md",
    },
    // tiny-256 leaves the committed splits alone.
    "tiny-256": {
      "lib/cli/synth.ts": "undefined",
      "lib/cli/model_card.ts": "data/models/tiny-256/README.md",
    },
  };
  for (const model of ["tiny", "tiny-256"]) {
    const outputs: Record<string, string> = {};
    for (const [, file, rest] of calls) {
      const args = rest.replace('"${SYNTH[@]}"', synthArgs[model]).trim().split(/\s+/).map((a) =>
        a.replaceAll('"', "").replaceAll("$WORK", `.cache/${model}`).replaceAll(
          "$OUT",
          `data/models/${model}`,
        )
      );
      const { command } = await import(`file://${join(ROOT, file)}`);
      const parsed = parseCommandLine(command as Command<FlagSet>, args);
      assert.ok(!parsed.help);
      outputs[file] = String(parsed.values.out);
      if (file === "lib/cli/synth.ts") {
        assert.equal(parsed.values.model, model, `${model}: synth --model`);
      }
    }
    assert.deepEqual(outputs, expected[model], model);
  }
});

Deno.test("synth and plots write nothing without an explicit output flag", async () => {
  const before = await gitStatus();
  const synth = await run(Deno.execPath(), ["run", "-A", "lib/cli/synth.ts", "--seed", "7"]);
  assert.equal(synth.code, 2, synth.stderr);
  assert.match(synth.stderr, /nothing to write: give --out DIR/);
  const plots = await run(Deno.execPath(), ["run", "-A", "lib/cli/plots.ts"]);
  assert.equal(plots.code, 2, plots.stderr);
  assert.match(plots.stderr, /--out is required/);
  assert.equal(await gitStatus(), before);
});

Deno.test("finetune --help lists every config key --set takes, with its default", async () => {
  const { command } = await import("../../lib/cli/finetune.ts");
  const { resolveTrainConfig } = await import("../../lib/train/config.ts");
  const help = formatHelp(command as Command<FlagSet>);
  // Every key of a resolved config (nested ones as lora.KEY), found independently of the help.
  const config = resolveTrainConfig({
    preset: "tiny-cpu",
    overrides: { train_file: "t.jsonl", output_dir: "o" },
  }) as unknown as Record<string, unknown>;
  const keys = Object.entries(config).flatMap(([k, v]) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v).map((n) => `${k}.${n}`) : [k]
  );
  assert.ok(keys.length > 20 && keys.includes("lora.r"));
  for (const key of keys) {
    assert.match(
      help,
      new RegExp(`^  ${key.replace(".", "\\.")}\\s+\\S`, "m"),
      `--help lists ${key}`,
    );
  }
  assert.match(help, /^ {2}lora\.r\s+integer > 0\s+8\b/m, "with its type and default");
});

Deno.test("every deno task's .ts entry point: an unknown flag is a usage error, exit 2", async () => {
  const entries = [...new Set(Object.keys(TASKS).map(entryPoint).filter((e) => e !== undefined))];
  const quiet = console.error;
  const messages: string[] = [];
  console.error = (...args: unknown[]) => messages.push(args.join(" "));
  try {
    for (const file of entries) {
      const { command } = await import(`file://${join(ROOT, file)}`);
      messages.length = 0;
      const status = await executeCommand(command as Command<FlagSet>, ["--no-such-flag"]);
      assert.equal(status, 2, `${file}: exit ${status} for an unknown flag`);
      assert.match(messages.join("\n"), /unknown .*--no-such-flag|--no-such-flag/, file);
    }
  } finally {
    console.error = quiet;
  }
});
