"""Stand-in for Hugging Face transformers (tests only; see ../README.md): AutoTokenizer,
AutoModelForCausalLM and BitsAndBytesConfig with transformers' call protocol, over tunebook's
pure-torch model and tokenizers."""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from stand_in_record import record
from tunebook.model import load_checkpoint, rope_cache
from tunebook.text_encoder import load_text_encoder

__version__ = os.environ.get("TUNEBOOK_STAND_IN_TRANSFORMERS_VERSION", "4.57.0")


class BitsAndBytesConfig:
    def __init__(self, **kwargs):
        record("BitsAndBytesConfig", **kwargs)
        self.kwargs = kwargs


class _Tokenizer:
    """tok(text, add_special_tokens=…)["input_ids"], ids of bos/eos/pad, apply_chat_template."""

    def __init__(self, path: str):
        self.enc = load_text_encoder(path)
        self.bos_token_id, self.eos_token_id = self.enc.bos, self.enc.eos
        self.pad_token_id = None
        self.chat_template = self.enc.chat_template

    def __call__(self, text: str, add_special_tokens: bool = True):
        ids = self.enc.encode(text)
        if add_special_tokens and self.enc.add_bos:
            ids = [self.bos_token_id] + ids
        return {"input_ids": ids}

    def apply_chat_template(self, messages, tokenize=True, add_generation_prompt=False):
        assert tokenize is False, "the trainer renders, then tokenizes"
        return self.enc.render_chat(messages, add_generation_prompt)


class AutoTokenizer:
    @staticmethod
    def from_pretrained(path, **kwargs):
        record("AutoTokenizer.from_pretrained", path=str(path), **kwargs)
        return _Tokenizer(str(path))


class _CausalLM(nn.Module):
    """LlamaForCausalLM's surface over tunebook's Llama: config, generation_config, forward(...).logits,
    gradient_checkpointing_enable (run per layer, in training mode only, as transformers does)."""

    def __init__(self, inner, path: Path):
        super().__init__()
        self.inner = inner
        self.config = SimpleNamespace(use_cache=True, _attn_implementation=os.environ.get("TUNEBOOK_STAND_IN_ATTN", "sdpa"))
        gen = path / "generation_config.json"
        self.generation_config = SimpleNamespace(eos_token_id=json.loads(gen.read_text()).get("eos_token_id") if gen.is_file()
                                                 else inner.cfg.eos_token_id)
        self.checkpointing = None

    # tunebook's lora.add_lora and save_peft_adapter walk the module tree from the model's root:
    # expose the inner model's children under their own names (model.layers…, lm_head).
    @property
    def model(self):
        return self.inner.model

    @property
    def lm_head(self):
        return self.inner.lm_head

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs=None):
        record("gradient_checkpointing_enable", gradient_checkpointing_kwargs=gradient_checkpointing_kwargs)
        self.checkpointing = dict(gradient_checkpointing_kwargs or {"use_reentrant": True})

    def to(self, *args, **kwargs):
        record("model.to", args=list(args))
        return super().to(*args, **kwargs)

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        m, cfg = self.inner, self.inner.cfg
        B, T = input_ids.shape
        use_ckpt = self.checkpointing is not None and self.training
        hidden = None
        if attention_mask is not None and attention_mask.dim() == 4:
            assert attention_mask.max() == 0, "a custom 4-D mask comes inverted (0 = attend)"
            hidden = attention_mask < 0
        elif attention_mask is not None:
            pad = attention_mask == 0  # (B, T): keys that are padding
            hidden = torch.ones(T, T, dtype=torch.bool).triu(1)[None, None] | pad[:, None, None, :]
        else:
            hidden = torch.ones(T, T, dtype=torch.bool).triu(1)
        record("forward", training=self.training, checkpointing=use_ckpt, batch=list(input_ids.shape),
               attention_mask=None if attention_mask is None else {"shape": list(attention_mask.shape), "dtype": attention_mask.dtype},
               position_ids=position_ids is not None)
        positions = position_ids if position_ids is not None else torch.arange(T)[None].expand(B, T)
        cos, sin = rope_cache(cfg, positions)
        cos, sin = cos[:, None], sin[:, None]
        x = m.model.embed_tokens(input_ids)
        for layer in m.model.layers:
            if use_ckpt:
                x = checkpoint(layer, x, cos, sin, hidden, use_reentrant=self.checkpointing.get("use_reentrant", True))
            else:
                x = layer(x, cos, sin, hidden)
        return SimpleNamespace(logits=m.lm_head(m.model.norm(x)))


class AutoModelForCausalLM:
    @staticmethod
    def from_pretrained(path, **kwargs):
        q = kwargs.get("quantization_config")
        record("AutoModelForCausalLM.from_pretrained", path=str(path),
               **{k: (v.kwargs if k == "quantization_config" else v) for k, v in kwargs.items()})
        inner = load_checkpoint(path)
        dtype = kwargs.get("dtype", kwargs.get("torch_dtype", torch.float32))
        inner = inner.to(dtype)
        model = _CausalLM(inner, Path(path))
        model.quantized = q is not None
        return model.eval()  # as transformers: eval mode
