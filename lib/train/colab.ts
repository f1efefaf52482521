/**
 * Colab hand-off: from the same fine-tuning config, a Python notebook (kernelspec python3, T4 GPU)
 * that checks the Hub token first, installs pinned packages, runs the same trainer
 * (python/tunebook/finetune.py, backend "hf") with its run folder on Google Drive, exports the
 * GGUF LoRA, merged GGUF and a quantization with llama.cpp at the pinned tag, shows samples, and
 * pushes it all to a private Hub repo (or offers a download). Each cell is one call into
 * python/tunebook/colab.py; `deno task hub:pull` (train/artifacts.ts) brings the run back.
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type BundledLlamaCpp, bundledLlamaCpp } from "../llm/llama_cpp_source.ts";
import type { TrainConfig } from "./config.ts";
import { PYTHON_DIR } from "./python.ts";

/** Options for {@linkcode colabNotebook}. */
export interface ColabOptions {
  /** Where the notebook gets the tunebook Python package: "embed" copies python/tunebook into the notebook. Default: "embed". */
  source?: "embed";
  /** Hub repo to push the run to (e.g. "me/tiny-lora"); empty: offer a download instead. Default: "". */
  pushTo?: string;
  /** Push to a private repo (false: public). Default: true. */
  private?: boolean;
  /** URL of the training JSONL (Hub dataset file or any https URL); empty: upload it in Colab. Default: "". */
  dataUrl?: string;
  /** The quantization made from the merged model, a `deno task quantize` type name. Default: "q4_k_m". */
  quant?: string;
  /** The run's name: its folder on Drive (MyDrive/tunebook/NAME) and the GGUF file names. Default: "colab-run". */
  run?: string;
  /** The eval task the printed `deno task eval` command names (the one trained on, if any). Default: "". */
  task?: string;
  /** The pinned llama.cpp (tag + source fingerprint). Default: {@linkcode bundledLlamaCpp}(). */
  llamaCpp?: Pick<BundledLlamaCpp, "tag" | "fingerprint">;
}

/** Quantization types the notebook's quantizer (python/tunebook/llama_lib.py FTYPES) makes. */
export const COLAB_QUANT_TYPES: readonly string[] = ["q4_0", "q4_k_m", "q5_k_m", "q6_k", "q8_0"];

/** python/tunebook files the trainer needs (tests/unit/train_config_test.ts checks it has all it imports). */
export const COLAB_PY_FILES: readonly string[] = [
  "__init__.py",
  "events.py",
  "faults.py",
  "atomic.py",
  "run_lock.py",
  "suggest.py",
  "special_tokens.py",
  "run_identity.py",
  "checkpoint.py",
  "safetensors_io.py",
  "model.py",
  "tokenizer.py",
  "gguf_tools.py",
  "lora.py",
  "export_gguf.py",
  "export_lora.py",
  "hf_files.py",
  "bpe.py",
  "chat_template.py",
  "text_encoder.py",
  "examples.py",
  "batches.py",
  "train_step.py",
  "distributed.py",
  "plan.py",
  "backend_torch.py",
  "backend_hf.py",
  "finetune.py",
  "llama_lib.py",
  "colab.py",
];

/** A notebook cell (nbformat 4). */
export interface NotebookCell {
  cell_type: "code" | "markdown";
  id?: string;
  metadata: Record<string, unknown>;
  source: string[];
  execution_count?: null;
  outputs?: unknown[];
}

