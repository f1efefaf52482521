/**
 * The command-line layer every `deno task` entry point is built on (lib/cli/_command.ts): typed
 * flags with defaults, enums, lists and repeatable flags; usage errors that name the flag and
 * what it expects, with a "did you mean" for a mistyped flag; generated help; exit statuses
 * (0 done, 2 usage error or the command's input errors, 1 any other failure); `--help` runs
 * nothing. Also the one `--set KEY=VALUE` parser.
 */
import assert from "node:assert/strict";
import {
  booleanFlag,
  customFlag,
  defineCommand,
  enumFlag,
  executeCommand,
  FAILURE,
  formatHelp,
  integerFlag,
  listFlag,
  numberFlag,
  parseCommandLine,
  parseKeyValue,
  repeatedFlag,
  stringFlag,
  USAGE_ERROR,
  UsageError,
} from "../../lib/cli/_command.ts";

class InputError extends Error {}

/** A command with one flag of every kind; `run` records what it got and may throw. */
function demo(onRun: (values: unknown, positionals: string[]) => number = () => 0) {
  return defineCommand({
    name: "demo",
    summary: "A demo command.",
    positionals: { usage: "[FILE...]", expected: "at most two files", min: 0, max: 2 },
    flags: {
      model: stringFlag("model file", { placeholder: "FILE", default: "m.gguf" }),
      run: stringFlag("run name", { placeholder: "NAME", defaultText: "the model's name" }),
      limit: integerFlag("items per task", { min: 1, defaultText: "every item" }),
      sequences: integerFlag("parallel sequences", { min: 1, default: 8 }),
      threshold: numberFlag("Jaccard threshold", { min: 0, max: 1, default: 0.8 }),
      level: enumFlag("log level", ["debug", "info", "warn"], { default: "info" }),
      formats: listFlag("formats", { values: ["png", "svg"], default: ["png", "svg"] }),
      sizes: listFlag("sizes", { of: "integer", min: 1 }),
      tasks: listFlag("tasks", { item: "task name" }),
      lora: repeatedFlag("adapter", (raw) => {
        if (raw.endsWith(":x")) throw new Error("bad scale");
        return raw;
      }, { placeholder: "FILE" }),
      color: customFlag("hex colour", (raw) => {
        if (!/^[0-9a-f]{6}$/.test(raw)) throw new Error("expected six hex digits");
        return parseInt(raw, 16);
      }),
      cpu: booleanFlag("never use a GPU"),
    },
    usageErrors: [InputError],
    run: ({ values, positionals }) => onRun(values, positionals),
  });
}

