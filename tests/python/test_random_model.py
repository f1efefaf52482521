"""python/tunebook/random_model.py: a random-weight GGUF around a real vocabulary — every
tokenizer key copied byte for byte, tensors of the requested shapes, reproducible by seed."""
from pathlib import Path

import pytest

from tunebook.gguf_tools import LLAMA_CPP, import_gguf
from tunebook.random_model import Shape, read_metadata, write_random_model

VOCAB = LLAMA_CPP / "models" / "ggml-vocab-llama-spm.gguf"
pytestmark = pytest.mark.skipif(not VOCAB.is_file(), reason=f"{VOCAB} missing: run deno task setup")


def test_metadata_reader_equals_gguf_py():
    gguf = import_gguf()
    mine = read_metadata(VOCAB)
    theirs = gguf.GGUFReader(str(VOCAB)).fields
    assert set(mine) == {k for k in theirs if not k.startswith("GGUF.")}
    tokens = mine["tokenizer.ggml.tokens"][1]
    assert [t.decode() for t in tokens[:50]] == theirs["tokenizer.ggml.tokens"].contents()[:50]
    assert mine["tokenizer.ggml.add_bos_token"][1] is True


def test_writes_the_vocabulary_and_shapes(tmp_path: Path):
    gguf = import_gguf()
    out = tmp_path / "m.gguf"
    shape = Shape(arch="qwen2", hidden=256, layers=2, heads=4, kv_heads=2, ff=512, seed=3)
    info = write_random_model(VOCAB, out, shape, overrides=["tokenizer.ggml.add_bos_token=false"])
    assert info["n_vocab"] == 32000
    meta = read_metadata(out)
    vocab = read_metadata(VOCAB)
    for key, value in vocab.items():
        if key.startswith("tokenizer.") and key != "tokenizer.ggml.add_bos_token":
            assert meta[key] == value, key
    assert meta["tokenizer.ggml.add_bos_token"][1] is False
    assert meta["general.architecture"][1] == b"qwen2"
    r = gguf.GGUFReader(str(out))
    shapes = {t.name: tuple(int(x) for x in t.shape) for t in r.tensors}  # ggml order (in, out)
    assert shapes["token_embd.weight"] == (256, 32000)
    assert shapes["blk.1.attn_k.weight"] == (256, 128)
    assert shapes["blk.1.attn_k.bias"] == (128,)
    assert shapes["blk.0.ffn_up.weight"] == (256, 512)
    again = tmp_path / "again.gguf"
    write_random_model(VOCAB, again, shape, overrides=["tokenizer.ggml.add_bos_token=false"])
    assert again.read_bytes() == out.read_bytes()


def test_rejects_shapes_llama_cpp_cannot_run(tmp_path: Path):
    with pytest.raises(SystemExit, match="heads"):
        write_random_model(VOCAB, tmp_path / "x.gguf", Shape(hidden=64, heads=5))
    with pytest.raises(SystemExit, match="not one of"):
        write_random_model(VOCAB, tmp_path / "x.gguf", Shape(arch="mamba"))
