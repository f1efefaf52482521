/**
 * The Python process that runs a task's hooks (private to the task module):
 * `python -m tunebook.lm_eval_hooks`, one JSON request per line on its stdin and one answer per
 * line on its stdout (the protocol is described in python/tunebook/lm_eval_hooks.py). The process
 * runs in the working folder, as lm-eval's hooks do, with python/ on `PYTHONPATH`.
 * @module
 */
import { findPython, PYTHON_DIR } from "../../util/python.ts";

/** Most bytes of the process's stderr kept for error messages. */
const STDERR_TAIL_BYTES = 4000;

/** An answer of the hook process. */
export interface HookAnswer {
  /** Whether the request ran. */
  ok: boolean;
  /** What failed, when it did not. */
  error?: HookFailureInfo;
  /** `process_docs`: the rows. */
  rows?: unknown[];
  /** `map_docs`, `process_results`: one value or error per item. */
  values?: ({ value: unknown } | { error: { type: string; message: string; where: string } })[];
}

/** Why a request could not run (see python/tunebook/lm_eval_hooks.py). */
export interface HookFailureInfo {
  /** `import`, `no_module_file`, `no_function`, `module_error`, `exception`, `bad_result`, … */
  kind: string;
  /** Python's message. */
  message: string;
  /** For `import`: the module that could not be imported. */
  module?: string;
  /** The exception's type. */
  type?: string;
  /** `file:line in function` in the hook's files. */
  where?: string;
  /** For `no_function`: the module's functions. */
  available?: string[];
}

/** One running hook process. */
export class HookProcess {
  /** The interpreter it runs on. */
  readonly python: string;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  #stderr = "";
  #stderrDone: Promise<void>;
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(python: string, child: Deno.ChildProcess) {
    this.python = python;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = readLines(child.stdout)[Symbol.asyncIterator]();
    this.#stderrDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr = (this.#stderr + chunk).slice(-STDERR_TAIL_BYTES);
      }
    })();
  }

  /** Start the process with the interpreter `python` (default: TUNEBOOK_PYTHON, Debian's python3). */
  static async start(python?: string): Promise<HookProcess> {
    const interpreter = await findPython(python !== undefined ? { python } : {});
    const pythonPath = [PYTHON_DIR, Deno.env.get("PYTHONPATH")].filter(Boolean).join(":");
    const child = new Deno.Command(interpreter, {
      args: ["-m", "tunebook.lm_eval_hooks"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONPATH: pythonPath, PYTHONDONTWRITEBYTECODE: "1" },
    }).spawn();
    return new HookProcess(interpreter, child);
  }

  /** Send one request and wait for its answer (requests are answered in order). */
  request(op: Record<string, unknown>): Promise<HookAnswer> {
    const run = this.#queue.then(async () => {
      const id = this.#nextId++;
      const line = JSON.stringify({ id, ...op }, encodeForPython);
      await this.#writer.write(new TextEncoder().encode(line + "\n"));
      const next = await this.#lines.next();
      if (next.done) {
        await this.#stderrDone;
        throw new Error(
          `the Python hook runner (${this.python} -m tunebook.lm_eval_hooks) stopped: ${
            this.#stderr.trim().split("\n").slice(-5).join("\n") || "no message"
          }`,
        );
      }
      const answer = JSON.parse(next.value, reviveFloats) as HookAnswer & { id: number };
      if (answer.id !== id) throw new Error(`hook runner answered request ${answer.id}, not ${id}`);
      return answer;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Close stdin and wait for the process to end. */
  async close(): Promise<void> {
    await this.#queue;
    try {
      await this.#writer.close();
    } catch {
      // already closed
    }
    // drain what is left of stdout so the process can exit
    for (let n = await this.#lines.next(); !n.done; n = await this.#lines.next()) { /* discard */ }
    await this.#child.status;
    await this.#stderrDone;
  }
}

/** Values JSON cannot carry as such: NaN and infinities, big integers, dates. */
function encodeForPython(_key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    return { __float__: Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf" };
  }
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  return value;
}

/** JSON's stand-ins for what it cannot carry: `{"__float__": "nan"}` and `{"__tuple__": [...]}`. */
function reviveFloats(_key: string, value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "__float__") {
      const f = (value as { __float__: string }).__float__;
      return f === "nan" ? NaN : f === "inf" ? Infinity : -Infinity;
    }
    if (keys.length === 1 && keys[0] === "__tuple__") {
      return (value as { __tuple__: unknown[] }).__tuple__;
    }
  }
  return value;
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  }
  if (buffer) yield buffer;
}
