"""Read and write the safetensors format with torch alone (no `safetensors` package needed).

Layout: 8-byte little-endian header length, a JSON header mapping each tensor name to its dtype,
shape and byte offsets, then the raw little-endian tensor data. Files are memory-mapped when read,
so reading some tensors of a large shard costs only those tensors.
"""
from __future__ import annotations

import json
import mmap
import struct
from pathlib import Path

import numpy as np
import torch

# safetensors dtype -> (torch dtype, numpy dtype of the raw bytes; bf16 is read as uint16, then viewed)
_DTYPES = {
    "F32": (torch.float32, np.float32),
    "F16": (torch.float16, np.float16),
    "BF16": (torch.bfloat16, np.int16),
    "I64": (torch.int64, np.int64),
    "I32": (torch.int32, np.int32),
    "I8": (torch.int8, np.int8),
    "U8": (torch.uint8, np.uint8),
    "BOOL": (torch.bool, np.bool_),
}
_NAMES = {t: name for name, (t, _) in _DTYPES.items()}


def save_safetensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    header: dict = {}
    if metadata:
        header["__metadata__"] = metadata
    entries, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _NAMES:
            raise ValueError(f"tensor {name}: dtype {t.dtype} not supported (use float32, float16 or bfloat16)")
        size = t.numel() * t.element_size()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        entries.append(t)
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for t in entries:
            f.write(_raw_bytes(t))


def _raw_bytes(t: torch.Tensor) -> bytes:
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def read_header(path: str | Path) -> tuple[dict, int]:
    """(header, offset of the data section); the header maps names to dtype, shape, data_offsets."""
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{p}: too short to be a safetensors file")
        (n,) = struct.unpack("<Q", head)
        size = p.stat().st_size
        if n > size - 8:
            raise ValueError(f"{p}: corrupt safetensors header (length {n} > file size); re-export the checkpoint")
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{p}: corrupt safetensors header ({e}); re-export the checkpoint") from e
    return header, 8 + n


def _copy_out(data: mmap.mmap, np_dtype, offset: int, nbytes: int, shape: list[int]) -> np.ndarray:
    view = np.frombuffer(data, dtype=np_dtype, count=nbytes // np.dtype(np_dtype).itemsize, offset=offset)
    out = view.reshape(shape).copy()
    del view  # the map can close only once no array points into it
    return out


def load_safetensors(path: str | Path, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Every tensor of the file (or only `names`), copied out of a memory map."""
    p = Path(path)
    header, base = read_header(p)
    wanted = [k for k in header if k != "__metadata__"] if names is None else names
    out = {}
    if not wanted:
        return out
    with open(p, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for name in wanted:
            info = header.get(name)
            if info is None:
                raise KeyError(f"{p}: no tensor {name}")
            if info["dtype"] not in _DTYPES:
                raise ValueError(f"{p}: tensor {name} has dtype {info['dtype']}, which this reader does not support")
            start, end = info["data_offsets"]
            torch_dtype, np_dtype = _DTYPES[info["dtype"]]
            t = torch.from_numpy(_copy_out(data, np_dtype, base + start, end - start, info["shape"]))
            out[name] = t.view(torch.bfloat16) if torch_dtype == torch.bfloat16 else t
    return out
