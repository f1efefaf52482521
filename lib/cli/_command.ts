/**
 * Private: the one command-line layer every `deno task` entry point (lib/cli/*.ts, bench/*.ts)
 * is built on. A command declares its flags once — name, type, default, help — and gets:
 *
 * - `--help` / `-h`: a usage line and every flag with its default, printed before anything
 *   else runs (no file written, no model loaded), exit 0;
 * - typed values: strings, integers, numbers, booleans, enums, comma-separated lists and
 *   repeatable flags, each checked when parsed;
 * - usage errors that name the flag and what it expects (`--limit must be an integer ≥ 1, got
 *   "0"`), a "did you mean" for a mistyped flag, exit {@linkcode USAGE_ERROR} (2);
 * - one runner: an error the command throws is one `<name>: message` line on stderr and exit
 *   {@linkcode FAILURE} (1), or 2 for a {@linkcode UsageError} and the command's own input-error
 *   classes; a bug (TypeError, RangeError, ReferenceError) also prints its stack.
 *
 * Conventions: `--flag value` or `--flag=value`; `--` ends the flags; every value given is
 * checked, and when a flag that is not repeatable is given twice the last one counts (so a
 * wrapper's defaults can be overridden: the Dockerfile's ENTRYPOINT passes `--port 8080`, and
 * `docker run IMAGE --port 9000` appends to it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCommand, integerFlag, parseCommandLine } from "./_command.ts";
 * const cmd = defineCommand({
 *   name: "demo",
 *   summary: "A demo.",
 *   flags: { limit: integerFlag("items", { min: 1, placeholder: "N", defaultText: "all" }) },
 *   run: ({ values }) => (values.limit === undefined ? 0 : 1),
 * });
 * const parsed = parseCommandLine(cmd, ["--limit", "5"]);
 * assert.equal(parsed.help ? 0 : parsed.values.limit, 5);
 * assert.throws(() => parseCommandLine(cmd, ["--limit", "0"]), /--limit must be an integer ≥ 1/);
 * ```
 * @module
 */
import { closestName } from "../util/suggest.ts";

/** Exit status for bad arguments or input (the message says what and where). */
export const USAGE_ERROR = 2;
/** Exit status for any other failure. */
export const FAILURE = 1;

