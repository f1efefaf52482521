/**
 * Pulling fine-tuning artifacts back from the Hugging Face Hub (pushed there by the Colab
 * notebook) into a local run folder, through lib/hub and the standard cache. The notebook pushes a
 * manifest, `tunebook_run.json` (python/tunebook/colab.py `run_files`), that lists its files and
 * names the GGUFs; a repo without one gets {@linkcode ARTIFACT_FILES}.
 * @module
 */
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { downloadFile, HubError, type HubOptions } from "../hub/mod.ts";

/** The manifest the Colab notebook pushes with the run. */
export const RUN_MANIFEST = "tunebook_run.json";

/** What an older notebook uploaded (before the manifest): out/ minus checkpoints. */
export const ARTIFACT_FILES: readonly string[] = [
  "adapter/adapter_config.json",
  "adapter/adapter_model.safetensors",
  "lora.gguf",
  "events.jsonl",
  "config.json",
];

/** `tunebook_run.json`: what the notebook pushed. */
export interface RunManifest {
  /** Manifest format version (1). */
  format: number;
  /** The base model trained on (Hub id or folder). */
  base_model: string;
  /** Every file pushed, relative to the repo root (the manifest included). */
  files: string[];
  /** The GGUFs by role: `lora` (GGUF LoRA), `merged` (f16), `quantized`. */
  gguf: { lora?: string; merged?: string; quantized?: string };
  /** The quantization type of `gguf.quantized`, e.g. "q4_k_m". */
  quant?: string | null;
  /** The eval task trained on, when the run came from one. */
  task?: string | null;
}

/** Options for {@linkcode pullArtifacts}. */
export interface PullOptions extends HubOptions {
  /** Files to fetch. Default: the repo's manifest's files, else {@linkcode ARTIFACT_FILES}. */
  files?: readonly string[];
  /** Files that may be missing without an error. Default: events.jsonl and config.json. */
  optional?: readonly string[];
}

/** What {@linkcode pullArtifacts} brought back. */
export interface PulledRun {
  /** Local paths written, in order. */
  paths: string[];
  /** The repo's manifest, when it has one. */
  manifest?: RunManifest;
}

/**
 * Download a run's artifacts from a Hub model repo into `outDir`.
 *
 * @example
 * ```ts ignore
 * const { paths, manifest } = await pullArtifacts("me/tiny-lora", "results/train/colab-run");
 * ```
 */
export async function pullArtifacts(
  repo: string,
  outDir: string,
  options: PullOptions = {},
): Promise<PulledRun> {
  const { files, optional = ["events.jsonl", "config.json"], ...hub } = options;
  const fetchOne = async (file: string): Promise<string | undefined> => {
    let cached: string;
    try {
      cached = await downloadFile(repo, file, { ...hub, repoType: "model" });
    } catch (e) {
      if (e instanceof HubError && e.kind === "file_not_found" && optional.includes(file)) {
        return undefined;
      }
      throw e;
    }
    const target = join(outDir, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(cached, target);
    return target;
  };
  let manifest: RunManifest | undefined;
  if (!files) {
    const path = await fetchOne(RUN_MANIFEST).catch((e) => {
      if (e instanceof HubError && e.kind === "file_not_found") return undefined;
      throw e;
    });
    if (path) manifest = JSON.parse(readFileSync(path, "utf8")) as RunManifest;
  }
  const paths: string[] = [];
  for (const file of files ?? manifest?.files ?? ARTIFACT_FILES) {
    if (file === RUN_MANIFEST && manifest) {
      paths.push(join(outDir, file));
      continue;
    }
    const target = await fetchOne(file);
    if (target) paths.push(target);
  }
  return { paths, manifest };
}

/**
 * The `deno task eval` command that evaluates a pulled run's quantized GGUF, from its manifest
 * (undefined without one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalCommand } from "./artifacts.ts";
 * const m = { format: 1, base_model: "b", files: [], gguf: { quantized: "r-q4_k_m.gguf" }, task: "synth_qa" };
 * assert.equal(evalCommand("results/train/me--r", m), "deno task eval --model results/train/me--r/r-q4_k_m.gguf --tasks synth_qa");
 * ```
 */
export function evalCommand(outDir: string, manifest?: RunManifest): string | undefined {
  const model = manifest?.gguf.quantized ?? manifest?.gguf.merged;
  if (!model) return undefined;
  return `deno task eval --model ${join(outDir, model)} --tasks ${manifest?.task || "<task>"}`;
}
