/**
 * Finding and running the Python side (python/tunebook) from Deno, with errors that
 * name the fix when Python or torch is missing.
 * @module
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** The folder holding the `tunebook` Python package. */
export const PYTHON_DIR: string = resolve(import.meta.dirname ?? ".", "../../python");

/** Options for {@linkcode findPython}. */
export interface FindPythonOptions {
  /** Python modules that must import. Default: ["torch", "numpy", "sentencepiece"]. */
  modules?: string[];
  /** Interpreter to use. Default: env TUNEBOOK_PYTHON, else /usr/bin/python3 (Debian's, where python3-torch lives), else python3. */
  python?: string;
}

const DEFAULT_MODULES = ["torch", "numpy", "sentencepiece"];

/**
 * The Python interpreter to run the bridge with, checked to import `modules`.
 *
 * @example
 * ```ts ignore
 * const py = await findPython();
 * ```
 */
export async function findPython(options: FindPythonOptions = {}): Promise<string> {
  const { modules = DEFAULT_MODULES } = options;
  const python = options.python ?? Deno.env.get("TUNEBOOK_PYTHON") ??
    (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  let out;
  try {
    out = await new Deno.Command(python, {
      args: ["-c", `import ${modules.join(", ")}`],
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
