/**
 * Finding and running the Python side (the `tunebook` package in python/) from Deno, with errors
 * that name the fix when Python or a module is missing. Used by the trainer bridge (lib/train) and
 * by lm-eval task hooks (lib/eval/task).
 * @module
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** The folder holding the `tunebook` Python package. */
export const PYTHON_DIR: string = resolve(import.meta.dirname ?? ".", "../../python");

/** Options for {@linkcode findPython} and {@linkcode runPython}. */
export interface FindPythonOptions {
  /** Python modules that must import. Default: none (only that the interpreter runs). */
  modules?: string[];
  /** Interpreter to use. Default: env TUNEBOOK_PYTHON, else /usr/bin/python3 (Debian's, where python3-torch lives), else python3. */
  python?: string;
}

/**
 * The interpreter tunebook runs Python with: `TUNEBOOK_PYTHON`, else Debian's `/usr/bin/python3`,
 * else `python3` from PATH. Nothing is checked; see {@linkcode findPython}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pythonInterpreter } from "./python.ts";
 * assert.equal(pythonInterpreter({ python: "/opt/py/bin/python3" }), "/opt/py/bin/python3");
 * ```
 */
export function pythonInterpreter(options: Pick<FindPythonOptions, "python"> = {}): string {
  return options.python ?? Deno.env.get("TUNEBOOK_PYTHON") ??
    (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/**
 * The Python interpreter, checked to run and to import `modules`. A missing interpreter or module
 * throws an error saying how to install it.
 *
 * @example
 * ```ts ignore
 * const py = await findPython({ modules: ["torch"] });
 * ```
 */
export async function findPython(options: FindPythonOptions = {}): Promise<string> {
  const { modules = [] } = options;
  const python = pythonInterpreter(options);
  let out;
  try {
    out = await new Deno.Command(python, {
      args: ["-c", modules.length ? `import ${modules.join(", ")}` : "pass"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch {
    throw new Error(
      `Python not found at "${python}". Install Python 3 (Debian: apt-get install python3) or set ` +
        `TUNEBOOK_PYTHON to an interpreter; \`deno task setup\` installs everything tunebook needs.`,
    );
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    const missing = err.match(/No module named '([^']+)'/)?.[1];
    throw new Error(
      missing
        ? `${python} cannot import ${missing}. Run \`deno task setup\` (installs python3-${missing} with apt-get), ` +
          `or set TUNEBOOK_PYTHON to a Python that has it.`
        : `${python} failed to import ${modules.join(", ")}: ${err.trim().split("\n").pop()}`,
    );
  }
  return python;
}

/** Result of {@linkcode runPython}. */
export interface PythonResult {
  stdout: string;
  stderr: string;
}

/**
 * Run `python -m tunebook.<module> args…` in python/, throwing with its stderr on failure.
 *
 * @example
 * ```ts ignore
 * const { stdout } = await runPython("reference_logits", ["data/models/tiny", "7 plus 5 is"]);
 * ```
 */
export async function runPython(
  module: string,
  args: string[],
  options: FindPythonOptions = {},
): Promise<PythonResult> {
  const python = await findPython(options);
  const out = await new Deno.Command(python, {
    args: ["-m", `tunebook.${module}`, ...args],
    cwd: PYTHON_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    const last = stderr.trim().split("\n").slice(-3).join("\n");
    throw new Error(`python -m tunebook.${module} failed (exit ${out.code}):\n${last}`);
  }
  return { stdout, stderr };
}