/** An nbformat 4 notebook, as the JSON object written to disk. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: {
    kernelspec: { name: string; display_name: string; language: string };
    language_info: { name: string };
    accelerator: string;
    colab: { gpuType: string; provenance: unknown[] };
    tunebook: { config: TrainConfig };
  };
  cells: NotebookCell[];
}

function code(source: string): NotebookCell {
  return {
    cell_type: "code",
    metadata: {},
    execution_count: null,
    outputs: [],
    source: source.split(/(?<=\n)/),
  };
}

function markdown(source: string): NotebookCell {
  return { cell_type: "markdown", metadata: {}, source: source.split(/(?<=\n)/) };
}

/**
 * An nbformat 4 notebook (as a JSON-ready object) that runs `config` on a Colab T4, one call into
 * python/tunebook/colab.py per cell: parameters; the embedded trainer; pinned installs; the Hub
 * token, checked (and the base model's access, and write access for the push) before anything
 * else uses it; the run folder on Google Drive (checkpoints survive a disconnect; running again
 * resumes); the data; training with a live progress line and every event saved to events.jsonl;
 * llama.cpp at the pinned tag (its source checked against tunebook's copy); the GGUF LoRA, merged
 * f16 GGUF and the quantization, a card each; a few sample generations; the model card and the
 * push (private unless told otherwise). Environment settings stand in for Colab's services where
 * there are none (python/tunebook/colab.py's header lists them), which is how CI runs it.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { resolveTrainConfig } from "./config.ts";
 * import { colabNotebook } from "./colab.ts";
 * const cfg = resolveTrainConfig({ preset: "colab-t4", overrides: { base_model: "mistralai/Mistral-7B-v0.1", train_file: "train.jsonl", output_dir: "out" } });
 * const nb = colabNotebook(cfg, { llamaCpp: { tag: "v0.4.0", fingerprint: {} } });
 * strictEqual(nb.metadata.accelerator, "GPU");
 * ```
 */
