/**
 * `deno task view` — the local results viewer: a web page over results/eval and results/train
 * (runs, metrics with CIs, samples with filters, runs compared item by item, live training
 * curves), or with `--export DIR` a static copy of it that opens from disk.
 *
 *   deno task view                                   # http://127.0.0.1:8090, until Ctrl-C
 *   deno task view --results /other/results --port 0
 *   deno task view --export results/view-export --compare nb-base,nb-tuned
 *
 * The logic lives in `lib/view/`; this file only parses arguments and handles signals.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { CompareInputError } from "../eval/compare.ts";
import {
  DEFAULT_RESULTS,
  DEFAULT_VIEW_HOST,
  DEFAULT_VIEW_PORT,
  ExportTargetError,
  exportViewer,
  RunNotFoundError,
  startViewer,
} from "../view/mod.ts";
import {
  defineCommand,
  integerFlag,
  repeatedFlag,
  runCommand,
  stringFlag,
  UsageError,
} from "./_command.ts";

const MAX_PORT = 65535;

/** `deno task view`. */
export const command = defineCommand({
  name: "view",
  summary: "The local results viewer: a web page over RESULTS/eval/<run>/ (results.json, " +
    "samples.jsonl) and RESULTS/train/<run>/ (events.jsonl, config.json, artifacts) — runs, " +
    "per-task metrics with 95% CIs, accuracy by length, skipped items and row errors, samples " +
    "with filters and paging, runs compared on the same items (fixed and broken items, answers " +
    "side by side, paired Δ per task), and training curves that follow a running fine-tune. " +
    "Serves until SIGINT or SIGTERM; with --export it writes a static copy that opens from disk " +
    "and exits.",
  usage: ["[--results DIR] [--host ADDR] [--port N]", "--export DIR [--compare A,B[,C…]]..."],
  flags: {
    results: stringFlag("the results folder (holding eval/ and train/)", {
      placeholder: "DIR",
      default: DEFAULT_RESULTS,
    }),
    host: stringFlag("interface to listen on; 0.0.0.0 for every interface", {
      placeholder: "ADDR",
      defaultText: `${DEFAULT_VIEW_HOST} (this machine only)`,
    }),
    port: integerFlag("TCP port (0: any free port)", {
      min: 0,
      max: MAX_PORT,
      default: DEFAULT_VIEW_PORT,
    }),
    export: stringFlag("write a static copy of the viewer to DIR (open DIR/index.html) and exit", {
      placeholder: "DIR",
    }),
    compare: repeatedFlag(
      "with --export: also export this comparison (run folder names, the baseline first)",
      (raw) => {
        const ids = raw.split(",").map((s) => s.trim()).filter(Boolean);
        if (ids.length < 2) throw new Error("needs two or more run names, comma-separated");
        return ids;
      },
      { placeholder: "A,B[,C…]", defaultText: "the pairs RESULTS/notebooks/report.json compares" },
    ),
    "compare-resamples": integerFlag("bootstrap resamples of each comparison", {
      min: 1,
      default: 1000,
    }),
    "chunk-size": integerFlag("with --export: samples per data file", { min: 1, default: 2000 }),
  },
  exitStatus: "Exit status: 0 stopped by SIGINT/SIGTERM, or export written; 2 bad arguments " +
    "(a missing results folder, an unknown run, an export folder holding other files); 1 other " +
    "failure.",
  usageErrors: [RunNotFoundError, ExportTargetError, CompareInputError],
  run: async ({ values, given }) => {
    const results = values.results;
    if (!existsSync(results) || !statSync(results).isDirectory()) {
      throw new UsageError(
        `--results ${results}: no such folder; point it at the folder deno task eval and ` +
          `deno task finetune write (results/, holding eval/ and train/)`,
      );
    }
    const compare = { resamples: values["compare-resamples"] };
    if (values.export !== undefined) {
      for (const flag of ["host", "port"]) {
        if (given.has(flag)) throw new UsageError(`--${flag} has no effect with --export`);
      }
      const written = exportViewer(results, values.export, {
        compare: values.compare.length ? values.compare : undefined,
        chunkSize: values["chunk-size"],
        compareOptions: compare,
      });
      console.log(
        `wrote ${written.files} files (${(written.bytes / 1e6).toFixed(1)} MB) to ` +
          `${values.export}; open ${written.index} in a browser` +
          (written.comparisons.length
            ? ` (comparisons: ${written.comparisons.map((c) => c.join(" vs ")).join("; ")})`
            : ""),
      );
      return 0;
    }
    if (values.compare.length) throw new UsageError("--compare goes with --export");
    const viewer = startViewer({
      results,
      host: values.host ?? DEFAULT_VIEW_HOST,
      port: values.port,
      compare,
    });
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const stop = () => void viewer.shutdown().then(stopped);
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    console.error(`tunebook view: ${viewer.url} — results in ${results} (Ctrl-C stops)`);
    await done;
    return 0;
  },
});

if (import.meta.main) await runCommand(command);
