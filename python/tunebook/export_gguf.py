"""Export a Hugging Face Llama, Mistral or Qwen2 checkpoint directory to GGUF with llama.cpp's gguf-py.

    python3 -m tunebook.export_gguf data/models/tiny data/models/tiny/tiny-f32.gguf [--type f32|f16]

Writes llama.cpp's `llama` architecture (Llama, Mistral) or `qwen2`: hyper-parameters (with
`rope_scaling`: linear as a scaling factor, Llama 3's as the `rope_freqs` tensor, as llama.cpp's
convert_hf_to_gguf.py does), the vocabulary — SentencePiece from `tokenizer.model` (tokenizer model
`llama`: pieces, scores, types) or byte-level BPE from `tokenizer.json` (model `gpt2`: tokens,
types, merges, and the pre-tokenizer named by its expression: llama-bpe, qwen2, gpt-2) — special
token ids, the chat template, and the tensors (one safetensors file or shards) under llama.cpp's
names (gguf-py's own name map). Llama's q_proj/k_proj rows are permuted into llama.cpp's rotary
layout; Qwen2's are not (llama.cpp runs it with NeoX rotary, HF's own layout).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from .gguf_tools import import_gguf
from .hf_files import load_weights
from .model import LlamaConfig
from .tokenizer import load_tokenizer

# model_type -> llama.cpp architecture.
GGUF_ARCH = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2"}


def gguf_arch(cfg: LlamaConfig, gguf):
    """(architecture name, gguf.MODEL_ARCH) for the checkpoint's model_type."""
    name = GGUF_ARCH[cfg.model_type]
    return name, {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2}[name]


def permutes_rotary(cfg: LlamaConfig) -> bool:
    """llama.cpp's `llama` runs interleaved rotary pairs (HF's rows are permuted); `qwen2` runs NeoX's, HF's own."""
    return GGUF_ARCH[cfg.model_type] == "llama"


