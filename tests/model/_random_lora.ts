/**
 * A random GGUF LoRA adapter for a base GGUF, shaped as tunebook's trainer adapts by default (every
 * block's q/k/v/o and gate/up/down weights, r 8, alpha 16), and the base with it merged, written by
 * python/tunebook/random_lora.py. Never committed: written once into a cache folder (the system
 * temp dir unless told), named by a hash of the writer, the base file and the settings, so tests
 * and benchmarks of one run (and later runs) share the pair and a changed writer or base makes a
 * new one.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { runTunebookModule } from "./_random_models.ts";

const WRITER = resolve("python/tunebook/random_lora.py");

/** Options for {@linkcode randomLoraPair}. */
export interface RandomLoraPairOptions {
  /** LoRA rank. Default: 8 (the trainer's default). */
  rank?: number;
  /** LoRA alpha. Default: 16 (the trainer's default). */
  alpha?: number;
  /** Standard deviation of A's and B's entries. Default: 0.05. */
  std?: number;
  /** Random seed. Default: 0. */
  seed?: number;
  /** Folder the files are cached in. Default: `tunebook-random-lora` under the system temp dir. */
  cacheDir?: string;
}

/** An adapter and the same weights merged into its base. */
export interface RandomLoraPair {
  /** The GGUF LoRA adapter (apply it on the base). */
  lora: string;
  /** The base GGUF with the adapter merged into its weights. */
  merged: string;
}

/** The adapter and merged model for `base`, written first when the cache does not hold them. */
export async function randomLoraPair(
  base: string,
  options: RandomLoraPairOptions = {},
): Promise<RandomLoraPair> {
  const { rank = 8, alpha = 16, std = 0.05, seed = 0 } = options;
  const args = ["--rank", String(rank), "--alpha", String(alpha), "--std", String(std)];
  args.push("--seed", String(seed));
  const st = statSync(base);
  const key = createHash("sha256")
    .update(readFileSync(WRITER))
    .update(JSON.stringify({ base: resolve(base), size: st.size, mtime: st.mtimeMs, args }))
    .digest("hex")
    .slice(0, 16);
  const cache = options.cacheDir ?? join(tmpdir(), "tunebook-random-lora");
  mkdirSync(cache, { recursive: true });
  const stem = join(cache, `${basename(base, ".gguf")}-r${rank}-${key}`);
  const pair = { lora: `${stem}-lora.gguf`, merged: `${stem}-merged.gguf` };
  if (existsSync(pair.lora) && existsSync(pair.merged)) return pair;
  // Written under temporary names and renamed, so an interrupted write is never taken as done.
  const partial = { lora: `${pair.lora}.partial`, merged: `${pair.merged}.partial` };
  await runTunebookModule(
    "random_lora",
    [resolve(base), partial.lora, partial.merged, ...args],
    base,
  );
  renameSync(partial.lora, pair.lora);
  renameSync(partial.merged, pair.merged);
  return pair;
}
