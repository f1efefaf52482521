"""LoRA layers, PEFT format, merging, GGUF LoRA export and the trainer's protocol (small random model)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from tunebook.export_gguf import permute_rotary
from tunebook.export_lora import export_gguf_lora, export_merged
from tunebook.gguf_tools import import_gguf
from tunebook.lora import ALL_LINEAR, add_lora, lora_state, read_peft_adapter, save_peft_adapter
from tunebook.model import Llama, LlamaConfig, load_checkpoint, save_checkpoint
from tunebook.tokenizer import write_hf_tokenizer_files

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
TINY = ROOT / "data" / "models" / "tiny"
PYTHON_DIR = ROOT / "python"


def small() -> Llama:
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)).eval()


def trained_adapter(tmp_path):
    base = small()
    save_checkpoint(base, tmp_path / "base")
    model = load_checkpoint(tmp_path / "base")
    n = add_lora(model, r=4, alpha=8, target_modules=ALL_LINEAR)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.05)
    save_peft_adapter(model, tmp_path / "adapter", base_model="base", r=4, alpha=8, dropout=0.0, target_modules=ALL_LINEAR)
    return base, model, n


def test_lora_freezes_base_and_uses_peft_names(tmp_path):
    _, model, n = trained_adapter(tmp_path)
    assert n == sum(p.numel() for p in model.parameters() if p.requires_grad) > 0
    names = list(lora_state(model))
    assert "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" in names
    cfg, tensors = read_peft_adapter(tmp_path / "adapter")
    assert cfg["peft_type"] == "LORA" and cfg["r"] == 4 and cfg["lora_alpha"] == 8
    a = tensors["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"]
    b = tensors["base_model.model.model.layers.0.mlp.down_proj.lora_B.weight"]
    assert a.shape == (4, 48) and b.shape == (32, 4)
    with pytest.raises(ValueError, match="not Linear layers"):
        add_lora(small(), 4, 8, ["qproj"])


def test_merged_model_equals_lora_model(tmp_path):
    _, model, _ = trained_adapter(tmp_path)
    (tmp_path / "base" / "tokenizer.model").write_bytes((TINY / "tokenizer.model").read_bytes())
    merged = load_checkpoint(export_merged(tmp_path / "adapter", tmp_path / "base", tmp_path / "merged"))
    ids = torch.randint(0, 64, (2, 9))
    with torch.no_grad():
        assert torch.allclose(model(ids), merged(ids), atol=1e-5)
    assert (tmp_path / "merged" / "tokenizer.model").is_file()


def test_gguf_lora_layout(tmp_path):
    gguf = import_gguf()
    _, model, _ = trained_adapter(tmp_path)
    out = export_gguf_lora(tmp_path / "adapter", tmp_path / "base", tmp_path / "lora.gguf")
    reader = gguf.GGUFReader(str(out))
    assert bytes(reader.fields["general.type"].parts[-1]).decode() == "adapter"
    assert bytes(reader.fields["adapter.type"].parts[-1]).decode() == "lora"
    assert float(reader.fields["adapter.lora.alpha"].parts[-1][0]) == 8.0
    t = {x.name: np.array(x.data) for x in reader.tensors}
    assert len(t) == 2 * 7 * 2
    q_b = t["blk.1.attn_q.weight.lora_b"].reshape(32, 4)
    want = permute_rotary(model.model.layers[1].self_attn.q_proj.lora_B.weight.detach(), 4).numpy()
    assert np.allclose(q_b, want)
    v_a = t["blk.0.attn_v.weight.lora_a"].reshape(4, 32)
    assert np.allclose(v_a, model.model.layers[0].self_attn.v_proj.lora_A.weight.detach().numpy())


def run_trainer(cfg: dict, tmp_path) -> tuple[int, list[dict], str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    p = subprocess.run([sys.executable, "-m", "tunebook.finetune", str(path)], cwd=PYTHON_DIR, capture_output=True, text=True)
    events = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, events, p.stderr


def base_config(tmp_path, train_file, steps):
    # A 1-layer model with the tiny tokenizer's vocabulary (2048), so real tokenization works.
    torch.manual_seed(0)
    base = Llama(LlamaConfig(vocab_size=2048, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2))
    save_checkpoint(base, tmp_path / "base")
    (tmp_path / "base" / "tokenizer.model").write_bytes((TINY / "tokenizer.model").read_bytes())
    write_hf_tokenizer_files(tmp_path / "base")
    return {
        "backend": "torch", "base_model": str(tmp_path / "base"), "train_file": str(train_file), "val_file": None,
        "output_dir": str(tmp_path / "run"), "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
        "lr": 1e-2, "schedule": "cosine", "warmup_steps": 1, "max_steps": steps, "epochs": 1, "batch_size": 2, "grad_accum": 1,
        "max_seq_len": 64, "packing": False, "completion_only_loss": True, "seed": 1, "eval_every": 10, "save_every": 2,
        "max_checkpoints": 2, "precision": "fp32", "load_in_4bit": False, "gradient_checkpointing": False, "threads": 1, "resume": True,
    }


def test_trainer_events_resume_and_bad_rows(tmp_path):
    rows = [{"prompt": f"Q{i}:", "completion": " a"} for i in range(6)]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = base_config(tmp_path, data, 3)
    code, events, err = run_trainer(cfg, tmp_path)
    assert code == 0, err
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["plan", "start"] and kinds[-1] == "done" and kinds.count("step") == 3 and "checkpoint" in kinds
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()
    cfg["max_steps"] = 5
    code, events, err = run_trainer(cfg, tmp_path)
    assert code == 0, err
    assert events[1] == {**events[1], "event": "resume", "step": 3}
    assert [e["step"] for e in events if e["event"] == "step"] == [4, 5]
    data.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"prompt": "x"}) + "\n")
    cfg["output_dir"] = str(tmp_path / "run2")
    code, events, _ = run_trainer(cfg, tmp_path)
    assert code != 0 and events[-1]["event"] == "error"
    assert f"{data}:2:" in events[-1]["message"] and "completion" in events[-1]["message"]
    cfg["learning_rate"] = 1
    code, events, _ = run_trainer(cfg, tmp_path)
    assert code != 0 and "unknown config keys ['learning_rate']" in events[-1]["message"]
