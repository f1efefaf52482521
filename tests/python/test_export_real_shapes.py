"""Local export after training for models other than the bundled one: Qwen2 and Llama-3 shapes (with
`rope_scaling`) around their real vocabularies (tokenizer.json only, no tokenizer.model), sharded
safetensors, a Hub id found in the Hugging Face cache; the merged checkpoint keeps the stop tokens
(generation_config.json); the GGUF's vocabulary is the one llama.cpp ships for that model."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tunebook.export_gguf import export, llama3_rope_factors, permute_rotary
from tunebook.export_lora import export_gguf_lora, export_merged
from tunebook.gguf_tools import import_gguf
from tunebook.hf_files import load_weights
from tunebook.lora import add_lora, save_peft_adapter
from tunebook.lora import lora_pairs, read_peft_adapter
from tunebook.model import Llama, LlamaConfig, inverse_frequencies, load_checkpoint
from vocab_fixtures import SHAPES, _meta, _value, write_hf_checkpoint

ROOT_PYTHON = Path(__file__).resolve().parents[2] / "python"

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def adapter_for(base, out, seed=1):
    """A PEFT adapter with non-zero B for the checkpoint in `base`."""
    cfg = LlamaConfig.from_hf(json.loads((base / "config.json").read_text()))
    model = Llama(cfg)
    add_lora(model, 4, 8, TARGETS)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    save_peft_adapter(model, out, base_model=str(base), r=4, alpha=8, dropout=0.0, target_modules=TARGETS)
    return out


def gguf_fields(path):
    gguf = import_gguf()
    r = gguf.GGUFReader(str(path))
    return r, r.fields


def string_list(field) -> list[str]:
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def scalar(field):
    return field.parts[field.data[0]].tolist()[0]


@pytest.mark.parametrize("shape", ["qwen2", "llama3"])
def test_gguf_of_a_real_shape_has_llama_cpps_vocabulary(tmp_path, shape):
    base = write_hf_checkpoint(tmp_path / "base", shape, shards=2)
    assert not (base / "tokenizer.model").exists() and (base / "model.safetensors.index.json").is_file()
    out = export(base, tmp_path / "m.gguf", "f32", name=shape)
    reader, f = gguf_fields(out)
    want = _meta(SHAPES[shape]["vocab"])
    arch = bytes(f["general.architecture"].parts[-1]).decode()
    assert arch == ("qwen2" if shape == "qwen2" else "llama")
    assert bytes(f["tokenizer.ggml.model"].parts[-1]).decode() == "gpt2"
    assert bytes(f["tokenizer.ggml.pre"].parts[-1]).decode() == _value(want, "tokenizer.ggml.pre")
    assert string_list(f["tokenizer.ggml.tokens"]) == _value(want, "tokenizer.ggml.tokens")
    assert [int(scalar_i) for scalar_i in (f["tokenizer.ggml.token_type"].parts[i][0] for i in f["tokenizer.ggml.token_type"].data)] \
        == _value(want, "tokenizer.ggml.token_type")
    assert string_list(f["tokenizer.ggml.merges"]) == _value(want, "tokenizer.ggml.merges")
    tok_cfg = json.loads((base / "tokenizer_config.json").read_text())
    ids = {t["content"]: t["id"] for t in json.loads((base / "tokenizer.json").read_text())["added_tokens"]}
    assert scalar(f["tokenizer.ggml.eos_token_id"]) == ids[tok_cfg["eos_token"]]
    assert bool(scalar(f["tokenizer.ggml.add_bos_token"])) == (shape == "llama3")
    assert "tokenizer.chat_template" in f
    tensors = {t.name: t for t in reader.tensors}
    state = load_weights(base)
    q = np.array(tensors["blk.0.attn_q.weight"].data).reshape(state["model.layers.0.self_attn.q_proj.weight"].shape)
    hf_q = state["model.layers.0.self_attn.q_proj.weight"]
    cfg = LlamaConfig.from_hf(json.loads((base / "config.json").read_text()))
    if shape == "qwen2":  # NeoX rotary in llama.cpp: HF's rows as they are; q/k/v biases kept
        assert np.array_equal(q, hf_q.numpy())
        assert "blk.1.attn_q.bias" in tensors and "blk.1.attn_v.bias" in tensors
        assert "rope_freqs.weight" not in tensors
    else:  # Llama 3: interleaved rotary, and rope_scaling as a factor per frequency
        assert np.array_equal(q, permute_rotary(hf_q, cfg.num_attention_heads).numpy())
        factors = np.array(tensors["rope_freqs.weight"].data)
        assert np.allclose(factors, llama3_rope_factors(cfg))
        # The same scaling the torch model applies: base frequencies / factor.
        plain = LlamaConfig.from_hf({**json.loads((base / "config.json").read_text()), "rope_scaling": None})
        assert torch.allclose(inverse_frequencies(plain) / torch.tensor(factors), inverse_frequencies(cfg), rtol=1e-5)


def test_merged_checkpoint_keeps_shards_dtypes_tokenizer_and_stop_tokens(tmp_path):
    base = write_hf_checkpoint(tmp_path / "base", "llama3", shards=2)
    adapter = adapter_for(base, tmp_path / "adapter")
    merged = export_merged(adapter, base, tmp_path / "merged")
    shards = sorted(p.name for p in merged.glob("*.safetensors"))
    assert shards == sorted(p.name for p in base.glob("*.safetensors")) and len(shards) == 2
    for f in ("model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json", "config.json"):
        assert (merged / f).is_file(), f
    gen = json.loads((merged / "generation_config.json").read_text())
    assert gen["eos_token_id"] == [128001, 128008, 128009]  # Llama-3-Instruct's stop tokens kept
    # The merged weights are the LoRA model's: same logits.
    lora_model = load_checkpoint(base)
    add_lora(lora_model, 4, 8, TARGETS)
    _, tensors = read_peft_adapter(adapter)
    missing = lora_model.load_state_dict({k.replace("base_model.model.", ""): v for k, v in tensors.items()}, strict=False)
    assert not missing.unexpected_keys
    plain = load_checkpoint(merged)
    ids = torch.tensor([[128000, 791, 4320, 374, 220]])
    with torch.no_grad():
        a, b = lora_model.eval()(ids), plain(ids)
    assert torch.allclose(a, b, atol=1e-4)
    assert not torch.allclose(a, load_checkpoint(base)(ids), atol=1e-3)  # the adapter changed something


def test_generation_config_written_when_the_base_has_none(tmp_path):
    base = write_hf_checkpoint(tmp_path / "base", "qwen2")
    (base / "generation_config.json").unlink()
    config = json.loads((base / "config.json").read_text())
    config["eos_token_id"] = 151643  # <|endoftext|>, as Qwen2.5's config.json says
    (base / "config.json").write_text(json.dumps(config))
    merged = export_merged(adapter_for(base, tmp_path / "adapter"), base, tmp_path / "merged")
    gen = json.loads((merged / "generation_config.json").read_text())
    assert gen["eos_token_id"] == [151643, 151645]  # and the tokenizer's eos, <|im_end|>, so chat stops


def test_gguf_lora_of_qwen2_keeps_hf_rotary_rows(tmp_path):
    base = write_hf_checkpoint(tmp_path / "base", "qwen2")
    adapter = adapter_for(base, tmp_path / "adapter")
    out = export_gguf_lora(adapter, base, tmp_path / "lora.gguf")
    reader, f = gguf_fields(out)
    assert bytes(f["general.architecture"].parts[-1]).decode() == "qwen2"
    _, tensors = read_peft_adapter(adapter)
    _, b = lora_pairs(tensors)["model.layers.0.self_attn.q_proj"]
    got = {t.name: t for t in reader.tensors}["blk.0.attn_q.weight.lora_b"]
    assert np.array_equal(np.array(got.data).reshape(b.shape), b.numpy())


def test_export_finds_a_hub_id_in_the_cache_not_as_a_local_path(tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    storage = tmp_path / "hub" / "models--Qwen--Qwen2.5-0.5B-Instruct"
    snapshot = write_hf_checkpoint(storage / "snapshots" / commit, "qwen2")
    (storage / "refs").mkdir(parents=True)
    (storage / "refs" / "main").write_text(commit)
    adapter = adapter_for(snapshot, tmp_path / "adapter")
    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "tunebook.export_lora", str(adapter), "Qwen/Qwen2.5-0.5B-Instruct",
                        "--merged-dir", str(tmp_path / "merged")], cwd=ROOT_PYTHON, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["merged_dir"] == str(tmp_path / "merged")
    assert (tmp_path / "merged" / "tokenizer.json").is_file()
    r = subprocess.run([sys.executable, "-m", "tunebook.export_lora", str(adapter), "Qwen/not-downloaded",
                        "--merged-dir", str(tmp_path / "m2")], cwd=ROOT_PYTHON, env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "not in the Hugging Face cache" in r.stderr
