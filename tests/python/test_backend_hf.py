"""The `hf` backend (python/tunebook/backend_hf.py) without transformers or peft installed: its
load plan for every preset on a simulated T4, A100 and CPU, and the backend itself — constructed
in-process, and trained end to end in the trainer's own subprocess — against stand-in
transformers/peft modules (stand_ins/) that record what they were asked: training mode, the
dtypes and quantization passed to from_pretrained, gradient checkpointing's kwargs (and whether it
ran), LoRA target modules, masks and positions of packed rows."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from finetune_runs import PYTHON_DIR, ROOT, TINY, Run, _config_file, _parse, tiny_config
from tunebook.backend_hf import Machine, PlanError, load_plan

STAND_INS = Path(__file__).parent / "stand_ins"
STAND_IN_BNB = Path(__file__).parent / "stand_ins_bnb"
T4 = Machine(cuda=True, bf16=False, name="Tesla T4", memory_gb=14.6)
A100 = Machine(cuda=True, bf16=True, name="NVIDIA A100-SXM4-40GB", memory_gb=39.4)
CPU = Machine(cuda=False)
ALL_SEVEN = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def presets():
    """Every preset as lib/train/config.ts resolves it (the source of the presets' values)."""
    script = ('import { PRESETS, resolveTrainConfig } from "./lib/train/config.ts"; console.log(JSON.stringify('
              'Object.fromEntries(Object.keys(PRESETS).map((p) => [p, resolveTrainConfig({ preset: p, overrides: '
              '{ base_model: "m", train_file: "t.jsonl", output_dir: "o" } })]))))')
    out = subprocess.run(["deno", "eval", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_colab_t4_on_a_t4_loads_nf4_in_fp16_with_checkpointing(presets):
    cfg = presets["colab-t4"]
    assert cfg["lora"]["target_modules"] == ALL_SEVEN
    plan = load_plan(cfg, T4, "4.57.0", have_bitsandbytes=True)
    assert plan["from_pretrained"] == {"dtype": torch.float16, "device_map": {"": 0}}
    assert plan["quantization"] == {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True,
                                    "bnb_4bit_compute_dtype": torch.float16}
    assert plan["autocast"] == torch.float16
    assert plan["gradient_checkpointing"] == {"use_reentrant": False}
    # transformers before 4.56 calls the argument torch_dtype
    assert load_plan(cfg, T4, "4.46.3", True)["from_pretrained"] == {"torch_dtype": torch.float16, "device_map": {"": 0}}


def test_fp16_without_4bit_loads_the_frozen_base_in_fp16_not_fp32(presets):
    cfg = {**presets["colab-t4"], "load_in_4bit": False}
    plan = load_plan(cfg, T4, "4.57.0", have_bitsandbytes=False)
    assert plan["from_pretrained"]["dtype"] == torch.float16 and plan["quantization"] is None


def test_impossible_plans_are_refused_before_anything_loads(presets):
    t4 = presets["colab-t4"]
    with pytest.raises(PlanError, match="bitsandbytes is not installed: pip install bitsandbytes"):
        load_plan(t4, T4, "4.57.0", have_bitsandbytes=False)
    with pytest.raises(PlanError, match="precision fp16: needs a CUDA GPU"):
        load_plan(t4, CPU, "4.57.0", True)
    with pytest.raises(PlanError, match="Tesla T4 has no bf16.*set precision fp16"):
        load_plan(presets["gpu"], T4, "4.57.0", True)
    with pytest.raises(PlanError, match="load_in_4bit: needs a CUDA GPU"):
        load_plan({**t4, "precision": "fp32"}, CPU, "4.57.0", True)


def test_gpu_preset_on_an_a100_is_bf16_with_checkpointing(presets):
    cfg = presets["gpu"]
    plan = load_plan(cfg, A100, "4.57.0", True)
    assert plan["from_pretrained"] == {"dtype": torch.bfloat16, "device_map": {"": 0}}
    assert plan["gradient_checkpointing"] == {"use_reentrant": False} and plan["quantization"] is None


# --- the backend against the stand-ins ---------------------------------------------------------


@pytest.fixture
def stand_ins(monkeypatch):
    """transformers/peft (and optionally bitsandbytes) stand-ins importable in this process."""
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] in ("transformers", "peft", "bitsandbytes", "stand_in_record")}
    monkeypatch.syspath_prepend(str(STAND_INS))
    import stand_in_record

    stand_in_record.CALLS.clear()

    def with_bnb():
        monkeypatch.syspath_prepend(str(STAND_IN_BNB))

    yield stand_in_record.CALLS, with_bnb
    for k in [k for k in sys.modules if k.split(".")[0] in ("transformers", "peft", "bitsandbytes", "stand_in_record")]:
        del sys.modules[k]
    sys.modules.update(saved)


def calls_of(calls, name):
    return [c for c in calls if c["call"] == name]


def test_colab_t4_config_on_a_simulated_t4_is_loaded_as_planned(stand_ins, presets, tmp_path):
    calls, with_bnb = stand_ins
    with_bnb()
    from tunebook.backend_hf import HfBackend

    cfg = {**presets["colab-t4"], "base_model": str(TINY)}
    backend = HfBackend(cfg, machine=T4)
    (load,) = calls_of(calls, "AutoModelForCausalLM.from_pretrained")
    assert load["dtype"] == "float16" and load["device_map"] == {"": 0}
    assert load["quantization_config"] == {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4",
                                           "bnb_4bit_use_double_quant": True, "bnb_4bit_compute_dtype": "float16"}
    assert calls_of(calls, "model.to") == [], "a device_map load is already on the GPU"
    assert calls_of(calls, "gradient_checkpointing_enable") == [
        {"call": "gradient_checkpointing_enable", "gradient_checkpointing_kwargs": {"use_reentrant": False}}]
    (lora,) = calls_of(calls, "LoraConfig")
    assert lora["target_modules"] == ALL_SEVEN and lora["r"] == 16 and lora["lora_dropout"] == 0.05
    assert all(m.training for m in backend.model.modules()), "from_pretrained returns eval mode; training needs train()"
    assert backend.model.base_model.config.use_cache is False
    frozen = {p.dtype for p in backend.model.parameters() if not p.requires_grad}
    trainable = {p.dtype for p in backend.model.parameters() if p.requires_grad}
    assert frozen == {torch.float16} and trainable == {torch.float32}
    assert backend.fp16 and backend.autocast == torch.float16


def test_missing_bitsandbytes_is_an_error_and_nothing_is_loaded(stand_ins, presets):
    calls, _ = stand_ins
    from tunebook.backend_hf import HfBackend

    with pytest.raises(SystemExit):
        HfBackend({**presets["colab-t4"], "base_model": str(TINY)}, machine=T4)
    assert calls_of(calls, "AutoModelForCausalLM.from_pretrained") == []


def test_unknown_target_modules_name_the_models_linear_layers(stand_ins, presets, capsys):
    from tunebook.backend_hf import HfBackend

    cfg = {**presets["tiny-cpu"], "backend": "hf", "base_model": str(TINY),
           "lora": {**presets["tiny-cpu"]["lora"], "target_modules": ["q_proj", "c_attn"]}}
    with pytest.raises(SystemExit):
        HfBackend(cfg, machine=CPU)
    err = capsys.readouterr().err
    assert "lora.target_modules: ['c_attn'] are not Linear layers" in err and "'down_proj'" in err


def test_accumulation_through_the_hf_backend_is_token_weighted(stand_ins, presets, tmp_path):
    """2 micro-batches of very different lengths step like one batch of both (fp32 on the CPU)."""
    from tunebook.backend_hf import HfBackend
    from tunebook.batches import collate
    from tunebook.examples import encode_rows
    from tunebook.train_step import train_step

    cfg = {**tiny_config(tmp_path), "backend": "hf", "lora": {**tiny_config(tmp_path)["lora"], "dropout": 0.0}}
    backend = HfBackend(cfg, machine=CPU)
    backend.model.double()
    rows = [(1, {"prompt": "Question: What is 2 plus 2?\nAnswer:", "completion": " 4"}),
            (2, {"prompt": "Q:", "completion": " a much longer completion with many more tokens in it than the first"})]
    ex = encode_rows(rows, backend.enc, 256, True, "rows").examples
    params = backend.parameters()
    start = [p.detach().clone() for p in params]

    def moved(batches):
        for p, s in zip(params, start):
            p.data.copy_(s)
        opt = torch.optim.SGD(params, lr=1.0)
        train_step(backend, batches, opt, torch.cuda.amp.GradScaler(enabled=False), params, max_grad_norm=1e9)
        return torch.cat([(s - p.detach()).flatten() for p, s in zip(params, start)])

    both = moved([collate(ex, backend.pad)])
    split = moved([collate(ex[:1], backend.pad), collate(ex[1:], backend.pad)])
    assert both.abs().max() > 1e-4 and (both - split).abs().max() < 1e-9


# --- end to end, in the trainer's own process ------------------------------------------------------


def train_with_stand_ins(cfg: dict, log: Path, extra_env: dict | None = None) -> Run:
    env = {**os.environ, "PYTHONPATH": str(STAND_INS), "TUNEBOOK_STAND_IN_LOG": str(log), **(extra_env or {})}
    env.pop("TUNEBOOK_FAULT", None)
    p = subprocess.run([sys.executable, "-m", "tunebook.finetune", str(_config_file(cfg))], cwd=PYTHON_DIR,
                       capture_output=True, text=True, env=env, timeout=300)
    return Run(p.returncode, _parse(p.stdout), p.stderr)


def read_log(log: Path) -> list[dict]:
    return [json.loads(l) for l in log.read_text().splitlines()]


def test_hf_backend_trains_in_training_mode_with_checkpointing_and_resumes(tmp_path):
    log = tmp_path / "calls.jsonl"
    cfg = tiny_config(tmp_path, backend="hf", gradient_checkpointing=True, max_steps=6, save_every=3)
    run = train_with_stand_ins(cfg, log)
    assert run.code == 0, run.error or run.stderr[-2000:]
    calls = read_log(log)
    (load,) = calls_of(calls, "AutoModelForCausalLM.from_pretrained")
    assert load["dtype"] == "float32" and "device_map" not in load and "quantization_config" not in load
    assert calls_of(calls, "model.to") == [{"call": "model.to", "args": ["cpu"]}]
    forwards = calls_of(calls, "forward")
    training = [f for f in forwards if f["training"]]
    evals = [f for f in forwards if not f["training"]]
    assert len(training) == 6 * 2, "6 steps × 2 micro-batches, all in training mode"
    assert all(f["checkpointing"] for f in training), "gradient checkpointing ran on every training forward"
    assert evals and not any(f["checkpointing"] for f in evals), "validation runs in eval mode"
    assert all(f["attention_mask"]["shape"] == f["batch"] and not f["position_ids"] for f in forwards)
    adapter = Path(cfg["output_dir"]) / "adapter" / "adapter_model.safetensors"
    assert adapter.is_file()
    # the torch backend on the same config and data: the same trainer, so the same losses
    torch_run = __import__("finetune_runs").train({**cfg, "backend": "torch", "output_dir": str(tmp_path / "torch")})
    assert torch_run.code == 0
    for a, b in zip(run.of("step"), torch_run.of("step")):
        assert abs(a["loss"] - b["loss"]) < 1e-4 and a["label_tokens"] == b["label_tokens"]
    # resume: a longer run continues from the last checkpoint through set_peft_model_state_dict
    longer = train_with_stand_ins({**cfg, "max_steps": 8}, log)
    assert longer.code == 0, longer.error
    assert [e["step"] for e in longer.of("resume")] == [6] and calls_of(read_log(log), "set_peft_model_state_dict")


def test_hf_backend_packs_with_a_per_example_mask_and_restarting_positions(tmp_path):
    log = tmp_path / "calls.jsonl"
    cfg = tiny_config(tmp_path, backend="hf", packing=True, max_steps=3, val_file=None, max_seq_len=128)
    run = train_with_stand_ins(cfg, log)
    assert run.code == 0, run.error or run.stderr[-2000:]
    training = [f for f in calls_of(read_log(log), "forward") if f["training"]]
    assert training and all(f["position_ids"] for f in training)
    assert all(f["attention_mask"]["shape"] == [f["batch"][0], 1, f["batch"][1], f["batch"][1]] and
               f["attention_mask"]["dtype"] == "float32" for f in training)
    start = run.of("start")[0]
    assert start["train_rows"] < start["train_examples"], "several examples per packed row"
    # flash-attention reads the boundaries from position_ids alone
    log2 = tmp_path / "flash.jsonl"
    flash = train_with_stand_ins({**cfg, "output_dir": str(tmp_path / "flash")}, log2, {"TUNEBOOK_STAND_IN_ATTN": "flash_attention_2"})
    assert flash.code == 0
    assert all(f["position_ids"] and f["attention_mask"] is None for f in calls_of(read_log(log2), "forward") if f["training"])


def test_a_packed_rows_loss_through_the_hf_backend_is_its_examples_own(stand_ins, tmp_path):
    """The 4-D mask (packed_attention_mask) and position_ids keep packed examples apart."""
    from tunebook.backend_hf import HfBackend
    from tunebook.batches import collate, pack
    from tunebook.examples import encode_rows

    cfg = {**tiny_config(tmp_path), "backend": "hf"}
    backend = HfBackend(cfg, machine=CPU)
    backend.model.eval()
    rows = [(i, {"prompt": f"Question: What is {i} plus {i}?\nAnswer:", "completion": f" {2 * i}"}) for i in range(1, 6)]
    ex = encode_rows(rows, backend.enc, 256, False, "rows").examples
    with torch.no_grad():
        packed, n = backend.loss_sum(collate(pack(ex, 256), backend.pad))
        alone = [backend.loss_sum(collate([e], backend.pad)) for e in ex]
    assert n == sum(k for _, k in alone)
    assert abs(float(packed) - sum(float(s) for s, _ in alone)) < 1e-3
