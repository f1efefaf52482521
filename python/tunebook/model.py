"""A pure-torch decoder whose math and state-dict names match Hugging Face's Llama, Mistral and Qwen2.

RMSNorm, rotary embeddings (HF's rotate_half layout, with Llama 3's and linear `rope_scaling`),
SwiGLU MLP, grouped-query attention, q/k/v biases (Qwen2), tied embeddings (Qwen2.5, Llama 3.2).
Load a checkpoint written by `save_checkpoint` with `transformers.AutoModelForCausalLM.from_pretrained`
and the logits agree; export to GGUF permutes q/k rows for llama.cpp's Llama (see export_gguf.py).

Packed rows (several examples in one row): give `positions` that restart at 0 for each example and
`segments` (one id per example); attention then stays inside each example, as if it were alone.

    from tunebook.model import LlamaConfig, Llama
    model = Llama(LlamaConfig(vocab_size=2048))
    logits = model(torch.tensor([[1, 5, 9]]))  # (B, T, vocab)
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .safetensors_io import load_safetensors, save_safetensors

# model_type -> the architectures name transformers writes for it.
ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}
ROPE_TYPES = ("default", "linear", "llama3")


@dataclass
class LlamaConfig:
    """Model hyper-parameters, named as in Hugging Face's LlamaConfig (also Mistral's and Qwen2's)."""

    vocab_size: int = 2048
    hidden_size: int = 128
    intermediate_size: int = 352
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 512
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    # Beyond the tiny model's Llama: each default is what Llama uses, so its config.json is unchanged.
    model_type: str = "llama"
    attention_bias: bool = False  # Llama: biases on q, k, v and o; Qwen2 always has them on q, k, v only
    explicit_head_dim: int | None = None  # config.json's head_dim, when it is not hidden_size / heads
    rope_scaling: dict | None = None  # {"rope_type": "llama3" | "linear", "factor": …, …}
    sliding_window: int | None = None  # Mistral's; recorded, not applied (as llama.cpp): see from_hf

    @property
    def head_dim(self) -> int:
        return self.explicit_head_dim or self.hidden_size // self.num_attention_heads

    @property
    def qkv_bias(self) -> bool:
        return self.model_type == "qwen2" or self.attention_bias

    @property
    def o_bias(self) -> bool:
        return self.model_type != "qwen2" and self.attention_bias

    @property
    def eos_ids(self) -> list[int]:
        e = self.eos_token_id
        return [] if e is None else list(e) if isinstance(e, list) else [e]

    def to_hf(self) -> dict:
        """The config.json that transformers reads."""
        base = {k: v for k, v in asdict(self).items() if k in _HF_KEYS}
        out = {
            "architectures": [ARCHITECTURES[self.model_type]],
            "model_type": self.model_type,
            **base,
            "hidden_act": "silu",
            "attention_bias": self.attention_bias,
            "mlp_bias": False,
            "initializer_range": 0.02,
            "torch_dtype": "float32",
            "use_cache": True,
        }
        if self.model_type == "qwen2":
            out.pop("attention_bias")
            out.pop("mlp_bias")
        if self.explicit_head_dim:
            out["head_dim"] = self.explicit_head_dim
        if self.rope_scaling:
            out["rope_scaling"] = self.rope_scaling
        if self.sliding_window is not None:
            out["sliding_window"] = self.sliding_window
        return out

    @classmethod
    def from_hf(cls, data: dict, where: str = "config.json") -> "LlamaConfig":
        """From a checkpoint's config.json; what this model cannot compute is refused, naming the key."""
        model_type = data.get("model_type", "llama")
        if model_type not in ARCHITECTURES:
            raise ValueError(f"{where}: model_type is {model_type!r}; tunebook's own model and exporter handle "
                             f"{', '.join(ARCHITECTURES)} (use backend 'hf' and llama.cpp's convert_hf_to_gguf.py for others)")
        if data.get("hidden_act", "silu") != "silu":
            raise ValueError(f"{where}: hidden_act is {data['hidden_act']!r}; only 'silu' (SwiGLU) is supported")
        if data.get("mlp_bias"):
            raise ValueError(f"{where}: mlp_bias is true; only MLPs without biases are supported")
        params = data.get("rope_parameters") or {}  # transformers 5 keeps rope settings here
        theta = params.get("rope_theta", data.get("rope_theta", 10000.0))
        scaling = data.get("rope_scaling") or ({k: v for k, v in params.items() if k != "rope_theta"} if params else None)
        if scaling:
            kind = scaling.get("rope_type", scaling.get("type", "default"))
            if kind not in ROPE_TYPES:
                raise ValueError(f"{where}: rope_scaling type {kind!r} is not supported (supported: {', '.join(ROPE_TYPES)}); "
                                 "use backend 'hf' and llama.cpp's convert_hf_to_gguf.py for this model")
            scaling = None if kind == "default" else {**scaling, "rope_type": kind}
        names = set(_HF_KEYS) - {"rope_theta"}
        heads, hidden = data.get("num_attention_heads", 4), data.get("hidden_size", 128)
        head_dim = data.get("head_dim")
        # Mistral's sliding window changes nothing for sequences shorter than it; llama.cpp ignores it too.
        sliding = data.get("sliding_window") if data.get("use_sliding_window", model_type == "mistral") else None
        return cls(**{k: v for k, v in data.items() if k in names}, model_type=model_type, rope_theta=float(theta),
                   attention_bias=bool(data.get("attention_bias", False)),
                   explicit_head_dim=head_dim if head_dim and head_dim * heads != hidden else None,
                   rope_scaling=scaling, sliding_window=sliding)


