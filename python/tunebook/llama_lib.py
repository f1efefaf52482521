"""llama.cpp's C API (libllama) from Python, for what the Colab notebook needs after training:
`llama_model_quantize` (the function `llama-quantize` calls) and greedy generation on a GGUF.

    python3 -m tunebook.llama_lib quantize IN.gguf OUT.gguf q4_k_m [--threads N]
    python3 -m tunebook.llama_lib generate MODEL.gguf PROMPT [--max-tokens N]

The library is `TUNEBOOK_LIBLLAMA` (a libllama.so built from llama.cpp at the commit tunebook's
runtime is pinned to: on Colab the notebook builds it from that source; elsewhere node-llama-cpp's
prebuilt CPU library, the same one lib/llm opens). Struct layouts are those of that commit's
llama.h (lib/llm/_libllama.ts declares the same ones field by field): the structs are passed as
opaque bytes of the right size, with the few fields set at their offsets. llama.cpp logs to stderr,
so `quantize` runs in its own process and the caller reads the fallback warnings from there.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time

# llama_ftype values (llama.h) by the names `llama-quantize` and `deno task quantize` take.
FTYPES = {"f16": 1, "q4_0": 2, "q8_0": 7, "q4_k_m": 15, "q5_k_m": 17, "q6_k": 18}

# Struct sizes at the pinned commit (x86-64/aarch64), as lib/llm/_libllama.ts declares them.
QUANTIZE_PARAMS_SIZE, QUANT_NTHREAD, QUANT_FTYPE = 64, 0, 4
MODEL_PARAMS_SIZE = 80
CONTEXT_PARAMS_SIZE, CTX_N_CTX, CTX_N_BATCH = 160, 0, 4
BATCH_SIZE = 56


def _opaque(size: int):
    class Opaque(ctypes.Structure):
        _fields_ = [("raw", ctypes.c_uint64 * (size // 8))]

    return Opaque


QuantizeParams, ModelParams, ContextParams, Batch = (_opaque(n) for n in (QUANTIZE_PARAMS_SIZE, MODEL_PARAMS_SIZE,
                                                                          CONTEXT_PARAMS_SIZE, BATCH_SIZE))


def _set_i32(struct, offset: int, value: int) -> None:
    ctypes.c_int32.from_buffer(struct, offset).value = value


def open_library(path: str | None = None) -> ctypes.CDLL:
    path = path or os.environ.get("TUNEBOOK_LIBLLAMA")
    if not path or not os.path.isfile(path):
        raise SystemExit(f"libllama not found ({path or 'TUNEBOOK_LIBLLAMA is not set'}): build llama.cpp's `llama` "
                         "library at the pinned commit (the notebook's llama.cpp cell does) and set TUNEBOOK_LIBLLAMA to it")
    lib = ctypes.CDLL(path)
    p, i32, u32, b = ctypes.c_void_p, ctypes.c_int32, ctypes.c_uint32, ctypes.c_bool
    sig = {
        "llama_backend_init": ([], None),
        "llama_model_quantize_default_params": ([], QuantizeParams),
        "llama_model_quantize": ([ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(QuantizeParams)], u32),
        "llama_model_default_params": ([], ModelParams),
        "llama_model_load_from_file": ([ctypes.c_char_p, ModelParams], p),
        "llama_model_free": ([p], None),
        "llama_model_get_vocab": ([p], p),
        "llama_vocab_n_tokens": ([p], i32),
        "llama_vocab_is_eog": ([p, i32], b),
        "llama_tokenize": ([p, ctypes.c_char_p, i32, ctypes.POINTER(i32), i32, b, b], i32),
        "llama_token_to_piece": ([p, i32, ctypes.c_char_p, i32, i32, b], i32),
        "llama_context_default_params": ([], ContextParams),
        "llama_init_from_model": ([p, ContextParams], p),
        "llama_free": ([p], None),
        "llama_batch_get_one": ([ctypes.POINTER(i32), i32], Batch),
        "llama_decode": ([p, Batch], i32),
        "llama_get_logits_ith": ([p, i32], ctypes.POINTER(ctypes.c_float)),
    }
    for name, (args, res) in sig.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    # A build with GGML_BACKEND_DL (node-llama-cpp's) keeps its CPU backend in a library of its
    # own next to libllama; load what is there (a no-op for a build with the backend linked in).
    load = getattr(lib, "ggml_backend_load_all_from_path", None)
    if load is not None:
        load.argtypes, load.restype = [ctypes.c_char_p], None
        load(os.path.dirname(os.path.abspath(path)).encode())
    lib.llama_backend_init()
    return lib


def quantize(src: str, dst: str, type_name: str, threads: int = 0, lib_path: str | None = None) -> float:
    """Quantize GGUF `src` to `dst` as `type_name` (FTYPES); returns the seconds it took."""
    if type_name not in FTYPES:
        raise SystemExit(f"quantization type {type_name!r}: use one of {', '.join(FTYPES)}")
    lib = open_library(lib_path)
    params = lib.llama_model_quantize_default_params()
    _set_i32(params, QUANT_NTHREAD, threads)
    _set_i32(params, QUANT_FTYPE, FTYPES[type_name])
    t0 = time.time()
    rc = lib.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if rc != 0:
        raise SystemExit(f"{src}: llama_model_quantize failed (return code {rc}; its log is above)")
    return time.time() - t0


class Generator:
    """Greedy generation on one GGUF model (a context of `n_ctx` tokens, rebuilt per prompt)."""

    def __init__(self, model_path: str, n_ctx: int = 1024, lib_path: str | None = None):
        self.lib = lib = open_library(lib_path)
        self.model = lib.llama_model_load_from_file(model_path.encode(), lib.llama_model_default_params())
        if not self.model:
            raise SystemExit(f"{model_path}: llama.cpp could not load this GGUF (its log is above)")
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = n_ctx

    def tokenize(self, text: str) -> list[int]:
        data = text.encode()
        buf = (ctypes.c_int32 * (len(data) + 8))()
        n = self.lib.llama_tokenize(self.vocab, data, len(data), buf, len(buf), True, False)
        if n < 0:
            raise ValueError(f"tokenize: {-n} tokens do not fit")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(256)
        n = self.lib.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return buf.raw[:max(n, 0)]

    def generate(self, prompt: str, max_tokens: int = 64) -> str:
        lib = self.lib
        tokens = self.tokenize(prompt)[-(self.n_ctx - max_tokens):]
        params = lib.llama_context_default_params()
        _set_i32(params, CTX_N_CTX, self.n_ctx)
        _set_i32(params, CTX_N_BATCH, self.n_ctx)
        ctx = lib.llama_init_from_model(self.model, params)
        if not ctx:
            raise SystemExit("llama.cpp could not create a context (its log is above)")
        out = b""
        try:
            arr = (ctypes.c_int32 * len(tokens))(*tokens)
            if lib.llama_decode(ctx, lib.llama_batch_get_one(arr, len(tokens))) != 0:
                raise SystemExit("llama_decode failed on the prompt")
            for _ in range(max_tokens):
                logits = lib.llama_get_logits_ith(ctx, -1)
                best = _argmax(logits, self.n_vocab)
                if lib.llama_vocab_is_eog(self.vocab, best):
                    break
                out += self.piece(best)
                one = (ctypes.c_int32 * 1)(best)
                if lib.llama_decode(ctx, lib.llama_batch_get_one(one, 1)) != 0:
                    break
        finally:
            lib.llama_free(ctx)
        return out.decode("utf-8", errors="replace")

    def close(self) -> None:
        self.lib.llama_model_free(self.model)


def _argmax(logits, n: int) -> int:
    import numpy as np

    return int(np.ctypeslib.as_array(logits, shape=(n,)).argmax())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quantize")
    q.add_argument("src")
    q.add_argument("dst")
    q.add_argument("type", choices=sorted(FTYPES))
    q.add_argument("--threads", type=int, default=0)
    g = sub.add_parser("generate")
    g.add_argument("model")
    g.add_argument("prompt", nargs="+")
    g.add_argument("--max-tokens", type=int, default=64)
    a = ap.parse_args(argv)
    if a.cmd == "quantize":
        secs = quantize(a.src, a.dst, a.type, a.threads)
        print(json.dumps({"out": a.dst, "seconds": round(secs, 3)}))
    else:
        gen = Generator(a.model)
        print(json.dumps([{"prompt": p, "text": gen.generate(p, a.max_tokens)} for p in a.prompt]))
        gen.close()


if __name__ == "__main__":
    sys.exit(main())