def permute_rotary(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """HF's rotate_half row order -> llama.cpp's interleaved pairs, per head (as LlamaModel.permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_tensors(state: dict[str, torch.Tensor], cfg: LlamaConfig, gguf) -> dict[str, torch.Tensor]:
    """Rename (and permute q/k) a HF Llama state dict to llama.cpp's tensor names."""
    names = gguf.get_tensor_name_map(gguf_arch(cfg, gguf)[1], cfg.num_hidden_layers)
    permute = permutes_rotary(cfg)
    out = {}
    for name, t in state.items():
        if permute and name.endswith("self_attn.q_proj.weight"):
            t = permute_rotary(t, cfg.num_attention_heads)
        elif permute and name.endswith("self_attn.k_proj.weight"):
            t = permute_rotary(t, cfg.num_key_value_heads)
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ValueError(f"tensor {name}: no llama.cpp name for it; is this a {cfg.model_type} checkpoint?")
        out[new] = t
    return out


def add_vocab(writer, model_dir: Path, gguf, cfg: LlamaConfig | None = None) -> None:
    """The checkpoint's vocabulary: tokenizer.model (SentencePiece) when it has one, else tokenizer.json."""
    if not (model_dir / "tokenizer.model").is_file() and (model_dir / "tokenizer.json").is_file():
        add_bpe_vocab(writer, model_dir, gguf, cfg.vocab_size if cfg else None)
    else:
        add_sentencepiece_vocab(writer, model_dir, gguf)
    add_chat_template(writer, model_dir)


def add_chat_template(writer, model_dir: Path) -> None:
    from .chat_template import read_chat_template

    template = read_chat_template(model_dir)
    if template:
        writer.add_chat_template(template)


def _looks_special(token: str) -> bool:
    """As llama.cpp's converter: added tokens like <|im_start|> are control tokens even when not marked special."""
    return (token.startswith("<|") and token.endswith("|>")) or token in ("<pad>", "<mask>", "<s>", "</s>", "<unk>")


def add_bpe_vocab(writer, model_dir: Path, gguf, vocab_size: int | None) -> None:
    """A byte-level BPE tokenizer.json as llama.cpp's `gpt2` tokenizer model (its _set_vocab_gpt2)."""
    from .bpe import _split_pattern, pre_tokenizer_name
    from .text_encoder import BpeEncoder

    path = model_dir / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    model = data.get("model") or {}
    if model.get("type") != "BPE":
        raise ValueError(f"{path}: model.type is {model.get('type')!r}; only byte-level BPE tokenizer.json files are "
                         "exported here (use llama.cpp's convert_hf_to_gguf.py, with transformers, for others)")
    pattern = _split_pattern(data, str(path))
    pre = pre_tokenizer_name(pattern)
    if pre is None:
        raise ValueError(f"{path}: its pre-tokenizer expression is not one llama.cpp names here (llama-bpe, qwen2, "
                         "gpt-2); convert with llama.cpp's convert_hf_to_gguf.py (needs transformers), which "
                         "identifies it by hashing its output")
    added = {t["id"]: t for t in data.get("added_tokens", [])}
    by_id = {i: t for t, i in model["vocab"].items()} | {i: t["content"] for i, t in added.items()}
    n = max(vocab_size or 0, max(by_id) + 1)
    T = gguf.TokenType
    tokens, types = [], []
    for i in range(n):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(T.UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            types.append(T.CONTROL if added[i].get("special") or _looks_special(by_id[i]) else T.USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(T.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    enc = BpeEncoder(model_dir)
    if enc.bos is not None:
        writer.add_bos_token_id(enc.bos)
    if enc.eos is not None:
        writer.add_eos_token_id(enc.eos)
    pad = enc.pad if enc.pad is not None and enc.pad != enc.eos else None
    if pad is not None:
        writer.add_pad_token_id(pad)
    writer.add_add_bos_token(bool(enc.add_bos))


def add_sentencepiece_vocab(writer, model_dir: Path, gguf) -> None:
    sp = load_tokenizer(model_dir)
    tokens, scores, types = [], [], []
    T = gguf.TokenType
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(T.UNKNOWN)
        elif sp.is_control(i):
            types.append(T.CONTROL)
        elif sp.is_byte(i):
            types.append(T.BYTE)
        elif sp.is_unused(i):
            types.append(T.UNUSED)
        else:
            types.append(T.NORMAL)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(sp.bos_id())
    writer.add_eos_token_id(sp.eos_id())
    writer.add_unk_token_id(sp.unk_id())
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)


def llama3_rope_factors(cfg: LlamaConfig) -> np.ndarray:
    """Llama 3's rope_scaling as llama.cpp takes it: a factor per rotary frequency (the `rope_freqs`
    tensor), computed as its convert_hf_to_gguf.py does."""
    rs = cfg.rope_scaling
    dim = cfg.head_dim
    freqs = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high = rs.get("factor", 8.0), rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
    old = rs.get("original_max_position_embeddings", 8192)
    low_wavelen, high_wavelen = old / low, old / high
    out = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def export(model_dir: Path, out_path: Path, out_type: str = "f32", name: str | None = None) -> Path:
    gguf = import_gguf()
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        raise SystemExit(f"{cfg_path}: missing; point at a Hugging Face checkpoint directory")
    try:
        cfg = LlamaConfig.from_hf(json.loads(cfg_path.read_text()), str(cfg_path))
        state = load_weights(model_dir)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e)) from e
    if cfg.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16}.get(out_type)
    if ftype is None:
        raise SystemExit(f"--type {out_type}: use f32 or f16 here; quantize further with `deno task quantize`")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    arch, _ = gguf_arch(cfg, gguf)
    w = gguf.GGUFWriter(str(out_path), arch)
    w.add_name(name or model_dir.name)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_file_type(ftype)
    kind = (cfg.rope_scaling or {}).get("rope_type")
    if kind == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(cfg.rope_scaling["factor"]))
    try:
        add_vocab(w, model_dir, gguf, cfg)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e)) from e
    if kind == "llama3":
        w.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", llama3_rope_factors(cfg))
    for tname, t in gguf_tensors(state, cfg, gguf).items():
        arr = t.float().numpy()
        if out_type == "f16" and arr.ndim == 2:
            arr = arr.astype(np.float16)
        w.add_tensor(tname, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--type", default="f32", choices=["f32", "f16"])
    ap.add_argument("--name")
    a = ap.parse_args()
    export(a.model_dir, a.out, a.type, a.name)
    print(json.dumps({"event": "done", "path": str(a.out), "bytes": a.out.stat().st_size}))


if __name__ == "__main__":
    main()