/** Run a command in-process, capturing what it prints. */
async function capture(
  run: () => Promise<number>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [log, error] = [console.log, console.error];
  let stdout = "", stderr = "";
  console.log = (...a: unknown[]) => void (stdout += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (stderr += a.join(" ") + "\n");
  try {
    return { code: await run(), stdout, stderr };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

function parse(argv: string[]) {
  const parsed = parseCommandLine(demo(), argv);
  assert.ok(!parsed.help);
  return parsed;
}

Deno.test("flags: defaults apply when a flag is absent, typed values when given", () => {
  const { values, positionals } = parse([]);
  assert.deepEqual(values, {
    model: "m.gguf",
    run: undefined,
    limit: undefined,
    sequences: 8,
    threshold: 0.8,
    level: "info",
    formats: ["png", "svg"],
    sizes: undefined,
    tasks: undefined,
    lora: [],
    color: undefined,
    cpu: false,
  });
  assert.deepEqual(positionals, []);
  const given = parse([
    "a.jsonl",
    "--model=x.gguf",
    "--limit",
    "5",
    "--threshold",
    "0.5",
    "--level",
    "warn",
    "--formats",
    "svg",
    "--sizes",
    "10, 20",
    "--tasks",
    "qa,facts,",
    "--lora",
    "a.gguf",
    "--lora",
    "b.gguf:0.5",
    "--color",
    "ff0000",
    "--cpu",
    "--",
    "--not-a-flag",
  ]);
  assert.deepEqual(given.values, {
    model: "x.gguf",
    run: undefined,
    limit: 5,
    sequences: 8,
    threshold: 0.5,
    level: "warn",
    formats: ["svg"],
    sizes: [10, 20],
    tasks: ["qa", "facts"],
    lora: ["a.gguf", "b.gguf:0.5"],
    color: 0xff0000,
    cpu: true,
  });
  assert.deepEqual(given.positionals, ["a.jsonl", "--not-a-flag"]);
  // a flag given twice: every value is checked, the last one counts (wrappers append overrides)
  assert.equal(parse(["--limit", "3", "--limit", "4"]).values.limit, 4);
  assert.deepEqual([...given.given].sort(), [
    "color",
    "cpu",
    "formats",
    "level",
    "limit",
    "lora",
    "model",
    "sizes",
    "tasks",
    "threshold",
  ]);
  // a negative number is a value, not a flag
  assert.equal(
    parseCommandLine(
      defineCommand({
        name: "n",
        summary: "",
        flags: { scale: numberFlag("s") },
        run: () => 0,
      }),
      ["--scale", "-0.5"],
    ).help,
    false,
  );
});

Deno.test("flags: a bad value is a usage error that names the flag and what it expects", () => {
  const cases: [string[], RegExp][] = [
    [["--limit", "0"], /^--limit must be an integer ≥ 1, got "0"$/],
    [["--limit", "2.5"], /^--limit must be an integer ≥ 1, got "2.5"$/],
    [["--limit", ""], /^--limit must be an integer ≥ 1, got ""$/],
    [["--sequences", "many"], /^--sequences must be an integer ≥ 1, got "many"$/],
    [["--threshold", "1.5"], /^--threshold must be a number from 0 to 1, got "1.5"$/],
    [["--threshold", "high"], /^--threshold must be a number from 0 to 1, got "high"$/],
    [["--level", "loud"], /^--level must be one of debug, info, warn, got "loud"$/],
    [
      ["--formats", "png,gif"],
      /^--formats must be a comma-separated list of one or more values from png, svg/,
    ],
    [["--sizes", "10,x"], /^--sizes must be a comma-separated list of one or more integers ≥ 1/],
    [
      ["--tasks", ","],
      /^--tasks must be a comma-separated list of one or more task names, got ","$/,
    ],
    [["--tasks", ""], /^--tasks must be a comma-separated list of one or more task names, got ""$/],
    [["--lora", "a.gguf:x"], /^--lora a\.gguf:x: bad scale$/],
    [["--color", "red"], /^--color red: expected six hex digits$/],
    [["--limit"], /^--limit needs a value \(N\)$/],
    [["--model", "--cpu"], /^--model needs a value \(FILE\); for a value that starts with --/],
    [["--cpu=yes"], /^--cpu takes no value/],
    [["--limit", "3", "--limit", "0"], /^--limit must be an integer ≥ 1, got "0"$/],
    [["a", "b", "c"], /^expected at most two files, got 3$/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseCommandLine(demo(), argv),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      `${argv.join(" ")}`,
    );
  }
});

Deno.test("flags: an unknown flag is a usage error with the closest known flag", () => {
  const message = (argv: string[]) => {
    try {
      parseCommandLine(demo(), argv);
    } catch (e) {
      assert.ok(e instanceof UsageError);
      return e.message;
    }
    assert.fail("no error");
  };
  assert.equal(message(["--limt", "3"]), "unknown flag --limt; did you mean --limit?");
  assert.equal(message(["--sequence", "3"]), "unknown flag --sequence; did you mean --sequences?");
  assert.equal(message(["--thresh", "3"]), "unknown flag --thresh; did you mean --threshold?");
  assert.equal(message(["--colour-scheme"]), "unknown flag --colour-scheme");
  assert.equal(message(["-x"]), "unknown flag -x");
  assert.equal(message(["--constructor"]), "unknown flag --constructor");
  const required = defineCommand({
    name: "r",
    summary: "",
    flags: {
      input: stringFlag("in", { required: true }),
      out: stringFlag("out", { required: true }),
    },
    run: () => 0,
  });
  assert.throws(
    () => parseCommandLine(required, ["--input", "x"]),
    /^UsageError: --input and --out are required \(missing: --out\)$/,
  );
  const none = defineCommand({ name: "none", summary: "", flags: {}, run: () => 0 });
  assert.throws(() => parseCommandLine(none, ["stray"]), /unexpected argument "stray"/);
});

Deno.test("help: usage line, every flag with its default; run is not called", async () => {
  let ran = false;
  const cmd = demo(() => {
    ran = true;
    return 0;
  });
  for (const argv of [["--help"], ["-h"], ["--limit", "0", "--help"], ["--bogus", "-h"]]) {
    const out = await capture(() => executeCommand(cmd, argv));
    assert.equal(out.code, 0, argv.join(" "));
    assert.equal(out.stdout, formatHelp(cmd) + "\n");
    assert.equal(out.stderr, "");
  }
  assert.equal(ran, false, "--help never runs the command");
  const help = formatHelp(cmd);
  assert.match(help, /^usage: deno task demo \[FILE\.\.\.\] \[options\]\n/);
  for (
    const line of [
      /--model FILE +model file \(default: m\.gguf\)/,
      /--run NAME +run name \(default: the model's name\)/,
      /--limit N +items per task \(default: every item\)/,
      /--sequences N +parallel sequences \(default: 8\)/,
      /--level debug\|info\|warn +log level \(default: info\)/,
      /--formats png\|svg\[,\.\.\.\] +formats \(default: png,svg\)/,
      /--lora FILE +adapter \(repeatable; default: none\)/,
      /--cpu +never use a GPU \(default: off\)/,
      /-h, --help +print this help and exit/,
      /Exit status: 0 done; 2 bad arguments or input/,
    ]
  ) assert.match(help, line);
  assert.ok(help.split("\n").every((l) => l.length <= 100), "lines fit in 100 columns");
  assert.throws(
    () =>
      defineCommand({ name: "x", summary: "", flags: { help: booleanFlag("h") }, run: () => 0 }),
    /built in/,
  );
});

Deno.test("exit statuses: 0 done, 2 usage and input errors, 1 other failures", async () => {
  const ok = await capture(() => executeCommand(demo(() => 0), []));
  assert.deepEqual([ok.code, ok.stderr], [0, ""]);
  const returned = await capture(() => executeCommand(demo(() => 3), []));
  assert.equal(returned.code, 3);

  const usage = await capture(() => executeCommand(demo(), ["--limit", "0"]));
  assert.equal(usage.code, USAGE_ERROR);
  assert.match(
    usage.stderr,
    /^demo: --limit must be an integer ≥ 1, got "0"\nusage: deno task demo/,
  );
  assert.match(usage.stderr, /deno task demo --help lists every flag/);
  assert.equal(usage.stdout, "");

  const thrown = (e: Error) =>
    capture(() =>
      executeCommand(
        demo(() => {
          throw e;
        }),
        [],
      )
    );
  const usageInRun = await thrown(new UsageError("--a and --b go together"));
  assert.equal(usageInRun.code, USAGE_ERROR);
  assert.match(usageInRun.stderr, /^demo: --a and --b go together\nusage:/);
  const input = await thrown(new InputError("data.jsonl:3: not JSON"));
  assert.deepEqual([input.code, input.stderr], [USAGE_ERROR, "demo: data.jsonl:3: not JSON\n"]);
  const failure = await thrown(new Error("llama.cpp failed"));
  assert.deepEqual([failure.code, failure.stderr], [FAILURE, "demo: llama.cpp failed\n"]);
  const bug = await thrown(new TypeError("x is undefined"));
  assert.equal(bug.code, FAILURE);
  assert.match(bug.stderr, /^demo: internal error \(please report\): TypeError: x is undefined\n/);
});

Deno.test("--set KEY=VALUE: one parser, JSON values else text", () => {
  assert.deepEqual(parseKeyValue("max_steps=100"), { key: "max_steps", value: 100 });
  assert.deepEqual(parseKeyValue("lora.r=16"), { key: "lora.r", value: 16 });
  assert.deepEqual(parseKeyValue("packing=true"), { key: "packing", value: true });
  assert.deepEqual(parseKeyValue("val_file=null"), { key: "val_file", value: null });
  assert.deepEqual(parseKeyValue('tasks=["synth_qa"]'), { key: "tasks", value: ["synth_qa"] });
  assert.deepEqual(parseKeyValue("schedule=cosine"), { key: "schedule", value: "cosine" });
  assert.deepEqual(parseKeyValue("note=a=b"), { key: "note", value: "a=b" });
  assert.deepEqual(parseKeyValue("empty="), { key: "empty", value: "" });
  assert.throws(() => parseKeyValue("max_steps"), /expected KEY=VALUE/);
  assert.throws(() => parseKeyValue("=5"), /expected KEY=VALUE/);
});
