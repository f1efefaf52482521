import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { readFileSync } from "node:fs";
import { COLAB_PY_FILES, colabNotebook } from "../../lib/train/colab.ts";
import { PRESETS, resolveTrainConfig, TrainConfigError } from "../../lib/train/config.ts";
import { findPython, PYTHON_DIR } from "../../lib/train/python.ts";

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
  const code = nb.cells.filter((c) => c.cell_type === "code").map((c) => c.source.join(""));
  const at = (re: RegExp) => code.findIndex((c) => re.test(c));
  // The token is checked before the run folder, the data, training and the push use it.
  assert.ok(at(/tb\.hub_login\(BASE, PUSH_TO, PRIVATE\)/) > 0);
  assert.ok(at(/tb\.hub_login/) < at(/tb\.run_folder/));
  assert.ok(at(/tb\.run_folder/) < at(/tb\.train\(CONFIG, OUT\)/));
  assert.ok(at(/tb\.train\(/) < at(/tb\.export_outputs/));
  assert.ok(at(/tb\.export_outputs/) < at(/tb\.samples/));
  assert.ok(at(/tb\.samples/) < at(/tb\.push\(/));
  assert.match(code[0], /PRIVATE = True/, "private unless told otherwise");
  assert.match(code[0], /QUANT = "q4_k_m"/);
  // llama.cpp at the bundled tag, checked by the fingerprint of the bundled source
  const pin = JSON.parse(
    readFileSync(
      resolve(PYTHON_DIR, "../node_modules/node-llama-cpp/llama/llama.cpp.info.json"),
      "utf8",
    ),
  );
  assert.match(code[0], new RegExp(`LLAMA_CPP_TAG = "${pin.tag}"`));
  assert.match(code[0], /"include\/llama\.h": "[0-9a-f]{64}"/);
  // pinned installs: every requirement has an exact version
  const reqs = readFileSync(join(PYTHON_DIR, "requirements-colab.txt"), "utf8").split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"));
  assert.ok(reqs.length >= 6);
  for (const r of reqs) assert.match(r, /^[\w-]+==[\d.]+(;.*)?$/, r);
  assert.throws(() => colabNotebook(cfg, { quant: "q3_k_xl" }), /quant "q3_k_xl"/);
  const pub = colabNotebook(cfg, { pushTo: "me/adapter", private: false });
  assert.match(pub.cells[1].source.join(""), /PRIVATE = False/);
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

Deno.test("an unknown config key names the key it is closest to (learning_rate → lr)", () => {
  const issues = (overrides: Record<string, unknown>) => {
    try {
      resolveTrainConfig({ overrides: { ...paths, ...overrides } });
    } catch (e) {
      assert.ok(e instanceof TrainConfigError);
      return e.issues;
    }
    assert.fail("accepted");
  };
  assert.deepEqual(issues({ learning_rate: 1e-3 }), [
    "learning_rate: unknown key; did you mean lr?",
  ]);
  assert.deepEqual(issues({ max_step: 3 }), ["max_step: unknown key; did you mean max_steps?"]);
  assert.deepEqual(issues({ lora: { rank: 4 } }), ["lora.rank: unknown key; did you mean lora.r?"]);
  assert.deepEqual(issues({ lora_alpha: 4 }), [
    "lora_alpha: unknown key; did you mean lora.alpha?",
  ]);
  assert.deepEqual(issues({ gradient_accumulation_steps: 4 }), [
    "gradient_accumulation_steps: unknown key; did you mean grad_accum?",
  ]);
  assert.deepEqual(issues({ zzz: 1 }), [
    "zzz: unknown key; the keys are listed by `deno task finetune --help`",
  ]);
});

Deno.test("deno task finetune --set learning_rate=… is a usage error that suggests lr", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../lib/cli/finetune.ts", import.meta.url).pathname,
      "--train",
      "rows.jsonl",
      "--set",
      "learning_rate=0.1",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.match(stderr, /learning_rate: unknown key; did you mean lr\?/);
});

Deno.test("the Colab notebook embeds every python/tunebook module the trainer imports", () => {
  const needed = new Set<string>();
  const visit = (file: string) => {
    if (needed.has(file)) return;
    needed.add(file);
    const source = readFileSync(join(PYTHON_DIR, "tunebook", file), "utf8");
    // module-level and function-level relative imports: `from .x import …`
    for (const m of source.matchAll(/^\s*from \.(\w+) import/gm)) visit(`${m[1]}.py`);
  };
  for (const entry of ["finetune.py", "colab.py", "llama_lib.py", "export_lora.py"]) visit(entry);
  const missing = [...needed].filter((f) => !COLAB_PY_FILES.includes(f));
  assert.deepEqual(missing, [], "add them to COLAB_PY_FILES in lib/train/colab.ts");
});
