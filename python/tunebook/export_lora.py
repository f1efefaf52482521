"""Export a PEFT LoRA adapter for GGUF runtimes.

    python3 -m tunebook.export_lora ADAPTER_DIR BASE_DIR --gguf-lora OUT.gguf
    python3 -m tunebook.export_lora ADAPTER_DIR BASE_DIR --merged-dir OUT_DIR [--merged-gguf OUT.gguf]

`--gguf-lora` writes a GGUF LoRA adapter (general.type=adapter, adapter.type=lora, adapter.lora.alpha)
that node-llama-cpp / llama.cpp apply on the base GGUF: tensors `<llama.cpp name>.lora_a` (r × in) and
`.lora_b` (out × r), with the B rows of q_proj/k_proj permuted into llama.cpp's rotary layout like the
base weights (Llama, Mistral; Qwen2 keeps HF's). `--merged-dir` folds W + (alpha/r)·B·A into a Hugging
Face checkpoint — shard by shard when the base is sharded, each shard in the base's dtype — with the
base's config, tokenizer files (tokenizer.model and/or tokenizer.json, chat template) and a
generation_config.json that keeps the model's stop tokens (the base's own, else one written from
config.json and the tokenizer's eos); `--merged-gguf` exports that to GGUF (f32), ready for
`deno task quantize`. BASE is a folder or a Hub id (looked up in the Hugging Face cache, as training
did; hf_files.py). llama.cpp's own convert_lora_to_gguf.py needs transformers; this writes the same
layout with gguf-py alone.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from .export_gguf import export, gguf_arch, permute_rotary, permutes_rotary
from .gguf_tools import import_gguf
from .hf_files import COMPANION_FILES, read_config, resolve_model_dir, weight_files
from .lora import lora_pairs, merge_lora, read_peft_adapter
from .model import LlamaConfig
from .safetensors_io import load_safetensors, save_safetensors


def export_gguf_lora(adapter_dir: Path, base_dir: Path, out: Path) -> Path:
    gguf = import_gguf()
    cfg_adapter, tensors = read_peft_adapter(adapter_dir)
    cfg = LlamaConfig.from_hf(read_config(base_dir), str(base_dir / "config.json"))
    arch, model_arch = gguf_arch(cfg, gguf)
    names = gguf.get_tensor_name_map(model_arch, cfg.num_hidden_layers)
    permute = permutes_rotary(cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out), arch)
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(cfg_adapter["lora_alpha"]))
    w.add_name(adapter_dir.name)
    for module, (a, b) in sorted(lora_pairs(tensors).items()):
        if permute and module.endswith("self_attn.q_proj"):
            b = permute_rotary(b, cfg.num_attention_heads)
        elif permute and module.endswith("self_attn.k_proj"):
            b = permute_rotary(b, cfg.num_key_value_heads)
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise SystemExit(f"{adapter_dir}: adapter module {module} has no llama.cpp tensor name")
        w.add_tensor(target + ".lora_a", a.float().contiguous().numpy())
        w.add_tensor(target + ".lora_b", b.float().contiguous().numpy())
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def generation_config(base_dir: Path) -> dict:
    """The merged model's generation_config.json: the base's, else its config.json's bos/eos plus the
    tokenizer's eos (Llama-3-Instruct's <|eot_id|>, Qwen's <|im_end|>) so chat generation stops."""
    path = base_dir / "generation_config.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    from .text_encoder import load_text_encoder

    cfg = read_config(base_dir)
    eos = cfg.get("eos_token_id")
    ids = [] if eos is None else list(eos) if isinstance(eos, list) else [eos]
    try:
        tok_eos = load_text_encoder(base_dir).eos
    except (FileNotFoundError, ValueError):
        tok_eos = None
    if tok_eos is not None and tok_eos not in ids:
        ids.append(tok_eos)
    out = {"_from_model_config": True}
    if cfg.get("bos_token_id") is not None:
        out["bos_token_id"] = cfg["bos_token_id"]
    if ids:
        out["eos_token_id"] = ids[0] if len(ids) == 1 else ids
    return out


def export_merged(adapter_dir: Path, base_dir: Path, out_dir: Path) -> Path:
    """W + (alpha/r)·B·A in a checkpoint folder laid out as the base's (same shards, same dtypes)."""
    _, tensors = read_peft_adapter(adapter_dir)
    wanted = {f"{m}.weight" for m in lora_pairs(tensors)}
    files = weight_files(base_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for f in files:  # one shard in memory at a time
        state = load_safetensors(f)
        part = {k for k in wanted if k in state}
        merged = merge_lora(state, adapter_dir, only=part)
        seen |= part
        save_safetensors(out_dir / f.name, merged, metadata={"format": "pt"})
    missing = sorted(wanted - seen)
    if missing:
        raise ValueError(f"{adapter_dir}: adapter module {missing[0][: -len('.weight')]} is not in the base model "
                         f"{base_dir}; was it trained on another base?")
    if len(files) > 1:
        shutil.copy(base_dir / "model.safetensors.index.json", out_dir / "model.safetensors.index.json")
    shutil.copy(base_dir / "config.json", out_dir / "config.json")
    for f in COMPANION_FILES:
        if f != "generation_config.json" and (base_dir / f).is_file():
            shutil.copy(base_dir / f, out_dir / f)
    (out_dir / "generation_config.json").write_text(json.dumps(generation_config(base_dir), indent=2) + "\n")
    return out_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adapter_dir", type=Path)
    ap.add_argument("base_dir", type=Path, help="the base model: a folder, or a Hub id in the Hugging Face cache")
    ap.add_argument("--gguf-lora", type=Path)
    ap.add_argument("--merged-dir", type=Path)
    ap.add_argument("--merged-gguf", type=Path)
    a = ap.parse_args()
    if not (a.gguf_lora or a.merged_dir):
        ap.error("give --gguf-lora and/or --merged-dir")
    report = {}
    try:
        a.base_dir = resolve_model_dir(str(a.base_dir))
        if a.gguf_lora:
            report["gguf_lora"] = str(export_gguf_lora(a.adapter_dir, a.base_dir, a.gguf_lora))
        if a.merged_dir:
            report["merged_dir"] = str(export_merged(a.adapter_dir, a.base_dir, a.merged_dir))
            if a.merged_gguf:
                report["merged_gguf"] = str(export(a.merged_dir, a.merged_gguf, "f32", name=a.merged_dir.name))
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e)) from e
    print(json.dumps({"event": "done", **report}))


if __name__ == "__main__":
    main()
