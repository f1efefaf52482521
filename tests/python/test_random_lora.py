"""python/tunebook/random_lora.py: a random LoRA adapter over every block's q/k/v/o/gate/up/down
weight of a base GGUF, and that base with W + (alpha / r) · B·A merged in, the rest copied."""
from pathlib import Path

import numpy as np
import pytest

from tunebook.gguf_tools import import_gguf
from tunebook.random_lora import TARGETS, write_random_lora

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "data" / "models" / "tiny" / "tiny-f32.gguf"


def test_adapter_and_merged_model_of_the_tiny_model(tmp_path: Path):
    gguf = import_gguf()
    lora, merged = tmp_path / "lora.gguf", tmp_path / "merged.gguf"
    info = write_random_lora(TINY, lora, merged, rank=4, alpha=8.0, seed=1)
    base = gguf.GGUFReader(str(TINY))
    adapted = [
        t.name
        for t in base.tensors
        if t.name.startswith("blk.") and t.name.split(".")[2] in TARGETS
    ]
    assert info["adapted"] == len(adapted) == 4 * len(TARGETS)  # 4 layers
    a = gguf.GGUFReader(str(lora))
    assert a.fields["general.type"].contents() == "adapter"
    assert a.fields["adapter.lora.alpha"].contents() == 8.0
    ab = {t.name: np.array(t.data) for t in a.tensors}
    m = {t.name: t for t in gguf.GGUFReader(str(merged)).tensors}
    assert set(m) == {t.name for t in base.tensors}
    for t in base.tensors:
        w = np.array(t.data)
        got = np.array(m[t.name].data)
        assert m[t.name].tensor_type == t.tensor_type and got.shape == w.shape, t.name
        if t.name in adapted:
            delta = 2.0 * ab[t.name + ".lora_b"] @ ab[t.name + ".lora_a"]  # alpha / r = 2
            assert ab[t.name + ".lora_a"].shape == (4, int(t.shape[0]))
            np.testing.assert_allclose(got, w + delta, rtol=0, atol=1e-6)
            assert np.abs(delta).max() > 1e-3, t.name
        else:
            assert np.array_equal(got, w), t.name
    again = tmp_path / "again.gguf"
    write_random_lora(TINY, again, tmp_path / "again-merged.gguf", rank=4, alpha=8.0, seed=1)
    assert again.read_bytes() == lora.read_bytes()


def test_refuses_a_quantized_base(tmp_path: Path):
    gguf = import_gguf()
    base = tmp_path / "q8.gguf"
    w = gguf.GGUFWriter(str(base), "llama")
    data = np.random.default_rng(0).standard_normal((32, 32)).astype(np.float32)
    q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_q.weight", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(SystemExit, match="Q8_0; only f32 and f16"):
        write_random_lora(base, tmp_path / "l.gguf", tmp_path / "m.gguf")
