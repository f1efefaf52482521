/**
 * LoRA adapter specs as users write them: `FILE[:SCALE]` (`deno task eval --lora`) and
 * `NAME=FILE[:SCALE]` (`deno task serve --adapter`), parsed by one set of rules:
 *
 * - The text after the last `:` is the scale when it is a number (`a.gguf:0.5`, `a.gguf:-1`,
 *   `a.gguf:2e-1`); without a `:` the scale is 1.
 * - When it is not a number, it is still part of the file name if it holds a `/` or ends in
 *   `.gguf` (`runs:v2/a.gguf`); anything else (`a.gguf:abc`, `a.gguf:`) is an error that says
 *   how to write the spec, never a file name that silently includes the typo.
 *
 * {@linkcode checkLoraFile} says "not found" with the path for a file that is not there, before
 * llama.cpp is asked to load it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLoraSpec, parseNamedLoraSpec } from "./lora_spec.ts";
 * assert.deepEqual(parseLoraSpec("out/a.gguf:0.5"), { path: "out/a.gguf", scale: 0.5 });
 * assert.deepEqual(parseLoraSpec("out/a.gguf"), { path: "out/a.gguf", scale: 1 });
 * assert.deepEqual(parseNamedLoraSpec("arith=a.gguf:2"), { name: "arith", path: "a.gguf", scale: 2 });
 * assert.throws(() => parseLoraSpec("a.gguf:abc"), /scale "abc" is not a number/);
 * ```
 * @module
 */
import { existsSync, statSync } from "node:fs";

/** A LoRA adapter file and the scale it is applied with. */
export interface LoraSpec {
  /** GGUF LoRA adapter file. */
  path: string;
  /** Scale of the adapter's update. Default: 1. */
  scale: number;
}

/** A named LoRA adapter (the server serves it as `<base>+<name>`). */
export interface NamedLoraSpec extends LoraSpec {
  /** Adapter name: letters, digits and `. _ : + -`. */
  name: string;
}

/** A spec that does not follow `FILE[:SCALE]` / `NAME=FILE[:SCALE]`; the message says how to write it. */
export class LoraSpecError extends Error {
  /** Create with the message shown to the user. */
  constructor(message: string) {
    super(message);
    this.name = "LoraSpecError";
  }
}

/** A scale as users write it: a decimal or exponent number, optionally signed. */
const SCALE = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
/** Characters allowed in an adapter name (it becomes part of a served model name). */
const ADAPTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._:+-]*$/;
/** The default scale. */
const DEFAULT_SCALE = 1;

/**
 * Parse `FILE[:SCALE]`. Throws {@linkcode LoraSpecError} for an empty file name or a scale that
 * is not a finite number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLoraSpec } from "./lora_spec.ts";
 * assert.deepEqual(parseLoraSpec("a.gguf:-0.5"), { path: "a.gguf", scale: -0.5 });
 * assert.deepEqual(parseLoraSpec("runs:v2/a.gguf"), { path: "runs:v2/a.gguf", scale: 1 });
 * assert.throws(() => parseLoraSpec("a.gguf:"), /scale "" is not a number/);
 * ```
 */
export function parseLoraSpec(spec: string): LoraSpec {
  const usage = "write FILE.gguf or FILE.gguf:SCALE, e.g. adapter.gguf:0.5";
  let path = spec;
  let scale = DEFAULT_SCALE;
  const colon = spec.lastIndexOf(":");
  if (colon >= 0) {
    const tail = spec.slice(colon + 1);
    if (SCALE.test(tail)) {
      scale = Number(tail);
      path = spec.slice(0, colon);
    } else if (!tail.includes("/") && !/\.gguf$/i.test(tail)) {
      throw new LoraSpecError(`the scale "${tail}" is not a number; ${usage}`);
    }
  }
  if (!Number.isFinite(scale)) throw new LoraSpecError(`the scale is not finite; ${usage}`);
  if (path === "") throw new LoraSpecError(`no adapter file given; ${usage}`);
  return { path, scale };
}

/**
 * Parse `NAME=FILE[:SCALE]` (the file part as {@linkcode parseLoraSpec}). Throws
 * {@linkcode LoraSpecError} without a name, without a file, or for a name with characters a
 * model name cannot hold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNamedLoraSpec } from "./lora_spec.ts";
 * assert.deepEqual(parseNamedLoraSpec("lora-arith=out/arith.gguf:0.5"), {
 *   name: "lora-arith",
 *   path: "out/arith.gguf",
 *   scale: 0.5,
 * });
 * assert.throws(() => parseNamedLoraSpec("arith.gguf"), /NAME=FILE/);
 * ```
 */
export function parseNamedLoraSpec(spec: string): NamedLoraSpec {
  const usage = "write NAME=FILE.gguf[:SCALE], e.g. lora-arith=adapter.gguf:1";
  const eq = spec.indexOf("=");
  if (eq <= 0 || eq === spec.length - 1) {
    throw new LoraSpecError(`expected NAME=FILE.gguf[:SCALE]; ${usage}`);
  }
  const name = spec.slice(0, eq);
  if (!ADAPTER_NAME.test(name)) {
    throw new LoraSpecError(`the name "${name}" may hold letters, digits and . _ : + - only`);
  }
  return { name, ...parseLoraSpec(spec.slice(eq + 1)) };
}

/**
 * Throw {@linkcode LoraSpecError} unless `path` is an existing file: "<path>: LoRA adapter not
 * found" (or "is a directory"), with what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLoraFile } from "./lora_spec.ts";
 * assert.throws(() => checkLoraFile("/nonexistent/a.gguf"), /a\.gguf: LoRA adapter not found/);
 * ```
 */
export function checkLoraFile(path: string): void {
  if (!existsSync(path)) {
    throw new LoraSpecError(
      `${path}: LoRA adapter not found; check the path (a GGUF LoRA adapter, e.g. the ` +
        `lora.gguf that deno task finetune writes under results/train/<run>/)`,
    );
  }
  if (statSync(path).isDirectory()) {
    throw new LoraSpecError(
      `${path}: is a directory, not a GGUF LoRA adapter file (a PEFT adapter folder must be ` +
        `converted first: deno task finetune exports lora.gguf next to it)`,
    );
  }
}
