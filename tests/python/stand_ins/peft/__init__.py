"""Stand-in for peft (tests only; see ../README.md): LoraConfig, get_peft_model,
set_peft_model_state_dict, over tunebook's own LoRA layers (same tensor names as peft)."""
from __future__ import annotations

from torch import nn

from stand_in_record import record
from tunebook.lora import PEFT_PREFIX, add_lora, save_peft_adapter

__version__ = "0.17.0"


class LoraConfig:
    def __init__(self, **kwargs):
        record("LoraConfig", **kwargs)
        self.kwargs = kwargs


class _PeftModel(nn.Module):
    def __init__(self, base, config: LoraConfig):
        super().__init__()
        self.base_model = base
        self.peft_config = config

    @property
    def config(self):
        return self.base_model.config

    @property
    def generation_config(self):
        return self.base_model.generation_config

    def forward(self, **kwargs):
        return self.base_model(**kwargs)

    def save_pretrained(self, out, safe_serialization=True):
        k = self.peft_config.kwargs
        record("save_pretrained", safe_serialization=safe_serialization)
        save_peft_adapter(self.base_model.inner, out, base_model="stand-in", r=k["r"], alpha=k["lora_alpha"],
                          dropout=k["lora_dropout"], target_modules=k["target_modules"])


def get_peft_model(model, config: LoraConfig):
    k = config.kwargs
    record("get_peft_model", training=model.training)
    add_lora(model.inner, k["r"], k["lora_alpha"], k["target_modules"], k["lora_dropout"])
    for m in model.inner.modules():  # LoRA weights in the base's dtype, as peft creates them
        if hasattr(m, "lora_A"):
            m.lora_A.to(m.base.weight.dtype)
            m.lora_B.to(m.base.weight.dtype)
    return _PeftModel(model, config)


def set_peft_model_state_dict(model: _PeftModel, state: dict):
    record("set_peft_model_state_dict", tensors=len(state))
    own = dict(model.base_model.inner.named_parameters())
    for name, t in state.items():
        own[name[len(PEFT_PREFIX):]].data.copy_(t)
