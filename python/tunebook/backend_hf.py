"""The `hf` backend: transformers + peft, for real models on a GPU (python/requirements.txt).

What a careful SFT run does, and this backend does:
- the frozen base is loaded in the training precision — fp16 or bf16 weights, not fp32 (a 7B model
  in fp32 is 28 GB) — or in 4-bit NF4 (QLoRA: double-quantized, computing in fp16/bf16), straight
  onto the GPU (`device_map`), never first into CPU memory; `load_in_4bit` without bitsandbytes, or
  without a GPU, is an error before anything loads, not a silent full-size load;
- the LoRA weights (and so their gradients and AdamW state) are fp32; the forward pass runs under
  autocast in fp16/bf16; fp16 losses go through a GradScaler (train_step.py);
- the model is in training mode (`from_pretrained` returns eval mode, where transformers skips
  gradient checkpointing and LoRA dropout is off), with gradient checkpointing non-reentrant
  (`use_reentrant: False`, which needs no input gradients and works with frozen embeddings) and the
  KV cache off;
- target modules are checked against the model's Linear layers, with the names it has;
- packed rows get per-example attention (a block-diagonal causal mask in the attention's dtype, or
  position_ids alone for flash-attention, which reads the example boundaries from them) and
  positions that restart per example;
- the loss is the summed token loss over the label positions only (backend_torch.token_loss_sum),
  normalised by the step's label-token count in train_step.py.

`load_plan(cfg, machine, versions)` decides all of it from the config and the machine without
loading anything (tests/python/test_backend_hf.py checks it for every preset on a simulated T4,
A100 and CPU; the same tests run this backend end to end against stand-in transformers/peft
modules that record every call).

Unsloth is not used. tunebook once said it was "when installed" and nothing did; it cannot be
installed or tested here, and a path no test has run would be a claim, not a feature.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .backend_torch import token_loss_sum
from .distributed import DdpMixin
from .events import emit

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class PlanError(ValueError):
    """The config cannot run on this machine (the message says what to change)."""


@dataclass
class Machine:
    """What the trainer runs on."""

    cuda: bool
    bf16: bool = False
    name: str | None = None
    memory_gb: float | None = None
    device_index: int = 0


def probe_machine() -> Machine:
    if not torch.cuda.is_available():
        return Machine(cuda=False)
    i = torch.cuda.current_device()
    props = torch.cuda.get_device_properties(i)
    return Machine(cuda=True, bf16=torch.cuda.is_bf16_supported(), name=props.name, memory_gb=props.total_memory / 1024**3,
                   device_index=i)


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def load_plan(cfg: dict, machine: Machine, transformers_version: str, have_bitsandbytes: bool) -> dict:
    """How the model is loaded and trained: from_pretrained's keyword arguments (quantization as a
    dict for BitsAndBytesConfig), the device, the autocast dtype, gradient-checkpointing kwargs."""
    precision = cfg.get("precision", "fp32")
    device = cfg.get("device") or ("cuda" if machine.cuda else "cpu")
    on_gpu = device.startswith("cuda")
    if precision != "fp32" and not on_gpu:
        raise PlanError(f"precision {precision}: needs a CUDA GPU, and this machine has none (device {device}); "
                        "set precision fp32 (--set precision=fp32), or use backend torch on the CPU")
    if precision == "bf16" and not machine.bf16:
        raise PlanError(f"precision bf16: {machine.name or 'this GPU'} has no bf16 (T4 and V100 do not); set precision "
                        "fp16 (the colab-t4 preset does)")
    dtype = DTYPES[precision]
    key = "dtype" if _version_tuple(transformers_version) >= (4, 56) else "torch_dtype"
    kwargs: dict = {key: dtype}
    quant = None
    if cfg.get("load_in_4bit"):
        if not on_gpu:
            raise PlanError("load_in_4bit: needs a CUDA GPU (bitsandbytes' 4-bit kernels), and this machine has none; "
                            "set load_in_4bit false")
        if not have_bitsandbytes:
            raise PlanError("load_in_4bit: true, but bitsandbytes is not installed: pip install bitsandbytes "
                            "(python/requirements.txt lists it), or set load_in_4bit false, which loads the whole base "
                            f"in {precision} (deno task finetune --dry-run shows the memory either needs)")
        compute = dtype if precision != "fp32" else torch.float32
        quant = {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True,
                 "bnb_4bit_compute_dtype": compute}
    if on_gpu:
        index = int(device.split(":")[1]) if ":" in device else machine.device_index
        kwargs["device_map"] = {"": index}
    return {
        "from_pretrained": kwargs,
        "quantization": quant,
        "device": device,
        "autocast": dtype if precision != "fp32" else None,
        "gradient_checkpointing": {"use_reentrant": False} if cfg.get("gradient_checkpointing") else None,
    }


def packed_attention_mask(segments: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, 1, T, T) additive mask: 0 where a query may see a key (causal, same segment), the dtype's
    minimum elsewhere — the "inverted" 4-D form transformers' Llama/Mistral/Qwen2 take as given."""
    T = segments.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool, device=segments.device).tril()
    same = segments[:, None, :, None] == segments[:, None, None, :]
    allowed = causal & same
    mask = torch.zeros(allowed.shape, dtype=dtype, device=segments.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


class HfTextEncoder:
    """transformers' tokenizer behind text_encoder.TextEncoder's interface."""

    def __init__(self, tok, generation_eos: list[int]):
        from .special_tokens import tokenizer_adds_bos

        self.tok = tok
        self.bos, self.eos = tok.bos_token_id, tok.eos_token_id
        self.add_bos = tokenizer_adds_bos(tok)
        self.pad = tok.pad_token_id if tok.pad_token_id is not None else (self.eos if self.eos is not None else 0)
        self.stop_ids = {i for i in [self.eos, *generation_eos] if i is not None}
        self.chat_template = getattr(tok, "chat_template", None)

    def encode(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def render_chat(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        from .text_encoder import NoChatTemplate

        if not self.chat_template:
            raise NoChatTemplate("the model's tokenizer has no chat template")
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def _linear_names(model) -> list[str]:
    names = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or type(module).__name__ in ("Linear4bit", "Linear8bitLt"):
            names.add(name.rsplit(".", 1)[-1])
    return sorted(names)


class HfBackend(DdpMixin):
    """transformers + peft, as load_plan says."""

    name = "hf"

    def __init__(self, cfg: dict, machine: Machine | None = None):
        from .events import fail

        try:
            import peft
            import transformers
        except ImportError as e:
            fail(f"backend 'hf' needs transformers and peft ({e}); pip install -r python/requirements.txt, or use backend 'torch'")
        try:
            import bitsandbytes  # noqa: F401

            have_bnb = True
            self.bnb_version = getattr(bitsandbytes, "__version__", "?")
        except ImportError:
            have_bnb, self.bnb_version = False, None
        self.machine = machine or probe_machine()
        try:
            plan = load_plan(cfg, self.machine, transformers.__version__, have_bnb)
        except PlanError as e:
            fail(str(e))
        self.plan = plan
        self.versions = {"transformers": transformers.__version__, "peft": peft.__version__, "bitsandbytes": self.bnb_version}
        self.device = plan["device"]
        self.autocast = plan["autocast"]
        self.fp16 = self.autocast == torch.float16
        kwargs = dict(plan["from_pretrained"])
        if plan["quantization"]:
            kwargs["quantization_config"] = transformers.BitsAndBytesConfig(**plan["quantization"])
        base = cfg["base_model"]
        tok = transformers.AutoTokenizer.from_pretrained(base)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(base, **kwargs)
        if "device_map" not in kwargs:
            self.model.to(self.device)
        self.model.config.use_cache = False
        if plan["gradient_checkpointing"] is not None:
            self.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=plan["gradient_checkpointing"])
        lora = cfg["lora"]
        missing = sorted(set(lora["target_modules"]) - set(_linear_names(self.model)))
        if missing:
            fail(f"lora.target_modules: {missing} are not Linear layers of {base}; it has {_linear_names(self.model)}")
        self.model = peft.get_peft_model(self.model, peft.LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora.get("dropout", 0.0),
            target_modules=list(lora["target_modules"]), task_type="CAUSAL_LM", bias="none"))
        for p in self.model.parameters():
            if p.requires_grad:
                p.data = p.data.float()  # fp32 LoRA weights: their gradients and AdamW moments are fp32 too
        self.model.train()  # from_pretrained returns eval mode: no checkpointing, no dropout
        self.attn_implementation = getattr(self.model.config, "_attn_implementation", None) or "eager"
        self.trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.total = sum(p.numel() for p in self.model.parameters())
        self.enc = HfTextEncoder(tok, _generation_eos(self.model))
        self.pad = self.enc.pad
        emit("note", message=f"hf backend: {base} loaded with {_describe_kwargs(kwargs)}; autocast "
             f"{str(self.autocast).replace('torch.', '') if self.autocast else 'off'}; gradient checkpointing "
             f"{plan['gradient_checkpointing'] or 'off'}; attention {self.attn_implementation}")

    def _inputs(self, batch: dict) -> dict:
        dev = self.device
        ids = batch["input_ids"].to(dev)
        if batch["segments"] is None:
            return {"input_ids": ids, "attention_mask": batch["attention_mask"].to(dev)}
        positions = batch["positions"].to(dev)
        if self.attn_implementation.startswith("flash"):
            return {"input_ids": ids, "position_ids": positions}  # flash-attention reads the boundaries from these
        mask_dtype = self.autocast or next(self.model.parameters()).dtype
        return {"input_ids": ids, "position_ids": positions,
                "attention_mask": packed_attention_mask(batch["segments"].to(dev), mask_dtype)}

    def loss_sum(self, batch: dict, ddp: bool = True) -> tuple[torch.Tensor, int]:
        with torch.autocast("cuda", dtype=self.autocast or torch.float16, enabled=self.autocast is not None):
            logits = self.forward_module(ddp)(**self._inputs(batch)).logits
        return token_loss_sum(logits, batch["labels"])

    def parameters(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    def state(self) -> dict:
        return {"name": self.name, **self.versions}

    def save_adapter(self, out: Path, cfg: dict) -> None:
        self.model.save_pretrained(str(out), safe_serialization=True)

    def load_adapter(self, path: Path) -> None:
        from peft import set_peft_model_state_dict

        from .safetensors_io import load_safetensors

        set_peft_model_state_dict(self.model, load_safetensors(path / "adapter_model.safetensors"))


def _generation_eos(model) -> list[int]:
    gen = getattr(model, "generation_config", None)
    value = getattr(gen, "eos_token_id", None) if gen is not None else None
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _describe_kwargs(kwargs: dict) -> str:
    parts = []
    for k, v in kwargs.items():
        if k == "quantization_config":
            parts.append("4-bit NF4 (double quantization)")
        else:
            parts.append(f"{k}={str(v).replace('torch.', '')}")
    return ", ".join(parts)