_HF_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "rope_theta", "tie_word_embeddings",
            "bos_token_id", "eos_token_id")


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float() if dtype in (torch.float16, torch.bfloat16) else x  # 16-bit: normalise in fp32
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def inverse_frequencies(cfg: LlamaConfig) -> torch.Tensor:
    """RoPE's inverse frequencies (head_dim / 2), with the config's rope_scaling as transformers applies it."""
    d = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    rs = cfg.rope_scaling
    if not rs:
        return inv_freq
    if rs["rope_type"] == "linear":
        return inv_freq / rs["factor"]
    # Llama 3.1+ ("llama3"): long wavelengths slowed by `factor`, short ones kept, a smooth band between.
    factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_ctx / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, scaled)


def rope_cache(cfg: LlamaConfig, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape (*positions.shape, head_dim), HF layout (frequencies repeated across the two halves)."""
    inv_freq = inverse_frequencies(cfg)
    freqs = positions.float()[..., None] * inv_freq  # (..., T, d/2)
    emb = torch.cat((freqs, freqs), dim=-1)  # (..., T, d)
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_attention_heads * hd, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * hd, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * hd, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.num_attention_heads * hd, cfg.hidden_size, bias=cfg.o_bias)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """mask: True where a query may not see a key, (T, T) or (B, 1, T, T)."""
        B, T, _ = x.shape
        cfg, hd = self.cfg, self.cfg.head_dim
        q = self.q_proj(x).view(B, T, cfg.num_attention_heads, hd).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(x).view(B, T, cfg.num_key_value_heads, hd).transpose(1, 2)  # (B, Hkv, T, hd)
        v = self.v_proj(x).view(B, T, cfg.num_key_value_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = cfg.num_attention_heads // cfg.num_key_value_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)  # (B, H, T, T)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, -1)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class Llama(nn.Module):
    """LlamaForCausalLM's module tree: `model.{embed_tokens,layers,norm}` and `lm_head`."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        self.model = Decoder(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, ids: torch.Tensor, positions: torch.Tensor | None = None,
                segments: torch.Tensor | None = None, hidden: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T) -> logits (B, T, vocab). Packed rows: `positions` (B, T) restarting at 0 per example and
        `segments` (B, T), one id per example: attention stays within a segment. `hidden` (B, 1, T, T), True
        where a query may not see a key, replaces the causal/segment mask."""
        T = ids.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=ids.device).triu(1)  # (T, T): True = hidden
        if positions is None:
            cos, sin = rope_cache(self.cfg, torch.arange(T))  # (T, hd)
        else:
            cos, sin = rope_cache(self.cfg, positions.cpu())  # (B, T, hd)
            cos, sin = cos[:, None], sin[:, None]  # (B, 1, T, hd): one rotation per row, shared by heads
        if hidden is not None:
            mask = hidden
        elif segments is not None:
            mask = causal | (segments[:, None, :, None] != segments[:, None, None, :])
        else:
            mask = causal
        cos, sin = cos.to(ids.device), sin.to(ids.device)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.model.norm(x))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def save_checkpoint(model: Llama, out_dir: str | Path) -> None:
    """Write config.json + model.safetensors in Hugging Face's layout."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(model.cfg.to_hf(), indent=2) + "\n")
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    if model.cfg.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_safetensors(out / "model.safetensors", state, metadata={"format": "pt"})


def load_checkpoint(model_dir: str | Path) -> Llama:
    """Load a Hugging Face Llama/Mistral/Qwen2 checkpoint folder (config.json + safetensors, sharded or not), in fp32."""
    from .hf_files import read_config, weight_files

    d = Path(model_dir)
    files = weight_files(d)
    cfg = LlamaConfig.from_hf(read_config(d), str(d / "config.json"))
    model = Llama(cfg)
    state = {}
    for f in files:
        state.update({k: v.float() for k, v in load_safetensors(f).items()})
    if cfg.tie_word_embeddings:
        state.setdefault("lm_head.weight", state.get("model.embed_tokens.weight"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{files[0]}: tensors do not match the config (missing {missing[:5]}, unexpected {unexpected[:5]})")
    return model.eval()
