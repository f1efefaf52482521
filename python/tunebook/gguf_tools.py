"""Locate llama.cpp's gguf-py (extracted from node-llama-cpp's bundled source by `deno task setup`)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LLAMA_CPP = Path(os.environ.get("TUNEBOOK_LLAMA_CPP", ROOT / ".cache" / "llama.cpp"))


def import_gguf():
    """Import gguf-py from the extracted llama.cpp source, with a message naming the fix."""
    path = LLAMA_CPP / "gguf-py"
    if not (path / "gguf" / "__init__.py").is_file():
        raise SystemExit(
            f"gguf-py not found under {path}: run `deno task setup` (it extracts llama.cpp's source "
            "from node-llama-cpp's bundled gitRelease.bundle), or set TUNEBOOK_LLAMA_CPP"
        )
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    import gguf  # noqa: E402

    return gguf
