import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { colabNotebook } from "../../lib/train/colab.ts";
import { PRESETS, resolveTrainConfig, TrainConfigError } from "../../lib/train/config.ts";
import { findPython } from "../../lib/train/python.ts";

const paths = { train_file: "t.jsonl", output_dir: "out" };

Deno.test("presets resolve to complete, valid configs", () => {
  for (const preset of Object.keys(PRESETS)) {
    const cfg = resolveTrainConfig({ preset, overrides: { ...paths, base_model: "m" } });
    assert.equal(cfg.train_file, "t.jsonl");
  }
  const tiny = resolveTrainConfig({ preset: "tiny-cpu", overrides: paths });
  assert.equal(tiny.backend, "torch");
  assert.equal(tiny.base_model, "data/models/tiny");
  const t4 = resolveTrainConfig({ preset: "colab-t4", overrides: { ...paths, base_model: "x/y" } });
  assert.deepEqual([t4.precision, t4.load_in_4bit, t4.gradient_checkpointing], [
    "fp16",
    true,
    true,
  ]);
  const lora = resolveTrainConfig({ overrides: { ...paths, lora: { r: 4 } } }).lora;
  assert.equal(lora.r, 4);
  assert.equal(lora.alpha, 16, "lora overrides merge with the preset");
});

Deno.test("invalid configs name every bad field", () => {
  assert.throws(
    () => resolveTrainConfig({ preset: "nope" }),
    /preset "nope" is unknown; use one of tiny-cpu/,
  );
  assert.throws(
    () => resolveTrainConfig({ overrides: { ...paths, learning_rate: 1, lr: -1 } }),
    (e: unknown) => {
      assert.ok(e instanceof TrainConfigError);
      assert.match(e.message, /learning_rate/);
      assert.match(e.message, /^ {2}- lr: /m);
      return true;
    },
  );
  assert.throws(() => resolveTrainConfig({ overrides: { ...paths, lora: { r: 0 } } }), /lora\.r:/);
  assert.throws(() => resolveTrainConfig({ overrides: { output_dir: "o" } }), /train_file:/);
});

Deno.test("the Colab notebook is valid nbformat 4, targets a T4 and carries the config and trainer", async () => {
  const cfg = resolveTrainConfig({
    preset: "colab-t4",
    overrides: {
      base_model: "mistralai/Mistral-7B-v0.1",
      train_file: "rows.jsonl",
      output_dir: "o",
    },
  });
  const nb = colabNotebook(cfg, { pushTo: "me/adapter" });
  assert.equal(nb.metadata.kernelspec.name, "python3");
  assert.equal(nb.metadata.colab.gpuType, "T4");
  assert.equal(nb.metadata.tunebook.config.base_model, "mistralai/Mistral-7B-v0.1");
  const text = nb.cells.map((c) => c.source.join("")).join("\n");
  assert.match(text, /tunebook\.finetune config\.json/);
  assert.match(text, /convert_lora_to_gguf\.py/);
  assert.match(text, /upload_folder/);
  const dir = mkdtempSync(join(tmpdir(), "tunebook-colab-"));
  const path = join(dir, "colab.ipynb");
  writeFileSync(path, JSON.stringify(nb));
  const python = await findPython({ modules: ["nbformat"] });
  const out = await new Deno.Command(python, {
    args: [
      "-c",
      "import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4)); print('ok')",
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
});

Deno.test("a missing Python or torch is reported with the fix", async () => {
  await assert.rejects(
    findPython({ python: "/nonexistent/python3" }),
    /Python not found.*deno task setup/s,
  );
  const dir = mkdtempSync(join(tmpdir(), "tunebook-py-"));
  const fake = join(dir, "python3");
  writeFileSync(
    fake,
    `#!/bin/sh\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`,
    { mode: 0o755 },
  );
  await assert.rejects(
    findPython({ python: fake }),
    /cannot import torch.*deno task setup.*python3-torch/s,
  );
});
