"""Export a Hugging Face Llama checkpoint directory to GGUF with llama.cpp's gguf-py.

    python3 -m tunebook.export_gguf data/models/tiny data/models/tiny/tiny-f32.gguf [--type f32|f16]

Writes the `llama` architecture: hyper-parameters, the SentencePiece vocabulary (tokenizer model
`llama`: pieces, scores, token types), the chat template, and the tensors under llama.cpp's names
(gguf-py's own name map), with q_proj/k_proj rows permuted into llama.cpp's rotary layout.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .gguf_tools import import_gguf
from .model import LlamaConfig
from .safetensors_io import load_safetensors
from .tokenizer import load_tokenizer


def permute_rotary(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """HF's rotate_half row order -> llama.cpp's interleaved pairs, per head (as LlamaModel.permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_tensors(state: dict[str, torch.Tensor], cfg: LlamaConfig, gguf) -> dict[str, torch.Tensor]:
    """Rename (and permute q/k) a HF Llama state dict to llama.cpp's tensor names."""
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    out = {}
    for name, t in state.items():
        if name.endswith("self_attn.q_proj.weight"):
            t = permute_rotary(t, cfg.num_attention_heads)
        elif name.endswith("self_attn.k_proj.weight"):
            t = permute_rotary(t, cfg.num_key_value_heads)
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ValueError(f"tensor {name}: no llama.cpp name for it; is this a Llama checkpoint?")
        out[new] = t
    return out


def add_vocab(writer, model_dir: Path, gguf) -> None:
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
    tok_cfg = model_dir / "tokenizer_config.json"
    if tok_cfg.is_file():
        template = json.loads(tok_cfg.read_text()).get("chat_template")
        if template:
            writer.add_chat_template(template)


def export(model_dir: Path, out_path: Path, out_type: str = "f32", name: str | None = None) -> Path:
    gguf = import_gguf()
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        raise SystemExit(f"{cfg_path}: missing; point at a Hugging Face checkpoint directory")
    cfg = LlamaConfig.from_hf(json.loads(cfg_path.read_text()))
    state = load_safetensors(model_dir / "model.safetensors")
    if cfg.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16}.get(out_type)
    if ftype is None:
        raise SystemExit(f"--type {out_type}: use f32 or f16 here; quantize further with `deno task quantize`")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out_path), "llama")
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
    add_vocab(w, model_dir, gguf)
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
