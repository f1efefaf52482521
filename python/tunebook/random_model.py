"""Write a tiny random-weight GGUF model of a real architecture around a real vocabulary.

    python3 -m tunebook.random_model VOCAB.gguf OUT.gguf [--arch llama] [--hidden 64] [--layers 1]
        [--heads 4] [--kv-heads 2] [--ff 128] [--ctx 2048] [--seed 0] [--type f32|f16]
        [--chat-template FILE] [--set KEY=JSON ...] [--drop KEY ...]

The vocabulary and every `tokenizer.*` key (tokens, scores, types, merges, special token ids,
add_bos/add_eos, pre-tokenizer, chat template) are copied from VOCAB.gguf — e.g. llama.cpp's
`models/ggml-vocab-*.gguf` — so the model tokenizes exactly as the real one does; the tensors are
small and random (seeded, so a model is reproducible byte for byte). What it is for: tests of
everything that depends on a model's tokenizer and architecture but not on its weights (BOS/EOS
rules, chat templates, scoring paths, quantization kernels: a hidden size that is a multiple of 256
lets k-quants apply).

Architectures (llama.cpp names): llama (also for deepseek-llm/-coder vocabularies), qwen2 (q/k/v
biases), phi3 (fused qkv and gate/up), gemma, gpt2 (learned positions, LayerNorm with biases),
command-r. Output embeddings are tied to the input ones (llama.cpp duplicates token_embd).

Prints one JSON line: {"event": "done", "path", "bytes", "arch", "vocab", "n_vocab"}.
"""
from __future__ import annotations

import argparse
import json
import math
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .gguf_tools import import_gguf

ARCHS = ("llama", "qwen2", "phi3", "gemma", "gpt2", "command-r")
# Architectures whose blocks use LayerNorm (eps key `attention.layer_norm_epsilon`) instead of RMSNorm.
LAYER_NORM = {"gpt2", "command-r"}


