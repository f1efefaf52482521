/**
 * The trainer's view of the Python side: {@linkcode findPython} and {@linkcode runPython} of
 * lib/util/python.ts, requiring what the trainer imports (torch, numpy, sentencepiece) unless told
 * otherwise.
 * @module
 */
import {
  findPython as findAnyPython,
  type FindPythonOptions,
  PYTHON_DIR,
  type PythonResult,
  runPython as runAnyPython,
} from "../util/python.ts";

export { type FindPythonOptions, PYTHON_DIR, type PythonResult };

/** What the trainer imports; checked unless `modules` says otherwise. */
const DEFAULT_MODULES = ["torch", "numpy", "sentencepiece"];

/**
 * The Python interpreter to run the bridge with, checked to import `modules` (default: torch,
 * numpy, sentencepiece).
 *
 * @example
 * ```ts ignore
 * const py = await findPython();
 * ```
 */
export function findPython(options: FindPythonOptions = {}): Promise<string> {
  return findAnyPython({ ...options, modules: options.modules ?? DEFAULT_MODULES });
}

/**
 * Run `python -m tunebook.<module> args…` in python/ with an interpreter that has the trainer's
 * modules, throwing with its stderr on failure.
 *
 * @example
 * ```ts ignore
 * const { stdout } = await runPython("reference_logits", ["data/models/tiny", "7 plus 5 is"]);
 * ```
 */
export function runPython(
  module: string,
  args: string[],
  options: FindPythonOptions = {},
): Promise<PythonResult> {
  return runAnyPython(module, args, { ...options, modules: options.modules ?? DEFAULT_MODULES });
}
