"""What a fine-tuning run will do, and roughly how much memory it needs, before anything loads.

    python3 -m tunebook.plan CONFIG.json [--model-config config.json] [--gpu-memory-gb 15]

Prints one JSON object (`deno task finetune --dry-run` shows it as a table; the trainer records the
same object as its first event, `plan`): the dtype of each part (frozen base, embeddings/lm_head,
LoRA weights, optimizer state, activations), 4-bit, gradient checkpointing, micro batch × gradient
accumulation, the LoRA's trainable parameters, and an estimated peak of the memory torch allocates
(what `torch.cuda.max_memory_allocated` reports; the CUDA context, a few hundred MB, comes on top).

The estimate is arithmetic over the model's config.json for the worst case — every row
`max_seq_len` tokens — and not a measurement:
- weights: parameters × bytes of their dtype; NF4 with double quantization is 4.127 bits a weight
  (4-bit codes, an 8-bit scale per 64 weights, an fp32 scale per 256 scales); embeddings,
  lm_head and norms are not quantized;
- LoRA: r × (in + out) per adapted Linear, 16 bytes a parameter (fp32 weight, gradient, AdamW's
  two moments);
- activations per token and layer: (8·hidden + 5·intermediate) values in the activation dtype plus
  8·hidden bytes of fp32 norm inputs; with gradient checkpointing only each layer's input is kept
  (hidden values) and one layer is recomputed at a time;
- logits: micro_batch × max_seq_len × vocab in the activation dtype, twice (output and its
  gradient), plus 8 bytes each for the fp32 copy the loss takes and its gradient.
It has not been compared with a measured peak (`torch.cuda.max_memory_allocated`, which the
trainer's `done` event reports on a GPU): no GPU was available when it was written.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

GB = 1024**3
BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}
NF4_BITS_DOUBLE_QUANT = 4 + 8 / 64 + 32 / (64 * 256)


def parameter_counts(mc: dict) -> dict:
    """Parameters by part, from a Llama/Mistral/Qwen2 config.json."""
    H, I, L, V = mc["hidden_size"], mc["intermediate_size"], mc["num_hidden_layers"], mc["vocab_size"]
    nh = mc["num_attention_heads"]
    nkv = mc.get("num_key_value_heads") or nh
    hd = mc.get("head_dim") or H // nh
    q, kv = nh * hd, nkv * hd
    linear = {
        "q_proj": (H, q), "k_proj": (H, kv), "v_proj": (H, kv), "o_proj": (q, H),
        "gate_proj": (H, I), "up_proj": (H, I), "down_proj": (I, H),
    }
    per_layer_linear = sum(i * o for i, o in linear.values())
    bias = (q + 2 * kv) if mc.get("model_type") == "qwen2" or mc.get("attention_bias") else 0
    embed = V * H
    head = 0 if mc.get("tie_word_embeddings") else V * H
    norms = L * 2 * H + H
    return {"linear": L * per_layer_linear, "bias": L * bias, "embed": embed, "lm_head": head, "norms": norms,
            "total": L * (per_layer_linear + bias) + embed + head + norms, "shapes": linear, "layers": L}


def lora_parameters(counts: dict, r: int, targets: list[str]) -> int:
    return counts["layers"] * sum(r * (i + o) for name, (i, o) in counts["shapes"].items() if name in targets)


def resolved_dtypes(cfg: dict) -> dict:
    """The dtype of each part, as the backend will set it (finetune.py)."""
    if cfg["backend"] == "torch":
        return {"frozen_base": "fp32", "embeddings_and_lm_head": "fp32", "lora_weights": "fp32",
                "optimizer_state": "fp32 (AdamW, 2 moments)", "activations": "fp32", "loss": "fp32"}
    p = cfg.get("precision", "fp32")
    base = f"nf4 (4-bit, double-quantized; computes in {p if p != 'fp32' else 'fp32'})" if cfg.get("load_in_4bit") else p
    return {"frozen_base": base, "embeddings_and_lm_head": p, "lora_weights": "fp32",
            "optimizer_state": "fp32 (AdamW, 2 moments)",
            "activations": f"{p} (autocast)" if p != "fp32" else "fp32", "loss": "fp32"}


def estimate_memory(cfg: dict, mc: dict) -> dict:
    """Estimated peak allocation in GB, by part (see the module docstring)."""
    counts = parameter_counts(mc)
    p = "fp32" if cfg["backend"] == "torch" else cfg.get("precision", "fp32")
    a = BYTES[p]
    H, I, V, L = mc["hidden_size"], mc["intermediate_size"], mc["vocab_size"], counts["layers"]
    if cfg["backend"] == "hf" and cfg.get("load_in_4bit"):
        weights = counts["linear"] * NF4_BITS_DOUBLE_QUANT / 8 + (counts["bias"] + counts["embed"] + counts["lm_head"] + counts["norms"]) * a
    else:
        weights = counts["total"] * a
    lora = cfg["lora"]
    trainable = lora_parameters(counts, lora["r"], lora["target_modules"])
    tokens = cfg["batch_size"] * cfg["max_seq_len"]
    per_layer = tokens * ((8 * H + 5 * I) * a + 8 * H)
    if cfg.get("gradient_checkpointing"):
        activations = L * tokens * H * a + per_layer
    else:
        activations = L * per_layer
    logits = tokens * V * (2 * a + 8)
    parts = {"weights": weights, "lora_and_optimizer": trainable * 16, "activations": activations, "logits": logits}
    out = {k: round(v / GB, 2) for k, v in parts.items()}
    out["peak"] = round(sum(parts.values()) / GB, 2)
    return {"memory_gb": out, "parameters": counts["total"], "trainable_params": trainable}


def build_plan(cfg: dict, model_config: dict | None, model_note: str | None = None,
               gpu_memory_gb: float | None = None) -> dict:
    """The plan of a run with trainer config `cfg` on a model with `model_config` (None: unknown)."""
    accum = cfg.get("grad_accum", 1)
    plan = {
        "backend": cfg["backend"],
        "base_model": cfg["base_model"],
        "dtypes": resolved_dtypes(cfg),
        "load_in_4bit": bool(cfg["backend"] == "hf" and cfg.get("load_in_4bit")),
        "gradient_checkpointing": bool(cfg["backend"] == "hf" and cfg.get("gradient_checkpointing")),
        "micro_batch": cfg["batch_size"],
        "grad_accum": accum,
        "effective_batch": cfg["batch_size"] * accum,
        "max_seq_len": cfg["max_seq_len"],
        "packing": bool(cfg.get("packing")),
        "lora": {"r": cfg["lora"]["r"], "alpha": cfg["lora"]["alpha"], "dropout": cfg["lora"].get("dropout", 0.0),
                 "target_modules": list(cfg["lora"]["target_modules"])},
        "notes": [],
    }
    if cfg["backend"] == "torch" and (cfg.get("load_in_4bit") or cfg.get("gradient_checkpointing") or cfg.get("precision", "fp32") != "fp32"):
        plan["notes"].append("backend torch trains in fp32 on the CPU: precision, load_in_4bit and gradient_checkpointing "
                             "apply to backend hf only")
    if model_config is None:
        plan["model"] = None
        plan["notes"].append(f"memory not estimated: {model_note or 'the model config.json is not available'}")
        return plan
    est = estimate_memory(cfg, model_config)
    plan["model"] = {"model_type": model_config.get("model_type"), "parameters": est["parameters"],
                     "layers": model_config["num_hidden_layers"], "hidden_size": model_config["hidden_size"],
                     "vocab_size": model_config["vocab_size"]}
    plan["lora"]["trainable_params"] = est["trainable_params"]
    plan["memory_gb"] = est["memory_gb"]
    plan["memory_basis"] = (f"estimate for micro batch {cfg['batch_size']} × {cfg['max_seq_len']} tokens (every row at "
                            "max_seq_len), torch allocations only (the CUDA context comes on top)")
    if gpu_memory_gb is not None:
        plan["gpu_memory_gb"] = round(gpu_memory_gb, 2)
        if est["memory_gb"]["peak"] > 0.95 * gpu_memory_gb:
            plan["notes"].append(
                f"the estimated peak ({est['memory_gb']['peak']} GB) is above this GPU's {gpu_memory_gb:.1f} GB: lower "
                "batch_size (raise grad_accum to keep the effective batch), lower max_seq_len, or turn on "
                "gradient_checkpointing / load_in_4bit")
    return plan


def model_config_for(base_model: str) -> tuple[dict | None, str | None]:
    """(config.json, None) of a local folder or a cached Hub id, else (None, why)."""
    from .hf_files import read_config, resolve_model_dir

    try:
        return read_config(resolve_model_dir(base_model, download=False)), None
    except (FileNotFoundError, ValueError) as e:
        return None, str(e)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", type=Path)
    ap.add_argument("--model-config", type=Path, help="the base model's config.json (default: from base_model)")
    ap.add_argument("--gpu-memory-gb", type=float, help="compare the estimate with this much GPU memory")
    a = ap.parse_args(argv)
    cfg = json.loads(a.config.read_text())
    if a.model_config:
        mc, note = json.loads(a.model_config.read_text()), None
    else:
        mc, note = model_config_for(cfg["base_model"])
    plan = build_plan(cfg, mc, note, a.gpu_memory_gb)
    if plan["load_in_4bit"] and importlib.util.find_spec("bitsandbytes") is None:
        plan["notes"].append("load_in_4bit: bitsandbytes is not installed in this Python: the run stops with an error "
                             "before loading (pip install bitsandbytes on the GPU machine, or set load_in_4bit false)")
    print(json.dumps({"event": "plan", **plan}))


if __name__ == "__main__":
    main(sys.argv[1:])
