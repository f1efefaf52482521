"""Write a random-weight Hugging Face checkpoint of a real shape with its real vocabulary (for tests
outside pytest, e.g. tests/model/export_real_shapes_test.ts).

    python3 tests/python/write_real_shape.py OUT_DIR qwen2|llama3|mistral [--shards N] [--layers N]
        [--hidden N] [--heads N] [--kv-heads N] [--ff N] [--seed N]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "python")]

from vocab_fixtures import SHAPES, write_hf_checkpoint  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ff", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(write_hf_checkpoint(a.out, a.shape, layers=a.layers, hidden=a.hidden, heads=a.heads, kv_heads=a.kv_heads,
                              ff=a.ff, shards=a.shards, seed=a.seed))
