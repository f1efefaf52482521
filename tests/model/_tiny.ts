/** Shared helpers for tests that need the bundled tiny model. */
import { resolve } from "node:path";

/** The tiny model's folder (TUNEBOOK_TINY_DIR overrides it while developing). */
export const TINY_DIR = resolve(Deno.env.get("TUNEBOOK_TINY_DIR") ?? "data/models/tiny");
/** Its f32 GGUF. */
export const TINY_GGUF = resolve(TINY_DIR, "tiny-f32.gguf");
/** The 256-wide bundled model's folder (data/models/tiny-256) and its f32 GGUF. */
export const TINY_256_DIR = resolve("data/models/tiny-256");
/** Its f32 GGUF. */
export const TINY_256_GGUF = resolve(TINY_256_DIR, "tiny-256-f32.gguf");
/** Threads for tests: one, so the JavaScript side keeps a core of CI's two (no oversubscription). */
export const TEST_THREADS = 1;
