"""Read and write the safetensors format with torch alone (no `safetensors` package needed).

Layout: 8-byte little-endian header length, a JSON header mapping each tensor name to its dtype,
shape and byte offsets, then the raw little-endian tensor data.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch

_DTYPES = {
    "F32": (torch.float32, np.float32),
    "F16": (torch.float16, np.float16),
    "I64": (torch.int64, np.int64),
    "I32": (torch.int32, np.int32),
}
_NAMES = {t: name for name, (t, _) in _DTYPES.items()}


def save_safetensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    header: dict = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _NAMES:
            raise ValueError(f"tensor {name}: dtype {t.dtype} not supported (use float32 or float16)")
        data = t.numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def load_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    p = Path(path)
    data = p.read_bytes()
    if len(data) < 8:
        raise ValueError(f"{p}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{p}: corrupt safetensors header (length {n} > file size); re-export the checkpoint")
    try:
        header = json.loads(data[8 : 8 + n])
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: corrupt safetensors header ({e}); re-export the checkpoint") from e
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{p}: tensor {name} has dtype {info['dtype']}, which this reader does not support")
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[base + start : base + end], dtype=_DTYPES[info["dtype"]][1]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out
