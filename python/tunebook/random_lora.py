"""Write a random GGUF LoRA adapter for a base GGUF, and the base with that adapter merged into it.

    python3 -m tunebook.random_lora BASE.gguf LORA.gguf MERGED.gguf [--rank 8] [--alpha 16]
        [--std 0.05] [--seed 0]

The adapter covers what tunebook's trainer adapts by default (lib/train/config.ts: r 8, alpha 16,
q/k/v/o and gate/up/down): every `blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,
ffn_down}.weight` of BASE, in the layout llama.cpp's src/llama-adapter.cpp reads (general.type
"adapter", adapter.type "lora", adapter.lora.alpha; per weight W of ggml shape [in, out] the pair
`W.lora_a`, numpy rank × in, and `W.lora_b`, numpy out × rank, both f32). MERGED is BASE with
W + (alpha / rank) · B·A in place of each adapted W, computed in f32 and stored in W's own type
(f32 or f16; other types are refused), every other key and tensor copied as is: what llama.cpp
computes with the adapter applied at runtime, as one set of weights. What it is for: tests and
benchmarks comparing an adapter applied at runtime with the same weights merged, on any base.

Prints one JSON line: {"event": "done", "lora", "merged", "adapted", "rank"}.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .gguf_tools import import_gguf

TARGETS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def write_random_lora(
    base: str | Path,
    lora_out: str | Path,
    merged_out: str | Path,
    rank: int = 8,
    alpha: float = 16.0,
    std: float = 0.05,
    seed: int = 0,
) -> dict:
    """Write the adapter and the merged model; returns what was written (the printed JSON)."""
    gguf = import_gguf()
    float_types = {
        gguf.GGMLQuantizationType.F32: np.float32,
        gguf.GGMLQuantizationType.F16: np.float16,
    }
    rng = np.random.default_rng(seed)
    reader = gguf.GGUFReader(str(base))
    arch = reader.fields["general.architecture"].contents()

    lora = gguf.GGUFWriter(str(lora_out), arch)
    lora.add_type(gguf.GGUFType.ADAPTER)
    lora.add_string(gguf.Keys.Adapter.TYPE, "lora")
    lora.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    deltas = {}
    for t in reader.tensors:
        parts = t.name.split(".")
        if not (len(parts) == 4 and parts[0] == "blk" and parts[2] in TARGETS):
            continue
        if t.tensor_type not in float_types:
            raise SystemExit(
                f"{base}: tensor {t.name} is {t.tensor_type.name}; only f32 and f16 bases can be "
                "merged here (use an unquantized base)"
            )
        n_in, n_out = int(t.shape[0]), int(t.shape[1])  # ggml order: [in, out]
        lo_a = (rng.standard_normal((rank, n_in)) * std).astype(np.float32)
        lo_b = (rng.standard_normal((n_out, rank)) * std).astype(np.float32)
        lora.add_tensor(t.name + ".lora_a", lo_a)
        lora.add_tensor(t.name + ".lora_b", lo_b)
        deltas[t.name] = (alpha / rank) * (lo_b @ lo_a)  # numpy (out, in), like W
    if not deltas:
        raise SystemExit(f"{base}: no blk.N.{{{','.join(TARGETS)}}}.weight tensor to adapt")
    lora.write_header_to_file()
    lora.write_kv_data_to_file()
    lora.write_tensors_to_file()
    lora.close()

    merged = gguf.GGUFWriter(str(merged_out), arch)
    for f in reader.fields.values():
        if f.name.startswith("GGUF.") or f.name == "general.architecture":
            continue
        sub = f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        merged.add_key_value(f.name, f.contents(), f.types[0], sub)
    for t in reader.tensors:
        data = np.array(t.data)
        if t.name in deltas:
            w = data.reshape(deltas[t.name].shape).astype(np.float32)
            data = (w + deltas[t.name]).astype(float_types[t.tensor_type])
        merged.add_tensor(t.name, data, raw_dtype=t.tensor_type)
    merged.write_header_to_file()
    merged.write_kv_data_to_file()
    merged.write_tensors_to_file()
    merged.close()
    return {
        "event": "done", "lora": str(lora_out), "merged": str(merged_out), "adapted": len(deltas),
        "rank": rank,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base")
    p.add_argument("lora")
    p.add_argument("merged")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--std", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(json.dumps(write_random_lora(a.base, a.lora, a.merged, a.rank, a.alpha, a.std, a.seed)))


if __name__ == "__main__":
    main()