/** A mistake in how the command was called: exit {@linkcode USAGE_ERROR}, with the usage line. */
export class UsageError extends Error {
  /** Create with the message shown to the user (it names the flag and what to do). */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A value a flag cannot take: `expected` completes "--flag must be …". */
class FlagValueError extends Error {
  constructor(readonly expected: string) {
    super(expected);
  }
}

/** What a flag holds (shown in tests and used for help). */
export type FlagType = "string" | "integer" | "number" | "boolean" | "enum" | "list" | "repeated";

/** One declared flag; `V` is the value the command sees (with its default applied). */
export interface Flag<V> {
  /** What it holds. */
  readonly type: FlagType;
  /** One line (or several, `\n`-separated) of help. */
  readonly help: string;
  /** The value's name in help and usage (`N`, `FILE`); "" for a boolean. */
  readonly placeholder: string;
  /** The value when the flag is not given. */
  readonly default: V;
  /** How help shows the default; derived from {@linkcode Flag.default} when absent. */
  readonly defaultText?: string;
  /** Whether the command cannot run without it. */
  readonly required: boolean;
  /** Whether it may be given more than once (values collected in order). */
  readonly repeatable: boolean;
  /** A one-letter alias (`-v`). */
  readonly short?: string;
  /** Help heading it is listed under. Default: "Options". */
  readonly group?: string;
  /** Parse one given value (throws with what it expects). */
  readonly parse: (raw: string) => unknown;
}

/** Options every flag builder takes. */
export interface FlagOptions {
  /** The value's name in help (`FILE`, `N`). Default: by type (`VALUE`, `N`, `X`, `A,B`). */
  placeholder?: string;
  /** How help shows the default when it is not the value itself ("every core"). Default: the value. */
  defaultText?: string;
  /** The command cannot run without this flag. Default: false. */
  required?: boolean;
  /** A one-letter alias. Default: none. */
  short?: string;
  /** Help heading. Default: "Options". */
  group?: string;
}

/** The value type of a flag: defined when it has a default or is required, else maybe undefined. */
type Valued<T, O> = O extends { default: unknown } ? T
  : O extends { required: true } ? T
  : T | undefined;

/** Options of {@linkcode stringFlag}. */
export interface StringFlagOptions extends FlagOptions {
  /** The value when not given. Default: undefined. */
  default?: string;
}

/**
 * A flag with any text value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stringFlag } from "./_command.ts";
 * assert.equal(stringFlag("model file", { default: "m.gguf" }).default, "m.gguf");
 * ```
 */
export function stringFlag<const O extends StringFlagOptions = Record<never, never>>(
  help: string,
  options?: O,
): Flag<Valued<string, O>> {
  return make("string", help, options ?? {}, "VALUE", (raw) => raw);
}

/** Options of {@linkcode integerFlag} and {@linkcode numberFlag}. */
export interface NumberFlagOptions extends FlagOptions {
  /** The value when not given. Default: undefined. */
  default?: number;
  /** Smallest value allowed (inclusive). Default: none. */
  min?: number;
  /** Largest value allowed (inclusive). Default: none. */
  max?: number;
}

/**
 * A flag holding a whole number, optionally within `[min, max]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integerFlag } from "./_command.ts";
 * const f = integerFlag("items per task", { min: 1 });
 * assert.equal(f.parse("12"), 12);
 * assert.throws(() => f.parse("1.5"), /an integer ≥ 1/);
 * ```
 */
export function integerFlag<const O extends NumberFlagOptions = Record<never, never>>(
  help: string,
  options?: O,
): Flag<Valued<number, O>> {
  const o: NumberFlagOptions = options ?? {};
  return make("integer", help, o, "N", (raw) => parseNumber(raw, true, o.min, o.max));
}

/**
 * A flag holding a finite number, optionally within `[min, max]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberFlag } from "./_command.ts";
 * assert.equal(numberFlag("threshold", { min: 0, max: 1 }).parse("0.8"), 0.8);
 * ```
 */
export function numberFlag<const O extends NumberFlagOptions = Record<never, never>>(
  help: string,
  options?: O,
): Flag<Valued<number, O>> {
  const o: NumberFlagOptions = options ?? {};
  return make("number", help, o, "X", (raw) => parseNumber(raw, false, o.min, o.max));
}

/** Options of {@linkcode booleanFlag}. */
export type BooleanFlagOptions = Omit<FlagOptions, "placeholder" | "required" | "defaultText">;

/**
 * A switch: true when given (it takes no value), false otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { booleanFlag } from "./_command.ts";
 * assert.equal(booleanFlag("never use a GPU").default, false);
 * ```
 */
export function booleanFlag(help: string, options: BooleanFlagOptions = {}): Flag<boolean> {
  return {
    ...make("boolean", help, { ...options, default: false }, "", () => true),
    placeholder: "",
  };
}

/** Options of {@linkcode enumFlag}. */
export interface EnumFlagOptions<T extends string> extends FlagOptions {
  /** The value when not given. Default: undefined. */
  default?: T;
}

/**
 * A flag holding one of a fixed set of words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { enumFlag } from "./_command.ts";
 * const f = enumFlag("log level", ["debug", "info"], { default: "info" });
 * assert.throws(() => f.parse("loud"), /one of debug, info/);
 * ```
 */
export function enumFlag<
  const T extends string,
  const O extends EnumFlagOptions<T> = Record<never, never>,
>(help: string, values: readonly T[], options?: O): Flag<Valued<T, O>> {
  const o: EnumFlagOptions<T> = options ?? {};
  return make("enum", help, { placeholder: values.join("|"), ...o }, "", (raw) => {
    if (!values.includes(raw as T)) throw new FlagValueError(`one of ${values.join(", ")}`);
    return raw;
  });
}

/** Options of {@linkcode listFlag}. */
export interface ListFlagOptions extends FlagOptions {
  /** What each item is. Default: "string". */
  of?: "string" | "integer" | "number";
  /** Allowed items (an enum list). Default: any. */
  values?: readonly string[];
  /** Exactly this many items. Default: any number ≥ 1. */
  length?: number;
  /** Smallest item allowed (numbers). Default: none. */
  min?: number;
  /** The value when not given. Default: undefined. */
  default?: readonly (string | number)[];
  /** What a string item is, in messages ("task name"). Default: "name". */
  item?: string;
}

/** The item type of a list flag. */
type ListItem<O> = O extends { values: readonly (infer T)[] } ? T
  : O extends { of: "integer" | "number" } ? number
  : string;

/**
 * A comma-separated list (`--tasks a,b`); blanks around items are dropped, and a list with no
 * item (`--tasks ,`) is a usage error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listFlag } from "./_command.ts";
 * assert.deepEqual(listFlag("tasks").parse(" a, b"), ["a", "b"]);
 * assert.deepEqual(listFlag("sizes", { of: "integer" }).parse("10,20"), [10, 20]);
 * assert.throws(() => listFlag("tasks").parse(","), /one or more names/);
 * ```
 */
export function listFlag<const O extends ListFlagOptions = Record<never, never>>(
  help: string,
  options?: O,
): Flag<Valued<ListItem<O>[], O>> {
  const o: ListFlagOptions = options ?? {};
  const of = o.of ?? "string";
  const placeholder = o.values ? `${o.values.join("|")}[,...]` : "A,B";
  const plural = o.values
    ? `values from ${o.values.join(", ")}`
    : of === "string"
    ? `${o.item ?? "name"}s`
    : `${of}s${o.min !== undefined ? ` ≥ ${o.min}` : ""}`;
  const expected = `a comma-separated list of ${o.length ?? "one or more"} ${plural}`;
  return make("list", help, { placeholder, ...o }, "", (raw) => {
    const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (items.length === 0 || (o.length !== undefined && items.length !== o.length)) {
      throw new FlagValueError(expected);
    }
    return items.map((s) => {
      if (o.values && !o.values.includes(s)) throw new FlagValueError(expected);
      if (of === "string") return s;
      try {
        return parseNumber(s, of === "integer", o.min, undefined);
      } catch {
        throw new FlagValueError(expected);
      }
    });
  });
}

/** Options of {@linkcode customFlag}. */
export interface CustomFlagOptions<T> extends FlagOptions {
  /** The value when not given. Default: undefined. */
  default?: T;
}

/**
 * A flag whose value the command's own function parses (it throws an Error that says what is
 * wrong; the message becomes `--flag VALUE: message`, exit 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { customFlag } from "./_command.ts";
 * const f = customFlag("a hex colour", (raw) => parseInt(raw, 16), { placeholder: "RRGGBB" });
 * assert.equal(f.parse("ff0000"), 0xff0000);
 * ```
 */
export function customFlag<T, const O extends CustomFlagOptions<T> = Record<never, never>>(
  help: string,
  parse: (raw: string) => T,
  options?: O,
): Flag<Valued<T, O>> {
  return make("string", help, options ?? {}, "VALUE", parse);
}

/** Options of {@linkcode repeatedFlag}. */
export type RepeatedFlagOptions = Omit<FlagOptions, "defaultText"> & {
  /** How help shows the default. Default: "none". */
  defaultText?: string;
};

/**
 * A flag that may be given many times (`--lora a.gguf --lora b.gguf:0.5`); each value goes
 * through `parse` (which throws an Error whose message says what is wrong) and the command
 * gets them in order. Default: `[]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { repeatedFlag } from "./_command.ts";
 * const f = repeatedFlag("an adapter", (raw) => raw.toUpperCase(), { placeholder: "FILE" });
 * assert.deepEqual([f.default, f.parse("a")], [[], "A"]);
 * ```
 */
export function repeatedFlag<T>(
  help: string,
  parse: (raw: string) => T,
  options: RepeatedFlagOptions = {},
): Flag<T[]> {
  return {
    ...make("repeated", help, { ...options, default: [] }, "VALUE", parse),
    repeatable: true,
  };
}

/** A parsed `KEY=VALUE` (the value as JSON when it parses as JSON, else the text). */
export interface KeyValue {
  /** The key (non-empty). */
  key: string;
  /** The value: `3` → 3, `true` → true, `["a"]` → ["a"], `abc` → "abc". */
  value: unknown;
}

/**
 * Parse `KEY=VALUE` as `--set` takes it (finetune's config keys, notebook parameters): the
 * value is JSON if it parses as JSON, else the text as given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseKeyValue } from "./_command.ts";
 * assert.deepEqual(parseKeyValue("max_steps=100"), { key: "max_steps", value: 100 });
 * assert.deepEqual(parseKeyValue("tasks=[\"a\"]"), { key: "tasks", value: ["a"] });
 * assert.deepEqual(parseKeyValue("name=a=b"), { key: "name", value: "a=b" });
 * assert.throws(() => parseKeyValue("=1"), /KEY=VALUE/);
 * ```
 */
export function parseKeyValue(raw: string): KeyValue {
  const at = raw.indexOf("=");
  if (at < 1) throw new Error(`expected KEY=VALUE (e.g. max_steps=100), got "${raw}"`);
  const text = raw.slice(at + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // not JSON: the text itself
  }
  return { key: raw.slice(0, at), value };
}

/** Positional arguments a command takes. */
export interface PositionalSpec {
  /** How usage shows them (`<runA> <runB>`, `[PREFIX...]`). */
  usage: string;
  /** What they are, for the count error ("two run folders" → "expected two run folders, got 1"). */
  expected: string;
  /** Fewest allowed. */
  min: number;
  /** Most allowed. Default: no limit. */
  max?: number;
  /** Help lines describing them. Default: none. */
  help?: string;
}

/** Declared flags, by name (without `--`). */
export type FlagSet = Record<string, Flag<unknown>>;

/** The typed values of a flag set. */
export type FlagValues<F extends FlagSet> = {
  [K in keyof F]: F[K] extends Flag<infer V> ? V : never;
};

/** What a command's `run` gets. */
export interface ParsedArgs<F extends FlagSet> {
  /** Every flag's value (its default when not given). */
  values: FlagValues<F>;
  /** Positional arguments, in order. */
  positionals: string[];
  /** Names of the flags given on the command line. */
  given: ReadonlySet<string>;
}

/** An error class whose instances are the user's input errors (exit 2). */
// deno-lint-ignore no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/** A command: its flags, help and what it does. */
export interface Command<F extends FlagSet> {
  /** Task name (`eval`, `bench:serve`); messages start with it. */
  name: string;
  /** How it is invoked. Default: `deno task <name>`. */
  invocation?: string;
  /** What it does, a few lines shown under the usage. */
  summary: string;
  /** Usage lines after the invocation. Default: positionals, required flags, `[options]`. */
  usage?: string[];
  /** Positional arguments. Default: none allowed. */
  positionals?: PositionalSpec;
  /** The flags. `help`/`-h` is added. */
  flags: F;
  /** Text after the flags (examples, exit statuses); a function is called only for help. */
  epilog?: string | (() => string);
  /** The help's line on exit statuses. Default: 0 done, 2 bad arguments or input, 1 other failure. */
  exitStatus?: string;
  /** Errors that mean bad input (exit 2): classes, or a test. Default: only {@linkcode UsageError}. */
  usageErrors?: readonly ErrorClass[] | ((e: unknown) => boolean);
  /** Do it; the result is the exit status. */
  run(args: ParsedArgs<F>): number | Promise<number>;
}

/** Declare a command (an identity function that types `run`'s arguments from `flags`). */
export function defineCommand<F extends FlagSet>(command: Command<F>): Command<F> {
  for (const name of Object.keys(command.flags)) {
    if (name === "help" || command.flags[name].short === "h") {
      throw new Error(`${command.name}: --help/-h is built in; do not declare it`);
    }
  }
  return command;
}

/** The result of {@linkcode parseCommandLine}: help asked for, or the values. */
export type CommandLine<F extends FlagSet> = { help: true } | ({ help: false } & ParsedArgs<F>);

/**
 * Parse a command line against a command's flags. Throws {@linkcode UsageError} naming the flag
 * and what it expects; returns `{ help: true }` when `--help` or `-h` is anywhere before `--`.
 */
export function parseCommandLine<F extends FlagSet>(
  command: Command<F>,
  argv: readonly string[],
): CommandLine<F> {
  const end = argv.indexOf("--");
  const flagPart = end < 0 ? argv : argv.slice(0, end);
  if (flagPart.includes("--help") || flagPart.includes("-h")) return { help: true };
  const flags = command.flags;
  const names = Object.keys(flags);
  const shorts = new Map(names.filter((n) => flags[n].short).map((n) => [flags[n].short!, n]));
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (end >= 0 && i >= end) {
      if (i > end) positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(flags, name)) throw new UsageError(unknownFlag(`--${name}`, names));
    } else if (/^-[^-\d.]/.test(arg)) {
      name = arg.length === 2 ? shorts.get(arg[1]) : undefined;
      if (name === undefined) throw new UsageError(unknownFlag(arg, names));
    } else {
      positionals.push(arg);
      continue;
    }
    const flag = flags[name];
    let raw: string;
    if (flag.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value (got "${inline}")`);
      raw = "";
    } else if (inline !== undefined) {
      raw = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined || (end >= 0 && i + 1 >= end) || /^--./.test(next)) {
        throw new UsageError(
          `--${name} needs a value (${flag.placeholder})` +
            (next?.startsWith("--")
              ? `; for a value that starts with --, write --${name}=VALUE`
              : ""),
        );
      }
      raw = next;
      i++;
    }
    let value: unknown;
    try {
      value = flag.parse(raw);
    } catch (e) {
      if (e instanceof FlagValueError) {
        throw new UsageError(`--${name} must be ${e.expected}, got "${raw}"`);
      }
      throw new UsageError(`--${name} ${raw}: ${(e as Error).message}`);
    }
    given.add(name);
    if (flag.repeatable) ((values[name] ??= []) as unknown[]).push(value);
    else values[name] = value;
  }
  const missing = names.filter((n) => flags[n].required && !given.has(n));
  if (missing.length) {
    const required = names.filter((n) => flags[n].required).map((n) => `--${n}`);
    const list = required.length > 1
      ? `${required.slice(0, -1).join(", ")} and ${required.at(-1)} are required`
      : `${required[0]} is required`;
    throw new UsageError(
      required.length > 1 ? `${list} (missing: ${missing.map((n) => `--${n}`).join(", ")})` : list,
    );
  }
  const spec = command.positionals;
  if (!spec && positionals.length) {
    throw new UsageError(
      `unexpected argument "${positionals[0]}": ${command.name} takes no positional arguments ` +
        `(flags start with --)`,
    );
  }
  if (spec && (positionals.length < spec.min || positionals.length > (spec.max ?? Infinity))) {
    throw new UsageError(`expected ${spec.expected}, got ${positionals.length}`);
  }
  for (const n of names) if (!given.has(n)) values[n] = flags[n].default;
  return { help: false, values: values as FlagValues<F>, positionals, given };
}

/** What help says about exit statuses unless the command says more. */
const EXIT_STATUS =
  "Exit status: 0 done; 2 bad arguments or input (the message says what); 1 other failure.";
/** Help lines are wrapped to this many columns. */
const HELP_WIDTH = 100;
/** The built-in `--help`, as help lists it. */
const HELP_FLAG = booleanFlag("print this help and exit (runs nothing else)");

/** The usage lines (`usage: deno task eval …`). */
export function formatUsage<F extends FlagSet>(command: Command<F>): string {
  const invocation = command.invocation ?? `deno task ${command.name}`;
  const lines = command.usage ?? [defaultUsage(command)];
  return lines.map((l, i) => `${i === 0 ? "usage:" : "      "} ${invocation} ${l}`.trimEnd())
    .join("\n");
}

/** The full help: usage, summary, positionals, every flag with its default, epilog. */
export function formatHelp<F extends FlagSet>(command: Command<F>): string {
  const out = [formatUsage(command), "", ...wrap(command.summary.trim(), HELP_WIDTH)];
  if (command.positionals?.help) out.push("", "Arguments:", indent(command.positionals.help, 2));
  const entries: [string, string, Flag<unknown>][] = Object.entries(command.flags).map((
    [name, flag],
  ) => [
    `${flag.short ? `-${flag.short}, ` : ""}--${name}${
      flag.placeholder ? ` ${flag.placeholder}` : ""
    }`,
    name,
    flag,
  ]);
  entries.push(["-h, --help", "help", HELP_FLAG]);
  const width = Math.min(30, Math.max(...entries.map(([left]) => left.length))) + 2;
  const groups = [...new Set(entries.map(([, , f]) => f.group ?? "Options"))];
  for (const group of groups) {
    out.push("", `${group}:`);
    for (const [left, , flag] of entries.filter(([, , f]) => (f.group ?? "Options") === group)) {
      const text = wrap(`${flag.help}${describeDefault(flag)}`, HELP_WIDTH - width - 2);
      const head = `  ${left}`;
      if (head.length + 2 > width + 2) {
        out.push(head);
        out.push(...text.map((t) => " ".repeat(width + 2) + t));
      } else {
        out.push(head.padEnd(width + 2) + text[0]);
        out.push(...text.slice(1).map((t) => " ".repeat(width + 2) + t));
      }
    }
  }
  const epilog = typeof command.epilog === "function" ? command.epilog() : command.epilog;
  if (epilog) out.push("", epilog.trimEnd());
  out.push("", ...wrap(command.exitStatus ?? EXIT_STATUS, HELP_WIDTH));
  return out.join("\n");
}

/**
 * Parse the command line, print help or run the command, and return the exit status; every
 * error becomes one message on stderr (see the module doc for the statuses).
 */
export async function executeCommand<F extends FlagSet>(
  command: Command<F>,
  argv: readonly string[],
): Promise<number> {
  let parsed: CommandLine<F>;
  try {
    parsed = parseCommandLine(command, argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(usageMessage(command, e.message));
    return USAGE_ERROR;
  }
  if (parsed.help) {
    console.log(formatHelp(command));
    return 0;
  }
  try {
    return await command.run(parsed);
  } catch (e) {
    return reportError(command, e);
  }
}

/** {@linkcode executeCommand} on `Deno.args`, then exit with its status. */
export async function runCommand<F extends FlagSet>(command: Command<F>): Promise<never> {
  Deno.exit(await executeCommand(command, Deno.args));
}

/** Print an error a command threw; return its exit status. */
function reportError<F extends FlagSet>(command: Command<F>, e: unknown): number {
  const err = e instanceof Error ? e : new Error(String(e));
  if (err instanceof UsageError) {
    console.error(usageMessage(command, err.message));
    return USAGE_ERROR;
  }
  const usage = command.usageErrors;
  const isInput = typeof usage === "function"
    ? usage(err)
    : (usage ?? []).some((c) => err instanceof c);
  if (isInput) {
    console.error(`${command.name}: ${err.message}`);
    return USAGE_ERROR;
  }
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
    console.error(`${command.name}: internal error (please report): ${err.stack ?? err.message}`);
    return FAILURE;
  }
  console.error(`${command.name}: ${err.message}`);
  return FAILURE;
}

function usageMessage<F extends FlagSet>(command: Command<F>, message: string): string {
  const invocation = command.invocation ?? `deno task ${command.name}`;
  return `${command.name}: ${message}\n${formatUsage(command)}\n` +
    `(${invocation} --help lists every flag)`;
}

function unknownFlag(flag: string, names: string[]): string {
  const bare = flag.replace(/^-+/, "");
  const prefixed = names.filter((n) => n.startsWith(bare));
  const hint = closestName(bare, names) ?? (prefixed.length === 1 ? prefixed[0] : undefined);
  return `unknown flag ${flag}` + (hint ? `; did you mean --${hint}?` : "");
}

function defaultUsage<F extends FlagSet>(command: Command<F>): string {
  const required = Object.entries(command.flags).filter(([, f]) => f.required)
    .map(([n, f]) => `--${n} ${f.placeholder}`);
  return [command.positionals?.usage, ...required, "[options]"].filter(Boolean).join(" ");
}

function describeDefault(flag: Flag<unknown>): string {
  if (flag === HELP_FLAG) return "";
  if (flag.required) return " (required)";
  const parts = flag.repeatable ? ["repeatable"] : [];
  parts.push(`default: ${flag.defaultText ?? showValue(flag.default, flag.type)}`);
  return ` (${parts.join("; ")})`;
}

function showValue(v: unknown, type: FlagType): string {
  if (type === "boolean") return v ? "on" : "off";
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return "none";
  return Array.isArray(v) ? v.join(",") : String(v);
}

/** Break each line of `text` at spaces so that none is longer than `width` (if it can be). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    let cur = "";
    for (const word of line.split(" ")) {
      if (cur && cur.length + 1 + word.length > width) {
        out.push(cur);
        cur = word;
      } else cur = cur ? `${cur} ${word}` : word;
    }
    out.push(cur);
  }
  return out;
}

function indent(text: string, n: number): string {
  return text.split("\n").map((l) => " ".repeat(n) + l).join("\n");
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

function parseNumber(raw: string, integer: boolean, min?: number, max?: number): number {
  const kind = integer ? "an integer" : "a number";
  const range = min !== undefined && max !== undefined
    ? ` from ${min} to ${max}`
    : min !== undefined
    ? ` ≥ ${min}`
    : max !== undefined
    ? ` ≤ ${max}`
    : "";
  const n = NUMBER.test(raw.trim()) ? Number(raw) : NaN;
  if (
    !Number.isFinite(n) || (integer && !Number.isSafeInteger(n)) ||
    (min !== undefined && n < min) || (max !== undefined && n > max)
  ) {
    throw new FlagValueError(`${kind}${range}`);
  }
  return n;
}

function make<V>(
  type: FlagType,
  help: string,
  options: FlagOptions & { default?: unknown },
  placeholder: string,
  parse: (raw: string) => unknown,
): Flag<V> {
  return {
    type,
    help,
    placeholder: options.placeholder ?? placeholder,
    default: options.default as V,
    defaultText: options.defaultText,
    required: options.required ?? false,
    repeatable: false,
    short: options.short,
    group: options.group,
    parse,
  };
}
