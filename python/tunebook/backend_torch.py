"""The `torch` backend: tunebook's pure-torch decoder (model.py: Llama, Mistral, Qwen2 shapes) with
LoRA layers (lora.py), in fp32, on the CPU (or any torch device); needs only torch, numpy and
sentencepiece (and python3-regex for byte-level BPE vocabularies, text_encoder.py)."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from .distributed import DdpMixin
from .examples import IGNORE


def token_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(sum of the next-token losses over the label positions, in fp32; how many there are).

    Only the positions with a label are upcast (16-bit logits, to fp32) (the prompt's are masked anyway), so a
    completion-only batch costs a fraction of the full (B, T, vocab) copy."""
    targets = labels[:, 1:].to(logits.device)
    keep = targets != IGNORE
    picked = logits[:, :-1][keep]  # (n, vocab)
    n = int(keep.sum())
    if n == 0:
        return logits.sum() * 0.0, 0
    if picked.dtype in (torch.float16, torch.bfloat16):
        picked = picked.float()
    return F.cross_entropy(picked, targets[keep], reduction="sum"), n


class TorchBackend(DdpMixin):
    """The pure-torch model with LoRA layers (CPU)."""

    name = "torch"
    fp16 = False

    def __init__(self, cfg: dict):
        from .lora import add_lora
        from .model import load_checkpoint
        from .text_encoder import load_text_encoder

        torch.set_num_threads(cfg.get("threads", 2))
        self.device = cfg.get("device", "cpu")
        self.model = load_checkpoint(cfg["base_model"]).to(self.device).train()  # train mode: LoRA dropout is on
        self.enc = load_text_encoder(cfg["base_model"])
        lora = cfg["lora"]
        self.trainable = add_lora(self.model, lora["r"], lora["alpha"], lora["target_modules"], lora.get("dropout", 0.0))
        self.total = sum(p.numel() for p in self.model.parameters())
        self.pad = self.enc.pad

    def loss_sum(self, batch: dict, ddp: bool = True) -> tuple[torch.Tensor, int]:
        dev = self.device
        packed = batch["segments"] is not None
        logits = self.forward_module(ddp)(batch["input_ids"].to(dev), batch["positions"].to(dev) if packed else None,
                            batch["segments"].to(dev) if packed else None)
        return token_loss_sum(logits, batch["labels"])

    def parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    def state(self) -> dict:
        return {"name": self.name}

    def save_adapter(self, out: Path, cfg: dict) -> None:
        from .lora import save_peft_adapter

        lora = cfg["lora"]
        save_peft_adapter(self.model, out, base_model=str(cfg["base_model"]), r=lora["r"], alpha=lora["alpha"],
                          dropout=lora.get("dropout", 0.0), target_modules=lora["target_modules"])

    def load_adapter(self, path: Path) -> None:
        from .lora import PEFT_PREFIX, read_peft_adapter

        _, tensors = read_peft_adapter(path)
        own = dict(self.model.named_parameters())
        for name, t in tensors.items():
            mine = own.get(name[len(PEFT_PREFIX):])
            if mine is None or mine.shape != t.shape:
                raise ValueError(f"{path}: tensor {name} {tuple(t.shape)} does not fit this model's LoRA "
                                 f"({tuple(mine.shape) if mine is not None else 'no such module'})")
            mine.data.copy_(t)
