/**
 * tunebook: curate data, fine-tune with LoRA, quantize to GGUF, evaluate and serve LLMs,
 * from Jupyter notebooks on the Deno kernel or from `deno task …`.
 *
 * This module is the public surface: it re-exports each module's `mod.ts` (lower layers first;
 * ARCHITECTURE.md is the map), and a new public file is exported from its module's `mod.ts`.
 * @module
 */
export * from "./util/mod.ts";
export * from "./hub/mod.ts";
export * from "./llm/mod.ts";
export * from "./gguf/mod.ts";
export * from "./data/mod.ts";
export * from "./eval/mod.ts";
export * from "./train/mod.ts";
export * from "./serve/mod.ts";
export * from "./plots/mod.ts";
export * from "./view/mod.ts";
export * from "./recipes/mod.ts";
export * from "./notebook/mod.ts";