@dataclass
class Shape:
    """Hyper-parameters of the random model."""

    arch: str = "llama"
    hidden: int = 64
    layers: int = 1
    heads: int = 4
    kv_heads: int = 2
    ff: int = 128
    ctx: int = 2048
    seed: int = 0
    dtype: str = "f32"

    def check(self) -> None:
        if self.arch not in ARCHS:
            raise SystemExit(f"--arch {self.arch}: not one of {', '.join(ARCHS)}")
        if self.hidden % self.heads or (self.hidden // self.heads) % 2:
            raise SystemExit(f"--hidden {self.hidden} must split into --heads {self.heads} heads of an even size")
        if self.heads % self.kv_heads:
            raise SystemExit(f"--kv-heads {self.kv_heads} must divide --heads {self.heads}")
        if self.arch == "gpt2" and self.kv_heads != self.heads:
            raise SystemExit("--arch gpt2 has no grouped-query attention: give --kv-heads equal to --heads")
        if min(self.hidden, self.layers, self.heads, self.kv_heads, self.ff, self.ctx) < 1:
            raise SystemExit("sizes must be positive")


# GGUF value types (gguf.GGUFValueType) and their struct formats, for the metadata reader below.
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def read_metadata(path: Path) -> dict[str, tuple[int, object, int | None]]:
    """A GGUF file's metadata as {key: (type, value, array item type)}; strings stay bytes.

    gguf-py's GGUFReader builds a numpy view per array item (seconds for a 150k-token vocabulary);
    this reads the same key/value section with struct in a fraction of that.
    """
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"GGUF":
        raise SystemExit(f"{path}: not a GGUF file")
    (version,) = struct.unpack_from("<I", data, 4)
    if version < 2:
        raise SystemExit(f"{path}: GGUF version {version} is too old (need 2 or 3)")
    n_kv = struct.unpack_from("<Q", data, 16)[0]
    pos = 24

    def string() -> bytes:
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        s = bytes(data[pos:pos + n])
        pos += n
        return s

    def scalar(t: int):
        nonlocal pos
        fmt = "<" + _SCALAR[t]
        (v,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v

    out: dict[str, tuple[int, object, int | None]] = {}
    for _ in range(n_kv):
        key = string().decode("utf-8")
        (t,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if t == _STRING:
            out[key] = (t, string(), None)
        elif t == _ARRAY:
            sub, n = struct.unpack_from("<IQ", data, pos)
            pos += 12
            if sub == _STRING:
                items = [string() for _ in range(n)]
            elif sub in _SCALAR:
                fmt = "<" + _SCALAR[sub] * n
                items = list(struct.unpack_from(fmt, data, pos))
                pos += struct.calcsize(fmt)
            else:
                raise SystemExit(f"{path}: key {key}: nested arrays are not supported")
            out[key] = (t, items, sub)
        elif t in _SCALAR:
            out[key] = (t, scalar(t), None)
        else:
            raise SystemExit(f"{path}: key {key}: unknown GGUF value type {t}")
    return out


def copy_tokenizer(writer, vocab: Path, gguf) -> int:
    """Copy every `tokenizer.*` key of the vocab file (raw bytes for strings). Returns n_vocab."""
    T = gguf.GGUFValueType
    n_vocab = 0
    for key, (t, value, sub) in read_metadata(vocab).items():
        if not key.startswith("tokenizer."):
            continue
        if t == _STRING:
            value = value.decode("utf-8")
        writer.add_key_value(key, value, T(t), sub_type=None if sub is None else T(sub))
        if key == "tokenizer.ggml.tokens":
            n_vocab = len(value)
    if not n_vocab:
        raise SystemExit(f"{vocab}: no tokenizer.ggml.tokens: is it a GGUF with a vocabulary?")
    return n_vocab


def parse_set(items: list[str], gguf) -> list[tuple[str, object, object]]:
    """KEY=JSON pairs -> (key, value, GGUF type); booleans, integers (uint32), floats, strings."""
    T = gguf.GGUFValueType
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item}: expected KEY=VALUE (VALUE as JSON: true, 12, 0.5, \"text\")")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if isinstance(value, bool):
            out.append((key, value, T.BOOL))
        elif isinstance(value, int):
            out.append((key, value, T.UINT32))
        elif isinstance(value, float):
            out.append((key, value, T.FLOAT32))
        elif isinstance(value, str):
            out.append((key, value, T.STRING))
        else:
            raise SystemExit(f"--set {item}: only booleans, numbers and strings")
    return out


def tensors(shape: Shape, n_vocab: int) -> dict[str, np.ndarray]:
    """Random tensors under llama.cpp's names, numpy shape (out, in) = ggml ne (in, out)."""
    rng = np.random.default_rng(shape.seed)
    h, ff, head = shape.hidden, shape.ff, shape.hidden // shape.heads
    kv = head * shape.kv_heads

    def w(n_out: int, n_in: int) -> np.ndarray:
        return (rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)).astype(np.float32)

    def vec(n: int, around: float = 0.0, spread: float = 0.1) -> np.ndarray:
        return (around + spread * rng.standard_normal(n)).astype(np.float32)

    # Token embeddings (tied output): logits of std ≈ 2 after the final norm, so the model's
    # distributions are neither flat nor one-hot.
    out: dict[str, np.ndarray] = {
        "token_embd.weight": (2.0 / math.sqrt(h) * rng.standard_normal((n_vocab, h))).astype(np.float32),
    }
    a = shape.arch
    if a == "gpt2":
        out["position_embd.weight"] = (0.1 * rng.standard_normal((shape.ctx, h))).astype(np.float32)
    for i in range(shape.layers):
        b = f"blk.{i}."
        out[b + "attn_norm.weight"] = vec(h, 1.0)
        if a == "gpt2":
            out[b + "attn_norm.bias"] = vec(h)
        if a in ("phi3", "gpt2"):
            out[b + "attn_qkv.weight"] = w(h + 2 * kv, h)
            if a == "gpt2":
                out[b + "attn_qkv.bias"] = vec(h + 2 * kv)
        else:
            out[b + "attn_q.weight"] = w(h, h)
            out[b + "attn_k.weight"] = w(kv, h)
            out[b + "attn_v.weight"] = w(kv, h)
            if a == "qwen2":
                out[b + "attn_q.bias"] = vec(h)
                out[b + "attn_k.bias"] = vec(kv)
                out[b + "attn_v.bias"] = vec(kv)
        out[b + "attn_output.weight"] = w(h, h)
        if a == "gpt2":
            out[b + "attn_output.bias"] = vec(h)
        if a != "command-r":  # command-r runs attention and FFN in parallel on one norm
            out[b + "ffn_norm.weight"] = vec(h, 1.0)
            if a == "gpt2":
                out[b + "ffn_norm.bias"] = vec(h)
        if a == "phi3":
            out[b + "ffn_up.weight"] = w(2 * ff, h)
        else:
            out[b + "ffn_up.weight"] = w(ff, h)
            if a == "gpt2":
                out[b + "ffn_up.bias"] = vec(ff)
            else:
                out[b + "ffn_gate.weight"] = w(ff, h)
        out[b + "ffn_down.weight"] = w(h, ff)
        if a == "gpt2":
            out[b + "ffn_down.bias"] = vec(h)
    out["output_norm.weight"] = vec(h, 1.0)
    if a == "gpt2":
        out["output_norm.bias"] = vec(h)
    return out


def write_random_model(vocab: Path, out: Path, shape: Shape, chat_template: str | None = None,
                       overrides: list[str] = (), drops: list[str] = ()) -> dict:
    """Write the model; returns what the CLI prints."""
    shape.check()
    gguf = import_gguf()
    if not vocab.is_file():
        raise SystemExit(f"{vocab}: vocab file not found (llama.cpp's are in .cache/llama.cpp/models/ggml-vocab-*.gguf)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), shape.arch)
    w.add_name(f"random {shape.arch} with {vocab.name}")
    w.add_context_length(shape.ctx)
    w.add_embedding_length(shape.hidden)
    w.add_block_count(shape.layers)
    w.add_feed_forward_length(shape.ff)
    w.add_head_count(shape.heads)
    w.add_head_count_kv(shape.kv_heads)
    if shape.arch in LAYER_NORM:
        w.add_layer_norm_eps(1e-5)
    else:
        w.add_layer_norm_rms_eps(1e-5)
    if shape.arch != "gpt2":
        w.add_rope_dimension_count(shape.hidden // shape.heads)
        w.add_rope_freq_base(10000.0)
    if shape.arch == "command-r":
        w.add_logit_scale(1.0)
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16}.get(shape.dtype)
    if ftype is None:
        raise SystemExit(f"--type {shape.dtype}: f32 or f16")
    w.add_file_type(ftype)
    n_vocab = copy_tokenizer(w, vocab, gguf)
    w.add_vocab_size(n_vocab)
    if chat_template is not None:
        w.add_key_value("tokenizer.chat_template", chat_template, gguf.GGUFValueType.STRING)
    for key, value, vtype in parse_set(list(overrides), gguf):
        w.add_key_value(key, value, vtype)
    for key in drops:
        w.remove_key(key)
    for name, t in tensors(shape, n_vocab).items():
        if shape.dtype == "f16" and t.ndim == 2:
            t = t.astype(np.float16)
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(out)
    return {"event": "done", "path": str(out), "bytes": out.stat().st_size, "arch": shape.arch,
            "vocab": str(vocab), "n_vocab": n_vocab}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vocab", type=Path, help="GGUF whose vocabulary and tokenizer.* keys are copied")
    ap.add_argument("out", type=Path)
    d = Shape()
    ap.add_argument("--arch", default=d.arch, choices=ARCHS)
    ap.add_argument("--hidden", type=int, default=d.hidden)
    ap.add_argument("--layers", type=int, default=d.layers)
    ap.add_argument("--heads", type=int, default=d.heads)
    ap.add_argument("--kv-heads", type=int, help="default: --heads / 2 (gpt2: --heads)")
    ap.add_argument("--ff", type=int, help="feed-forward width; default: 2 × --hidden")
    ap.add_argument("--ctx", type=int, default=d.ctx, help="training context length")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--type", default=d.dtype, choices=["f32", "f16"], help="f16: 2-D tensors in f16")
    ap.add_argument("--chat-template", type=Path, help="Jinja file to store as tokenizer.chat_template")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="set a metadata key, e.g. tokenizer.ggml.add_bos_token=false (repeatable)")
    ap.add_argument("--drop", action="append", default=[], metavar="KEY", help="remove a copied key (repeatable)")
    a = ap.parse_args(argv)
    kv_heads = a.kv_heads or (a.heads if a.arch == "gpt2" else max(1, a.heads // 2))
    shape = Shape(a.arch, a.hidden, a.layers, a.heads, kv_heads, a.ff or 2 * a.hidden, a.ctx, a.seed, a.type)
    template = a.chat_template.read_text(encoding="utf-8") if a.chat_template else None
    print(json.dumps(write_random_model(a.vocab, a.out, shape, template, a.set, a.drop)))


if __name__ == "__main__":
    main(sys.argv[1:])
