"""The pure-torch Llama, safetensors I/O and GGUF export (fast: a random 2-layer model)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tunebook.export_gguf import export, permute_rotary
from tunebook.gguf_tools import import_gguf
from tunebook.model import Llama, LlamaConfig, load_checkpoint, rope_cache, rotate_half, save_checkpoint
from tunebook.safetensors_io import load_safetensors, save_safetensors
from tunebook.tokenizer import write_hf_tokenizer_files

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
TINY = ROOT / "data" / "models" / "tiny"


def small_config() -> LlamaConfig:
    return LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)


def test_safetensors_round_trip_and_corrupt_header(tmp_path):
    tensors = {"a": torch.randn(3, 4), "b": torch.arange(5, dtype=torch.int64), "c": torch.randn(2).half()}
    path = tmp_path / "x.safetensors"
    save_safetensors(path, tensors, metadata={"format": "pt"})
    back = load_safetensors(path)
    for k, v in tensors.items():
        assert torch.equal(back[k], v)
    raw = path.read_bytes()
    (tmp_path / "bad.safetensors").write_bytes(raw[:8] + b"{not json" + raw[17:])
    with pytest.raises(ValueError, match="corrupt safetensors header"):
        load_safetensors(tmp_path / "bad.safetensors")


def test_model_is_causal_and_shapes():
    torch.manual_seed(0)
    model = Llama(small_config()).eval()
    ids = torch.randint(0, 64, (2, 10))
    with torch.no_grad():
        full = model(ids)
        prefix = model(ids[:, :6])
    assert full.shape == (2, 10, 64)
    assert torch.allclose(full[:, :6], prefix, atol=1e-5)


def test_checkpoint_round_trip_and_missing_files(tmp_path):
    torch.manual_seed(0)
    model = Llama(small_config()).eval()
    save_checkpoint(model, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and cfg["num_key_value_heads"] == 2
    again = load_checkpoint(tmp_path)
    ids = torch.randint(0, 64, (1, 7))
    with torch.no_grad():
        assert torch.equal(model(ids), again(ids))
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_checkpoint(tmp_path / "nowhere")


def llama_cpp_rope(x: np.ndarray, pos: int, theta: float) -> np.ndarray:
    """llama.cpp's LLAMA_ROPE_TYPE_NORM: rotate adjacent pairs (x0, x1), (x2, x3), ..."""
    d = x.shape[-1]
    out = x.copy()
    for i in range(0, d, 2):
        ang = pos * theta ** (-i / d)
        c, s = math.cos(ang), math.sin(ang)
        out[..., i] = x[..., i] * c - x[..., i + 1] * s
        out[..., i + 1] = x[..., i] * s + x[..., i + 1] * c
    return out


def test_qk_permutation_maps_hf_rope_to_llama_cpp_rope():
    """RoPE(HF layout) of W·x, permuted, equals llama.cpp's RoPE of (permuted W)·x."""
    cfg = small_config()
    torch.manual_seed(1)
    n_head, hd = cfg.num_attention_heads, cfg.head_dim
    w = torch.randn(n_head * hd, cfg.hidden_size)
    x = torch.randn(cfg.hidden_size)
    pos = 5
    cos, sin = rope_cache(cfg, torch.tensor([pos]))
    q_hf = (w @ x).view(n_head, hd)
    q_hf = q_hf * cos[0] + rotate_half(q_hf) * sin[0]
    q_cpp = (permute_rotary(w, n_head) @ x).view(n_head, hd).numpy()
    q_cpp = np.stack([llama_cpp_rope(q_cpp[h], pos, cfg.rope_theta) for h in range(n_head)])
    expected = permute_rotary(q_hf.reshape(n_head * hd, 1), n_head).view(n_head, hd).numpy()
    assert np.allclose(q_cpp, expected, atol=1e-5)


def test_gguf_export_names_shapes_and_metadata(tmp_path):
    gguf = import_gguf()
    torch.manual_seed(0)
    cfg = small_config()
    model = Llama(cfg).eval()
    save_checkpoint(model, tmp_path)
    # The tiny model's tokenizer stands in (its vocab is larger than 64; only metadata is checked).
    (tmp_path / "tokenizer.model").write_bytes((TINY / "tokenizer.model").read_bytes())
    write_hf_tokenizer_files(tmp_path)
    out = export(tmp_path, tmp_path / "m.gguf", "f32", name="unit")
    reader = gguf.GGUFReader(str(out))
    tensors = {t.name: t for t in reader.tensors}
    assert "token_embd.weight" in tensors and "blk.1.ffn_down.weight" in tensors and "output.weight" in tensors
    q = np.array(tensors["blk.0.attn_q.weight"].data).reshape(cfg.hidden_size, cfg.hidden_size)
    want = permute_rotary(model.model.layers[0].self_attn.q_proj.weight.detach(), cfg.num_attention_heads).numpy()
    assert np.array_equal(q, want)
    fields = reader.fields
    arch = bytes(fields["general.architecture"].parts[-1]).decode()
    assert arch == "llama"
    assert int(fields["llama.attention.head_count_kv"].parts[-1][0]) == 2
    assert bytes(fields["tokenizer.ggml.model"].parts[-1]).decode() == "llama"


def test_export_rejects_missing_config(tmp_path):
    with pytest.raises(SystemExit, match="config.json: missing"):
        export(tmp_path, tmp_path / "x.gguf")


def test_tiny_tokenizer_uses_llama_settings():
    """Identity normalizer (no NFKC), whitespace kept, digits split, byte fallback."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(TINY / "tokenizer.model"))
    for text in ["a  b\n\n12 Ünï", "ｆｕｌｌ width ①", "emoji 🦙 tab\tend"]:
        assert sp.decode(sp.encode(text)) == text
    pieces = sp.encode("12345", out_type=str)
    assert [p.lstrip("▁") for p in pieces if p.lstrip("▁")] == list("12345")
    assert any(sp.id_to_piece(i).startswith("<0x") for i in sp.encode("🦙"))
