"""Export a PEFT LoRA adapter for GGUF runtimes.

    python3 -m tunebook.export_lora ADAPTER_DIR BASE_DIR --gguf-lora OUT.gguf
    python3 -m tunebook.export_lora ADAPTER_DIR BASE_DIR --merged-dir OUT_DIR [--merged-gguf OUT.gguf]

`--gguf-lora` writes a GGUF LoRA adapter (general.type=adapter, adapter.type=lora, adapter.lora.alpha)
that node-llama-cpp / llama.cpp apply on the base GGUF: tensors `<llama.cpp name>.lora_a` (r × in) and
`.lora_b` (out × r), with the B rows of q_proj/k_proj permuted into llama.cpp's rotary layout like the
base weights. `--merged-dir` folds W + (alpha/r)·B·A into a Hugging Face checkpoint (tokenizer files
copied), and `--merged-gguf` exports that to GGUF (f32), ready for `deno task quantize`.
llama.cpp's own convert_lora_to_gguf.py needs transformers; this writes the same layout with gguf-py alone.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from .export_gguf import export, permute_rotary
from .gguf_tools import import_gguf
from .lora import lora_pairs, merge_lora, read_peft_adapter
from .model import LlamaConfig
from .safetensors_io import load_safetensors, save_safetensors

TOKENIZER_FILES = ["tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"]


def export_gguf_lora(adapter_dir: Path, base_dir: Path, out: Path) -> Path:
    gguf = import_gguf()
    cfg_adapter, tensors = read_peft_adapter(adapter_dir)
    cfg = LlamaConfig.from_hf(json.loads((base_dir / "config.json").read_text()))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    out.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(out), "llama")
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(cfg_adapter["lora_alpha"]))
    w.add_name(adapter_dir.name)
    for module, (a, b) in sorted(lora_pairs(tensors).items()):
        if module.endswith("self_attn.q_proj"):
            b = permute_rotary(b, cfg.num_attention_heads)
        elif module.endswith("self_attn.k_proj"):
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


def export_merged(adapter_dir: Path, base_dir: Path, out_dir: Path) -> Path:
    state = load_safetensors(base_dir / "model.safetensors")
    merged = merge_lora(state, adapter_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_safetensors(out_dir / "model.safetensors", merged, metadata={"format": "pt"})
    shutil.copy(base_dir / "config.json", out_dir / "config.json")
    for f in TOKENIZER_FILES:
        if (base_dir / f).is_file():
            shutil.copy(base_dir / f, out_dir / f)
    return out_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adapter_dir", type=Path)
    ap.add_argument("base_dir", type=Path)
    ap.add_argument("--gguf-lora", type=Path)
    ap.add_argument("--merged-dir", type=Path)
    ap.add_argument("--merged-gguf", type=Path)
    a = ap.parse_args()
    if not (a.gguf_lora or a.merged_dir):
        ap.error("give --gguf-lora and/or --merged-dir")
    report = {}
    try:
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
