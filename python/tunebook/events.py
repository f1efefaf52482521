"""The bridge's event protocol: one JSON object per line on stdout (see ARCHITECTURE.md).

Under a multi-process launcher (torchrun sets RANK) only rank 0 emits events; the other ranks'
errors go to their stderr, which the launcher keeps per rank (lib/train/launch.ts reads it)."""
from __future__ import annotations

import json
import os
import sys


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def emit(event: str, **fields) -> None:
    if _rank() == 0:
        print(json.dumps({"event": event, **fields}), flush=True)


def fail(message: str, code: int = 1) -> None:
    """Report an error a user can act on, then exit."""
    emit("error", message=message)
    rank = _rank()
    print(message if rank == 0 else f"rank {rank}: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)
