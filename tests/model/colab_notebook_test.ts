/**
 * The generated Colab notebook, executed top to bottom with a Python kernel (nbclient, as
 * `deno task notebooks` runs the Deno ones) against the bundled tiny model and the fake Hub of
 * tests/unit/_fake_hub.ts, with environment settings standing in for Colab's services
 * (python/tunebook/colab.py's header): HF_TOKEN for the Colab secret, TUNEBOOK_DRIVE_DIR for the
 * mounted Drive, TUNEBOOK_TRAIN_FILE for the upload, TUNEBOOK_LLAMA_CPP / TUNEBOOK_LIBLLAMA for the
 * clone and build of llama.cpp at the pinned tag (here: the bundled source and node-llama-cpp's
 * prebuilt libllama of that release). transformers, peft and huggingface_hub do not install here:
 * the stand-ins of tests/python/stand_ins and stand_ins_hub take their place (same call protocol), so the trainer
 * runs its `hf` backend over tunebook's torch model.
 *
 * First run: the trainer is killed right after its step-2 checkpoint (a disconnect). Second run, in
 * a fresh folder (a new runtime) with the same Drive: it resumes from step 2, finishes, exports
 * lora.gguf, the merged f16 GGUF and q4_k_m with their cards, generates samples and pushes to a
 * private repo. Then `deno task hub:pull` and the `deno task eval` command it prints.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { findLibllama } from "../../lib/llm/_libllama_path.ts";
import { runNotebooks } from "../../lib/notebook/run_notebooks.ts";
import { findPython } from "../../lib/train/python.ts";
import { startFakeHub, TOKEN, USER, WRITE_TOKEN } from "../unit/_fake_hub.ts";

const ROOT = resolve(import.meta.dirname!, "..", "..");
const RUN = "colab-ci";
const REPO = `${USER}/${RUN}`;

async function deno(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `deno run ${args.join(" ")} failed:\n${text}`);
  return text;
}

function events(path: string): Record<string, unknown>[] {
  return readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

Deno.test({
  name:
    "the Colab notebook runs top to bottom, resumes after a disconnect, pushes; hub:pull + eval",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const python = await findPython({ modules: ["nbclient", "ipykernel", "torch"] });
  const tmp = mkdtempSync(join(tmpdir(), "tunebook-colab-ci-"));
  const hub = startFakeHub({});
  try {
    // deno task finetune --colab, from a folder of its own (results/train/colab-ci/ there)
    const said = await deno([
      join(ROOT, "lib/cli/finetune.ts"),
      "--task",
      "synth_qa",
      "--base",
      join(ROOT, "data/models/tiny"),
      "--run",
      RUN,
      "--set",
      "max_steps=4",
      "--set",
      "save_every=2",
      "--set",
      "eval_every=2",
      "--set",
      "batch_size=4",
      "--colab",
      "--push-to",
      REPO,
    ], tmp);
    assert.match(said, new RegExp(`hub:pull ${REPO}`));
    const runDir = join(tmp, "results", "train", RUN);
    const drive = join(tmp, "drive");
    const env = {
      HF_ENDPOINT: hub.url,
      HF_TOKEN: WRITE_TOKEN,
      HF_HUB_CACHE: join(tmp, "hf-colab"),
      TUNEBOOK_DRIVE_DIR: drive,
      TUNEBOOK_TRAIN_FILE: join(runDir, "data", "task-train.jsonl"),
      TUNEBOOK_VAL_FILE: join(runDir, "data", "task-validation.jsonl"),
      TUNEBOOK_LLAMA_CPP: join(ROOT, ".cache", "llama.cpp"),
      TUNEBOOK_LIBLLAMA: findLibllama(),
      TUNEBOOK_SKIP_INSTALL: "1",
      PYTHONPATH: [
        join(ROOT, "tests/python/stand_ins"),
        join(ROOT, "tests/python/stand_ins_hub"),
      ].join(":"),
    };
    const runtime = (name: string) => {
      const dir = join(tmp, name);
      mkdirSync(dir);
      copyFileSync(join(runDir, "colab.ipynb"), join(dir, "colab.ipynb"));
      return join(dir, "colab.ipynb");
    };
    const out = join(drive, "tunebook", RUN);

    // 1. A runtime that disconnects: the trainer dies after its step-2 checkpoint is in place.
    const [first] = await runNotebooks([runtime("runtime-1")], {
      kernel: "python3",
      html: false,
      python,
      cellTimeout: 300,
      outDir: join(tmp, "executed-1"),
      env: { ...env, TUNEBOOK_FAULT: "checkpoint.renamed@2" },
    });
    assert.equal(first.status, "failed");
    assert.match(first.error ?? "", /trainer exited with status -9/);
    assert.ok(existsSync(join(out, "checkpoints", "step-2")), "the checkpoint is on Drive");

    // 2. A new runtime (fresh folder, same Drive): Run all again.
    const [second] = await runNotebooks([runtime("runtime-2")], {
      kernel: "python3",
      html: false,
      python,
      cellTimeout: 300,
      outDir: join(tmp, "executed-2"),
      env,
    });
    assert.ok(second.ok, `the notebook failed:\n${second.error}`);
    const log = events(join(out, "events.jsonl"));
    const kinds = log.map((e) => e.event);
    assert.ok(kinds.includes("resume"), "it resumed from the Drive checkpoint");
    assert.deepEqual(log.filter((e) => e.event === "step").map((e) => e.step), [1, 2, 3, 4]);
    assert.equal(kinds.at(-1), "done");
    const executed = JSON.parse(readFileSync(second.executed!, "utf8")) as {
      cells: {
        source: string[];
        outputs?: { text?: string[]; data?: Record<string, unknown> }[];
      }[];
    };
    const shown = executed.cells.map((c) =>
      (c.outputs ?? []).map((o) => (o.text ?? []).join("") + JSON.stringify(o.data ?? "")).join("")
    ).join("\n");
    assert.match(shown, /Hub: logged in as tester \(token from the environment variable HF_TOKEN/);
    assert.match(shown, /resuming from step 2/);
    assert.match(shown, /step 4\/4 .*loss \d/, "the progress line");
    assert.match(shown, /pushed \d+ files to .* \(private\)/);

    // What the notebook pushed: private, with the manifest, every GGUF and its card.
    const manifest = JSON.parse(readFileSync(join(out, "tunebook_run.json"), "utf8"));
    assert.deepEqual(manifest.gguf, {
      lora: "lora.gguf",
      merged: `${RUN}-f16.gguf`,
      quantized: `${RUN}-q4_k_m.gguf`,
    });
    // The exports are on the runtime's disk (not Drive), a card next to each GGUF.
    const exported = join(tmp, "runtime-2", "export", RUN);
    assert.ok(!existsSync(join(out, `${RUN}-f16.gguf`)));
    const card = JSON.parse(readFileSync(join(exported, `${RUN}-q4_k_m.gguf.json`), "utf8"));
    assert.equal(card.file_type, "Q4_K_M");
    assert.equal(card.source_sha256, sha256(join(exported, `${RUN}-f16.gguf`)));
    assert.equal(
      card.fallbacks.length,
      29,
      "the tiny model's 64-wide rows fall back, as quantize says",
    );
    const loraCard = JSON.parse(readFileSync(join(exported, "lora.gguf.json"), "utf8"));
    assert.equal(loraCard.general_type, "adapter");
    const samples = JSON.parse(readFileSync(join(out, "samples.json"), "utf8"));
    assert.equal(samples.length, 3);

    // 3. At home: hub:pull (a private repo: anonymous is refused), then the eval command it prints.
    const home = join(tmp, "home");
    mkdirSync(home);
    const homeEnv = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(tmp, "hf-home") };
    const refused = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "lib/cli/hub_pull.ts"), REPO],
      cwd: home,
      env: { ...homeEnv, HF_TOKEN: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(!refused.success, "the repo is private");
    const pulled = await deno([join(ROOT, "lib/cli/hub_pull.ts"), REPO], home, {
      ...homeEnv,
      HF_TOKEN: TOKEN,
    });
    const evalLine = /deno task eval (.+)/.exec(pulled)?.[1];
    assert.ok(evalLine, pulled);
    const pulledDir = join(home, "results", "train", REPO.replace("/", "--"));
    assert.equal(sha256(join(pulledDir, `${RUN}-q4_k_m.gguf`)), card.sha256);
    assert.match(evalLine, /--tasks synth_qa/);
    await deno([join(ROOT, "lib/cli/eval.ts"), ...evalLine.split(" "), "--limit", "4"], home);
    const evalRuns = join(home, "results", "eval");
    const found = [...Deno.readDirSync(evalRuns)].map((d) =>
      join(evalRuns, d.name, "results.json")
    );
    assert.equal(found.length, 1);
    const results = JSON.parse(readFileSync(found[0], "utf8"));
    assert.equal(results.model.sha256, card.sha256, "eval scored the pushed q4_k_m");
    assert.ok(results.tasks.synth_qa, "synth_qa was scored");
  } finally {
    await hub.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
