"""LoRA for the pure-torch Llama, saved and loaded in PEFT's format.

    from tunebook.lora import add_lora, save_peft_adapter, merge_lora
    add_lora(model, r=8, alpha=16, target_modules=["q_proj", "v_proj"])   # freezes the base
    save_peft_adapter(model, "out/adapter", base_model="data/models/tiny", r=8, alpha=16, ...)

PEFT names: `base_model.model.<module path>.lora_A.weight` (r, in) and `.lora_B.weight` (out, r);
the update is W + (alpha / r) · B @ A, exactly as peft computes it, so either side reads the other's adapters.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .safetensors_io import load_safetensors, save_safetensors

PEFT_PREFIX = "base_model.model."
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LoraLinear(nn.Module):
    """A frozen nn.Linear plus a trainable low-rank update (B @ A) scaled by alpha / r."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.r, self.alpha = r, alpha
        self.scaling = alpha / r
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=5**0.5)  # peft's default init
        nn.init.zeros_(self.lora_B.weight)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        base.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.lora_B(self.lora_A(self.dropout(x))) * self.scaling


def _targets(model: nn.Module, target_modules: list[str]):
    for name, module in model.named_modules():
        for child_name, child in module.named_children():
            if isinstance(child, nn.Linear) and child_name in target_modules:
                yield f"{name}.{child_name}" if name else child_name, module, child_name, child


def add_lora(model: nn.Module, r: int, alpha: float, target_modules: list[str], dropout: float = 0.0) -> int:
    """Freeze every parameter, wrap the target Linear layers with LoRA; returns the number of trainable parameters."""
    unknown = set(target_modules) - {n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    if unknown:
        raise ValueError(f"lora.target_modules: {sorted(unknown)} are not Linear layers of this model; use some of {ALL_LINEAR}")
    for p in model.parameters():
        p.requires_grad_(False)
    for _, parent, child_name, child in list(_targets(model, target_modules)):
        setattr(parent, child_name, LoraLinear(child, r, alpha, dropout))
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter tensors under PEFT's names."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, LoraLinear):
            out[f"{PEFT_PREFIX}{name}.lora_A.weight"] = module.lora_A.weight.detach().float().cpu().contiguous()
            out[f"{PEFT_PREFIX}{name}.lora_B.weight"] = module.lora_B.weight.detach().float().cpu().contiguous()
    return out


def save_peft_adapter(model: nn.Module, out_dir: str | Path, *, base_model: str, r: int, alpha: float, dropout: float, target_modules: list[str]) -> None:
    """adapter_config.json + adapter_model.safetensors, as peft's save_pretrained writes them."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": r,
        "lora_alpha": alpha,
        "lora_dropout": dropout,
        "target_modules": sorted(target_modules),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "modules_to_save": None,
        "use_rslora": False,
        "use_dora": False,
    }
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_safetensors(out / "adapter_model.safetensors", lora_state(model), metadata={"format": "pt"})


def read_peft_adapter(adapter_dir: str | Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(adapter_config, tensors) of a PEFT LoRA adapter directory, with checks a user can act on."""
    d = Path(adapter_dir)
    cfg_path, weights = d / "adapter_config.json", d / "adapter_model.safetensors"
    for p in (cfg_path, weights):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: missing; a PEFT adapter directory has adapter_config.json and adapter_model.safetensors")
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("peft_type") != "LORA":
        raise ValueError(f"{cfg_path}: peft_type is {cfg.get('peft_type')!r}; only LORA adapters are supported")
    if cfg.get("use_dora") or cfg.get("use_rslora"):
        raise ValueError(f"{cfg_path}: DoRA / rsLoRA adapters are not supported; train a plain LoRA")
    return cfg, load_safetensors(weights)


def lora_pairs(tensors: dict[str, torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """module path (e.g. model.layers.0.self_attn.q_proj) -> (A, B), from PEFT tensor names."""
    pairs: dict[str, list] = {}
    for name, t in tensors.items():
        for which, idx in ((".lora_A.weight", 0), (".lora_B.weight", 1)):
            if name.endswith(which):
                module = name[: -len(which)]
                module = module[len(PEFT_PREFIX):] if module.startswith(PEFT_PREFIX) else module
                pairs.setdefault(module, [None, None])[idx] = t
    broken = [m for m, (a, b) in pairs.items() if a is None or b is None]
    if broken:
        raise ValueError(f"adapter tensors: {broken[:3]} have lora_A without lora_B or the reverse")
    return {m: (a, b) for m, (a, b) in pairs.items()}


def merge_lora(state: dict[str, torch.Tensor], adapter_dir: str | Path, only: set[str] | None = None) -> dict[str, torch.Tensor]:
    """Base state dict with W + (alpha / r) · B @ A folded in (a new dict); `only`: merge just these
    weight names (one shard of a sharded base)."""
    cfg, tensors = read_peft_adapter(adapter_dir)
    scaling = cfg["lora_alpha"] / cfg["r"]
    merged = dict(state)
    for module, (a, b) in lora_pairs(tensors).items():
        key = f"{module}.weight"
        if only is not None and key not in only:
            continue
        if key not in merged:
            raise ValueError(f"adapter module {module} is not in the base model; was it trained on another base?")
        merged[key] = (merged[key].float() + scaling * (b.float() @ a.float())).to(merged[key].dtype)
    return merged
