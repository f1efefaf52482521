/**
 * Fine-tuning: the validated config with defaults and presets ({@link ./config.ts}), training
 * rows from an eval task's split, the bridge that runs python/tunebook/finetune.py and streams
 * its JSON-line events, the plan a run resolves to before anything loads (--dry-run), how the
 * trainer is launched (one process, torchrun, accelerate), the Colab hand-off notebook, and
 * pulling artifacts back from the Hub.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trainConfigKeys } from "./mod.ts";
 * assert.ok(trainConfigKeys().some((k) => k.key === "lr"));
 * ```
 * @module
 */
export * from "./python.ts";
export * from "./config.ts";
export * from "./bridge.ts";
export * from "./plan.ts";
export * from "./launch.ts";
export * from "./data.ts";
export * from "./colab.ts";
export * from "./artifacts.ts";