export function colabNotebook(config: TrainConfig, options: ColabOptions = {}): Notebook {
  const {
    pushTo = "",
    dataUrl = "",
    quant = "q4_k_m",
    run = "colab-run",
    task = "",
    private: isPrivate = true,
  } = options;
  if (!COLAB_QUANT_TYPES.includes(quant)) {
    throw new Error(`quant "${quant}": the notebook makes ${COLAB_QUANT_TYPES.join(", ")}`);
  }
  const pin = options.llamaCpp ?? bundledLlamaCpp();
  const colabConfig = {
    ...config,
    train_file: "data/train.jsonl",
    val_file: config.val_file ? "data/val.jsonl" : null,
    output_dir: "out",
    backend: "hf" as const,
  };
  const files = COLAB_PY_FILES.map((
    f,
  ) => [f, readFileSync(join(PYTHON_DIR, "tunebook", f), "utf8")]);
  const requirements = readFileSync(join(PYTHON_DIR, "requirements-colab.txt"), "utf8");
  const py = JSON.stringify;
  const cells = [
    markdown(
      `# tunebook: LoRA fine-tuning of ${config.base_model} on a Colab T4\n\n` +
        `Generated by \`deno task finetune --colab\`; runs tunebook's own trainer (backend \`hf\`: ` +
        `transformers + peft) and brings back what tunebook evaluates and serves.\n\n` +
        `1. Runtime → Change runtime type → T4 GPU.\n` +
        `2. Add your Hugging Face token as a Colab secret: key icon in the left bar → \`HF_TOKEN\`, ` +
        `notebook access on (a write token${
          pushTo ? `, to push to \`${pushTo}\`` : ""
        }; a gated base ` +
        `such as Llama or Mistral also needs its terms accepted on its Hub page). Without the secret ` +
        `the login cell asks for the token and waits.\n` +
        `3. Runtime → Run all. Google Drive is mounted for the run folder: if the runtime ` +
        `disconnects, run all again and training resumes from its last checkpoint.\n\n` +
        `What comes back (${
          pushTo
            ? `pushed to ${isPrivate ? "the private" : "the public"} repo \`${pushTo}\``
            : "as artifacts.zip"
        }): ` +
        `the PEFT adapter, \`lora.gguf\`, the merged \`${run}-f16.gguf\`, \`${run}-${quant}.gguf\`, ` +
        `a JSON card next to each GGUF, \`config.json\`, \`events.jsonl\`, \`samples.json\` and a ` +
        `README model card. Then, at home:\n\n` +
        `    deno task hub:pull ${pushTo || "<owner>/<repo>"}\n` +
        `    deno task eval --model results/train/${
          (pushTo || "<owner>/<repo>").replace("/", "--")
        }/${run}-${quant}.gguf --tasks ${task || "<task>"}\n`,
    ),
    code(
      `# Parameters (written by deno task finetune --colab)\n` +
        `RUN = ${py(run)}\nBASE = ${py(config.base_model)}\nPUSH_TO = ${
          py(pushTo)
        }  # "" : download instead\n` +
        `PRIVATE = ${isPrivate ? "True" : "False"}\nQUANT = ${py(quant)}\nTASK = ${py(task)}\n` +
        `DATA_URL = ${py(dataUrl)}\nLLAMA_CPP_TAG = ${py(pin.tag)}\n` +
        `LLAMA_CPP_FINGERPRINT = ${JSON.stringify(pin.fingerprint, null, 2)}\n`,
    ),
    code(
      `# tunebook's trainer (python/tunebook), embedded so the notebook needs nothing else\nimport pathlib\nFILES = ${
        py(Object.fromEntries(files))
      }\npathlib.Path("tunebook").mkdir(exist_ok=True)\nfor name, text in FILES.items():\n    _ = pathlib.Path("tunebook", name).write_text(text)\n` +
        `_ = pathlib.Path("requirements-colab.txt").write_text(${py(requirements)})\n`,
    ),
    code(
      `# Pinned installs (requirements-colab.txt); torch stays Colab's\nimport os, subprocess, sys\n` +
        `if os.environ.get("TUNEBOOK_SKIP_INSTALL") != "1":\n` +
        `    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", "requirements-colab.txt"], check=True)\n` +
        `import torch\nprint("torch", torch.__version__, "·", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")\n`,
    ),
    code(
      `# The Hub token, checked now: Colab secret HF_TOKEN, else env HF_TOKEN, else a prompt that waits.\n` +
        `# Also checks that the base model downloads with it (gated models) and that it may push.\n` +
        `from tunebook import colab as tb\nTOKEN = tb.hub_login(BASE, PUSH_TO, PRIVATE)\n`,
    ),
    code(
      `# The run folder: on Google Drive when mounted, so a disconnect loses nothing\nOUT = tb.run_folder(RUN)\n`,
    ),
    code(
      `TRAIN, VAL = tb.training_data(DATA_URL, has_val=${
        colabConfig.val_file ? "True" : "False"
      })\n`,
    ),
    code(
      `import json\nCONFIG = json.loads(${py(JSON.stringify(colabConfig, null, 2))})\n` +
        `CONFIG.update(train_file=TRAIN, val_file=VAL)\nprint(json.dumps(CONFIG, indent=2))\n`,
    ),
    code(
      `# Training: one line of progress, evaluations and notes below it; every event goes to OUT/events.jsonl\n` +
        `DONE = tb.train(CONFIG, OUT)\n`,
    ),
    code(
      `# llama.cpp at the tag tunebook's runtime is pinned to (source checked), and its libllama (built here, CPU)\n` +
        `LLAMA = tb.llama_cpp(LLAMA_CPP_TAG, LLAMA_CPP_FINGERPRINT)\n`,
    ),
    code(
      `# GGUF LoRA, merged f16 GGUF, and the quantization; a JSON card next to each\n` +
        `OUTPUTS = tb.export_outputs(OUT, BASE, QUANT, LLAMA, RUN)\n`,
    ),
    code(
      `# A few generations of the quantized model (greedy), next to the references\n` +
        `SAMPLES = tb.samples(OUTPUTS.get("quantized"), VAL or TRAIN, OUT)\n`,
    ),
    code(
      `tb.model_card(OUT, CONFIG, DONE, OUTPUTS, PUSH_TO, TASK)\n` +
        `if PUSH_TO:\n    tb.push(OUT, PUSH_TO, OUTPUTS, BASE, QUANT, TASK, private=PRIVATE)\n` +
        `else:\n    tb.archive(OUT, OUTPUTS, BASE, QUANT, TASK)\n`,
    ),
  ];
  cells.forEach((c, i) => Object.assign(c, { id: `tunebook-${i}` }));
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "python3", display_name: "Python 3", language: "python" },
      language_info: { name: "python" },
      accelerator: "GPU",
      colab: { gpuType: "T4", provenance: [] },
      tunebook: { config: colabConfig },
    },
    cells,
  };
}
