/**
 * Pulling fine-tuning artifacts back from the Hugging Face Hub (pushed there by the Colab
 * notebook) into a local run folder, through lib/hub and the standard cache.
 * @module
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { downloadFile, HubError, type HubOptions } from "../hub/mod.ts";

/** What the Colab notebook uploads (out/ minus checkpoints). */
export const ARTIFACT_FILES: readonly string[] = [
  "adapter/adapter_config.json",
  "adapter/adapter_model.safetensors",
  "lora.gguf",
  "events.jsonl",
  "config.json",
];

/** Options for {@linkcode pullArtifacts}. */
export interface PullOptions extends HubOptions {
  /** Files to fetch. Default: {@linkcode ARTIFACT_FILES}. */
  files?: readonly string[];
  /** Files that may be missing without an error. Default: events.jsonl and config.json. */
  optional?: readonly string[];
}

/**
 * Download a run's artifacts from a Hub model repo into `outDir`; returns the local paths.
 *
 * @example
 * ```ts ignore
 * const paths = await pullArtifacts("me/tiny-lora", "results/train/colab-run");
 * ```
 */
export async function pullArtifacts(
  repo: string,
  outDir: string,
  options: PullOptions = {},
): Promise<string[]> {
  const { files = ARTIFACT_FILES, optional = ["events.jsonl", "config.json"], ...hub } = options;
  const out: string[] = [];
  for (const file of files) {
    let cached: string;
    try {
      cached = await downloadFile(repo, file, { ...hub, repoType: "model" });
    } catch (e) {
      if (e instanceof HubError && e.kind === "file_not_found" && optional.includes(file)) continue;
      throw e;
    }
    const target = join(outDir, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(cached, target);
    out.push(target);
  }
  return out;
}
